"""The relayer daemon as a real process: two anvil chains, the CLI client, and SIGKILL.

Chain A (anvil, chain id 31338) carries the security (our ERC-20 token), chain B (anvil,
chain id 31339) the cash (native coin). The daemon runs as ``stbridge relayer run`` in a
subprocess with its keys in encrypted keystores; orders go in through ``stbridge swap
submit``. The crash tests make the daemon SIGKILL itself (``STBRIDGE_FAULT_KILL``, honoured
only with ``STBRIDGE_TEST_MODE=1`` on loopback chains and a SQLite store) right
after the k-th input of a swap is committed, for every k along the swap, and right after
each transaction it sends (before the store records it); after each restart the swap still
ends atomically with exactly one lock per leg.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from adapters.evm.client import EvmClient
from adapters.evm.erc20 import Erc20Adapter, deploy_cash_token
from adapters.evm.htlc import EvmHtlc
from adapters.evm.signer import EvmSigner
from bridge.model import AssetRef, Capability, EvmContractLocator
from relayer.keystore import write_keystore
from tests.fixtures.evm import _free_port, start_anvil, stop_process

ETHER = 10**18
PASSWORD = "keystore-password-1"
TOKEN = "api-token-0123456789abcdef"
SECRET_KEY = "42" * 32
EXAMPLE = Path(__file__).resolve().parents[2] / "specs" / "examples"


@dataclass
class Setup:
    a: EvmClient
    b: EvmClient
    htlc_a: EvmHtlc
    htlc_b: EvmHtlc
    token: str
    seller: EvmSigner
    buyer: EvmSigner
    buyer_on_a: str
    seller_on_b: str
    config: Path
    port: int
    env: dict[str, str]
    store: Path


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    proc_a, url_a = start_anvil("--chain-id", "31338")
    proc_b, url_b = start_anvil("--chain-id", "31339")
    try:
        a, b = EvmClient.from_target(url_a), EvmClient.from_target(url_b)
        keys = {n: EvmSigner.generate() for n in ("op_a", "seller", "op_b", "buyer")}
        for n in ("op_a", "seller"):
            a.fund(keys[n].address, 10 * ETHER)
        for n in ("op_b", "buyer"):
            b.fund(keys[n].address, 10 * ETHER)
        htlc_a = EvmHtlc.deploy(a, keys["op_a"])
        htlc_b = EvmHtlc.deploy(b, keys["op_b"])
        token = deploy_cash_token(
            a, keys["seller"], name="Tokyo Office Units", symbol="TOU", decimals=0, currency="JPY"
        )
        ref = AssetRef(chain=a.chain, locator=EvmContractLocator(address=token))
        Erc20Adapter(a).agent_operation(
            ref, Capability.MINT, keys["seller"], to=keys["seller"].address, amount=100_000
        )
        root = tmp_path_factory.mktemp("daemon")
        for name, signer in keys.items():
            write_keystore(
                root / f"{name}.json",
                kind="evm",
                key=signer._EvmSigner__key,  # type: ignore[attr-defined]
                password=PASSWORD,
                iterations=2**10,
            )
        port = _free_port()
        store = root / "relayer.sqlite3"
        config = root / "relayer.toml"
        config.write_text(
            f"""
store = "{store}"
replica_id = "daemon-test"
poll_interval_s = 0.2
reaction_s = 30
compliance_recheck_s = 10
margin_s = 30

[api]
port = {port}

[[chains]]
name = "a"
kind = "evm"
endpoint = "{url_a}"
confirmations = 0
htlc = "{htlc_a.address}"
keystore = "{root / "op_a.json"}"
custody = ["{root / "seller.json"}"]
block_time_min_ms = 1000
block_time_max_ms = 2000
timestamp_drift_s = 5

[[chains]]
name = "b"
kind = "evm"
endpoint = "{url_b}"
confirmations = 0
htlc = "{htlc_b.address}"
keystore = "{root / "op_b.json"}"
custody = ["{root / "buyer.json"}"]
block_time_min_ms = 1000
block_time_max_ms = 2000
timestamp_drift_s = 5
"""
        )
        env = dict(os.environ)
        env.update(
            STBRIDGE_SECRET_KEY=SECRET_KEY,
            STBRIDGE_API_TOKEN=TOKEN,
            STBRIDGE_KEYSTORE_PASSWORD=PASSWORD,
        )
        yield Setup(
            a=a,
            b=b,
            htlc_a=htlc_a,
            htlc_b=htlc_b,
            token=token,
            seller=keys["seller"],
            buyer=keys["buyer"],
            buyer_on_a=EvmSigner.generate().address,
            seller_on_b=EvmSigner.generate().address,
            config=config,
            port=port,
            env=env,
            store=store,
        )
    finally:
        stop_process(proc_a)
        stop_process(proc_b)


def start_daemon(
    s: Setup, *, env: dict[str, str] | None = None, port: int | None = None
) -> subprocess.Popen[bytes]:
    log = s.config.with_name("daemon.log")
    port = port or s.port
    with log.open("ab") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bridge.cli", "relayer", "run", "--config", str(s.config)],
            env=env or s.env,
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"daemon exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("daemon did not become healthy in 60 s")


def cli(s: Setup, *args: str, port: int | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bridge.cli", *args, "--url", f"http://127.0.0.1:{port or s.port}"],
        env=s.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def order_file(s: Setup, tmp_path: Path, order_id: str, amount: int = 10) -> Path:
    trade = json.loads((EXAMPLE / "jp-real-estate-to-sg-accredited-usdc.json").read_text())
    order = {
        "order_id": order_id,
        "security": {
            "chain": "a",
            "asset": {
                "chain": {"kind": "evm", "chain_id": 31338},
                "locator": {"kind": "evm_contract", "address": s.token},
            },
            "amount": amount,
            "sender": s.seller.address,
            "receiver": s.buyer_on_a,
        },
        "cash": {
            "chain": "b",
            "amount": ETHER // 100,
            "sender": s.buyer.address,
            "receiver": s.seller_on_b,
        },
        "settlement_window_s": 3600,
        "trade": trade,
    }
    path = tmp_path / f"{order_id}.json"
    path.write_text(json.dumps(order))
    return path


def wait_outcome(s: Setup, swap_id: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = cli(s, "swap", "status", swap_id, "--json")
        if out.returncode == 0:
            outcome = json.loads(out.stdout)["outcome"]
            if outcome != "open":
                return str(outcome)
        time.sleep(0.3)
    raise AssertionError(f"swap {swap_id} still open after {timeout} s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def token_balance(s: Setup, address: str) -> int:
    ref = AssetRef(chain=s.a.chain, locator=EvmContractLocator(address=s.token))
    return Erc20Adapter(s.a).holding(ref, address).balance


def test_daemon_settles_an_order_submitted_with_the_cli(setup: Setup, tmp_path: Path) -> None:
    proc = start_daemon(setup)
    try:
        before = token_balance(setup, setup.buyer_on_a)
        submitted = cli(setup, "swap", "submit", str(order_file(setup, tmp_path, "cli-1")))
        assert submitted.returncode == 0, submitted.stderr
        swap_id = submitted.stdout.strip()
        assert wait_outcome(setup, swap_id) == "completed"
        assert token_balance(setup, setup.buyer_on_a) - before == 10
        listed = cli(setup, "swap", "list", "--outcome", "completed")
        assert swap_id in listed.stdout.split()
        audit = json.loads(cli(setup, "swap", "audit", swap_id).stdout)
        assert audit["decision"]["allowed"] is True
        assert audit["decision"]["decision"]["jurisdictions"] == ["JP", "SG"]
        bad = cli(setup, "swap", "status", "0x" + "00" * 32)
        assert bad.returncode == 1
        assert "Traceback" not in bad.stderr
    finally:
        stop(proc)
    assert proc.returncode == 0


def inputs_of(store: Path, swap_id: str) -> int:
    with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5) as conn:
        row = conn.execute("SELECT COUNT(*) FROM inputs WHERE swap_id = ?", (swap_id,)).fetchone()
    return int(row[0])


def outcome_in_store(store: Path, swap_id: str) -> str:
    with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5) as conn:
        row = conn.execute("SELECT outcome FROM swaps WHERE swap_id = ?", (swap_id,)).fetchone()
    return str(row[0])


def swap_id_of(order_id: str) -> str:
    return "0x" + hashlib.sha256(b"stbridge-order:" + order_id.encode()).hexdigest()


def crash_env(s: Setup, crash_plan: str) -> dict[str, str]:
    """The daemon's environment with a crash plan: the hook needs the test-only mode."""
    return {**s.env, "STBRIDGE_FAULT_KILL": crash_plan, "STBRIDGE_TEST_MODE": "1"}


def spawn(s: Setup, crash_plan: str) -> subprocess.Popen[bytes]:
    """The daemon with a crash plan, not waited for (it may die before it is healthy)."""
    with s.config.with_name("daemon.log").open("ab") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "bridge.cli", "relayer", "run", "--config", str(s.config)],
            env=crash_env(s, crash_plan),
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )


def killed_or_done(s: Setup, proc: subprocess.Popen[bytes], swap_id: str) -> bool:
    """Wait until the daemon SIGKILLs itself (True) or the swap ends first (False)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log = s.config.with_name("daemon.log").read_text()[-2000:]
            assert proc.returncode == -signal.SIGKILL, log
            return True
        if outcome_in_store(s.store, swap_id) != "open":
            stop(proc)
            return False
        time.sleep(0.05)
    proc.kill()
    raise AssertionError(f"swap {swap_id} neither ended nor reached the crash point in 60 s")


@pytest.mark.slow
def test_sigkill_at_every_step_never_loses_a_swap(setup: Setup, tmp_path: Path) -> None:
    """Invariant: the daemon SIGKILLs itself right after the swap's k-th input (with its
    effects) is committed, for k = 1, 2, ... until the swap ends, and is restarted each
    time; the swap still completes (both parties honest) from the store alone, with exactly
    one lock per leg on chain (nothing sent twice with other contents) and the secret
    intact."""
    buyer_before = token_balance(setup, setup.buyer_on_a)
    swap_id = swap_id_of("crash-walk")
    proc = start_daemon(setup, env=crash_env(setup, "input:1"))
    cli(setup, "swap", "submit", str(order_file(setup, tmp_path, "crash-walk")))  # dies in it
    killed_at: list[int] = []
    k = 1
    while killed_or_done(setup, proc, swap_id):
        killed_at.append(inputs_of(setup.store, swap_id))
        assert killed_at[-1] == k  # killed exactly after input k, every k in turn
        k += 1
        assert k < 60, killed_at
        proc = spawn(setup, f"input:{k}")
    assert outcome_in_store(setup.store, swap_id) == "completed"
    terms = swap_terms(setup.store, swap_id)
    hashlock = bytes.fromhex(terms["hashlock"][2:])
    assert len(setup.htlc_a.find(hashlock)) == 1
    assert len(setup.htlc_b.find(hashlock)) == 1
    assert token_balance(setup, setup.buyer_on_a) - buyer_before == 10
    assert killed_at == list(range(1, len(killed_at) + 1))
    assert len(killed_at) >= 8  # lock, lock, re-check, claim, claim and the times between
    print(f"SIGKILLed after each of inputs 1..{len(killed_at)}")


@pytest.mark.slow
def test_sigkill_between_sending_and_recording_each_transaction(
    setup: Setup, tmp_path: Path
) -> None:
    """Invariant: the daemon SIGKILLs itself right after each transaction it sends, before
    the store records it (the worst moment: the chain has it, the store does not). Each
    restart finds the transaction's effect on chain instead of sending another: the swap
    completes with one lock per leg and the right balances."""
    buyer_before = token_balance(setup, setup.buyer_on_a)
    seller_before = setup.b.balance(setup.seller_on_b)
    swap_id = swap_id_of("crash-send")
    proc = start_daemon(setup, env=crash_env(setup, "send:1"))
    submitted = cli(setup, "swap", "submit", str(order_file(setup, tmp_path, "crash-send")))
    assert submitted.returncode == 0, submitted.stderr
    kills = 0
    while killed_or_done(setup, proc, swap_id):
        kills += 1
        assert kills < 20
        proc = spawn(setup, "send:1")
    assert outcome_in_store(setup.store, swap_id) == "completed"
    assert kills == 4  # lock, lock, claim, claim: each sent once, killed once
    hashlock = bytes.fromhex(swap_terms(setup.store, swap_id)["hashlock"][2:])
    assert len(setup.htlc_a.find(hashlock)) == 1
    assert len(setup.htlc_b.find(hashlock)) == 1
    assert token_balance(setup, setup.buyer_on_a) - buyer_before == 10
    assert setup.b.balance(setup.seller_on_b) - seller_before == ETHER // 100


def swap_terms(store: Path, swap_id: str) -> dict[str, object]:
    with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5) as conn:
        row = conn.execute("SELECT terms FROM swaps WHERE swap_id = ?", (swap_id,)).fetchone()
    return dict(json.loads(row[0]))


def test_settings_wire_an_algorand_chain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An Algorand chain in relayer.toml becomes a runtime on the Algorand HTLC port."""
    from adapters.algorand.htlc import AlgorandHtlc
    from relayer.daemon import build_service
    from relayer.settings import load_settings

    address = write_keystore(
        tmp_path / "algo.json",
        kind="algorand",
        key=bytes(range(32)),
        password=PASSWORD,
        iterations=2**10,
    )
    config = tmp_path / "relayer.toml"
    config.write_text(
        f"""
store = "{tmp_path / "r.sqlite3"}"

[[chains]]
name = "algo"
kind = "algorand"
endpoint = "embedded"
confirmations = 0
keystore = "{tmp_path / "algo.json"}"
block_time_min_ms = 2800
block_time_max_ms = 4500
"""
    )
    monkeypatch.setenv("STBRIDGE_KEYSTORE_PASSWORD", PASSWORD)
    monkeypatch.setenv("STBRIDGE_SECRET_KEY", SECRET_KEY)
    service = build_service(load_settings(config))
    runtime = service.chains["algo"]
    assert isinstance(runtime.htlc, AlgorandHtlc)
    assert runtime.operator.address == address
    assert runtime.chain.kind == "algorand"
    assert runtime.timing.deadline_unit == "round"
    service.store.close()


@pytest.mark.postgres
def test_two_daemons_on_postgres_one_killed_mid_swap(
    setup: Setup, tmp_path: Path, pg_dsn: str
) -> None:
    """Two daemon processes share one PostgreSQL store. Whichever holds the swap's lease is
    SIGKILLed mid-swap; until then the other never held it; once the lease expires the
    survivor takes the swap over and settles it, with exactly one lock per leg."""
    import psycopg

    from tests.integration.test_store import schema_dsn

    dsn = schema_dsn(pg_dsn)

    def env(replica: str, port: int) -> dict[str, str]:
        return {
            **setup.env,
            "STBRIDGE_STORE": dsn,
            "STBRIDGE_REPLICA_ID": replica,
            "STBRIDGE_API__PORT": str(port),
            "STBRIDGE_LEASE_SECONDS": "3",
        }

    def store_row(swap_id: str) -> tuple[int, str | None]:
        with psycopg.connect(dsn) as conn:
            inputs = conn.execute(
                "SELECT COUNT(*) FROM inputs WHERE swap_id = %s", (swap_id,)
            ).fetchone()
            owner = conn.execute(
                "SELECT lease_owner FROM swaps WHERE swap_id = %s", (swap_id,)
            ).fetchone()
        assert inputs is not None
        return int(inputs[0]), None if owner is None else owner[0]

    port_a, port_b = _free_port(), _free_port()
    a = start_daemon(setup, env=env("a", port_a), port=port_a)
    b = start_daemon(setup, env=env("b", port_b), port=port_b)
    try:
        submitted = cli(
            setup, "swap", "submit", str(order_file(setup, tmp_path, "replicas-pg")), port=port_a
        )
        assert submitted.returncode == 0, submitted.stderr
        swap_id = submitted.stdout.strip()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            count, owner = store_row(swap_id)
            if count >= 2 and owner is not None:
                break
            time.sleep(0.005)
        victim, survivor, survivor_port = (a, "b", port_b) if owner == "a" else (b, "a", port_a)
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        killed_at, owner_at_kill = store_row(swap_id)
        assert owner_at_kill != survivor  # the survivor never took a swap under a live lease
        deadline = time.monotonic() + 90
        outcome = "open"
        while time.monotonic() < deadline:
            out = cli(setup, "swap", "status", swap_id, "--json", port=survivor_port)
            outcome = json.loads(out.stdout)["outcome"] if out.returncode == 0 else "open"
            if outcome != "open":
                break
            time.sleep(0.3)
        assert outcome == "completed"
        assert store_row(swap_id)[1] == survivor
        status = json.loads(
            cli(setup, "swap", "status", swap_id, "--json", port=survivor_port).stdout
        )
    finally:
        for proc in (a, b):
            if proc.poll() is None:
                stop(proc)
    hashlock = bytes.fromhex(status["hashlock"][2:])
    assert len(setup.htlc_a.find(hashlock)) == 1
    assert len(setup.htlc_b.find(hashlock)) == 1
    print(f"lease holder killed after {killed_at} inputs; replica {survivor} finished the swap")


def _embedded_algorand_config(tmp_path: Path, *, store: str | None = None) -> Path:
    """A relayer.toml with one embedded Algorand chain (no anvil needed)."""
    write_keystore(
        tmp_path / "algo.json",
        kind="algorand",
        key=bytes(range(32)),
        password=PASSWORD,
        iterations=2**10,
    )
    config = tmp_path / "relayer.toml"
    config.write_text(
        f"""
store = "{store or tmp_path / "r.sqlite3"}"

[api]
port = {_free_port()}

[[chains]]
name = "algo"
kind = "algorand"
endpoint = "embedded"
confirmations = 0
keystore = "{tmp_path / "algo.json"}"
block_time_min_ms = 2800
block_time_max_ms = 4500
"""
    )
    return config


def test_fault_kill_without_test_mode_refuses_to_start(tmp_path: Path) -> None:
    """Actor: the operator's own configuration. A production daemon that finds the crash
    hook's variable set (a stray export, a copied test environment) must not run with a
    SIGKILL armed: it exits 3 with one line naming the variable and the setting it lacks."""
    config = _embedded_algorand_config(tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in ("STBRIDGE_TEST_MODE", "STBRIDGE_STORE")}
    env.update(
        STBRIDGE_SECRET_KEY=SECRET_KEY,
        STBRIDGE_API_TOKEN=TOKEN,
        STBRIDGE_KEYSTORE_PASSWORD=PASSWORD,
        STBRIDGE_FAULT_KILL="input:3",
    )
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bridge.cli", "relayer", "run", "--config", str(config)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError("the daemon started (and served) with STBRIDGE_FAULT_KILL") from exc
    assert done.returncode == 3, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "STBRIDGE_FAULT_KILL" in lines[0]
    assert "STBRIDGE_TEST_MODE" in lines[0]
    assert not (tmp_path / "r.sqlite3").exists()  # refused before anything was opened


@pytest.mark.parametrize(
    ("store", "endpoint", "env", "refusal"),
    [
        ("r.sqlite3", "embedded", {"STBRIDGE_FAULT_KILL": "send:1"}, "STBRIDGE_TEST_MODE is not"),
        (
            "postgresql://u@127.0.0.1/db",
            "embedded",
            {"STBRIDGE_FAULT_KILL": "send:1", "STBRIDGE_TEST_MODE": "1"},
            "PostgreSQL store",
        ),
        (
            "r.sqlite3",
            "http://10.0.0.5:4001",
            {"STBRIDGE_TEST_MODE": "1"},
            "chains.algo.endpoint",
        ),
        (
            "r.sqlite3",
            "https://mainnet-api.algonode.cloud",
            {"STBRIDGE_FAULT_KILL": "input:2", "STBRIDGE_TEST_MODE": "1"},
            "loopback",
        ),
    ],
)
def test_test_mode_refuses_a_production_configuration(
    store: str, endpoint: str, env: dict[str, str], refusal: str
) -> None:
    """The crash hook needs test mode, and test mode refuses a shared PostgreSQL store and
    any chain that is not embedded or on the loopback interface."""
    from bridge.errors import ConfigError
    from relayer.daemon import _crash_plan
    from relayer.settings import ChainSettings, RelayerSettings

    settings = RelayerSettings(
        store=store, chains=(ChainSettings(name="algo", kind="algorand", endpoint=endpoint),)
    )
    with pytest.raises(ConfigError, match=refusal):
        _crash_plan(settings, env)


def test_test_mode_on_loopback_chains_arms_the_crash_plan() -> None:
    from relayer.daemon import _crash_plan
    from relayer.service import CrashPlan
    from relayer.settings import ChainSettings, RelayerSettings

    settings = RelayerSettings(
        store="r.sqlite3",
        chains=(
            ChainSettings(name="a", kind="evm", endpoint="http://127.0.0.1:8545"),
            ChainSettings(name="b", kind="algorand", endpoint="embedded"),
        ),
    )
    env = {"STBRIDGE_FAULT_KILL": "send:2", "STBRIDGE_TEST_MODE": "1"}
    assert _crash_plan(settings, env) == CrashPlan(after_send=2)
    assert _crash_plan(settings, {}) is None
    assert _crash_plan(settings, {"STBRIDGE_TEST_MODE": "1"}) is None
