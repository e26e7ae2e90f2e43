"""``stbridge asset inspect`` as a user runs it: a subprocess against anvil, every EVM standard.

Each token is deployed on a fresh anvil; the CLI detects its standard (``--standard auto``)
through the adapter registry's probes and prints the canonical asset as JSON. Bad input
gets one clear line and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest

from adapters.evm.client import EvmClient
from adapters.evm.erc20 import deploy_cash_token
from adapters.evm.erc1400 import deploy_security_token
from adapters.evm.erc1404 import deploy_restricted_token
from adapters.evm.ibet import deploy_ibet_bond, deploy_ibet_share, deploy_personal_info
from adapters.evm.signer import EvmSigner
from adapters.evm.trex_deploy import deploy_demo_suite
from tests.fixtures.evm import start_anvil, stop_process


@pytest.fixture(scope="module")
def tokens() -> Iterator[tuple[str, dict[str, str]]]:
    proc, url = start_anvil()
    try:
        client = EvmClient.from_target(url)
        issuer = EvmSigner.generate()
        client.fund(issuer.address, 10**20)
        registry = deploy_personal_info(client, issuer)
        deployed = {
            "erc3643": deploy_demo_suite(client, mint={"alice": 10}).token,
            "erc20": deploy_cash_token(
                client, issuer, name="USD Coin", symbol="USDX", decimals=6, currency="USD"
            ),
            "erc1404": deploy_restricted_token(client, issuer, name="Restricted", symbol="R4"),
            "erc1400": deploy_security_token(client, issuer, name="Partitioned", symbol="P14"),
            "ibet_share": deploy_ibet_share(
                client, issuer, name="Share", symbol="SH", total_supply=1000,
                personal_info=registry,
            ),
            "ibet_bond": deploy_ibet_bond(
                client, issuer, name="Bond", symbol="BD", total_supply=1000,
                personal_info=registry, face_value=10_000,
            ),
        }  # fmt: skip
        yield url, deployed
    finally:
        stop_process(proc)


def inspect(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bridge.cli", "asset", "inspect", *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.mark.anvil
@pytest.mark.parametrize(
    "standard", ["erc3643", "erc20", "erc1404", "erc1400", "ibet_share", "ibet_bond"]
)
def test_auto_detects_and_reads_each_standard(
    tokens: tuple[str, dict[str, str]], standard: str
) -> None:
    url, deployed = tokens
    out = inspect("--rpc", url, "--address", deployed[standard], "--json", "--holders")
    assert out.returncode == 0, out.stderr
    document = json.loads(out.stdout)
    assert document["asset"]["standard"] == standard
    assert document["asset"]["locator"]["address"] == deployed[standard]
    named = inspect(
        "--rpc", url, "--address", deployed[standard], "--standard", standard.replace("_", "-")
    )
    assert named.returncode == 0, named.stderr
    assert "rules enforced by the token" in named.stdout


@pytest.mark.anvil
def test_bad_input_is_one_line_and_a_non_zero_exit(tokens: tuple[str, dict[str, str]]) -> None:
    url, deployed = tokens
    cases = [
        (("--rpc", url, "--address", "0x1234"), 3, "address"),
        (("--rpc", url, "--address", "0x" + "00" * 19 + "01"), 1, "no contract"),
        (("--rpc", url, "--address", deployed["erc20"], "--standard", "erc3643"), 1, "not"),
        (("--rpc", "http://127.0.0.1:9", "--address", deployed["erc20"]), 4, "unreachable"),
        (("--address", deployed["erc20"]), 3, "--rpc/--algod"),
        (("--rpc", url, "--address", deployed["erc20"], "--standard", "erc777"), 3, "--standard"),
    ]
    for args, code, fragment in cases:
        out = inspect(*args)
        assert out.returncode == code, (args, out.returncode, out.stderr)
        assert "Traceback" not in out.stderr + out.stdout
        lines = [line for line in out.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, out.stderr
        assert fragment.lower() in lines[0].lower(), lines[0]
