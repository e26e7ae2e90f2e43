"""The relayer's Algorand sends batched per tick, on the embedded chains (T-REX on py-evm
against a USD ASA on the embedded go-algorand ledger, ``build_world(algorand_pipelined=
True)``): a tick's cash locks land in one round evaluated by one run of the evaluator, and
every swap still completes with both legs delivered exactly once. The actors of the threat
model: a buyer whose second lock cannot be paid for when the round is made (refused alone,
the other swaps go on), and the relayer's own process crashing after the pool took its
groups and before the flush (with the node's pool kept, or lost with a node restart)."""

from __future__ import annotations

import base64
import dataclasses
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from algosdk import encoding, transaction

from adapters.algorand.algod import EmbeddedAlgodClient
from adapters.algorand.htlc import AlgorandHtlc
from adapters.algorand.ledger import GroupResult, split_signed_transactions
from bridge.swap import LegPhase, Outcome, SwapState
from relayer.daemon import compliance_from_engine
from relayer.embedded import BUDGET, World, build_world, demo_order
from relayer.service import RelayerService
from relayer.store import SqliteStore

pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    built = build_world(tmp_path_factory.mktemp("batched"), algorand_pipelined=True)
    yield built
    built.service.store.close()


@dataclasses.dataclass
class Batch:
    """One call of ``submit_batch``: its groups' first ids, its outcomes, evaluator runs."""

    first_ids: list[str]
    landed: list[str]
    runs: int


def _record_batches(world: World) -> Iterator[list[Batch]]:
    ledger = world.ledger
    original = ledger.submit_batch
    seen: list[Batch] = []

    def recording(groups: Any) -> Any:
        runs = ledger.evaluations
        outcomes = original(groups)
        seen.append(
            Batch(
                first_ids=[_first_id(g) for g in groups],
                landed=[o.tx_ids[0] for o in outcomes if isinstance(o, GroupResult)],
                runs=ledger.evaluations - runs,
            )
        )
        return outcomes

    ledger.submit_batch = recording  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        del ledger.submit_batch


@pytest.fixture
def batches(world: World) -> Iterator[list[Batch]]:
    yield from _record_batches(world)


def _first_id(group: Any) -> str:
    first = split_signed_transactions(bytes(group))[0]
    return str(encoding.msgpack_decode(base64.b64encode(first).decode()).get_txid())  # type: ignore[no-untyped-call]


def _submit(world: World, service: RelayerService, name: str, count: int) -> list[str]:
    return [
        service.submit(
            demo_order(world, f"{name}-{n}", units=1, usd_cents=10_000 + n)
        ).terms.swap_id
        for n in range(count)
    ]


def _drive(service: RelayerService, ids: list[str], ticks: int = 15) -> list[SwapState]:
    for _ in range(ticks):
        service.tick()
        if all(service.store.get(i).outcome is not Outcome.OPEN for i in ids):
            break
    return [service.store.get(i) for i in ids]


def _hashlock(state: SwapState) -> bytes:
    return bytes.fromhex(state.terms.hashlock[2:])


def _assert_delivered_once(world: World, states: list[SwapState]) -> None:
    """Each swap: one cash escrow on Algorand and one security lock on the EVM chain,
    both claimed (so each leg moved exactly once)."""
    for state in states:
        cash = world.algo_htlc.find(_hashlock(state))
        security = world.evm_htlc.find(_hashlock(state))
        assert [lock.state for lock in cash] == ["claimed"], state.terms.swap_id
        assert [lock.state for lock in security] == ["claimed"], state.terms.swap_id


def _balances(world: World) -> tuple[int, int, int, int]:
    return (
        world.token_balance("alice"),
        world.token_balance("bob"),
        world.usd_balance("alice"),
        world.usd_balance("bob"),
    )


def test_a_tick_lands_every_swap_s_cash_lock_in_one_round_and_every_swap_completes(
    world: World, batches: list[Batch]
) -> None:
    before = _balances(world)
    ids = _submit(world, world.service, "one-round", 4)

    states = _drive(world.service, ids)

    assert [s.outcome for s in states] == [Outcome.COMPLETED] * 4
    cash_locks = [s.participant.lock_tx for s in states]
    assert all(cash_locks)
    rounds = {world.ledger.confirmed(str(tx)).confirmed_round for tx in cash_locks}
    assert len(rounds) == 1  # one round for the four locks
    (lock_batch,) = [b for b in batches if set(b.landed) & set(map(str, cash_locks))]
    assert len(lock_batch.first_ids) == 4
    assert lock_batch.runs == 1  # one run of the evaluator for the tick's four groups
    claims = {world.ledger.confirmed(str(s.participant.claim_tx)).confirmed_round for s in states}
    assert len(claims) == 1  # the cash claims too
    after = _balances(world)
    amounts = sum(10_000 + n for n in range(4))
    assert after == (before[0] - 4, before[1] + 4, before[2] + amounts, before[3] - amounts)
    _assert_delivered_once(world, states)


def test_a_lock_the_buyer_cannot_pay_for_at_the_round_is_refused_alone(
    world: World, batches: list[Batch]
) -> None:
    """Actor: the buyer, spending his algos elsewhere after the relayer's checks, so that
    when the tick's round is made he can pay for two of his three cash locks. The third
    group is refused alone (the evaluator's overspend), handled as a refused single send
    (its lock fails, nothing of it is on chain), and the two other swaps complete."""
    bob = world.algo_accounts["bob"]
    chain = world.algo_htlc.chain
    terms = world.algo_htlc.terms_for(
        asset=world.usd_ref,
        sender=bob.address,
        receiver=world.algo_accounts["alice"].address,
        amount=1,
        hashlock=bytes(32),
        deadline=2**32,
    )
    per_lock = terms.deposit + 3 * 1_000  # the escrow's deposit and the group's fees
    api = world.algod.api
    original_flush = api.flush
    drained: list[int] = []

    def buyer_spends_first() -> Any:
        if api.pooled_ids() and not drained:
            spendable = chain.spendable_algos(bob.address)
            keep = 2 * per_lock + 500  # two locks, not three
            pay = transaction.PaymentTxn(  # type: ignore[no-untyped-call]
                bob.address,
                world.ledger.suggested_params(),
                world.algo_issuer.address,
                spendable - keep - 1_000,
            )
            world.ledger.submit([bob.sign(pay)])
            drained.append(spendable - keep)
        return original_flush()

    api.flush = buyer_spends_first  # type: ignore[method-assign]
    try:
        ids = _submit(world, world.service, "short", 3)
        states = _drive(world.service, ids, ticks=8)
    finally:
        del api.flush
        world.ledger.fund(bob.address, 20_000_000)  # for the next tests
    assert drained
    (lock_batch,) = [b for b in batches if len(b.first_ids) == 3]
    assert len(lock_batch.landed) == 2
    completed = [s for s in states if s.outcome is Outcome.COMPLETED]
    assert len(completed) == 2
    (short,) = [s for s in states if s.outcome is not Outcome.COMPLETED]
    assert short.participant.phase is LegPhase.LOCK_FAILED
    assert world.algo_htlc.find(_hashlock(short)) == []  # nothing of it on chain
    _assert_delivered_once(world, completed)
    # the seller's security lock of that swap is refunded at its deadline, as after any
    # refused cash lock
    world.jump(2 * 3600)
    (refunded,) = _drive(world.service, [short.terms.swap_id], ticks=10)
    assert refunded.outcome is Outcome.REFUNDED
    assert [lock.state for lock in world.evm_htlc.find(_hashlock(short))] == ["refunded"]


class _Crash(BaseException):
    """The relayer's process dies here (nothing after it runs)."""


def _crash_at_the_flush(world: World) -> Callable[[], None]:
    """Make the next non-empty flush of the node's pool kill the tick before it evaluates
    anything; returns the undo."""
    api = world.algod.api
    original = api.flush

    def dying() -> Any:
        if api.pooled_ids():
            raise _Crash("killed after the pool took the groups, before the flush")
        return original()

    api.flush = dying  # type: ignore[method-assign]

    def undo() -> None:
        del api.flush

    return undo


def _restarted(world: World, algod: EmbeddedAlgodClient) -> RelayerService:
    """A new relayer process on the same store and keys, with a new Algorand port on
    ``algod`` (the same node, or a restarted one)."""
    old = world.service
    old.store.close()
    port = AlgorandHtlc(algod, from_round=world.algo_htlc.from_round).with_pipelining()
    chains = dict(old.chains)
    chains["algorand"] = dataclasses.replace(chains["algorand"], htlc=port)
    service = RelayerService(
        store=SqliteStore(world.workdir / "relayer.sqlite3"),
        chains=chains,
        compliance=compliance_from_engine(),
        sealing_key=old._key,
        budget=BUDGET,
        wall_clock=time.time,
    )
    world.service = service
    return service


@pytest.mark.parametrize("pool", ["kept", "lost"])
def test_a_crash_after_the_pool_took_the_locks_neither_loses_nor_doubles_one(
    world: World, batches: list[Batch], pool: str, tmp_path: Path
) -> None:
    """Actor: the relayer's own process, killed after the node's pool took the tick's cash
    locks and before the flush. ``kept``: the node still has them and evaluates them at the
    next process's first flush; ``lost``: the node restarted without its pool, the next
    process finds them dropped and sends its kept groups again. Each swap completes with
    one cash lock, delivered once."""
    before = _balances(world)
    undo = _crash_at_the_flush(world)
    ids = _submit(world, world.service, f"crash-{pool}", 2)
    crashed = False
    try:
        for _ in range(6):
            world.service.tick()
    except _Crash:
        crashed = True
    finally:
        undo()
    assert crashed
    queued = world.algod.api.pooled_ids()
    assert queued  # the pool holds the cash locks
    node = world.algod
    if pool == "lost":  # the node restarts: what its pool held is gone
        world.algod.api.discard_pool()
        node = EmbeddedAlgodClient(world.ledger, wait_timeout=0.0)
    service = _restarted(world, node)

    states = _drive(service, ids)

    assert [s.outcome for s in states] == [Outcome.COMPLETED] * 2
    _assert_delivered_once(world, states)
    cash_locks = {str(s.participant.lock_tx) for s in states}
    landed = [tx for b in batches for tx in b.landed]
    assert sum(1 for tx in landed if tx in cash_locks) == 2  # each lock group landed once
    after = _balances(world)
    amounts = 10_000 + 10_001
    assert after == (before[0] - 2, before[1] + 2, before[2] + amounts, before[3] - amounts)
