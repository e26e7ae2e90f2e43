"""How the interop report records a failure: its steps kept, a flaky one marked so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis.errors import FlakyFailure

from bridge.errors import ChainUnavailable
from relayer.interop import report
from relayer.interop.report import _failure


def test_a_failure_hypothesis_could_not_reproduce_is_marked_flaky_with_its_steps() -> None:
    inner = ChainUnavailable("evm_mine refused: timestamp lower than the previous block's")
    group = FlakyFailure("Inconsistent results: failed once, passed when run again", [inner])
    group.add_note("state = InteropMachine()\nstate.start(data=...)\nstate.mine(chain='sec')")
    entry = _failure(113, group)
    assert entry["flaky"] is True
    assert entry["error"] == "ChainUnavailable"
    assert entry["example"] == [
        "state = InteropMachine()",
        "state.start(data=...)",
        "state.mine(chain='sec')",
    ]


def test_a_reproducible_failure_is_not_marked_flaky() -> None:
    exc = AssertionError("no_lock_is_both_claimed_and_refunded: lock 0x01")
    exc.add_note("state.tick()")
    entry = _failure(7, exc)
    assert "flaky" not in entry
    assert entry["invariant"] == "no_lock_is_both_claimed_and_refunded"
    assert entry["example"] == ["state.tick()"]


def test_a_replay_reports_each_failure_s_own_seed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--replay`` runs the batches of the recorded failures: its progress names each
    failure's seed (it named the run's first seed before), and nothing else is run."""
    ran: list[int] = []

    def one_batch(config: object, spec: object, batch_seed: int, blob: object) -> None:
        ran.append(batch_seed)

    monkeypatch.setattr(report, "_run_batch", one_batch)
    path = tmp_path / "report.json"
    path.write_text(
        json.dumps(
            {
                "profile": "ci",
                "seed": 100,
                "actors": ["chains", "relayer"],
                "failures": [{"seed": 113}, {"seed": 120}],
            }
        )
    )
    seen: list[int] = []
    result = report.replay(path, progress=lambda r: seen.append(r.batch_seed))
    assert ran == [113, 120]
    assert seen == [113, 120]
    assert result.passed
