"""The built wheel, installed outside the checkout, runs: package data, entry points, CLI.

CI's packaging check as a test (so ``make test`` and ``.ci/run`` cover it): build the wheel
from this checkout without network (``--no-build-isolation``), install it with ``--no-deps``
into a fresh venv in a temporary directory, and run ``stbridge`` from there with the
working directory outside the checkout. The venv reaches the dependencies through a path
file naming the development venv's site-packages; path files there are not processed, so
the development venv's editable install of stbridge stays invisible: only the wheel's
``bridge``, ``adapters`` and ``relayer`` (and their package data) can be imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The venv's bin directory with the wheel installed."""
    work = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(work / "dist"), str(ROOT)],
        check=True, capture_output=True, timeout=600, cwd=work,
    )  # fmt: skip
    (wheel,) = (work / "dist").glob("stbridge-*.whl")
    env_dir = work / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    purelib = Path(
        sysconfig.get_path("purelib", vars={"base": str(env_dir), "platbase": str(env_dir)})
    )
    (purelib / "stbridge-dev-deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(env_dir / "bin" / "python"), "install",
         "--no-deps", "--no-index", "-q", str(wheel)],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    return env_dir / "bin"


def _run(bin_dir: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STBRIDGE_")}
    env["STBRIDGE_NODE_MODULES"] = str(ROOT / "node_modules")  # npm packages: the demo's T-REX
    return subprocess.run(
        [str(bin_dir / "stbridge"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_the_wheel_imports_itself_not_the_checkout(installed: Path, tmp_path: Path) -> None:
    code = "import bridge, adapters, relayer; print(bridge.__file__, adapters.__file__)"
    done = subprocess.run(
        [str(installed / "python"), "-c", code], cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert str(ROOT) not in done.stdout
    assert str(installed.parent) in done.stdout


def test_compliance_check_reads_the_shipped_rules(installed: Path, tmp_path: Path) -> None:
    example = tmp_path / "trade.json"
    example.write_text(
        (ROOT / "specs/examples/jp-real-estate-to-sg-accredited-usdc.json").read_text()
    )
    done = _run(installed, tmp_path, "compliance", "check", str(example), "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    decision = json.loads(done.stdout)
    assert decision["outcome"] == "allow"
    assert "jp.kyc.seller" in decision["rules_evaluated"]  # from the wheel's package data
    rules = _run(installed, tmp_path, "compliance", "rules", "--jurisdiction", "SG")
    assert rules.returncode == 0, rules.stderr
    schemas = _run(installed, tmp_path, "schema", "export", "--check")
    assert schemas.returncode == 0, schemas.stderr


def test_asset_inspect_and_version(installed: Path, tmp_path: Path) -> None:
    done = _run(
        installed,
        tmp_path,
        "asset",
        "inspect",
        "--algod",
        "embedded",
        "--asset-id",
        "1006",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["asset"]["standard"] == "regulated_asa"  # TEAL shipped
    version = _run(installed, tmp_path, "version", "--json")
    assert json.loads(version.stdout)["dependencies"]["web3"]


def test_demo_runs_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    done = _run(installed, tmp_path, "demo", "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout)
    assert summary["outcomes"] == {
        "settle": "completed",
        "refuse": "refused",
        "refund": "refunded",
    }
