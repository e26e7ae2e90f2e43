"""``stbridge compliance`` through typer's CliRunner on the compliance app."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from bridge.compliance.cli import app
from bridge.compliance.loader import specs_dir

runner = CliRunner()
EXAMPLES = specs_dir() / "examples"


def test_check_allow_example_exits_0_with_obligation() -> None:
    """The README's JP real-estate token to a SG accredited investor is allowed (exit 0)."""
    result = runner.invoke(
        app,
        [
            "check",
            str(EXAMPLES / "jp-real-estate-to-sg-accredited-usdc.json"),
            "--at",
            "2026-03-01",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "ALLOW" in result.output
    assert "jp.fefta.payment_report" in result.output


def test_check_deny_example_exits_1_and_prints_citation() -> None:
    """The denied example exits 1 and shows the rule and its citation."""
    result = runner.invoke(
        app, ["check", str(EXAMPLES / "jp-qii-token-to-retail-denied.json"), "--at", "2026-03-01"]
    )
    assert result.exit_code == 1, result.output
    assert "jp.qii_only.transfer" in result.output
    assert "13-4(1)(i)" in result.output


def test_check_needs_information_exits_2_json() -> None:
    """The travel-rule example exits 2; --json prints a decision document."""
    result = runner.invoke(
        app,
        [
            "check",
            str(EXAMPLES / "usdc-via-vasps-travel-rule-missing.json"),
            "--at",
            "2026-03-01",
            "--json",
        ],
    )
    assert result.exit_code == 2, result.output
    doc = json.loads(result.output)
    assert doc["outcome"] == "needs_information"
    assert {r["code"] for r in doc["reasons"]} == {"TRAVEL_RULE_DATA_MISSING"}


def test_check_bad_trade_file_exits_3_one_line(tmp_path: Path) -> None:
    """An invalid trade exits 3 with one line naming the file and the field, no traceback."""
    f = tmp_path / "t.json"
    doc = json.loads((EXAMPLES / "jp-qii-token-to-retail-denied.json").read_text())
    doc["buyer"]["residence"] = "XX"
    f.write_text(json.dumps(doc))
    result = runner.invoke(app, ["check", str(f)])
    assert result.exit_code == 3
    lines = [line for line in result.output.splitlines() if line]
    assert len(lines) == 1
    assert "buyer.residence" in lines[0]
    assert "Traceback" not in result.output


def test_check_bad_at_and_missing_file_exit_3(tmp_path: Path) -> None:
    """A malformed --at, or a missing trade file, exits 3."""
    example = str(EXAMPLES / "jp-qii-token-to-retail-denied.json")
    assert runner.invoke(app, ["check", example, "--at", "yesterday"]).exit_code == 3
    assert runner.invoke(app, ["check", str(tmp_path / "none.json")]).exit_code == 3


def test_check_malformed_rules_exit_3_names_file(tmp_path: Path) -> None:
    """A malformed --rules file exits 3 naming the file and the path inside it."""
    bad = tmp_path / "JP.json"
    bad.write_text(
        json.dumps(
            {"format": "stbridge.jurisdiction-rules/v1", "jurisdiction": "JP", "rules": [{"id": 5}]}
        )
    )
    result = runner.invoke(
        app, ["check", str(EXAMPLES / "jp-qii-token-to-retail-denied.json"), "--rules", str(bad)]
    )
    assert result.exit_code == 3
    assert str(bad) in result.output
    assert "rules[0]" in result.output


def test_rules_lists_jurisdiction_with_citations() -> None:
    """``rules --jurisdiction JP --json`` lists only JP rules, each with citation and status."""
    result = runner.invoke(app, ["rules", "--jurisdiction", "JP", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert rows
    assert all(r["jurisdiction"] == "JP" for r in rows)
    assert all(r["citation"]["law"] and r["verification"] for r in rows)
    assert "jp.qii_only.transfer" in {r["id"] for r in rows}


def test_rules_member_state_and_uk_alias_and_unknown() -> None:
    """DE shows the EU rules, UK means GB, an unknown jurisdiction exits 3."""
    de = runner.invoke(app, ["rules", "-j", "DE", "--json"])
    assert {r["jurisdiction"] for r in json.loads(de.output)} == {"EU"}
    uk = runner.invoke(app, ["rules", "-j", "UK"])
    assert uk.exit_code == 0
    assert "gb.mlr.travel_rule_above_1000" in uk.output
    assert runner.invoke(app, ["rules", "-j", "BR"]).exit_code == 3


def test_help_texts_explain_exit_codes() -> None:
    """``check --help`` documents the exit codes."""
    result = runner.invoke(app, ["check", "--help"])
    assert result.exit_code == 0
    assert "needs information" in result.output
    assert "--sanctions" in result.output


def test_check_batch_json_lines_one_decision_per_trade() -> None:
    """``check --batch book.jsonl --json``: one decision per line, in order; exit 1 because
    one trade of the book is denied."""
    result = runner.invoke(
        app, ["check", "--batch", str(EXAMPLES / "book.jsonl"), "--at", "2026-03-01", "--json"]
    )
    assert result.exit_code == 1, result.output
    docs = [json.loads(line) for line in result.output.splitlines() if line]
    assert [d["outcome"] for d in docs] == ["allow", "deny", "needs_information", "allow"]
    assert docs[3]["obligations"][0]["kind"] == "travel_rule"


def test_check_batch_summary_names_the_trades_not_allowed() -> None:
    """Without --json the batch prints counts and one line per trade not allowed."""
    result = runner.invoke(
        app, ["check", "--batch", str(EXAMPLES / "book.jsonl"), "--at", "2026-03-01"]
    )
    assert result.exit_code == 1
    assert "4 trades" in result.output
    assert "demo-qii-token-to-retail: deny" in result.output
    assert "demo-de-bond-to-at-retail" not in result.output


def test_check_json_bad_trade_prints_json_error_on_stdout(tmp_path: Path) -> None:
    """``check --json`` on an invalid trade exits 3 and prints {"error": {field, rule,
    message}} on stdout, so a script reads every outcome from stdout."""
    f = tmp_path / "t.json"
    doc = json.loads((EXAMPLES / "jp-qii-token-to-retail-denied.json").read_text())
    doc["buyer"]["residence"] = "XX"
    f.write_text(json.dumps(doc))
    result = runner.invoke(app, ["check", str(f), "--json"])
    assert result.exit_code == 3
    error = json.loads(result.stdout)["error"]
    assert error["field"] == "buyer.residence"
    assert error["rule"]
    assert "buyer.residence" in error["message"]


def test_check_json_bad_at_and_missing_input() -> None:
    """A bad --at, and neither TRADE.json nor --batch, are JSON errors with their field."""
    example = str(EXAMPLES / "jp-qii-token-to-retail-denied.json")
    bad_at = runner.invoke(app, ["check", example, "--at", "yesterday", "--json"])
    assert bad_at.exit_code == 3
    assert json.loads(bad_at.stdout)["error"]["field"] == "--at"
    none = runner.invoke(app, ["check", "--json"])
    assert none.exit_code == 3
    assert json.loads(none.stdout)["error"]["rule"] == "one_input"


def test_check_batch_bad_line_names_the_line(tmp_path: Path) -> None:
    """A batch with an invalid second line decides nothing and names line 2."""
    good = (EXAMPLES / "book.jsonl").read_text().splitlines()[0]
    f = tmp_path / "b.jsonl"
    f.write_text(good + "\n" + '{"id": "x"}' + "\n")
    result = runner.invoke(app, ["check", "--batch", str(f), "--json"])
    assert result.exit_code == 3
    error = json.loads(result.stdout)["error"]
    assert error["line"] == 2
    assert error["rule"] == "missing"


def test_rules_json_shows_status_source_date_and_why() -> None:
    """``rules --json``: every rule has its status, effective date, source and checked date
    keys; every rule not fully verified says why in its note."""
    rows = json.loads(runner.invoke(app, ["rules", "--json"]).output)
    assert all({"verification", "source", "checked_on", "effective_from"} <= r.keys() for r in rows)
    assert all(r["effective_from"] for r in rows)
    assert all(r["note"] for r in rows if r["verification"] != "verified")
    fpo = next(r for r in rows if r["id"] == "gb.fpo.restricted_promotion")
    assert fpo["source"].startswith("https://legislation.gov.uk/uksi/2005/1529")
    assert fpo["checked_on"] == "2026-12-03"


def test_rules_at_shows_the_law_of_that_day() -> None:
    """``rules -j GB --at``: the UK PR rule on 2026-01-18, the POATRs rule from 2026-01-19."""

    def ids(day: str) -> set[str]:
        out = runner.invoke(app, ["rules", "-j", "GB", "--at", day, "--json"]).output
        return {r["id"] for r in json.loads(out)}

    before, after = ids("2026-01-18"), ids("2026-01-19")
    assert "gb.qualified_investors.transfer" in before - after
    assert "gb.poatrs.qualified_investors.transfer" in after - before
