"""The relayer store on SQLite and PostgreSQL: write-ahead log, idempotent effects, leases.

PostgreSQL tests take ``pg_dsn``: they run whenever STBRIDGE_TEST_PG is set (always in CI)
and each works in a schema of its own.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.errors import NotFound, StoreUnavailable
from bridge.ports import ChainEvent
from bridge.swap import (
    ChainAdvanced,
    ClaimObserved,
    ClaimRecheck,
    ComplianceDecided,
    LockObserved,
    Outcome,
    RefundObserved,
    Role,
    StartSwap,
    SwapState,
    SwapTerms,
    chain_key,
    transition,
)
from relayer.store import LeaseLost, PostgresStore, SqliteStore, Store
from tests.property.test_swap_protocol import ALGO, EVM, terms


class Clock:
    """A settable clock for lease expiry."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def schema_dsn(dsn: str) -> str:
    """A DSN whose search_path is a fresh schema (isolates one test)."""
    name = "t_" + secrets.token_hex(6)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    sep = "&" if "?" in dsn else "?"
    return f"{dsn}{sep}options=-csearch_path%3D{name}"


@pytest.fixture(params=["sqlite", "postgres"])
def make_store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[Clock], Store]]:
    opened: list[Store] = []
    target: str
    if request.param == "sqlite":
        target = str(tmp_path / "relayer.sqlite3")
    else:
        target = schema_dsn(request.getfixturevalue("pg_dsn"))

    def make(clock: Clock) -> Store:
        store: Store = (
            SqliteStore(target, clock=clock)
            if request.param == "sqlite"
            else PostgresStore(target, clock=clock)
        )
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


def swap_terms(n: int = 0) -> SwapTerms:
    base = terms(0, 60, 20)
    return base.model_copy(update={"swap_id": "0x" + f"{n:064x}"})


def lock(t: SwapTerms, role: Role) -> LockObserved:
    leg = t.leg(role)
    return LockObserved(
        role=role,
        tx_id=f"{role}-lock",
        hashlock=t.hashlock,
        amount=leg.amount,
        receiver=leg.receiver,
        deadline=t.deadline(role),
    )


HAPPY = [
    StartSwap(),
    ChainAdvanced(chain=chain_key(EVM), time=1),
    ChainAdvanced(chain=chain_key(ALGO), time=1),
    ComplianceDecided(allowed=True),
]


def test_apply_persists_state_inputs_and_effects(make_store: Callable[[Clock], Store]) -> None:
    store = make_store(Clock())
    t = swap_terms()
    store.create(t, sealed_secret="sealed-bytes")
    assert store.create(t).terms == t  # idempotent
    for change in HAPPY:
        store.apply(t.swap_id, change)
    state, effects = store.apply(t.swap_id, lock(t, Role.INITIATOR))
    assert [e.kind for e in effects] == ["submit_lock"]
    assert store.get(t.swap_id) == state
    pending = store.pending_effects(t.swap_id)
    assert [(p.effect.kind, p.effect.seq) for p in pending] == [
        ("request_check", 1),
        ("submit_lock", 2),
        ("submit_lock", 3),
    ]
    # replaying the logged inputs gives the stored state
    replay = SwapState(terms=t)
    for change in store.inputs(t.swap_id):
        replay, _ = transition(replay, change)
    assert replay == state
    assert store.sealed_secret(t.swap_id) == "sealed-bytes"
    with pytest.raises(NotFound):
        store.get("0x" + "ff" * 32)


def test_a_state_another_store_changed_is_read_as_stored(
    make_store: Callable[[Clock], Store],
) -> None:
    """A store parses each stored version of a swap's state once and keeps it; what it
    returns is always the stored version: after another store (a second replica) moved the
    swap on, or a write of its own was rolled back, the kept state is not returned."""
    clock = Clock()
    mine, other = make_store(clock), make_store(clock)
    t = swap_terms()
    mine.create(t)
    for change in HAPPY[:2]:
        mine.apply(t.swap_id, change)
    kept = mine.get(t.swap_id)
    assert mine.get(t.swap_id) is kept  # the same stored version: parsed once
    moved, _ = other.apply(t.swap_id, HAPPY[2])
    assert mine.get(t.swap_id) == moved != kept

    def rolled_back_write() -> None:
        with mine._tx() as cur:
            mine._exec(
                cur,
                "UPDATE swaps SET state = ? WHERE swap_id = ?",
                (kept.model_dump_json(), t.swap_id),
            )
            assert mine._state_of(t.swap_id, kept.model_dump_json()) == kept  # kept meanwhile
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError, match="rolled back"):
        rolled_back_write()  # a write of mine, then an error: the transaction is rolled back
    assert mine.get(t.swap_id) == moved
    assert other.get(t.swap_id) == moved


def test_document_names_are_listed_by_prefix(make_store: Callable[[Clock], Store]) -> None:
    """A swap's document names that start with a prefix (the journal's kept transaction
    ids), sorted; another swap's and other prefixes' are not listed, and ``_`` or ``%`` in
    the prefix are plain characters."""
    store = make_store(Clock())
    t, other = swap_terms(), swap_terms(1)
    store.create(t)
    store.create(other)
    for name in ("txkey:0xbb", "txkey:0xaa", "tx:lock", "txkey_0xcc"):
        store.put_document(t.swap_id, name, "{}")
    store.put_document(other.swap_id, "txkey:0xdd", "{}")
    assert store.document_names(t.swap_id, "txkey:") == ["txkey:0xaa", "txkey:0xbb"]
    assert store.document_names(t.swap_id, "txkey_") == ["txkey_0xcc"]
    assert store.document_names(t.swap_id, "%") == []


def test_a_signed_transaction_is_kept_and_never_replaced(
    make_store: Callable[[Clock], Store],
) -> None:
    store = make_store(Clock())
    t = swap_terms()
    store.create(t)
    for change in HAPPY:
        store.apply(t.swap_id, change)
    first = store.record_sent(t.swap_id, 2, signed_tx="0xaaaa", tx_id="0x01")
    again = store.record_sent(t.swap_id, 2, signed_tx="0xbbbb", tx_id="0x02")
    assert first == again == "0xaaaa"
    store.finish_effect(t.swap_id, 1, "done")
    store.finish_effect(t.swap_id, 2, "done")
    assert store.pending_effects(t.swap_id) == []


def test_cursors_and_listing(make_store: Callable[[Clock], Store]) -> None:
    clock = Clock()
    store = make_store(clock)
    assert store.cursor("evm:1") is None
    store.set_cursor("evm:1", 10)
    store.set_cursor("evm:1", 12)
    assert store.cursor("evm:1") == 12
    for n in range(3):
        clock.now += 1
        store.create(swap_terms(n))
    assert store.list_ids(limit=2) == [swap_terms(0).swap_id, swap_terms(1).swap_id]
    assert store.list_ids(outcome="completed") == []


def test_leases_are_exclusive_until_they_expire(make_store: Callable[[Clock], Store]) -> None:
    clock = Clock()
    a, b = make_store(clock), make_store(clock)
    for n in range(4):
        a.create(swap_terms(n))
    mine = a.claim_swaps("replica-a", lease_seconds=30, limit=2)
    theirs = b.claim_swaps("replica-b", lease_seconds=30, limit=10)
    assert len(mine) == 2
    assert set(mine).isdisjoint(theirs)
    assert set(mine) | set(theirs) == {swap_terms(n).swap_id for n in range(4)}
    assert a.lease_owner(mine[0]) == "replica-a"
    clock.now += 31  # replica-a stopped renewing: its swaps are taken over
    taken = b.claim_swaps("replica-b", lease_seconds=30, limit=10)
    assert set(mine) <= set(taken)
    assert b.lease_owner(mine[0]) == "replica-b"


def test_a_takeover_fences_every_write_of_the_previous_holder(
    make_store: Callable[[Clock], Store],
) -> None:
    """Issue 13, item 7 (actor: a second replica). The lease carries an epoch, incremented
    when another replica takes the swap; every write of the swap through the store that
    took an older epoch is refused with LeaseLost, until it takes the swap back."""
    clock = Clock()
    a, b = make_store(clock), make_store(clock)
    t = swap_terms()
    a.create(t)
    for change in HAPPY:
        a.apply(t.swap_id, change)  # unleased writes (the API creating a swap) are not fenced
    assert a.claim_swaps("a", lease_seconds=30) == [t.swap_id]
    assert a.lease_epoch(t.swap_id) == 1
    a.renew_lease(t.swap_id, lease_seconds=30)
    a.put_document(t.swap_id, "note", "a wrote this")
    clock.now += 31  # a's effect outlasted its lease
    assert b.claim_swaps("b", lease_seconds=30) == [t.swap_id]
    assert b.lease_epoch(t.swap_id) == 2
    pending = b.pending_effects(t.swap_id)
    seq = pending[-1].effect.seq
    writes: list[Callable[[], object]] = [
        lambda: a.apply(t.swap_id, lock(t, Role.INITIATOR)),
        lambda: a.put_document(t.swap_id, "note", "late"),
        lambda: a.keep_document(t.swap_id, "tx:k", "late bytes"),
        lambda: a.delete_document(t.swap_id, "note"),
        lambda: a.record_sent(t.swap_id, seq, signed_tx="late", tx_id="0xlate"),
        lambda: a.finish_effect(t.swap_id, seq, "failed"),
        lambda: a.reopen_effect(t.swap_id, kind="submit_lock"),
        lambda: a.renew_lease(t.swap_id, lease_seconds=30),
    ]
    for write in writes:
        with pytest.raises(LeaseLost, match="held by b at epoch 2"):
            write()
    assert b.document(t.swap_id, "note") == "a wrote this"
    assert b.pending_effects(t.swap_id) == pending
    assert b.input_count(t.swap_id) == len(HAPPY)
    b.put_document(t.swap_id, "note", "b wrote this")  # the holder writes as usual
    assert a.claim_swaps("a", lease_seconds=30) == []  # b's lease is live
    clock.now += 31
    assert a.claim_swaps("a", lease_seconds=30) == [t.swap_id]  # a takes it back: epoch 3
    assert a.lease_epoch(t.swap_id) == 3
    a.put_document(t.swap_id, "note", "a again")
    with pytest.raises(LeaseLost):
        b.put_document(t.swap_id, "note", "b late")


def test_recovery_height_is_the_oldest_lock_of_an_open_swap(
    make_store: Callable[[Clock], Store],
) -> None:
    """Issue 13, item 6: what a restarted relayer's HTLC ports must look back to: the
    oldest recorded lock (or sent lock) of any open swap on the chain, and no later than
    the cursor (less the heights the watcher reads again); finished swaps and other
    hashlocks do not count."""
    store = make_store(Clock())
    algo = chain_key(ALGO)
    open_swap = swap_terms(1)
    done_swap = swap_terms(2).model_copy(update={"hashlock": "0x" + "ef" * 32})
    for t in (open_swap, done_swap):
        store.create(t)
    store.apply(done_swap.swap_id, StartSwap())
    store.apply(done_swap.swap_id, ComplianceDecided(allowed=False))  # refused: not open
    assert store.recovery_height(algo) is None
    store.advance_chain(algo, expected=None, height=5, events=(), block_hash=None, keep_from=0)
    assert store.recovery_height(algo) == 4  # a lock not recorded yet is above the cursor - 1

    def locked(height: int, hashlock: str, tx: str) -> ChainEvent:
        return ChainEvent("Locked", height, tx, 0, {"lock_id": tx, "hashlock": hashlock})

    store.advance_chain(
        algo,
        expected=5,
        height=900,
        events=[
            locked(120, done_swap.hashlock, "old-finished"),
            locked(400, open_swap.hashlock, "ours"),
            locked(300, "0x" + "ab" * 32, "someone-elses"),
        ],
        block_hash=None,
        keep_from=0,
    )
    assert store.recovery_height(algo) == 400
    store.put_document(open_swap.swap_id, "lock-sent-at:participant", "350")
    assert store.recovery_height(algo) == 350
    assert store.recovery_height(chain_key(EVM)) is None  # no lock of it recorded there


def test_unreachable_postgres_is_a_transient_error() -> None:
    with pytest.raises(StoreUnavailable):
        PostgresStore("postgresql://nobody@127.0.0.1:1/none")


CHANGES = st.sampled_from(
    [
        *HAPPY,
        ChainAdvanced(chain=chain_key(ALGO), time=70),
        ChainAdvanced(chain=chain_key(EVM), time=90),
        ClaimRecheck(allowed=True),
        ClaimObserved(role=Role.PARTICIPANT, tx_id="c1"),
        RefundObserved(role=Role.INITIATOR, tx_id="r1"),
    ]
)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(workload=st.lists(st.tuples(st.integers(0, 2), CHANGES), max_size=25))
def test_sqlite_and_postgres_agree(
    workload: list[tuple[int, object]], tmp_path_factory: pytest.TempPathFactory, pg_dsn: str
) -> None:
    """Invariant: one random workload applied to both stores leaves the same states, the same
    logged inputs and the same pending effects in each."""
    stores: list[Store] = [
        SqliteStore(tmp_path_factory.mktemp("agree") / "s.sqlite3", clock=Clock()),
        PostgresStore(schema_dsn(pg_dsn), clock=Clock()),
    ]
    try:
        for store in stores:
            for n in range(3):
                t = swap_terms(n)
                store.create(t)
                store.apply(t.swap_id, lock(t, Role.INITIATOR))
            for n, change in workload:
                store.apply(swap_terms(n).swap_id, change)
        sq, pg = stores
        for n in range(3):
            swap_id = swap_terms(n).swap_id
            assert sq.get(swap_id) == pg.get(swap_id)
            assert sq.inputs(swap_id) == pg.inputs(swap_id)
            assert sq.pending_effects(swap_id) == pg.pending_effects(swap_id)
        assert sq.list_ids(outcome=Outcome.OPEN.value) == pg.list_ids(outcome=Outcome.OPEN.value)
    finally:
        for store in stores:
            store.close()


# one chain-following step: ("advance", blocks, [(name, lock n, hashlock n)]) or ("rewind", depth)
FOLLOW = st.one_of(
    st.tuples(
        st.just("advance"),
        st.integers(1, 4),
        st.lists(
            st.tuples(st.sampled_from(["Locked", "Claimed", "Refunded"]), st.integers(0, 3)),
            max_size=3,
        ),
    ),
    st.tuples(st.just("rewind"), st.integers(0, 6), st.just([])),
)


def follow(store: Store, steps: list[tuple[str, int, list[tuple[str, int]]]]) -> None:
    """Drive a store's chain-following tables as a watcher would (heights 100 up)."""
    store.advance_chain(
        "evm:1", expected=None, height=100, events=(), block_hash="0x00", keep_from=0
    )
    for step, (kind, amount, events) in enumerate(steps):
        cursor = store.cursor("evm:1")
        assert cursor is not None
        if kind == "rewind":
            store.rewind_chain("evm:1", expected=cursor, to_height=max(cursor - amount, 100))
            continue
        height = cursor + amount
        recorded = [
            ChainEvent(
                name,
                height,
                f"0x{step:064x}",
                i,
                {"lock_id": f"0x{n:064x}", "hashlock": bytes([n]) * 32, "amount": 10**30 + n}
                if name == "Locked"
                else {"lock_id": f"0x{n:064x}"},
            )
            for i, (name, n) in enumerate(events)
        ]
        assert not store.advance_chain(
            "evm:1", expected=cursor - 1, height=height, events=(), block_hash="x", keep_from=0
        )  # a stale cursor is refused
        assert store.advance_chain(
            "evm:1",
            expected=cursor,
            height=height,
            events=recorded,
            block_hash=f"0x{height:x}",
            keep_from=height - 8,
        )


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(FOLLOW, max_size=20))
def test_sqlite_and_postgres_follow_chains_alike(
    steps: list[tuple[str, int, list[tuple[str, int]]]],
    tmp_path_factory: pytest.TempPathFactory,
    pg_dsn: str,
) -> None:
    """Invariant: the same advances and rewinds of a chain cursor leave both stores with the
    same cursor, kept block hashes and recorded events, and no event above the cursor."""
    stores: list[Store] = [
        SqliteStore(tmp_path_factory.mktemp("follow") / "s.sqlite3", clock=Clock()),
        PostgresStore(schema_dsn(pg_dsn), clock=Clock()),
    ]
    try:
        for store in stores:
            follow(store, steps)
        sq, pg = stores
        assert sq.cursor("evm:1") == pg.cursor("evm:1")
        assert sq.block_hashes("evm:1") == pg.block_hashes("evm:1")
        cursor = sq.cursor("evm:1")
        assert cursor is not None
        for n in range(4):
            hashlock = "0x" + (bytes([n]) * 32).hex()
            assert sq.locks_by_hashlock("evm:1", hashlock) == pg.locks_by_hashlock(
                "evm:1", hashlock
            )
            history = sq.lock_history("evm:1", f"0x{n:064x}")
            assert history == pg.lock_history("evm:1", f"0x{n:064x}")
            assert all(e.height <= cursor for e in history)
            assert all(e.args.get("amount", 10**30 + n) == 10**30 + n for e in history)
    finally:
        for store in stores:
            store.close()
