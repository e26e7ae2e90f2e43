"""Two relayers with disjoint keys settle one trade through SATP on real embedded chains.

The seller's platform (JP) holds only the seller's EVM key and an Algorand fee payer; the
buyer's platform (SG) holds only the buyer's Algorand key and an EVM fee payer. Each has its
own store and SATP key; they talk over HTTP (their real relayer APIs). Every lock is made and
checked on the chain (py-evm with the real HTLC contract, the embedded go-algorand ledger),
every claim too. Native coins stand in for the assets to keep this test cheap; the tokens'
own rules are covered by the single-relayer suites.
"""

from __future__ import annotations

import hashlib
import json
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from adapters.algorand.algod import EmbeddedAlgodClient
from adapters.algorand.chain import AlgodChain
from adapters.algorand.htlc import AlgorandHtlc
from adapters.algorand.ledger import EmbeddedLedger
from adapters.algorand.signer import AlgorandSigner
from adapters.evm.client import EvmClient
from adapters.evm.htlc import EvmHtlc
from adapters.evm.signer import EvmSigner
from bridge.htlc import RelayerBudget, Secret
from bridge.ports import Signer
from bridge.swap import Leg, SwapTerms
from relayer.api import create_app
from relayer.satp.executor import ChainAccess, SatpExecutor
from relayer.satp.jws import Envelope, SigningKey
from relayer.satp.messages import ComplianceStatement, WireTerms, caip2
from relayer.satp.node import SatpNode
from relayer.satp.session import Phase
from relayer.satp.verify import Gateway, Side
from relayer.sealing import SealingKey
from relayer.service import ComplianceResult, RelayerService
from relayer.store import SqliteStore

TOKEN = "satp-relayers-token-0123456789"


@dataclass
class Chains:
    evm: EvmClient
    evm_htlc: EvmHtlc
    ledger: EmbeddedLedger
    algo_htlc: AlgorandHtlc
    algo_chain: AlgodChain


class Platform:
    """One platform's relayer: its store, SATP key, API, and chain access with its own keys."""

    def __init__(self, name: str, workdir: Path, chains: Chains, keys: dict[str, Signer]) -> None:
        self.name = name
        self.key = SigningKey.generate()
        self.sealing = SealingKey.generate()
        self.store = SqliteStore(workdir / f"{name}.sqlite3")
        self.chains = chains
        self.keys = keys
        self.node: SatpNode | None = None
        self.client: TestClient | None = None
        self.executor: SatpExecutor | None = None
        self.up = True  # False: its API does not answer (the peer's messages wait)

    def connect(self, peer: Platform, fee_payers: dict[str, Signer]) -> None:
        c = self.chains
        self.node = SatpNode(
            self.store,
            self.key,
            gateway_id=self.name,
            peers={peer.name: Gateway(gateway_id=peer.name, key=peer.key.public)},
            clock=lambda: datetime.now(UTC),
            lock_window_s=60,
        )
        service = RelayerService(
            store=self.store,
            chains={},
            compliance=lambda order: ComplianceResult(True),
            sealing_key=self.sealing,
            budget=RelayerBudget(reaction_s=1, compliance_recheck_s=1, margin_s=1),
            wall_clock=time.time,
        )
        self.client = TestClient(create_app(service, token=TOKEN, satp=self.node))
        last = c.ledger.last_round
        self.executor = SatpExecutor(
            self.node,
            {
                caip2(c.evm.chain): ChainAccess(
                    htlc=c.evm_htlc,
                    htlc_id=c.evm_htlc.address,
                    head=c.evm.head,
                    now=lambda: int(c.evm.now().timestamp()),
                    expires_at=lambda d: datetime.fromtimestamp(d, UTC),
                    signers={a: s for a, s in self.keys.items() if a.startswith("0x")},
                    operator=fee_payers.get("evm"),
                ),
                caip2(c.algo_chain.chain): ChainAccess(
                    htlc=c.algo_htlc,
                    htlc_id="algorand-htlc-escrow-v1",
                    head=lambda: c.ledger.last_round,
                    now=lambda: c.ledger.last_round,
                    expires_at=lambda r: datetime.now(UTC) + timedelta(seconds=3 * (r - last)),
                    signers={a: s for a, s in self.keys.items() if not a.startswith("0x")},
                    operator=fee_payers.get("algorand"),
                ),
            },
            decide=self.decide,
            recheck=lambda terms, side, before: True,
            deliver=peer.receive_from(self),
            sealing_key=self.sealing,
        )

    def decide(self, terms: SwapTerms, side: Side) -> ComplianceStatement:
        return ComplianceStatement(
            gateway_id=self.name,
            allowed=True,
            decided_at=datetime.now(UTC),
            terms_digest=WireTerms.of(terms).digest,
            jurisdictions=("JP",) if side is Side.INITIATOR else ("SG",),
        )

    def receive_from(self, sender: Platform):  # type: ignore[no-untyped-def]
        def deliver(session_id: str, envelope: Envelope) -> bool:
            assert self.client is not None
            if not self.up:
                return False
            answer = self.client.post(
                f"/satp/v1/sessions/{session_id}/messages", content=envelope.model_dump_json()
            )
            return answer.status_code == 202 or "replayOf" in answer.json()

        return deliver


@dataclass
class Trade:
    jp: Platform
    sg: Platform
    chains: Chains
    terms: SwapTerms
    seller_algo: str
    buyer_evm: str
    seller_evm: str
    buyer_algo: str


def trade(tmp_path: Path) -> Trade:
    """Both chains, both platforms, and the trade started by JP (the seller's platform)."""
    evm = EvmClient.embedded()
    deployer = EvmSigner.generate()
    seller_evm, sg_fees_evm = EvmSigner.generate(), EvmSigner.generate()
    buyer_evm = EvmSigner.from_seed("satp-buyer-evm").address
    for s in (deployer, seller_evm, sg_fees_evm):
        evm.fund(s.address, 10**20)
    ledger = EmbeddedLedger()
    algod = EmbeddedAlgodClient(ledger, wait_timeout=0.0)
    seller_algo, buyer_algo, jp_fees_algo = (AlgorandSigner.generate() for _ in range(3))
    for s in (seller_algo, buyer_algo, jp_fees_algo):
        ledger.fund(s.address, 10_000_000)
    chains = Chains(
        evm=evm,
        evm_htlc=EvmHtlc.deploy(evm, deployer),
        ledger=ledger,
        algo_htlc=AlgorandHtlc(algod, from_round=ledger.last_round),
        algo_chain=AlgodChain(algod),
    )
    jp = Platform("jp-gw", tmp_path, chains, {seller_evm.address: seller_evm})
    sg = Platform("sg-gw", tmp_path, chains, {buyer_algo.address: buyer_algo})
    jp.connect(sg, {"algorand": jp_fees_algo})
    sg.connect(jp, {"evm": sg_fees_evm})

    secret = Secret.generate()
    rnd = ledger.last_round
    terms = SwapTerms(
        swap_id="0x" + hashlib.sha256(b"satp-two-relayers").hexdigest(),
        hashlock="0x" + secret.hashlock.hex(),
        initiator_leg=Leg(
            chain=evm.chain, amount=10**18, sender=seller_evm.address, receiver=buyer_evm
        ),
        participant_leg=Leg(
            chain=chains.algo_chain.chain,
            amount=2_000_000,
            sender=buyer_algo.address,
            receiver=seller_algo.address,
        ),
        initiator_deadline=int(evm.now().timestamp()) + 7200,
        participant_deadline=rnd + 1000,
        participant_lock_by=rnd + 800,
        participant_reveal_by=rnd + 900,
    )
    assert jp.node is not None
    assert sg.node is not None
    assert jp.executor is not None
    assert sg.executor is not None
    jp.node.start(
        terms,
        session_id="jp-sg-0001",
        peer_id="sg-gw",
        sealed_secret=jp.sealing.seal(secret.reveal(), swap_id=terms.swap_id),
    )
    return Trade(
        jp,
        sg,
        chains,
        terms,
        seller_algo.address,
        buyer_evm,
        seller_evm.address,
        buyer_algo.address,
    )


def tick(t: Trade, rounds: int = 40, *, jp_up: bool = True) -> None:
    assert t.jp.executor is not None
    assert t.sg.executor is not None
    for _ in range(rounds):
        ran = t.sg.executor.tick() + (t.jp.executor.tick() if jp_up else 0)
        if ran == 0:
            return


@pytest.mark.thorough
def test_two_relayers_with_disjoint_keys_settle_through_satp(tmp_path: Path) -> None:
    t = trade(tmp_path)
    jp, sg, terms, evm, ledger = t.jp, t.sg, t.terms, t.chains.evm, t.chains.ledger
    assert jp.node is not None
    assert sg.node is not None
    assert jp.executor is not None
    assert sg.executor is not None
    seller_algo_before = ledger.balance(t.seller_algo)
    buyer_evm_before = evm.balance(t.buyer_evm)
    tick(t)
    jp_state, sg_state = jp.node.load(terms.swap_id), sg.node.load(terms.swap_id)
    assert jp_state.phase is Phase.COMPLETED, jp_state.aborted
    assert sg_state.phase is Phase.COMPLETED, sg_state.aborted
    assert evm.balance(t.buyer_evm) == buyer_evm_before + 10**18
    assert ledger.balance(t.seller_algo) == seller_algo_before + 2_000_000
    # each audit: its own decision and the other's, signed
    for me, other in ((jp_state, sg_state), (sg_state, jp_state)):
        assert me.own_statement is not None
        assert me.own_statement.gateway_id == me.me.gateway_id
        assert me.peer_statement == other.own_statement
    # disjoint keys: neither platform's executor holds a key of the other's clients
    jp_keys = {a for c in jp.executor.chains.values() for a in c.signers}
    sg_keys = {a for c in sg.executor.chains.values() for a in c.signers}
    assert jp_keys == {t.seller_evm}
    assert sg_keys == {t.buyer_algo}


@pytest.mark.thorough
def test_jp_unreachable_past_the_cash_deadline_both_sides_are_refunded(tmp_path: Path) -> None:
    """The seller's relayer goes dark after the buyer locked the cash (it never reveals).
    Each side gets its own asset back by its own deadline, observed on its own chain."""
    t = trade(tmp_path)
    assert t.jp.node is not None
    assert t.sg.node is not None
    evm, ledger = t.chains.evm, t.chains.ledger
    buyer_algo_before = ledger.balance(t.buyer_algo)
    seller_evm_before = evm.balance(t.seller_evm)
    # run until SG has locked the cash and asserted it; JP then disappears
    for _ in range(40):
        tick(t, rounds=1)
        if t.sg.node.sessions() and t.sg.node.load(t.terms.swap_id).own_lock == "locked":
            break
    assert t.sg.node.load(t.terms.swap_id).own_lock == "locked"
    assert not t.jp.node.load(t.terms.swap_id).revealed
    t.jp.up = False
    ledger.advance(t.terms.participant_deadline - ledger.last_round + 1)
    tick(t, jp_up=False)
    sg_state = t.sg.node.load(t.terms.swap_id)
    assert sg_state.phase is Phase.REFUNDED, sg_state.phase
    # the cash came back (less the fees of the lock and refund transactions)
    assert ledger.balance(t.buyer_algo) > buyer_algo_before - 100_000
    # JP comes back after the security's deadline: its refund, by its own deadline
    t.jp.up = True
    evm.increase_time(t.terms.initiator_deadline - int(evm.now().timestamp()) + 1)
    evm.mine()
    tick(t)
    jp_state = t.jp.node.load(t.terms.swap_id)
    assert jp_state.phase is Phase.REFUNDED, jp_state.phase
    assert evm.balance(t.seller_evm) > seller_evm_before - 10**17  # back, less gas


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.thorough
@pytest.mark.anvil
def test_two_relayer_processes_with_disjoint_keys_settle_on_two_anvils(tmp_path: Path) -> None:
    """Two OS processes (``satp_platform.py``), each its own relayer API, store, SATP key and
    chain keys, settle a trade across two anvil chains; neither configuration nor store
    holds the other side's keys."""
    from tests.fixtures.evm import start_anvil, stop_process

    anvils = [start_anvil("--chain-id", cid) for cid in ("31337", "31338")]
    procs: list[subprocess.Popen[bytes]] = []
    try:
        sec, cash = (EvmClient.connect(url) for _, url in anvils)
        deployer = EvmSigner.from_seed("satp-2p-deployer")
        seeds = {
            "seller": "satp-2p-seller",
            "buyer": "satp-2p-buyer",
            "jp_fee": "satp-2p-jp-fee",
            "sg_fee": "satp-2p-sg-fee",
        }
        keys = {k: EvmSigner.from_seed(v) for k, v in seeds.items()}
        for client, who in ((sec, ("seller", "sg_fee")), (cash, ("buyer", "jp_fee"))):
            client.fund(deployer.address, 10**20)
            for w in who:
                client.fund(keys[w].address, 10**20)
        sec_htlc, cash_htlc = EvmHtlc.deploy(sec, deployer), EvmHtlc.deploy(cash, deployer)
        buyer_gets = EvmSigner.from_seed("satp-2p-buyer-security-wallet").address
        seller_gets = EvmSigner.from_seed("satp-2p-seller-cash-wallet").address
        now1, now2 = int(sec.now().timestamp()), int(cash.now().timestamp())
        terms = {
            "swap_id": "0x" + hashlib.sha256(b"satp-two-processes").hexdigest(),
            "initiator_leg": Leg(
                chain=sec.chain, amount=10**18, sender=keys["seller"].address, receiver=buyer_gets
            ).model_dump(mode="json"),
            "participant_leg": Leg(
                chain=cash.chain,
                amount=3 * 10**18,
                sender=keys["buyer"].address,
                receiver=seller_gets,
            ).model_dump(mode="json"),
            "initiator_deadline": now1 + 7200,
            "participant_deadline": now2 + 3600,
            "participant_lock_by": now2 + 3000,
            "participant_reveal_by": now2 + 3300,
        }
        jp_key, sg_key = SigningKey.generate(), SigningKey.generate()
        ports = {"jp": _free_port(), "sg": _free_port()}
        token = "two-process-token-0123456789"

        def chains(own: list[str], fees: dict[str, str]) -> list[dict[str, object]]:
            return [
                {
                    "url": url,
                    "htlc": htlc.address,
                    "own_keys": [seeds[w] for w in own if w in owner],
                    "fee_payer": fees.get(name),
                }
                for name, (_, url), htlc, owner in (
                    ("sec", anvils[0], sec_htlc, {"seller"}),
                    ("cash", anvils[1], cash_htlc, {"buyer"}),
                )
            ]

        configs = {
            "jp": {
                "id": "jp-gw",
                "jurisdiction": "JP",
                "satp_key": jp_key.private_jwk(),
                "peer_id": "sg-gw",
                "peer_key": sg_key.public.model_dump(),
                "peer_url": f"http://127.0.0.1:{ports['sg']}",
                "port": ports["jp"],
                "token": token,
                "store": str(tmp_path / "jp.sqlite3"),
                "stop_file": str(tmp_path / "stop"),
                "chains": chains(["seller"], {"cash": seeds["jp_fee"]}),
                "start": {"session_id": "jp-sg-proc-1", "terms": terms},
            },
            "sg": {
                "id": "sg-gw",
                "jurisdiction": "SG",
                "satp_key": sg_key.private_jwk(),
                "peer_id": "jp-gw",
                "peer_key": jp_key.public.model_dump(),
                "peer_url": f"http://127.0.0.1:{ports['jp']}",
                "port": ports["sg"],
                "token": token,
                "store": str(tmp_path / "sg.sqlite3"),
                "stop_file": str(tmp_path / "stop"),
                "chains": chains(["buyer"], {"sec": seeds["sg_fee"]}),
            },
        }
        script = Path(__file__).with_name("satp_platform.py")
        for name in ("sg", "jp"):
            path = tmp_path / f"{name}.json"
            path.write_text(json.dumps(configs[name]))
            procs.append(subprocess.Popen([sys.executable, str(script), str(path)]))
        deadline = time.monotonic() + 300  # liveness bound only; the chains here are instant
        done: dict[str, str] = {}
        while time.monotonic() < deadline and len(done) < 2:
            for name in ("jp", "sg"):
                try:
                    answer = httpx.get(
                        f"http://127.0.0.1:{ports[name]}/satp/v1/sessions/jp-sg-proc-1",
                        headers={"Authorization": f"Bearer {token}"},
                        timeout=5,
                    )
                except httpx.HTTPError:
                    continue
                if answer.status_code == 200 and answer.json()["status"] in ("DONE", "FAILED"):
                    done[name] = answer.json()["status"]
            assert all(p.poll() is None for p in procs), "a platform process died"
            time.sleep(0.5)
        assert done == {"jp": "DONE", "sg": "DONE"}
        assert sec.balance(buyer_gets) == 10**18
        assert cash.balance(seller_gets) == 3 * 10**18
        (tmp_path / "stop").touch()
        for p in procs:
            p.wait(timeout=30)
        # disjoint keys: each side's configuration and store hold none of the other's keys
        files = {
            name: b"".join(f.read_bytes() for f in tmp_path.glob(f"{name}*"))
            for name in ("jp", "sg")
        }
        assert seeds["buyer"].encode() not in files["jp"]
        assert seeds["sg_fee"].encode() not in files["jp"]
        assert sg_key.private_jwk()["d"].encode() not in files["jp"]
        assert seeds["seller"].encode() not in files["sg"]
        assert seeds["jp_fee"].encode() not in files["sg"]
        assert jp_key.private_jwk()["d"].encode() not in files["sg"]
    finally:
        (tmp_path / "stop").touch()
        for p in procs:
            if p.poll() is None:
                stop_process(p)
        for proc, _ in anvils:
            stop_process(proc)
