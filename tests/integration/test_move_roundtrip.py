"""Moving an ibet share to Algorand and back with the relayer's move executor (real chains).

The home chain is py-evm with our ibet-compatible contracts (``tests/fixtures/ibet.py``),
the mirror is a regulated ASA on the embedded Algorand ledger, deployed from the
translator's plan for the share. Every test checks the conservation invariant: the share's
supply never changes, the mirror's supply equals what is locked to the bridge (with no move
between its legs), and the home register of locked units follows the mirror's holders.

A crash of the relayer is an exception raised at a journalled point (after the signed
transaction is written, after it was sent and before the journal says so): nothing after
it runs, the store keeps what was committed. A new executor on a new connection to the same
store then finishes the move; the chains show one mint and one release, never two.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from adapters.algorand.algod import EmbeddedAlgodClient
from adapters.algorand.chain import AlgodChain
from adapters.algorand.ledger import EmbeddedLedger
from adapters.algorand.signer import AlgorandSigner
from adapters.translate import deploy_algorand_plan
from bridge.model import Capability, Standard, TransferIntent
from bridge.translate import translate
from bridge.translate.move import MoveRefused, MoveRequest
from relayer.move import AsaMirror, IbetHome, MoveExecutor, MovePair
from relayer.store import PostgresStore, SqliteStore, Store
from tests.fixtures.algorand import AlgoTestAccount
from tests.fixtures.algorand_optin import opt_in_all
from tests.fixtures.ibet import SHARE_SUPPLY, IbetWorld, ibet_world

KYC_UNTIL = 4_102_444_800  # 2100-01-01


class Crash(BaseException):
    """The relayer process dies here (nothing after the raise runs)."""


@dataclass
class MoveWorld:
    ibet: IbetWorld
    ledger: EmbeddedLedger
    chain: AlgodChain
    issuer: AlgorandSigner
    mirror: AsaMirror
    home: IbetHome
    accounts: dict[str, AlgorandSigner]
    db: Path
    first_round: int = 1
    dsn: str | None = None
    opened: list[Store] = field(default_factory=list)

    def executor(self, crash_at: str | None = None) -> MoveExecutor:
        """A fresh executor on a new connection to the store (a restarted relayer)."""

        def crash(point: str) -> None:
            if point == crash_at:
                raise Crash(point)

        store: Store = SqliteStore(self.db) if self.dsn is None else PostgresStore(self.dsn)
        self.opened.append(store)
        return MoveExecutor(store, MovePair(self.home, self.mirror), crash=crash)

    def addr(self, name: str) -> str:
        return self.accounts[name].address if name in self.accounts else self.ibet.addr(name)

    def free(self, name: str) -> int:
        return self.home.free(self.addr(name))

    def locked(self, name: str) -> int:
        return self.home.locked(self.addr(name))

    def mirror_balance(self, name: str) -> int:
        return self.mirror.balance(self.addr(name))

    def mirror_transfer(self, sender: str, recipient: str, amount: int) -> None:
        intent = TransferIntent(
            asset=self.mirror.ref,
            sender=self.addr(sender),
            recipient=self.addr(recipient),
            amount=amount,
        )
        self.mirror.adapter.transfer(intent, self.accounts[sender])

    def notes(self, text: str) -> int:
        """How many transactions on the mirror carry ``text`` as their note."""
        found = 0
        for round_ in range(self.first_round, self.chain.head() + 1):
            for entry in self.chain.block_msgpack(round_).get("txns", []) or []:
                if entry.get("txn", {}).get("note") == text.encode():
                    found += 1
        return found

    def conserved(self) -> None:
        """Supply conserved on the home chain; the mirror backed one-to-one by locks."""
        share = self.ibet.adapter("share").read_asset(self.ibet.ref("share"))
        assert share.total_supply == SHARE_SUPPLY
        names = ("issuer", "alice", "bob", "carol", "mallory")
        locked = sum(self.locked(n) for n in names)
        assert self.mirror.supply() == locked
        assert sum(self.free(n) for n in names) + locked == SHARE_SUPPLY


@pytest.fixture(scope="module")
def built(
    request: pytest.FixtureRequest,
    embedded_ledger: EmbeddedLedger,
    embedded_accounts: tuple[AlgoTestAccount, ...],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[MoveWorld]:
    """The ibet share, its regulated-ASA mirror deployed from the translator's plan, three
    mirror accounts whitelisted and opted in; built once for the module (each Algorand
    transaction costs the embedded evaluator most of a second)."""
    ledger = embedded_ledger
    before = ledger.snapshot()
    for ibet in ibet_world("pyevm", request):
        chain = AlgodChain(EmbeddedAlgodClient(ledger, wait_timeout=0.0))
        issuer = AlgorandSigner.generate()
        ledger.fund(issuer.address, 20_000_000)
        reading = ibet.adapter("share").read_asset(ibet.ref("share"))
        plan = translate(reading, Standard.REGULATED_ASA, allow_loss="all").plan
        meta = tmp_path_factory.mktemp("arc3")
        deployment = deploy_algorand_plan(chain, issuer, plan, metadata_dir=meta)
        mirror = AsaMirror(chain, deployment.adapter, deployment.ref, issuer)
        accounts = {
            f"{n}@algo": AlgorandSigner(a.private_key)
            for n, a in zip(("alice", "bob", "carol"), embedded_accounts, strict=False)
        }
        for signer in accounts.values():
            mirror.adapter.agent_operation(
                mirror.ref,
                Capability.WHITELIST,
                issuer,
                holder=signer.address,
                country="JP",
                kyc_expiry=KYC_UNTIL,
            )
        opt_in_all(chain, mirror.adapter.info(mirror.ref).asset_id, list(accounts.values()))
        home = IbetHome(
            ibet.client,
            ibet.adapter("share"),
            ibet.share,
            ibet.signers["issuer"],
            holders={ibet.addr("alice"): ibet.signers["alice"]},
        )
        try:
            yield MoveWorld(ibet, ledger, chain, issuer, mirror, home, accounts, meta / "m.db")
        finally:
            ledger.restore(before)


@pytest.fixture
def world(built: MoveWorld, tmp_path: Path) -> Iterator[MoveWorld]:
    """The module's world, both chains put back after the test, a fresh store."""
    evm, algo = built.ibet.client.snapshot(), built.ledger.snapshot()
    built.db = tmp_path / "moves.db"
    built.home.finality = None
    built.first_round = built.chain.head()
    built.dsn = None
    try:
        yield built
    finally:
        while built.opened:
            built.opened.pop().close()
        built.ibet.client.revert(evm)
        built.ledger.restore(algo)


def request(move_id: str, direction: str, holder: str, receiver: str, amount: int) -> MoveRequest:
    return MoveRequest(
        move_id=move_id,
        direction=direction,  # type: ignore[arg-type]
        holder=holder,
        receiver=receiver,
        amount=amount,
    )


@pytest.mark.thorough
def test_round_trip_with_mirror_transfers(world: MoveWorld) -> None:
    """ibet -> Algorand -> ibet with transfers on the mirror between: balances and supply
    conserved at every step, and the ibet register of locked units follows the mirror's
    holders (after each write-back)."""
    w = world
    ex = w.executor()
    alice, bob, carol = w.addr("alice"), w.addr("bob"), w.addr("carol")
    a1, b1, c1 = w.addr("alice@algo"), w.addr("bob@algo"), w.addr("carol@algo")
    ex.plan(request("m1", "out", alice, a1, 300))  # alice signs her own lock
    ex.plan(request("m2", "out", bob, b1, 200))  # the issuer's forceLock for bob
    assert [r.stage for r in ex.run_all()] == ["done", "done"]
    assert (w.mirror_balance("alice@algo"), w.mirror_balance("bob@algo")) == (300, 200)
    assert (w.locked("alice"), w.locked("bob"), w.free("alice"), w.free("bob")) == (
        300,
        200,
        700,
        300,
    )
    w.conserved()

    w.mirror_transfer("alice@algo", "bob@algo", 100)
    w.mirror_transfer("bob@algo", "carol@algo", 20)
    assert ex.summary()["unlinked_mirror_holders"] == [c1]  # carol@algo stands for no one yet
    ex.write_back()
    # bob's share is written back; the 20 on the unlinked account stay locked (under alice)
    # until that account is linked to someone on the register
    assert (w.locked("alice"), w.locked("bob")) == (220, 280)
    assert not ex.summary()["register_follows_mirror"]
    ex.link(c1, carol)
    ex.write_back()
    assert (w.locked("alice"), w.locked("bob"), w.locked("carol")) == (200, 280, 20)
    assert ex.summary()["register_follows_mirror"]
    w.conserved()

    ex.plan(request("m3", "back", b1, bob, 250))
    ex.plan(request("m4", "back", a1, carol, 200))  # alice's mirror units home to carol
    assert [r.stage for r in ex.run_all()] == ["done", "done"]
    assert (w.mirror_balance("alice@algo"), w.mirror_balance("bob@algo")) == (0, 30)
    assert (w.locked("alice"), w.locked("bob"), w.locked("carol")) == (0, 30, 20)
    assert (w.free("alice"), w.free("bob"), w.free("carol")) == (700, 550, 200)
    assert ex.summary()["register_follows_mirror"]
    w.conserved()


def test_refusals_come_before_anything_is_locked(world: MoveWorld) -> None:
    """An ineligible receiver (not whitelisted on the mirror), more than the free units and
    a zero amount are refused, journalled as refused, and nothing is sent."""
    w = world
    ex = w.executor()
    alice = w.addr("alice")
    stranger = AlgorandSigner.generate().address
    with pytest.raises(MoveRefused, match="whitelist"):
        ex.plan(request("r1", "out", alice, stranger, 10))
    with pytest.raises(MoveRefused, match="movable"):
        ex.plan(request("r2", "out", alice, w.addr("alice@algo"), 1_001))
    with pytest.raises(MoveRefused, match="positive"):
        ex.plan(request("r3", "out", alice, w.addr("alice@algo"), 0))
    ex.plan(request("r4", "out", alice, w.addr("alice@algo"), 1))  # links alice@algo to alice
    with pytest.raises(MoveRefused, match="stands for"):  # ... so not to bob as well
        ex.plan(request("r5", "out", w.addr("bob"), w.addr("alice@algo"), 1))
    ex.journal.set_stage("r4", "failed", "test: only links")
    assert [m.stage for m in ex.moves()] == ["refused"] * 3 + ["failed", "refused"]
    assert ex.run_all() == []
    assert (w.locked("alice"), w.mirror.supply()) == (0, 0)


@pytest.mark.thorough
def test_mint_waits_for_home_finality(world: MoveWorld) -> None:
    """With a finality depth of 3 blocks the mint is not sent until the lock is 3 deep."""
    w = world
    w.home.finality = 3
    ex = w.executor()
    ex.plan(request("f1", "out", w.addr("alice"), w.addr("alice@algo"), 40))
    assert ex.run("f1").stage == "source_seen"
    w.ibet.client.mine(2)
    assert ex.run("f1").stage == "source_seen"
    assert w.mirror.supply() == 0
    w.ibet.client.mine(1)
    assert ex.run("f1").stage == "done"
    assert w.mirror_balance("alice@algo") == 40
    w.conserved()


def test_a_lock_reorged_out_before_finality_is_not_minted_on(world: MoveWorld) -> None:
    """A reorg takes the lock out of the home chain before it is final (the chain is put
    back to a snapshot taken before the lock): nothing is minted; the relayer re-sends the
    same signed lock, and mints once it is final."""
    w = world
    w.home.finality = 2
    ex = w.executor()
    ex.plan(request("r1", "out", w.addr("alice"), w.addr("alice@algo"), 60))
    fork = w.ibet.client.snapshot()
    assert ex.run("r1").stage == "source_seen"
    (lock,) = ex.journal.steps("r1", "lock")
    assert w.locked("alice") == 60
    w.ibet.client.revert(fork)  # the block with the lock is gone
    assert w.locked("alice") == 0
    w.ibet.client.mine(3)
    assert ex.run("r1").stage == "source_seen"  # the same bytes again, in a new block
    assert [s.tx_id for s in ex.journal.steps("r1", "lock")] == [lock.tx_id]
    assert w.mirror.supply() == 0
    w.ibet.client.mine(2)
    assert ex.run("r1").stage == "done"
    assert (w.locked("alice"), w.mirror_balance("alice@algo")) == (60, 60)
    w.conserved()


THOROUGH = pytest.mark.thorough
OUT_POINTS = [
    pytest.param("lock:journaled", marks=THOROUGH),
    pytest.param("lock:sent", marks=THOROUGH),
    pytest.param("mint:journaled", marks=THOROUGH),
    "mint:sent",  # sent, not recorded: the restart must find the mint on chain
]
BACK_POINTS = [
    pytest.param("burn:journaled", marks=THOROUGH),
    pytest.param("burn:sent", marks=THOROUGH),
    pytest.param("release:journaled", marks=THOROUGH),
    "release:sent",
]


@pytest.mark.parametrize("point", OUT_POINTS)
def test_crash_between_lock_and_mint_resumes_without_double_mint(
    world: MoveWorld, point: str
) -> None:
    """The relayer dies at ``point`` of a move out; a restarted relayer finishes it with
    exactly one lock and one mint on chain."""
    w = world
    ex = w.executor()
    ex.plan(request("m1", "out", w.addr("alice"), w.addr("alice@algo"), 300))
    with pytest.raises(Crash):
        w.executor(crash_at=point).run("m1")
    assert w.executor().run("m1").stage == "done"
    assert w.executor().run("m1").stage == "done"  # and again: nothing more happens
    assert w.notes("stbridge-move:m1:mint") == 1
    # alice's 1,000 free units would have allowed a second lock of 300
    assert (w.mirror_balance("alice@algo"), w.locked("alice"), w.free("alice")) == (300, 300, 700)
    w.conserved()


@pytest.mark.parametrize("point", BACK_POINTS)
def test_crash_between_burn_and_release_resumes_without_double_release(
    world: MoveWorld, point: str
) -> None:
    """The relayer dies at ``point`` of a move back; a restarted relayer finishes it with
    exactly one burn and one release on chain."""
    w = world
    ex = w.executor()
    ex.plan(request("m1", "out", w.addr("alice"), w.addr("alice@algo"), 500))
    assert ex.run("m1").stage == "done"
    ex.plan(request("b1", "back", w.addr("alice@algo"), w.addr("bob"), 200))
    with pytest.raises(Crash):
        w.executor(crash_at=point).run("b1")
    assert w.executor().run("b1").stage == "done"
    assert w.executor().run("b1").stage == "done"
    assert w.notes("stbridge-move:b1:burn") == 1
    # a second release would have taken another 200 of alice's 300 still locked
    assert (w.mirror_balance("alice@algo"), w.locked("alice"), w.free("bob")) == (300, 300, 700)
    w.conserved()


@pytest.mark.postgres
def test_crash_before_the_mint_is_recorded_resumes_on_postgres(
    world: MoveWorld, pg_dsn: str
) -> None:
    """The same crash point on the PostgreSQL store (several relayer replicas share it):
    the move finishes with one mint."""
    world.dsn = pg_dsn
    ex = world.executor()
    with ex.journal.store._tx() as cur:  # the database outlives test runs: start clean
        ids = [m.move_id for m in ex.moves()]
        for move_id in ids:
            ex.journal._exec(cur, "DELETE FROM move_steps WHERE move_id = ?", (move_id,))
        ex.journal._exec(cur, "DELETE FROM moves WHERE pair = ?", (ex.pair.id,))
        ex.journal._exec(cur, "DELETE FROM move_links WHERE pair = ?", (ex.pair.id,))
    ex.plan(request("pg-1", "out", world.addr("alice"), world.addr("alice@algo"), 70))
    with pytest.raises(Crash):
        world.executor(crash_at="mint:sent").run("pg-1")
    assert world.executor().run("pg-1").stage == "done"
    assert world.notes("stbridge-move:pg-1:mint") == 1
    assert (world.mirror_balance("alice@algo"), world.locked("alice")) == (70, 70)
    world.conserved()


TOKEN = "move-api-token-0123456789"


def api(
    world: MoveWorld,
    clients: Any = (),
    executor: MoveExecutor | None = None,
    driver: Any = None,
) -> Any:
    """A relayer API with the move routes over the world's pair (a store, no swap chains);
    with a daemon's ``driver``, manual runs are fenced as its tick is."""
    import time

    from fastapi.testclient import TestClient

    from bridge.htlc import RelayerBudget
    from relayer.api import create_app
    from relayer.sealing import SealingKey
    from relayer.service import ComplianceResult, RelayerService

    ex = world.executor() if executor is None else executor
    service = RelayerService(
        store=ex.journal.store,
        chains={},
        compliance=lambda order: ComplianceResult(True),
        sealing_key=SealingKey.generate(),
        budget=RelayerBudget(reaction_s=1, compliance_recheck_s=1, margin_s=1),
        wall_clock=time.time,
    )
    return TestClient(
        create_app(service, token=TOKEN, moves=ex, clients=clients, move_driver=driver)
    )


AUTH = {"Authorization": f"Bearer {TOKEN}"}
CLIENT_TOKEN = "bound-client-token-0123456789"


def order(world: MoveWorld) -> dict[str, Any]:
    return {
        "move_id": "api-1",
        "direction": "out",
        "holder": world.addr("bob"),
        "receiver": world.addr("bob@algo"),
        "amount": 120,
    }


def test_api_plans_refuses_and_conflicts(world: MoveWorld) -> None:
    """POST /moves journals a move (401 without the token, 422 naming the field when
    refused, 409 for another request under the same id); GET /moves/{id} shows it."""
    client, auth, order_ = api(world), AUTH, order(world)
    assert client.post("/moves", json=order_).status_code == 401
    refused = client.post(
        "/moves", json={**order_, "move_id": "api-0", "amount": 501}, headers=auth
    )
    assert refused.status_code == 422
    assert refused.json()["field"] == "amount"
    created = client.post("/moves", json=order_, headers=auth)
    assert created.status_code == 201, created.text
    assert created.json()["stage"] == "requested"
    assert client.post("/moves", json={**order_, "amount": 121}, headers=auth).status_code == 409
    assert client.get("/moves/api-1", headers=auth).json()["steps"] == []
    assert client.get("/moves/nope", headers=auth).status_code == 404


def test_a_bound_api_client_cannot_move_anyones_units(world: MoveWorld) -> None:
    """A client bound to its own wallet (``[[api.clients]]``) is the hostile actor here: a
    move locks the holder's units by the issuer's force, so only the operator may plan, run
    or read moves (403 for the client, nothing journalled)."""
    from relayer.clients import ApiClient

    bob = world.addr("bob")
    client = api(world, clients=[(CLIENT_TOKEN, ApiClient("mallory", frozenset({bob})))])
    hostile = {"Authorization": f"Bearer {CLIENT_TOKEN}"}
    refused = client.post("/moves", json=order(world), headers=hostile)
    assert refused.status_code == 403, refused.text
    assert client.get("/moves/api-1", headers=hostile).status_code == 403
    assert client.get("/moves/api-1", headers=AUTH).status_code == 404  # nothing journalled


@pytest.mark.thorough
def test_api_runs_and_audits_a_move(world: MoveWorld) -> None:
    """POST /moves/{id}/run drives a move; GET /moves/{id} is its audit record with every
    transaction; GET /moves shows supply and the register."""
    client, auth, order_ = api(world), AUTH, order(world)
    assert client.post("/moves", json=order_).status_code == 401
    assert client.post("/moves", json=order_, headers=auth).status_code == 201
    done = client.post("/moves/api-1/run", headers=auth).json()
    assert done["stage"] == "done"
    assert [(s["kind"], s["status"]) for s in done["steps"]] == [
        ("lock", "confirmed"),
        ("mint", "confirmed"),
    ]
    pair = client.get("/moves", headers=auth).json()
    assert (pair["locked"], pair["mirror_supply"], pair["register_follows_mirror"]) == (
        120,
        120,
        True,
    )
    assert client.get("/moves/nope", headers=auth).status_code == 404
    world.conserved()


# -- replicas: a lease per move, fenced by its epoch ------------------------------------


def executor_at(world: MoveWorld, offset: float, **extra: Any) -> MoveExecutor:
    """A relayer replica on its own connection to the store whose clock is ``offset``
    seconds ahead (a replica that wakes up after its lease ran out)."""
    import time

    store: Store = SqliteStore(world.db) if world.dsn is None else PostgresStore(world.dsn)
    world.opened.append(store)
    return MoveExecutor(
        store, MovePair(world.home, world.mirror), clock=lambda: time.time() + offset, **extra
    )


def _lost_lease_mints_nothing(world: MoveWorld, move_id: str) -> None:
    from relayer.store import LeaseLost

    w = world
    w.home.finality = 1_000  # the lock is sent and seen, the mint waits for finality
    a = executor_at(w, 0)
    a.plan(request(move_id, "out", w.addr("alice"), w.addr("alice@algo"), 90))
    assert a.journal.claim(a.pair.id, "replica-a", lease_seconds=30) == [move_id]
    assert a.run(move_id).stage == "source_seen"
    assert w.locked("alice") == 90
    b = executor_at(w, 60)  # 60 s later replica-a's lease has run out: replica-b takes it
    assert b.journal.claim(b.pair.id, "replica-b", lease_seconds=30) == [move_id]
    assert b.journal.lease(move_id) == ("replica-b", 2)  # a took epoch 1
    w.home.finality = 0  # the lock is final now: whoever runs the move would mint
    with pytest.raises(LeaseLost, match="replica-b"):
        a.run(move_id)  # replica-a wakes up: it may not write, so it signs and sends nothing
    assert a.run_claimed("replica-a", lease_seconds=30) == []  # and cannot take it back
    assert (w.notes(f"stbridge-move:{move_id}:mint"), w.mirror.supply()) == (0, 0)
    assert [s.kind for s in b.journal.steps(move_id)] == ["lock"]
    assert b.run_claimed("replica-b", lease_seconds=30)[0].stage == "done"
    assert w.notes(f"stbridge-move:{move_id}:mint") == 1
    assert (w.mirror_balance("alice@algo"), w.locked("alice")) == (90, 90)
    w.conserved()


def test_a_replica_that_lost_its_lease_mints_nothing(world: MoveWorld) -> None:
    """Two replicas, one store: replica-a leases a move out and locks; its lease runs out
    and replica-b takes the move (epoch 2). When replica-a acts again it is refused its
    first write (``LeaseLost``), so it journals and sends nothing: no mint; replica-b
    mints once."""
    _lost_lease_mints_nothing(world, "lease-1")


def test_a_manual_run_beside_the_replica_that_holds_the_move_is_refused(world: MoveWorld) -> None:
    """An operator's ``POST /moves/{id}/run`` on replica-a while replica-b holds the move's
    lease (b locked, the mint waits for finality): 409 naming ``move_id``, and replica-a
    journals and sends nothing; replica-b then mints once. Before the manual run took the
    lease, replica-a minted beside b's lease."""
    from relayer.move_daemon import MoveDriver

    w = world
    w.home.finality = 1_000
    b = executor_at(w, 0)
    b.plan(request("manual-1", "out", w.addr("alice"), w.addr("alice@algo"), 90))
    assert b.journal.claim(b.pair.id, "replica-b", lease_seconds=30) == ["manual-1"]
    assert b.run("manual-1").stage == "source_seen"
    w.home.finality = 0  # the lock is final: whoever runs the move now would mint
    a = executor_at(w, 1)  # within b's lease
    client = api(w, executor=a, driver=MoveDriver(a, "replica-a", 30))
    refused = client.post("/moves/manual-1/run", headers=AUTH)
    assert refused.status_code == 409, refused.text
    assert refused.json()["fields"] == ["move_id"]
    assert "replica-b" in refused.json()["detail"]
    assert (w.notes("stbridge-move:manual-1:mint"), w.mirror.supply()) == (0, 0)
    assert [s.kind for s in b.journal.steps("manual-1")] == ["lock"]
    assert b.run_claimed("replica-b", lease_seconds=30)[0].stage == "done"
    assert w.notes("stbridge-move:manual-1:mint") == 1
    done = client.post("/moves/manual-1/run", headers=AUTH)  # closed: answered as it is
    assert done.status_code == 200, done.text
    assert done.json()["stage"] == "done"
    w.conserved()


@pytest.mark.postgres
def test_a_replica_that_lost_its_lease_mints_nothing_on_postgres(
    world: MoveWorld, pg_dsn: str
) -> None:
    """The same on PostgreSQL, the store replicas really share (rows locked by the fence)."""
    world.dsn = pg_dsn
    ex = world.executor()
    with ex.journal.store._tx() as cur:  # the database outlives test runs: start clean
        for move_id in [m.move_id for m in ex.moves()]:
            ex.journal._exec(cur, "DELETE FROM move_steps WHERE move_id = ?", (move_id,))
        ex.journal._exec(cur, "DELETE FROM moves WHERE pair = ?", (ex.pair.id,))
        ex.journal._exec(cur, "DELETE FROM move_links WHERE pair = ?", (ex.pair.id,))
    _lost_lease_mints_nothing(world, "pg-lease-1")


# -- the receiving investor judged by the compliance engine ------------------------------


def move_trade(world: MoveWorld, investor_class: str, amount: int) -> dict[str, Any]:
    """The move as a trade: a JP real-estate security token (public offering) from alice to
    an investor resident in Singapore, the receiving platform's jurisdiction."""
    return {
        "id": "move-trade",
        "instrument": {
            "kind": "jp.real_estate_st",
            "exemption": "jp.public_offering",
            "home": "JP",
        },
        "seller": {
            "name": "Alice",
            "residence": "JP",
            "kyc": {"status": "verified", "expires_on": "2099-12-31"},
            "wallet": world.addr("alice"),
            "balance": 1_000,
        },
        "buyer": {
            "name": "Tan Wei Ling",
            "residence": "SG",
            "classifications": [{"jurisdiction": "SG", "investor_class": investor_class}],
            "kyc": {"status": "verified", "expires_on": "2027-12-31"},
            "wallet": world.addr("alice@algo"),
        },
        "quantity": amount,
    }


def judged(world: MoveWorld, offset: float = 0) -> MoveExecutor:
    from bridge.compliance import default_engine

    return executor_at(world, offset, compliance=default_engine().evaluate)


def test_the_target_jurisdiction_refuses_before_anything_is_locked(world: MoveWorld) -> None:
    """A retail investor in Singapore may not receive this foreign security there (the real
    SG rule ``sg.foreign_instrument.buyer``): the move is refused when planned, journalled
    ``refused`` with the rule, and nothing is locked; an accredited one is accepted; a move
    without its trade is refused naming ``trade``."""
    w = world
    ex = judged(w)
    alice, receiver = w.addr("alice"), w.addr("alice@algo")
    retail = MoveRequest.model_validate(
        {
            **request("c1", "out", alice, receiver, 30).model_dump(),
            "trade": move_trade(w, "retail", 30),
        }
    )
    with pytest.raises(MoveRefused, match=r"sg\.foreign_instrument\.buyer") as caught:
        ex.plan(retail)
    assert caught.value.field == "receiver"
    assert "SG" in str(caught.value)
    with pytest.raises(MoveRefused) as missing:
        ex.plan(request("c2", "out", alice, receiver, 30))
    assert missing.value.field == "trade"
    assert [m.stage for m in ex.moves()] == ["refused", "refused"]
    assert ex.run_all() == []
    assert (w.locked("alice"), w.free("alice"), w.mirror.supply()) == (0, 1_000, 0)
    accredited = MoveRequest.model_validate(
        {
            **request("c3", "out", alice, receiver, 30).model_dump(),
            "trade": move_trade(w, "accredited", 30),
        }
    )
    assert ex.plan(accredited).stage == "requested"


def test_the_law_is_asked_again_before_the_lock(world: MoveWorld) -> None:
    """Accepted when planned, the move is judged again just before its lock is signed: by
    then (a relayer clock in 2028) the receiver's KYC has expired, the engine refuses
    (``jp.kyc.buyer_expired``), and the move is refused with nothing locked."""
    import time
    from datetime import UTC, datetime

    w = world
    accredited = MoveRequest.model_validate(
        {
            **request("c4", "out", w.addr("alice"), w.addr("alice@algo"), 30).model_dump(),
            "trade": move_trade(w, "accredited", 30),
        }
    )
    assert judged(w).plan(accredited).stage == "requested"
    later = datetime(2028, 1, 5, tzinfo=UTC).timestamp() - time.time()
    moved = judged(w, later).run("c4")
    assert moved.stage == "refused"
    assert "KYC_EXPIRED" in (moved.reason or "")
    assert (w.locked("alice"), w.mirror.supply()) == (0, 0)


# -- the daemon's driver ------------------------------------------------------------------


def test_the_daemon_driver_runs_api_moves_and_resumes_after_a_restart(world: MoveWorld) -> None:
    """A move submitted through ``POST /moves`` is driven by the daemon's tick
    (:class:`relayer.move_daemon.MoveDriver`), not by a client's ``/run``. The daemon dies
    after sending the mint and before journalling it; the restarted daemon's first tick
    finds the mint on chain and finishes: one lock, one mint."""
    from relayer.move_daemon import MoveDriver

    w = world
    client = api(w)
    assert client.post("/moves", json=order(w), headers=AUTH).status_code == 201
    dying = MoveDriver(w.executor(crash_at="mint:sent"), "relayer-1", 30)
    with pytest.raises(Crash):
        dying.tick()
    assert client.get("/moves/api-1", headers=AUTH).json()["stage"] != "done"
    restarted = MoveDriver(w.executor(), "relayer-1", 30)
    restarted.tick()
    shown = client.get("/moves/api-1", headers=AUTH).json()
    assert shown["stage"] == "done"
    assert [(s["kind"], s["status"]) for s in shown["steps"]] == [
        ("lock", "confirmed"),
        ("mint", "confirmed"),
    ]
    restarted.tick()  # nothing more happens
    assert w.notes("stbridge-move:api-1:mint") == 1
    assert (w.mirror_balance("bob@algo"), w.locked("bob")) == (120, 120)
    w.conserved()
