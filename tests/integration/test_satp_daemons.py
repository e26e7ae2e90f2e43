"""Two ``stbridge relayer run`` daemons, JP and SG, settle a T-REX-for-USD trade over SATP.

Thorough (a devnet takes about a minute): ``stbridge devnet up --embedded`` serves py-evm
over JSON-RPC and the embedded Algorand ledger over algod's REST API;
:func:`relayer.satp.platforms.write_platforms` writes the JP platform (the seller alice's
EVM key, fee payers) and the SG platform (the buyer bob's Algorand key, fee payers), each
with its own SATP key, store and passwords. Each daemon is started as an operator would
(``relayer run --check`` first, then ``relayer run``); the clients submit through the API
(``POST /satp/v1/trades``) with their own bound tokens; the trade settles on the chains:
bob holds the Tokyo Office Trust units, alice the USD. Then no file of either platform
(configuration, store, keystores, env) holds the other side's private keys.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from algosdk.v2client.algod import AlgodClient

from adapters.algorand.asa import AsaAdapter
from adapters.algorand.chain import AlgodChain
from adapters.evm.client import EvmClient
from adapters.evm.erc20 import Erc20Adapter
from bridge.model import AssetRef, EvmContractLocator
from relayer.keystore import decrypt_document
from relayer.satp.platforms import Platform, write_platforms

BIN = Path(sys.executable).parent


def _cli(cwd: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 900) -> Any:
    return subprocess.run(
        [str(BIN / "stbridge"), *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _start(platform: Platform) -> subprocess.Popen[bytes]:
    with (platform.directory / "relayer.log").open("wb") as log:
        return subprocess.Popen(
            [str(BIN / "stbridge"), "relayer", "run", "--config", str(platform.config)],
            env={**os.environ, **platform.env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def _ready(url: str) -> None:
    for _ in range(600):
        try:
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} never became ready")


def _secrets_of(platform: Platform) -> list[bytes]:
    """The raw private keys a platform holds (decrypted from its own keystores)."""
    password = platform.env["STBRIDGE_KEYSTORE_PASSWORD"]
    out = []
    for path in platform.keystores:
        pw = platform.env["STBRIDGE_SATP_PASSWORD"] if path.name == "satp-key.json" else password
        out.append(decrypt_document(path, pw)[1])
    return out


def _forms(key: bytes) -> list[bytes]:
    """Ways a private key could be written to a file."""
    b64 = base64.b64encode(key).rstrip(b"=")
    url = base64.urlsafe_b64encode(key).rstrip(b"=")
    return [key, key.hex().encode(), key.hex().upper().encode(), b64, url]


def _holding(directory: Path, forbidden: list[bytes]) -> list[Path]:
    """The files under ``directory`` that contain any of ``forbidden``."""
    return [
        path
        for path in directory.rglob("*")
        if path.is_file() and any(f in path.read_bytes() for f in forbidden)
    ]


@pytest.mark.thorough
@pytest.mark.parametrize(
    "backend", ["--embedded", pytest.param("--anvil", marks=pytest.mark.anvil)]
)
def test_two_daemons_settle_trex_for_usd_and_hold_only_their_own_keys(
    tmp_path: Path, backend: str
) -> None:
    """Invariant: the JP and SG daemons, each with only its own keys, settle the trade on
    both chains (py-evm or anvil, with the embedded Algorand ledger); neither platform's
    files contain any private key of the other."""
    up = _cli(tmp_path, "devnet", "up", backend, "--json")
    assert up.returncode == 0, up.stderr
    state = json.loads(up.stdout)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        platforms = write_platforms(tmp_path / "devnet", tmp_path / "platforms")
        jp, sg = platforms["jp"], platforms["sg"]
        for p in (jp, sg):
            check = _cli(
                tmp_path, "relayer", "run", "--config", str(p.config), "--check", env=p.env
            )
            assert check.returncode == 0, check.stdout + check.stderr
            assert "satp.keystore" in check.stdout
            procs.append(_start(p))
        _ready(jp.api_url)
        _ready(sg.api_url)
        order_file = tmp_path / state["orders"]["trex-jp-to-sg-for-usd-on-algorand"]
        order = json.loads(order_file.read_text())

        def post(p: Platform, client: str, side: str) -> httpx.Response:
            token = p.env[p.client_token_env(client)]
            return httpx.post(
                p.api_url + "/satp/v1/trades",
                json={"side": side, "order": order},
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            )

        # the hostile client of JP (dave) cannot order a trade spending alice's units
        assert post(jp, "dave", "initiator").status_code == 403
        started = post(jp, "alice", "initiator")
        assert started.status_code == 201, started.text
        swap_id = started.json()["swap_id"]
        for _ in range(200):
            answered = post(sg, "bob", "responder")
            if answered.status_code == 201:
                break
            assert answered.status_code == 404, answered.text
            time.sleep(0.3)
        assert answered.status_code == 201, answered.text
        views: dict[str, Any] = {}
        for _ in range(600):
            for p in (jp, sg):
                views[p.name] = httpx.get(
                    f"{p.api_url}/swaps/{swap_id}",
                    headers={"Authorization": "Bearer " + p.env["STBRIDGE_API_TOKEN"]},
                    timeout=30,
                ).json()
            if all(v["outcome"] != "open" for v in views.values()):
                break
            time.sleep(0.5)
        assert views["jp"]["outcome"] == "completed", views["jp"]
        assert views["sg"]["outcome"] == "completed", views["sg"]
        # each side's view: its own decision and the peer's signed one, the peer's id
        assert views["jp"]["satp"]["peer"] == "sg-cash"
        assert views["jp"]["satp"]["peerDecision"]["jurisdictions"] == ["SG"]
        assert views["sg"]["satp"]["ownDecision"]["allowed"] is True
        # on the chains: bob has the units, alice the dollars
        evm = EvmClient.connect(state["evm_url"])
        tot = AssetRef(
            chain=evm.chain,
            locator=EvmContractLocator(address=state["contracts"]["TOT (erc3643)"]),
        )
        assert Erc20Adapter(evm).holding(tot, order["security"]["receiver"]).balance == 250
        algo = AlgodChain(AlgodClient("", state["algod_url"]))
        usd = AsaAdapter(algo).ref(state["contracts"]["USDC (Algorand ASA id, 2 decimals)"])
        paid = AsaAdapter(algo).holding(usd, order["cash"]["receiver"]).balance
        assert paid == int(order["cash"]["amount"])
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)
        _cli(tmp_path, "devnet", "down")
    # neither platform's files hold the other's private keys, in any usual spelling
    for mine, other in ((jp, sg), (sg, jp)):
        forbidden = [form for key in _secrets_of(other) for form in _forms(key)]
        assert _holding(mine.directory, forbidden) == [], f"{mine.name} holds {other.name}'s key"
        toml = mine.config.read_text()
        assert str(other.directory) not in toml  # no path to the other's keystores either
    # the scan itself sees a key written in hex (it can fail)
    leak = tmp_path / "leak"
    leak.mkdir()
    (leak / "note.txt").write_text("key: " + _secrets_of(sg)[1].hex())
    assert _holding(leak, [f for k in _secrets_of(sg) for f in _forms(k)]) != []
