"""The responder's check of a proposed deadline plan (relayer.satp.safety), against the
planner the honest initiator uses (bridge.htlc.plan_deadlines)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bridge.htlc import ChainHead, ChainTiming, RelayerBudget, plan_deadlines
from relayer.satp.safety import claim_window_problem

EVM = ChainTiming(
    deadline_unit="timestamp", block_time_min_ms=1000, block_time_max_ms=12000, timestamp_drift_s=15
)
ALGO = ChainTiming(
    deadline_unit="round", block_time_min_ms=2500, block_time_max_ms=4500, finality_depth=0
)
BUDGET = RelayerBudget(reaction_s=10, compliance_recheck_s=5, margin_s=30, poll_s=2)
NOW = 1_800_000_000
ROUND = 50_000


@given(
    window=st.integers(3600, 7 * 86400),
    elapsed_rounds=st.integers(0, 200),
    fast=st.booleans(),
)
def test_an_honest_plan_passes_until_the_lock_by(
    window: int, elapsed_rounds: int, fast: bool
) -> None:
    """Invariant: deadlines planned by the honest initiator pass the responder's check at
    any moment up to ``participant_lock_by``, however fast or slow the rounds came."""
    plan = plan_deadlines(
        initiator_chain=EVM,
        participant_chain=ALGO,
        budget=BUDGET,
        settlement_window_s=window,
        now_s=NOW,
        initiator_head=ChainHead(height=100, time=NOW),
        participant_head=ChainHead(height=ROUND),
    )
    cash_now = min(ROUND + elapsed_rounds, plan.participant_lock_by)
    block_ms = ALGO.block_time_min_ms if fast else ALGO.block_time_max_ms
    elapsed_s = (cash_now - ROUND) * block_ms // 1000
    assert (
        claim_window_problem(
            security=EVM,
            security_deadline=plan.initiator.native,
            security_now=NOW + elapsed_s,
            cash=ALGO,
            cash_deadline=plan.participant.native,
            cash_now=cash_now,
            wall_now=NOW + elapsed_s,
            budget=BUDGET,
        )
        is None
    )


def test_a_security_deadline_before_the_cash_deadline_is_refused_with_numbers() -> None:
    problem = claim_window_problem(
        security=EVM,
        security_deadline=NOW + 600,
        security_now=NOW,
        cash=ALGO,
        cash_deadline=ROUND + 300,  # up to 1,350 s of rounds
        cash_now=ROUND,
        wall_now=NOW,
        budget=BUDGET,
    )
    assert problem is not None
    assert problem.startswith("CLAIM_WINDOW_TOO_SHORT: ")
    assert "-765 s" in problem  # 600 - 15 (drift) - 1,350


def test_an_idle_chain_behind_the_wall_clock_counts_from_the_wall_clock() -> None:
    """A timestamp chain whose last block is old stamps its next one with about the wall
    clock: its deadline comes sooner than its own time suggests."""
    args = {
        "security": EVM,
        "security_deadline": NOW + 1000,
        "cash": ALGO,
        "cash_deadline": ROUND + 100,  # up to 450 s
        "cash_now": ROUND,
        "budget": BUDGET,
    }
    assert claim_window_problem(security_now=NOW, wall_now=NOW, **args) is None  # type: ignore[arg-type]
    assert claim_window_problem(security_now=NOW, wall_now=NOW + 530, **args) is not None  # type: ignore[arg-type]


def test_an_honest_plan_on_a_round_chain_that_stalls_less_than_the_margin_passes() -> None:
    """Regression (the two-platforms demo, seen refused before the margin was left to the
    planner): the devnet makes Algorand rounds on demand, so between JP's plan and SG's
    decision the cash chain stood still while the security chain's clock ran on."""
    plan = plan_deadlines(
        initiator_chain=EVM,
        participant_chain=ALGO,
        budget=BUDGET,
        settlement_window_s=3600,
        now_s=NOW,
        initiator_head=ChainHead(height=100, time=NOW),
        participant_head=ChainHead(height=ROUND),
    )
    stalled = BUDGET.margin_s - 1  # seconds on the security chain, no new round
    assert (
        claim_window_problem(
            security=EVM,
            security_deadline=plan.initiator.native,
            security_now=NOW + stalled,
            cash=ALGO,
            cash_deadline=plan.participant.native,
            cash_now=ROUND,
            wall_now=NOW + stalled,
            budget=BUDGET,
        )
        is None
    )
