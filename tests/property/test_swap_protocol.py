"""The swap state machine against a simulated world of two chains with HTLCs.

The world keeps one global clock; each chain sees it with its own lag, each effect the engine
emits runs after a random delay, may fail a bounded number of times, and some parties
misbehave (the participant never locks, the initiator never claims, compliance or the
pre-claim re-check refuses). HTLC rules in the world are the contract's: claim with the
secret before the deadline, refund at or after it, never both.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.model import AlgorandChain, EvmChain, Refusal
from bridge.reasons import ReasonCode
from bridge.swap import (
    CancelSwap,
    ChainAdvanced,
    ClaimObserved,
    ClaimRecheck,
    ComplianceDecided,
    Leg,
    LegPhase,
    LockObserved,
    Outcome,
    RecheckClaims,
    RefundObserved,
    RequestCheck,
    Role,
    StartSwap,
    SubmitClaim,
    SubmitLock,
    SubmitRefund,
    SwapFinished,
    SwapState,
    SwapTerms,
    TxFailed,
    chain_key,
    transition,
)

EVM = EvmChain(chain_id=31337)
ALGO = AlgorandChain(genesis_hash=base64.b64encode(bytes(range(32))).decode())
SELLER = "0x52908400098527886E0F7030069857D2E4169EE7"
BUYER_EVM = "0x8617E340B3D01FA5F11F306F4090FD50E238070D"
SELLER_ALGO = "VCMJKWOY5P5P7SKMZFFOCEROPJCZOTIJMNIYNUCKH7LRO45JMJP6UYBIJA"
BUYER_ALGO = "7ZUECA7HFLZTXENRV24SHLU4AVPUTMTTDUFUBNBD64C73F3UHRTHAIOF6Q"

MAX_DELAY = 5  # an effect lands within this many ticks of being emitted
MAX_LAG = 3  # a chain's observed time trails the global clock by at most this
MAX_FAILURES = 2  # an effect fails at most this many times before it lands


def terms(t0: int, window: int, margin: int) -> SwapTerms:
    # initiator (seller of the security, on EVM) locks first with the later deadline;
    # participant (the buyer, paying on Algorand) locks second.
    return SwapTerms(
        swap_id="0x" + "ab" * 32,
        hashlock="0x" + "cd" * 32,
        initiator_leg=Leg(chain=EVM, amount=10, sender=SELLER, receiver=BUYER_EVM),
        participant_leg=Leg(chain=ALGO, amount=5_000, sender=BUYER_ALGO, receiver=SELLER_ALGO),
        participant_deadline=t0 + window,
        initiator_deadline=t0 + window + margin,
        participant_lock_by=t0 + window - margin,
    )


@dataclass
class Htlc:
    locked: bool = False
    claimed: bool = False
    refunded: bool = False


@dataclass
class World:
    state: SwapState
    allow: bool
    recheck_ok: bool
    participant_locks: bool
    initiator_claims: bool
    failures: dict[tuple[str, str], int]
    now: int = 0
    htlc: dict[Role, Htlc] = field(default_factory=lambda: {r: Htlc() for r in Role})
    pending: list[tuple[int, object]] = field(default_factory=list)
    log: list[object] = field(default_factory=list)
    effects: list[object] = field(default_factory=list)
    events_before_lock_allowed: bool = True

    def apply(self, change: object) -> None:
        self.log.append(change)
        before = self.state
        self.state, effects = transition(self.state, change)  # type: ignore[arg-type]
        check_step(before, self.state, effects)
        for effect in effects:
            self.effects.append(effect)
            self.pending.append((self.now, effect))

    def chain_of(self, role: Role) -> str:
        return chain_key(self.state.terms.leg(role).chain)

    def deadline(self, role: Role) -> int:
        return self.state.terms.deadline(role)

    def execute(self, effect: object, draw_delay: int) -> None:
        match effect:
            case RequestCheck():
                refusal = Refusal(code=ReasonCode.COUNTRY_RESTRICTED, detail="buyer country")
                self.apply(
                    ComplianceDecided(allowed=self.allow, refusals=() if self.allow else (refusal,))
                )
            case RecheckClaims():
                refusal = Refusal(code=ReasonCode.KYC_EXPIRED, detail="buyer KYC expired")
                self.apply(
                    ClaimRecheck(
                        allowed=self.recheck_ok, refusals=() if self.recheck_ok else (refusal,)
                    )
                )
            case SubmitLock(role=role):
                if role is Role.PARTICIPANT and not self.participant_locks:
                    return
                if self._fails("lock", role):
                    self.apply(TxFailed(action="lock", role=role, reason="rpc"))
                    return
                self.htlc[role].locked = True
                leg = self.state.terms.leg(role)
                self.apply(
                    LockObserved(
                        role=role,
                        tx_id=f"lock-{role}",
                        hashlock=self.state.terms.hashlock,
                        amount=leg.amount,
                        receiver=leg.receiver,
                        deadline=self.deadline(role),
                    )
                )
            case SubmitClaim(role=role):
                if role is Role.PARTICIPANT and not self.initiator_claims:
                    return
                h = self.htlc[role]
                chain_now = self.now  # the contract sees the real block time
                if self._fails("claim", role) or h.refunded or chain_now >= self.deadline(role):
                    self.apply(TxFailed(action="claim", role=role, reason="refused"))
                    return
                assert h.locked
                assert not h.claimed
                h.claimed = True
                self.apply(ClaimObserved(role=role, tx_id=f"claim-{role}"))
            case SubmitRefund(role=role):
                h = self.htlc[role]
                if self._fails("refund", role) or h.claimed or self.now < self.deadline(role):
                    self.apply(TxFailed(action="refund", role=role, reason="refused"))
                    return
                h.refunded = True
                self.apply(RefundObserved(role=role, tx_id=f"refund-{role}"))
            case SwapFinished():
                pass

    def _fails(self, action: str, role: Role) -> bool:
        key = (action, role.value)
        left = self.failures.get(key, 0)
        if left > 0:
            self.failures[key] = left - 1
            return True
        return False


def check_step(before: SwapState, after: SwapState, effects: tuple[object, ...]) -> None:
    """Per-transition safety rules (rules 1-5 of bridge.swap)."""
    for effect in effects:
        if isinstance(effect, SubmitLock):
            assert after.decision == "allowed", "locked before compliance allowed"
        if isinstance(effect, SubmitClaim) and effect.role is Role.PARTICIPANT:
            assert after.recheck == "passed" or before.secret_public, "secret revealed unchecked"
            assert after.initiator.phase in (LegPhase.LOCKED, LegPhase.CLAIM_SENT, LegPhase.CLAIMED)
        if isinstance(effect, SubmitRefund):
            if effect.role is Role.INITIATOR:
                assert not after.secret_public, "initiator refunded after the secret was public"
            t = after.chain_time[chain_key(after.terms.leg(effect.role).chain)]
            assert t >= after.terms.deadline(effect.role), "refund before the deadline"
    seqs = [e.seq for e in effects]  # type: ignore[attr-defined]
    assert seqs == list(range(before.seq + 1, before.seq + 1 + len(seqs)))


# Pure and fast (~20 ms an example): five times the profile's budget.
@settings(max_examples=settings.default.max_examples * 5)
@given(
    allow=st.booleans(),
    recheck_ok=st.booleans(),
    participant_locks=st.booleans(),
    initiator_claims=st.booleans(),
    cancel_at=st.none() | st.integers(0, 3),
    failures=st.dictionaries(
        st.tuples(
            st.sampled_from(["lock", "claim", "refund"]),
            st.sampled_from(["initiator", "participant"]),
        ),
        st.integers(0, MAX_FAILURES),
    ),
    lags=st.tuples(st.integers(0, MAX_LAG), st.integers(0, MAX_LAG)),
    window=st.integers(30, 90),
    data=st.data(),
)
def test_honest_party_never_ends_with_neither_asset(
    allow: bool,
    recheck_ok: bool,
    participant_locks: bool,
    initiator_claims: bool,
    cancel_at: int | None,
    failures: dict[tuple[str, str], int],
    lags: tuple[int, int],
    window: int,
    data: st.DataObject,
) -> None:
    """Invariant: whatever the delays, lags, failures and misbehaviour, when all deadlines have
    passed the swap has ended; it is COMPLETED (both legs claimed) or every lock is refunded
    (or nothing was locked); no party ends with neither asset; replaying the logged inputs
    from scratch reproduces the same state and effects."""
    margin = (MAX_FAILURES + 1) * (MAX_DELAY + 1) + MAX_LAG + 2
    world = World(
        state=SwapState(terms=terms(0, window, margin)),
        allow=allow,
        recheck_ok=recheck_ok,
        participant_locks=participant_locks,
        initiator_claims=initiator_claims,
        failures=dict(failures),
    )
    world.apply(StartSwap())
    horizon = window + margin + 4 * (MAX_DELAY + MAX_LAG + MAX_FAILURES * MAX_DELAY) + 10
    lag = {world.chain_of(Role.INITIATOR): lags[0], world.chain_of(Role.PARTICIPANT): lags[1]}
    for tick in range(horizon):
        world.now = tick
        if cancel_at is not None and tick == cancel_at:
            world.apply(CancelSwap())
        for chain, chain_lag in lag.items():
            world.apply(ChainAdvanced(chain=chain, time=max(0, tick - chain_lag)))
        due = [(t, e) for t, e in world.pending if t + data.draw(st.integers(0, MAX_DELAY)) <= tick]
        for item in due:
            world.pending.remove(item)
            world.execute(item[1], 0)
    state = world.state
    assert state.outcome is not Outcome.OPEN, (state.initiator, state.participant)
    i, p = world.htlc[Role.INITIATOR], world.htlc[Role.PARTICIPANT]
    for h in (i, p):
        assert not (h.claimed and h.refunded)
        assert not h.locked or h.claimed or h.refunded, "a lock was left stranded"
    participant_lost_both = p.claimed and i.refunded
    initiator_lost_both = i.claimed and p.refunded
    assert not participant_lost_both
    assert not initiator_lost_both
    if state.outcome is Outcome.COMPLETED:
        assert i.claimed
        assert p.claimed
    if not allow:
        assert state.outcome in (Outcome.REFUSED, Outcome.CANCELLED)
        assert not i.locked
        assert not p.locked
    finished = [e for e in world.effects if isinstance(e, SwapFinished)]
    assert len(finished) == 1
    assert finished[0].outcome is state.outcome
    # deterministic replay
    replay = SwapState(terms=state.terms)
    replayed_effects = []
    for change in world.log:
        replay, effs = transition(replay, change)  # type: ignore[arg-type]
        replayed_effects.extend(effs)
    assert replay == state
    assert replayed_effects == world.effects


def test_happy_path_effect_sequence() -> None:
    """The plain story in order: check, lock, lock, re-check, claim, claim, finished."""
    t = terms(0, 40, 20)
    s = SwapState(terms=t)
    kinds: list[str] = []

    def step(change: object) -> None:
        nonlocal s
        s, effects = transition(s, change)  # type: ignore[arg-type]
        kinds.extend(f"{e.kind}:{getattr(e, 'role', '')}" for e in effects)

    step(StartSwap())
    step(ChainAdvanced(chain=chain_key(EVM), time=1))
    step(ChainAdvanced(chain=chain_key(ALGO), time=1))
    step(ComplianceDecided(allowed=True))
    i_leg, p_leg = t.initiator_leg, t.participant_leg
    step(
        LockObserved(
            role=Role.INITIATOR,
            tx_id="a",
            hashlock=t.hashlock,
            amount=i_leg.amount,
            receiver=i_leg.receiver,
            deadline=t.initiator_deadline,
        )
    )
    step(
        LockObserved(
            role=Role.PARTICIPANT,
            tx_id="b",
            hashlock=t.hashlock,
            amount=p_leg.amount,
            receiver=p_leg.receiver,
            deadline=t.participant_deadline,
        )
    )
    step(ClaimRecheck(allowed=True))
    step(ClaimObserved(role=Role.PARTICIPANT, tx_id="c"))
    step(ClaimObserved(role=Role.INITIATOR, tx_id="d"))
    assert kinds == [
        "request_check:",
        "submit_lock:initiator",
        "submit_lock:participant",
        "recheck_claims:",
        "submit_claim:participant",
        "submit_claim:initiator",
        "swap_finished:",
    ]
    assert s.outcome is Outcome.COMPLETED


def test_lock_with_wrong_terms_is_not_acted_on() -> None:
    """A lock whose amount, hashlock, receiver or deadline differs is ignored (no claim)."""
    t = terms(0, 40, 20)
    s = SwapState(terms=t)
    for change in (
        StartSwap(),
        ChainAdvanced(chain=chain_key(ALGO), time=1),
        ComplianceDecided(allowed=True),
    ):
        s, _ = transition(s, change)
    s, effects = transition(
        s,
        LockObserved(
            role=Role.INITIATOR,
            tx_id="a",
            hashlock=t.hashlock,
            amount=t.initiator_leg.amount - 1,
            receiver=t.initiator_leg.receiver,
            deadline=t.initiator_deadline,
        ),
    )
    assert effects == ()
    assert s.initiator.phase is LegPhase.LOCK_SENT


def test_cancel_only_before_anything_is_sent() -> None:
    s = SwapState(terms=terms(0, 40, 20))
    s, _ = transition(s, StartSwap())
    s, effects = transition(s, CancelSwap())
    assert s.outcome is Outcome.CANCELLED
    assert [e.kind for e in effects] == ["swap_finished"]
    s, effects = transition(s, ComplianceDecided(allowed=True))
    assert effects == ()
    assert s.initiator.phase is LegPhase.NONE
    s2 = SwapState(terms=terms(0, 40, 20))
    s2, _ = transition(s2, StartSwap())
    s2, _ = transition(s2, ComplianceDecided(allowed=True))
    s2, effects = transition(s2, CancelSwap())
    assert s2.outcome is Outcome.OPEN
    assert effects == ()


def _both_locked(t: SwapTerms) -> SwapState:
    s = SwapState(terms=t)
    for change in (
        StartSwap(),
        ChainAdvanced(chain=chain_key(EVM), time=1),
        ChainAdvanced(chain=chain_key(ALGO), time=1),
        ComplianceDecided(allowed=True),
    ):
        s, _ = transition(s, change)
    for role in Role:
        leg = t.leg(role)
        s, _ = transition(
            s,
            LockObserved(
                role=role,
                tx_id=role.value,
                hashlock=t.hashlock,
                amount=leg.amount,
                receiver=leg.receiver,
                deadline=t.deadline(role),
                sender=leg.sender,
            ),
        )
    return s


def test_a_lock_from_another_sender_is_not_the_leg() -> None:
    """Third party: a lock with every agreed term but another sender is not the leg's."""
    t = terms(0, 40, 20)
    s = SwapState(terms=t)
    for change in (StartSwap(), ComplianceDecided(allowed=True)):
        s, _ = transition(s, change)
    leg = t.initiator_leg
    s, effects = transition(
        s,
        LockObserved(
            role=Role.INITIATOR,
            tx_id="x",
            hashlock=t.hashlock,
            amount=leg.amount,
            receiver=leg.receiver,
            deadline=t.initiator_deadline,
            sender=BUYER_EVM,
        ),
    )
    assert effects == ()
    assert s.initiator.phase is LegPhase.LOCK_SENT


def test_no_reveal_after_reveal_by() -> None:
    """Slow chain: once the cash chain's time is past ``reveal_by`` the reveal is never
    emitted (it could be mined after the deadline), and the legs go to their refunds."""
    t = terms(0, 40, 20).model_copy(update={"participant_reveal_by": 30})
    s = _both_locked(t)
    s, effects = transition(s, ClaimRecheck(allowed=True))
    assert [e.kind for e in effects] == ["submit_claim"]  # due while the time is 1
    late = _both_locked(t)
    late, _ = transition(late, ChainAdvanced(chain=chain_key(ALGO), time=31))
    late, effects = transition(late, ClaimRecheck(allowed=True))
    assert late.recheck in ("none", "passed")
    assert "submit_claim" not in [e.kind for e in effects]
    late, effects = transition(late, ChainAdvanced(chain=chain_key(ALGO), time=40))
    assert [(e.kind, getattr(e, "role", None)) for e in effects] == [
        ("submit_refund", Role.PARTICIPANT)
    ]


def test_a_refused_recheck_at_the_reveal_withdraws_it() -> None:
    """Token agent: the check run again at the moment of the reveal refuses; the claim is
    withdrawn (no secret), and both legs are refunded at their deadlines."""
    t = terms(0, 40, 20)
    s = _both_locked(t)
    s, _ = transition(s, ClaimRecheck(allowed=True))
    assert s.participant.phase is LegPhase.CLAIM_SENT
    s, effects = transition(s, ClaimRecheck(allowed=False))
    assert s.recheck == "failed"
    assert s.participant.phase is LegPhase.LOCKED
    assert effects == ()
    s, effects = transition(s, ChainAdvanced(chain=chain_key(ALGO), time=40))
    assert [e.kind for e in effects] == ["submit_refund"]


def test_a_failed_reveal_that_may_have_been_broadcast_makes_the_secret_public() -> None:
    """Slow chain: the revealing claim was signed and sent, then reverted or dropped; its
    secret may be public. The engine never refunds the security from then on (rule 4):
    it claims it for the buyer."""
    t = terms(0, 40, 20)
    s = _both_locked(t)
    s, _ = transition(s, ClaimRecheck(allowed=True))
    s, effects = transition(
        s, TxFailed(action="claim", role=Role.PARTICIPANT, reason="reverted", broadcast=True)
    )
    assert s.secret_public
    assert ("submit_claim", Role.INITIATOR) in [(e.kind, getattr(e, "role", None)) for e in effects]
    s, effects = transition(s, ChainAdvanced(chain=chain_key(EVM), time=100))
    assert "submit_refund" not in [
        e.kind for e in effects if getattr(e, "role", None) is Role.INITIATOR
    ]
    quiet = _both_locked(t)
    quiet, _ = transition(quiet, ClaimRecheck(allowed=True))
    quiet, _ = transition(quiet, TxFailed(action="claim", role=Role.PARTICIPANT, reason="x"))
    assert not quiet.secret_public  # refused before anything was signed: still secret
