"""Moves driven by ``stbridge relayer run`` as a real process, SIGKILLed between their legs.

The home chain is anvil with our ibet-compatible share (``tests/fixtures/ibet.py``), the
mirror a regulated ASA (deployed from the translator's plan for the share) on an embedded
Algorand ledger served over algod's HTTP API (:class:`AlgodHttpServer`), so the daemon
reaches both chains as it would real nodes. The daemon's settings carry a ``[moves]``
section; moves go in through ``POST /moves`` (with their trade: the daemon judges the
receiving investor with the compliance engine) and are driven by the daemon's own tick.

The crash tests make the daemon SIGKILL itself (``STBRIDGE_FAULT_KILL=move:<kind>:sent``,
honoured only with ``STBRIDGE_TEST_MODE=1``) right after it sent the mint of a move out,
before its journal says so, and right after it sent the release of a move back; the
restarted daemon finds the transaction on chain and finishes: one mint, one release, the
mirror's supply equal to what is locked. Marked ``thorough`` (a world and three daemon
starts); the same crash points run in process under ``make test``
(``test_move_roundtrip.py``: ``mint:sent``, ``release:sent`` and the daemon driver).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.algorand.algod import EmbeddedAlgodClient
from adapters.algorand.chain import AlgodChain
from adapters.algorand.http_server import AlgodHttpServer
from adapters.algorand.ledger import EmbeddedLedger
from adapters.algorand.signer import AlgorandSigner
from adapters.evm.client import EvmClient
from adapters.evm.htlc import EvmHtlc
from adapters.translate import deploy_algorand_plan
from bridge.model import Capability, Standard
from bridge.translate import translate
from relayer.keystore import load_signer, write_keystore
from relayer.move import AsaMirror
from tests.fixtures.algorand_optin import opt_in_all
from tests.fixtures.evm import _free_port, start_anvil, stop_process
from tests.fixtures.ibet import SHARE_SUPPLY, IbetWorld, build_world

pytestmark = [pytest.mark.thorough, pytest.mark.anvil]

PASSWORD = "keystore-password-1"
TOKEN = "move-daemon-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
KYC_UNTIL = 4_102_444_800  # 2100-01-01


@dataclass
class Setup:
    ibet: IbetWorld
    ledger: EmbeddedLedger
    mirror: AsaMirror
    holder: AlgorandSigner
    config: Path
    port: int
    env: dict[str, str]
    first_round: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def locked(self, name: str) -> int:
        share = self.ibet.adapter("share").token(self.ibet.share)
        issuer = self.ibet.addr("issuer")
        fn = share.functions.lockedOf(issuer, self.ibet.addr(name))
        return int(self.ibet.client.read(fn))

    def notes(self, text: str) -> int:
        """Transactions on the mirror carrying ``text`` as their note."""
        chain = self.mirror.chain
        return sum(
            1
            for r in range(self.first_round, chain.head() + 1)
            for entry in chain.block_msgpack(r).get("txns", []) or []
            if entry.get("txn", {}).get("note") == text.encode()
        )


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    proc, url = start_anvil("--chain-id", "31371")
    server: AlgodHttpServer | None = None
    try:
        client = EvmClient.connect(url)
        ibet = build_world("anvil", client)
        issuer = ibet.signers["issuer"]
        htlc = EvmHtlc.deploy(client, issuer)
        root = tmp_path_factory.mktemp("move-daemon")
        write_keystore(
            root / "issuer.json",
            kind="evm",
            key=issuer._EvmSigner__key,  # type: ignore[attr-defined]
            password=PASSWORD,
            iterations=2**10,
        )
        admin_address = write_keystore(
            root / "admin.json",
            kind="algorand",
            key=os.urandom(32),
            password=PASSWORD,
            iterations=2**10,
        )
        admin = load_signer(root / "admin.json", PASSWORD)
        ledger = EmbeddedLedger()
        ledger.fund(admin_address, 50_000_000)
        holder = AlgorandSigner.generate()
        ledger.fund(holder.address, 5_000_000)
        chain = AlgodChain(EmbeddedAlgodClient(ledger, wait_timeout=0.0))
        reading = ibet.adapter("share").read_asset(ibet.ref("share"))
        plan = translate(reading, Standard.REGULATED_ASA, allow_loss="all").plan
        deployed = deploy_algorand_plan(chain, admin, plan, metadata_dir=root / "arc3")
        mirror = AsaMirror(chain, deployed.adapter, deployed.ref, admin)
        mirror.adapter.agent_operation(
            mirror.ref,
            Capability.WHITELIST,
            admin,
            holder=holder.address,
            country="SG",
            kyc_expiry=KYC_UNTIL,
        )
        asset_id = mirror.adapter.info(mirror.ref).asset_id
        opt_in_all(chain, asset_id, [holder])
        server = AlgodHttpServer(ledger, token="a" * 64, wait_timeout=0.0)
        server.start()
        port = _free_port()
        config = root / "relayer.toml"
        config.write_text(
            f"""
store = "{root / "relayer.sqlite3"}"
replica_id = "move-daemon"
poll_interval_s = 0.2

[api]
port = {port}

[[chains]]
name = "ibet"
kind = "evm"
endpoint = "{url}"
confirmations = 0
htlc = "{htlc.address}"
keystore = "{root / "issuer.json"}"

[[chains]]
name = "algo"
kind = "algorand"
endpoint = "http://127.0.0.1:{server.port}"
confirmations = 0
keystore = "{root / "admin.json"}"

[moves]
home_chain = "ibet"
token = "{ibet.share}"
issuer = "{issuer.address}"
mirror_chain = "algo"
asset_id = {asset_id}
app_id = {mirror.adapter.app_id_of(mirror.ref)}
admin = "{admin_address}"
"""
        )
        env = dict(os.environ)
        env.update(
            STBRIDGE_SECRET_KEY="42" * 32,
            STBRIDGE_API_TOKEN=TOKEN,
            STBRIDGE_KEYSTORE_PASSWORD=PASSWORD,
            STBRIDGE_ALGOD_TOKEN="a" * 64,
            STBRIDGE_TEST_MODE="1",
        )
        yield Setup(ibet, ledger, mirror, holder, config, port, env, chain.head())
    finally:
        if server is not None:
            server.stop()
        stop_process(proc)


def start_daemon(s: Setup, kill_at: str | None = None) -> subprocess.Popen[bytes]:
    env = dict(s.env)
    if kill_at is not None:
        env["STBRIDGE_FAULT_KILL"] = kill_at
    log = s.config.with_name("daemon.log")
    with log.open("ab") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bridge.cli", "relayer", "run", "--config", str(s.config)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"daemon exited: {log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{s.url}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError("daemon did not become healthy in 120 s")


def killed(proc: subprocess.Popen[bytes], timeout: float = 120) -> int:
    """Wait for the daemon to SIGKILL itself; its exit status."""
    try:
        return proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()


def wait_stage(s: Setup, move_id: str, stage: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    shown: dict[str, Any] = {}
    while time.monotonic() < deadline:
        shown = httpx.get(f"{s.url}/moves/{move_id}", headers=AUTH, timeout=10).json()
        if shown.get("stage") == stage:
            return shown
        time.sleep(0.3)
    raise AssertionError(f"move {move_id} not {stage} after {timeout} s: {shown}")


def trade(seller: str, buyer: str, amount: int, residence: str) -> dict[str, Any]:
    classes = {"SG": "accredited", "JP": "retail"}
    return {
        "instrument": {
            "kind": "jp.real_estate_st",
            "exemption": "jp.public_offering",
            "home": "JP",
        },
        "seller": {
            "name": "Seller",
            "residence": "JP" if residence == "SG" else "SG",
            "kyc": {"status": "verified", "expires_on": "2099-12-31"},
            "wallet": seller,
            "balance": amount,
        },
        "buyer": {
            "name": "Buyer",
            "residence": residence,
            "classifications": [{"jurisdiction": residence, "investor_class": classes[residence]}],
            "kyc": {"status": "verified", "expires_on": "2099-12-31"},
            "wallet": buyer,
        },
        "quantity": amount,
    }


def submit(s: Setup, order: dict[str, Any]) -> None:
    answer = httpx.post(f"{s.url}/moves", json=order, headers=AUTH, timeout=30)
    assert answer.status_code == 201, answer.text


def conserved(s: Setup) -> None:
    share = s.ibet.adapter("share").read_asset(s.ibet.ref("share"))
    assert share.total_supply == SHARE_SUPPLY
    assert s.mirror.supply() == sum(s.locked(n) for n in ("alice", "bob", "carol"))


def test_a_killed_daemon_neither_mints_nor_releases_twice(setup: Setup) -> None:
    """The daemon is SIGKILLed right after sending the mint of a move out (before its journal
    records it); restarted, it finds the mint and finishes the move with one mint. The
    move back is killed right after the release is sent; restarted, one release. Balances
    and supply are conserved at the end of each."""
    s = setup
    alice, holder = s.ibet.addr("alice"), s.holder.address
    daemon = start_daemon(s, kill_at="move:mint:sent")
    try:
        submit(
            s,
            {
                "move_id": "out-1",
                "direction": "out",
                "holder": alice,
                "receiver": holder,
                "amount": 300,
                "trade": trade(alice, holder, 300, "SG"),
            },
        )
        assert killed(daemon) == -signal.SIGKILL
    finally:
        stop_process(daemon)
    assert s.notes("stbridge-move:out-1:mint") == 1  # it was sent before the kill
    daemon = start_daemon(s)
    try:
        shown = wait_stage(s, "out-1", "done")
        assert [(x["kind"], x["status"]) for x in shown["steps"]] == [
            ("lock", "confirmed"),
            ("mint", "confirmed"),
        ]
    finally:
        stop_process(daemon)
    assert s.notes("stbridge-move:out-1:mint") == 1
    assert (s.mirror.balance(holder), s.locked("alice")) == (300, 300)
    conserved(s)

    daemon = start_daemon(s, kill_at="move:release:sent")
    try:
        submit(
            s,
            {
                "move_id": "back-1",
                "direction": "back",
                "holder": holder,
                "receiver": alice,
                "amount": 120,
                "trade": trade(holder, alice, 120, "JP"),
            },
        )
        assert killed(daemon) == -signal.SIGKILL
    finally:
        stop_process(daemon)
    free_after_kill = s.ibet.adapter("share").holding(s.ibet.ref("share"), alice).balance
    daemon = start_daemon(s)
    try:
        wait_stage(s, "back-1", "done")
        time.sleep(1.0)  # more ticks: nothing more may happen
    finally:
        stop_process(daemon)
    free = s.ibet.adapter("share").holding(s.ibet.ref("share"), alice).balance
    assert free == free_after_kill == 700 + 120  # released once, before the kill
    assert s.notes("stbridge-move:back-1:burn") == 1
    assert (s.mirror.balance(holder), s.locked("alice")) == (180, 180)
    conserved(s)
    log = s.config.with_name("daemon.log").read_text()
    assert "SIGKILL at move point mint:sent" in log
    assert "SIGKILL at move point release:sent" in log
    print(json.dumps({"daemon_log_lines": len(log.splitlines())}))
