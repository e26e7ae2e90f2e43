"""The embedded bench's orders leave the Algorand leg enough rounds for the wave itself.

The embedded ledger makes a round per group, so a wave of N swaps makes about two rounds
per swap (the cash lock and its claim) however fast it runs; the deadlines are planned at
the slowest block time (4.5 s a round). With the demo's one-hour window the participant's
deadline was 786 rounds away: a 1,000-swap wave reached it after 273 swaps, and every
reveal after that was held (the secret withheld, the legs left to their refunds).
"""

from __future__ import annotations

import pytest

from bridge.htlc import ChainHead, plan_deadlines
from relayer.bench import embedded_window_s
from relayer.embedded import ALGO_TIMING, BUDGET, EVM_TIMING

NOW = 1_800_000_000
START_ROUND = 40  # the ledger's round once the world is built and funded


def _rounds_to_reveal(window_s: int) -> tuple[int, int]:
    """(rounds until the last participant lock, rounds until the last reveal)."""
    plan = plan_deadlines(
        initiator_chain=EVM_TIMING,
        participant_chain=ALGO_TIMING,
        budget=BUDGET,
        settlement_window_s=window_s,
        now_s=NOW,
        initiator_head=ChainHead(height=100, time=NOW),
        participant_head=ChainHead(height=START_ROUND),
    )
    return (
        plan.participant_lock_by - START_ROUND,
        plan.participant_reveal_by - START_ROUND,
    )


@pytest.mark.parametrize("swaps", [1, 10, 100, 1_000])
def test_a_wave_has_the_rounds_it_makes_before_its_last_lock_and_reveal(swaps: int) -> None:
    """Invariant: for a wave of ``swaps`` on the embedded chains, the participant's last
    lock round and its last reveal round are each at least two rounds per swap of the wave
    (and a half more) after the round it starts at."""
    lock_rounds, reveal_rounds = _rounds_to_reveal(embedded_window_s(swaps))
    assert lock_rounds >= 2.5 * swaps
    assert reveal_rounds >= 2.5 * swaps


def test_the_demos_hour_was_too_short_for_a_thousand_swaps() -> None:
    """The bug this guards against: one hour left fewer rounds than 1,000 swaps make."""
    _lock_rounds, reveal_rounds = _rounds_to_reveal(3600)
    assert reveal_rounds < 2 * 1_000
