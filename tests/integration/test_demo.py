"""``stbridge demo`` ends with its three outcomes (what ``make demo`` shows)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from relayer.demo import app


def test_demo_ends_with_the_three_outcomes() -> None:
    result = CliRunner().invoke(app, ["--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["outcomes"] == {"settle": "completed", "refuse": "refused", "refund": "refunded"}
    before, after = summary["balances_before"], summary["balances_after"]
    assert after["bob TOT"] - before["bob TOT"] == 250
    assert after["alice USD cents"] - before["alice USD cents"] == 25_000_000
