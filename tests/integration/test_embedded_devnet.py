"""The embedded devnet (issue 14): py-evm over JSON-RPC, time advance, up / inspect / down.

- ``test_rpc_server_*`` (cheap, ``make test``): :class:`EvmRpcServer` serves an in-process
  py-evm chain over HTTP; ``EvmClient.connect`` deploys and reads through it as through
  anvil, reverts arrive with their data (a custom error and an ``Error(string)``), batches,
  snapshots and time travel work, and bad requests get JSON-RPC errors.
- ``test_advance_moves_both_clocks`` (cheap): the devnet process's control endpoint moves
  the EVM chain's time and the Algorand ledger's time and rounds.
- ``test_devnet_up_embedded_*`` (thorough: a minute or two): ``stbridge devnet up
  --embedded`` as a user runs it; ``asset inspect`` shows the deployed world;
  ``devnet advance``; ``devnet down`` stops every process it started.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from eth_abi.abi import encode

from adapters.evm.client import EvmClient, EvmReverted
from adapters.evm.erc20 import Erc20Adapter, deploy_cash_token
from adapters.evm.htlc import EvmHtlc
from adapters.evm.rpc_server import EvmRpcServer
from adapters.evm.signer import EvmSigner
from bridge.model import AssetRef, Capability, EvmContractLocator, TransferIntent
from bridge.reasons import ReasonCode
from relayer.devnet import _alive, _Control, read_state

ETHER = 10**18
BIN = Path(sys.executable).parent


def _reverting_init_code(reason: str) -> str:
    """Init code that reverts with ``Error(reason)``: MSTORE each word, then REVERT."""
    data = bytes.fromhex("08c379a0") + encode(["string"], [reason])
    data += bytes(-len(data) % 32)
    code = b""
    for offset in range(0, len(data), 32):
        code += b"\x7f" + data[offset : offset + 32] + b"\x60" + bytes([offset]) + b"\x52"
    length = len(bytes.fromhex("08c379a0") + encode(["string"], [reason]))
    code += b"\x60" + bytes([length]) + b"\x60\x00\xfd"
    return "0x" + code.hex()


def test_rpc_server_serves_py_evm_to_a_json_rpc_client() -> None:
    """Invariant: a client over HTTP deploys, transacts, reads and decodes reverts on the
    served py-evm chain exactly as on a node."""
    with EvmRpcServer() as server:
        client = EvmClient.connect(server.url)
        assert client.backend == "rpc"
        assert client.evm_version == "prague"
        owner, other = EvmSigner.generate(), EvmSigner.generate()
        client.fund(owner.address, 10 * ETHER)
        assert client.balance(owner.address) == 10 * ETHER
        htlc = EvmHtlc.deploy(client, owner)  # its code is checked against the artifact
        token = deploy_cash_token(
            client, owner, name="Yen", symbol="JPYX", decimals=0, currency="JPY"
        )
        ref = AssetRef(chain=client.chain, locator=EvmContractLocator(address=token))
        adapter = Erc20Adapter(client)
        adapter.agent_operation(ref, Capability.MINT, owner, to=owner.address, amount=5)
        assert adapter.holding(ref, owner.address).balance == 5
        # a custom error, decoded with its arguments from the revert data
        refused = adapter.check_transfer(
            TransferIntent(asset=ref, sender=owner.address, recipient=other.address, amount=6)
        )
        assert refused.reason is ReasonCode.INSUFFICIENT_BALANCE
        assert refused.refusals[0].raw_code == "ERC20InsufficientBalance"
        # an Error(string), as geth and anvil send it
        with pytest.raises(EvmReverted) as reverted:
            client.call({"data": _reverting_init_code("not today")})
        assert reverted.value.revert.message == "not today"
        # logs, batches, snapshots, time
        logs = list(client.logs(address=token, from_block=0))  # the mint's Transfer at least
        transfer = "0x" + bytes(logs[-1]["topics"][0]).hex()
        assert list(client.logs(address=token, topics=[transfer], from_block=0)) == [logs[-1]]
        assert list(client.logs(address=token, topics=["0x" + "00" * 32], from_block=0)) == []
        assert list(client.logs(address=htlc.address, topics=[transfer], from_block=0)) == []
        assert client.read_many([htlc.contract.functions.isOpen(bytes(32))] * 3) == [False] * 3
        taken, head = client.snapshot(), client.head()
        before = int(client.now().timestamp())
        client.increase_time(3600)
        assert int(client.now().timestamp()) >= before + 3600
        client.mine(2)
        client.revert(taken)
        assert client.head() == head
        # JSON-RPC errors for what is not there
        answer = httpx.post(
            server.url, json={"jsonrpc": "2.0", "id": 7, "method": "eth_nope", "params": []}
        ).json()
        assert answer["id"] == 7
        assert answer["error"]["code"] == -32601
        assert httpx.post(server.url, content=b"{").json()["error"]["code"] == -32700


def test_advance_moves_both_clocks() -> None:
    """Invariant: ``advance`` moves the EVM block time by at least the seconds asked, and
    the Algorand ledger by that many seconds and the rounds asked."""
    from adapters.algorand.ledger import EmbeddedLedger

    ledger = EmbeddedLedger()
    with EvmRpcServer() as server:
        client = EvmClient.connect(server.url)
        control = _Control(evm_url=server.url, ledger=ledger)
        try:
            evm_before = int(client.now().timestamp())
            round_before, algo_before = ledger.last_round, ledger.latest_timestamp
            answer = httpx.post(
                f"{control.url}/advance", json={"seconds": 7200, "rounds": 2572}
            ).json()
            assert answer["evm"]["timestamp"] >= evm_before + 7200
            assert answer["algorand"]["round"] == round_before + 2572
            assert answer["algorand"]["timestamp"] >= algo_before + 7200
            assert ledger.latest_timestamp == answer["algorand"]["timestamp"]
            bad = httpx.post(f"{control.url}/advance", json={"seconds": -1, "rounds": 1})
            assert bad.status_code == 400
            assert "seconds" in bad.json()["error"]
        finally:
            control.stop()


def _cli(directory: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STBRIDGE_")}
    env["COLUMNS"] = "200"
    return subprocess.run(
        [str(BIN / "stbridge"), *args],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.mark.thorough
def test_devnet_up_embedded_shows_the_world_and_goes_down(tmp_path: Path) -> None:
    """``devnet up --embedded`` serves py-evm to other processes: ``asset inspect`` (its
    own process) reads the deployed T-REX token and its holders; ``advance`` moves both
    clocks; ``down`` stops the devnet and the py-evm process."""
    up = _cli(tmp_path, "devnet", "up", "--embedded", "--json", timeout=900)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        state = json.loads(up.stdout)
        assert state["evm_backend"] == "py-evm"
        assert state["evm_chain_id"] == 131277322940537
        assert set(state["orders"]) >= {"ibet-share-jp-to-sg-for-jpy-on-evm"}
        tot = state["contracts"]["TOT (erc3643)"]
        alice = state["investors"]["alice"]["evm"]
        shown = _cli(
            tmp_path, "asset", "inspect", "--rpc", state["evm_url"], "--address", tot,
            "--holders", "--json",
        )  # fmt: skip
        assert shown.returncode == 0, shown.stderr
        asset = json.loads(shown.stdout)
        assert "Tokyo Office Trust" in shown.stdout
        assert alice in shown.stdout
        assert asset is not None
        moved = _cli(tmp_path, "devnet", "advance", "--seconds", "60", "--json")
        assert moved.returncode == 0, moved.stderr
        assert json.loads(moved.stdout)["algorand"]["round"] > 0
    finally:
        down = _cli(tmp_path, "devnet", "down")
    assert down.returncode == 0, down.stderr
    assert read_state(tmp_path / "devnet") is None
    assert not _alive(state["pid"])
    assert state["evm_pid"] is not None
    assert not _alive(state["evm_pid"])


def test_advance_without_a_devnet_says_so(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from relayer.devnet import app

    runner = CliRunner()
    done = runner.invoke(app, ["advance", "--seconds", "60", "--dir", str(tmp_path)])
    assert done.exit_code == 1
    assert f"no devnet running in {tmp_path}" in done.output
    helped = runner.invoke(app, ["advance", "--help"])
    assert helped.exit_code == 0
    assert "--seconds" in helped.output
    assert "rounds" in helped.output
    refused = runner.invoke(app, ["advance", "--seconds", "-5", "--dir", str(tmp_path)])
    assert refused.exit_code == 2  # typer: -5 is below the minimum 0
