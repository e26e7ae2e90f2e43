"""The SATP session of one side, as a pure state machine: ``(state, input) -> (state, effects)``.

One relayer runs one side of a two-relayer trade: the **initiator** (G1, the seller's
gateway, which holds the secret and locks the security) or the **responder** (G2, the
buyer's gateway, which locks the cash). The message sequence is
:data:`relayer.satp.verify.STEPS`; ``specs/protocol/satp.md`` gives the whole profile.

Inputs are received envelopes (verified here with :func:`relayer.satp.verify.accept`, so a
refused message raises a :class:`~relayer.satp.errors.SatpError` and changes nothing) and
local events: our own compliance decision and re-check, our own lock and claim confirmed,
the result of checking the peer's lock assertion on its chain, the secret seen on a
chain, confirmed chain times, delivery of our messages. Effects ask the edge to sign and
send a message, decide or re-check compliance, lock, check the peer's lock, claim, refund.

The machine does no I/O and reads no clock; wall-clock time arrives in the inputs (``now``)
and chain time as :class:`ChainTime`. It never signs: hashes are over message payloads, so
it computes the whole transcript itself and the edge seals each ``Send`` with its key.

Rules (``tests/unit/test_satp_session.py`` tests each):

1. nothing of ours is locked before our own decision allowed the trade; the peer's signed
   statement is recorded, never used in place of ours;
2. the responder locks only after the initiator's lock was checked on its chain and its
   own re-check passed, and only while the cash chain's time is at most
   ``participant_lock_by``;
3. the initiator claims (reveals the secret) only after the responder's lock was checked
   on its chain and its own re-check passed, and only while the cash chain's time is at
   most ``reveal_by``;
4. a lock assertion the chain does not bear out aborts the session;
5. our own lock is refunded only after its deadline on its own chain; the initiator never
   refunds once it has revealed; the responder claims whenever it learns the secret in
   time, even after the session was aborted or the peer went silent;
6. a session in which nothing of ours is locked ends (aborted) once the trade can no longer
   happen: the cash chain is past ``participant_lock_by``, or, for the initiator, the
   security chain is past its own deadline. No session stays open after every deadline.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, Field

from bridge.model.base import CanonicalModel
from bridge.swap import Outcome, Role
from bridge.types import HexBytes32
from relayer.satp.errors import MalformedMessage, OutOfOrder, SatpError
from relayer.satp.jws import Envelope
from relayer.satp.messages import (
    AckCommence,
    AckCommitFinal,
    AssertionReceipt,
    Capabilities,
    CommitPrepare,
    ComplianceStatement,
    ErrorMessage,
    HtlcAssignmentClaim,
    HtlcLockClaim,
    LockAssert,
    MsgType,
    ProposalReceipt,
    SatpMessage,
    SessionAbort,
    TransferCommence,
    TransferComplete,
    TransferProposal,
    WireTerms,
    caip2,
)
from relayer.satp.verify import Gateway, Side, Transcript, accept, claims_for, record_sent

__all__ = [
    "Abort",
    "ChainTime",
    "CheckPeerLock",
    "ClaimForPeer",
    "Decide",
    "Decided",
    "Delivered",
    "Effect",
    "Finished",
    "Input",
    "MessageIn",
    "OwnClaimConfirmed",
    "OwnLockClaimed",
    "OwnLockConfirmed",
    "OwnRefundConfirmed",
    "PeerLockChecked",
    "Phase",
    "Recheck",
    "Rechecked",
    "SecretSeen",
    "Send",
    "SessionState",
    "Start",
    "SubmitOwnClaim",
    "SubmitOwnLock",
    "SubmitOwnRefund",
    "new_session",
    "status",
    "transition",
]


class Phase(StrEnum):
    """Where one side's session is (derived from the state; see the status table)."""

    WAITING_PROPOSAL = "waiting_proposal"
    DECIDING = "deciding"
    PROPOSED = "proposed"
    RECEIPTED = "receipted"
    COMMENCED = "commenced"
    LOCKING = "locking"
    LOCK_ASSERTED = "lock_asserted"
    VERIFYING_PEER_LOCK = "verifying_peer_lock"
    LOCK_VERIFIED = "lock_verified"
    PREPARED = "prepared"
    RECHECKING = "rechecking"
    CLAIMING = "claiming"
    ASSIGNED = "assigned"
    CLAIM_HELD = "claim_held"
    COMPLETED = "completed"
    REFUSED = "refused"
    REFUNDING = "refunding"
    REFUNDED = "refunded"
    ABORTED = "aborted"


LockPhase = Literal["none", "submitted", "locked", "claimed_by_peer", "refund_sent", "refunded"]


class SessionState(CanonicalModel):
    """Everything one side knows about one session (pure data; persisted whole)."""

    side: Side
    me: Gateway
    peer: Gateway
    transcript: Transcript
    started_at: AwareDatetime
    lock_window_s: int = Field(default=0, strict=True, ge=0)
    lock_confirmations: int = Field(default=1, strict=True, ge=0)
    terms: WireTerms | None = None
    decision: Literal["pending", "allowed", "refused"] = "pending"
    own_statement: ComplianceStatement | None = None
    peer_statement: ComplianceStatement | None = None
    peer_statement_envelope: Envelope | None = None
    received: tuple[Envelope, ...] = ()
    outbox: tuple[dict[str, Any], ...] = ()
    own_lock: LockPhase = "none"
    own_lock_claim: HtlcLockClaim | None = None
    peer_lock_claim: HtlcLockClaim | None = None
    peer_lock: Literal["none", "checking", "verified", "bad"] = "none"
    lock_requested: bool = False
    recheck: Literal["none", "pending", "passed", "failed"] = "none"
    own_claim: Literal["none", "submitted", "confirmed", "held"] = "none"
    own_claim_proof: HtlcAssignmentClaim | None = None
    secret: HexBytes32 | None = None
    revealed: bool = False
    peer_assigned: bool = False
    own_lock_settled: bool = False
    aborted: str | None = None
    aborted_at_stage: str | None = None
    chain_time: dict[str, int] = Field(default_factory=dict)
    seq: int = Field(default=0, ge=0)
    updated_at: AwareDatetime | None = None

    # -- derived facts -----------------------------------------------------------
    @property
    def own_role(self) -> Role:
        """The swap leg we lock: the initiator leg for G1, the participant leg for G2."""
        return Role.INITIATOR if self.side is Side.INITIATOR else Role.PARTICIPANT

    def _terms(self) -> WireTerms:
        if self.terms is None:
            raise OutOfOrder("messageType: no proposal yet in this session")
        return self.terms

    def own_chain(self) -> str:
        """CAIP-2 of the chain our own leg is on."""
        t = self._terms()
        leg = t.initiator_leg if self.side is Side.INITIATOR else t.participant_leg
        return caip2(leg.chain)

    def peer_chain(self) -> str:
        """CAIP-2 of the chain the peer's leg is on."""
        t = self._terms()
        leg = t.participant_leg if self.side is Side.INITIATOR else t.initiator_leg
        return caip2(leg.chain)

    def own_deadline(self) -> int:
        """Our own lock's refund deadline, on its chain."""
        t = self._terms()
        return t.initiator_deadline if self.side is Side.INITIATOR else t.participant_deadline

    @property
    def phase(self) -> Phase:
        """The phase of the status table in ``specs/protocol/satp.md``."""
        if self.decision == "refused":
            return Phase.REFUSED
        if self.own_lock == "refunded":
            return Phase.REFUNDED
        if self.own_claim == "confirmed":
            done = self.peer_assigned or self.own_lock_settled or self.transcript.closed
            if self.side is Side.RESPONDER or done:
                return Phase.COMPLETED
            return Phase.ASSIGNED
        if self.own_claim == "held":
            return Phase.CLAIM_HELD
        if self.own_claim == "submitted":
            return Phase.CLAIMING
        if self.own_lock == "refund_sent":
            return Phase.REFUNDING
        if self.secret is not None:
            return Phase.RECHECKING
        if self.aborted is not None:
            if self.own_lock in ("submitted", "locked"):
                return Phase.REFUNDING
            return Phase.ABORTED
        if self.recheck == "pending":
            return Phase.RECHECKING
        if self.peer_lock == "checking":
            return Phase.VERIFYING_PEER_LOCK
        if self.own_lock == "submitted":
            return Phase.LOCKING
        step = self.transcript.step
        if self.side is Side.INITIATOR:
            return {
                0: Phase.DECIDING,
                1: Phase.PROPOSED,
                2: Phase.PROPOSED,
                3: Phase.COMMENCED,
                4: Phase.LOCKING,
                5: Phase.LOCK_ASSERTED,
                6: Phase.LOCK_VERIFIED,
                7: Phase.PREPARED,
            }.get(step, Phase.PREPARED)
        return {
            0: Phase.WAITING_PROPOSAL,
            1: Phase.DECIDING,
            2: Phase.RECEIPTED,
            3: Phase.RECEIPTED,
            4: Phase.COMMENCED,
            5: Phase.VERIFYING_PEER_LOCK,
            6: Phase.LOCK_VERIFIED,
            7: Phase.LOCKING,
        }.get(step, Phase.LOCK_ASSERTED)

    @property
    def outcome(self) -> Outcome:
        """The swap outcome as ``bridge.swap.Outcome`` (``open`` while anything can happen)."""
        phase = self.phase
        if phase is Phase.COMPLETED:
            return Outcome.COMPLETED
        if phase is Phase.REFUSED:
            return Outcome.REFUSED
        if phase is Phase.REFUNDED:
            return Outcome.REFUNDED
        if phase is Phase.ABORTED:
            return Outcome.ABORTED
        return Outcome.OPEN


# ---------------------------------------------------------------------------------- inputs


class _In(CanonicalModel):
    now: AwareDatetime | None = None
    """When the input happened (wall clock), if known: stamps the messages it causes."""


class Start(_In):
    """Initiator: begin a session on ``terms`` (asks for our own compliance decision)."""

    kind: Literal["start"] = "start"
    terms: WireTerms


class MessageIn(_In):
    """A received envelope, with the wall-clock time it arrived."""

    kind: Literal["message_in"] = "message_in"
    envelope: Envelope
    now: AwareDatetime


class Decided(_In):
    """Our own compliance decision for our side (never the peer's)."""

    kind: Literal["decided"] = "decided"
    statement: ComplianceStatement


class Rechecked(_In):
    """Our own re-check (before our lock as responder, before our claim as either side)."""

    kind: Literal["rechecked"] = "rechecked"
    allowed: bool
    reasons: tuple[str, ...] = ()


class OwnLockConfirmed(_In):
    """Our own lock is confirmed at its depth; ``claim`` describes it for the peer."""

    kind: Literal["own_lock_confirmed"] = "own_lock_confirmed"
    claim: HtlcLockClaim
    expiration: AwareDatetime


class PeerLockChecked(_In):
    """The peer's asserted lock, checked on its chain against the recomputed lock id."""

    kind: Literal["peer_lock_checked"] = "peer_lock_checked"
    ok: bool
    reason: str = ""


class SecretSeen(_In):
    """The secret, read from a chain (a claim of the cash lock). Responder only."""

    kind: Literal["secret_seen"] = "secret_seen"
    secret: HexBytes32


class OwnClaimConfirmed(_In):
    """Our own claim of the peer's lock is confirmed."""

    kind: Literal["own_claim_confirmed"] = "own_claim_confirmed"
    claim: HtlcAssignmentClaim


class OwnLockClaimed(_In):
    """Our own lock was claimed for its receiver (by the peer, by us for the peer, or by
    anyone with the public secret)."""

    kind: Literal["own_lock_claimed"] = "own_lock_claimed"
    tx_id: str


class OwnRefundConfirmed(_In):
    """Our own lock was refunded to us."""

    kind: Literal["own_refund_confirmed"] = "own_refund_confirmed"
    tx_id: str


class ChainTime(_In):
    """A confirmed chain time (block timestamp or round) on chain ``network`` (CAIP-2)."""

    kind: Literal["chain_time"] = "chain_time"
    network: str
    time: int = Field(strict=True, ge=0)


class Delivered(_In):
    """The first message of the outbox reached the peer (or the peer already had it)."""

    kind: Literal["delivered"] = "delivered"


class Abort(_In):
    """The operator (or a deadline) ends the session on our side."""

    kind: Literal["abort"] = "abort"
    reason: str = Field(min_length=1, max_length=512)
    now: AwareDatetime


Input = Annotated[
    Start
    | MessageIn
    | Decided
    | Rechecked
    | OwnLockConfirmed
    | PeerLockChecked
    | SecretSeen
    | OwnClaimConfirmed
    | OwnLockClaimed
    | OwnRefundConfirmed
    | ChainTime
    | Delivered
    | Abort,
    Field(discriminator="kind"),
]


# ---------------------------------------------------------------------------------- effects


class _Eff(CanonicalModel):
    seq: int = Field(strict=True, ge=1)


class Send(_Eff):
    """Seal ``message`` with our key and deliver it to the peer (it is also in the outbox)."""

    kind: Literal["send"] = "send"
    message: dict[str, Any]


class Decide(_Eff):
    """Run our own compliance decision on the terms, for our side."""

    kind: Literal["decide"] = "decide"


class Recheck(_Eff):
    """Re-check our side's compliance (``before``: our lock or our claim)."""

    kind: Literal["recheck"] = "recheck"
    before: Literal["lock", "claim"]


class SubmitOwnLock(_Eff):
    """Lock our own leg in its chain's HTLC."""

    kind: Literal["submit_own_lock"] = "submit_own_lock"
    role: Role


class CheckPeerLock(_Eff):
    """Check the peer's lock claim on its chain (recomputed lock id, amount, depth...)."""

    kind: Literal["check_peer_lock"] = "check_peer_lock"
    role: Role
    claim: HtlcLockClaim


class SubmitOwnClaim(_Eff):
    """Claim the peer's leg for our party (the initiator's claim reveals the secret)."""

    kind: Literal["submit_own_claim"] = "submit_own_claim"
    role: Role


class ClaimForPeer(_Eff):
    """Initiator, after its own claim: claim our own lock for the peer's party with the now
    public secret (an HTLC claim pays its fixed receiver, whoever sends it), so the exchange
    completes even if the peer's gateway never claims. Already claimed counts as done."""

    kind: Literal["claim_for_peer"] = "claim_for_peer"
    role: Role


class SubmitOwnRefund(_Eff):
    """Refund our own lock (its deadline has passed on its chain)."""

    kind: Literal["submit_own_refund"] = "submit_own_refund"
    role: Role


class Finished(_Eff):
    """The session reached a terminal outcome for our side."""

    kind: Literal["finished"] = "finished"
    outcome: Outcome


Effect = Annotated[
    Send
    | Decide
    | Recheck
    | SubmitOwnLock
    | CheckPeerLock
    | SubmitOwnClaim
    | ClaimForPeer
    | SubmitOwnRefund
    | Finished,
    Field(discriminator="kind"),
]


# ---------------------------------------------------------------------------------- machine


def new_session(
    side: Side,
    *,
    session_id: str,
    me: Gateway,
    peer: Gateway,
    started_at: datetime,
    lock_window_s: int = 0,
    lock_confirmations: int = 1,
) -> SessionState:
    """A fresh session for one side (the responder's waits for the proposal)."""
    return SessionState(
        side=side,
        me=me,
        peer=peer,
        transcript=Transcript(me=side, session_id=session_id),
        started_at=started_at,
        lock_window_s=lock_window_s,
        lock_confirmations=lock_confirmations,
    )


class _B:
    """Accumulates the new state and the effects, with consecutive sequence numbers."""

    def __init__(self, state: SessionState, now: datetime) -> None:
        self.s = state
        self.now = now
        self.effects: list[Any] = []

    def set(self, **changes: Any) -> None:
        self.s = self.s.model_copy(update=changes)

    def emit(self, cls: type[_Eff], **kwargs: Any) -> None:
        seq = self.s.seq + 1
        self.set(seq=seq)
        self.effects.append(cls(seq=seq, **kwargs))

    def common(self) -> dict[str, Any]:
        t = self.s.transcript
        out: dict[str, Any] = {
            "session_id": t.session_id,
            "transfer_context_id": t.transfer_context_id or self.s._terms().swap_id[2:],
        }
        if t.last_hash is not None:
            out["hash_prev_message"] = t.last_hash
        return out

    def send(self, message: SatpMessage) -> None:
        self.set(transcript=record_sent(self.s.transcript, message))
        wire = message.wire()
        self.set(outbox=(*self.s.outbox, wire))
        self.emit(Send, message=wire)

    def abort(self, reason: str, *, code: SatpError | None = None) -> None:
        """Close the session from our side; the chains settle what is locked."""
        stage = (self.s.transcript.next_step or ("", "", "3.9"))[2]
        if not self.s.transcript.closed and self.s.transcript.transfer_context_id is not None:
            if code is not None:
                body = code.problem(
                    session_id=self.s.transcript.session_id,
                    transfer_context_id=self.s.transcript.transfer_context_id,
                    prev_msg_type=self.s.transcript.last_type,
                    hash_prev_message=self.s.transcript.last_hash or "0" * 64,
                    timestamp=self.now,
                )
                self.send(ErrorMessage.model_validate(body))
            else:
                self.send(
                    SessionAbort(
                        session_id=self.s.transcript.session_id,
                        transfer_context_id=self.s.transcript.transfer_context_id,
                        hash_prev_message=self.s.transcript.last_hash,
                    )
                )
        self.set(aborted=reason, aborted_at_stage=stage)


def _statement_binds(st: ComplianceStatement, terms: WireTerms, gateway: Gateway) -> bool:
    return st.terms_digest == terms.digest and st.gateway_id == gateway.gateway_id


def _on_message(b: _B, change: MessageIn) -> None:
    s = b.s
    lock_window = s.lock_window_s
    transcript, msg = accept(
        s.transcript,
        change.envelope,
        peer=s.peer.key,
        me=s.me.key,
        now=change.now,
        lock_window=timedelta(seconds=lock_window),
    )
    b.set(transcript=transcript, received=(*s.received, change.envelope))
    if isinstance(msg, ErrorMessage | SessionAbort):
        reason = msg.title if isinstance(msg, ErrorMessage) else "session-abort-msg"
        stage = (s.transcript.next_step or ("", "", "3.9"))[2]
        b.set(aborted=f"peer: {reason}", aborted_at_stage=stage)
        return
    if isinstance(msg, TransferProposal):
        terms = msg.swap_terms
        peer_ok = _statement_binds(msg.compliance_statement, terms, s.peer)
        b.set(
            terms=terms,
            peer_statement=msg.compliance_statement,
            peer_statement_envelope=change.envelope,
        )
        if not peer_ok or not msg.compliance_statement.allowed:
            b.abort("the initiator's compliance statement does not allow these terms")
            return
        b.emit(Decide)
    elif isinstance(msg, ProposalReceipt):
        terms = s._terms()
        b.set(peer_statement=msg.compliance_statement, peer_statement_envelope=change.envelope)
        if not _statement_binds(msg.compliance_statement, terms, s.peer) or not (
            msg.compliance_statement.allowed
        ):
            b.abort("the responder's compliance statement does not allow these terms")
            return
        b.send(
            TransferCommence(
                **b.common(), hash_transfer_init_claim=b.s.transcript.hash_transfer_init_claim
            )
        )
    elif isinstance(msg, TransferCommence):
        b.send(AckCommence(**b.common()))
    elif isinstance(msg, AckCommence):
        b.set(own_lock="submitted")
        b.emit(SubmitOwnLock, role=s.own_role)
    elif isinstance(msg, LockAssert):
        claim = msg.lock_assertion_claim
        peer_role = Role.PARTICIPANT if s.side is Side.INITIATOR else Role.INITIATOR
        b.set(peer_lock_claim=claim, peer_lock="checking")
        b.emit(CheckPeerLock, role=peer_role, claim=claim)
    elif isinstance(msg, AssertionReceipt):
        b.send(CommitPrepare(**b.common()))
    elif isinstance(msg, CommitPrepare):
        b.set(lock_requested=True, recheck="pending")
        b.emit(Recheck, before="lock")
    elif isinstance(msg, AckCommitFinal):
        if s.side is Side.RESPONDER:
            secret = msg.assignment_assertion_claim.secret
            assert secret is not None  # the verifier refuses G1's claim without it
            if hashlib.sha256(bytes.fromhex(secret[2:])).hexdigest() != s._terms().hash_lock[2:]:
                raise MalformedMessage(
                    "assignmentAssertionClaim.secret: its SHA-256 is not the hashlock",
                    code="err_3.5.3",
                    status=404,
                )
            _learn_secret(b, secret)
            _send_assignment(b)
        else:
            b.set(peer_assigned=True)
            b.send(
                TransferComplete(
                    **b.common(), hash_transfer_commence=b.s.transcript.hash_transfer_commence
                )
            )
    elif isinstance(msg, TransferComplete):
        b.set(peer_assigned=True)


def _send_assignment(b: _B) -> None:
    """Send our assignment claim once it is confirmed and the session is at our step."""
    s = b.s
    nxt = s.transcript.next_step
    if (
        s.own_claim == "confirmed"
        and s.own_claim_proof is not None
        and s.aborted is None
        and nxt is not None
        and nxt[0] is MsgType.ACK_COMMIT_FINAL
        and nxt[1] is s.side
    ):
        b.send(AckCommitFinal(**b.common(), assignment_assertion_claim=s.own_claim_proof))


def _learn_secret(b: _B, secret: str) -> None:
    s = b.s
    if s.secret is not None:
        return
    b.set(secret=secret, own_lock="claimed_by_peer" if s.own_lock == "locked" else s.own_lock)
    if s.own_claim == "none" and s.peer_lock == "verified":
        b.set(recheck="pending")
        b.emit(Recheck, before="claim")


def _advance(b: _B) -> None:
    """Chain-driven actions that must happen whatever the session's messages do."""
    s = b.s
    if s.terms is None:
        return
    t = s.terms
    own_now = s.chain_time.get(s.own_chain())
    cash_now = s.chain_time.get(caip2(t.participant_leg.chain))
    sec_now = s.chain_time.get(caip2(t.initiator_leg.chain))
    # Responder: lock the cash once asked, its re-check passed, and while lock_by allows.
    if (
        s.side is Side.RESPONDER
        and s.lock_requested
        and s.own_lock == "none"
        and s.recheck == "passed"
        and s.aborted is None
    ):
        if cash_now is not None and cash_now <= t.participant_lock_by:
            b.set(own_lock="submitted")
            b.emit(SubmitOwnLock, role=s.own_role)
        elif cash_now is not None:
            b.abort("participant_lock_by has passed on the cash chain: not locking")
    s = b.s
    # Initiator: reveal (claim the cash) once the responder's lock is verified and re-checked.
    if (
        s.side is Side.INITIATOR
        and s.peer_lock == "verified"
        and s.recheck == "passed"
        and not s.revealed
        and s.aborted is None
        and s.own_lock == "locked"
    ):
        reveal_by = t.participant_reveal_by
        last = reveal_by if reveal_by is not None else t.participant_deadline - 1
        if cash_now is not None and cash_now <= last:
            b.set(revealed=True, own_claim="submitted")
            b.emit(SubmitOwnClaim, role=Role.PARTICIPANT)
        elif cash_now is not None:
            b.abort("reveal_by has passed on the cash chain: not revealing")
    s = b.s
    # Responder: claim the security with the secret while the security lock is open.
    if (
        s.side is Side.RESPONDER
        and s.secret is not None
        and s.recheck == "passed"
        and s.own_claim == "none"
        and s.peer_lock == "verified"
        and (sec_now is None or sec_now < t.initiator_deadline)
    ):
        b.set(own_claim="submitted")
        b.emit(SubmitOwnClaim, role=Role.INITIATOR)
    s = b.s
    # Nothing of ours locked, and the trade can no longer happen: end the session (rule 6).
    if s.own_lock == "none" and s.aborted is None and s.decision != "refused":
        if cash_now is not None and cash_now > t.participant_lock_by:
            b.abort("participant_lock_by has passed on the cash chain: the trade expired")
        elif s.side is Side.INITIATOR and sec_now is not None and sec_now >= t.initiator_deadline:
            b.abort("the security's deadline has passed before our lock: the trade expired")
    s = b.s
    # Our own lock back after its deadline, unless the initiator has revealed.
    if (
        s.own_lock == "locked"
        and not s.revealed
        and own_now is not None
        and own_now >= s.own_deadline()
    ):
        b.set(own_lock="refund_sent")
        b.emit(SubmitOwnRefund, role=s.own_role)


def transition(state: SessionState, change: _In) -> tuple[SessionState, tuple[Any, ...]]:
    """Apply one input; return the new state and the effects to run, in order.

    A received message that the verifier refuses raises its :class:`SatpError` and the
    caller keeps the old state.
    """
    before = state.outcome
    now = change.now or state.updated_at or state.started_at
    b = _B(state, now)
    if change.now is not None:
        b.set(updated_at=change.now)
    s = state
    match change:
        case Start(terms=terms):
            if s.side is not Side.INITIATOR or s.terms is not None:
                raise OutOfOrder("start: only a new initiator session can start")
            b.set(terms=terms)
            b.emit(Decide)
        case MessageIn():
            _on_message(b, change)
        case Decided(statement=st):
            terms = s._terms()
            if s.decision != "pending":
                pass
            elif s.aborted is not None:  # recorded for the audit; nothing more is sent
                b.set(decision="allowed" if st.allowed else "refused", own_statement=st)
            elif st.terms_digest != terms.digest or st.gateway_id != s.me.gateway_id:
                raise MalformedMessage("statement: not our decision on these terms")
            elif not st.allowed:
                b.set(decision="refused", own_statement=st)
                if s.side is Side.RESPONDER:
                    b.abort(
                        "our compliance decision refused the trade",
                        code=SatpError(
                            "compliance: our jurisdiction's rules refuse this trade",
                            code="err_0.1.2",
                            status=403,
                        ),
                    )
            else:
                b.set(decision="allowed", own_statement=st)
                if s.side is Side.INITIATOR:
                    b.send(_proposal(b, terms, st))
                else:
                    b.send(
                        ProposalReceipt(
                            **b.common(),
                            hash_transfer_init_claim=s.transcript.hash_transfer_init_claim,
                            timestamp=st.decided_at,
                            compliance_statement=st,
                        )
                    )
        case Rechecked(allowed=allowed, reasons=reasons):
            if s.recheck == "pending":
                b.set(recheck="passed" if allowed else "failed")
                if not allowed:
                    if s.side is Side.RESPONDER and s.secret is not None:
                        b.set(own_claim="held")
                    else:
                        why = f": {'; '.join(reasons)}" if reasons else ""
                        b.abort(f"our compliance re-check refused the trade{why}")
        case OwnLockConfirmed(claim=claim, expiration=expiration):
            if s.own_lock == "submitted":
                b.set(own_lock="locked", own_lock_claim=claim)
                if s.aborted is None:
                    b.send(
                        LockAssert(
                            **b.common(),
                            lock_assertion_claim=claim,
                            lock_assertion_expiration=expiration,
                        )
                    )
                    if s.side is Side.RESPONDER:
                        b.set(recheck="none")
        case PeerLockChecked(ok=ok, reason=reason):
            if s.peer_lock == "checking":
                if ok:
                    b.set(peer_lock="verified")
                    if s.side is Side.RESPONDER:
                        b.send(AssertionReceipt(**b.common()))
                    else:
                        b.set(recheck="pending")
                        b.emit(Recheck, before="claim")
                else:
                    b.set(peer_lock="bad")
                    b.abort(
                        f"the peer's lock assertion is not borne out by its chain: {reason}",
                        code=SatpError(reason or "lock not found", code="err_2.2.7", status=404),
                    )
        case SecretSeen(secret=secret):
            if s.side is Side.RESPONDER and (
                hashlib.sha256(bytes.fromhex(secret[2:])).hexdigest() == s._terms().hash_lock[2:]
            ):
                _learn_secret(b, secret)
        case OwnClaimConfirmed(claim=claim):
            if s.own_claim == "submitted":
                b.set(own_claim="confirmed", own_claim_proof=claim)
                _send_assignment(b)
                if s.side is Side.INITIATOR and s.own_lock == "locked":
                    b.emit(ClaimForPeer, role=Role.INITIATOR)
        case OwnLockClaimed():
            b.set(own_lock_settled=True)
            if s.own_lock == "locked":
                b.set(own_lock="claimed_by_peer")
        case OwnRefundConfirmed():
            if s.own_lock in ("refund_sent", "locked"):
                b.set(own_lock="refunded")
        case ChainTime(network=network, time=time):
            if time > s.chain_time.get(network, -1):
                b.set(chain_time={**s.chain_time, network: time})
        case Delivered():
            if s.outbox:
                b.set(outbox=s.outbox[1:])
        case Abort(reason=reason):
            if s.aborted is None:
                b.abort(reason)
        case _:
            raise TypeError(f"unknown input {type(change).__name__}")
    if b.s.terms is not None:
        _advance(b)
    after = b.s.outcome
    if before is Outcome.OPEN and after is not Outcome.OPEN:
        b.emit(Finished, outcome=after)
    return b.s, tuple(b.effects)


def _proposal(b: _B, terms: WireTerms, st: ComplianceStatement) -> TransferProposal:
    s = b.s
    return TransferProposal(
        session_id=s.transcript.session_id,
        transfer_context_id=terms.swap_id[2:],
        transfer_init_claims=claims_for(terms, initiator=s.me, responder=s.peer),
        gateway_and_network_capabilities=Capabilities(
            network_lock_expiration_time=max(1, s.lock_window_s)
        ),
        swap_terms=terms,
        compliance_statement=st,
    )


# ---------------------------------------------------------------------------------- status

_SUBSTATUS = {
    Phase.LOCKING: "WAIT_SOURCE_CONFIRMATION",
    Phase.LOCK_ASSERTED: "WAIT_DESTINATION_CONFIRMATION",
    Phase.LOCK_VERIFIED: "WAIT_DESTINATION_CONFIRMATION",
    Phase.PREPARED: "WAIT_DESTINATION_CONFIRMATION",
    Phase.VERIFYING_PEER_LOCK: "WAIT_DESTINATION_CONFIRMATION",
    Phase.RECHECKING: "WAIT_DESTINATION_CONFIRMATION",
    Phase.CLAIMING: "WAIT_DESTINATION_CONFIRMATION",
    Phase.ASSIGNED: "WAIT_DESTINATION_CONFIRMATION",
    Phase.CLAIM_HELD: "UNKNOWN_ERROR",
    Phase.REFUNDING: "ROLLBACK_IN_PROGRESS",
}


def status(state: SessionState) -> dict[str, Any]:
    """The API1 ``StatusResponse`` members, next to our phase and swap outcome."""
    phase = state.phase
    if phase is Phase.COMPLETED:
        api = "DONE"
    elif phase is Phase.REFUSED:
        api = "INVALID"
    elif phase in (Phase.REFUNDED, Phase.ABORTED):
        api = "FAILED"
    else:
        api = "PENDING"
    substatus = _SUBSTATUS.get(phase)
    if api == "PENDING" and state.outbox and phase not in (Phase.REFUNDING, Phase.CLAIM_HELD):
        substatus = "BRIDGE_NOT_AVAILABLE"  # a message of ours waits for the peer
    nxt = state.transcript.next_step
    stage_of_step = (nxt[2] if nxt is not None else "3.9")[0]
    stage = state.aborted_at_stage[0] if state.aborted_at_stage else stage_of_step
    out: dict[str, Any] = {
        "status": api,
        "substatus": substatus,
        "stage": f"STAGE{stage}",
        "step": state.transcript.last_type,
        "startTime": state.started_at.isoformat().replace("+00:00", "Z"),
        "phase": phase.value,
        "outcome": state.outcome.value,
        "side": state.side.value,
        "sessionId": state.transcript.session_id,
        "transferContextId": state.transcript.transfer_context_id,
        "abortReason": state.aborted,
        "ownDecision": None if state.own_statement is None else state.own_statement.wire(),
        "peerDecision": None if state.peer_statement is None else state.peer_statement.wire(),
    }
    if state.terms is not None:
        out["originNetwork"] = caip2(state.terms.initiator_leg.chain)
        out["destinationNetwork"] = caip2(state.terms.participant_leg.chain)
    return out
