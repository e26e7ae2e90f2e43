"""Failures the interop suite's random search found in the suite itself, kept as plain
programs on the real relayer (each failed before its fix)."""

from __future__ import annotations

import pytest

from tests.property.test_interop_mutations import (
    QUICK,
    _freeze_buyer_after_reveal,
    _submit,
    machine,
)

pytestmark = pytest.mark.anvil


def test_an_agent_striking_at_a_tick_is_not_hit_by_the_relayers_dropped_submission() -> None:
    """The 30-minute run (seed 302) failed with "relayer-b's tick raised ChainTimeout": the
    agent armed to freeze the buyer once the secret is out strikes at the start of a tick,
    and its own transaction was taken for the relayer's, dropped by the fault armed for the
    relayer's next submission, and waited for in vain. The agent's transaction is its own:
    it is mined (the buyer is frozen on chain) and the tick survives."""
    with machine("refused_claim_without_back_off", QUICK, {"sec": 2, "cash": 3}) as m:
        _submit(False, 60)(m)
        _freeze_buyer_after_reveal(m)
        # the moment the agent waits for (a secret out, the security still locked), and a
        # relayer submission armed to be lost
        m._revealed_with_security_open = lambda: True  # type: ignore[method-assign]
        m.drop_submissions("never_sent", 1)
        m.tick()
        assert m.frozen
        assert m.drops == ["never_sent"]  # left for the relayer's own next submission
