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
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

__all__ = ["app", "run_relayer_bench"]

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


@app.command("relayer")
def relayer(
    swaps: Annotated[int, typer.Option(min=1, max=200, help="Concurrent swaps to settle.")] = 10,
    as_json: AsJson = False,
) -> None:
    """N concurrent swaps through the relayer on the embedded chains, start to settlement."""
    console = Console(stderr=True, quiet=as_json)
    numbers = run_relayer_bench(swaps, console)
    if as_json:
        typer.echo(json.dumps(numbers, indent=2))
        return
    out = Console()
    out.print(
        f"{numbers['completed']}/{numbers['swaps']} swaps completed in "
        f"{numbers['seconds']:.1f} s ({numbers['swaps_per_minute']:.1f} per minute), "
        f"{numbers['ticks']} ticks, {numbers['evm_requests_per_swap']:.0f} EVM requests and "
        f"{numbers['algorand_rounds_per_swap']:.1f} Algorand rounds per swap "
        f"(set-up {numbers['setup_seconds']:.1f} s)"
    )
    table = Table("stage", "swaps", "mean s", title="time per stage (wall clock)")
    stages: dict[str, dict[str, float]] = numbers["stages"]
    for stage, row in stages.items():
        table.add_row(stage, f"{row['count']:.0f}", f"{row['mean_s']:.2f}")
    out.print(table)


def run_relayer_bench(swaps: int, console: Console) -> dict[str, Any]:
    """Build the embedded world, submit ``swaps`` orders at once, tick until all end."""
    from relayer.embedded import build_world, demo_order
    from relayer.metrics import STAGES

    began = time.perf_counter()
    console.print("building the embedded chains (T-REX on py-evm, Algorand ledger)...")
    world = build_world(Path(tempfile.mkdtemp(prefix="stbridge-bench-")))
    service = world.service
    setup_s = time.perf_counter() - began
    ids = [
        service.submit(demo_order(world, f"bench-{n}", units=1, usd_cents=1_000 + n)).terms.swap_id
        for n in range(swaps)
    ]
    requests_before = world.evm.stats.requests
    round_before = world.ledger.last_round
    started = time.perf_counter()
    ticks = 0
    open_ids = set(ids)
    while open_ids and ticks < 50 * swaps + 100:
        service.tick()
        ticks += 1
        open_ids = {i for i in open_ids if service.store.get(i).outcome.value == "open"}
        console.print(f"tick {ticks}: {swaps - len(open_ids)}/{swaps} swaps ended")
    elapsed = time.perf_counter() - started
    outcomes = [service.store.get(i).outcome.value for i in ids]
    registry = service.metrics.registry
    stages: dict[str, dict[str, float]] = {}
    for stage in STAGES:
        count = registry.get_sample_value("stbridge_swap_stage_seconds_count", {"stage": stage})
        total = registry.get_sample_value("stbridge_swap_stage_seconds_sum", {"stage": stage})
        if count:
            stages[stage] = {"count": count, "mean_s": (total or 0.0) / count}
    return {
        "swaps": swaps,
        "completed": outcomes.count("completed"),
        "outcomes": {o: outcomes.count(o) for o in sorted(set(outcomes))},
        "setup_seconds": round(setup_s, 2),
        "seconds": round(elapsed, 2),
        "swaps_per_minute": round(60 * swaps / elapsed, 1),
        "ticks": ticks,
        "evm_requests_per_swap": round((world.evm.stats.requests - requests_before) / swaps, 1),
        "algorand_rounds_per_swap": round((world.ledger.last_round - round_before) / swaps, 2),
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
