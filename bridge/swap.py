"""The atomic-swap protocol as a pure, deterministic state machine.

Two legs settle against each other (a security on one chain, cash on another):

- the **initiator** knows the secret; it locks the *initiator leg* first, with the later
  deadline;
- the **participant** locks the *participant leg* second, with the earlier deadline;
- the initiator claims the participant leg, which publishes the secret on that chain;
- the participant claims the initiator leg with the now-public secret.

``transition(state, change) -> (state, effects)`` is the whole protocol. It does no I/O and
reads no clock: time enters only as observed chain heights and timestamps
(:class:`ChainAdvanced`). Replaying the same inputs gives the same states and effects, which
is what lets the relayer write each input and its effects in one transaction and resume after
a crash by replay. Every effect carries ``(swap_id, seq)`` so the executor can run it
idempotently.

Rules the machine keeps (checked by the property tests):

1. nothing is locked before the compliance decision allows the trade;
2. the participant locks only while its own deadline still leaves the claim window;
3. the secret is revealed (first claim) only after **both** locks are confirmed, both match the
   agreed terms, and the pre-claim re-check of **both** claims passed, and only while the
   participant leg's chain time is at most ``reveal_by`` (a reveal mined too late would
   publish the secret without paying); a re-check refused again at the moment of the reveal
   withdraws it; a revealing claim that failed after it may have been broadcast makes the
   secret public;
4. once the secret is public, the initiator leg is never refunded by the relayer: the
   participant's claim is retried until it lands;
5. a leg is refunded only after its deadline, observed on its own chain.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, model_validator

from bridge.model.base import CanonicalModel
from bridge.model.chain import AssetRef, ChainRef
from bridge.model.enums import Standard
from bridge.model.transfer import Refusal
from bridge.types import Address, Amount, HexBytes32

__all__ = [
    "CancelSwap",
    "ChainAdvanced",
    "ClaimObserved",
    "ClaimRecheck",
    "ComplianceDecided",
    "Effect",
    "Leg",
    "LegPhase",
    "LegState",
    "LockObserved",
    "Outcome",
    "RecheckClaims",
    "RefundObserved",
    "RequestCheck",
    "Role",
    "StartSwap",
    "StateChange",
    "SubmitClaim",
    "SubmitLock",
    "SubmitRefund",
    "SwapFinished",
    "SwapState",
    "SwapTerms",
    "TxFailed",
    "chain_key",
    "transition",
]


class Role(StrEnum):
    """Which party a leg belongs to (the party that locks it)."""

    INITIATOR = "initiator"
    PARTICIPANT = "participant"


def chain_key(chain: ChainRef) -> str:
    """A short stable key for a chain: ``evm:<id>`` or ``algorand:<genesis hash>``."""
    if chain.kind == "evm":
        return f"evm:{chain.chain_id}"
    return f"algorand:{chain.genesis_hash}"


class Leg(CanonicalModel):
    """One side of the trade: ``amount`` of ``asset`` (None: native coin), sender to receiver."""

    chain: ChainRef
    asset: AssetRef | None = None
    standard: Standard | None = None
    amount: Amount = Field(gt=0)
    sender: Address
    receiver: Address
    partition: str | None = None

    @model_validator(mode="after")
    def _asset_on_chain(self) -> Leg:
        if self.asset is not None and chain_key(self.asset.chain) != chain_key(self.chain):
            raise ValueError("asset: must be on the leg's chain")
        if self.sender == self.receiver:
            raise ValueError("receiver: must differ from sender")
        return self


class SwapTerms(CanonicalModel):
    """What both parties agreed: legs, hashlock and deadlines (chain-native numbers).

    ``initiator_deadline`` is on the initiator leg's chain, ``participant_deadline`` on the
    participant leg's chain; ``participant_lock_by`` is the last chain time (participant
    chain) at which the participant may still lock, leaving the initiator a claim window;
    ``participant_reveal_by`` the last one at which the initiator may reveal the secret.
    """

    swap_id: HexBytes32
    hashlock: HexBytes32
    initiator_leg: Leg
    participant_leg: Leg
    initiator_deadline: int = Field(strict=True, ge=0)
    participant_deadline: int = Field(strict=True, ge=0)
    participant_lock_by: int = Field(strict=True, ge=0)
    participant_reveal_by: int | None = Field(default=None, strict=True, ge=0)

    @model_validator(mode="after")
    def _coherent(self) -> SwapTerms:
        if self.participant_lock_by >= self.participant_deadline:
            raise ValueError("participant_lock_by: must be before participant_deadline")
        if self.participant_reveal_by is not None and not (
            self.participant_lock_by < self.participant_reveal_by < self.participant_deadline
        ):
            raise ValueError(
                "participant_reveal_by: must be after participant_lock_by and before "
                "participant_deadline"
            )
        return self

    @property
    def reveal_by(self) -> int:
        """The last participant-chain time at which the secret may be revealed: a claim sent
        later might be mined after the deadline, reverting with the secret in public."""
        if self.participant_reveal_by is not None:
            return self.participant_reveal_by
        return self.participant_deadline - 1

    def leg(self, role: Role) -> Leg:
        """The leg locked by ``role``."""
        return self.initiator_leg if role is Role.INITIATOR else self.participant_leg

    def deadline(self, role: Role) -> int:
        """The refund deadline of ``role``'s leg, on that leg's chain."""
        return self.initiator_deadline if role is Role.INITIATOR else self.participant_deadline


class LegPhase(StrEnum):
    """Where one leg is."""

    NONE = "none"
    LOCK_SENT = "lock_sent"
    LOCKED = "locked"
    CLAIM_SENT = "claim_sent"
    CLAIMED = "claimed"
    REFUND_SENT = "refund_sent"
    REFUNDED = "refunded"
    LOCK_FAILED = "lock_failed"


class LegState(CanonicalModel):
    """One leg's progress, with the transaction ids seen for it."""

    phase: LegPhase = LegPhase.NONE
    lock_id: str | None = None
    lock_tx: str | None = None
    claim_tx: str | None = None
    refund_tx: str | None = None


class Outcome(StrEnum):
    """How a swap ended (or ``open``)."""

    OPEN = "open"
    COMPLETED = "completed"
    REFUNDED = "refunded"
    REFUSED = "refused"
    CANCELLED = "cancelled"
    ABORTED = "aborted"


class SwapState(CanonicalModel):
    """Everything the engine knows about one swap. Pure data; derived facts are properties."""

    terms: SwapTerms
    started: bool = False
    decision: Literal["pending", "allowed", "refused"] = "pending"
    refusals: tuple[Refusal, ...] = ()
    recheck: Literal["none", "pending", "passed", "failed"] = "none"
    initiator: LegState = LegState()
    participant: LegState = LegState()
    secret_public: bool = False
    cancelled: bool = False
    seq: int = 0
    chain_time: dict[str, int] = Field(default_factory=dict)

    def leg_state(self, role: Role) -> LegState:
        """The progress of ``role``'s leg."""
        return self.initiator if role is Role.INITIATOR else self.participant

    def _past_deadline(self, role: Role) -> bool:
        now = self.chain_time.get(chain_key(self.terms.leg(role).chain))
        return now is not None and now >= self.terms.deadline(role)

    @property
    def outcome(self) -> Outcome:
        """Terminal outcome, or OPEN while anything can still happen."""
        i, p = self.initiator.phase, self.participant.phase
        if self.decision == "refused":
            return Outcome.REFUSED
        if self.cancelled:
            return Outcome.CANCELLED
        if i is LegPhase.CLAIMED and p is LegPhase.CLAIMED:
            return Outcome.COMPLETED
        if i is LegPhase.LOCK_FAILED:
            return Outcome.ABORTED
        settled = {LegPhase.REFUNDED, LegPhase.NONE, LegPhase.LOCK_FAILED}
        if p is LegPhase.LOCK_SENT and self._past_deadline(Role.PARTICIPANT):
            # never confirmed and no longer claimable; if it lands late it is refunded
            settled.add(LegPhase.LOCK_SENT)
        if i is LegPhase.REFUNDED and p in settled:
            return Outcome.REFUNDED
        return Outcome.OPEN


# ---------------------------------------------------------------- inputs (state changes)


class _Change(CanonicalModel):
    pass


class StartSwap(_Change):
    """Command: begin (ask for the compliance decision)."""

    kind: Literal["start"] = "start"


class CancelSwap(_Change):
    """Command: cancel; honoured only before anything was sent to a chain."""

    kind: Literal["cancel"] = "cancel"


class ComplianceDecided(_Change):
    """The compliance engine and both legs' dry runs answered."""

    kind: Literal["compliance_decided"] = "compliance_decided"
    allowed: bool
    refusals: tuple[Refusal, ...] = ()


class LockObserved(_Change):
    """A confirmed lock on ``role``'s leg, with the parameters read from chain."""

    kind: Literal["lock_observed"] = "lock_observed"
    role: Role
    tx_id: str
    lock_id: str = ""
    hashlock: HexBytes32
    amount: Amount
    receiver: Address
    deadline: int = Field(strict=True, ge=0)
    sender: Address | None = None


class ClaimObserved(_Change):
    """A confirmed claim of ``role``'s leg; the secret is now public on that chain."""

    kind: Literal["claim_observed"] = "claim_observed"
    role: Role
    tx_id: str


class RefundObserved(_Change):
    """A confirmed refund of ``role``'s leg."""

    kind: Literal["refund_observed"] = "refund_observed"
    role: Role
    tx_id: str


class ChainAdvanced(_Change):
    """A new confirmed chain time (block timestamp or round) on one chain."""

    kind: Literal["chain_advanced"] = "chain_advanced"
    chain: str
    time: int = Field(strict=True, ge=0)


class ClaimRecheck(_Change):
    """Result of re-checking both claims just before the secret is revealed."""

    kind: Literal["claim_recheck"] = "claim_recheck"
    allowed: bool
    refusals: tuple[Refusal, ...] = ()


class TxFailed(_Change):
    """A transaction an effect sent failed for good (reverted, or cannot be sent).

    ``broadcast``: a signed transaction may have reached the network before it failed (a
    mined revert, a dropped transaction). For the revealing claim this means the secret
    may be public: the engine treats it as public from then on (rule 4).
    """

    kind: Literal["tx_failed"] = "tx_failed"
    action: Literal["lock", "claim", "refund"]
    role: Role
    reason: str = ""
    broadcast: bool = False


StateChange = Annotated[
    StartSwap
    | CancelSwap
    | ComplianceDecided
    | LockObserved
    | ClaimObserved
    | RefundObserved
    | ChainAdvanced
    | ClaimRecheck
    | TxFailed,
    Field(discriminator="kind"),
]


# ---------------------------------------------------------------- outputs (effects)


class _Effect(CanonicalModel):
    swap_id: HexBytes32
    seq: int = Field(strict=True, ge=1)


class RequestCheck(_Effect):
    """Run the compliance engine and both legs' dry runs and escrow pre-flights."""

    kind: Literal["request_check"] = "request_check"


class SubmitLock(_Effect):
    """Lock ``role``'s leg in its chain's HTLC."""

    kind: Literal["submit_lock"] = "submit_lock"
    role: Role


class RecheckClaims(_Effect):
    """Re-check both claims (freeze, KYC expiry...) before revealing the secret."""

    kind: Literal["recheck_claims"] = "recheck_claims"


class SubmitClaim(_Effect):
    """Claim ``role``'s leg for its receiver with the secret (fetched by the executor)."""

    kind: Literal["submit_claim"] = "submit_claim"
    role: Role


class SubmitRefund(_Effect):
    """Refund ``role``'s leg to its sender (only after its deadline)."""

    kind: Literal["submit_refund"] = "submit_refund"
    role: Role


class SwapFinished(_Effect):
    """The swap reached a terminal outcome."""

    kind: Literal["swap_finished"] = "swap_finished"
    outcome: Outcome


Effect = Annotated[
    RequestCheck | SubmitLock | RecheckClaims | SubmitClaim | SubmitRefund | SwapFinished,
    Field(discriminator="kind"),
]


# ---------------------------------------------------------------- the transition function

_Result = tuple[SwapState, tuple[Effect, ...]]


class _Builder:
    """Accumulates effects with consecutive sequence numbers."""

    def __init__(self, state: SwapState) -> None:
        self.state = state
        self.effects: list[Effect] = []

    def emit(self, effect_type: type[_Effect], **kwargs: object) -> None:
        seq = self.state.seq + 1
        self.state = self.state.model_copy(update={"seq": seq})
        self.effects.append(
            effect_type(swap_id=self.state.terms.swap_id, seq=seq, **kwargs)  # type: ignore[arg-type]
        )

    def set(self, **changes: object) -> None:
        self.state = self.state.model_copy(update=changes)

    def set_leg(self, role: Role, **changes: object) -> None:
        leg = self.state.leg_state(role).model_copy(update=changes)
        self.set(**{role.value: leg})


def _now(state: SwapState, role: Role) -> int | None:
    return state.chain_time.get(chain_key(state.terms.leg(role).chain))


def _lock_matches(terms: SwapTerms, change: LockObserved) -> bool:
    leg = terms.leg(change.role)
    return (
        change.hashlock == terms.hashlock
        and change.amount == leg.amount
        and change.receiver == leg.receiver
        and change.deadline == terms.deadline(change.role)
        and (change.sender is None or change.sender == leg.sender)
    )


def _advance(b: _Builder) -> None:
    """Emit whatever the current state calls for (shared by every input)."""
    s = b.state
    if s.decision != "allowed" or s.cancelled:
        return
    i, p = s.initiator.phase, s.participant.phase
    p_now = _now(s, Role.PARTICIPANT)
    i_now = _now(s, Role.INITIATOR)
    # Participant locks only while it still leaves the initiator its claim window.
    if (
        i is LegPhase.LOCKED
        and p is LegPhase.NONE
        and p_now is not None
        and p_now <= s.terms.participant_lock_by
    ):
        b.set_leg(Role.PARTICIPANT, phase=LegPhase.LOCK_SENT)
        b.emit(SubmitLock, role=Role.PARTICIPANT)
    # Both locked and matching: re-check, then reveal the secret by claiming.
    s = b.state
    if (
        s.initiator.phase is LegPhase.LOCKED
        and s.participant.phase is LegPhase.LOCKED
        and not s.secret_public
        and p_now is not None
        and p_now <= s.terms.reveal_by
    ):
        if s.recheck == "none":
            b.set(recheck="pending")
            b.emit(RecheckClaims)
        elif s.recheck == "passed":
            b.set_leg(Role.PARTICIPANT, phase=LegPhase.CLAIM_SENT)
            b.emit(SubmitClaim, role=Role.PARTICIPANT)
    # Secret public: every leg still locked is claimed for its receiver. The initiator leg is
    # never refunded from here on; the participant leg only if its deadline has passed.
    s = b.state
    if s.secret_public:
        if s.initiator.phase is LegPhase.LOCKED:
            b.set_leg(Role.INITIATOR, phase=LegPhase.CLAIM_SENT)
            b.emit(SubmitClaim, role=Role.INITIATOR)
        if (
            b.state.participant.phase is LegPhase.LOCKED
            and p_now is not None
            and p_now < s.terms.participant_deadline
        ):
            b.set_leg(Role.PARTICIPANT, phase=LegPhase.CLAIM_SENT)
            b.emit(SubmitClaim, role=Role.PARTICIPANT)
    # Refunds after each leg's own deadline.
    s = b.state
    # A claim sent but never confirmed cannot land after the deadline either: refund.
    unclaimed = {LegPhase.LOCKED} if s.secret_public else {LegPhase.LOCKED, LegPhase.CLAIM_SENT}
    if (
        s.participant.phase in unclaimed
        and p_now is not None
        and p_now >= s.terms.participant_deadline
    ):
        b.set_leg(Role.PARTICIPANT, phase=LegPhase.REFUND_SENT)
        b.emit(SubmitRefund, role=Role.PARTICIPANT)
    s = b.state
    if (
        s.initiator.phase is LegPhase.LOCKED
        and not s.secret_public
        and i_now is not None
        and i_now >= s.terms.initiator_deadline
    ):
        b.set_leg(Role.INITIATOR, phase=LegPhase.REFUND_SENT)
        b.emit(SubmitRefund, role=Role.INITIATOR)


def transition(state: SwapState, change: _Change) -> _Result:
    """Apply one input to a swap; return the new state and the effects to run, in order."""
    before = state.outcome
    b = _Builder(state)
    match change:
        case StartSwap():
            if not state.started:
                b.set(started=True)
                b.emit(RequestCheck)
        case CancelSwap():
            nothing_sent = state.initiator.phase is LegPhase.NONE and state.decision != "refused"
            if nothing_sent and state.outcome is Outcome.OPEN:
                b.set(cancelled=True)
        case ComplianceDecided(allowed=allowed, refusals=refusals):
            if state.decision == "pending" and not state.cancelled:
                if allowed:
                    b.set(decision="allowed")
                    b.set_leg(Role.INITIATOR, phase=LegPhase.LOCK_SENT)
                    b.emit(SubmitLock, role=Role.INITIATOR)
                else:
                    b.set(decision="refused", refusals=refusals)
        case LockObserved(role=role, tx_id=tx_id):
            leg = state.leg_state(role)
            if leg.phase in (LegPhase.NONE, LegPhase.LOCK_SENT) and _lock_matches(
                state.terms, change
            ):
                b.set_leg(role, phase=LegPhase.LOCKED, lock_tx=tx_id, lock_id=change.lock_id)
        case ClaimObserved(role=role, tx_id=tx_id):
            if state.leg_state(role).phase is not LegPhase.REFUNDED:
                b.set_leg(role, phase=LegPhase.CLAIMED, claim_tx=tx_id)
            b.set(secret_public=True)
        case RefundObserved(role=role, tx_id=tx_id):
            if state.leg_state(role).phase is not LegPhase.CLAIMED:
                b.set_leg(role, phase=LegPhase.REFUNDED, refund_tx=tx_id)
        case ChainAdvanced(chain=chain, time=time):
            if time > state.chain_time.get(chain, -1):
                b.set(chain_time={**state.chain_time, chain: time})
        case ClaimRecheck(allowed=allowed, refusals=refusals):
            if state.recheck == "pending":
                b.set(recheck="passed" if allowed else "failed", refusals=refusals)
            elif state.recheck == "passed" and not allowed and not state.secret_public:
                # the check run again at the very moment of the reveal refused: no reveal
                b.set(recheck="failed", refusals=refusals)
                if state.participant.phase is LegPhase.CLAIM_SENT:
                    b.set_leg(Role.PARTICIPANT, phase=LegPhase.LOCKED)
        case TxFailed(action=action, role=role, broadcast=broadcast):
            phase = state.leg_state(role).phase
            if action == "claim" and broadcast and role is Role.PARTICIPANT:
                b.set(secret_public=True)  # the reveal may be public: never refund the other
            if action == "lock" and phase is LegPhase.LOCK_SENT:
                b.set_leg(role, phase=LegPhase.LOCK_FAILED)
            elif action == "claim" and phase is LegPhase.CLAIM_SENT:
                b.set_leg(role, phase=LegPhase.LOCKED)  # retried by _advance while allowed
            elif action == "refund" and phase is LegPhase.REFUND_SENT:
                b.set_leg(role, phase=LegPhase.LOCKED)
        case _:
            raise TypeError(f"unknown state change {type(change).__name__}")
    if not isinstance(change, (StartSwap, CancelSwap)):
        _advance(b)
    after = b.state.outcome
    if before is Outcome.OPEN and after is not Outcome.OPEN:
        b.emit(SwapFinished, outcome=after)
    return b.state, tuple(b.effects)
