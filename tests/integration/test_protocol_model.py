"""The swap protocol's Promela model (specs/protocol/swap.pml), checked with spin.

The model's constants are generated from the timelock calculator (bridge.protocol_model);
spin must verify the real rules and find a counterexample for each broken one (no margin,
no confirmations in the claim window, a reveal sent without its inclusion time), and
must reach each probe's situation (so the verification is not vacuous). spin and gcc
come from Debian's packages (.ci/run installs spin); without them these tests fail in CI
and are skipped locally, like the PostgreSQL tests.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

import pytest

from bridge import protocol_model as pm
from bridge.errors import InvalidInput
from bridge.htlc import ChainHead, claim_needed_s, plan_deadlines


@pytest.fixture(scope="module")
def spin() -> None:
    missing = [tool for tool in ("spin", "gcc") if shutil.which(tool) is None]
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"{', '.join(missing)} missing in CI: .ci/run must install spin")
        pytest.skip(f"{', '.join(missing)} not installed (apt-get install -y spin)")


# ---------------------------------------------------------------- the generated constants


def test_checked_in_headers_match_the_calculator() -> None:
    assert pm.check() == []


def test_drift_is_detected(tmp_path: Path) -> None:
    """A header that no longer matches what the calculator produces is reported."""
    pm.write(directory=tmp_path)
    assert pm.check(directory=tmp_path) == []
    real = pm.header_path(pm.Variant.REAL, tmp_path, "evm_cash")
    real.write_text(real.read_text().replace("#define D_SEC", "#define D_SEC 1 //"))
    assert pm.check(directory=tmp_path) == [real.name]
    (tmp_path / "params_old.pml").write_text("#define T0 1\n")
    assert pm.check(directory=tmp_path) == [real.name, "params_old.pml (not generated)"]
    assert pm.main(["--check"]) == 0


def test_constants_follow_the_calculator() -> None:
    """Change the calculator's inputs and the model's deadlines move with them."""
    wider = dataclasses.replace(
        pm.MODEL_PROFILE,
        budget=dataclasses.replace(pm.MODEL_PROFILE.budget, margin_s=11),
    )
    before = pm.model_constants(pm.MODEL_PROFILE, pm.Variant.REAL)
    after = pm.model_constants(wider, pm.Variant.REAL)
    assert after.claim_window_s >= before.claim_window_s + 10
    assert after.security_deadline > before.security_deadline
    assert pm.render_header(after) != pm.render_header(before)


def test_real_deadlines_are_the_calculators_plan() -> None:
    """The real header's deadlines, lock-by and reveal-by are plan_deadlines' own numbers."""
    profile = pm.MODEL_PROFILE
    constants = pm.model_constants(profile, pm.Variant.REAL)
    plan = plan_deadlines(
        initiator_chain=profile.security,
        participant_chain=profile.cash,
        budget=profile.budget,
        settlement_window_s=constants.settlement_window_s,
        now_s=constants.now_s,
        initiator_head=ChainHead(height=0),
        participant_head=ChainHead(height=0),
    )
    assert (
        constants.security_deadline,
        constants.cash_deadline,
        constants.cash_lock_by,
        constants.cash_reveal_by,
        constants.claim_window_s,
    ) == (
        plan.initiator.native,
        plan.participant.native,
        plan.participant_lock_by,
        plan.participant_reveal_by,
        plan.claim_window_s,
    )


def test_the_calculator_counts_every_wait_of_the_rule() -> None:
    """claim_needed_s covers the rule written down independently (issue 13, item 4)."""
    profile = pm.MODEL_PROFILE
    assert pm.uncounted_wait_s(profile) == 0
    counted = claim_needed_s(profile.security, profile.budget, profile.cash)
    assert counted >= pm.required_claim_window_s(profile)


def test_real_claim_window_covers_every_wait_of_the_relayer() -> None:
    """The window exceeds cash confirmations x block time + poll + reaction + inclusion."""
    profile = pm.MODEL_PROFILE
    constants = pm.model_constants(profile, pm.Variant.REAL)
    cash, sec, budget = profile.cash, profile.security, profile.budget
    waits = (
        cash.finality_depth * cash.block_time_max_ms // 1000
        + budget.poll_s
        + budget.reaction_s
        + budget.compliance_recheck_s
        + sec.inclusion_blocks * sec.block_time_max_ms // 1000
    )
    assert constants.claim_window_s > waits
    assert constants.claim_window_s >= pm.required_claim_window_s(profile)
    blind = pm.model_constants(profile, pm.Variant.NO_CONFIRMATIONS)
    assert blind.claim_window_s < waits < constants.claim_window_s
    # no margin: the cash deadline falls in the security deadline's last cash block
    no_margin = pm.model_constants(profile, pm.Variant.NO_MARGIN)
    assert no_margin.claim_window_s < cash.block_time_max_ms // 1000


def test_a_profile_the_model_cannot_express_is_refused() -> None:
    odd = dataclasses.replace(
        pm.MODEL_PROFILE,
        cash=dataclasses.replace(pm.MODEL_PROFILE.cash, block_time_max_ms=3500),
    )
    with pytest.raises(InvalidInput, match=r"cash\.block_time_max_ms"):
        pm.model_constants(odd, pm.Variant.REAL)


# ---------------------------------------------------------------- spin


@pytest.mark.usefixtures("spin")
def test_real_margins_verify() -> None:
    """Every schedule of the model with the real rules keeps every invariant."""
    verdict = pm.verify(pm.Variant.REAL)
    assert verdict.errors == 0, verdict.story
    assert verdict.states > 10_000  # the search explored the schedules, not a stub


@pytest.mark.usefixtures("spin")
def test_real_margins_verify_with_the_cash_on_timestamps() -> None:
    """The same, with the cash leg's deadline a block timestamp (the reveal on EVM)."""
    verdict = pm.verify(pm.Variant.REAL, "evm_cash")
    assert verdict.errors == 0, verdict.story


def test_the_calculator_reveals_twice_the_drift_before_a_timestamp_deadline() -> None:
    """The fix spin's counterexample called for (the reveal margin counted the drift once):
    reveal_by = deadline - (inclusion time + 2 * drift + 1) on a timestamp cash chain."""
    profile = pm.EVM_CASH_PROFILE
    cash = profile.cash
    constants = pm.model_constants(profile, pm.Variant.REAL)
    margin = cash.inclusion_blocks * cash.block_time_max_ms // 1000 + 2 * cash.timestamp_drift_s + 1
    assert constants.cash_reveal_by == constants.cash_deadline - margin


@pytest.mark.usefixtures("spin")
@pytest.mark.parametrize(
    ("variant", "violated", "last_step"),
    [
        # the seller reveals in the cash leg's last rounds: the buyer sees it too late
        (pm.Variant.NO_MARGIN, "honest_buyer_lost", ""),
        (pm.Variant.NO_CONFIRMATIONS, "honest_buyer_lost", "security claim reverted"),
        # the seller's reveal lands after the cash deadline and the secret is public
        (pm.Variant.LATE_REVEAL, "honest_seller_lost", "security claimed"),
    ],
)
def test_broken_rules_produce_a_counterexample(
    variant: pm.Variant, violated: str, last_step: str
) -> None:
    verdict = pm.verify(variant)
    assert verdict.errors >= 1
    assert verdict.violated == violated
    assert any("cash claim" in step or "cash claimed" in step for step in verdict.story)
    assert last_step in verdict.story[-1]


@pytest.mark.usefixtures("spin")
def test_every_probe_is_reachable() -> None:
    """Crashes, last-round reveals, front-runs and abandoned reveals really happen in the model."""
    verdicts = pm.probe()
    assert [v.name for v in verdicts] == list(pm.PROBES)
    assert [v.name for v in verdicts if v.errors == 0] == []


def test_verify_command_reports_each_verdict(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command's report and exit status, on verdicts spin gave (recorded once)."""
    verdicts = {
        pm.Variant.NO_MARGIN: pm.Verdict(
            "evm_security/no_margin",
            1,
            "honest_buyer_lost",
            9,
            9,
            0.1,
            ("t=1 buyer_relayer sends the cash lock",),
        ),
        pm.Variant.REAL: pm.Verdict("evm_security/real", 1, "honest_seller_lost", 9, 9, 0.1, ()),
    }
    monkeypatch.setattr(pm, "verify", lambda variant, profile: verdicts[variant])
    argv = ["verify", "--variant", "no_margin", "--profile", "evm_security", "--story"]
    assert pm.main(argv) == 0
    out = capsys.readouterr().out
    assert "evm_security/no_margin" in out
    assert "counterexample: honest_buyer_lost" in out
    assert out.splitlines()[0].endswith(" ok")
    assert "buyer_relayer sends the cash lock" in out
    # a real variant with a counterexample is a failure of the command
    assert pm.main(["verify", "--variant", "real", "--profile", "evm_security"]) == 1
    assert "UNEXPECTED" in capsys.readouterr().out
