"""``stbridge demo --two-platforms`` as a user runs it (thorough: a devnet and two relayer
processes, a few minutes): act 1 settles on both sides although the SG relayer is killed and
restarted mid-swap; act 2 ends refunded on both sides with the JP relayer unreachable past
the cash deadline; the story printed says so."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from relayer.demo import app


@pytest.mark.thorough
def test_two_platforms_demo_settles_through_a_crash_and_refunds_both_sides() -> None:
    """Invariant: no honest side loses: act 1 completes on both sides across SG's crash;
    act 2, with JP gone after SG's lock, is refunded on both sides."""
    story = CliRunner().invoke(app, ["--two-platforms"])
    assert story.exit_code == 0, story.output
    assert "killing the SG relayer (SIGKILL) mid-protocol" in story.output
    assert "act 1: JP completed, SG completed" in story.output
    assert "the peer's signed decision allowed=True (SG)" in story.output
    assert "act 2: JP refunded, SG refunded" in story.output
