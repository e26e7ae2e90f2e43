"""``stbridge bench``: where performance is measured (tests never assert timings).

- ``stbridge bench gas``: gas of our HTLCs' lock / claim / refund on py-evm per EVM target
  and token kind, next to the direct transfer and Boltz v6's quoted figures
  (:mod:`adapters.evm.htlc_gas`);
- ``stbridge bench compliance``: compliance decisions per second over a seeded trade mix
  (:mod:`bridge.compliance.bench`);
- ``stbridge bench relayer``: N concurrent swaps through the relayer on the embedded chains
  (T-REX on py-evm against a USD ASA on the embedded Algorand ledger): wall time, ticks,
  RPC requests and the time swaps spent in each stage.

Each prints a table, or one JSON document with ``--json``.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from relayer.service import RelayerService

__all__ = ["app", "embedded_window_s", "max_ticks", "run_relayer_bench"]

app = typer.Typer(
    help="Measure: HTLC gas against Boltz, compliance decisions per second, relayer swaps.",
    no_args_is_help=True,
)

AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON document for scripts.")]


@app.command("gas")
def gas(
    target: Annotated[
        list[str] | None,
        typer.Option(
            help="EVM target to measure on (repeatable; default: berlin, london, shanghai, "
            "cancun, prague)."
        ),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Gas of the HTLCs' lock, claim and refund per EVM target and token kind (native,
    ERC-20, ERC-3643 / T-REX, ERC-1400 partition, ibet) on py-evm, beside the direct
    transfer of the same amount and Boltz v6's figures (quoted, with their conditions)."""
    from adapters.evm.htlc_gas import TARGETS, format_report, report

    chosen = tuple(target or TARGETS)
    for name in chosen:
        if name not in TARGETS:
            raise typer.BadParameter(f"must be one of {', '.join(TARGETS)}", param_hint="--target")
    numbers = report(chosen)
    typer.echo(json.dumps(numbers, indent=2) if as_json else format_report(numbers))


@app.command("compliance")
def compliance(
    seconds: Annotated[float, typer.Option(min=0.1, help="How long to evaluate.")] = 3.0,
    trades: Annotated[int, typer.Option(min=1, help="Distinct trades in the mix.")] = 500,
    as_json: AsJson = False,
) -> None:
    """Compliance decisions per second over a seeded mix of trades and jurisdictions."""
    from bridge.compliance.bench import describe, run

    numbers = run(seconds, trades)
    typer.echo(json.dumps(numbers, indent=2) if as_json else describe(numbers))


def _counts(text: str, *, field: str, high: int) -> tuple[int, ...]:
    """``"1,10,100"`` as (1, 10, 100): each between 1 and ``high``, each at most once."""
    try:
        counts = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise typer.BadParameter(
            "must be whole numbers separated by commas, e.g. 1,10,100", param_hint=field
        ) from None
    if not counts or any(not 1 <= n <= high for n in counts):
        raise typer.BadParameter(f"each must be between 1 and {high:,}", param_hint=field)
    if len(set(counts)) != len(counts):
        raise typer.BadParameter("each value at most once", param_hint=field)
    return counts


@app.command("relayer")
def relayer(
    swaps: Annotated[
        str,
        typer.Option(
            help="Concurrent swaps to settle (1 to 10,000); several separated by commas "
            "(1,10,100) settle one wave after another on the same chains, each reported, "
            'and --json prints {"runs": [...]} with one document per wave.'
        ),
    ] = "10",
    chains: Annotated[
        str,
        typer.Option(
            help="embedded: T-REX on py-evm against a USD ASA on the embedded Algorand "
            "ledger; anvil: an ERC-20 on one anvil against the native coin on a second one "
            "(two anvil processes from npm ci, started and stopped by the bench)."
        ),
    ] = "embedded",
    block_time: Annotated[
        int,
        typer.Option(
            min=0, help="anvil only: seconds per block (0: a block per transaction, automine)."
        ),
    ] = 0,
    heads: Annotated[
        str,
        typer.Option(
            help="anvil only: subscribe (wake the relayer's loop at each new head, by "
            "eth_subscribe newHeads, polling between) or poll (a tick every 0.2 s only)."
        ),
    ] = "subscribe",
    replicas: Annotated[
        str | None,
        typer.Option(
            help="anvil and PostgreSQL only: settle the swaps once with each number of "
            "relayer replicas (e.g. 1,2,4), each replica its own process on one store, and "
            "check on both chains that every swap took effect exactly once.",
        ),
    ] = None,
    pg_dsn: Annotated[
        str | None,
        typer.Option(
            envvar="STBRIDGE_TEST_PG",
            help="PostgreSQL DSN for --replicas (a fresh schema per run, dropped after).",
        ),
    ] = None,
    profile: Annotated[
        Path | None,
        typer.Option(
            help="Write a cProfile of the relayer's ticks to this file (pstats; with several "
            "waves, the last wave's)."
        ),
    ] = None,
    plot: Annotated[
        Path | None,
        typer.Option(
            help="Also draw throughput against concurrency (or replicas) and the time per "
            "stage into this PNG, titled with the conditions (needs stbridge[plot])."
        ),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """N concurrent swaps through the relayer, from submission to settlement: throughput,
    relayer CPU and memory, RPC requests per swap and leg, and latency per stage.

    Examples: stbridge bench relayer --chains anvil --swaps 1,10,100 --plot relayer.png;
    stbridge bench relayer --chains anvil --swaps 200 --replicas 1,2,4 --pg-dsn postgresql://...
    """
    if chains not in ("embedded", "anvil"):
        raise typer.BadParameter("must be embedded or anvil", param_hint="--chains")
    waves = _counts(swaps, field="--swaps", high=10_000)
    if chains == "embedded" and sum(waves) > 1_000:
        raise typer.BadParameter(
            "at most 1000 in all on the embedded chains (the seller holds 1,000 units)",
            param_hint="--swaps",
        )
    if block_time and chains != "anvil":
        raise typer.BadParameter("only with --chains anvil", param_hint="--block-time")
    if heads not in ("subscribe", "poll"):
        raise typer.BadParameter("must be subscribe or poll", param_hint="--heads")
    counts: tuple[int, ...] = ()
    if replicas is not None:
        counts = _counts(replicas, field="--replicas", high=16)
        if chains != "anvil" or block_time:
            raise typer.BadParameter(
                "only with --chains anvil and automine (replicas are processes sharing the "
                "chains and one PostgreSQL store)",
                param_hint="--replicas",
            )
        if len(waves) != 1:
            raise typer.BadParameter("one --swaps value with --replicas", param_hint="--swaps")
        if not pg_dsn:
            raise typer.BadParameter(
                "needs --pg-dsn (or STBRIDGE_TEST_PG): the replicas share a PostgreSQL store",
                param_hint="--replicas",
            )
    if plot is not None:
        from relayer.bench_plot import require_plot_target

        require_plot_target(plot)
    console = Console(stderr=True)  # progress on stderr, also with --json
    document: dict[str, Any]
    if counts:
        from relayer.bench_replicas import run_replicas_bench

        assert pg_dsn is not None
        document = run_replicas_bench(waves[0], counts, pg_dsn, console)
    elif chains == "anvil":
        runs = run_anvil_relayer_bench(
            waves, console, block_time=block_time, profile=profile, subscribe=heads == "subscribe"
        )
        document = runs[0] if len(runs) == 1 else {"runs": runs}
    else:
        runs = run_relayer_bench(waves, console, profile=profile)
        document = runs[0] if len(runs) == 1 else {"runs": runs}
    if plot is not None:
        from relayer.bench_plot import plot_relayer

        plot_relayer(document, str(plot))
        console.print(f"figure written to {plot}")
    if as_json:
        typer.echo(json.dumps(document, indent=2))
        return
    if counts:
        _print_replicas(document)
        return
    for numbers in document.get("runs", [document]):
        _print_run(numbers)


def _print_run(numbers: Mapping[str, Any]) -> None:
    out = Console()
    out.print(numbers["conditions"])
    out.print(
        f"{numbers['completed']}/{numbers['swaps']} swaps completed in "
        f"{numbers['seconds']:.1f} s ({numbers['swaps_per_minute']:.1f} per minute), "
        f"{numbers['ticks']} ticks, relayer CPU {numbers['cpu_ms_per_swap']:.1f} ms per swap, "
        f"peak memory {numbers['peak_rss_mb']:.0f} MB (set-up {numbers['setup_seconds']:.1f} s)"
    )
    if "algorand_evaluations_per_swap" in numbers:
        out.print(
            f"Algorand: {numbers['algorand_evaluations_per_swap']:.2f} evaluator runs and "
            f"{numbers['algorand_rounds_per_swap']:.2f} rounds per swap"
        )
    legs = Table("leg", "chain", "RPC requests per swap", title="requests per swap and leg")
    for leg, row in numbers["legs"].items():
        legs.add_row(leg, str(row["chain"]), f"{row['requests_per_swap']:.1f}")
    out.print(legs)
    table = Table("stage", "swaps", "mean s", title="time per stage (wall clock)")
    stages: dict[str, dict[str, float]] = numbers["stages"]
    for stage, row in stages.items():
        table.add_row(stage, f"{row['count']:.0f}", f"{row['mean_s']:.2f}")
    out.print(table)
    blocks: dict[str, dict[str, float]] = numbers.get("blocks", {})
    if blocks:
        by_block = Table(
            "event", "swaps", "mean", "p50", "max", title="blocks from submission (own chain)"
        )
        for name, row in blocks.items():
            by_block.add_row(
                name,
                f"{row['count']:.0f}",
                f"{row['mean']:.1f}",
                f"{row['p50']:.0f}",
                f"{row['max']:.0f}",
            )
        out.print(by_block)
    latency: dict[str, Any] = numbers.get("latency", {})
    if latency:
        rows = Table(
            "measure", "swaps", "median", "p99", "max", title="latency (see relayer.bench_latency)"
        )
        for key, row in latency["order_to_final_blocks"].items():
            rows.add_row(
                f"order to both legs final, blocks of {key} (bound {latency['bound_blocks']})",
                *(str(row.get(k, "-")) for k in ("count", "median", "p99", "max")),
            )
        for name, label in (
            ("reaction_polls", "reaction to a relevant block, polls"),
            ("reaction_seconds_after_first_poll", "send after the first poll that saw it, s"),
        ):
            row = latency[name]
            rows.add_row(label, *(str(row.get(k, "-")) for k in ("count", "median", "p99", "max")))
        out.print(rows)
        out.print(f"poll interval {latency['poll_interval_s']:.2f} s; bound: {latency['bound']}")
    heads: dict[str, Any] = numbers.get("heads", {})
    if heads:
        out.print(
            f"between ticks: {heads['mode']} (new heads followed by subscription on "
            f"{heads['subscribed_chains']} of {heads['of_chains']} chains)"
        )


def _print_replicas(document: Mapping[str, Any]) -> None:
    out = Console()
    out.print("; ".join(f"{k}: {v}" for k, v in document["conditions"].items()))
    table = Table(
        "replicas",
        "completed",
        "seconds",
        "swaps per minute",
        "relayer CPU ms per swap",
        "leases lost",
        "exactly once",
        title=f"{document['swaps']} swaps, replicas on one PostgreSQL store",
    )
    for run in document["runs"]:
        check = run["exactly_once"]
        table.add_row(
            str(run["replicas"]),
            f"{run['completed']}/{run['swaps']}",
            f"{run['seconds']:.1f}",
            f"{run['swaps_per_minute']:.1f}",
            f"{run['cpu_ms_per_swap']:.1f}",
            str(sum(int(r.get("leases_lost", 0)) for r in run["per_replica"])),
            "yes" if check["ok"] else "NO: " + "; ".join(check["problems"]),
        )
    out.print(table)


def _stage_sums(registry: Any) -> dict[str, tuple[float, float]]:
    """Per stage: (swaps timed, seconds in all) so far, from the relayer's histogram."""
    from relayer.metrics import STAGES

    out: dict[str, tuple[float, float]] = {}
    for stage in STAGES:
        labels = {"stage": stage}
        count = registry.get_sample_value("stbridge_swap_stage_seconds_count", labels)
        total = registry.get_sample_value("stbridge_swap_stage_seconds_sum", labels)
        out[stage] = (count or 0.0, total or 0.0)
    return out


def _rss_mb() -> tuple[float, float]:
    """(current, peak) resident memory of this process in MB (Linux)."""
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        current = pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        current = peak
    return round(current, 1), round(peak, 1)


def max_ticks(swaps: int, *, block_time: int, pause: float) -> int:
    """The ticks a wave gets before the bench gives up on it: twenty per swap and 200 more,
    and with timed blocks the ticks that 30 blocks take in pauses alone (a swap needs at
    least four blocks one after another; before, one swap on 12 s blocks could run out of
    its 220 ticks of about 0.2 s before its fourth block)."""
    timed = int(30 * block_time / pause) if block_time and pause > 0 else 0
    return 20 * swaps + 200 + timed


def _drive(
    service: RelayerService,
    ids: list[str],
    console: Console,
    *,
    profile: Path | None,
    max_ticks: int,
    pause: float = 0.0,
    wait: Callable[[float], object] | None = None,
) -> dict[str, Any]:
    """Tick until every swap has ended (or ``max_ticks``); wall time, CPU, ticks, outcomes.
    Between two ticks: ``wait(pause)`` (a new head ends it early, :mod:`relayer.heads`)
    or a sleep of ``pause``."""
    import cProfile

    # CPU time, not wall time: the waits on the chains are not the relayer's cost
    profiler = cProfile.Profile(time.process_time) if profile is not None else None
    registry = service.metrics.registry
    stages_before = _stage_sums(registry)
    started = time.perf_counter()
    cpu_before = time.process_time()
    ticks = 0
    open_ids = set(ids)
    swaps = len(ids)
    while open_ids and ticks < max_ticks:
        if profiler is not None:
            profiler.enable()
        service.tick()
        if profiler is not None:
            profiler.disable()
        ticks += 1
        open_ids = {i for i in open_ids if service.store.get(i).outcome.value == "open"}
        console.print(f"tick {ticks}: {swaps - len(open_ids)}/{swaps} swaps ended")
        if open_ids and pause:
            (wait or time.sleep)(pause)
    cpu = time.process_time() - cpu_before
    elapsed = time.perf_counter() - started
    if profiler is not None and profile is not None:
        profiler.dump_stats(str(profile))
    outcomes = [service.store.get(i).outcome.value for i in ids]
    stages: dict[str, dict[str, float]] = {}
    for stage, (count, total) in _stage_sums(registry).items():
        count -= stages_before[stage][0]  # this wave's swaps only
        total -= stages_before[stage][1]
        if count:
            stages[stage] = {"count": count, "mean_s": round(total / count, 3)}
    current, peak = _rss_mb()
    return {
        "swaps": swaps,
        "completed": outcomes.count("completed"),
        "outcomes": {o: outcomes.count(o) for o in sorted(set(outcomes))},
        "seconds": round(elapsed, 2),
        "swaps_per_minute": round(60 * swaps / elapsed, 1),
        "ticks": ticks,
        "cpu_seconds": round(cpu, 2),
        "cpu_ms_per_swap": round(1000 * cpu / swaps, 1),
        "rss_mb": current,
        "peak_rss_mb": peak,
        "stages": stages,
    }


# -- holders (adapter reads) -----------------------------------------------------------


@app.command("holders")
def holders(
    size: Annotated[
        int, typer.Option(min=1, max=100_000, help="Holders to give each token, then read.")
    ] = 10_000,
    standard: Annotated[
        list[str] | None,
        typer.Option(help="Standard to measure (repeatable; default: erc3643, erc20, erc1400)."),
    ] = None,
    from_block: Annotated[
        bool,
        typer.Option(
            "--from-block/--from-genesis",
            help="Scan the token's events from its deployment block (default) or from block 0.",
        ),
    ] = True,
    plot: Annotated[
        Path | None,
        typer.Option(help="Also draw the results into this PNG (needs stbridge[plot])."),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Read every holder of a T-REX, ERC-20 and ERC-1400 token on anvil: seconds, CPU and
    RPC requests per holder of the adapter's own holder scan (a fresh anvil per token;
    holders made in bulk first). Prints its conditions, progress, then a table.

    Example: stbridge bench holders --size 10000 --json
    """
    from relayer.bench_holders import STANDARDS, holders_table, plot_holders, run_holders_bench

    chosen = tuple(standard or STANDARDS)
    for name in chosen:
        if name not in STANDARDS:
            raise typer.BadParameter(
                f"must be one of {', '.join(STANDARDS)}", param_hint="--standard"
            )
    if plot is not None:
        from relayer.bench_plot import require_plot_target

        require_plot_target(plot)
    console = Console(stderr=True)  # progress on stderr, also with --json
    numbers = run_holders_bench(size, chosen, console, from_block=from_block)
    if plot is not None:
        plot_holders(numbers, str(plot))
        console.print(f"figure written to {plot}")
    if as_json:
        typer.echo(json.dumps(numbers, indent=2))
        return
    Console(width=max(Console().width, 110)).print(holders_table(numbers))


def _blocks(
    service: RelayerService, ids: list[str], starts: Mapping[str, int]
) -> dict[str, dict[str, float]]:
    """Per event of each swap (lock, claim per leg): blocks between the head of its chain at
    submission and the block the event landed in, from the watcher's records."""
    from bridge.swap import Role, chain_key

    found: dict[str, list[int]] = {}
    for swap_id in ids:
        state = service.store.get(swap_id)
        for role in Role:
            key = chain_key(state.terms.leg(role).chain)
            lock_id = service.expected_lock_id(state, role)
            for event in service.store.lock_history(key, lock_id):
                name = f"{role.value} {event.name.lower()}"
                found.setdefault(name, []).append(event.height - starts[key])
    out: dict[str, dict[str, float]] = {}
    for name, values in found.items():
        values.sort()
        out[name] = {
            "count": len(values),
            "mean": round(sum(values) / len(values), 2),
            "p50": values[len(values) // 2],
            "p99": values[min(len(values) - 1, (99 * len(values)) // 100)],
            "max": values[-1],
        }
    return out


def _requests(stats: Any) -> dict[str, int]:
    return dict(sorted(stats.by_method.items()))


def _per_swap(before: Mapping[str, int], after: Mapping[str, int], swaps: int) -> dict[str, float]:
    return {
        m: round((n - before.get(m, 0)) / swaps, 2)
        for m, n in after.items()
        if n - before.get(m, 0)
    }


def fund_embedded_parties(world: Any, swaps: int) -> dict[str, int]:
    """Top up the parties of the embedded world for ``swaps`` swaps in flight at once,
    from the counts (each lock's cost as the relayer's own checks compute it), and return
    what each needed and was given.

    - the buyer (cash leg, Algorand): every open ASA lock holds its escrow's deposit (the
      escrow's minimum balance with the ASA, and its settlement fees) until claimed, and
      the HTLC's pre-flight asks, before each lock, for that deposit and four minimum fees
      above the buyer's own minimum balance: ``swaps`` times that;
    - the seller (security leg, EVM): the gas of an approval and a lock per swap, as the
      funds check bounds it (:func:`relayer.dry_runs.evm_token_lock_gas`), at twice the
      fee per gas offered now (the base fee can rise while the swaps run).

    The claims are paid by the escrows (Algorand) and by the operator's 10 ether (EVM).
    """
    from algosdk.encoding import encode_address

    from adapters.algorand.htlc import MIN_FEE
    from relayer.dry_runs import EVM_APPROVE_GAS, evm_fee_per_gas, evm_token_lock_gas

    buyer = world.algo_accounts["bob"].address
    terms = world.algo_htlc.terms_for(
        asset=world.usd_ref,
        sender=buyer,
        receiver=encode_address(bytes(32)),  # type: ignore[no-untyped-call]  # funding only
        amount=1,
        hashlock=bytes(32),
        deadline=2**32,
    )
    per_lock = terms.deposit + 4 * MIN_FEE
    algos_needed = swaps * per_lock
    spendable = world.algo_htlc.chain.spendable_algos(buyer)
    algos_given = max(0, algos_needed - spendable)
    if algos_given:
        world.ledger.fund(buyer, algos_given)
    seller = world.trex.investor("alice").address
    lock_gas, what = evm_token_lock_gas(
        world.evm, world.evm_htlc.address, world.trex.token, seller, 1
    )
    gas = lock_gas if "approval" in what else lock_gas + EVM_APPROVE_GAS  # one per lock
    wei_needed = swaps * gas * 2 * evm_fee_per_gas(world.evm)
    wei_given = max(0, wei_needed - world.evm.balance(seller))
    if wei_given:
        world.evm.fund(seller, wei_given)
    return {
        "buyer_microalgos_per_lock": per_lock,
        "buyer_microalgos_needed": algos_needed,
        "buyer_microalgos_given": algos_given,
        "seller_gas_per_swap": gas,
        "seller_wei_needed": wei_needed,
        "seller_wei_given": wei_given,
    }


EMBEDDED_ROUNDS_PER_SWAP = 4
"""Rounds of the embedded Algorand ledger a bench order leaves room for, per swap of its
wave: at most two are made (its cash lock and its claim, a round per group when each is
sent alone; the bench's relayer batches a tick's groups into one round, so far fewer); the
others are the margin the deadline plan takes off (the claim window, the reveal margin, the
last lock's time before the deadline)."""


def embedded_window_s(swaps: int) -> int:
    """The settlement window of a bench order on the embedded chains, for a wave of
    ``swaps``: the demo's hour, plus the time :data:`EMBEDDED_ROUNDS_PER_SWAP` rounds per
    swap and 200 more take at the Algorand leg's slowest block time (deadlines are planned
    there). The embedded ledger makes a round per group however fast it runs, so the wave
    itself moves the Algorand clock: with the hour alone (786 rounds) a 1,000-swap wave
    reached its participants' deadlines after 273 swaps and held every later reveal."""
    from relayer.embedded import ALGO_TIMING

    rounds = EMBEDDED_ROUNDS_PER_SWAP * swaps + 200
    return 3600 + -(-rounds * ALGO_TIMING.block_time_max_ms // 1000)


def run_relayer_bench(
    waves: Sequence[int], console: Console, *, profile: Path | None = None
) -> list[dict[str, Any]]:
    """Build the embedded world once, then for each wave submit its swaps at once and tick
    until all end (the seller holds 1,000 units, one per swap: at most 1,000 in all)."""
    from relayer.embedded import build_world, demo_order

    began = time.perf_counter()
    console.print("building the embedded chains (T-REX on py-evm, Algorand ledger)...")
    # the relayer's Algorand sends of a tick are evaluated as one round (relayer.pipeline)
    world = build_world(Path(tempfile.mkdtemp(prefix="stbridge-bench-")), algorand_pipelined=True)
    service = world.service
    service.prepare()  # as the daemon does at start
    setup_s = time.perf_counter() - began
    runs: list[dict[str, Any]] = []
    done = 0
    for swaps in waves:
        console.print(f"[bold]{swaps} swaps[/bold]: funding and submitting...")
        funding = fund_embedded_parties(world, swaps)
        submit_began = time.perf_counter()
        window = embedded_window_s(swaps)  # the wave's own rounds fit before its deadlines
        ids = [
            service.submit(
                demo_order(
                    world, f"bench-{done + n}", units=1, usd_cents=1_000 + done + n
                ).model_copy(update={"settlement_window_s": window})
            ).terms.swap_id
            for n in range(swaps)
        ]
        submit_s = time.perf_counter() - submit_began
        done += swaps
        requests_before = world.evm.stats.requests
        methods_before = _requests(world.evm.stats)
        round_before = world.ledger.last_round
        evaluations_before = world.ledger.evaluations
        numbers = _drive(service, ids, console, profile=profile, max_ticks=50 * swaps + 100)
        evm_requests = (world.evm.stats.requests - requests_before) / swaps
        numbers.update(
            {
                "conditions": (
                    "embedded chains: T-REX on py-evm (block per transaction) against a USD "
                    "ASA on the embedded Algorand ledger; SQLite store; 0 confirmations; "
                    f"{swaps} swaps in flight; settlement window {window} s; "
                    f"{os.cpu_count()} cores"
                ),
                "conditions_detail": _detail(
                    backend="embedded: py-evm (T-REX) + Algorand ledger (USD ASA)",
                    block_time="a block per transaction (py-evm), a round per tick's "
                    "groups (Algorand)",
                    concurrency=swaps,
                    store="SQLite",
                ),
                "setup_seconds": round(setup_s, 2),
                "submit_seconds": round(submit_s, 2),
                "funding": funding,
                "evm_requests_per_swap": round(evm_requests, 1),
                "algorand_rounds_per_swap": round(
                    (world.ledger.last_round - round_before) / swaps, 2
                ),
                # runs of the go-algorand evaluator binary: submissions (a tick's groups in
                # one run), simulations of revealing claims, the cash leg's dry runs
                "algorand_evaluations_per_swap": round(
                    (world.ledger.evaluations - evaluations_before) / swaps, 2
                ),
                "legs": {
                    "security": {"chain": "py-evm", "requests_per_swap": round(evm_requests, 1)},
                },
                "requests_by_method": {
                    "security": _per_swap(methods_before, _requests(world.evm.stats), swaps)
                },
            }
        )
        runs.append(numbers)
        setup_s = 0.0  # the chains are built once, before the first wave
    return runs


def _detail(*, backend: str, block_time: str, concurrency: int, store: str) -> dict[str, Any]:
    """The conditions a figure names: backend, block time, confirmations, concurrency,
    cores, store (and the load average, since the machine is shared)."""
    return {
        "backend": backend,
        "block_time": block_time,
        "confirmations": 0,
        "concurrency": concurrency,
        "cores": os.cpu_count(),
        "store": store,
        "load_average": [round(x, 1) for x in os.getloadavg()],
    }


def run_anvil_relayer_bench(
    waves: Sequence[int],
    console: Console,
    *,
    block_time: int = 0,
    profile: Path | None = None,
    subscribe: bool = True,
) -> list[dict[str, Any]]:
    """Two anvil chains: an ERC-20 security on one against the native coin on the other;
    each wave's swaps submitted at once and settled before the next wave.

    Both anvils are started here (from ``node_modules``) and stopped by their pid at the end.
    One seller and one buyer (custody wallets held by the relayer), one operator per chain;
    compliance allows every trade (the engine is measured by ``bench compliance``); the
    seller approved the HTLC once for the whole run, as an operator would.
    """
    began = time.perf_counter()
    console.print("starting two anvil chains...")
    extra = () if not block_time else ("--block-time", str(block_time))
    procs: list[subprocess.Popen[bytes]] = []
    urls: list[str] = []
    try:
        for chain_id in (31337, 31338):
            proc, url = _start_anvil("--chain-id", str(chain_id), *extra)
            procs.append(proc)
            urls.append(url)
        return _anvil_run(
            waves,
            console,
            urls=urls,
            block_time=block_time,
            profile=profile,
            began=began,
            subscribe=subscribe,
        )
    finally:
        for proc in procs:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


def _anvil_run(
    waves: Sequence[int],
    console: Console,
    *,
    urls: list[str],
    block_time: int,
    profile: Path | None,
    began: float,
    subscribe: bool = True,
) -> list[dict[str, Any]]:
    from adapters.evm.client import EvmClient
    from adapters.evm.erc20 import deploy_cash_token
    from adapters.evm.htlc import EvmHtlc
    from adapters.evm.signer import EvmSigner
    from bridge.htlc import ChainTiming, RelayerBudget
    from bridge.model import AssetRef, EvmContractLocator
    from relayer.evm import ERC20_APPROVE_ABI, evm_runtime
    from relayer.sealing import SealingKey
    from relayer.service import ComplianceResult, LegOrder, RelayerService, SwapOrder
    from relayer.store import SqliteStore

    ether = 10**18
    swaps = sum(waves)
    sec = EvmClient.connect(urls[0], name="anvil-security", timeout=60.0)
    cash = EvmClient.connect(urls[1], name="anvil-cash", timeout=60.0)
    seller, buyer, seller_cash, buyer_sec, op_sec, op_cash = (
        EvmSigner.generate() for _ in range(6)
    )
    for who in (seller, op_sec):
        sec.fund(who.address, 1_000 * ether)
    for who in (buyer, op_cash):
        cash.fund(who.address, 10 * ether + swaps * ether)
    sec_htlc = EvmHtlc.deploy(sec, op_sec)
    cash_htlc = EvmHtlc.deploy(cash, op_cash)
    token = deploy_cash_token(
        sec, seller, name="Bench Units", symbol="BNU", decimals=0, currency="JPY"
    )
    minted = sec.contract(token, [*ERC20_APPROVE_ABI, *_MINT_ABI])
    _call(sec, seller, minted.functions.mint(seller.address, 10 * swaps))
    _call(sec, seller, minted.functions.approve(sec_htlc.address, 2**256 - 1))
    timing = ChainTiming(
        deadline_unit="timestamp",
        block_time_min_ms=1000,
        block_time_max_ms=max(2000, 2000 * block_time),
        finality_depth=0,
    )
    workdir = Path(tempfile.mkdtemp(prefix="stbridge-bench-"))
    service = RelayerService(
        store=SqliteStore(workdir / "relayer.sqlite3"),
        chains={
            "security": evm_runtime(
                name="security",
                client=sec,
                htlc=sec_htlc,
                timing=timing,
                confirmations=0,
                signers=[seller],
                operator=op_sec,
                start_height=sec.head(),
            ),
            "cash": evm_runtime(
                name="cash",
                client=cash,
                htlc=cash_htlc,
                timing=timing,
                confirmations=0,
                signers=[buyer],
                operator=op_cash,
                start_height=cash.head(),
            ),
        },
        compliance=lambda order, at: ComplianceResult(True, (), {"rules": "bench: allow all"}),
        sealing_key=SealingKey.generate(),
        budget=RelayerBudget(reaction_s=30, compliance_recheck_s=10, margin_s=60),
        wall_clock=time.time,
        max_swaps_per_tick=max(500, max(waves)),
    )
    service.prepare()  # as the daemon does at start: the adapters are loaded before a tick
    from relayer.heads import HeadWakeups

    wake = HeadWakeups(urls if subscribe and block_time else [])
    wake.start()
    try:
        return _anvil_waves(
            service,
            waves,
            console,
            profile=profile,
            block_time=block_time,
            wake=wake,
            setup_s=time.perf_counter() - began,
            order=lambda n: SwapOrder(
                order_id=f"bench-{n}",
                security=LegOrder(
                    chain="security",
                    asset=AssetRef(chain=sec.chain, locator=EvmContractLocator(address=token)),
                    amount=1 + n % 7,
                    sender=seller.address,
                    receiver=buyer_sec.address,
                ),
                cash=LegOrder(
                    chain="cash",
                    amount=10**15 + n,
                    sender=buyer.address,
                    receiver=seller_cash.address,
                ),
                settlement_window_s=7200,
            ),
            clients={"security": sec, "cash": cash},
        )
    finally:
        wake.close()


def _anvil_waves(
    service: RelayerService,
    waves: Sequence[int],
    console: Console,
    *,
    profile: Path | None,
    block_time: int,
    wake: Any,
    setup_s: float,
    order: Callable[[int], Any],
    clients: Mapping[str, Any],
) -> list[dict[str, Any]]:
    runs = []
    done = 0
    for swaps in waves:
        console.print(f"[bold]{swaps} swaps[/bold]: submitting...")
        first = done
        done += swaps
        numbers = _anvil_wave(
            service,
            range(first, done),
            console,
            profile=profile,
            block_time=block_time,
            orders=order,
            clients=clients,
            wake=wake,
        )
        numbers["setup_seconds"] = round(setup_s, 2)
        setup_s = 0.0  # the chains are set up once, before the first wave
        runs.append(numbers)
    return runs


def _anvil_wave(
    service: RelayerService,
    numbers_range: range,
    console: Console,
    *,
    profile: Path | None,
    block_time: int,
    orders: Any,
    clients: Mapping[str, Any],
    wake: Any = None,
) -> dict[str, Any]:
    """One wave on the two anvils: submit, tick until all end, report. ``wake``
    (:class:`relayer.heads.HeadWakeups`): the wait between ticks, ended by a new head."""
    from bridge.swap import chain_key

    swaps = len(numbers_range)
    sec, cash = clients["security"], clients["cash"]
    starts = {chain_key(sec.chain): sec.head(), chain_key(cash.chain): cash.head()}
    ids = [service.submit(orders(n)).terms.swap_id for n in numbers_range]
    stats = {"security": sec.stats, "cash": cash.stats}
    before = {leg: _requests(s) for leg, s in stats.items()}
    totals = {leg: s.requests for leg, s in stats.items()}
    from relayer.bench_latency import latency_report, recording

    pause = 0.2 if block_time else 0.0
    with recording(service, (sec, cash)) as recorder:
        numbers = _drive(
            service,
            ids,
            console,
            profile=profile,
            max_ticks=max_ticks(swaps, block_time=block_time, pause=pause),
            pause=pause,
            wait=None if wake is None or not wake.live else wake.wait,
        )
    if wake is not None:
        numbers["heads"] = {
            "mode": "subscribe" if wake.followed else "poll",
            "subscribed_chains": wake.live,
            "of_chains": wake.followed,
        }
    if block_time:  # with automine a block is a transaction: no latency in blocks
        numbers["latency"] = latency_report(
            service,
            ids,
            starts=starts,
            clients={chain_key(sec.chain): sec, chain_key(cash.chain): cash},
            block_time=block_time,
            recorder=recorder,
        )
    blocks = f"{block_time} s blocks" if block_time else "a block per transaction (automine)"
    numbers["conditions"] = (
        f"two anvil chains (ERC-20 against the native coin), {blocks}; SQLite store; "
        f"0 confirmations; {swaps} swaps in flight; {os.cpu_count()} cores; "
        "relayer in one process"
    )
    numbers["conditions_detail"] = _detail(
        backend="anvil: ERC-20 against the native coin",
        block_time=blocks,
        concurrency=swaps,
        store="SQLite",
    )
    numbers["legs"] = {
        leg: {
            "chain": client_name,
            "requests_per_swap": round((stats[leg].requests - totals[leg]) / swaps, 1),
        }
        for leg, client_name in (("security", "anvil 31337"), ("cash", "anvil 31338"))
    }
    numbers["requests_by_method"] = {
        leg: _per_swap(before[leg], _requests(s), swaps) for leg, s in stats.items()
    }
    numbers["blocks"] = _blocks(service, ids, starts)
    return numbers


_MINT_ABI: list[dict[str, Any]] = [
    {
        "type": "function",
        "name": "mint",
        "stateMutability": "nonpayable",
        "inputs": [{"name": "to", "type": "address"}, {"name": "amount", "type": "uint256"}],
        "outputs": [],
    }
]


def _call(client: Any, signer: Any, fn_call: Any) -> None:
    data = bytes.fromhex(str(fn_call._encode_transaction_data()).removeprefix("0x"))
    client.transact(signer, str(fn_call.address), data)


def _start_anvil(*extra: str) -> tuple[subprocess.Popen[bytes], str]:
    """anvil from ``node_modules`` on a free local port (:func:`relayer.interop.anvil.start_anvil`:
    history in memory only); the process and its URL. A missing binary is a set-up error."""
    from bridge.errors import ConfigError
    from relayer.interop.anvil import anvil_binary, start_anvil

    if not anvil_binary().is_file():
        raise ConfigError(
            f"anvil not found at {anvil_binary()}: run `npm ci` (or `make setup`) first"
        )
    return start_anvil(*extra)
