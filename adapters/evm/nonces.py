"""Nonces handed out locally, per sender: the one place a pipelined EVM sender gets them.

A relayer that sends transactions without waiting for each receipt cannot ask the node for
the sender's pending count before each one (a request per transaction, and a transaction
sent a moment ago may not be counted yet). :class:`NonceBook` reads the count once per
sender and then counts locally: ``take(sender)`` returns the next nonce and moves on.

When the local count stops being the truth, the entry is dropped and read again at the
next ``take``:

- ``forget(sender)``: a send failed (the transaction is not in the node's pool, so its
  nonce is free again), or another path of this process built a transaction for the sender
  from the node's count (:meth:`adapters.evm.client.EvmClient.build_tx`);
- ``forget(sender)`` when the relayer (re)gains the right to sign with the key: a replica
  sharing the key on a PostgreSQL store may have used nonces while it held the key (the
  relayer holds each key for a whole tick, see ``relayer.service``), so the count is read
  afresh each time the key is taken and counted locally only while it is held.

A nonce taken for a transaction that is then dropped by the node leaves a gap that stalls
the sender's later transactions; the relayer finds the dropped transaction (no receipt, not
known to the node) and sends the very same signed bytes again, which fills it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

__all__ = ["NonceBook"]


class NonceBook:
    """Next nonce per sender, read once from the node and then counted locally."""

    def __init__(self, read_pending: Callable[[str], int]) -> None:
        self._read = read_pending
        self._next: dict[str, int] = {}
        self._guard = threading.Lock()
        self.reads = 0
        """How often a count was read from the node (for tests and the bench)."""

    def take(self, sender: str) -> int:
        """The nonce for ``sender``'s next transaction (read from the node when unknown)."""
        key = sender.lower()
        while True:
            with self._guard:
                nonce = self._next.get(key)
                if nonce is not None:
                    self._next[key] = nonce + 1
                    return nonce
            read = self._read(sender)  # outside the guard: a network read
            self.reads += 1
            with self._guard:
                self._next.setdefault(key, read)

    def peek(self, sender: str) -> int | None:
        """The nonce ``take`` would hand out next without a read (None: not known)."""
        with self._guard:
            return self._next.get(sender.lower())

    def forget(self, sender: str) -> None:
        """Drop ``sender``'s count: the next ``take`` reads it from the node again."""
        with self._guard:
            self._next.pop(sender.lower(), None)

    def forget_all(self) -> None:
        """Drop every count."""
        with self._guard:
            self._next.clear()
