"""The relayer's pipelined settlement (``relayer.pipeline``) on the two real EVM chains of
``test_relayer_service`` (py-evm and anvil): effects whose transactions are in flight are
settled by the watcher or by their outcome, across a restart, a failure on chain and a
cached gas limit that runs out; a signing key is held for a whole tick, and its nonces are
read afresh each time a tick takes it (replicas on PostgreSQL)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from adapters.evm.batch import ViewCall
from bridge.swap import Leg, LegPhase, Outcome, TxFailed
from relayer.sealing import SealingKey
from relayer.service import RelayerService
from relayer.store import PostgresStore, SignerBusy, SqliteStore
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


def _hashlock(svc_state_terms_hashlock: str) -> bytes:
    return bytes.fromhex(svc_state_terms_hashlock[2:])


def test_a_transaction_in_flight_at_a_crash_is_confirmed_by_the_next_process(
    world: World,  # noqa: F811
    tmp_path: Path,
    snapshots: None,  # noqa: F811
) -> None:
    """Actor: the operator's own process, killed while a lock is in flight (sent and
    recorded, not yet confirmed). The effect is kept ``sent`` with its hash in the store; a
    new process settles it from what the chain shows and the swap completes with exactly one
    lock per leg."""
    key = SealingKey.generate()
    first = service(world, tmp_path, key=key)
    buyer_before = token_balance(world, world.buyer_on_sec.address)
    swap_id = first.submit(order(world, "in-flight-1")).terms.swap_id
    first.tick()  # compliance, then the security lock: sent, not waited for
    sent = [r for r in first.store.pending_effects(swap_id) if r.status == "sent"]
    assert [type(r.effect).__name__ for r in sent] == ["SubmitLock"]
    assert sent[0].tx_id is not None
    assert first.store.get(swap_id).initiator.phase is LegPhase.LOCK_SENT
    first.store.close()  # the process dies here
    second = service(world, tmp_path, key=key, store=SqliteStore(tmp_path / "relayer.sqlite3"))
    run(second, swap_id, ticks=10)
    final = second.store.get(swap_id)
    assert final.outcome is Outcome.COMPLETED, (final.initiator, final.participant)
    assert final.initiator.lock_tx == sent[0].tx_id  # the very transaction sent before
    assert second.store.pending_effects(swap_id) == []
    hashlock = _hashlock(final.terms.hashlock)
    assert len(world.sec_htlc.find(hashlock)) == 1
    assert len(world.cash_htlc.find(hashlock)) == 1
    assert token_balance(world, world.buyer_on_sec.address) - buyer_before == 100


def test_a_lock_that_fails_on_chain_after_it_was_sent_ends_the_swap_with_nothing_locked(
    world: World,  # noqa: F811
    tmp_path: Path,
    snapshots: None,  # noqa: F811
) -> None:
    """A lock sent with the cached gas limit (no estimate) that then fails in its block:
    its outcome, asked in the tick's batch, feeds the engine ``TxFailed`` (broadcast), the
    lock's effect is failed and the swap ends ABORTED with nothing locked on either chain.
    The failure is made real: between the pre-flight and the send, the seller's own
    platform moves its units away with the same key (so the lock also takes a nonce the
    relayer did not count: it reads it afresh)."""
    svc = service(world, tmp_path)
    port = svc.chains["sec"].htlc
    port._gas[("lockToken", world.token.lower())] = 300_000  # type: ignore[attr-defined]
    prepare = svc.chains["sec"].prepare_lock
    assert prepare is not None
    units = token_balance(world, world.seller.address)
    transfer = ViewCall("transfer(address,uint256)", ("bool",))
    approve = ViewCall("approve(address,uint256)", ("bool",))
    # approved beforehand: the pre-flight passes, and the lock does not read it again
    world.sec.transact(world.seller, world.token, approve.encode(world.sec_htlc.address, units))

    def prepare_then_empty(leg: Leg, signer: object) -> None:
        prepare(leg, signer)  # type: ignore[arg-type]
        # the seller's own platform moves every unit away with the same key
        world.sec.transact(
            world.seller, world.token, transfer.encode(world.seller_on_cash.address, units)
        )

    svc.chains["sec"].prepare_lock = prepare_then_empty  # type: ignore[assignment]
    swap_id = svc.submit(order(world, "fails-on-chain-1")).terms.swap_id
    run(svc, swap_id, ticks=6)
    final = svc.store.get(swap_id)
    assert final.outcome is Outcome.ABORTED, (final.initiator, final.participant)
    assert final.initiator.phase is LegPhase.LOCK_FAILED
    failed = [c for c in svc.store.inputs(swap_id) if isinstance(c, TxFailed)]
    assert [(f.action, f.broadcast) for f in failed] == [("lock", True)]
    assert failed[0].reason.startswith("0x")  # the mined transaction's outcome, replayed
    assert "reverted" in failed[0].reason
    hashlock = _hashlock(final.terms.hashlock)
    assert world.sec_htlc.find(hashlock) == []
    assert world.cash_htlc.find(hashlock) == []


def test_a_lock_out_of_its_cached_gas_is_sent_again_estimated_and_the_swap_settles(
    world: World,  # noqa: F811
    tmp_path: Path,
    snapshots: None,  # noqa: F811
) -> None:
    """A cached gas limit too low for the token lock: the lock runs out of gas on chain,
    its outcome says so, the limit is dropped and the effect runs again (a new transaction:
    the failed one was mined); the swap completes with one lock per leg."""
    svc = service(world, tmp_path)
    port = svc.chains["sec"].htlc
    key = ("lockToken", world.token.lower())
    port._gas[key] = 40_000  # type: ignore[attr-defined]
    buyer_before = token_balance(world, world.buyer_on_sec.address)
    swap_id = svc.submit(order(world, "out-of-gas-1")).terms.swap_id
    run(svc, swap_id, ticks=10)
    final = svc.store.get(swap_id)
    assert final.outcome is Outcome.COMPLETED, (final.initiator, final.participant)
    assert port._gas[key] > 40_000  # type: ignore[attr-defined]
    assert not [c for c in svc.store.inputs(swap_id) if isinstance(c, TxFailed)]
    hashlock = _hashlock(final.terms.hashlock)
    assert len(world.sec_htlc.find(hashlock)) == 1
    assert token_balance(world, world.buyer_on_sec.address) - buyer_before == 100


@pytest.mark.postgres
def test_a_tick_holds_each_signing_key_it_uses_and_reads_its_nonces_once(
    world: World,  # noqa: F811
    tmp_path: Path,
    snapshots: None,  # noqa: F811
    pg_dsn: str,
) -> None:
    """Actor: a second replica sharing the seller's key. Nonces are counted locally only
    while a tick holds the key: from its first use to the end of the tick no other replica
    can take it (``SignerBusy``), and the tick that takes it reads the count afresh (once,
    however many transactions it signs). After the tick the key is free again."""
    dsn = schema_dsn(pg_dsn)
    key = SealingKey.generate()
    a = service(world, tmp_path, store=PostgresStore(dsn), replica_id="a", key=key)
    other = PostgresStore(dsn)
    sec = a.chains["sec"]
    taken: list[str] = []
    assert sec.signer_acquired is not None
    acquired = sec.signer_acquired
    sec.signer_acquired = lambda address: (taken.append(address), acquired(address))[1]
    seller_key = f"{a._key_of(sec)}:{world.seller.address}"
    busy: list[bool] = []
    decide = a.compliance

    def compliance_checking_the_key(order_: object, at: object) -> object:
        if taken:  # a later swap's check, after the first lock of this tick
            try:
                with other.signer_lock(seller_key):
                    busy.append(False)
            except SignerBusy:
                busy.append(True)
        return decide(order_, at)  # type: ignore[arg-type]

    a.compliance = compliance_checking_the_key  # type: ignore[assignment]
    try:
        ids = [a.submit(order(world, f"held-{n}")).terms.swap_id for n in range(3)]
        a.tick()  # three checks and three security locks, one key
        assert taken == [world.seller.address]  # taken (and its count read) once
        assert busy == [True, True]  # held between the effects, not only inside them
        with other.signer_lock(seller_key):  # the tick is over: released
            pass
        for swap_id in ids:
            run(a, swap_id, ticks=10)
        assert {a.store.get(i).outcome for i in ids} == {Outcome.COMPLETED}
    finally:
        other.close()
        a.store.close()


def _locks_sent(svc: RelayerService, swap_id: str) -> int:
    """The swap's lock effects sent and in flight."""
    return sum(
        1
        for r in svc.store.pending_effects(swap_id)
        if r.status == "sent" and type(r.effect).__name__ == "SubmitLock"
    )


def test_a_tick_sends_the_approval_a_lock_needs_without_waiting_for_it(
    world: World,  # noqa: F811
    tmp_path: Path,
    snapshots: None,  # noqa: F811
) -> None:
    """Actor: chains and node operators (a transaction lost on its way to the node). The
    approval a token lock needs is sent without waiting for its receipt, as the lock is:
    before, ``prepare_token_lock`` waited for it inside the tick, and when one of the key's
    earlier transactions was lost the approval queued behind its nonce and every tick held
    every swap for the receipt timeout (the 30-minute interop run stalled there). The first
    lock of a token, whose gas is estimated, follows an approval already in a block (py-evm
    mines on sending) in the same tick; once its gas is kept, the lock follows the approval
    at once. Both swaps settle, and no tick waited for a receipt."""
    svc = service(world, tmp_path)
    waited: list[str] = []
    wait = world.sec.wait

    def spy(tx_id: str, *, timeout: float | None = None) -> Any:
        waited.append(tx_id)
        return wait(tx_id, timeout=timeout)

    setattr(world.sec, "wait", spy)  # noqa: B010 (an instance override: a spy, the chain is real)
    try:
        first = svc.submit(order(world, "approve-nowait-1")).terms.swap_id
        svc.tick()  # compliance, the approval (mined on sending), the lock estimated
        assert _locks_sent(svc, first) == 1
        run(svc, first, ticks=10)
        assert svc.store.get(first).outcome is Outcome.COMPLETED
        second = svc.submit(order(world, "approve-nowait-2")).terms.swap_id
        svc.tick()  # the approval and, on the kept gas limit, the lock right behind it
        assert _locks_sent(svc, second) == 1
        run(svc, second, ticks=10)
        assert svc.store.get(second).outcome is Outcome.COMPLETED
    finally:
        del world.sec.__dict__["wait"]
    assert waited == []


class _Trips:
    """The cash chain's round trips (a spy on its transport: the node is real): per trip, how
    many ``eth_sendRawTransaction`` calls it carried."""

    def __init__(self, world: World) -> None:  # noqa: F811
        fast = world.cash.fast
        assert fast is not None
        self.fast = fast
        self.sends: list[int] = []
        self._request, self._batch = fast.request, fast.batch

    def __enter__(self) -> _Trips:
        def request(method: str, params: Any) -> Any:
            if method == "eth_sendRawTransaction":
                self.sends.append(1)
            return self._request(method, params)

        def batch(calls: Any) -> Any:
            n = sum(1 for method, _ in calls if method == "eth_sendRawTransaction")
            if n:
                self.sends.append(n)
            return self._batch(calls)

        setattr(self.fast, "request", request)  # noqa: B010 (a spy)
        setattr(self.fast, "batch", batch)  # noqa: B010
        return self

    def __exit__(self, *exc: object) -> None:
        del self.fast.__dict__["request"]
        del self.fast.__dict__["batch"]


def _participant_locks_sent(svc: RelayerService, ids: list[str]) -> int:
    return sum(1 for i in ids if svc.store.get(i).participant.phase is not LegPhase.NONE)


def _settle(svc: RelayerService, ids: list[str], ticks: int = 12) -> None:
    for _ in range(ticks):
        if all(svc.store.get(i).outcome is not Outcome.OPEN for i in ids):
            return
        svc.tick()


def _one_lock_each(world: World, svc: RelayerService, ids: list[str]) -> None:  # noqa: F811
    for swap_id in ids:
        final = svc.store.get(swap_id)
        assert final.outcome is Outcome.COMPLETED, (final.initiator, final.participant)
        hashlock = _hashlock(final.terms.hashlock)
        assert len(world.sec_htlc.find(hashlock)) == 1
        assert len(world.cash_htlc.find(hashlock)) == 1


def test_a_tick_sends_its_locks_to_a_node_in_one_request(
    world: World,  # noqa: F811
    tmp_path: Path,
    snapshots: None,  # noqa: F811
) -> None:
    """The cash locks of three swaps, sent in one tick, reach the node (anvil) in one
    JSON-RPC request: a batch of three ``eth_sendRawTransaction`` calls, each recorded
    ``sent`` before it; the swaps complete with one lock per leg. (The age rule, which
    sends a long tick's held sends every 0.1 s, is off here: the test must not depend on
    the machine's speed; ``test_held_sends_leave_between_swaps_once_due`` covers it.)"""
    svc = service(world, tmp_path)
    svc._batches.max_age_s = None  # one batch at the tick's end, however slow the machine
    ids = [svc.submit(order(world, f"batched-{n}")).terms.swap_id for n in range(3)]
    with _Trips(world) as trips:
        for _ in range(6):
            svc.tick()
            if _participant_locks_sent(svc, ids) == 3:
                break
        assert _participant_locks_sent(svc, ids) == 3
        assert trips.sends == [3]  # one request carried the three locks
    _settle(svc, ids)
    _one_lock_each(world, svc, ids)


def test_a_send_refused_in_a_tick_s_batch_is_handled_as_a_refused_single_send(
    world: World,  # noqa: F811
    tmp_path: Path,
    snapshots: None,  # noqa: F811
    anvil_url: str,
) -> None:
    """Actor: the buyer's own platform, using the buyer's key on the cash chain while the
    relayer's tick holds its three cash locks for one batch: it takes the nonce of the
    first. The node refuses that lock in the batch (nonce too low) and takes the other two;
    the refused one is handled as a single refused send is: its effect runs again at once,
    unbatched, and its kept transaction, whose nonce is taken, is built anew on the node's
    count. Every swap completes with one lock per leg."""
    from adapters.evm.client import EvmClient

    svc = service(world, tmp_path)
    svc._batches.max_age_s = None  # one batch at the tick's end, however slow the machine
    outside = EvmClient.from_target(anvil_url)  # another process, same key
    cash = world.cash
    flush = cash.flush_sends
    refused: list[Any] = []

    def flush_after_the_outsider() -> Any:
        if len(cash.held_sends) == 3:
            outside.transact(world.buyer, world.buyer.address, b"")  # the node's next nonce
        found = flush()
        refused.extend(found)
        return found

    setattr(cash, "flush_sends", flush_after_the_outsider)  # noqa: B010 (a spy; real node)
    try:
        ids = [svc.submit(order(world, f"refused-{n}")).terms.swap_id for n in range(3)]
        with _Trips(world) as trips:
            for _ in range(6):
                svc.tick()
                if _participant_locks_sent(svc, ids) == 3:
                    break
        # the batch; then, alone, the refused one's kept bytes (refused again: nonce taken)
        # and the transaction built anew on the node's count
        assert trips.sends == [3, 1, 1]
        assert len(refused) == 1
        assert "nonce" in str(refused[0].error).lower()
        _settle(svc, ids)
    finally:
        del cash.__dict__["flush_sends"]
        outside.fast.close() if outside.fast is not None else None
    _one_lock_each(world, svc, ids)
    assert not [c for i in ids for c in svc.store.inputs(i) if isinstance(c, TxFailed)]
    locks = {svc.store.get(i).participant.lock_tx for i in ids}
    assert refused[0].tx_id not in locks  # built anew: another transaction


def test_a_batch_the_node_never_answered_is_sent_again_and_the_swaps_settle(
    world: World,  # noqa: F811
    tmp_path: Path,
    snapshots: None,  # noqa: F811
) -> None:
    """Actor: the chain's node, unreachable for the tick's batch (the connection fails: a
    fault injected at the transport, the only mock here). What the node took is unknown:
    each lock stays recorded ``sent``, its outcome is asked next tick (dropped) and its
    effect runs again with the same kept bytes (never a second transaction); the swaps
    complete with one lock per leg."""
    from bridge.errors import ChainUnavailable

    svc = service(world, tmp_path)
    svc._batches.max_age_s = None  # one batch at the tick's end, however slow the machine
    fast = world.cash.fast
    assert fast is not None
    batch = fast.batch
    failed: list[int] = []
    queued: list[str] = []

    def unreachable_once(calls: Any) -> Any:
        if not failed and any(m == "eth_sendRawTransaction" for m, _ in calls):
            failed.append(len(calls))
            queued.extend(world.cash.held_sends)
            raise ChainUnavailable("eth_sendRawTransaction: EVM node unreachable (injected)")
        return batch(calls)

    ids = [svc.submit(order(world, f"unreachable-{n}")).terms.swap_id for n in range(2)]
    setattr(fast, "batch", unreachable_once)  # noqa: B010 (the injected fault)
    try:
        for _ in range(6):
            svc.tick()
            if failed:
                break
        assert failed == [2]
        _settle(svc, ids)
    finally:
        del fast.__dict__["batch"]
    _one_lock_each(world, svc, ids)
    # the very transactions recorded before the batch failed
    assert {svc.store.get(i).participant.lock_tx for i in ids} == set(queued)


def test_held_sends_leave_between_swaps_once_due(
    world: World,  # noqa: F811
    tmp_path: Path,
    snapshots: None,  # noqa: F811
) -> None:
    """A long tick does not hold its first sends to its end: with the age limit at 0 s,
    each swap's cash lock leaves in its own request right after the swap's effects (all
    recorded ``sent`` before), and the tick's end has nothing left to send."""
    svc = service(world, tmp_path)
    svc._batches.max_age_s = 0.0
    ids = [svc.submit(order(world, f"due-{n}")).terms.swap_id for n in range(3)]
    with _Trips(world) as trips:
        for _ in range(6):
            svc.tick()
            if _participant_locks_sent(svc, ids) == 3:
                break
        assert trips.sends == [1, 1, 1]
    _settle(svc, ids)
    _one_lock_each(world, svc, ids)


def _durable(path: Path, key: SealingKey) -> tuple[set[bytes], set[str]]:
    """What a process started after a crash would find in the store file: every journaled
    signed transaction (unsealed) and every effect's recorded transaction hash."""
    import sqlite3

    with sqlite3.connect(path) as conn:
        journal = {
            key.unseal(str(body), swap_id=str(swap_id))
            for swap_id, body in conn.execute(
                "SELECT swap_id, body FROM documents WHERE name LIKE 'tx:%'"
            )
        }
        recorded = {str(r[0]) for r in conn.execute("SELECT tx_id FROM effects") if r[0]}
    return journal, recorded


def test_every_transaction_is_durable_in_the_store_before_it_reaches_a_node(
    world: World,  # noqa: F811
    tmp_path: Path,
    snapshots: None,  # noqa: F811
) -> None:
    """Actor: the operator's own process, killed at any instant. A tick's store writes are
    committed together (``Store.grouped``), but never after what they record left the
    process: at the moment each signed transaction reaches a node (py-evm's, one by one;
    anvil's, in the tick's batch) its bytes are already committed in the journal, as a
    second connection to the file (the next process) reads it, and a batched send is also
    recorded ``sent`` with its hash."""
    from web3 import Web3

    key = SealingKey.generate()
    svc = service(world, tmp_path, key=key)
    path = tmp_path / "relayer.sqlite3"
    seen: list[str] = []
    early: list[str] = []  # what reached a node before the store had it durably

    def durable_before(raw: bytes, *, batched: bool) -> None:
        journal, recorded = _durable(path, key)
        tx_id = Web3.keccak(raw).to_0x_hex()
        if raw not in journal:
            early.append(f"{tx_id}: bytes not in the journal")
        if batched and tx_id not in recorded:
            early.append(f"{tx_id}: sent in a batch before it was recorded sent")
        seen.append(tx_id)

    fast = world.cash.fast
    assert fast is not None
    request, batch = fast.request, fast.batch
    eth = world.sec.w3.eth
    send_raw = eth.send_raw_transaction

    def spy_request(method: str, params: Any) -> Any:
        if method == "eth_sendRawTransaction":
            durable_before(bytes.fromhex(params[0][2:]), batched=False)
        return request(method, params)

    def spy_batch(calls: Any) -> Any:
        for method, params in calls:
            if method == "eth_sendRawTransaction":
                durable_before(bytes.fromhex(params[0][2:]), batched=True)
        return batch(calls)

    def spy_send_raw(raw: Any) -> Any:
        durable_before(bytes(raw), batched=False)
        return send_raw(raw)

    setattr(fast, "request", spy_request)  # noqa: B010 (a spy; the nodes are real)
    setattr(fast, "batch", spy_batch)  # noqa: B010
    setattr(eth, "send_raw_transaction", spy_send_raw)  # noqa: B010
    try:
        ids = [svc.submit(order(world, f"durable-{n}")).terms.swap_id for n in range(3)]
        _settle(svc, ids)
    finally:
        del fast.__dict__["request"]
        del fast.__dict__["batch"]
        del eth.__dict__["send_raw_transaction"]
    assert early == []
    _one_lock_each(world, svc, ids)
    assert len(seen) >= 4 * len(ids)  # two locks and two claims per swap, each checked


def test_a_tick_commits_its_store_writes_together(
    world: World,  # noqa: F811
    tmp_path: Path,
    snapshots: None,  # noqa: F811
) -> None:
    """A synced SQLite commit is an fsync: the tick that sends three swaps' cash locks in
    one batch commits each of its writes (the observed locks, the journaled bytes, the sends
    recorded) without one, and syncs them before the batch leaves and at most twice more,
    not once per write. (The batch's age limit is off: the count of sends must not depend
    on the machine's speed.)"""
    svc = service(world, tmp_path)
    svc._batches.max_age_s = None
    ids = [svc.submit(order(world, f"grouped-{n}")).terms.swap_id for n in range(3)]
    statements: list[str] = []
    svc.store._conn.set_trace_callback(statements.append)  # type: ignore[attr-defined]
    with _Trips(world) as trips:
        for _ in range(6):
            statements.clear()
            svc.tick()
            in_tick = list(statements)
            if _participant_locks_sent(svc, ids) == 3:
                break
        assert trips.sends == [3]
    synced, unsynced, level = 0, 0, "2"  # PRAGMA synchronous: 2 FULL (fsync), 1 NORMAL
    for statement in (s.strip().upper() for s in in_tick):
        if statement.startswith("PRAGMA SYNCHRONOUS="):
            level = statement.rsplit("=", 1)[1]
        elif statement == "COMMIT":
            synced, unsynced = synced + (level == "2"), unsynced + (level != "2")
    assert 1 <= synced <= 3, (synced, unsynced)  # before grouping: 87 in this tick
    assert unsynced > 10 * synced, (synced, unsynced)
    _settle(svc, ids)
    _one_lock_each(world, svc, ids)
