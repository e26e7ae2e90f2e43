"""The SATP session machine of one side, driven in pairs (G1 and G2) through their messages.

A small pure world runs the effects: it seals each ``Send`` with the sender's key and hands
it to the other side, answers each side's own compliance decision and re-check from that
side's own policy, and confirms locks, claims and refunds. The hostile cases are written as
the hostile peer: it lies in its lock assertion, replays, refuses, goes silent.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bridge.model.chain import AlgorandChain, EvmChain
from bridge.swap import Leg, Outcome, Role, SwapTerms
from relayer.satp.errors import Replay
from relayer.satp.jws import Envelope, SigningKey, open_envelope, seal
from relayer.satp.messages import (
    ComplianceStatement,
    HtlcAssignmentClaim,
    HtlcLockClaim,
    WireTerms,
    asset_caip19,
    caip2,
)
from relayer.satp.session import (
    Abort,
    ChainTime,
    CheckPeerLock,
    Decide,
    Decided,
    Delivered,
    Finished,
    MessageIn,
    OwnClaimConfirmed,
    OwnLockConfirmed,
    OwnRefundConfirmed,
    PeerLockChecked,
    Phase,
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
    status,
    transition,
)
from relayer.satp.verify import Gateway, Side

EVM = EvmChain(chain_id=31337)
ALGO = AlgorandChain(genesis_hash=base64.b64encode(bytes(range(32))).decode())
SELLER = "0x52908400098527886E0F7030069857D2E4169EE7"
BUYER_EVM = "0x8617E340B3D01FA5F11F306F4090FD50E238070D"
SELLER_ALGO = "VCMJKWOY5P5P7SKMZFFOCEROPJCZOTIJMNIYNUCKH7LRO45JMJP6UYBIJA"
BUYER_ALGO = "7ZUECA7HFLZTXENRV24SHLU4AVPUTMTTDUFUBNBD64C73F3UHRTHAIOF6Q"
SECRET = b"\x42" * 32
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
SEC_NET, CASH_NET = caip2(EVM), caip2(ALGO)

TERMS = WireTerms.of(
    SwapTerms(
        swap_id="0x" + "ab" * 32,
        hashlock="0x" + hashlib.sha256(SECRET).hexdigest(),
        initiator_leg=Leg(chain=EVM, amount=10**24, sender=SELLER, receiver=BUYER_EVM),
        participant_leg=Leg(chain=ALGO, amount=5_000, sender=BUYER_ALGO, receiver=SELLER_ALGO),
        initiator_deadline=1_800_000_000,
        participant_deadline=40_000,
        participant_lock_by=39_000,
        participant_reveal_by=39_500,
    )
)


@dataclass
class Gw:
    """One gateway's relayer in the simulated world."""

    state: SessionState
    key: SigningKey
    allow: bool = True
    recheck_ok: bool = True
    hold_recheck: bool = False  # its re-checks wait (answered by the test itself)
    effects: list[Any] = field(default_factory=list)
    sent: list[Envelope] = field(default_factory=list)

    def apply(self, change: Any) -> list[Any]:
        self.state, effects = transition(self.state, change)
        self.effects.extend(effects)
        return list(effects)


@dataclass
class World:
    g1: Gw
    g2: Gw
    peer_lock_lies: dict[Side, bool] = field(default_factory=dict)
    silent: set[Side] = field(default_factory=set)
    chain_watch: bool = True  # the responder's watcher reports the secret from the chain
    silent_after_reveal: bool = False  # G1 stops talking once it has claimed the cash
    claims_confirm: bool = True  # False: G1's claim is sent but never confirmed

    def side(self, which: Side) -> Gw:
        return self.g1 if which is Side.INITIATOR else self.g2

    def run(self, who: Gw, effects: list[Any]) -> None:
        """Run effects to quiescence, feeding results back (depth-first)."""
        queue = [(who, e) for e in effects]
        while queue:
            actor, effect = queue.pop(0)
            other = self.g2 if actor is self.g1 else self.g1
            me = actor.state.side
            match effect:
                case Send(message=message):
                    env = seal(message, actor.key)
                    actor.sent.append(env)
                    if me in self.silent:
                        continue
                    queue += [(actor, e) for e in actor.apply(Delivered())]
                    queue += [(other, e) for e in other.apply(MessageIn(envelope=env, now=NOW))]
                case Decide():
                    queue += [(actor, e) for e in actor.apply(Decided(statement=stmt(actor)))]
                case Recheck():
                    if actor.hold_recheck:
                        continue
                    queue += [(actor, e) for e in actor.apply(Rechecked(allowed=actor.recheck_ok))]
                case SubmitOwnLock(role=role):
                    confirmed = OwnLockConfirmed(
                        claim=lock_claim(role), expiration=NOW + timedelta(hours=2)
                    )
                    queue += [(actor, e) for e in actor.apply(confirmed)]
                case CheckPeerLock(claim=claim, role=role):
                    honest = claim == lock_claim(role) and not self.peer_lock_lies.get(
                        other.state.side
                    )
                    checked = PeerLockChecked(ok=honest, reason="" if honest else "lockId differs")
                    queue += [(actor, e) for e in actor.apply(checked)]
                case SubmitOwnClaim(role=role):
                    if me is Side.INITIATOR and self.silent_after_reveal:
                        self.silent.add(Side.INITIATOR)
                    if me is Side.INITIATOR and not self.claims_confirm:
                        continue
                    secret = "0x" + SECRET.hex() if me is Side.INITIATOR else None
                    proof = HtlcAssignmentClaim(
                        network=SEC_NET if role is Role.INITIATOR else CASH_NET,
                        lock_id=lock_claim(role).lock_id,
                        tx_id=f"claim-{role.value}",
                        block_number=99,
                        secret=secret,
                    )
                    queue += [(actor, e) for e in actor.apply(OwnClaimConfirmed(claim=proof))]
                    if me is Side.INITIATOR and self.chain_watch:
                        seen = SecretSeen(secret="0x" + SECRET.hex())
                        queue += [(other, e) for e in other.apply(seen)]
                case SubmitOwnRefund():
                    queue += [(actor, e) for e in actor.apply(OwnRefundConfirmed(tx_id="refund"))]
                case Finished():
                    pass


def stmt(side: Gw, *, allowed: bool | None = None) -> ComplianceStatement:
    return ComplianceStatement(
        gateway_id=side.state.me.gateway_id,
        allowed=side.allow if allowed is None else allowed,
        decided_at=NOW,
        terms_digest=TERMS.digest,
        jurisdictions=("JP",) if side.state.side is Side.INITIATOR else ("SG",),
    )


def lock_claim(role: Role) -> HtlcLockClaim:
    leg = TERMS.initiator_leg if role is Role.INITIATOR else TERMS.participant_leg
    return HtlcLockClaim(
        network=caip2(leg.chain),
        htlc="htlc",
        lock_id=f"lock-{role.value}",
        tx_id=f"tx-{role.value}",
        block_number=10,
        log_index=0,
        hash_lock=TERMS.hash_lock,
        sender=leg.sender,
        receiver=leg.receiver,
        amount=leg.amount,
        asset=asset_caip19(leg.chain, leg.asset),
        deadline=TERMS.initiator_deadline if role is Role.INITIATOR else TERMS.participant_deadline,
        confirmations=1,
    )


def world(**kw: Any) -> World:
    k1, k2 = SigningKey.generate(), SigningKey.generate()
    gw1 = Gateway(gateway_id="jp-gw", key=k1.public)
    gw2 = Gateway(gateway_id="sg-gw", key=k2.public)
    s1 = new_session(Side.INITIATOR, session_id="s-1", me=gw1, peer=gw2, started_at=NOW)
    s2 = new_session(Side.RESPONDER, session_id="s-1", me=gw2, peer=gw1, started_at=NOW)
    w = World(Gw(s1, k1), Gw(s2, k2), **kw)
    for s in (w.g1, w.g2):  # both chains' times, well before every deadline
        s.apply(ChainTime(network=SEC_NET, time=1_700_000_000))
        s.apply(ChainTime(network=CASH_NET, time=30_000))
    return w


def start(w: World) -> None:
    w.run(w.g1, w.g1.apply(Start(terms=TERMS, now=NOW)))


def kinds(side: Gw) -> list[str]:
    return [e.kind for e in side.effects]


def test_an_honest_trade_completes_on_both_sides_with_each_sides_own_decision() -> None:
    w = world()
    start(w)
    assert w.g1.state.phase is Phase.COMPLETED
    assert w.g2.state.phase is Phase.COMPLETED
    assert w.g1.state.transcript.closed
    assert w.g2.state.transcript.closed
    assert w.g1.state.transcript.seen == w.g2.state.transcript.seen
    assert len(w.g1.state.transcript.seen) == 11
    assert status(w.g1.state)["status"] == "DONE"
    assert status(w.g2.state)["status"] == "DONE"
    for s, peer in ((w.g1, w.g2), (w.g2, w.g1)):
        assert s.state.own_statement is not None
        assert s.state.own_statement.gateway_id == s.state.me.gateway_id
        assert s.state.peer_statement is not None
        assert s.state.peer_statement.gateway_id == peer.state.me.gateway_id
        # the peer's statement is kept with its signature, verifiable with the peer's key
        env = s.state.peer_statement_envelope
        assert env is not None
        assert open_envelope(env, peer.key.public)["complianceStatement"] == (
            s.state.peer_statement.wire()
        )
        assert [e.outcome for e in s.effects if isinstance(e, Finished)] == [Outcome.COMPLETED]
        assert not s.state.outbox  # every message delivered
    # each side locked only its own leg and claimed only the other's
    assert [e.role for e in w.g1.effects if isinstance(e, SubmitOwnLock)] == [Role.INITIATOR]
    assert [e.role for e in w.g2.effects if isinstance(e, SubmitOwnLock)] == [Role.PARTICIPANT]
    assert [e.role for e in w.g1.effects if isinstance(e, SubmitOwnClaim)] == [Role.PARTICIPANT]
    assert [e.role for e in w.g2.effects if isinstance(e, SubmitOwnClaim)] == [Role.INITIATOR]


def test_initiator_refused_by_its_own_rules_sends_nothing_and_locks_nothing() -> None:
    w = world()
    w.g1.allow = False
    start(w)
    assert w.g1.state.phase is Phase.REFUSED
    assert status(w.g1.state)["status"] == "INVALID"
    assert "send" not in kinds(w.g1)
    assert "submit_own_lock" not in kinds(w.g1)
    assert w.g2.state.phase is Phase.WAITING_PROPOSAL


def test_responder_refused_by_its_own_rules_never_locks_and_initiator_never_locks() -> None:
    w = world()
    w.g2.allow = False
    start(w)
    assert w.g2.state.phase is Phase.REFUSED
    assert w.g1.state.phase is Phase.ABORTED
    assert status(w.g1.state)["status"] == "FAILED"
    assert "submit_own_lock" not in kinds(w.g1) + kinds(w.g2)
    err = open_envelope(w.g2.sent[-1], w.g2.key.public)
    assert err["type"] == "urn:ietf:params:satp:core:error:err_0.1.2"
    assert err["status"] == 403


def test_the_peers_allowed_statement_never_stands_in_for_our_own_decision() -> None:
    """The responder gets a proposal whose signed statement says allowed; until its own
    decision arrives it sends no receipt, and nothing of it is ever locked."""
    w = world()
    w.g1.apply(Start(terms=TERMS, now=NOW))
    (proposal_effect,) = [
        e for e in w.g1.apply(Decided(statement=stmt(w.g1))) if isinstance(e, Send)
    ]
    env = seal(proposal_effect.message, w.g1.key)
    effects = w.g2.apply(MessageIn(envelope=env, now=NOW))
    assert [e.kind for e in effects] == ["decide"]
    assert w.g2.state.peer_statement is not None
    assert w.g2.state.peer_statement.allowed
    assert w.g2.state.own_statement is None
    assert w.g2.state.decision == "pending"
    # time passes on both chains: still nothing is sent or locked without our own decision
    later = w.g2.apply(ChainTime(network=CASH_NET, time=30_500))
    assert later == []
    # and a refusal of our own, though the peer allowed, ends it
    w.g2.apply(Decided(statement=stmt(w.g2, allowed=False)))
    assert w.g2.state.phase is Phase.REFUSED


def test_a_proposal_whose_statement_refuses_is_aborted_without_deciding() -> None:
    w = world()
    w.g1.allow = True
    w.g1.apply(Start(terms=TERMS, now=NOW))
    refusing = stmt(w.g1, allowed=False)
    # the initiator's machine would never send it; forge the decision path by hand
    send = next(e for e in w.g1.apply(Decided(statement=stmt(w.g1))) if isinstance(e, Send))
    body = {**send.message, "complianceStatement": refusing.wire()}
    effects = w.g2.apply(MessageIn(envelope=seal(body, w.g1.key), now=NOW))
    assert "decide" not in [e.kind for e in effects]
    assert w.g2.state.phase is Phase.ABORTED


def test_responder_refuses_a_lying_lock_assertion_and_never_locks() -> None:
    """Hostile G1: its lock assertion is not borne out by the chain."""
    w = world(peer_lock_lies={Side.INITIATOR: True})
    start(w)
    assert "submit_own_lock" not in kinds(w.g2)
    assert w.g2.state.phase is Phase.ABORTED
    err = open_envelope(w.g2.sent[-1], w.g2.key.public)
    assert err["type"].endswith("err_2.2.7")
    # the liar (who did lock) is refunded at its own deadline only
    assert w.g1.state.phase is Phase.REFUNDING
    w.run(w.g1, w.g1.apply(ChainTime(network=SEC_NET, time=TERMS.initiator_deadline - 1)))
    assert "submit_own_refund" not in kinds(w.g1)
    w.run(w.g1, w.g1.apply(ChainTime(network=SEC_NET, time=TERMS.initiator_deadline)))
    assert w.g1.state.phase is Phase.REFUNDED


def test_initiator_never_reveals_against_a_lying_lock_assertion_and_is_refunded() -> None:
    """Hostile G2: it asserts a cash lock the chain does not have."""
    w = world(peer_lock_lies={Side.RESPONDER: True})
    start(w)
    assert "submit_own_claim" not in kinds(w.g1)
    assert w.g1.state.phase is Phase.REFUNDING
    assert status(w.g1.state)["substatus"] == "ROLLBACK_IN_PROGRESS"
    w.run(w.g1, w.g1.apply(ChainTime(network=SEC_NET, time=TERMS.initiator_deadline)))
    assert w.g1.state.phase is Phase.REFUNDED
    assert status(w.g1.state)["status"] == "FAILED"
    # the responder's real lock comes back to it at its own deadline
    assert w.g2.state.phase is Phase.REFUNDING
    w.run(w.g2, w.g2.apply(ChainTime(network=CASH_NET, time=TERMS.participant_deadline)))
    assert w.g2.state.phase is Phase.REFUNDED


def test_responder_does_not_lock_after_participant_lock_by() -> None:
    w = world()
    w.g2.apply(ChainTime(network=CASH_NET, time=TERMS.participant_lock_by + 1))
    start(w)
    assert "submit_own_lock" not in kinds(w.g2)
    assert w.g2.state.phase is Phase.ABORTED
    # G2 ends the session on the proposal (the trade has expired): G1 never locks either
    assert w.g1.state.phase is Phase.ABORTED
    assert "submit_own_lock" not in kinds(w.g1)


def test_initiator_does_not_reveal_after_reveal_by() -> None:
    w = world()
    w.g1.hold_recheck = True  # G1 has locked; its re-check before the reveal is slow
    start(w)
    assert w.g1.state.own_lock == "locked"
    assert w.g1.state.recheck == "pending"
    w.g1.apply(ChainTime(network=CASH_NET, time=TERMS.participant_reveal_by + 1))
    w.run(w.g1, w.g1.apply(Rechecked(allowed=True)))
    assert "submit_own_claim" not in kinds(w.g1)
    assert w.g1.state.phase is Phase.REFUNDING


def test_initiator_recheck_refused_means_no_reveal() -> None:
    w = world()
    w.g1.recheck_ok = False
    start(w)
    assert "submit_own_claim" not in kinds(w.g1)
    assert w.g1.state.phase is Phase.REFUNDING


def test_responder_claims_from_the_chain_when_the_initiator_goes_silent_after_revealing() -> None:
    """Hostile G1 claims the cash and then never sends its assignment claim (3.5)."""
    w = world(silent_after_reveal=True)
    start(w)
    assert "submit_own_claim" in kinds(w.g2)
    assert w.g2.state.phase is Phase.COMPLETED
    assert w.g2.state.transcript.step == 8  # it never heard 3.5
    # G1's undelivered messages stay in its outbox for re-sending
    assert len(w.g1.state.outbox) == 1
    assert status(w.g1.state)["phase"] == "assigned"
    assert status(w.g1.state)["substatus"] == "BRIDGE_NOT_AVAILABLE"  # its 3.5 is undelivered


def test_responder_still_claims_after_the_peer_aborts_once_it_revealed() -> None:
    w = world(chain_watch=False, silent_after_reveal=True)
    start(w)
    assert w.g2.state.phase is Phase.LOCK_ASSERTED
    assert w.g1.state.revealed
    # G1's operator aborts; the abort reaches G2 (after the undelivered 3.5 is dropped)
    abort_effects = w.g1.apply(Abort(reason="operator", now=NOW))
    abort_msg = next(e for e in abort_effects if isinstance(e, Send))
    body = dict(abort_msg.message)
    body["hashPrevMessage"] = w.g2.state.transcript.last_hash
    w.g2.apply(MessageIn(envelope=seal(body, w.g1.key), now=NOW))
    assert w.g2.state.aborted == "peer: session-abort-msg"
    assert w.g2.state.phase is Phase.REFUNDING  # its cash is locked; nothing else known yet
    # G2's watcher then sees the secret on the cash chain: it claims the security
    w.run(w.g2, w.g2.apply(SecretSeen(secret="0x" + SECRET.hex())))
    assert "submit_own_claim" in kinds(w.g2)
    assert w.g2.state.phase is Phase.COMPLETED
    # and its cash lock, claimed by G1, is never refunded
    w.run(w.g2, w.g2.apply(ChainTime(network=CASH_NET, time=TERMS.participant_deadline + 5)))
    assert "submit_own_refund" not in kinds(w.g2)


def test_initiator_never_refunds_once_revealed() -> None:
    w = world(claims_confirm=False)
    start(w)
    assert w.g1.state.revealed
    assert w.g1.state.phase is Phase.CLAIMING
    w.run(w.g1, w.g1.apply(ChainTime(network=SEC_NET, time=TERMS.initiator_deadline + 10)))
    assert "submit_own_refund" not in kinds(w.g1)


def test_a_replayed_message_raises_and_changes_nothing() -> None:
    w = world()
    start(w)
    before = w.g2.state
    with pytest.raises(Replay):
        transition(w.g2.state, MessageIn(envelope=w.g1.sent[3], now=NOW))
    assert w.g2.state == before


def test_state_survives_json_round_trip() -> None:
    """What the store keeps (one JSON document) gives back the same state."""
    w = world()
    start(w)
    for s in (w.g1.state, w.g2.state):
        assert SessionState.model_validate_json(s.model_dump_json()) == s


def test_status_maps_each_phase_to_the_api1_vocabulary() -> None:
    w = world()
    assert status(w.g2.state)["status"] == "PENDING"
    w.g1.apply(Start(terms=TERMS, now=NOW))
    st = status(w.g1.state)
    assert (st["status"], st["phase"], st["stage"]) == ("PENDING", "deciding", "STAGE1")
    w.g1.apply(Decided(statement=stmt(w.g1)))
    st = status(w.g1.state)
    assert (st["phase"], st["substatus"]) == ("proposed", "BRIDGE_NOT_AVAILABLE")  # undelivered
    assert st["step"] == "urn:ietf:params:satp:core:msgtype:transfer-proposal-msg"
    assert st["originNetwork"] == SEC_NET
    assert st["destinationNetwork"] == CASH_NET


def test_resumption_by_resending_the_outbox_completes_the_session() -> None:
    """G1 went silent after revealing (crash); after its restart it re-sends its outbox,
    re-signed (ES256 nonces differ, the payload hash does not), and both sides complete."""
    w = world(silent_after_reveal=True)
    start(w)
    (pending,) = w.g1.state.outbox
    w.silent.clear()
    resent = seal(pending, w.g1.key)
    assert resent.signature != w.g1.sent[-1].signature
    w.run(w.g1, w.g1.apply(Delivered()))
    w.run(w.g2, w.g2.apply(MessageIn(envelope=resent, now=NOW)))
    assert w.g1.state.phase is Phase.COMPLETED
    assert w.g2.state.transcript.closed
    assert w.g1.state.transcript.seen == w.g2.state.transcript.seen
    # a second re-send of the same message is a replay, refused without effect
    with pytest.raises(Replay):
        w.g2.apply(MessageIn(envelope=seal(pending, w.g1.key), now=NOW))
