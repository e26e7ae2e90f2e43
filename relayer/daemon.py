"""``stbridge relayer run``: build the relayer from its settings and run it until SIGTERM.

The composition root: settings -> store, chain runtimes (clients, HTLC ports, keys, token
dry runs), the compliance engine, the API server in a thread, and the tick loop in the main
thread. Logging is configured here and only here (text or JSON), with a filter that
redacts anything marked secret.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bridge.compliance import default_engine
from bridge.errors import ConfigError
from bridge.htlc import ChainTiming, RelayerBudget
from bridge.model import Refusal
from relayer.keystore import load_signer, password_from_env
from relayer.sealing import key_from_env
from relayer.service import (
    ChainRuntime,
    ComplianceResult,
    CrashPlan,
    RelayerService,
    SwapOrder,
)
from relayer.settings import ChainSettings, RelayerSettings
from relayer.store import open_store

__all__ = ["RedactingFilter", "build_service", "compliance_from_engine", "configure_logging", "run"]

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
        return json.dumps(
            {
                "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
                "level": record.levelname,
                "logger": record.name,
                "message": record.getMessage(),
            }
        )


def configure_logging(fmt: str) -> None:
    """Root logging for the daemon: one stderr handler, text or JSON, secrets redacted."""
    handler = logging.StreamHandler()
    handler.addFilter(RedactingFilter())
    handler.setFormatter(
        _JsonFormatter()
        if fmt == "json"
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)


def compliance_from_engine() -> Callable[[SwapOrder], ComplianceResult]:
    """The compliance hook backed by the rules in ``specs/jurisdictions`` (loaded once)."""
    engine = default_engine()

    def check(order: SwapOrder) -> ComplianceResult:
        if order.trade is None:
            return ComplianceResult(
                False,
                (
                    Refusal(
                        code="INFORMATION_MISSING", detail="the order carries no trade to check"
                    ),
                ),
            )
        decision = engine.evaluate(order.trade, datetime.now(UTC))
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


def _evm_runtime(cs: ChainSettings) -> ChainRuntime:
    from adapters.evm.client import EvmClient
    from adapters.evm.htlc import EvmHtlc
    from relayer.evm import evm_runtime

    if cs.htlc is None:
        raise ConfigError(f"chains.{cs.name}.htlc: the HTLC contract address is required")
    client = EvmClient.from_target(cs.endpoint, evm_version=cs.evm_version)
    signers = _signers(cs)
    return evm_runtime(
        name=cs.name,
        client=client,
        htlc=EvmHtlc(client, cs.htlc, from_block=cs.start_height or 0),
        timing=_timing(cs),
        confirmations=cs.confirmations,
        signers=signers,
        operator=signers[0],
        start_height=cs.start_height,
    )


def _algorand_runtime(cs: ChainSettings) -> ChainRuntime:
    from algosdk.v2client.algod import AlgodClient

    from adapters.algorand.chain import AlgodChain
    from adapters.algorand.htlc import AlgorandHtlc

    if cs.endpoint == "embedded":
        from adapters.algorand.algod import EmbeddedAlgodClient
        from adapters.algorand.ledger import EmbeddedLedger

        client: Any = EmbeddedAlgodClient(EmbeddedLedger())
    else:
        client = AlgodClient(os.environ.get(cs.token_env, ""), cs.endpoint)
    chain = AlgodChain(client)
    if cs.start_height is not None:
        head = max(cs.start_height, 1)
    else:
        head = chain.head() if cs.endpoint == "embedded" else max(chain.head() - 1000, 1)
    htlc = AlgorandHtlc(chain, from_round=head)
    signers = _signers(cs)
    return ChainRuntime(
        name=cs.name,
        chain=chain.chain,
        htlc=htlc,
        now=chain.head,
        head=chain.head,
        timing=_timing(cs),
        confirmations=cs.confirmations,
        signers={s.address: s for s in signers},
        operator=signers[0],
        start_height=cs.start_height,
    )


def _signers(cs: ChainSettings) -> list[Any]:
    if cs.keystore is None:
        raise ConfigError(
            f"chains.{cs.name}.keystore: the relayer's key for this chain is required"
        )
    password = password_from_env(cs.password_env)
    return [load_signer(path, password) for path in (cs.keystore, *cs.custody)]


def _crash_plan() -> CrashPlan | None:
    value = os.environ.get("STBRIDGE_FAULT_KILL")
    if not value:
        return None
    plan = CrashPlan.parse(value)
    log.warning("STBRIDGE_FAULT_KILL=%s: this process will SIGKILL itself (crash test)", value)
    return plan


def build_service(settings: RelayerSettings) -> RelayerService:
    """The relayer service as the settings describe it."""
    runtimes = {
        cs.name: _evm_runtime(cs) if cs.kind == "evm" else _algorand_runtime(cs)
        for cs in settings.chains
    }
    return RelayerService(
        store=open_store(settings.store),
        chains=runtimes,
        compliance=compliance_from_engine(),
        sealing_key=key_from_env(settings.secret_key_env),
        budget=RelayerBudget(
            reaction_s=settings.reaction_s,
            compliance_recheck_s=settings.compliance_recheck_s,
            margin_s=settings.margin_s,
        ),
        wall_clock=time.time,
        replica_id=settings.replica_id,
        crash_plan=_crash_plan(),
        lease_seconds=settings.lease_seconds,
    )


def run(settings: RelayerSettings, *, stop: threading.Event | None = None) -> None:
    """Serve the API and tick until SIGTERM / SIGINT (or ``stop`` is set)."""
    import uvicorn

    from relayer.api import create_app

    configure_logging(settings.log_format)
    stop = stop or threading.Event()
    service = build_service(settings)
    token = password_from_env(settings.api.token_env)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(service, token=token),
            host=settings.api.host,
            port=settings.api.port,
            log_config=None,
            lifespan="off",
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
    while not stop.is_set():
        try:
            service.tick()
        except Exception:
            log.exception("tick failed; retrying after the poll interval")
        stop.wait(settings.poll_interval_s)
    server.should_exit = True
    thread.join(timeout=10)
    service.store.close()
    log.info("relayer %s stopped", settings.replica_id)
