"""``stbridge translate --deploy`` against a real JSON-RPC node: anvil (not the embedded
chain). The deployer is a keystore whose account was funded on that anvil; the plan is
deployed with the real T-REX factory, read back, and the read-back diff must be exactly the
loss report's reading rows (exit 0, ``diff_equals_report``)."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest

from adapters.evm.client import EvmClient
from bridge.cli import main
from relayer.keystore import write_keystore

pytestmark = pytest.mark.anvil

ROOT = Path(__file__).resolve().parents[2]
TOT = str(ROOT / "specs" / "examples" / "translate" / "tot-erc3643.json")
PASSWORD = "translate-deploy-test-password"  # a throwaway test keystore


@pytest.mark.parametrize(
    "target",
    [pytest.param("erc3643", marks=pytest.mark.thorough), "erc1400"],  # the T-REX factory: ~9 s
)
def test_translate_deploys_on_anvil_and_reads_back_the_report(
    anvil_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    target: str,
) -> None:
    keystore = tmp_path / "deployer.json"
    address = write_keystore(
        keystore, kind="evm", key=secrets.token_bytes(32), password=PASSWORD, iterations=1_024
    )
    client = EvmClient.connect(anvil_url)
    client.fund(address, 10**20)
    monkeypatch.setenv("STBRIDGE_TEST_DEPLOY_PASSWORD", PASSWORD)
    code = main(
        [
            "translate",
            "--from", TOT,
            "--to", target,
            "--deploy",
            "--chain", anvil_url,
            "--keystore", str(keystore),
            "--password-env", "STBRIDGE_TEST_DEPLOY_PASSWORD",
            "--allow-loss", "all",
            "--json",
        ]
    )  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    deployed = json.loads(out)["deployment"]
    assert deployed["diff_equals_report"] is True
    assert deployed["chain"]["caip2"] == f"eip155:{client.chain_id}"
    assert client.code_at(deployed["locator"]) != b""  # a contract on anvil, not embedded
    reading = deployed["reading"]
    assert reading["standard"] == target
    assert reading["name"] == json.loads(Path(TOT).read_text())["asset"]["name"]
