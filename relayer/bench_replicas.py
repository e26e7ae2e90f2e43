"""``stbridge bench relayer --replicas 1,2,4``: relayer replicas sharing one PostgreSQL store.

For each replica count R the bench starts two fresh anvil chains (an ERC-20 security on
one, the native coin on the other, as ``bench relayer --chains anvil``), a fresh schema in
the PostgreSQL database it is given, and submits N swaps through the store. Then R replica
processes (``multiprocessing``, spawned) each build their own ``RelayerService`` on that
store and tick until no swap is open. Each replica leases at most ``ceil(N / R)`` swaps per
tick (``max_swaps_per_tick``), so the book divides between them; each pays its claims from
its own operator key, and the parties' keys are spread so that each replica's share of the
swaps signs with its own keys (a key is held by one replica at a time: a PostgreSQL
advisory lock).

The run is then checked for double effects on the chains themselves, not in the store:
on each chain, every swap's hashlock is locked exactly once and claimed exactly once, no
lock is refunded, the buyer received exactly the securities and the seller exactly the
cash of every swap. A run that fails the check says so in its ``exactly_once`` block.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import queue
import secrets
import subprocess
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.console import Console

if TYPE_CHECKING:
    from datetime import datetime

    from relayer.service import ComplianceResult, RelayerService, SwapOrder
    from relayer.store import PostgresStore

__all__ = ["parse_replicas", "run_replicas_bench"]

KEY_PAIRS = 4
"""Sellers on the security chain and buyers on the cash chain (each with a key): as many as
the largest replica count measured by default, so each replica can sign with its own."""

LEASE_SECONDS = 30.0


def parse_replicas(text: str) -> tuple[int, ...]:
    """``"1,2,4"`` as (1, 2, 4); ``ValueError`` naming the rule otherwise."""
    try:
        counts = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ValueError("must be replica counts separated by commas, e.g. 1,2,4") from None
    if not counts or any(not 1 <= n <= 16 for n in counts):
        raise ValueError("each replica count must be between 1 and 16")
    if len(set(counts)) != len(counts):
        raise ValueError("each replica count at most once")
    return counts


@dataclass(frozen=True)
class _World:
    """Everything a replica process needs to join the run (picklable; keys as bytes, never
    printed: the class has no ``repr`` of its keys)."""

    urls: tuple[str, str]
    htlcs: tuple[str, str]
    htlc_blocks: tuple[int, int]
    token: str
    seller_keys: tuple[bytes, ...]
    buyer_keys: tuple[bytes, ...]
    sealing_key: bytes
    dsn: str
    start_heights: tuple[int, int]

    def __repr__(self) -> str:
        return f"_World(urls={self.urls}, token={self.token}, <keys redacted>)"


def _allow_all(order: SwapOrder, at: datetime) -> ComplianceResult:
    """The bench's compliance: every trade allowed (``bench compliance`` measures the engine)."""
    from relayer.service import ComplianceResult

    return ComplianceResult(True, (), {"rules": "bench: allow all"})


def _service(
    world: _World,
    store: PostgresStore,
    *,
    replica_id: str,
    operators: tuple[bytes, bytes],
    per_tick: int,
    clients: dict[str, Any] | None = None,
) -> RelayerService:
    """One replica's relayer: both chains' clients, the shared HTLCs, every party's key,
    this replica's own operator keys, the shared store and sealing key."""
    from adapters.evm.client import EvmClient
    from adapters.evm.htlc import EvmHtlc
    from adapters.evm.signer import EvmSigner
    from bridge.htlc import ChainTiming, RelayerBudget
    from relayer.evm import evm_runtime
    from relayer.sealing import SealingKey
    from relayer.service import RelayerService

    timing = ChainTiming(
        deadline_unit="timestamp", block_time_min_ms=1000, block_time_max_ms=2000, finality_depth=0
    )
    runtimes = {}
    for n, (name, keys) in enumerate((("security", world.seller_keys), ("cash", world.buyer_keys))):
        client = EvmClient.connect(world.urls[n], name=f"anvil-{name}", timeout=60.0)
        if clients is not None:
            clients[name] = client
        runtimes[name] = evm_runtime(
            name=name,
            client=client,
            htlc=EvmHtlc(client, world.htlcs[n], from_block=world.htlc_blocks[n]),
            timing=timing,
            confirmations=0,
            signers=[EvmSigner(k) for k in keys],
            operator=EvmSigner(operators[n]),
            start_height=world.start_heights[n],
        )
    return RelayerService(
        store=store,
        chains=runtimes,
        compliance=_allow_all,
        sealing_key=SealingKey(world.sealing_key),
        budget=RelayerBudget(reaction_s=30, compliance_recheck_s=10, margin_s=60),
        wall_clock=time.time,
        replica_id=replica_id,
        lease_seconds=LEASE_SECONDS,
        max_swaps_per_tick=per_tick,
    )


def _replica_main(
    world: _World,
    index: int,
    operators: tuple[bytes, bytes],
    per_tick: int,
    ready: Any,
    go: Any,
    results: Any,
) -> None:
    """A replica process: build the service, say ready, wait for the start, tick until no
    swap is open, report its ticks, CPU, swaps acted on and what the fencing refused."""
    try:
        from relayer.store import PostgresStore

        store = PostgresStore(world.dsn)
        clients: dict[str, Any] = {}
        service = _service(
            world,
            store,
            replica_id=f"replica-{index}",
            operators=operators,
            per_tick=per_tick,
            clients=clients,
        )
        service.prepare()  # as the daemon does at start
        ready.put(index)
        go.wait()
        cpu0 = time.process_time()
        ticks = 0
        acted: set[str] = set()
        idle_since: float | None = None
        while True:
            ids = service.tick()
            ticks += 1
            acted.update(ids)
            if not store.list_ids(outcome="open", limit=1):
                break
            if ids:
                idle_since = None
            else:  # every open swap is leased to another replica: do not spin on the store
                idle_since = idle_since or time.monotonic()
                time.sleep(0.05)
        registry = service.metrics.registry
        from relayer.bench import _stage_sums

        requests = {leg: dict(client.stats.by_method) for leg, client in clients.items()}
        results.put(
            {
                "replica": index,
                "ticks": ticks,
                "cpu_seconds": round(time.process_time() - cpu0, 3),
                "swaps_acted_on": len(acted),
                "leases_lost": int(registry.get_sample_value("stbridge_leases_lost_total") or 0),
                "transient_errors": service.transient_errors,
                "requests_by_method": requests,
                "stage_sums": _stage_sums(registry),
            }
        )
        store.close()
    except BaseException as exc:  # the parent reports it; a replica never hangs the bench
        results.put({"replica": index, "error": f"{type(exc).__name__}: {exc}"})
        raise


def _deploy(swaps: int, console: Console, dsn: str) -> tuple[_World, list[Any], dict[str, Any]]:
    """Two anvils, the HTLCs, the token minted to every seller (approved for the HTLC once),
    buyers funded; the world, the anvil processes and the amounts each party should end with."""
    from adapters.evm.client import EvmClient
    from adapters.evm.erc20 import deploy_cash_token
    from adapters.evm.htlc import EvmHtlc
    from adapters.evm.signer import EvmSigner
    from relayer.bench import _MINT_ABI, _call, _start_anvil
    from relayer.evm import ERC20_APPROVE_ABI

    ether = 10**18
    procs: list[subprocess.Popen[bytes]] = []
    urls: list[str] = []
    for chain_id in (31337, 31338):
        proc, url = _start_anvil("--chain-id", str(chain_id))
        procs.append(proc)
        urls.append(url)
    sec = EvmClient.connect(urls[0], name="anvil-security", timeout=60.0)
    cash = EvmClient.connect(urls[1], name="anvil-cash", timeout=60.0)
    seller_keys = tuple(secrets.token_bytes(32) for _ in range(KEY_PAIRS))
    buyer_keys = tuple(secrets.token_bytes(32) for _ in range(KEY_PAIRS))
    sellers = [EvmSigner(k) for k in seller_keys]
    buyers = [EvmSigner(k) for k in buyer_keys]
    deployer_sec, deployer_cash = EvmSigner.generate(), EvmSigner.generate()
    sec.fund(deployer_sec.address, 1_000 * ether)
    cash.fund(deployer_cash.address, 1_000 * ether)
    for s in sellers:
        sec.fund(s.address, 100 * ether)
    for b in buyers:
        cash.fund(b.address, 10 * ether + swaps * ether)
    sec_htlc = EvmHtlc.deploy(sec, deployer_sec)
    cash_htlc = EvmHtlc.deploy(cash, deployer_cash)
    token = deploy_cash_token(
        sec, deployer_sec, name="Bench Units", symbol="BNU", decimals=0, currency="JPY"
    )
    minted = sec.contract(token, [*ERC20_APPROVE_ABI, *_MINT_ABI])
    for s in sellers:
        _call(sec, deployer_sec, minted.functions.mint(s.address, 10 * swaps))
        _call(sec, s, minted.functions.approve(sec_htlc.address, 2**256 - 1))
    console.print(f"two anvils at {urls[0]} and {urls[1]}; HTLCs and the token deployed")
    world = _World(
        urls=(urls[0], urls[1]),
        htlcs=(sec_htlc.address, cash_htlc.address),
        htlc_blocks=(sec_htlc.from_block, cash_htlc.from_block),
        token=token,
        seller_keys=seller_keys,
        buyer_keys=buyer_keys,
        sealing_key=secrets.token_bytes(32),
        dsn=dsn,
        start_heights=(sec.head(), cash.head()),
    )
    return world, procs, {"sec": sec, "cash": cash}


def _fresh_schema(dsn: str) -> tuple[str, str]:
    """A new schema in the database at ``dsn``; (its name, a DSN whose search path is it)."""
    import psycopg

    name = "bench_" + secrets.token_hex(6)
    with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    sep = "&" if "?" in dsn else "?"
    return name, f"{dsn}{sep}options=-csearch_path%3D{name}"


def _drop_schema(dsn: str, name: str) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f"DROP SCHEMA {name} CASCADE")


def _order(world: _World, n: int, swaps: int, asset: Any, receivers: tuple[str, str]) -> SwapOrder:
    """Swap ``n``: its seller and buyer are the key pair of its block of the book (swaps
    are leased in submission order, so each replica's share signs with its own keys)."""
    from adapters.evm.signer import EvmSigner
    from relayer.service import LegOrder, SwapOrder

    pair = n * KEY_PAIRS // swaps
    return SwapOrder(
        order_id=f"bench-{n}",
        security=LegOrder(
            chain="security",
            asset=asset,
            amount=1 + n % 7,
            sender=EvmSigner(world.seller_keys[pair]).address,
            receiver=receivers[0],
        ),
        cash=LegOrder(
            chain="cash",
            amount=10**15 + n,
            sender=EvmSigner(world.buyer_keys[pair]).address,
            receiver=receivers[1],
        ),
        settlement_window_s=7200,
    )


def run_replicas_bench(
    swaps: int, replicas: Sequence[int], dsn: str, console: Console
) -> dict[str, Any]:
    """For each replica count: fresh chains and schema, ``swaps`` swaps, the replicas
    ticking in their own processes until none is open; throughput, CPU and the check that
    every swap took effect exactly once on both chains."""
    runs = []
    for count in replicas:
        console.print(f"[bold]{count} replica(s)[/bold], {swaps} swaps")
        runs.append(_run_once(swaps, count, dsn, console))
    return {
        "conditions": _conditions(swaps),
        "swaps": swaps,
        "runs": runs,
        "all_exactly_once": all(r["exactly_once"]["ok"] for r in runs),
    }


def _conditions(swaps: int) -> dict[str, Any]:
    load = os.getloadavg()
    return {
        "backend": "anvil (two chains: ERC-20 security, native-coin cash)",
        "block_time": "a block per transaction (automine)",
        "confirmations": 0,
        "concurrency": swaps,
        "cores": os.cpu_count(),
        "load_average": [round(x, 1) for x in load],
        "store": "PostgreSQL (one database, a fresh schema per run)",
        "replicas": "one process each, max_swaps_per_tick = ceil(N / replicas), "
        f"lease {LEASE_SECONDS:.0f} s, own operator key per replica per chain",
        "keys": f"{KEY_PAIRS} sellers and {KEY_PAIRS} buyers, each a block of the book",
    }


def _run_once(swaps: int, count: int, dsn: str, console: Console) -> dict[str, Any]:
    from adapters.evm.signer import EvmSigner
    from bridge.model import AssetRef, EvmContractLocator
    from relayer.store import PostgresStore

    began = time.perf_counter()
    schema, schema_dsn = _fresh_schema(dsn)
    procs: list[subprocess.Popen[bytes]] = []
    workers: list[Any] = []
    try:
        world, procs, clients = _deploy(swaps, console, schema_dsn)
        receivers = (EvmSigner.generate().address, EvmSigner.generate().address)
        asset = AssetRef(
            chain=clients["sec"].chain, locator=EvmContractLocator(address=world.token)
        )
        operators = [(secrets.token_bytes(32), secrets.token_bytes(32)) for _ in range(count)]
        for op_sec, op_cash in operators:
            clients["sec"].fund(EvmSigner(op_sec).address, 100 * 10**18)
            clients["cash"].fund(EvmSigner(op_cash).address, 100 * 10**18)
        store = PostgresStore(schema_dsn)
        submitter = _service(
            world, store, replica_id="submitter", operators=operators[0], per_tick=1
        )
        ids = [
            submitter.submit(_order(world, n, swaps, asset, receivers)).terms.swap_id
            for n in range(swaps)
        ]
        setup_s = time.perf_counter() - began
        console.print(f"{swaps} swaps submitted ({setup_s:.1f} s); starting {count} replicas")
        ctx = multiprocessing.get_context("spawn")
        ready, results = ctx.Queue(), ctx.Queue()
        go = ctx.Event()
        per_tick = math.ceil(swaps / count)
        for index in range(count):
            proc = ctx.Process(
                target=_replica_main,
                args=(world, index, operators[index], per_tick, ready, go, results),
                daemon=True,
            )
            proc.start()
            workers.append(proc)
        for _ in range(count):
            ready.get(timeout=300)
        started = time.perf_counter()
        go.set()
        reports = _collect(results, workers, ids, store, console)
        elapsed = time.perf_counter() - started
        outcomes = Counter(store.get(i).outcome.value for i in ids)
        check = _exactly_once(world, clients, ids, submitter, receivers)
        store.close()
    finally:
        for proc in workers:
            if proc.is_alive():
                proc.terminate()
            proc.join(timeout=10)
        for anvil in procs:
            anvil.terminate()
            try:
                anvil.wait(timeout=5)
            except subprocess.TimeoutExpired:
                anvil.kill()
                anvil.wait(timeout=5)
        _drop_schema(dsn, schema)
    errors = [r["error"] for r in reports if "error" in r]
    cpu = sum(float(r.get("cpu_seconds", 0.0)) for r in reports)
    return {
        "replicas": count,
        "swaps": swaps,
        "completed": outcomes.get("completed", 0),
        "outcomes": dict(sorted(outcomes.items())),
        "seconds": round(elapsed, 2),
        "swaps_per_minute": round(60 * swaps / elapsed, 1),
        "relayer_cpu_seconds": round(cpu, 2),
        "cpu_ms_per_swap": round(1000 * cpu / swaps, 1),
        "setup_seconds": round(setup_s, 2),
        "stages": _merged_stages(reports),
        "per_replica": sorted(
            (
                {k: v for k, v in r.items() if k not in ("requests_by_method", "stage_sums")}
                for r in reports
            ),
            key=lambda r: int(r["replica"]),
        ),
        "transactions_sent": _sent(reports),
        "exactly_once": check,
        "errors": errors,
    }


def _collect(
    results: Any, workers: list[Any], ids: list[str], store: Any, console: Console
) -> list[dict[str, Any]]:
    """Every replica's report, printing progress meanwhile; a replica that died without a
    report is reported as an error."""
    reports: list[dict[str, Any]] = []
    last = -1
    while len(reports) < len(workers):
        try:
            reports.append(results.get(timeout=2.0))
            continue
        except queue.Empty:
            pass
        ended = len(ids) - len(store.list_ids(outcome="open", limit=len(ids)))
        if ended != last:
            console.print(f"{ended}/{len(ids)} swaps ended")
            last = ended
        dead = [p for p in workers if not p.is_alive() and p.exitcode not in (0, None)]
        if dead and results.empty():
            reported = {r["replica"] for r in reports}
            for n, proc in enumerate(workers):
                if n not in reported and not proc.is_alive():
                    reports.append({"replica": n, "error": f"exited with {proc.exitcode}"})
    return reports


def _merged_stages(reports: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """The replicas' stage timings together: per stage, the swaps timed and their mean."""
    counts: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    for report in reports:
        for stage, (count, total) in report.get("stage_sums", {}).items():
            counts[stage] += count
            totals[stage] += total
    return {
        stage: {"count": counts[stage], "mean_s": round(totals[stage] / counts[stage], 3)}
        for stage in counts
        if counts[stage]
    }


def _sent(reports: list[dict[str, Any]]) -> dict[str, int]:
    """``eth_sendRawTransaction`` requests of all replicas, per leg (a re-sent signed
    transaction counts again: the same transaction, not a second effect)."""
    out: Counter[str] = Counter()
    for report in reports:
        for leg, methods in report.get("requests_by_method", {}).items():
            out[leg] += int(methods.get("eth_sendRawTransaction", 0))
    return dict(out)


def _exactly_once(
    world: _World,
    clients: dict[str, Any],
    ids: list[str],
    submitter: RelayerService,
    receivers: tuple[str, str],
) -> dict[str, Any]:
    """Read both HTLCs' events from their deployment and the receivers' balances: each
    swap's hashlock locked once and claimed once per chain, nothing refunded, every
    security unit and every wei of cash delivered once."""
    from adapters.evm.htlc import EvmHtlc

    problems: list[str] = []
    out: dict[str, Any] = {}
    hashlocks = {i: submitter.store.get(i).terms.hashlock.lower() for i in ids}
    for n, (leg, client) in enumerate((("security", clients["sec"]), ("cash", clients["cash"]))):
        htlc = EvmHtlc(client, world.htlcs[n], from_block=world.htlc_blocks[n])
        locked: Counter[str] = Counter()
        lock_of: dict[str, str] = {}
        claimed: Counter[str] = Counter()
        refunded = 0
        for event in htlc.events(world.htlc_blocks[n], client.head()):
            if event.name == "Locked":
                hashlock = _hex(event.args["hashlock"])
                locked[hashlock] += 1
                lock_of[str(event.args["lock_id"])] = hashlock
            elif event.name == "Claimed":
                claimed[lock_of.get(str(event.args["lock_id"]), "?")] += 1
            else:
                refunded += 1
        twice = [i for i, h in hashlocks.items() if locked[h] > 1 or claimed[h] > 1]
        missing = [i for i, h in hashlocks.items() if locked[h] == 0 or claimed[h] == 0]
        if twice:
            problems.append(f"{leg}: {len(twice)} swaps locked or claimed more than once")
        if missing:
            problems.append(f"{leg}: {len(missing)} swaps not locked and claimed")
        if refunded:
            problems.append(f"{leg}: {refunded} refunds")
        out[leg] = {
            "locks": sum(locked.values()),
            "claims": sum(claimed.values()),
            "refunds": refunded,
            "swaps_locked_twice": len(twice),
        }
    units = sum(1 + n % 7 for n in range(len(ids)))
    wei = sum(10**15 + n for n in range(len(ids)))
    holder = bytes.fromhex(receivers[0][2:]).rjust(32, b"\0")
    answer = clients["sec"].call({"to": world.token, "data": _BALANCE_OF + holder})
    got_units = int.from_bytes(answer, "big")
    got_wei = clients["cash"].balance(receivers[1])
    if got_units != units:
        problems.append(f"security: buyer received {got_units} units, expected {units}")
    if got_wei != wei:
        problems.append(f"cash: seller received {got_wei} wei, expected {wei}")
    out["delivered"] = {
        "units": got_units,
        "expected_units": units,
        "wei": got_wei,
        "expected_wei": wei,
    }
    out["ok"] = not problems
    out["problems"] = problems
    return out


_BALANCE_OF = bytes.fromhex("70a08231")
"""The selector of ERC-20 ``balanceOf(address)``."""


def _hex(value: object) -> str:
    """A hashlock as the store writes it: 0x and lower-case hex."""
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return str(value).lower()
