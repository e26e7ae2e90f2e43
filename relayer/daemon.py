"""``stbridge relayer run``: build the relayer from its settings and run it until SIGTERM.

The composition root: settings -> store, chain runtimes (clients, HTLC ports, keys, token
dry runs), the compliance engine, the API server in a thread, and the tick loop in the main
thread. Logging is configured here and only here (text or JSON), with a filter that
redacts anything marked secret.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import re
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bridge.compliance import default_engine
from bridge.errors import BridgeError, ChainUnavailable, ConfigError, StoreUnavailable
from bridge.htlc import ChainTiming, RelayerBudget
from bridge.model import Refusal
from bridge.swap import chain_key
from relayer.dry_runs import algorand_dry_run, algorand_funds_check
from relayer.keystore import load_signer, password_from_env
from relayer.logs import SwapContextFilter
from relayer.sealing import key_from_env
from relayer.service import (
    ChainRuntime,
    ComplianceCheck,
    ComplianceResult,
    CrashPlan,
    RelayerService,
    SwapOrder,
)
from relayer.settings import ChainSettings, RelayerSettings
from relayer.store import Store, open_store

__all__ = [
    "Finding",
    "RedactingFilter",
    "algorand_runtime",
    "build_service",
    "compliance_from_engine",
    "configure_logging",
    "crash_plan_for",
    "preflight",
    "run",
]

log = logging.getLogger(__name__)

_SENSITIVE = re.compile(r"(?i)\b(secret|private[_ ]?key|password|token)(\s*[=:]\s*)(\S+)")


class RedactingFilter(logging.Filter):
    """Masks ``secret=...``, ``private_key=...``, ``password=...``, ``token=...`` in records."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message with sensitive values masked."""
        message = record.getMessage()
        masked = _SENSITIVE.sub(lambda m: f"{m.group(1)}{m.group(2)}<redacted>", message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        swap_id = getattr(record, "swap_id", None)
        if swap_id:
            line["swap_id"] = swap_id
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line)


class _TextFormatter(logging.Formatter):
    """``time LEVEL logger: [swap=0x...] message``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(swap)s%(message)s")

    def format(self, record: logging.LogRecord) -> str:
        swap_id = getattr(record, "swap_id", None)
        record.swap = f"swap={swap_id} " if swap_id else ""
        return super().format(record)


def configure_logging(fmt: str, level: str = "INFO") -> None:
    """Root logging for the daemon: one stderr handler, text or JSON, secrets redacted."""
    handler = logging.StreamHandler()
    handler.addFilter(RedactingFilter())
    handler.addFilter(SwapContextFilter())
    handler.setFormatter(_JsonFormatter() if fmt == "json" else _TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # one line per HTTP request is noise at INFO; it stays visible at DEBUG
    logging.getLogger("uvicorn.access").setLevel(max(logging.getLevelName(level), logging.WARNING))


def compliance_from_engine() -> ComplianceCheck:
    """The compliance hook backed by the rules in ``specs/jurisdictions`` (loaded once),
    deciding under the law in force at the instant the relayer asks about."""
    engine = default_engine()

    def check(order: SwapOrder, at: datetime) -> ComplianceResult:
        if order.trade is None:
            return ComplianceResult(
                False,
                (
                    Refusal(
                        code="INFORMATION_MISSING", detail="the order carries no trade to check"
                    ),
                ),
            )
        decision = engine.evaluate(order.trade, at)
        refusals = tuple(
            Refusal(
                code=r.code,
                raw_code=r.rule_id,
                detail=f"{r.explanation} ({r.citation.law} {r.citation.article})",
            )
            for r in decision.reasons
        )
        return ComplianceResult(decision.allowed, refusals, decision.model_dump(mode="json"))

    return check


def _timing(cs: ChainSettings) -> ChainTiming:
    return ChainTiming(
        deadline_unit="timestamp" if cs.kind == "evm" else "round",
        block_time_min_ms=cs.block_time_min_ms,
        block_time_max_ms=cs.block_time_max_ms,
        finality_depth=cs.confirmations,
        timestamp_drift_s=cs.timestamp_drift_s if cs.kind == "evm" else 0,
    )


ALGOD_LOOKBACK_ROUNDS = 1000
"""Rounds an Algorand HTLC port looks back on a fresh start (no open swap needs more)."""


def _scan_start(default: int | None, needed: int | None) -> int | None:
    """The lower of a configured scan start and the height the store's open swaps need."""
    if needed is None:
        return default
    return needed if default is None else min(default, needed)


def _evm_runtime(cs: ChainSettings, store: Store) -> ChainRuntime:
    from adapters.evm.client import EvmClient
    from adapters.evm.htlc import EvmHtlc
    from relayer.evm import evm_runtime

    if cs.htlc is None:
        raise ConfigError(f"chains.{cs.name}.htlc: the HTLC contract address is required")
    client = EvmClient.from_target(cs.endpoint, evm_version=cs.evm_version)
    # the port's live reads must reach every lock an open swap recorded (a restart)
    needed = store.recovery_height(chain_key(client.chain))
    signers = _signers(cs)
    runtime = evm_runtime(
        name=cs.name,
        client=client,
        # never later than the whole chain (0) unless start_height says where the HTLC began
        htlc=EvmHtlc(client, cs.htlc, from_block=_scan_start(cs.start_height or 0, needed) or 0),
        timing=_timing(cs),
        confirmations=cs.confirmations,
        signers=signers,
        operator=signers[0],
        start_height=_scan_start(cs.start_height, needed),
    )
    if cs.ibet_htlc is None:
        return runtime
    from adapters.evm.ibet_htlc import IbetHtlc
    from relayer.ibet import with_ibet

    start = _scan_start(cs.start_height or 0, needed) or 0
    return with_ibet(runtime, client, IbetHtlc(client, cs.ibet_htlc, from_block=start))


def _algorand_runtime(cs: ChainSettings, store: Store) -> ChainRuntime:
    from algosdk.v2client.algod import AlgodClient

    from adapters.algorand.chain import AlgodChain

    if cs.endpoint == "embedded":
        from adapters.algorand.algod import EmbeddedAlgodClient
        from adapters.algorand.ledger import EmbeddedLedger

        client: Any = EmbeddedAlgodClient(EmbeddedLedger())
    else:
        client = AlgodClient(os.environ.get(cs.token_env, ""), cs.endpoint)
    return algorand_runtime(
        name=cs.name,
        chain=AlgodChain(client),
        timing=_timing(cs),
        confirmations=cs.confirmations,
        signers=lambda: _signers(cs),
        store=store,
        start_height=cs.start_height,
        look_back=cs.endpoint != "embedded",
    )


def algorand_runtime(
    *,
    name: str,
    chain: Any,
    timing: ChainTiming,
    confirmations: int,
    signers: Callable[[], list[Any]],
    store: Store,
    start_height: int | None = None,
    look_back: bool = True,
) -> ChainRuntime:
    """The relayer's runtime of the Algorand chain ``chain`` (an ``AlgodChain``), wired as
    the daemon wires every Algorand chain: per-lock escrows, the ASA's own dry run and the
    escrow funding pre-flight, ``signers()[0]`` as the operator. The HTLC port's scan starts
    at ``start_height``, else ``head - ALGOD_LOOKBACK_ROUNDS`` (``look_back``; without it,
    at the head: a fresh embedded ledger), or lower where the store's open swaps recorded
    their locks (a restart). Also used by the interop suite (``relayer.interop``)."""
    from adapters.algorand.htlc import AlgorandHtlc

    if start_height is not None:
        start = max(start_height, 1)
    elif not look_back:
        start = chain.head()
    else:
        start = max(chain.head() - ALGOD_LOOKBACK_ROUNDS, 1)
    # a restart: the escrows of the open swaps may be older than any look-back; the store
    # knows the round of each one's lock, and the port scans from the oldest of them
    needed = store.recovery_height(chain_key(chain.chain))
    recovered = _scan_start(start, needed)
    if recovered is not None and recovered < start:
        log.info(
            "chain %s: the open swaps' locks go back to round %d; HTLC scans start there",
            name,
            recovered,
        )
        start = max(recovered, 1)
    htlc = AlgorandHtlc(chain, from_round=start)
    keys = signers()
    return ChainRuntime(
        name=name,
        chain=chain.chain,
        htlc=htlc,
        now=chain.head,
        head=chain.head,
        timing=timing,
        confirmations=confirmations,
        signers={s.address: s for s in keys},
        operator=keys[0],
        dry_run=algorand_dry_run(chain),
        funds=algorand_funds_check(htlc),
        escrow_per_lock=True,
        start_height=_scan_start(start_height, needed),
    )


def _signers(cs: ChainSettings) -> list[Any]:
    if cs.keystore is None:
        raise ConfigError(
            f"chains.{cs.name}.keystore: the relayer's key for this chain is required"
        )
    password = password_from_env(cs.password_env)
    return [load_signer(path, password) for path in (cs.keystore, *cs.custody)]


_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def _crash_plan(
    settings: RelayerSettings, environ: Mapping[str, str] | None = None
) -> CrashPlan | None:
    """The crash tests' SIGKILL plan (``STBRIDGE_FAULT_KILL``), honoured only in test mode.

    The hook exists for the crash tests alone. ``STBRIDGE_FAULT_KILL`` is refused
    (``ConfigError``, exit 3) unless ``STBRIDGE_TEST_MODE=1`` is set too, and test mode itself
    is refused with a shared PostgreSQL store or any chain endpoint that is neither embedded
    nor on the loopback interface: a production relayer can never arm it by accident.
    """
    env = os.environ if environ is None else environ
    value = env.get("STBRIDGE_FAULT_KILL")
    test_mode = _truthy(env.get("STBRIDGE_TEST_MODE"))
    if value and not test_mode:
        raise ConfigError(
            "STBRIDGE_FAULT_KILL is set but STBRIDGE_TEST_MODE is not: the crash hook is "
            "test-only; unset STBRIDGE_FAULT_KILL (or set STBRIDGE_TEST_MODE=1 in a crash test)"
        )
    if not test_mode:
        return None
    if settings.store.startswith(("postgresql://", "postgres://")):
        raise ConfigError(
            "STBRIDGE_TEST_MODE: refused with a PostgreSQL store (test mode runs only on a "
            "local SQLite store)"
        )
    for cs in settings.chains:
        if cs.endpoint != "embedded" and urlsplit(cs.endpoint).hostname not in _LOOPBACK_HOSTS:
            raise ConfigError(
                f"STBRIDGE_TEST_MODE: refused with chains.{cs.name}.endpoint {cs.endpoint!r} "
                "(test mode runs only on embedded or loopback chains)"
            )
    # move:<kind>:<when> is the move executor's kill point (relayer.move_daemon)
    plan = CrashPlan.parse(value) if value and not value.startswith("move:") else None
    log.critical(
        "TEST MODE (STBRIDGE_TEST_MODE): crash plan %s; never run a relayer like this in "
        "production",
        value or "none",
    )
    return plan


def crash_plan_for(
    settings: RelayerSettings, environ: Mapping[str, str] | None = None
) -> CrashPlan | None:
    """The daemon's start-up gate for the test-only crash hook, as ``relayer run`` applies
    it before opening anything: the plan ``environ`` (default: the process environment)
    arms for ``settings``, None, or ``ConfigError`` (see ``_crash_plan``). Public for the
    interop suite's operator actor (``relayer.interop``)."""
    return _crash_plan(settings, environ)


@dataclass(frozen=True)
class Finding:
    """One result of :func:`preflight`: what was checked, whether it passed, and why not."""

    subject: str
    ok: bool
    detail: str
    error: type[BridgeError] = ConfigError


def _check_evm(cs: ChainSettings, *, keys: bool) -> Iterator[Finding]:
    from adapters.evm.client import EvmClient
    from adapters.evm.contracts import load_artifact

    where = f"chains.{cs.name}"
    if cs.htlc is None:
        yield Finding(f"{where}.htlc", False, "the HTLC contract address is required")
        return
    try:
        client = EvmClient.from_target(cs.endpoint, retries=0, timeout=5.0)
        chain_id = client.chain_id
        head = client.head()
    except BridgeError as exc:
        yield Finding(where, False, f"{cs.endpoint} is unreachable: {exc}", ChainUnavailable)
        return
    yield Finding(where, True, f"{cs.endpoint} answers: chain id {chain_id}, block {head}")
    if cs.chain_id is not None and cs.chain_id != chain_id:
        yield Finding(
            f"{where}.chain_id", False, f"the node reports chain id {chain_id}, not {cs.chain_id}"
        )
    try:
        code = client.code_at(cs.htlc)
    except BridgeError as exc:
        yield Finding(f"{where}.htlc", False, str(exc))
        return
    if not code:
        yield Finding(f"{where}.htlc", False, f"no contract at {cs.htlc} on chain {chain_id}")
    elif code.hex() != load_artifact("HTLC").deployed_bytecode.removeprefix("0x").lower():
        yield Finding(
            f"{where}.htlc", False, f"{cs.htlc} is not stbridge's HTLC.sol (its code differs)"
        )
    else:
        yield Finding(f"{where}.htlc", True, f"stbridge HTLC at {cs.htlc}")
    if cs.ibet_htlc is not None:
        yield _check_ibet_htlc(client, cs.ibet_htlc, f"{where}.ibet_htlc")
    if keys:
        yield from _check_keys(cs, lambda address: client.balance(address), "wei")


def _check_ibet_htlc(client: Any, address: str, where: str) -> Finding:
    """Whether ``address`` holds stbridge's IbetHTLC (any build of it)."""
    from adapters.evm.contracts import artifact_for_chain, load_artifact

    try:
        code = client.code_at(address).hex()
    except BridgeError as exc:
        return Finding(where, False, str(exc))
    builds = {load_artifact("IbetHTLC").deployed_bytecode.removeprefix("0x").lower()}
    with contextlib.suppress(BridgeError):
        builds.add(artifact_for_chain("IbetHTLC", client).deployed_bytecode[2:].lower())
    if code in builds:
        return Finding(where, True, f"stbridge IbetHTLC at {address}")
    return Finding(where, False, f"{address} is not stbridge's IbetHTLC.sol")


def _check_algorand(cs: ChainSettings, *, keys: bool) -> Iterator[Finding]:
    from adapters.algorand.chain import AlgodChain

    where = f"chains.{cs.name}"
    if cs.endpoint == "embedded":
        yield Finding(
            where,
            True,
            "embedded ledger in this process (only this relayer sees it; "
            "`stbridge devnet up` serves one other processes can reach)",
        )
        return
    from algosdk.v2client.algod import AlgodClient

    chain = AlgodChain(AlgodClient(os.environ.get(cs.token_env, ""), cs.endpoint))
    try:
        head = chain.head()
        genesis = chain.chain.genesis_hash
    except BridgeError as exc:
        error = ConfigError if isinstance(exc, ConfigError) else ChainUnavailable
        yield Finding(where, False, f"{cs.endpoint} is unreachable: {exc}", error)
        return
    yield Finding(where, True, f"{cs.endpoint} answers: genesis {genesis}, round {head}")
    if keys:
        yield from _check_keys(cs, chain.algo_balance, "microalgos")


def _check_keys(cs: ChainSettings, balance: Callable[[str], int], unit: str) -> Iterator[Finding]:
    where = f"chains.{cs.name}.keystore"
    try:
        signers = _signers(cs)
    except BridgeError as exc:
        yield Finding(where, False, str(exc))
        return
    operator = signers[0].address
    try:
        funds = balance(operator)
    except BridgeError as exc:
        yield Finding(where, False, f"balance of {operator}: {exc}", ChainUnavailable)
        return
    if funds <= 0:
        yield Finding(where, False, f"the relayer's account {operator} has no {unit} for fees")
    else:
        yield Finding(where, True, f"relayer account {operator} unlocked, {funds:,} {unit}")
    for signer in signers[1:]:
        yield Finding(f"chains.{cs.name}.custody", True, f"{signer.address} unlocked")


def preflight(settings: RelayerSettings, *, keys: bool = True) -> list[Finding]:
    """Check what the daemon needs before it starts: secrets, store, every chain, keys.

    Nothing is written to a chain. ``keys=False`` skips decrypting the keystores (the daemon
    decrypts them anyway when it starts).
    """
    found: list[Finding] = []
    for variable, check in (
        (settings.secret_key_env, lambda: key_from_env(settings.secret_key_env)),
        (settings.api.token_env, lambda: _api_token(settings)),
    ):
        try:
            check()
        except BridgeError as exc:
            found.append(Finding(variable, False, str(exc).removeprefix(f"{variable}: ")))
        else:
            found.append(Finding(variable, True, "set"))
    try:
        _create_private(settings.store)
        open_store(settings.store).close()
    except BridgeError as exc:
        found.append(Finding("store", False, str(exc), StoreUnavailable))
    else:
        found.append(Finding("store", True, _store_name(settings.store)))
    for cs in settings.chains:
        checks = _check_evm if cs.kind == "evm" else _check_algorand
        found.extend(checks(cs, keys=keys))
    found.extend(_same_chain_twice(found))
    if settings.satp is not None:  # the SATP gateway (relayer/satp/gateway.py)
        from relayer.satp.gateway import satp_findings

        held = _held_addresses(settings) if keys else None
        found.extend(Finding(s, ok, d) for s, ok, d in satp_findings(settings.satp, held))
    return found


def _held_addresses(settings: RelayerSettings) -> dict[str, set[str]]:
    """The addresses each chain's keystores unlock (those that fail are reported above)."""
    held: dict[str, set[str]] = {}
    for cs in settings.chains:
        with contextlib.suppress(BridgeError):
            held[cs.name] = {s.address for s in _signers(cs)}
    return held


_IDENTITY = re.compile(r"answers: (chain id \d+|genesis \S+),")


def _same_chain_twice(found: list[Finding]) -> list[Finding]:
    """Two entries of the settings on one chain (same chain id / genesis) are refused: the
    relayer would watch one HTLC as two chains."""
    seen: dict[str, str] = {}
    clashes: list[Finding] = []
    for finding in found:
        match = _IDENTITY.search(finding.detail) if finding.ok else None
        if match is None or finding.subject.count(".") != 1:
            continue
        identity = match.group(1)
        if identity in seen:
            clashes.append(
                Finding(
                    finding.subject,
                    False,
                    f"the same chain as {seen[identity]} ({identity}): one chain, one entry",
                )
            )
        else:
            seen[identity] = finding.subject
    return clashes


def _store_name(target: str) -> str:
    if target.startswith(("postgresql://", "postgres://")):
        return "PostgreSQL " + target.split("@")[-1]  # never the user's password
    return f"SQLite {target}"


def _api_token(settings: RelayerSettings) -> str:
    token = password_from_env(settings.api.token_env)
    if len(token) < 16:
        raise ConfigError(f"{settings.api.token_env}: must be at least 16 characters")
    return token


def _create_private(target: str) -> None:
    """Create a new SQLite store file 0600 (swap records are the operator's business)."""
    if target.startswith(("postgresql://", "postgres://")):
        return
    path = Path(target)
    if not path.parent.is_dir():
        raise ConfigError(f"store: the directory {path.parent} does not exist")
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def build_service(settings: RelayerSettings) -> RelayerService:
    """The relayer service as the settings describe it."""
    crash_plan = _crash_plan(settings)  # first: refuse before opening anything
    store = open_store(settings.store)
    runtimes = {
        cs.name: _evm_runtime(cs, store) if cs.kind == "evm" else _algorand_runtime(cs, store)
        for cs in settings.chains
    }
    return RelayerService(
        store=store,
        chains=runtimes,
        compliance=compliance_from_engine(),
        sealing_key=key_from_env(settings.secret_key_env),
        budget=RelayerBudget(
            reaction_s=settings.reaction_s,
            compliance_recheck_s=settings.compliance_recheck_s,
            margin_s=settings.margin_s,
            poll_s=math.ceil(settings.poll_interval_s),
        ),
        wall_clock=time.time,
        replica_id=settings.replica_id,
        crash_plan=crash_plan,
        lease_seconds=settings.lease_seconds,
    )


def _describe_chain(chain: Any) -> str:
    if getattr(chain, "kind", None) == "evm":
        return f"EVM chain id {chain.chain_id}"
    return f"Algorand genesis {getattr(chain, 'genesis_hash', '?')}"


def _tls(settings: RelayerSettings) -> dict[str, str]:
    """uvicorn's TLS options when ``[satp] tls_cert``/``tls_key`` are set (else plain HTTP)."""
    if settings.satp is None or settings.satp.tls_cert is None:
        return {}
    return {"ssl_certfile": str(settings.satp.tls_cert), "ssl_keyfile": str(settings.satp.tls_key)}


def run(settings: RelayerSettings, *, stop: threading.Event | None = None) -> None:
    """Serve the API and tick until SIGTERM / SIGINT (or ``stop`` is set)."""
    import uvicorn

    from relayer.api import create_app

    configure_logging(settings.log_format, settings.log_level)
    _crash_plan(settings)  # a test-only crash hook is refused before anything else, in one line
    stop = stop or threading.Event()
    token = _api_token(settings)
    for finding in preflight(settings, keys=False):
        if not finding.ok:
            raise finding.error(f"{finding.subject}: {finding.detail}")
        log.info("start-up check %s: %s", finding.subject, finding.detail)
    service = build_service(settings)
    log.info("token adapters: %s", ", ".join(service.prepare()))
    gateway = None
    if settings.satp is not None:
        from relayer.satp.gateway import build_gateway

        gateway = build_gateway(
            settings.satp,
            service,
            htlc_ids={cs.name: cs.htlc for cs in settings.chains if cs.htlc is not None},
            sealing=key_from_env(settings.secret_key_env),
            compliance=compliance_from_engine(),
        )
        log.info(
            "SATP gateway %s (key %s): peers %s, acting for %s",
            settings.satp.gateway_id,
            gateway.node.key.kid,
            ", ".join(f"{p.gateway_id} at {p.url}" for p in settings.satp.all_peers),
            ", ".join(settings.satp.wallets),
        )
    from relayer.clients import load_clients
    from relayer.move_daemon import build_moves

    moves = build_moves(settings, service)  # None without [moves]
    clients = load_clients(settings.api.clients)
    for name, runtime in service.chains.items():
        custody = sorted(a for a in runtime.signers if a != runtime.operator.address)
        log.info(
            "chain %s (%s): head %s, relayer account %s, custody %s",
            name,
            _describe_chain(runtime.chain),
            runtime.head(),
            runtime.operator.address,
            ", ".join(custody) or "none",
        )
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(
                service,
                token=token,
                gateway=gateway,
                clients=clients,
                moves=None if moves is None else moves.executor,
                move_driver=moves,
            ),
            host=settings.api.host,
            port=settings.api.port,
            log_config=None,
            lifespan="off",
            ssl_certfile=_tls(settings).get("ssl_certfile"),
            ssl_keyfile=_tls(settings).get("ssl_keyfile"),
        )
    )
    thread = threading.Thread(target=server.run, name="api", daemon=True)
    thread.start()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    log.info(
        "relayer %s serving on %s:%s", settings.replica_id, settings.api.host, settings.api.port
    )
    from relayer.heads import HeadWakeups

    # woken at a new head where a node offers eth_subscribe, else the poll interval
    heads = HeadWakeups([cs.endpoint for cs in settings.chains if cs.kind == "evm"], stop=stop)
    heads.start()
    while not stop.is_set():
        try:
            service.tick()
        except Exception:
            log.exception("tick failed; retrying after the poll interval")
        if gateway is not None:
            try:
                gateway.tick()
            except Exception:
                log.exception("SATP tick failed; retrying after the poll interval")
        if moves is not None:
            try:
                moves.tick()
            except Exception:
                log.exception("moves tick failed; retrying after the poll interval")
        heads.wait(settings.poll_interval_s)
    heads.close()
    server.should_exit = True
    thread.join(timeout=10)
    service.store.close()
    log.info("relayer %s stopped", settings.replica_id)
