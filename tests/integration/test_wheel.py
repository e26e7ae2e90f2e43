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
import shutil
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
    # build from a copy: setuptools' build/ in the checkout would keep files deleted since
    source = work / "src"
    shutil.copytree(
        ROOT,
        source,
        symlinks=True,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "node_modules", "build", "dist", "*.egg-info", "__pycache__",
            ".*_cache", ".hypothesis", "devnet", "keys",
        ),
    )  # fmt: skip
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(work / "dist"), str(source)],
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


def test_the_example_orders_ship_and_match(installed: Path, tmp_path: Path) -> None:
    """The example orders (``specs/examples/orders/``) are package data: read through
    ``importlib.resources`` outside the checkout, every one is there, loads as an order and
    matches what the code would write (``python -m relayer.orders --check``)."""
    done = subprocess.run(
        [str(installed / "python"), "-m", "relayer.orders", "--check"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert str(installed.parent) in done.stdout  # the wheel's files, not the checkout's
    assert "7 example orders match" in done.stdout
    code = (
        "from relayer.orders import examples_dir, load_order\n"
        "for path in sorted(examples_dir().glob('*.json')):\n"
        "    print(path.name, load_order(path).trade.id)\n"
    )
    loaded = subprocess.run(
        [str(installed / "python"), "-c", code],
        cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert loaded.returncode == 0, loaded.stderr
    names = sorted(p.name for p in (ROOT / "specs" / "examples" / "orders").glob("*.json"))
    assert [line.split()[0] for line in loaded.stdout.splitlines()] == names


def test_demo_runs_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    done = _run(installed, tmp_path, "demo", "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout)
    assert summary["outcomes"] == {
        "settle": "completed",
        "refuse": "refused",
        "refund": "refunded",
    }


@pytest.mark.anvil
def test_a_third_party_adapter_plugs_in_without_editing_stbridge(
    installed: Path, tmp_path: Path
) -> None:
    """The example plug-in (specs/examples/plugin) adds the standard ``euro_emt``: once
    installed, the registry lists it and ``--standard auto`` reads a EUR token with it, while
    a USD token stays ``erc20``."""
    from adapters.evm.client import EvmClient
    from adapters.evm.erc20 import deploy_cash_token
    from adapters.evm.signer import EvmSigner
    from tests.fixtures.evm import start_anvil, stop_process

    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(installed / "python"), "install",
         "--no-deps", "--no-build-isolation", "--no-index", "-q",
         str(ROOT / "specs" / "examples" / "plugin")],
        check=True, capture_output=True, timeout=600, cwd=tmp_path,
    )  # fmt: skip
    listed = _run(installed, tmp_path, "asset", "standards", "--json")
    assert listed.returncode == 0, listed.stderr
    assert "euro_emt" in {row["standard"] for row in json.loads(listed.stdout)}
    proc, url = start_anvil()
    try:
        client = EvmClient.connect(url)
        issuer = EvmSigner.generate()
        client.fund(issuer.address, 10**19)
        tokens = {
            currency: deploy_cash_token(
                client, issuer, name=f"{currency} Coin", symbol=currency, decimals=2,
                currency=currency,
            )
            for currency in ("EUR", "USD")
        }  # fmt: skip
        read = {
            currency: _run(installed, tmp_path, "asset", "inspect", "--rpc", url, "--address",
                           address, "--json")
            for currency, address in tokens.items()
        }  # fmt: skip
    finally:
        stop_process(proc)
    for currency, done in read.items():
        assert done.returncode == 0, (currency, done.stderr)
    assert json.loads(read["EUR"].stdout)["asset"]["standard"] == "euro_emt"
    assert json.loads(read["USD"].stdout)["asset"]["standard"] == "erc20"
    named = _run(installed, tmp_path, "asset", "standards")
    assert "euro_emt" in named.stdout
