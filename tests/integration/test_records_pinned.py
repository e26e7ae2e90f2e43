"""A relayer's tick reads where each chain's records stand once, after its watchers polled
(``StoredLocks.pin``), instead of once per question (eight per swap a tick); outside a
tick, and at the next one, every question reads the store again.

Actors: the relayer (its watcher recording a new block), a second replica's watcher
writing records to the shared store between two ticks.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from adapters.evm.client import EvmClient
from relayer.store import SqliteStore
from relayer.watcher import StoredLocks
from tests.fixtures.calls import calls_to
from tests.integration.evm._shortfall_support import two_recorded_locks
from tests.integration.test_relayer_service import (  # noqa: F401 (fixtures)
    World,
    order,
    service,
    snapshots,
    world,
)

KEY = "evm:pinned"


def _count_spans(store: SqliteStore, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The chain of each read of where the records stand."""
    return calls_to(monkeypatch, store, "recorded_span", lambda chain: chain)


def test_pinned_records_answer_from_one_read_until_unpinned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Invariant: while pinned, the span, the locks under a hashlock and a lock's history
    come from the one read at the pin, even after the watcher recorded more; once
    unpinned, the next question reads the records as they are now."""
    client = EvmClient.embedded()
    locks = two_recorded_locks(client, tmp_path, KEY)
    records = StoredLocks(locks.store, KEY)
    reads = _count_spans(locks.store, monkeypatch)
    records.pin()
    pinned = records.span()
    hashlock = "0x" + hashlib.sha256(locks.secrets[0]).hexdigest()
    for _ in range(3):  # the locks were mined before the records began: none recorded
        assert records.span() == pinned
        assert list(records.locks_under(hashlock)) == []
        assert list(records.history(locks.ids[0])) == []
    assert reads == [KEY]
    locks.htlc.claim(locks.ids[0], locks.secrets[0], locks.receiver)
    locks.watcher.poll()  # the claim is recorded: the records moved on
    assert records.span() == pinned
    assert list(records.history(locks.ids[0])) == []  # as the tick's poll left them
    assert reads == [KEY]
    records.unpin()
    assert pinned is not None
    moved = records.span()
    assert moved is not None
    assert moved[1] > pinned[1]
    assert [e.name for e in records.history(locks.ids[0])][-1] == "Claimed"


def test_a_tick_pins_the_records_after_its_poll_and_unpins_them_at_its_end(
    world: World,  # noqa: F811
    tmp_path: Path,
    snapshots: None,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Invariant: a tick reads each chain's span once (after its watchers polled), however
    many swaps and questions it has; after the tick the records are read afresh."""
    svc = service(world, tmp_path)
    for n in range(3):
        svc.submit(order(world, f"pinned-{n}"))
    reads = _count_spans(svc.store, monkeypatch)  # type: ignore[arg-type]
    svc.tick()
    spans_in_tick = len(reads)
    assert spans_in_tick <= 2 * len(svc._records)  # one pin per chain (and the watchers' own)
    assert all(r._pinned is None for r in svc._records.values())
    next(iter(svc._records.values())).span()
    assert len(reads) == spans_in_tick + 1
