"""The signed-transaction journal: a retried submission re-sends the same signed bytes.

The relayer runs each effect inside :func:`journaled` with a journal backed by its store.
A chain client that signs a transaction asks :func:`stored` first: if an earlier attempt of
the same effect already signed a transaction with the same key (chain, sender, target,
value, call data), those bytes are sent again instead of a new transaction with a new nonce
or fee, so a crash between sending and recording can never put two different transactions
for one effect on chain. Otherwise the client signs, :func:`keep` persists the bytes, and
only then are they sent.

A stored transaction that can no longer land (its nonce taken by another transaction, its
validity window over) is :func:`forget`-ten and a fresh one is built: the old one cannot be
mined any more, so the new one is not a second copy.

Outside :func:`journaled` (adapters used directly, tests) the functions do nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol

__all__ = ["TxJournal", "forget", "journaled", "keep", "stored"]


class TxJournal(Protocol):
    """Where signed transactions are kept (the relayer's store, per swap)."""

    def stored(self, key: str) -> bytes | None:
        """The signed bytes kept under ``key``, if any."""
        ...

    def keep(self, key: str, signed: bytes) -> bytes:
        """Keep ``signed`` under ``key`` unless bytes are there already; return what is kept."""
        ...

    def forget(self, key: str) -> None:
        """Drop the bytes kept under ``key`` (they can never be mined)."""
        ...


_CURRENT: ContextVar[TxJournal | None] = ContextVar("stbridge_tx_journal", default=None)


@contextmanager
def journaled(journal: TxJournal) -> Iterator[None]:
    """Send every transaction signed inside the block through ``journal``."""
    token = _CURRENT.set(journal)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def stored(key: str) -> bytes | None:
    """The bytes an earlier attempt kept under ``key`` (None outside a journal)."""
    journal = _CURRENT.get()
    return None if journal is None else journal.stored(key)


def keep(key: str, signed: bytes) -> bytes:
    """Persist ``signed`` before it is sent; returns the bytes to send."""
    journal = _CURRENT.get()
    return signed if journal is None else journal.keep(key, signed)


def forget(key: str) -> None:
    """Drop a kept transaction that can no longer be mined."""
    journal = _CURRENT.get()
    if journal is not None:
        journal.forget(key)
