"""The responder's own check of the deadlines a peer proposed: time enough to claim.

The initiator plans the deadlines (``bridge.htlc.plan_deadlines``) and the responder only
receives them, so a hostile initiator can propose a security deadline that arrives before,
or too soon after, the cash deadline: it locks its security, lets the buyer lock the cash,
refunds the security at its deadline and then claims the cash with the secret. The buyer
learns the secret too late to claim anything. When it decides on the proposal, the
responder therefore recomputes, from its own view of both chains' timings, the time between
the latest the cash deadline can come (the secret may appear until then) and the earliest
the security deadline can come, and allows the trade only if it holds what the claim itself
needs (:func:`bridge.htlc.claim_needed_s` without the planner's ``margin_s``: observing,
reacting, re-checking, the claim final). The margin is the planner's slack: a chain slower
than its declared block time (a devnet that makes rounds on demand) erodes it, and the
honest initiator's plan leaves exactly the claim time plus that margin.
"""

from __future__ import annotations

from bridge.htlc import ChainTiming, RelayerBudget, claim_needed_s

__all__ = ["claim_window_problem", "earliest_s", "latest_s"]


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def earliest_s(timing: ChainTiming, deadline: int, *, chain_now: int, wall_now: int) -> int:
    """The fewest seconds from now until ``deadline`` can be reached on its chain."""
    if timing.deadline_unit == "timestamp":
        # a chain behind the wall clock stamps its next block with about the wall clock
        return deadline - max(chain_now, wall_now) - timing.timestamp_drift_s
    rounds = deadline - chain_now
    return (max(0, rounds - 1) * timing.block_time_min_ms) // 1000


def latest_s(timing: ChainTiming, deadline: int, *, chain_now: int, wall_now: int) -> int:
    """The most seconds from now until ``deadline`` is reached on its chain."""
    if timing.deadline_unit == "timestamp":
        return deadline - min(chain_now, wall_now) + timing.timestamp_drift_s
    return _ceil_div(max(0, deadline - chain_now) * timing.block_time_max_ms, 1000)


def claim_window_problem(
    *,
    security: ChainTiming,
    security_deadline: int,
    security_now: int,
    cash: ChainTiming,
    cash_deadline: int,
    cash_now: int,
    wall_now: int,
    budget: RelayerBudget,
) -> str | None:
    """Why the responder must not lock the cash now (``CLAIM_WINDOW_TOO_SHORT: ...``), or
    None when the security stays claimable long enough after the cash deadline."""
    need = claim_needed_s(security, budget, cash) - budget.margin_s
    window = earliest_s(
        security, security_deadline, chain_now=security_now, wall_now=wall_now
    ) - latest_s(cash, cash_deadline, chain_now=cash_now, wall_now=wall_now)
    if window >= need:
        return None
    return (
        f"CLAIM_WINDOW_TOO_SHORT: the security's deadline leaves {window} s after the cash's "
        f"at the worst; claiming needs {need} s"
    )
