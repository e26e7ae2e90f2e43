"""``stbridge bench relayer --chains anvil --block-time S``: latency in blocks per chain and
the relayer's reaction to relevant blocks (``relayer/bench_latency.py``)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from relayer.bench import app

runner = CliRunner()


@pytest.mark.thorough  # two anvils and real 1 s blocks: about 10-16 s
def test_bench_relayer_with_timed_blocks_reports_blocks_to_final_and_reaction_in_polls() -> None:
    """Invariant: each chain includes two of the swap's transactions one after another
    (its lock, then its claim, in a later block), so on each chain at least two blocks pass
    from the order to both legs final (the four inclusions alternate between the chains:
    with the loop woken at each new head and the two chains' blocks out of phase, a chain
    can make only three blocks while all four are included); the bound is two inclusions
    per chain, the confirmation depths (0) and one block per chain; each of the three
    relevant blocks (the two locks, the reveal) is answered, in the first tick that saw it
    or later (never before: at least one poll)."""
    result = runner.invoke(
        app, ["relayer", "--chains", "anvil", "--swaps", "1", "--block-time", "1", "--json"]
    )
    assert result.exit_code == 0, result.output
    numbers = json.loads(result.stdout)
    assert numbers["outcomes"] == {"completed": 1}
    latency = numbers["latency"]
    assert latency["bound_blocks"] == 6
    finals = latency["order_to_final_blocks"]
    assert len(finals) == 2
    for row in finals.values():
        assert row["count"] == 1
        assert row["median"] >= 2
    assert latency["within_bound"] == all(r["max"] <= 6 for r in finals.values())
    assert latency["reaction_polls"]["count"] == 3
    assert latency["reaction_polls"]["median"] >= 1
    assert latency["poll_interval_s"] > 0
    # anvil offers newHeads: the loop between ticks was woken by both chains' heads
    assert numbers["heads"] == {"mode": "subscribe", "subscribed_chains": 2, "of_chains": 2}
