"""Every command block of README.md runs in a test, exactly as written.

Each fenced block is announced by a comment saying how it is tested:
``<!-- readme-test: make -->`` (each ``make`` target is dry-run with ``make -n``, since
``make test`` cannot run itself, and ``make help`` runs), ``cli`` and ``keys`` (run with
bash, ``set -e``, in a fresh directory where ``specs`` is the checkout's), ``library`` and
the operator path (run in ``test_readme_operator.py`` with the devnet and a relayer),
``model`` (the drift check runs as written; ``test_protocol_model.py`` runs the generator
and spin's verification). A block without its comment, or a command that fails, fails here.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
KINDS = (
    "make",
    "model",
    "cli",
    "keys",
    "library",
    "interop",
    "bench_holders",
    "embedded",
    "translate",
    "move",
    "bench_relayer",
)

_BLOCK = re.compile(r"(?P<before>[^\n]*)\n```(?P<lang>\w*)\n(?P<body>.*?)```", re.DOTALL)


def blocks() -> list[tuple[str, str]]:
    """(kind, body) of every fenced block; kind is "operator" inside the operator markers."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found: list[tuple[str, str]] = []
    for match in _BLOCK.finditer(text):
        before = match.group("before")
        marker = re.match(r"<!-- (readme-test: (\w+)|operator-path:start)", before)
        kind = "untested" if marker is None else (marker.group(2) or "operator")
        found.append((kind, match.group("body")))
    return found


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STBRIDGE_", "DEVNET_"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def _bash(script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    harness = (
        "set -e\n"
        "trap 'status=$?; set +e; "
        "if [ $status -ne 0 ]; then stbridge devnet down >/dev/null 2>&1; fi; exit $status' EXIT\n"
    )
    (cwd / "specs").symlink_to(ROOT / "specs")
    return subprocess.run(
        ["bash", "-c", harness + script],
        cwd=cwd,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def test_every_block_says_how_it_is_tested() -> None:
    found = blocks()
    assert len(found) >= 5
    untested = [body.splitlines()[0] for kind, body in found if kind not in (*KINDS, "operator")]
    assert not untested, f"README blocks without a readme-test comment: {untested}"


def test_make_targets_exist_and_help_runs() -> None:
    targets = sorted(
        {
            line.split()[1]
            for kind, body in blocks()
            if kind == "make"
            for line in body.splitlines()
            if line.startswith("make ")
        }
    )
    assert {"demo", "test", "check", "help"} <= set(targets)
    for target in targets:
        dry = subprocess.run(
            ["make", "-n", target], cwd=ROOT, capture_output=True, text=True, timeout=60
        )
        assert dry.returncode == 0, (target, dry.stderr)
    helped = subprocess.run(["make", "help"], cwd=ROOT, capture_output=True, text=True)
    assert helped.returncode == 0
    for target in targets:
        assert target in helped.stdout, target


@pytest.mark.anvil
def test_cli_block(tmp_path: Path) -> None:
    (script,) = [body for kind, body in blocks() if kind == "cli"]
    done = _bash(script, tmp_path)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert "Tokyo Office Trust" in done.stdout
    assert "stbridge 0.1.0" in done.stdout
    assert '"outcome": "allow"' in done.stdout  # compliance check --json
    assert "devnet in devnet stopped" in done.stdout


def test_keys_block(tmp_path: Path) -> None:
    from algosdk import account, mnemonic

    (script,) = [body for kind, body in blocks() if kind == "keys"]
    private, address = account.generate_account()
    (tmp_path / "buyer-mnemonic.txt").write_text(mnemonic.from_private_key(private) + "\n")
    done = _bash(script, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    printed = done.stdout.split()
    assert len(printed) == 3
    assert printed[2] == address  # the imported key keeps its address
    for name in ("evm-relayer", "algo-relayer", "algo-buyer"):
        assert oct((tmp_path / "keys" / f"{name}.json").stat().st_mode & 0o777) == "0o600"


def test_model_block_drift_check_runs_as_written() -> None:
    (script,) = [body for kind, body in blocks() if kind == "model"]
    (line,) = [line for line in script.splitlines() if "--check" in line]
    command = line.split("#")[0].split()
    assert command[:3] == ["python", "-m", "bridge.protocol_model"]
    done = subprocess.run(
        [sys.executable, *command[1:]], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_interop_block_names_only_real_options() -> None:
    """Every ``stbridge interop-test`` line of the README parses (its options exist): each
    is run with ``--help`` appended, which click answers only after parsing the line."""
    (script,) = [body for kind, body in blocks() if kind == "interop"]
    lines = [line.split("#")[0].split() for line in script.splitlines() if line.strip()]
    assert lines
    for words in lines:
        assert words[:2] == ["stbridge", "interop-test"], words
        out = subprocess.run(
            [str(BIN / "stbridge"), *words[1:], "--help"],
            env=_env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert out.returncode == 0, (words, out.stderr)
