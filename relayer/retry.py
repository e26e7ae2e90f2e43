"""Per-swap failure records and their back-off: one failing swap never stalls the others.

The service's tick acts on each swap it holds inside its own ``try``. When a swap fails
with an unexpected error (a bug, a refusal nobody mapped, a lock the chain cannot show),
:class:`RetryBook` records it as the swap's ``last_error`` document::

    {"error": "ValueError", "reason": "...", "attempts": 3, "at": 1700000000.0,
     "retry_at": 1700000004.0}

and the swap is left alone until ``retry_at``: the delay doubles with each consecutive
failure (``base_s``, ``2 * base_s``, ... at most ``cap_s``). The document lives in the
store, so a restarted relayer keeps the back-off, and the API's audit record shows it. The
first tick that gets through a swap without an error deletes it.

Transient errors (an RPC or the store down) are not recorded here: they hit every swap
alike and are retried on the next tick.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass

from bridge.errors import NotFound
from relayer.store import Store

__all__ = ["RETRY_BASE_S", "RETRY_CAP_S", "Failure", "RetryBook"]

RETRY_BASE_S = 1.0
"""The first back-off after a swap fails (seconds)."""

RETRY_CAP_S = 60.0
"""The longest back-off: well inside the reaction budget a deadline keeps."""

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Failure:
    """The last error of one swap and when it may be tried again."""

    error: str
    reason: str
    attempts: int
    at: float
    retry_at: float

    def to_json(self) -> str:
        """The ``last_error`` document."""
        return json.dumps(
            {
                "error": self.error,
                "reason": self.reason,
                "attempts": self.attempts,
                "at": self.at,
                "retry_at": self.retry_at,
            }
        )

    @classmethod
    def from_json(cls, body: str) -> Failure:
        """Read a ``last_error`` document back."""
        data = json.loads(body)
        return cls(
            error=str(data["error"]),
            reason=str(data["reason"]),
            attempts=int(data["attempts"]),
            at=float(data["at"]),
            retry_at=float(data["retry_at"]),
        )


class RetryBook:
    """The failing swaps of one relayer process, mirrored in their ``last_error`` documents.

    ``clock`` is the wall clock retries are timed with (seconds; persisted, so it must mean
    the same after a restart).
    """

    DOCUMENT = "last_error"

    def __init__(
        self,
        store: Store,
        clock: Callable[[], float],
        *,
        base_s: float = RETRY_BASE_S,
        cap_s: float = RETRY_CAP_S,
    ) -> None:
        self.store = store
        self.clock = clock
        self.base_s = base_s
        self.cap_s = cap_s
        self._failing: dict[str, Failure] = {}
        self._read: set[str] = set()

    def _known(self, swap_id: str) -> Failure | None:
        if swap_id not in self._read:
            self._read.add(swap_id)
            with suppress(NotFound):
                body = self.store.document(swap_id, self.DOCUMENT)
                self._failing[swap_id] = Failure.from_json(body)
        return self._failing.get(swap_id)

    def deferred(self, swap_id: str) -> bool:
        """Whether ``swap_id`` is waiting out its back-off now."""
        failure = self._known(swap_id)
        return failure is not None and self.clock() < failure.retry_at

    def failed(self, swap_id: str, exc: BaseException) -> Failure:
        """Record a failure of ``swap_id`` (stored); return it with its next retry time."""
        previous = self._known(swap_id)
        attempts = 1 if previous is None else previous.attempts + 1
        now = self.clock()
        delay = min(self.base_s * 2 ** (attempts - 1), self.cap_s)
        failure = Failure(
            error=type(exc).__name__,
            reason=(str(exc) or repr(exc))[:500],
            attempts=attempts,
            at=now,
            retry_at=now + delay,
        )
        self._failing[swap_id] = failure
        self.store.put_document(swap_id, self.DOCUMENT, failure.to_json())
        return failure

    def succeeded(self, swap_id: str) -> None:
        """The swap got through a tick: forget its error (and delete the document)."""
        if self._known(swap_id) is not None:
            self.store.delete_document(swap_id, self.DOCUMENT)
            del self._failing[swap_id]
