"""The relayer's loop woken at a new head instead of sleeping its poll interval.

:class:`HeadWakeups` follows the heads of every EVM chain whose node offers
``eth_subscribe("newHeads")`` (:class:`adapters.evm.heads.HeadSubscription`) and wakes the
loop (the daemon's, :func:`relayer.daemon.run`; the bench's) as soon as any of them
announces a block: the relevant block is acted on within one tick of its arrival, not
up to a poll interval later. A head is only a wake-up: the next tick's watchers read every
chain by range from their cursors, so a head announced during a tick, or never, is not
lost. Without a live subscription (a node that refuses it, a socket that dropped, py-evm,
Algorand) :meth:`HeadWakeups.wait` waits the poll interval, as before; a dropped or refused
subscription is tried again at most every :attr:`HeadWakeups.retry_s` seconds, in the
background (a node that never answers does not hold the loop).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["HeadWakeups"]


class HeadWakeups:
    """Wake-ups at the new heads of the nodes at ``urls`` (JSON-RPC URLs; others are
    ignored), for a loop that otherwise waits ``poll`` seconds between ticks."""

    retry_s = 30.0
    """A dropped or refused subscription is tried again after this many seconds."""

    def __init__(
        self,
        urls: Sequence[str],
        *,
        stop: threading.Event | None = None,
        subscription: Callable[..., Any] | None = None,
    ) -> None:
        from adapters.evm.heads import HeadSubscription, ws_url

        make = subscription or HeadSubscription
        self._event = threading.Event()
        self._stop = stop
        self.heads = 0
        """Heads announced (all chains)."""
        self.woken = 0
        """Waits a head ended early."""
        self._subs = [
            make(url, self._on_head, self._event.set) for url in urls if ws_url(url) is not None
        ]
        self._tried: float | None = None
        self._retrying = threading.Thread()  # never started: no retry under way

    def _on_head(self, height: int) -> None:
        self.heads += 1
        self._event.set()

    @property
    def live(self) -> int:
        """How many chains' heads are followed by subscription now."""
        return sum(1 for sub in self._subs if sub.live)

    @property
    def followed(self) -> int:
        """How many chains could be followed (a network node)."""
        return len(self._subs)

    def start(self) -> int:
        """Subscribe where not yet subscribed; returns :attr:`live`."""
        self._tried = time.monotonic()
        for sub in self._subs:
            if not sub.live:
                sub.start()
        return self.live

    def wait(self, timeout: float) -> bool:
        """Wait until a followed chain announces a head (True), ``timeout`` seconds pass
        (False: the poll interval) or ``stop`` is set (False). A head announced since the
        last wait ends it at once."""
        retry_due = self._tried is not None and time.monotonic() - self._tried >= self.retry_s
        if retry_due and self.live < len(self._subs) and not self._retrying.is_alive():
            # in the background: a node that never answers must not hold the loop
            self._tried = time.monotonic()
            self._retrying = threading.Thread(target=self.start, name="heads retry", daemon=True)
            self._retrying.start()
        deadline = time.monotonic() + timeout
        step = 0.1 if self._stop is not None else None  # notice stop within 0.1 s
        while True:
            if self._stop is not None and self._stop.is_set():
                return False
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            if self._event.wait(remaining if step is None else min(remaining, step)):
                self._event.clear()
                self.woken += 1
                return True

    def close(self) -> None:
        """Close every subscription."""
        if self._retrying.is_alive():
            self._retrying.join(timeout=15)
        for sub in self._subs:
            sub.close()
