"""``stbridge bench``: each benchmark runs from the CLI and reports what it measured."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from adapters.evm.htlc_gas import OPERATIONS
from relayer.bench import app

runner = CliRunner()


def test_bench_compliance_reports_decisions() -> None:
    result = runner.invoke(app, ["compliance", "--seconds", "0.2", "--json"])
    assert result.exit_code == 0, result.output
    numbers = json.loads(result.stdout)
    assert numbers["decisions"] > 0
    assert sum(numbers["outcomes"].values()) == numbers["decisions"]
    assert numbers["jurisdictions"] >= 7


def test_bench_gas_lists_every_operation_next_to_boltz() -> None:
    result = runner.invoke(app, ["gas", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert list(rows) == list(OPERATIONS)
    for row in rows.values():
        assert 21_000 < row["stbridge"] < 100_000


def test_bench_relayer_settles_every_swap_and_times_the_stages() -> None:
    result = runner.invoke(app, ["relayer", "--swaps", "3", "--json"])
    assert result.exit_code == 0, result.output
    numbers = json.loads(result.stdout)
    assert numbers["completed"] == 3
    assert numbers["outcomes"] == {"completed": 3}
    for stage in ("compliance", "initiator_lock", "participant_lock", "reveal", "settle"):
        assert numbers["stages"][stage]["count"] == 3, stage
    assert numbers["algorand_rounds_per_swap"] >= 2  # the cash lock and its claim


def test_bench_refuses_a_bad_swap_count() -> None:
    result = runner.invoke(app, ["relayer", "--swaps", "0"])
    assert result.exit_code != 0
    assert "--swaps" in result.output
