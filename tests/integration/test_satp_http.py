"""Two relayers, each with its own store, key and API, negotiating one trade over HTTP in SATP.

Each platform is a real relayer API (``create_app`` with the SATP routes mounted) on its own
SQLite store; their sessions are persisted there and survive a restart. The chain effects
are answered by a small executor here (the chain checks themselves are tested on py-evm in
``test_satp_chain.py``); what is tested is the transport, the persistence, the status, and
what a hostile caller gets back.
"""

from __future__ import annotations

import base64
import hashlib
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient

from bridge.htlc import RelayerBudget
from bridge.model.chain import AlgorandChain, EvmChain
from bridge.swap import Leg, Role, SwapTerms
from relayer.api import create_app
from relayer.satp.jws import SigningKey, seal
from relayer.satp.messages import (
    ComplianceStatement,
    HtlcAssignmentClaim,
    HtlcLockClaim,
    asset_caip19,
    caip2,
)
from relayer.satp.node import SatpNode
from relayer.satp.session import (
    ChainTime,
    CheckPeerLock,
    Decide,
    Decided,
    Delivered,
    OwnClaimConfirmed,
    OwnLockConfirmed,
    OwnRefundConfirmed,
    PeerLockChecked,
    Phase,
    Recheck,
    Rechecked,
    Send,
    SubmitOwnClaim,
    SubmitOwnLock,
    SubmitOwnRefund,
)
from relayer.satp.verify import Gateway
from relayer.sealing import SealingKey
from relayer.service import ComplianceResult, RelayerService
from relayer.store import SqliteStore

TOKEN = "satp-test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
SECRET = b"\x5a" * 32
EVM = EvmChain(chain_id=31337)
ALGO = AlgorandChain(genesis_hash=base64.b64encode(bytes(range(32))).decode())
TERMS = SwapTerms(
    swap_id="0x" + "cd" * 32,
    hashlock="0x" + hashlib.sha256(SECRET).hexdigest(),
    initiator_leg=Leg(
        chain=EVM,
        amount=100,
        sender="0x52908400098527886E0F7030069857D2E4169EE7",
        receiver="0x8617E340B3D01FA5F11F306F4090FD50E238070D",
    ),
    participant_leg=Leg(
        chain=ALGO,
        amount=5_000,
        sender="7ZUECA7HFLZTXENRV24SHLU4AVPUTMTTDUFUBNBD64C73F3UHRTHAIOF6Q",
        receiver="VCMJKWOY5P5P7SKMZFFOCEROPJCZOTIJMNIYNUCKH7LRO45JMJP6UYBIJA",
    ),
    initiator_deadline=1_800_000_000,
    participant_deadline=40_000,
    participant_lock_by=39_000,
)


class Platform:
    """One platform's relayer: its store file, its SATP key, its API."""

    def __init__(self, name: str, path: Path, key: SigningKey) -> None:
        self.name, self.path, self.key = name, path, key
        self.peer_gw: Gateway | None = None
        self.up = True
        self.boot()

    def boot(self) -> None:
        self.store = SqliteStore(self.path)
        service = RelayerService(
            store=self.store,
            chains={},
            compliance=lambda order: ComplianceResult(True),
            sealing_key=SealingKey.generate(),
            budget=RelayerBudget(reaction_s=1, compliance_recheck_s=1, margin_s=1),
            wall_clock=time.time,
        )
        self.node = SatpNode(
            self.store,
            self.key,
            gateway_id=self.name,
            peers={} if self.peer_gw is None else {self.peer_gw.gateway_id: self.peer_gw},
            clock=lambda: NOW,
        )
        self.client = TestClient(create_app(service, token=TOKEN, satp=self.node))

    def crash_and_restart(self) -> None:
        self.store.close()
        self.boot()


def pair(tmp_path: Path) -> tuple[Platform, Platform]:
    jp = Platform("jp-gw", tmp_path / "jp.sqlite3", SigningKey.generate())
    sg = Platform("sg-gw", tmp_path / "sg.sqlite3", SigningKey.generate())
    jp.peer_gw = Gateway(gateway_id="sg-gw", key=sg.key.public)
    sg.peer_gw = Gateway(gateway_id="jp-gw", key=jp.key.public)
    jp.boot()
    sg.boot()
    return jp, sg


def lock_claim(role: Role) -> HtlcLockClaim:
    leg = TERMS.leg(role)
    return HtlcLockClaim(
        network=caip2(leg.chain),
        htlc="htlc",
        lock_id=f"lock-{role.value}",
        tx_id=f"tx-{role.value}",
        block_number=10,
        log_index=0,
        hash_lock=TERMS.hashlock,
        sender=leg.sender,
        receiver=leg.receiver,
        amount=str(leg.amount),
        asset=asset_caip19(leg.chain, leg.asset),
        deadline=TERMS.deadline(role),
        confirmations=1,
    )


def post(to: Platform, envelope: Any, session_id: str) -> httpx.Response:
    return to.client.post(
        f"/satp/v1/sessions/{session_id}/messages", content=envelope.model_dump_json()
    )


def run_effects(me: Platform, peer: Platform, *, limit: int = 200) -> int:
    """Run every pending effect of every session of ``me`` once; return how many ran."""
    ran = 0
    for swap_id in me.node.sessions():
        state = me.node.load(swap_id)
        for net, t in ((caip2(EVM), 1_700_000_000), (caip2(ALGO), 30_000)):
            if state.chain_time.get(net) != t:
                me.node.apply(swap_id, ChainTime(network=net, time=t))
        for effect in me.node.pending(swap_id):
            result: Any = None
            match effect:
                case Send(message=message):
                    if not peer.up:
                        continue  # unreachable: stays pending, re-sent later
                    answer = post(peer, me.node.seal(message), message["sessionId"])
                    assert answer.status_code == 202 or "replayOf" in answer.json(), answer.text
                    result = Delivered()
                case Decide():
                    terms = me.node.load(swap_id).terms
                    assert terms is not None
                    result = Decided(
                        statement=ComplianceStatement(
                            gateway_id=me.name,
                            allowed=True,
                            decided_at=NOW,
                            terms_digest=terms.digest,
                            jurisdictions=("JP",) if me.name == "jp-gw" else ("SG",),
                        )
                    )
                case Recheck():
                    result = Rechecked(allowed=True)
                case SubmitOwnLock(role=role):
                    result = OwnLockConfirmed(
                        claim=lock_claim(role), expiration=NOW + timedelta(hours=1)
                    )
                case CheckPeerLock(claim=claim, role=role):
                    result = PeerLockChecked(ok=claim == lock_claim(role))
                case SubmitOwnClaim(role=role):
                    result = OwnClaimConfirmed(
                        claim=HtlcAssignmentClaim(
                            network=caip2(TERMS.leg(role).chain),
                            lock_id=f"lock-{role.value}",
                            tx_id=f"claim-{role.value}",
                            block_number=11,
                            secret="0x" + SECRET.hex() if role is Role.PARTICIPANT else None,
                        )
                    )
                case SubmitOwnRefund():
                    result = OwnRefundConfirmed(tx_id="refund")
            if result is not None:
                me.node.apply(swap_id, result)
            me.node.done(swap_id, effect.seq)
            ran += 1
    return ran


def settle(jp: Platform, sg: Platform, rounds: int = 30) -> None:
    for _ in range(rounds):
        if run_effects(jp, sg) + run_effects(sg, jp) == 0:
            return
    raise AssertionError("did not settle")


def test_two_relayers_settle_over_http_each_with_its_own_store_and_key(tmp_path: Path) -> None:
    jp, sg = pair(tmp_path)
    jp.node.start(TERMS, session_id="sess-http-1", peer_id="sg-gw")
    settle(jp, sg)
    for p in (jp, sg):
        st = p.client.get("/satp/v1/sessions/sess-http-1", headers=AUTH)
        assert st.status_code == 200, st.text
        body = st.json()
        assert body["status"] == "DONE"
        assert body["phase"] == "completed"
        assert body["ownDecision"]["gatewayId"] == p.name
        assert body["peerDecision"]["gatewayId"] != p.name
        assert p.client.get("/satp/v1/sessions/sess-http-1").status_code == 401
    assert sg.client.get("/satp/v1/sessions/nope", headers=AUTH).json()["status"] == "NOT_FOUND"
    # neither store holds any private key: its own stays in its key file, the peer's never
    # left the peer
    for p in (jp, sg):
        p.store.close()
        raw = b"".join(f.read_bytes() for f in tmp_path.glob(f"{p.path.name}*"))
        for key in (jp.key, sg.key):
            assert key.private_jwk()["d"].encode() not in raw


def test_the_responder_crashes_mid_protocol_and_the_trade_still_settles(tmp_path: Path) -> None:
    jp, sg = pair(tmp_path)
    jp.node.start(TERMS, session_id="sess-http-2", peer_id="sg-gw")
    for _ in range(4):  # a few rounds: into stage 2
        run_effects(jp, sg)
        run_effects(sg, jp)
    assert sg.node.load(TERMS.swap_id).transcript.step >= 4
    # SG goes down: JP's messages stay pending; SG restarts from its store and it resumes
    sg.up = False
    sg.crash_and_restart()
    for _ in range(3):
        run_effects(jp, sg)
    held = [e for e in jp.node.pending(TERMS.swap_id) if isinstance(e, Send)]
    assert held  # JP could not deliver; its message waits in its own store
    assert jp.client.get("/satp/v1/sessions/sess-http-2", headers=AUTH).json()["substatus"] == (
        "BRIDGE_NOT_AVAILABLE"
    )
    sg.up = True
    settle(jp, sg)
    assert jp.node.load(TERMS.swap_id).phase is Phase.COMPLETED
    assert sg.node.load(TERMS.swap_id).phase is Phase.COMPLETED


def test_what_a_hostile_caller_gets_back(tmp_path: Path) -> None:
    jp, sg = pair(tmp_path)
    jp.node.start(TERMS, session_id="sess-http-3", peer_id="sg-gw")
    sg.up = False  # hold the proposal back: this test delivers it by hand
    run_effects(jp, sg)
    (send,) = [e for e in jp.node.pending(TERMS.swap_id) if isinstance(e, Send)]
    good = jp.node.seal(send.message)
    # a forger's proposal: signed by a key that is not jp-gw's
    forged = post(sg, seal(send.message, SigningKey.generate()), "sess-http-3")
    assert forged.status_code == 422
    assert forged.json()["type"] == "urn:ietf:params:satp:core:error:err_0.1.3"
    assert forged.headers["content-type"].startswith("application/problem+json")
    # nothing was created by it
    assert sg.node.sessions() == []
    # garbage
    assert post_raw(sg, b"{not json", "sess-http-3").status_code == 400
    # the genuine one, then the same again: a replay, answered with replayOf
    assert post(sg, good, "sess-http-3").status_code == 202
    again = post(sg, good, "sess-http-3")
    assert again.status_code == 404
    assert again.json()["replayOf"] == hashlib.sha256(good.payload_bytes).hexdigest()
    # a message for a session that does not exist
    assert post(sg, good, "sess-other").status_code in (400, 404)


def post_raw(to: Platform, body: bytes, session_id: str) -> httpx.Response:
    return to.client.post(f"/satp/v1/sessions/{session_id}/messages", content=body)
