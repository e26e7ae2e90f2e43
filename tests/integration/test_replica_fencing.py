"""Two relayer replicas on one PostgreSQL store race one effect (issue 13, item 7).

Actor: a second replica. Replica A takes a swap's lease and starts its security lock; the
effect outlasts A's lease (a receipt wait longer than ``lease_seconds``; here the store's
injected clock jumps while A is inside the effect) and replica B takes the swap over. The
lease carries an epoch (a fencing token): once B holds the swap, every write A makes for it
is refused (``LeaseLost``), A cannot record a lock failure, the swap is never ABORTED and it
settles exactly once. The key both replicas sign with is held by one of them at a time (a
PostgreSQL advisory lock), so they never sign two transactions with one nonce.

On the two real EVM chains of ``test_relayer_service`` (py-evm and anvil).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from bridge.swap import Leg, LegPhase, Outcome
from relayer.sealing import SealingKey
from relayer.store import PostgresStore, SignerBusy, SqliteStore, Store
from tests.integration.test_relayer_service import (  # noqa: F401 (fixtures)
    World,
    order,
    run,
    service,
    snapshots,
    token_balance,
    world,
)
from tests.integration.test_store import schema_dsn


class LeaseClock:
    """The stores' clock for leases, moved by the test."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.mark.postgres
def test_a_replica_whose_lease_ran_out_mid_effect_cannot_abort_the_swap(
    world: World,  # noqa: F811
    tmp_path: Path,
    snapshots: None,  # noqa: F811
    pg_dsn: str,
) -> None:
    dsn = schema_dsn(pg_dsn)
    clock = LeaseClock()
    key = SealingKey.generate()
    a = service(world, tmp_path, store=PostgresStore(dsn, clock=clock), replica_id="a", key=key)
    b = service(world, tmp_path, store=PostgresStore(dsn, clock=clock), replica_id="b", key=key)
    try:
        approve = a.chains["sec"].prepare_lock
        assert approve is not None
        during: list[list[str]] = []

        def slow_approve(leg: Leg, signer: object) -> None:
            approve(leg, signer)  # type: ignore[arg-type]
            if not during:  # A's effect outlasts its lease: B takes the swap over meanwhile
                clock.now += a.lease_seconds + 1
                during.append(b.tick())

        a.chains["sec"].prepare_lock = slow_approve  # type: ignore[assignment]
        buyer_before = token_balance(world, world.buyer_on_sec.address)
        swap_id = a.submit(order(world, "fence-1")).terms.swap_id
        a.tick()  # A: compliance, then the security lock, inside which B takes over
        assert during == [[swap_id]]
        state = b.store.get(swap_id)
        assert state.outcome is Outcome.OPEN, state.initiator
        assert state.initiator.phase is LegPhase.LOCK_SENT
        assert b.store.lease_owner(swap_id) == "b"
        assert b.store.lease_epoch(swap_id) == 2  # a, then b
        lost = a.metrics.registry.get_sample_value("stbridge_leases_lost_total")
        assert lost == 1.0  # A's late write was refused
        assert a.tick() == []  # B's lease is live: A keeps off
        run(b, swap_id, ticks=10)
        final = b.store.get(swap_id)
        assert final.outcome is Outcome.COMPLETED, (final.initiator, final.participant)
        hashlock = bytes.fromhex(final.terms.hashlock[2:])
        assert len(world.sec_htlc.find(hashlock)) == 1
        assert len(world.cash_htlc.find(hashlock)) == 1
        assert token_balance(world, world.buyer_on_sec.address) - buyer_before == 100
    finally:
        a.store.close()
        b.store.close()


@pytest.mark.postgres
def test_one_signing_key_is_held_by_one_replica_at_a_time(pg_dsn: str) -> None:
    """Nonces come from the node's pending count: two replicas must never sign with one key
    at once. The advisory lock is per key, exclusive across connections, released at the
    end of the block and by the server when the holder's connection dies."""
    dsn = schema_dsn(pg_dsn)
    first, second = PostgresStore(dsn), PostgresStore(dsn)
    try:
        _one_holder_at_a_time(first, second)
        held = first.signer_lock("evm:1:0xAbc")
        held.__enter__()
        first.close()  # the holder dies without releasing: the server releases it
        assert _free_soon(second, "evm:1:0xAbc")
        held.__exit__(None, None, None)  # releasing on a dead connection is harmless
    finally:
        second.close()


def _one_holder_at_a_time(first: Store, second: Store) -> None:
    """``first`` holds a key (and may take it again); ``second`` is refused it meanwhile,
    may take another key, and takes it once ``first`` let it go."""
    with first.signer_lock("evm:1:0xAbc"):
        with first.signer_lock("evm:1:0xAbc"):  # re-entrant for its holder
            pass
        with pytest.raises(SignerBusy, match="0xAbc"), second.signer_lock("evm:1:0xAbc"):
            pass
        with second.signer_lock("evm:1:0xDef"):  # another key is free
            pass
    with second.signer_lock("evm:1:0xAbc"):  # released
        pass


def _free_soon(store: PostgresStore, key: str) -> bool:
    """Whether ``key`` can be taken within 30 s (the server ends a closed connection's
    session, and so frees its advisory locks, asynchronously)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            with store.signer_lock(key):
                return True
        except SignerBusy:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)


def test_a_lock_refused_because_it_is_already_on_chain_does_not_abort_the_swap(
    world: World,  # noqa: F811
    tmp_path: Path,
    snapshots: None,  # noqa: F811
) -> None:
    """A swap with a lock on chain is never ABORTED. Actor: another system sharing the
    seller's key (a second relayer not on this store, the seller's own platform) locks
    the very terms between the relayer's chain read and its send. The relayer's own lock
    is then refused; a live read finds the leg's lock on chain, so no lock failure is
    recorded and the swap settles on the lock that is there."""
    svc = service(world, tmp_path)
    approve = svc.chains["sec"].prepare_lock
    assert approve is not None
    swaps: list[str] = []

    def approve_then_race(leg: Leg, signer: object) -> None:
        approve(leg, signer)  # type: ignore[arg-type]
        terms = svc.store.get(swaps[0]).terms
        world.sec_htlc.lock(
            asset=leg.asset,
            receiver=leg.receiver,
            amount=leg.amount,
            hashlock=bytes.fromhex(terms.hashlock[2:]),
            deadline=terms.initiator_deadline,
            signer=world.seller,
        )

    svc.chains["sec"].prepare_lock = approve_then_race  # type: ignore[assignment]
    buyer_before = token_balance(world, world.buyer_on_sec.address)
    swaps.append(svc.submit(order(world, "raced-lock-1")).terms.swap_id)
    svc.tick()  # compliance; the security lock, raced and refused
    state = svc.store.get(swaps[0])
    assert state.outcome is Outcome.OPEN, state.initiator
    assert state.initiator.phase is not LegPhase.LOCK_FAILED
    svc.chains["sec"].prepare_lock = approve
    run(svc, swaps[0], ticks=10)
    final = svc.store.get(swaps[0])
    assert final.outcome is Outcome.COMPLETED, (final.initiator, final.participant)
    assert len(world.sec_htlc.find(bytes.fromhex(final.terms.hashlock[2:]))) == 1
    assert token_balance(world, world.buyer_on_sec.address) - buyer_before == 100


def test_one_signing_key_is_held_by_one_sqlite_store_at_a_time(tmp_path: Path) -> None:
    """SQLite: one relayer per file is the deployment, but two stores on one file (two
    replicas started on it by mistake, or the interop suite's replicas in one process) must
    not sign with one key at once either, as on PostgreSQL: the second is refused with
    ``SignerBusy`` while the first holds the key, the holder may take it again, and a
    holder's process that dies frees it. (The interop agreement run found SQLite letting
    replica B sign with a key replica A held, where PostgreSQL refused: the two stores
    ended a swap differently.)"""
    path = tmp_path / "relayer.sqlite3"
    first, second = SqliteStore(path), SqliteStore(path)
    try:
        _one_holder_at_a_time(first, second)
        holder = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sys, time\n"
                "from relayer.store import SqliteStore\n"
                "with SqliteStore(sys.argv[1]).signer_lock('evm:1:0xAbc'):\n"
                "    print('held', flush=True)\n"
                "    time.sleep(600)\n",
                str(path),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert holder.stdout is not None
            assert holder.stdout.readline().strip() == "held"
            with pytest.raises(SignerBusy), second.signer_lock("evm:1:0xAbc"):
                pass
        finally:
            holder.kill()  # dies holding it: the kernel drops the lock with the process
            holder.wait()
            holder.stdout.close()  # type: ignore[union-attr]
        with second.signer_lock("evm:1:0xAbc"):
            pass
    finally:
        first.close()
        second.close()
