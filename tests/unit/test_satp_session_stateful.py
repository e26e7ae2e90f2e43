"""Two SATP session machines under a hostile schedule: no honest side ever loses an asset.

A pure model of the two HTLCs (one per chain, with their own clocks) runs the machines'
effects. Hypothesis chooses the schedule: which side acts next, whether a message reaches
the peer or the peer is unreachable, replays of any envelope ever sent, crashes (the state
written to JSON and read back, as the store keeps it), chain time advancing, each side's own
compliance verdict, and one hostile peer: a liar in its lock assertion, a peer that goes
silent at a chosen point, or a seller that claims the cash outside the protocol.

Fairness, as the deadline plan assumes: a lock or claim that a side has decided to send
lands before chain time moves on (time advances only when none is pending).
"""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.model.chain import EvmChain
from bridge.swap import Leg, Role, SwapTerms
from relayer.satp.errors import SatpError
from relayer.satp.jws import Envelope, SigningKey, seal
from relayer.satp.messages import (
    ComplianceStatement,
    HtlcAssignmentClaim,
    HtlcLockClaim,
    WireTerms,
    asset_caip19,
    caip2,
)
from relayer.satp.session import (
    ChainTime,
    CheckPeerLock,
    ClaimForPeer,
    Decide,
    Decided,
    Delivered,
    Finished,
    MessageIn,
    OwnClaimConfirmed,
    OwnLockClaimed,
    OwnLockConfirmed,
    OwnRefundConfirmed,
    PeerLockChecked,
    Recheck,
    Rechecked,
    SecretSeen,
    Send,
    SessionState,
    Start,
    SubmitOwnClaim,
    SubmitOwnLock,
    SubmitOwnRefund,
    new_session,
    transition,
)
from relayer.satp.verify import Gateway, Side

SEC, CASH = EvmChain(chain_id=1), EvmChain(chain_id=2)
SEC_NET, CASH_NET = caip2(SEC), caip2(CASH)
SECRET = b"\x33" * 32
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
KEYS = {Side.INITIATOR: SigningKey.generate(), Side.RESPONDER: SigningKey.generate()}
TERMS = WireTerms.of(
    SwapTerms(
        swap_id="0x" + "5a" * 32,
        hashlock="0x" + hashlib.sha256(SECRET).hexdigest(),
        initiator_leg=Leg(
            chain=SEC,
            amount=7,
            sender="0x52908400098527886E0F7030069857D2E4169EE7",
            receiver="0x8617E340B3D01FA5F11F306F4090FD50E238070D",
        ),
        participant_leg=Leg(
            chain=CASH,
            amount=700,
            sender="0x8617E340B3D01FA5F11F306F4090FD50E238070D",
            receiver="0x52908400098527886E0F7030069857D2E4169EE7",
        ),
        initiator_deadline=400,
        participant_deadline=60,
        participant_lock_by=40,
        participant_reveal_by=50,
    )
)
HOSTILITIES = ["none", "g1_lies", "g2_lies", "g1_silent", "g2_silent", "g1_out_of_band"]


def claim_for(role: Role, *, lie: bool = False) -> HtlcLockClaim:
    leg = TERMS.initiator_leg if role is Role.INITIATOR else TERMS.participant_leg
    return HtlcLockClaim(
        network=caip2(leg.chain),
        htlc="htlc",
        lock_id=("fake-" if lie else "lock-") + role.value,
        tx_id="tx-" + role.value,
        block_number=1,
        log_index=0,
        hash_lock=TERMS.hash_lock,
        sender=leg.sender,
        receiver=leg.receiver,
        amount=leg.amount,
        asset=asset_caip19(leg.chain, leg.asset),
        deadline=TERMS.initiator_deadline if role is Role.INITIATOR else TERMS.participant_deadline,
        confirmations=1,
    )


@dataclass
class Party:
    side: Side
    state: SessionState
    allow: bool
    pending: list[Any] = field(default_factory=list)
    hostile: str = "none"  # "lies" or "silent"
    silent_after: int = 99

    def apply(self, change: Any) -> None:
        self.state, effects = transition(self.state, change)
        self.pending.extend(effects)


@dataclass
class Model:
    g1: Party
    g2: Party
    locks: dict[Role, str] = field(default_factory=lambda: dict.fromkeys(Role, "none"))
    time: dict[str, int] = field(default_factory=lambda: {SEC_NET: 0, CASH_NET: 0})
    sent: list[tuple[Side, Envelope]] = field(default_factory=list)
    secret_public: bool = False

    def party(self, side: Side) -> Party:
        return self.g1 if side is Side.INITIATOR else self.g2

    def chain_of(self, role: Role) -> str:
        return SEC_NET if role is Role.INITIATOR else CASH_NET

    def deadline(self, role: Role) -> int:
        return TERMS.initiator_deadline if role is Role.INITIATOR else TERMS.participant_deadline

    def on_time(self, role: Role) -> bool:
        return self.time[self.chain_of(role)] < self.deadline(role)

    def silent(self, p: Party) -> bool:
        return p.hostile == "silent" and p.state.transcript.step >= p.silent_after

    def step(self, p: Party, *, reachable: bool) -> bool:
        """Run ``p``'s next pending effect; False if it has none it can run now."""
        if self.silent(p):
            return False
        if p.side is Side.RESPONDER and self.secret_public and p.state.secret is None:
            p.apply(SecretSeen(secret="0x" + SECRET.hex()))  # its watcher sees the claim
        if not p.pending:
            return False
        effect = p.pending[0]
        peer = self.party(p.side.other)
        result: Any = None
        match effect:
            case Send(message=message):
                if not reachable or self.silent(peer):
                    return False
                env = seal(message, KEYS[p.side])
                self.sent.append((p.side, env))
                with contextlib.suppress(SatpError):  # a resend it already has: delivered
                    peer.apply(MessageIn(envelope=env, now=NOW))
                result = Delivered()
            case Decide():
                result = Decided(
                    statement=ComplianceStatement(
                        gateway_id=p.state.me.gateway_id,
                        allowed=p.allow,
                        decided_at=NOW,
                        terms_digest=TERMS.digest,
                    )
                )
            case Recheck():
                result = Rechecked(allowed=True)
            case SubmitOwnLock(role=role):
                assert p.state.decision == "allowed"  # never before our own decision
                if self.locks[role] == "none" and p.hostile != "lies":
                    self.locks[role] = "open"  # a liar asserts a lock it never made
                result = OwnLockConfirmed(
                    claim=claim_for(role, lie=p.hostile == "lies"),
                    expiration=NOW + timedelta(days=1),
                )
            case CheckPeerLock(claim=claim, role=role):
                ok = self.locks[role] == "open" and claim == claim_for(role)
                result = PeerLockChecked(ok=ok, reason="" if ok else "not the lock")
            case ClaimForPeer(role=role):
                if self.locks[role] == "open" and self.on_time(role):
                    self.locks[role] = "claimed"
                if self.locks[role] == "claimed":
                    result = OwnLockClaimed(tx_id="claim-for-peer")
            case SubmitOwnClaim(role=role):
                if self.locks[role] == "open" and self.on_time(role):
                    self.locks[role] = "claimed"
                    if role is Role.PARTICIPANT:
                        self.secret_public = True
                if self.locks[role] == "claimed":  # by us, or already for our party
                    secret = "0x" + SECRET.hex() if p.side is Side.INITIATOR else None
                    result = OwnClaimConfirmed(
                        claim=HtlcAssignmentClaim(
                            network=self.chain_of(role),
                            lock_id="lock-" + role.value,
                            tx_id="claim",
                            block_number=2,
                            secret=secret,
                        )
                    )
            case SubmitOwnRefund(role=role):
                if self.locks[role] == "open" and self.time[self.chain_of(role)] >= self.deadline(
                    role
                ):
                    self.locks[role] = "refunded"
                    result = OwnRefundConfirmed(tx_id="refund")
            case Finished():
                pass
        p.pending.pop(0)
        if result is not None:
            p.apply(result)
        return True

    def busy_on_chain(self) -> bool:
        return any(
            isinstance(e, SubmitOwnLock | SubmitOwnClaim | ClaimForPeer)
            for p in (self.g1, self.g2)
            if not self.silent(p)
            for e in p.pending
        )

    def tick_time(self, network: str, by: int) -> None:
        self.time[network] += by
        for p in (self.g1, self.g2):
            p.apply(ChainTime(network=network, time=self.time[network]))

    def quiesce(self) -> None:
        for _ in range(500):
            if not any(self.step(p, reachable=True) for p in (self.g1, self.g2)):
                return
        raise AssertionError("no quiescence")


def model(hostility: str, allow1: bool, allow2: bool, silent_after: int) -> Model:
    gw = {s: Gateway(gateway_id=s.value, key=KEYS[s].public) for s in Side}
    g1 = Party(
        Side.INITIATOR,
        new_session(
            Side.INITIATOR,
            session_id="s",
            me=gw[Side.INITIATOR],
            peer=gw[Side.RESPONDER],
            started_at=NOW,
        ),
        allow1,
    )
    g2 = Party(
        Side.RESPONDER,
        new_session(
            Side.RESPONDER,
            session_id="s",
            me=gw[Side.RESPONDER],
            peer=gw[Side.INITIATOR],
            started_at=NOW,
        ),
        allow2,
    )
    if hostility in ("g1_lies", "g2_lies"):
        (g1 if hostility == "g1_lies" else g2).hostile = "lies"
    if hostility in ("g1_silent", "g2_silent"):
        target = g1 if hostility == "g1_silent" else g2
        target.hostile, target.silent_after = "silent", silent_after
    m = Model(g1, g2)
    for net in (SEC_NET, CASH_NET):
        m.tick_time(net, 0)
    g1.apply(Start(terms=TERMS, now=NOW))
    return m


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    hostility=st.sampled_from(HOSTILITIES),
    allow1=st.booleans() | st.just(True),
    allow2=st.booleans() | st.just(True),
    silent_after=st.integers(0, 11),
    schedule=st.lists(st.integers(0, 9), max_size=120),
)
def test_no_honest_side_loses_under_any_schedule(
    hostility: str, allow1: bool, allow2: bool, silent_after: int, schedule: list[int]
) -> None:
    """Invariant: after every deadline has passed and every honest side has acted, the
    honest seller holds its security (refunded or never locked) or received the cash, and
    the honest buyer holds its cash or received the security; an honest side whose own
    decision refused never locked."""
    m = model(hostility, allow1, allow2, silent_after)
    for action in schedule:
        if action in (0, 1, 2):
            m.step(m.g1, reachable=action != 2)
        elif action in (3, 4, 5):
            m.step(m.g2, reachable=action != 5)
        elif action == 6 and m.sent:  # replay an old envelope to its receiver
            sender, env = m.sent[len(m.sent) // 2]
            receiver = m.party(sender.other)
            before = receiver.state
            try:
                receiver.apply(MessageIn(envelope=env, now=NOW))
            except SatpError:
                assert receiver.state == before
        elif action == 7:  # a crash: what the store keeps is the JSON document
            for p in (m.g1, m.g2):
                p.state = SessionState.model_validate_json(p.state.model_dump_json())
        elif action in (8, 9) and not m.busy_on_chain():
            m.tick_time(CASH_NET if action == 8 else SEC_NET, 3)
        if (
            hostility == "g1_out_of_band"
            and m.locks[Role.PARTICIPANT] == "open"
            and m.time[CASH_NET] < TERMS.participant_deadline
        ):
            m.locks[Role.PARTICIPANT] = "claimed"  # the seller reveals outside the protocol
            m.secret_public = True
    # the end: every honest side acts, then each deadline passes on its own chain
    m.quiesce()
    m.tick_time(CASH_NET, TERMS.participant_deadline + 1 - m.time[CASH_NET])
    m.quiesce()
    m.tick_time(SEC_NET, TERMS.initiator_deadline + 1 - m.time[SEC_NET])
    m.quiesce()
    sec, cash = m.locks[Role.INITIATOR], m.locks[Role.PARTICIPANT]
    seller_honest = hostility not in ("g1_lies", "g1_silent", "g1_out_of_band")
    buyer_honest = hostility not in ("g2_lies", "g2_silent")
    if seller_honest:
        assert sec in ("none", "refunded") or cash == "claimed", (sec, cash)
        assert sec != "open", "the seller's security is stuck"
        if not allow1:
            assert sec == "none"
    if buyer_honest:
        assert cash in ("none", "refunded") or sec == "claimed", (sec, cash)
        assert cash != "open", "the buyer's cash is stuck"
        if not allow2:
            assert cash == "none"
