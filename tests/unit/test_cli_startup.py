"""Start-up of the command line, asserted through the import graph, never a timing.

``stbridge --help`` and ``stbridge compliance check`` must start fast on any machine; what
makes them slow is importing what they do not use (a chain SDK, the HTTP server, the
JSON Schema validator, pycryptodome's cffi) and re-checking the shipped rule files against
their schema on every run. Each test runs the real entry point in a fresh interpreter and
reads ``sys.modules`` afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

_ROOT = Path(__file__).resolve().parents[2]
_TRADE = _ROOT / "specs" / "examples" / "jp-real-estate-to-sg-accredited-usdc.json"
_CHAIN_AND_SERVER = ("web3", "algosdk", "eth_tester", "eth_account", "fastapi", "uvicorn", "httpx")


def _imported_after(args: list[str], cache: Path) -> tuple[int, list[str]]:
    """Run ``stbridge ARGS`` in a fresh interpreter; its exit code and top-level modules."""
    code = (
        "import contextlib, io, json, sys\n"
        "from bridge.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    code = main({args!r})\n"
        "print(json.dumps([code, sorted({m.split('.')[0] for m in sys.modules})]))\n"
    )
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=_ROOT,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    exit_code, modules = json.loads(done.stdout.strip().splitlines()[-1])
    return int(exit_code), list(modules)


@pytest.mark.parametrize("args", [["--help"], ["bench", "--help"], ["compliance", "--help"]])
def test_help_imports_neither_chain_sdks_nor_validators(args: list[str], tmp_path: Path) -> None:
    """``--help`` of the root and of the bench and compliance groups imports no chain SDK,
    no server, no jsonschema, no pycryptodome and no matplotlib; the root's not even
    pydantic (typer itself imports pydantic to build a group's parameters)."""
    code, modules = _imported_after(args, tmp_path)
    assert code == 0
    heavy = set(_CHAIN_AND_SERVER) | {"jsonschema", "Crypto", "matplotlib"}
    if args == ["--help"]:
        heavy.add("pydantic")
    assert sorted(heavy & set(modules)) == []


def test_compliance_check_imports_no_chain_sdk_and_checks_the_schema_once(
    tmp_path: Path,
) -> None:
    """A real ``compliance check`` imports no chain SDK or server; its first run checks the
    shipped rule files against their JSON Schema (jsonschema imported) and remembers each
    file's result in the user's cache, so the second run with the same cache imports no
    jsonschema at all, and gives the same answer."""
    args = ["compliance", "check", str(_TRADE), "--at", "2026-12-01"]
    first_code, first = _imported_after(args, tmp_path)
    assert sorted(set(_CHAIN_AND_SERVER) & set(first)) == []
    assert "jsonschema" in first
    assert list((tmp_path / "stbridge" / "valid-rules").iterdir())
    second_code, second = _imported_after(args, tmp_path)
    assert second_code == first_code
    assert sorted(set(_CHAIN_AND_SERVER) & set(second)) == []
    assert "jsonschema" not in second
