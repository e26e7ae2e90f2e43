"""The stbridge CLI skeleton: help, version, schema export/--check, one-line errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bridge import __version__
from bridge.cli import main

REPO = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bridge.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )


def test_help_explains_and_lists_commands() -> None:
    out = run("--help")
    assert out.returncode == 0
    assert "canonical model" in out.stdout
    for command in ("version", "schema"):
        assert command in out.stdout


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["version"]) == 0
    assert capsys.readouterr().out.strip() == f"stbridge {__version__}"


def test_checked_in_schemas_match_the_models(capsys: pytest.CaptureFixture[str]) -> None:
    """The drift check: specs/schemas must be regenerated whenever a model changes."""
    assert main(["schema", "export", "--check"]) == 0, capsys.readouterr().err


def test_schema_check_fails_on_drift(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "export", "--out", str(tmp_path)]) == 0
    assert main(["schema", "export", "--check", "--out", str(tmp_path)]) == 0
    target = tmp_path / "holding.schema.json"
    target.write_text(target.read_text().replace('"free"', '"gratis"'))
    (tmp_path / "stale.schema.json").write_text("{}")
    capsys.readouterr()
    assert main(["schema", "export", "--check", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "holding.schema.json (differs" in err
    assert "stale.schema.json (no model" in err


def test_unknown_command_is_one_clear_line_without_traceback() -> None:
    out = run("no-such-command")
    assert out.returncode == 3
    assert "No such command" in out.stderr
    assert "Traceback" not in out.stderr + out.stdout


HEAVY = ("web3", "algosdk", "bridge.model", "httpx", "eth_account", "rich.markdown", "fastapi")


@pytest.mark.parametrize(
    "args",
    [(), ("swap",), ("swap", "submit"), ("relayer",), ("relayer", "run"), ("devnet",),
     ("asset",), ("asset", "inspect"), ("demo",), ("schema",), ("interop-test",), ("token",)],
)  # fmt: skip
def test_help_imports_no_chain_sdk(args: tuple[str, ...]) -> None:
    """``--help`` stays fast by construction: it imports none of the heavy libraries (no
    chain SDK, no canonical model, no HTTP client), whatever the machine's speed."""
    code = (
        "import sys\n"
        "from bridge.cli import main\n"
        f"code = main([*{list(args)!r}, '--help'])\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "print('HEAVY', heavy, code)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO
    )
    assert out.returncode == 0, out.stderr
    assert " ".join(("Usage: stbridge", *args)) + " [OPTIONS]" in out.stdout
    assert out.stdout.strip().splitlines()[-1] == "HEAVY [] 0"


def test_every_group_is_listed_without_importing_it() -> None:
    out = run("--help")
    for group in ("asset", "compliance", "demo", "devnet", "relayer", "swap", "bench"):
        assert f"  {group} " in out.stdout, group


def test_version_json_and_flag(capsys: pytest.CaptureFixture[str]) -> None:
    """``version --json`` names the commit and the key dependencies; ``--version``/``-V``."""
    import json

    assert main(["version", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["stbridge"] == __version__
    assert info["dependencies"]["web3"]
    assert info["dependencies"]["py-algorand-sdk"]
    assert info["commit"] is None or len(info["commit"]) == 40
    for flag in ("--version", "-V"):
        out = run(flag)
        assert (out.returncode, out.stdout.strip()) == (0, f"stbridge {__version__}")
    assert "Usage: stbridge" in run("-h").stdout


def test_asset_inspect_refuses_an_empty_embedded_evm_chain() -> None:
    """``--rpc embedded`` would read a fresh, empty chain: refused, pointing at the devnet."""
    out = run("asset", "inspect", "--rpc", "embedded", "--address", "0x" + "11" * 20)
    assert out.returncode == 3
    assert "--rpc" in out.stderr
    assert "stbridge devnet up" in out.stderr


def test_keygen_does_not_scatter_keystores_outside_the_working_tree(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "bridge.cli", "relayer", "keygen", "--kind", "evm", "--out",
         str(tmp_path / "elsewhere" / "k.json")],
        capture_output=True, text=True, timeout=120, cwd=REPO,
        env={**__import__("os").environ, "STBRIDGE_KEYSTORE_PASSWORD": "password-123"},
    )  # fmt: skip
    assert out.returncode == 3, out.stderr
    assert "--out" in out.stderr
    assert not (tmp_path / "elsewhere").exists()


def test_the_interop_names_are_the_suites() -> None:
    """``interop-test --help`` lists actors and mutations from a light module: the same
    names the suite runs."""
    from relayer.interop.mutations import MUTATIONS
    from relayer.interop.names import ACTORS, MUTATION_NAMES
    from relayer.interop.strategies import ACTORS as RUN_ACTORS

    assert tuple(sorted(MUTATIONS)) == MUTATION_NAMES
    assert ACTORS is RUN_ACTORS
