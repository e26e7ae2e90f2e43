"""``stbridge interop-test``: the command runs the suite, reports, and replays a failure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bridge.cli import main

pytestmark = pytest.mark.anvil


def test_help_explains_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["interop-test", "--help"]) == 0
    output = capsys.readouterr().out
    for option in ("--profile", "--seed", "--minutes", "--report", "--replay", "--actors"):
        assert option in output


def test_bad_actor_is_refused_naming_the_field(tmp_path: Path) -> None:
    assert main(["interop-test", "--actors", "wizard"]) == 3


def test_a_short_run_writes_a_report(tmp_path: Path) -> None:
    """A ci run restricted to the chains and the relayer on a fixed seed: it passes on the
    real code and its JSON report counts examples, steps and invariants."""
    out = tmp_path / "report.json"
    code = main(["interop-test", "--seed", "3", "--actors", "chains,relayer", "--report", str(out)])
    body = json.loads(out.read_text())
    assert code == 0, body["failures"]
    assert body["passed"] is True
    assert body["seed"] == 3
    assert body["examples"] >= 1
    assert body["invariants_checked"] > body["examples"]
    replayed = main(["interop-test", "--replay", str(out)])
    assert replayed == 0  # no failure recorded: nothing reproduces
