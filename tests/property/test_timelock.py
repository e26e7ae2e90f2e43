"""Properties of the timelock calculator (bridge.htlc.plan_deadlines), over random chains.

The expected windows are recomputed here from the inputs, independently of the module, and
the deadlines are checked against simulated worst-case and random real-time schedules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from bridge.errors import InvalidInput
from bridge.htlc import (
    MAX_SETTLEMENT_WINDOW_S,
    ChainHead,
    ChainTiming,
    DeadlineBounds,
    DeadlinePlan,
    RelayerBudget,
    minimum_settlement_window,
    plan_deadlines,
)


@st.composite
def chain_timings(draw: st.DrawFn) -> ChainTiming:
    unit: Literal["timestamp", "round"] = "timestamp" if draw(st.booleans()) else "round"
    low = draw(st.integers(1, 60_000))
    high = draw(st.integers(low, low * 5))
    return ChainTiming(
        deadline_unit=unit,
        block_time_min_ms=low,
        block_time_max_ms=high,
        finality_depth=draw(st.integers(0, 100)),
        inclusion_blocks=draw(st.integers(1, 10)),
        timestamp_drift_s=draw(st.integers(0, 120)) if unit == "timestamp" else 0,
    )


budgets = st.builds(
    RelayerBudget,
    reaction_s=st.integers(0, 3_600),
    compliance_recheck_s=st.integers(0, 3_600),
    margin_s=st.integers(0, 3_600),
    poll_s=st.integers(0, 120),
)


@dataclass(frozen=True)
class Case:
    initiator: ChainTiming
    participant: ChainTiming
    budget: RelayerBudget
    now: int
    initiator_head: int
    participant_head: int


cases = st.builds(
    Case,
    initiator=chain_timings(),
    participant=chain_timings(),
    budget=budgets,
    now=st.integers(0, 2**32),
    initiator_head=st.integers(0, 10**9),
    participant_head=st.integers(0, 10**9),
)


def _confirm_s(chain: ChainTiming) -> int:
    total_ms = (chain.inclusion_blocks + chain.finality_depth) * chain.block_time_max_ms
    return (total_ms + 999) // 1000


def _claim_needed(case: Case) -> int:
    """Every wait between the reveal (mined as late as the participant's deadline) and the
    participant's claim landing: the relayer's own confirmation wait on the participant's
    chain and its poll, then reaction, re-check and the claim final on the initiator's."""
    b = case.budget
    p = case.participant
    observe = -(-p.finality_depth * p.block_time_max_ms // 1000)
    return (
        observe
        + b.poll_s
        + b.reaction_s
        + b.compliance_recheck_s
        + _confirm_s(case.initiator)
        + b.margin_s
    )


def _setup_needed(case: Case) -> int:
    b = case.budget
    step = b.reaction_s + b.compliance_recheck_s
    return _confirm_s(case.initiator) + step + 2 * _confirm_s(case.participant) + step + b.margin_s


def _plan(case: Case, window: int) -> DeadlinePlan:
    return plan_deadlines(
        initiator_chain=case.initiator,
        participant_chain=case.participant,
        budget=case.budget,
        settlement_window_s=window,
        now_s=case.now,
        initiator_head=ChainHead(height=case.initiator_head),
        participant_head=ChainHead(height=case.participant_head),
    )


def _minimum(case: Case) -> int | None:
    try:
        return minimum_settlement_window(
            initiator_chain=case.initiator, participant_chain=case.participant, budget=case.budget
        )
    except InvalidInput:
        return None


def _bounds_are_sound(chain: ChainTiming, bounds: DeadlineBounds, now: int, head: int) -> None:
    """The stated real-time interval contains every moment the deadline can be reached."""
    if chain.deadline_unit == "timestamp":
        assert bounds.earliest_s <= bounds.native - chain.timestamp_drift_s
        assert bounds.latest_s >= bounds.native + chain.timestamp_drift_s
    else:
        rounds = bounds.native - head
        assert rounds >= 0
        # round head+n arrives between (n-1) fastest and n slowest intervals from now
        assert bounds.earliest_s * 1000 <= now * 1000 + max(rounds - 1, 0) * chain.block_time_min_ms
        assert bounds.latest_s * 1000 >= now * 1000 + rounds * chain.block_time_max_ms


@given(case=cases, window=st.integers(1, MAX_SETTLEMENT_WINDOW_S))
def test_accepted_plans_leave_the_participant_its_claim_window(case: Case, window: int) -> None:
    """Invariant: for every accepted input, in the worst case of every clock,
    participant deadline (latest) + claim window (reaction + re-check + claim final + margin)
    <= initiator deadline (earliest), strictly later since the claim window is >= 1 s;
    the setup fits before the participant's deadline can first arrive; the initiator's
    deadline never comes after now + window; and every deadline interval is sound.
    A refusal happens exactly when the window is below the minimum the module reports."""
    need = _minimum(case)
    if need is None or window < need:
        with pytest.raises(InvalidInput) as refused:
            _plan(case, window)
        assert refused.value.field == "settlement_window_s"
        assert "timeouts too tight" in refused.value.rule
        return
    plan = _plan(case, window)
    claim_needed = _claim_needed(case)
    assert claim_needed >= 1
    assert plan.claim_needed_s == claim_needed
    assert plan.participant.latest_s + claim_needed <= plan.initiator.earliest_s
    assert plan.participant.latest_s < plan.initiator.earliest_s
    assert plan.participant.earliest_s >= case.now + _setup_needed(case)
    assert plan.initiator.latest_s <= case.now + window
    assert plan.claim_window_s >= claim_needed
    _bounds_are_sound(case.initiator, plan.initiator, case.now, case.initiator_head)
    _bounds_are_sound(case.participant, plan.participant, case.now, case.participant_head)
    assert plan.participant_lock_by < plan.participant.native
    # the reveal is sent early enough to be included before the participant's deadline
    assert plan.participant_lock_by < plan.participant_reveal_by < plan.participant.native
    p = case.participant
    if p.deadline_unit == "round":
        assert plan.participant_reveal_by + p.inclusion_blocks < plan.participant.native
    else:
        inclusion = -(-p.inclusion_blocks * p.block_time_max_ms // 1000)
        # the head may be stamped ``drift`` behind real time, the including block ``drift``
        # ahead: the reveal still lands before the deadline
        assert plan.participant_reveal_by + inclusion + 2 * p.timestamp_drift_s < (
            plan.participant.native
        )


@given(case=cases)
def test_minimum_window_is_exact(case: Case) -> None:
    """Invariant: the reported minimum window is accepted and one second less is refused
    ("timeouts too tight"), whatever now and the heads are."""
    need = _minimum(case)
    assume(need is not None)
    assert need is not None
    _plan(case, need)
    if need > 1:
        with pytest.raises(InvalidInput, match="timeouts too tight"):
            _plan(case, need - 1)


def _arrival_ms(
    chain: ChainTiming, bounds: DeadlineBounds, now: int, head: int, skew: int, phase: int
) -> int:
    """Real time (ms) at which a chain with this behaviour first reaches the deadline.

    ``skew`` in [-1000, 1000] (thousandths) scales the timestamp drift; for rounds it picks
    a steady interval between fastest and slowest, and ``phase`` in [0, 1000] places the
    first new round within one interval.
    """
    if chain.deadline_unit == "timestamp":
        return bounds.native * 1000 + skew * chain.timestamp_drift_s
    rounds = bounds.native - head
    spread = chain.block_time_max_ms - chain.block_time_min_ms
    interval = chain.block_time_min_ms + (skew + 1000) * spread // 2000
    if rounds == 0:
        return now * 1000
    first = phase * interval // 1000
    return now * 1000 + first + (rounds - 1) * interval


thousandths = st.integers(-1000, 1000)
phases = st.integers(0, 1000)


@given(
    case=cases,
    extra=st.integers(0, 30 * 24 * 3600),
    skews=st.tuples(thousandths, thousandths),
    phase=st.tuples(phases, phases),
)
def test_simulated_clocks_never_let_the_initiator_win_the_race(
    case: Case,
    extra: int,
    skews: tuple[int, int],
    phase: tuple[int, int],
) -> None:
    """Invariant: on any realisation of block timestamps (within the drift) and round
    intervals (within min..max), the participant's deadline arrives no earlier than now +
    setup, and the initiator's deadline arrives no earlier than the participant's plus the
    claim window: the initiator can never claim the participant's leg while the participant
    is left without time to claim the initiator's. The initiator's deadline arrives by
    now + window."""
    need = _minimum(case)
    assume(need is not None)
    assert need is not None
    window = min(need + extra, MAX_SETTLEMENT_WINDOW_S)
    plan = _plan(case, window)
    a = _arrival_ms(
        case.initiator, plan.initiator, case.now, case.initiator_head, skews[0], phase[0]
    )
    b = _arrival_ms(
        case.participant, plan.participant, case.now, case.participant_head, skews[1], phase[1]
    )
    assert b >= (case.now + _setup_needed(case)) * 1000
    assert b + _claim_needed(case) * 1000 <= a
    assert a <= (case.now + window) * 1000
