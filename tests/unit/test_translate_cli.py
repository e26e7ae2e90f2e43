"""``stbridge translate``: plan and loss table, refusal, JSON, bad input, and one deploy on
an embedded chain whose read-back diff must equal the report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bridge.cli import main

ROOT = Path(__file__).resolve().parents[2]
TOT = str(ROOT / "specs" / "examples" / "translate" / "tot-erc3643.json")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["translate", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_lossy_translation_is_refused_with_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--from", TOT, "--to", "regulated-asa")
    assert code == 1
    assert "loss report (refused)" in out
    assert "token.max_balance" in out
    assert "controller_powers:partial_freeze" in err
    assert "--allow-loss" in err


def test_json_plan_and_report(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "--from", TOT, "--to", "erc3643", "--allow-loss", "cross_chain_state,identity"
    )
    assert code == 0
    code, out, _ = run(
        capsys, "--from", TOT, "--to", "regulated-asa", "--allow-loss", "all", "--json"
    )
    assert code == 0
    doc = json.loads(out)
    plan = doc["translation"]["plan"]
    assert plan["kind"] == "regulated_asa"
    assert plan["countries"] == ["JP", "SG"]
    assert plan["max_balance"] == 1_000_000
    entries = doc["translation"]["report"]["entries"]
    assert {e["feature"] for e in entries if e["scope"] == "reading"} == {
        "allow_list",
        "balance_cap",
        "supply_cap",
        "partial_freeze",
        "recovery",
    }
    assert doc["translation"]["source"]["chain"]["caip2"].startswith("eip155:")


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("--to", "nonsense"), "--to"),
        (("--to", "erc1400", "--allow-loss", "everything"), "--allow-loss"),
    ],
)
def test_bad_options_name_the_field(
    capsys: pytest.CaptureFixture[str], args: tuple[str, ...], field: str
) -> None:
    code, _, err = run(capsys, "--from", TOT, *args)
    assert code == 3
    assert err.startswith(f"error: {field}:")


def test_bad_source_names_the_field(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "--from", str(tmp_path / "missing.json"), "--to", "erc1400")
    assert (code, err.split(":")[1].strip()) == (3, "--from")
    bad = tmp_path / "bad.json"
    doc = json.loads(Path(TOT).read_text())
    doc["asset"]["decimals"] = -1
    bad.write_text(json.dumps(doc))
    code, _, err = run(capsys, "--from", str(bad), "--to", "erc1400")
    assert code == 3
    assert "decimals" in err


def test_an_ibet_plan_names_its_issuer(capsys: pytest.CaptureFixture[str]) -> None:
    """``--issuer`` is the account that will deploy an ibet target (it admits its issuer as
    a recipient): it is in the plan; a malformed one is bad input naming the field."""
    issuer = "0x" + "ab" * 20
    code, out, _ = run(
        capsys, "--from", TOT, "--to", "ibet-share", "--allow-loss", "all", "--issuer", issuer,
        "--json",
    )  # fmt: skip
    assert code == 0
    assert json.loads(out)["translation"]["plan"]["issuer"].lower() == issuer
    code, _, err = run(capsys, "--from", TOT, "--to", "ibet-share", "--issuer", "0x12")
    assert code == 3
    assert "issuer" in err


def test_deploy_reads_back_exactly_the_report(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "--from", TOT, "--to", "erc1400", "--allow-loss", "all", "--deploy", "--json"
    )
    assert code == 0
    doc = json.loads(out)
    deployment = doc["deployment"]
    assert deployment["diff_equals_report"] is True
    reading = {
        e["feature"] for e in doc["translation"]["report"]["entries"] if e["scope"] == "reading"
    }
    assert {d["feature"] for d in deployment["diff"]} == reading
    assert deployment["reading"]["standard"] == "erc1400"
    assert deployment["reading"]["name"] == "Tokyo Office Trust"


def _readme_commands() -> list[list[str]]:
    import shlex

    from tests.integration.test_readme import blocks

    (script,) = [body for kind, body in blocks() if kind == "translate"]
    joined = script.replace("\\\n", " ")
    commands = []
    for line in joined.splitlines():
        words = shlex.split(line.split("||")[0].split(">")[0], comments=True)
        if words:
            commands.append(words)
    return commands


def test_readme_translate_lines_without_deploy(capsys: pytest.CaptureFixture[str]) -> None:
    """Cheap form of the README block (the whole block runs under ``thorough``): each line
    parses and the lines without ``--deploy`` give the exit code the README expects."""
    commands = _readme_commands()
    assert len(commands) == 3
    for words in commands:
        assert words[:2] == ["stbridge", "translate"], words
        if "--deploy" in words:
            continue
        code = main(
            [*words[1:3], *[w.replace("specs/", str(ROOT / "specs") + "/") for w in words[3:]]]
        )
        capsys.readouterr()
        assert code == (1 if "--allow-loss" not in words else 0), words


@pytest.mark.thorough
def test_readme_translate_block_runs_as_written(tmp_path: Path) -> None:
    """The README's ``translate`` block, in one shell: the refusal, an accepted lossy plan,
    and a deploy whose read-back diff equals the report."""
    from tests.integration.test_readme import _bash, blocks

    (script,) = [body for kind, body in blocks() if kind == "translate"]
    done = _bash(script, tmp_path)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert "exit 1: refused" in done.stdout
    assert "token.max_balance" in done.stdout
    doc = json.loads((tmp_path / "erc1400.json").read_text())
    assert doc["deployment"]["diff_equals_report"] is True
