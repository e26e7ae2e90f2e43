"""Which swap a log line is about: a context variable the daemon's formatters print.

The service (or anything acting for one swap) wraps its work in ``with swap_context(id):``;
every record logged meanwhile, by any module in that thread (adapters included), carries
``swap_id`` and the daemon prints it: ``swap=0x...`` in text, ``"swap_id"`` in JSON. A record
given ``extra={"swap_id": ...}`` keeps its own, and a message naming ``swap 0x<64 hex>``
is tagged with that id when no context is set.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["SwapContextFilter", "current_swap", "swap_context"]

current_swap: ContextVar[str | None] = ContextVar("stbridge_swap", default=None)
_NAMED = re.compile(r"\bswap (0x[0-9a-fA-F]{64})\b")


@contextmanager
def swap_context(swap_id: str) -> Iterator[None]:
    """Tag every record logged inside the block with ``swap_id``."""
    token = current_swap.set(swap_id)
    try:
        yield
    finally:
        current_swap.reset(token)


class SwapContextFilter(logging.Filter):
    """Sets ``record.swap_id`` (None when the record is about no swap)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Attach the swap id from ``extra``, the context, or the message."""
        if getattr(record, "swap_id", None) is None:
            swap_id = current_swap.get()
            if swap_id is None:
                named = _NAMED.search(record.getMessage())
                swap_id = named.group(1) if named else None
            record.swap_id = swap_id
        return True
