"""New heads by subscription: ``eth_subscribe("newHeads")`` on a node's websocket.

A head is only a wake-up: whoever follows heads this way (the relayer's loop,
:mod:`relayer.heads`) still reads blocks and logs by range from its own cursor, so a head
that is never announced, a refused subscription or a dropped socket loses nothing - the
loop then waits its poll interval instead, as without a subscription.

The websocket address is the node's JSON-RPC URL with ``ws`` for ``http`` (``wss`` for
``https``): anvil, geth (``--ws`` on the same port with ``--http.port`` = ``--ws.port``),
reth and besu serve both on one port when so configured. A node that answers the upgrade
with an error, or ``eth_subscribe`` with an error (py-evm's JSON-RPC server, a plain HTTP
gateway), is followed by polling. The client is ``websockets`` (sync API), which web3
requires.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

__all__ = ["HeadSubscription", "ws_url"]

log = logging.getLogger(__name__)


def ws_url(url: str) -> str | None:
    """The websocket address of a JSON-RPC URL (None: not a network URL)."""
    parts = urlsplit(url)
    scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}.get(parts.scheme)
    if scheme is None or not parts.hostname:
        return None
    return urlunsplit((scheme, parts.netloc, parts.path, parts.query, ""))


def _where(url: str) -> str:
    """Host and port only: a URL may carry an API key or credentials, never logged."""
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)


class HeadSubscription:
    """One node's ``newHeads`` subscription, read by a daemon thread.

    :meth:`start` connects and subscribes (False: refused or unreachable; then nothing
    runs). Each announced head calls ``on_head(height)``; when the socket drops (the node
    stopped, a proxy cut it) ``on_drop()`` is called once and :attr:`live` turns False.
    """

    def __init__(
        self,
        url: str,
        on_head: Callable[[int], None],
        on_drop: Callable[[], None] = lambda: None,
        *,
        open_timeout_s: float = 5.0,
    ) -> None:
        self.url = url
        self.on_head = on_head
        self.on_drop = on_drop
        self.open_timeout_s = open_timeout_s
        self.heads = 0
        """Heads announced since the last :meth:`start`."""
        self._ws: Any = None
        self._thread: threading.Thread | None = None
        self._closing = False
        self._subscribed = False  # the node confirmed the subscription; the reader runs

    @property
    def live(self) -> bool:
        """Whether the subscription is open (heads arrive)."""
        return self._subscribed and not self._closing

    def start(self) -> bool:
        """Connect and subscribe; True when heads will be announced."""
        target = ws_url(self.url)
        if target is None or self.live or (self._thread is not None and self._thread.is_alive()):
            return self.live  # nothing to follow, following already, or a reader still ending
        self._closing = False
        self.heads = 0
        answered = threading.Event()
        outcome: list[bool] = []
        self._thread = threading.Thread(
            target=self._follow,
            args=(target, answered, outcome),
            name=f"heads {_where(self.url)}",
            daemon=True,
        )
        self._thread.start()
        answered.wait(self.open_timeout_s * 2 + 1)
        if not outcome or not outcome[0]:
            self._closing = True
            return False
        log.info("node %s: following new heads by subscription", _where(self.url))
        return True

    def _follow(self, target: str, answered: threading.Event, outcome: list[bool]) -> None:
        """The reader thread: connect, subscribe (telling :meth:`start`), then read heads
        until the socket closes."""
        from websockets.exceptions import WebSocketException
        from websockets.sync.client import connect

        subscribed = False
        why = "closed by the node"
        try:
            with connect(
                target, open_timeout=self.open_timeout_s, proxy=None, compression=None
            ) as ws:
                self._ws = ws
                ws.send(
                    json.dumps(
                        {
                            "jsonrpc": "2.0",
                            "id": 1,
                            "method": "eth_subscribe",
                            "params": ["newHeads"],
                        }
                    )
                )
                answer = json.loads(ws.recv(timeout=self.open_timeout_s))
                if not isinstance(answer, dict) or not answer.get("result"):
                    raise ValueError(f"eth_subscribe refused: {str(answer)[:200]}")
                if self._closing:  # start() gave up waiting, or close() came first
                    return
                subscribed = self._subscribed = True
                outcome.append(True)
                answered.set()
                for message in ws:
                    data = json.loads(message)
                    if not isinstance(data, dict) or data.get("method") != "eth_subscription":
                        continue
                    head = data.get("params", {}).get("result", {})
                    number = head.get("number") if isinstance(head, dict) else None
                    self.heads += 1
                    self.on_head(int(str(number), 16) if number is not None else -1)
        except (OSError, TimeoutError, WebSocketException, ValueError, AttributeError) as exc:
            why = str(exc) or type(exc).__name__
        finally:
            self._ws = None
            self._subscribed = False
            if not subscribed:
                log.info("node %s: no head subscription (%s); polling", _where(self.url), why)
                outcome.append(False)
                answered.set()
            elif not self._closing:
                log.warning(
                    "node %s: head subscription dropped (%s); polling", _where(self.url), why
                )
                self.on_drop()

    def close(self) -> None:
        """Unsubscribe (close the socket) and let the reader thread end."""
        self._closing = True
        ws = self._ws
        if ws is not None:
            ws.close()
        if self._thread is not None:
            self._thread.join(timeout=5)
