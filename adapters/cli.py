"""``stbridge asset ...``: read a token on any supported chain into the canonical model.

Mounted under ``stbridge`` through the ``stbridge.cli`` entry point (like any plugin).
The EVM and Algorand readers are imported only when their chain is asked for.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bridge.errors import InvalidInput

if TYPE_CHECKING:  # imported where used: `stbridge asset --help` stays fast
    from rich.console import Console

    from adapters.base import InspectResult
    from bridge.model import Asset, Holding

__all__ = ["app", "render_asset", "render_holdings"]

app = typer.Typer(
    help="Read security and cash tokens into the canonical model.", no_args_is_help=True
)


def standards(family: str) -> tuple[str, ...]:
    """``auto`` and every installed adapter's standard for ``family`` (CLI spelling: ``-``).

    Read from the adapter registry, so a third-party adapter's standard is offered as soon
    as its package is installed.
    """
    from bridge.registry import load_registry

    found = (s.standard.value.replace("_", "-") for s in load_registry().for_family(family))
    return ("auto", *found)


def _rule_params(rule: Any) -> str:
    data = rule.model_dump(mode="json", exclude={"kind", "source"}, exclude_none=True)
    return ", ".join(f"{k}={v}" for k, v in data.items()) or "-"


def render_asset(asset: Asset, console: Console) -> None:
    """Print the asset, its rules with parameters and its controls as tables."""
    from rich.table import Table

    table = Table(title=f"{asset.name} ({asset.symbol})", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    loc = asset.locator
    where = loc.address if loc.kind == "evm_contract" else f"ASA {loc.asset_id} (app {loc.app_id})"
    chain = (
        f"EVM chain {asset.chain.chain_id}"
        if asset.chain.kind == "evm"
        else f"Algorand {asset.chain.network or asset.chain.genesis_hash}"
    )
    rows = [
        ("standard", asset.standard.value),
        ("chain", chain),
        ("locator", where),
        ("class", asset.asset_class),
        ("decimals", str(asset.decimals)),
        ("total supply", f"{asset.total_supply} base units"),
        ("paused", str(asset.paused)),
        ("transferable", str(asset.transferable)),
        ("home jurisdiction", asset.home_jurisdiction or "-"),
        ("terms", asset.terms.kind if asset.terms else "-"),
        ("controls", ", ".join(c.value for c in asset.controls) or "-"),
    ]
    rows += [(f"role {r.role}", r.holder) for r in asset.roles]
    rows += [(f"document {d.name}", d.uri) for d in asset.documents]
    for key, value in rows:
        table.add_row(key, value)
    console.print(table)
    rules = Table(title="rules enforced by the token")
    rules.add_column("kind")
    rules.add_column("parameters")
    rules.add_column("source")
    for rule in asset.rules:
        rules.add_row(rule.kind, _rule_params(rule), rule.source or "-")
    if not asset.rules:
        rules.add_row("-", "none", "-")
    console.print(rules)


def render_holdings(holdings: tuple[Holding, ...], console: Console) -> None:
    """Print one row per holder: balance, free, frozen, locked, pending."""
    from rich.table import Table

    table = Table(title=f"holders ({len(holdings)})")
    for col in ("holder", "balance", "free", "frozen", "locked", "pending"):
        table.add_column(col, justify="left" if col == "holder" else "right")
    for h in holdings:
        table.add_row(
            h.holder,
            str(h.balance),
            str(h.free),
            str(h.frozen),
            str(h.total_locked),
            str(h.pending),
        )
    console.print(table)


def _run_with_progress(show: bool, fn: Any, **kwargs: Any) -> InspectResult:
    if not show:
        return fn(**kwargs)  # type: ignore[no-any-return]
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(
        TextColumn("scanning holders"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("scan", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return fn(progress=progress, **kwargs)  # type: ignore[no-any-return]


@app.command()
def inspect(
    rpc: Annotated[
        str | None,
        typer.Option(help="EVM JSON-RPC URL (a devnet's: $DEVNET_EVM_URL after `devnet up`)."),
    ] = None,
    address: Annotated[str | None, typer.Option(help="Token contract address (0x...).")] = None,
    algod: Annotated[
        str | None, typer.Option(help="algod URL, or 'embedded' for the embedded ledger.")
    ] = None,
    asset_id: Annotated[int | None, typer.Option(help="Algorand asset id.")] = None,
    standard: Annotated[
        str,
        typer.Option(
            help=(
                "Standard to read as: 'auto' (detected) or any installed adapter's, e.g. "
                "erc3643, erc1400, ibet-bond (EVM), regulated-asa, asa (Algorand); "
                "`stbridge asset standards` lists them."
            )
        ),
    ] = "auto",
    holders: Annotated[
        bool, typer.Option("--holders", help="Also scan every holder (from events, batched).")
    ] = False,
    from_block: Annotated[
        int,
        typer.Option(
            "--from-block",
            min=0,
            help="EVM: scan the token's events from this block (its deployment block) "
            "instead of block 0.",
        ),
    ] = 0,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the canonical JSON instead of tables.")
    ] = False,
) -> None:
    """Print the canonical asset: identity, state, rules with parameters, controls, holders.

    Examples:

      stbridge asset inspect --rpc http://127.0.0.1:8545 --address 0xAbC... --holders

      stbridge asset inspect --rpc $RPC --address 0xAbC... --holders --from-block 1200000

      stbridge asset inspect --algod embedded --asset-id 1001 --json
    """
    if (rpc is None) == (algod is None):
        raise InvalidInput(
            "--rpc/--algod", "give exactly one chain: --rpc for EVM, --algod for Algorand"
        )
    show_progress = holders and not as_json and sys.stderr.isatty()
    if rpc is not None:
        if address is None:
            raise InvalidInput("--address", "required with --rpc")
        if rpc == "embedded":
            raise InvalidInput(
                "--rpc",
                "'embedded' would be a fresh, empty py-evm chain inside this command: there is "
                "no token to read; run `stbridge devnet up` and give its URL ($DEVNET_EVM_URL)",
            )
        known = standards("evm")
        if standard not in known:
            raise InvalidInput("--standard", f"one of {', '.join(known)} for an EVM chain")
        from adapters.evm.inspect import inspect_evm

        result = _run_with_progress(
            show_progress,
            inspect_evm,
            rpc=rpc,
            address=address,
            standard=standard.replace("-", "_"),
            holders=holders,
            from_block=from_block,
        )
    else:
        if asset_id is None:
            raise InvalidInput("--asset-id", "required with --algod")
        known = standards("algorand")
        if standard not in known:
            raise InvalidInput("--standard", f"one of {', '.join(known)} for Algorand")
        from adapters.algorand.inspect import inspect_algorand

        result = _run_with_progress(
            show_progress,
            inspect_algorand,
            algod=algod,
            asset_id=asset_id,
            standard=standard.replace("-", "_"),
            holders=holders,
        )
    print_result(result, as_json=as_json)


@app.command("standards")
def list_standards(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """List the installed adapters: standard, chain family, capabilities (third-party
    adapters included: they register through the `stbridge.adapters` entry points)."""
    from bridge.registry import load_registry

    rows = [
        {
            "standard": spec.standard.value,
            "family": spec.family,
            "capabilities": sorted(c.value for c in spec.capabilities),
            "summary": spec.summary,
        }
        for spec in load_registry()
    ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        typer.echo(f"{row['standard']:16} {row['family']:9} {row['summary']}")


def print_result(result: InspectResult, *, as_json: bool) -> None:
    """Print an inspection as canonical JSON or as tables (stats go to stderr)."""
    if as_json:
        doc = {
            "asset": result.asset.model_dump(mode="json"),
            "holdings": [h.model_dump(mode="json") for h in result.holdings],
            "stats": result.stats,
        }
        typer.echo(json.dumps(doc, indent=2))
        return
    from rich.console import Console

    console = Console()
    render_asset(result.asset, console)
    if result.holdings:
        render_holdings(result.holdings, console)
    if result.stats:
        Console(stderr=True).print(
            "read stats: " + ", ".join(f"{k}={v}" for k, v in sorted(result.stats.items()))
        )
