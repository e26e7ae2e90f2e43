"""The relayer service end to end on two real EVM chains: py-evm and anvil.

The security leg is our ERC-20 token on the embedded py-evm chain; the cash leg is the
native coin on anvil. Both chains run the real HTLC contract. Time moves only when the test
moves it (``increase_time`` on each chain) and the relayer is driven tick by tick.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from adapters.evm.client import EvmClient
from adapters.evm.erc20 import Erc20Adapter, deploy_cash_token
from adapters.evm.htlc import EvmHtlc
from adapters.evm.signer import EvmSigner
from bridge.compliance import Trade
from bridge.compliance.loader import specs_dir
from bridge.htlc import ChainTiming, RelayerBudget
from bridge.model import AssetRef, EvmContractLocator, Refusal
from bridge.reasons import ReasonCode
from bridge.swap import LegPhase, Outcome, Role
from relayer.api import create_app
from relayer.evm import evm_runtime
from relayer.sealing import SealingKey
from relayer.service import (
    ChainRuntime,
    ComplianceResult,
    LegOrder,
    RelayerService,
    SwapOrder,
)
from relayer.store import PostgresStore, SqliteStore, Store
from tests.fixtures.evm import mined_on_send

TIMING = ChainTiming(
    deadline_unit="timestamp", block_time_min_ms=1000, block_time_max_ms=2000, finality_depth=0
)
BUDGET = RelayerBudget(reaction_s=30, compliance_recheck_s=10, margin_s=30)
ETHER = 10**18
TRADE = Trade.model_validate_json(
    (specs_dir() / "examples" / "jp-real-estate-to-sg-accredited-usdc.json").read_text()
)


@dataclass
class World:
    sec: EvmClient
    cash: EvmClient
    sec_htlc: EvmHtlc
    cash_htlc: EvmHtlc
    token: str
    seller: EvmSigner
    buyer: EvmSigner
    seller_on_cash: EvmSigner
    buyer_on_sec: EvmSigner
    operator_sec: EvmSigner
    operator_cash: EvmSigner


@pytest.fixture(scope="module")
def world(anvil_url: str) -> Iterator[World]:
    sec = EvmClient.embedded()
    cash = mined_on_send(EvmClient.from_target(anvil_url))  # reads after a tick see its sends
    signers = {n: EvmSigner.generate() for n in ("seller", "buyer", "s2", "b2", "op1", "op2")}
    for name in ("seller", "b2", "op1"):
        sec.fund(signers[name].address, 10 * ETHER)
    for name in ("buyer", "s2", "op2"):
        cash.fund(signers[name].address, 10 * ETHER)
    sec_htlc = EvmHtlc.deploy(sec, signers["op1"])
    cash_htlc = EvmHtlc.deploy(cash, signers["op2"])
    token = deploy_cash_token(
        sec, signers["seller"], name="Tokyo Office Units", symbol="TOU", decimals=0, currency="JPY"
    )
    adapter = Erc20Adapter(sec)
    ref = AssetRef(chain=sec.chain, locator=EvmContractLocator(address=token))
    from bridge.model import Capability

    adapter.agent_operation(
        ref, Capability.MINT, signers["seller"], to=signers["seller"].address, amount=1_000
    )
    return World(
        sec=sec,
        cash=cash,
        sec_htlc=sec_htlc,
        cash_htlc=cash_htlc,
        token=token,
        seller=signers["seller"],
        buyer=signers["buyer"],
        seller_on_cash=signers["s2"],
        buyer_on_sec=signers["b2"],
        operator_sec=signers["op1"],
        operator_cash=signers["op2"],
    )


@pytest.fixture
def snapshots(world: World) -> Iterator[None]:
    a, b = world.sec.snapshot(), world.cash.snapshot()
    yield
    world.sec.revert(a)
    world.cash.revert(b)


class Wall:
    """The wall clock as the calculator sees it: the later of the two chains' times."""

    def __init__(self, world: World) -> None:
        self.world = world

    def __call__(self) -> float:
        return float(max(_now(self.world.sec), _now(self.world.cash)))


def _now(client: EvmClient) -> int:
    return int(client.now().timestamp())


def service(
    world: World,
    tmp_path: Path,
    *,
    allow: bool = True,
    store: Store | None = None,
    replica_id: str = "relayer-1",
    key: SealingKey | None = None,
    cash_confirmations: int = 0,
) -> RelayerService:
    def runtime(
        name: str, client: EvmClient, htlc: EvmHtlc, signers: list[EvmSigner], operator: EvmSigner
    ) -> ChainRuntime:
        return evm_runtime(
            name=name,
            client=client,
            htlc=htlc,
            timing=TIMING,
            confirmations=cash_confirmations if name == "cash" else 0,
            signers=signers,
            operator=operator,
        )

    def compliance(order: SwapOrder, at: object) -> ComplianceResult:
        if allow:
            return ComplianceResult(True, (), {"rules": "test"})
        return ComplianceResult(
            False,
            (
                Refusal(
                    code=ReasonCode.COUNTRY_RESTRICTED, detail="buyer resident in a denied country"
                ),
            ),
        )

    return RelayerService(
        store=store or SqliteStore(tmp_path / "relayer.sqlite3", clock=time.time),
        chains={
            "sec": runtime("sec", world.sec, world.sec_htlc, [world.seller], world.operator_sec),
            "cash": runtime(
                "cash", world.cash, world.cash_htlc, [world.buyer], world.operator_cash
            ),
        },
        compliance=compliance,
        sealing_key=key or SealingKey.generate(),
        budget=BUDGET,
        wall_clock=Wall(world),
        replica_id=replica_id,
        lease_seconds=30,
    )


def order(world: World, order_id: str) -> SwapOrder:
    return SwapOrder(
        order_id=order_id,
        security=LegOrder(
            chain="sec",
            asset=AssetRef(chain=world.sec.chain, locator=EvmContractLocator(address=world.token)),
            amount=100,
            sender=world.seller.address,
            receiver=world.buyer_on_sec.address,
        ),
        cash=LegOrder(
            chain="cash",
            amount=2 * ETHER,
            sender=world.buyer.address,
            receiver=world.seller_on_cash.address,
        ),
        settlement_window_s=3600,
        trade=TRADE,  # the API refuses an order without one (compliance here is a stub)
    )


def token_balance(world: World, address: str) -> int:
    ref = AssetRef(chain=world.sec.chain, locator=EvmContractLocator(address=world.token))
    return Erc20Adapter(world.sec).holding(ref, address).balance


def run(svc: RelayerService, swap_id: str, ticks: int = 8) -> None:
    for _ in range(ticks):
        svc.tick()
        if svc.store.get(swap_id).outcome is not Outcome.OPEN:
            return


def test_settles_both_legs(world: World, tmp_path: Path, snapshots: None) -> None:
    svc = service(world, tmp_path)
    cash_before = world.cash.balance(world.seller_on_cash.address)
    state = svc.submit(order(world, "happy-1"))
    assert svc.submit(order(world, "happy-1")) == svc.store.get(state.terms.swap_id)  # idempotent
    run(svc, state.terms.swap_id)
    final = svc.store.get(state.terms.swap_id)
    assert final.outcome is Outcome.COMPLETED, (final.initiator, final.participant)
    assert token_balance(world, world.buyer_on_sec.address) == 100
    assert world.cash.balance(world.seller_on_cash.address) - cash_before == 2 * ETHER
    audit = svc.audit(state.terms.swap_id)
    assert audit["decision"]["allowed"] is True
    kinds = [entry["input"]["kind"] for entry in audit["inputs"]]
    assert kinds.count("lock_observed") == 2
    assert kinds.count("claim_observed") == 2
    sealed = svc.store.sealed_secret(state.terms.swap_id)
    assert sealed is not None
    # the secret on chain is the one the relayer sealed, and it is not in the audit in clear
    secret = world.cash_htlc.revealed_secret(bytes.fromhex(state.terms.hashlock[2:]))
    assert secret is not None
    assert secret.hex() not in str(audit)


def test_refused_trade_locks_nothing(world: World, tmp_path: Path, snapshots: None) -> None:
    svc = service(world, tmp_path, allow=False)
    state = svc.submit(order(world, "refused-1"))
    run(svc, state.terms.swap_id)
    final = svc.store.get(state.terms.swap_id)
    assert final.outcome is Outcome.REFUSED
    assert final.refusals[0].code is ReasonCode.COUNTRY_RESTRICTED
    assert world.sec_htlc.find(bytes.fromhex(state.terms.hashlock[2:])) == []
    assert token_balance(world, world.seller.address) == 1_000


def test_participant_never_locks_initiator_refunded(
    world: World, tmp_path: Path, snapshots: None
) -> None:
    svc = service(world, tmp_path)
    svc.chains["cash"].signers = {}  # the relayer cannot sign for the buyer: it never locks
    state = svc.submit(order(world, "no-participant"))
    run(svc, state.terms.swap_id, ticks=3)
    mid = svc.store.get(state.terms.swap_id)
    assert mid.initiator.phase is LegPhase.LOCKED
    assert token_balance(world, world.seller.address) == 900
    assert svc.deadlines_at_risk(within_s=10**6) == 1  # the locked leg's deadline is < 1e6 s off
    assert svc.deadlines_at_risk(within_s=60) == 0
    for client in (world.sec, world.cash):
        client.increase_time(2 * 3600)
        client.mine()
    run(svc, state.terms.swap_id)
    final = svc.store.get(state.terms.swap_id)
    assert final.outcome is Outcome.REFUNDED
    assert token_balance(world, world.seller.address) == 1_000


def test_a_waiting_swap_writes_no_chain_time_input_per_tick(
    world: World, tmp_path: Path, snapshots: None
) -> None:
    """Invariant: while nothing in a swap turns on the chains' new time (it waits for the
    buyer's lock), ticks over new blocks add no input to its log (no write, no fsync); once
    its deadline passes, the time is written and the refund follows."""
    svc = service(world, tmp_path)
    svc.chains["cash"].signers = {}  # the buyer's lock never comes
    swap_id = svc.submit(order(world, "idle-clock")).terms.swap_id
    run(svc, swap_id, ticks=3)
    assert svc.store.get(swap_id).initiator.phase is LegPhase.LOCKED
    before = svc.store.input_count(swap_id)
    for _ in range(3):
        for client in (world.sec, world.cash):
            client.increase_time(5)
        svc.tick()
    assert svc.store.input_count(swap_id) == before
    assert svc.deadlines_at_risk(within_s=10**6) == 1  # the held-back time is still known
    for client in (world.sec, world.cash):
        client.increase_time(2 * 3600)
        client.mine()
    run(svc, swap_id)
    assert svc.store.get(swap_id).outcome is Outcome.REFUNDED
    kinds = [entry["input"]["kind"] for entry in svc.store.input_log(swap_id)]
    assert "chain_advanced" in kinds[before:]


def test_restart_resumes_from_the_store(world: World, tmp_path: Path, snapshots: None) -> None:
    """A new service on the same store file (a restarted daemon) finishes the swap."""
    svc = service(world, tmp_path)
    state = svc.submit(order(world, "restart-1"))
    svc.tick()  # compliance + initiator lock sent
    key = svc._key
    svc.store.close()
    again = service(world, tmp_path)
    again._key = key  # the same sealing key, as a restarted daemon would load it
    run(again, state.terms.swap_id)
    assert again.store.get(state.terms.swap_id).outcome is Outcome.COMPLETED
    assert token_balance(world, world.buyer_on_sec.address) == 100


TOKEN = "test-token-0123456789"


def api_client(svc: RelayerService) -> TestClient:
    return TestClient(create_app(svc, token=TOKEN), headers={"Authorization": f"Bearer {TOKEN}"})


def test_api_submit_follow_audit(world: World, tmp_path: Path, snapshots: None) -> None:
    svc = service(world, tmp_path)
    api = api_client(svc)
    assert TestClient(create_app(svc, token=TOKEN)).get("/healthz").json() == {"status": "ok"}
    assert TestClient(create_app(svc, token=TOKEN)).get("/swaps").status_code == 401
    body = order(world, "api-1").model_dump(mode="json")
    created = api.post("/swaps", json=body)
    assert created.status_code == 201, created.text
    swap_id = created.json()["swap_id"]
    assert api.post("/swaps", json=body).json()["swap_id"] == swap_id
    assert 'stbridge_open_swaps{stage="compliance"} 1.0' in api.get("/metrics").text
    assert "secret" not in created.text.replace("secret_public", "")
    run(svc, swap_id)
    view = api.get(f"/swaps/{swap_id}").json()
    assert view["outcome"] == "completed"
    assert api.get("/swaps", params={"outcome": "completed"}).json()["swaps"] == [swap_id]
    audit = api.get(f"/swaps/{swap_id}/audit").json()
    assert audit["decision"]["allowed"] is True
    assert api.post(f"/swaps/{swap_id}/cancel").status_code == 409
    metrics = api.get("/metrics").text
    assert 'stbridge_swaps{outcome="completed"} 1.0' in metrics
    assert "stbridge_deadlines_at_risk 0.0" in metrics
    assert 'stbridge_open_swaps{stage="compliance"} 0.0' in metrics
    # every stage the swap went through was timed once, on leaving it
    for stage in ("compliance", "initiator_lock", "participant_lock", "recheck", "settle"):
        assert f'stbridge_swap_stage_seconds_count{{stage="{stage}"}} 1.0' in metrics, stage
    height = svc.watchers[f"evm:{world.cash.chain_id}"].last
    assert height is not None
    assert f'stbridge_chain_scanned_height{{chain="cash"}} {float(height.head)}' in metrics
    assert api.get("/readyz").status_code == 200


def test_api_refuses_bad_input_naming_the_field(
    world: World, tmp_path: Path, snapshots: None
) -> None:
    api = api_client(service(world, tmp_path))
    body = order(world, "api-bad").model_dump(mode="json")
    body["cash"]["amount"] = -5
    bad = api.post("/swaps", json=body)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["loc"] == ["body", "cash", "amount"]
    body = order(world, "api-bad-chain").model_dump(mode="json")
    body["security"]["chain"] = "nowhere"
    bad = api.post("/swaps", json=body)
    assert bad.status_code == 422
    assert bad.json()["field"] == "security.chain"
    body = order(world, "api-tight").model_dump(mode="json")
    body["settlement_window_s"] = 5
    tight = api.post("/swaps", json=body)
    assert tight.status_code == 422
    assert "timeouts too tight" in tight.json()["rule"]
    assert api.get("/swaps/0x" + "00" * 32).status_code == 404


def test_api_cancel_before_locking(world: World, tmp_path: Path, snapshots: None) -> None:
    svc = service(world, tmp_path)
    api = api_client(svc)
    swap_id = api.post("/swaps", json=order(world, "api-cancel").model_dump(mode="json")).json()[
        "swap_id"
    ]
    cancelled = api.post(f"/swaps/{swap_id}/cancel")
    assert cancelled.status_code == 200
    assert cancelled.json()["outcome"] == "cancelled"
    run(svc, swap_id)
    assert world.sec_htlc.find(bytes.fromhex(svc.store.get(swap_id).terms.hashlock[2:])) == []


class LeaseClock:
    """The store's clock for leases, moved by the test."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def test_replicas_on_postgres_take_over_a_dead_replicas_swap(
    world: World, tmp_path: Path, snapshots: None, pg_dsn: str
) -> None:
    """Two relayers share one PostgreSQL store. Replica A takes the swap and locks the
    security leg, then dies. While its lease runs, B does not touch the swap; once it
    expires, B takes it over and settles it. Only one lock exists per leg."""
    from tests.integration.test_store import schema_dsn

    dsn = schema_dsn(pg_dsn)
    clock = LeaseClock()
    key = SealingKey.generate()
    a = service(world, tmp_path, store=PostgresStore(dsn, clock=clock), replica_id="a", key=key)
    b = service(world, tmp_path, store=PostgresStore(dsn, clock=clock), replica_id="b", key=key)
    try:
        swap_id = a.submit(order(world, "replicas-1")).terms.swap_id
        assert a.tick() == [swap_id]  # A leases it, checks compliance, sends the first lock
        assert a.store.get(swap_id).initiator.phase is not LegPhase.NONE
        assert b.tick() == []  # A's lease is live: B keeps off
        assert b.store.lease_owner(swap_id) == "a"
        clock.now += 31  # A is gone; its lease expires
        run(b, swap_id)
        final = b.store.get(swap_id)
        assert final.outcome is Outcome.COMPLETED
        assert b.store.lease_owner(swap_id) == "b"
        hashlock = bytes.fromhex(final.terms.hashlock[2:])
        assert len(world.sec_htlc.find(hashlock)) == 1
        assert len(world.cash_htlc.find(hashlock)) == 1
    finally:
        a.store.close()
        b.store.close()


def test_a_lock_dropped_by_a_reorg_is_not_acted_on_and_is_sent_again(
    world: World, tmp_path: Path, snapshots: None
) -> None:
    """The cash chain (anvil) needs 2 confirmations. The buyer's lock lands and the chain
    watcher records it, then a reorg (anvil snapshot/revert) drops it before it is
    confirmed: the watcher detects the replaced block and rolls the lock back, the engine
    never observed it, the relayer sees it gone below the confirmation depth and sends it
    again, and the swap completes with exactly one lock per leg."""
    svc = service(world, tmp_path, cash_confirmations=2)
    swap_id = svc.submit(order(world, "reorg-1")).terms.swap_id
    svc.tick()  # compliance; the security lock on py-evm
    before_lock = world.cash.snapshot()
    svc.tick()  # the security lock is observed; the cash lock is sent on anvil
    terms = svc.store.get(swap_id).terms
    hashlock = bytes.fromhex(terms.hashlock[2:])
    cash_key = f"evm:{world.cash.chain_id}"
    assert len(world.cash_htlc.find(hashlock)) == 1
    svc.poll_chains()  # the watcher records the lock, not yet confirmed
    assert len(svc.store.locks_by_hashlock(cash_key, terms.hashlock)) == 1
    assert svc.store.get(swap_id).participant.phase is LegPhase.LOCK_SENT
    world.cash.revert(before_lock)  # the reorg: the cash lock's block is gone
    assert world.cash_htlc.find(hashlock) == []
    world.cash.mine(6)
    svc.poll_chains()  # the watcher sees its last block replaced and rolls the lock back
    assert svc.watchers[cash_key].reorgs == 1
    assert svc.watchers[cash_key].deep_reorgs == 0  # nothing confirmed was lost
    assert svc.store.locks_by_hashlock(cash_key, terms.hashlock) == []
    for _ in range(12):
        svc.tick()
        world.cash.mine(1)  # blocks keep coming, so locks and claims get confirmed
        if svc.store.get(swap_id).outcome is not Outcome.OPEN:
            break
    final = svc.store.get(swap_id)
    assert final.outcome is Outcome.COMPLETED, (final.initiator, final.participant)
    assert len(world.sec_htlc.find(hashlock)) == 1
    assert len(world.cash_htlc.find(hashlock)) == 1
    observed = [
        e["input"]["role"]
        for e in svc.store.input_log(swap_id)
        if e["input"]["kind"] == "lock_observed"
    ]
    assert observed == ["initiator", "participant"]  # the dropped lock was never observed


def test_a_decoy_lock_in_another_asset_is_not_taken_for_the_leg(
    world: World, tmp_path: Path, snapshots: None
) -> None:
    """Someone who saw the hashlock locks a worthless token on the cash chain with the cash
    leg's receiver, amount and deadline before the buyer locks. It is not the agreed asset
    (the native coin): the relayer neither skips the buyer's real lock because of it nor
    observes it as the cash leg; the swap settles with the real coin."""
    svc = service(world, tmp_path)
    terms = svc.submit(order(world, "decoy-1")).terms
    attacker = world.seller_on_cash  # any funded account on the cash chain
    decoy = deploy_cash_token(
        world.cash, attacker, name="Decoy", symbol="DCY", decimals=18, currency="USD"
    )
    decoy_ref = AssetRef(chain=world.cash.chain, locator=EvmContractLocator(address=decoy))
    from bridge.model import Capability
    from relayer.evm import approve_for_htlc

    Erc20Adapter(world.cash).agent_operation(
        decoy_ref, Capability.MINT, attacker, to=attacker.address, amount=2 * ETHER
    )
    leg = terms.participant_leg.model_copy(update={"asset": decoy_ref, "sender": attacker.address})
    approve_for_htlc(world.cash, world.cash_htlc.address, leg, attacker)
    decoy_id, _ = world.cash_htlc.lock(
        asset=decoy_ref,
        receiver=leg.receiver,
        amount=leg.amount,
        hashlock=bytes.fromhex(terms.hashlock[2:]),
        deadline=terms.participant_deadline,
        signer=attacker,
    )
    received_before = world.cash.balance(leg.receiver)
    run(svc, terms.swap_id)
    final = svc.store.get(terms.swap_id)
    assert final.outcome is Outcome.COMPLETED
    assert final.participant.lock_id not in (None, decoy_id)
    assert world.cash.balance(leg.receiver) - received_before == 2 * ETHER  # the real coin
    assert world.cash_htlc.get(decoy_id).state == "open"  # the decoy was never claimed


def test_a_deep_reorg_that_removes_the_initiator_lock_holds_the_secret(
    world: World, tmp_path: Path, snapshots: None
) -> None:
    """The security lock (py-evm, no confirmations required) is observed, then a reorg
    deeper than that removes it while the buyer's cash lock waits for its 2 confirmations.
    Before revealing the secret the relayer reads the security lock live, finds it gone and
    holds the secret; at the cash deadline the buyer is refunded. Nobody loses an asset."""
    svc = service(world, tmp_path, cash_confirmations=2)
    for rt in svc.chains.values():
        rt.dry_run = None  # the escrow's empty balance would refuse the re-check first
    swap_id = svc.submit(order(world, "deep-reorg-1")).terms.swap_id
    before_lock = world.sec.snapshot()
    svc.tick()  # compliance; the security lock on py-evm
    svc.tick()  # the security lock is observed; the cash lock is sent on anvil
    state = svc.store.get(swap_id)
    assert state.initiator.phase is LegPhase.LOCKED
    assert state.participant.phase is LegPhase.LOCK_SENT
    world.sec.revert(before_lock)  # the reorg: the observed security lock is gone
    world.sec.mine(3)
    hashlock = bytes.fromhex(state.terms.hashlock[2:])
    assert world.sec_htlc.find(hashlock) == []
    for _ in range(5):
        world.cash.mine(1)
        svc.tick()
    held = svc.store.get(swap_id)
    assert held.participant.phase is LegPhase.CLAIM_SENT  # due, but held
    assert svc.secrets_held >= 1
    assert svc.metrics.registry.get_sample_value("stbridge_secrets_held_total") == float(
        svc.secrets_held
    )
    assert not held.secret_public
    assert world.cash_htlc.revealed_secret(hashlock) is None
    assert svc.watchers[f"evm:{world.sec.chain_id}"].deep_reorgs == 1
    assert token_balance(world, world.seller.address) == 1_000  # the reorg undid the lock
    (cash_lock,) = world.cash_htlc.find(hashlock)
    world.cash.increase_time(2 * 3600)
    for _ in range(6):
        world.cash.mine(1)
        svc.tick()
        if svc.store.get(swap_id).participant.phase is LegPhase.REFUNDED:
            break
    assert svc.store.get(swap_id).participant.phase is LegPhase.REFUNDED
    assert world.cash_htlc.get(cash_lock.lock_id).state == "refunded"
    assert world.cash_htlc.revealed_secret(hashlock) is None


def kept_transactions(svc: RelayerService, swap_id: str, key: SealingKey) -> list[str]:
    """Hashes of the signed transactions the swap's journal keeps (unsealed)."""
    import sqlite3

    from web3 import Web3

    assert isinstance(svc.store, SqliteStore)
    with sqlite3.connect(svc.store.path) as conn:
        rows = conn.execute(
            "SELECT body FROM documents WHERE swap_id = ? AND name LIKE 'tx:%'", (swap_id,)
        ).fetchall()
    return [Web3.keccak(key.unseal(r[0], swap_id=swap_id)).to_0x_hex() for r in rows]


def test_a_retried_lock_resends_the_same_signed_transaction(
    world: World, tmp_path: Path, snapshots: None
) -> None:
    """anvil stops mining while the buyer's cash lock is pending, then evicts it from its
    pool and the base fee moves. A restarted relayer (new service, same store) finds no lock
    on chain and sends the very bytes it signed and sealed before, not a new transaction
    (which would now carry another fee): the transaction that lands is the first one signed,
    and the buyer has sent exactly one."""
    svc = service(world, tmp_path)
    key = svc._key
    swap_id = svc.submit(order(world, "journal-1")).terms.swap_id
    svc.tick()  # compliance; the security lock on py-evm
    nonce_before = world.cash.w3.eth.get_transaction_count(world.buyer.address)
    rpc = world.cash.w3.provider.make_request
    timeout = world.cash.receipt_timeout
    world.cash.receipt_timeout = 0.5
    rpc("evm_setAutomine", [False])  # type: ignore[arg-type]
    try:
        svc.tick()  # the cash lock is signed, kept (sealed) and sent; no receipt comes
        (effect,) = svc.store.pending_effects(swap_id)
        assert effect.effect.kind == "submit_lock"
        cash_tx = [h for h in kept_transactions(svc, swap_id, key) if not world.sec._is_known(h)]
        assert len(cash_tx) == 1
        rpc("anvil_dropAllTransactions", [])  # type: ignore[arg-type]
        base = int(world.cash.w3.eth.get_block("latest")["baseFeePerGas"])
        rpc("anvil_setNextBlockBaseFeePerGas", [hex(base + base // 4)])  # type: ignore[arg-type]
        rpc("evm_mine", [])  # type: ignore[arg-type]
        svc.store.close()
        again = service(world, tmp_path, key=key)  # a restarted relayer
        again.tick()  # no lock on chain: the kept bytes are sent again
    finally:
        rpc("evm_setAutomine", [True])  # type: ignore[arg-type]
        world.cash.receipt_timeout = timeout
    world.cash.mine(1)
    run(again, swap_id)
    final = again.store.get(swap_id)
    assert final.outcome is Outcome.COMPLETED, (final.initiator, final.participant)
    assert world.cash.receipt(cash_tx[0])["status"] == 1  # the first signed bytes landed
    assert world.cash.w3.eth.get_transaction_count(world.buyer.address) - nonce_before == 1
    hashlock = bytes.fromhex(final.terms.hashlock[2:])
    assert len(world.cash_htlc.find(hashlock)) == 1


def test_a_front_run_look_alike_lock_from_another_sender_is_not_the_leg(
    world: World, tmp_path: Path, snapshots: None
) -> None:
    """Third party (specs/protocol/threats.md): someone who saw the hashlock locks the cash
    leg's exact asset, receiver, amount and deadline from its own account before the
    buyer does. Its lock id (which hashes the sender) is not the leg's: the relayer still
    locks the buyer's coin, settles against the buyer's lock, counts the decoy, and the
    decoy stays untouched for its owner to refund."""
    svc = service(world, tmp_path)
    terms = svc.submit(order(world, "look-alike-1")).terms
    attacker = world.seller_on_cash  # any funded account on the cash chain
    leg = terms.participant_leg
    decoy_id, _ = world.cash_htlc.lock(
        asset=None,
        receiver=leg.receiver,
        amount=leg.amount,
        hashlock=bytes.fromhex(terms.hashlock[2:]),
        deadline=terms.participant_deadline,
        signer=attacker,
    )
    buyer_before = world.cash.balance(world.buyer.address)
    run(svc, terms.swap_id)
    final = svc.store.get(terms.swap_id)
    assert final.outcome is Outcome.COMPLETED
    assert final.participant.lock_id == svc.expected_lock_id(final, Role.PARTICIPANT)
    assert final.participant.lock_id != decoy_id
    assert buyer_before - world.cash.balance(world.buyer.address) >= 2 * ETHER  # buyer paid
    assert world.cash_htlc.get(decoy_id).state == "open"  # never claimed nor refunded by us
    assert (
        svc.metrics.registry.get_sample_value("stbridge_decoy_locks_total", {"chain": "cash"})
        == 1.0
    )


def test_the_refund_goes_to_the_legs_own_lock_not_a_look_alike(
    world: World, tmp_path: Path, snapshots: None
) -> None:
    """Third party: a look-alike of the buyer's lock (same terms, other sender) sits on the
    cash chain before the buyer's lock. The re-check before the reveal refuses, both legs
    run to their deadlines: the relayer refunds the buyer's own lock (the buyer gets the
    coin back) and reports the swap refunded only when it really is; the look-alike is
    left alone."""
    svc = service(world, tmp_path)
    terms = svc.submit(order(world, "look-alike-refund")).terms
    leg = terms.participant_leg
    decoy_id, _ = world.cash_htlc.lock(
        asset=None,
        receiver=leg.receiver,
        amount=leg.amount,
        hashlock=bytes.fromhex(terms.hashlock[2:]),
        deadline=terms.participant_deadline,
        signer=world.seller_on_cash,
    )
    allowed = [True]
    svc.compliance = lambda order, at: ComplianceResult(
        allowed[0],
        ()
        if allowed[0]
        else (Refusal(code=ReasonCode.RECIPIENT_FROZEN, detail="buyer frozen after locking"),),
    )
    for _ in range(6):
        svc.poll_chains()
        if svc.observe(terms.swap_id).participant.phase is LegPhase.LOCKED:
            break
        svc.run_effects(terms.swap_id)
    allowed[0] = False  # the re-check before the reveal refuses
    run(svc, terms.swap_id, ticks=3)
    assert svc.store.get(terms.swap_id).recheck == "failed"
    for client in (world.sec, world.cash):
        client.increase_time(2 * 3600)
        client.mine()
    run(svc, terms.swap_id)
    final = svc.store.get(terms.swap_id)
    assert final.outcome is Outcome.REFUNDED
    own = svc.expected_lock_id(final, Role.PARTICIPANT)
    assert world.cash_htlc.get(own).state == "refunded"
    assert world.cash_htlc.get(decoy_id).state == "open"
    assert token_balance(world, world.seller.address) == 1_000


def _secret_on_chain(client: EvmClient, secret: bytes, from_block: int) -> list[str]:
    """Transactions from ``from_block`` on whose call data carries ``secret`` (mined ones,
    reverted or not: a reverted claim publishes its secret as much as a successful one)."""
    found = []
    for number in range(from_block, client.head() + 1):
        block = client.w3.eth.get_block(number, full_transactions=True)
        for tx in block["transactions"]:
            if secret.hex() in bytes(tx["input"]).hex():  # type: ignore[index]
                found.append(bytes(tx["hash"]).hex())  # type: ignore[index]
    return found


def test_a_reveal_that_could_be_mined_after_the_deadline_is_never_sent(
    world: World, tmp_path: Path, snapshots: None
) -> None:
    """Slow chain / slow relayer: both locks are confirmed, but by the time the relayer gets
    to reveal, the cash chain's clock is one second before the cash leg's deadline. A
    claim sent now would be mined after the deadline, revert, and leave the secret public
    in its call data (anyone could then claim the seller's security while the buyer's cash
    goes back to the buyer). The relayer holds the secret: it never appears on either
    chain, and both legs go back to their senders."""
    svc = service(world, tmp_path)
    key = svc._key
    swap_id = svc.submit(order(world, "late-reveal")).terms.swap_id
    start = world.cash.head()
    for _ in range(8):
        svc.poll_chains()
        svc.observe(swap_id)
        if svc.store.get(swap_id).participant.phase is LegPhase.LOCKED:
            break
        svc.run_effects(swap_id)
    state = svc.store.get(swap_id)
    assert state.participant.phase is LegPhase.LOCKED
    assert state.terms.reveal_by < state.terms.participant_deadline - 1
    rpc = world.cash.w3.provider.make_request
    rpc("evm_setNextBlockTimestamp", [state.terms.participant_deadline - 1])  # type: ignore[arg-type]
    world.cash.mine()
    svc.run_effects(swap_id)  # the re-check passes; the reveal is due, and too late
    svc.tick()
    held = svc.store.get(swap_id)
    assert not held.secret_public
    sealed = svc.store.sealed_secret(swap_id)
    assert sealed is not None
    secret = key.unseal(sealed, swap_id=swap_id)
    assert _secret_on_chain(world.cash, secret, start) == []
    for client in (world.sec, world.cash):
        client.increase_time(2 * 3600)
        client.mine()
    run(svc, swap_id)
    final = svc.store.get(swap_id)
    assert final.outcome is Outcome.REFUNDED, (final.initiator, final.participant)
    assert token_balance(world, world.seller.address) == 1_000
    assert _secret_on_chain(world.cash, secret, start) == []


def test_an_order_id_resubmitted_with_other_terms_is_a_409_naming_the_difference(
    world: World, tmp_path: Path, snapshots: None
) -> None:
    """Operator / API client: the same order_id with another amount is not silently the old
    swap (the client would believe the new terms are being settled): 409, naming the field.
    The identical order is still the same swap (idempotent)."""
    svc = service(world, tmp_path)
    api = api_client(svc)
    body = order(world, "conflict-1").model_dump(mode="json")
    first = api.post("/swaps", json=body)
    assert first.status_code == 201
    assert api.post("/swaps", json=body).json()["swap_id"] == first.json()["swap_id"]
    body["cash"]["amount"] = 3 * ETHER
    again = api.post("/swaps", json=body)
    assert again.status_code == 409, again.text
    assert again.json()["fields"] == ["cash.amount"]
    assert "cash.amount" in again.json()["detail"]


def test_deadlines_are_planned_on_the_chains_clock_not_the_hosts(
    world: World, tmp_path: Path, snapshots: None
) -> None:
    """Skewed clocks: both chains' clocks run 30 days ahead of the host's (a chain whose
    timestamps drifted, or a test network moved forward). Deadlines are chain timestamps,
    so they are planned from the chain's clock: planned from the host's they would already
    have passed on chain, and no lock could be made."""
    for client in (world.sec, world.cash):
        client.increase_time(30 * 24 * 3600)
        client.mine()
    svc = service(world, tmp_path)
    svc.wall_clock = time.time  # the host's clock, 30 days behind the chains
    state = svc.submit(order(world, "skewed-clock"))
    assert state.terms.participant_deadline > _now(world.cash) + 600
    assert state.terms.initiator_deadline > _now(world.sec) + 600
    run(svc, state.terms.swap_id)
    final = svc.store.get(state.terms.swap_id)
    assert final.outcome is Outcome.COMPLETED, (final.initiator, final.participant)


def test_an_address_of_the_wrong_chain_family_is_refused_at_submit(
    world: World, tmp_path: Path, snapshots: None
) -> None:
    """API client: an Algorand address as the receiver of an EVM leg is refused when the
    order comes in (422 naming the field), not when the relayer tries to lock."""
    api = api_client(service(world, tmp_path))
    body = order(world, "wrong-family").model_dump(mode="json")
    body["cash"]["receiver"] = "VCMJKWOY5P5P7SKMZFFOCEROPJCZOTIJMNIYNUCKH7LRO45JMJP6UYBIJA"
    bad = api.post("/swaps", json=body)
    assert bad.status_code == 422, bad.text
    assert bad.json()["field"] == "cash.receiver"
