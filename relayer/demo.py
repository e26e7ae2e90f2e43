"""``stbridge demo``: the main job on the embedded chains, with nothing to set up.

What it does today: deploys a real T-REX (ERC-3643) security token through the T-REX
factory on an in-process py-evm chain (investors in Japan, Singapore and the United States,
a country allow list of JP and SG, and a per-investor balance cap), reads it back through
the ERC-3643 adapter into the canonical model (rules with their parameters, holders), and
dry-runs transfers that the token allows and refuses, each with its canonical reason, then
sends them to show that the chain agrees. The cross-chain settlement through the relayer
extends this once the relayer lands.

T-REX bytecode comes from ``node_modules`` (``npm ci``), so run it from a checkout after
``make demo`` (which installs everything) or ``make setup``.
"""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from adapters.cli import print_result
from bridge.errors import BridgeError

__all__ = ["app", "run_demo"]

app = typer.Typer(help="Run the demo on the embedded chains.", invoke_without_command=True)


@app.callback()
def demo(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON summary instead of tables.")
    ] = False,
) -> None:
    """Deploy a real T-REX token on embedded py-evm, read it canonically, check transfers."""
    summary = run_demo(console=None if as_json else Console(width=120))
    if as_json:
        typer.echo(json.dumps(summary, indent=2))


def run_demo(console: Console | None) -> dict[str, Any]:
    """Run the demo; print progress to ``console`` if given; return a JSON-able summary."""
    from adapters.evm.client import EvmClient
    from adapters.evm.erc3643 import Erc3643Adapter
    from adapters.evm.inspect import inspect_client
    from adapters.evm.trex_deploy import deploy_demo_suite

    def say(text: str) -> None:
        if console is not None:
            console.print(text)

    started = time.monotonic()
    say("[bold]1. An embedded EVM chain (py-evm, in process)[/bold]")
    client = EvmClient.embedded()
    say(f"   chain id {client.chain_id}, head block {client.head()}")
    say("[bold]2. A Japanese real-estate security token on the real T-REX contracts[/bold]")
    suite = deploy_demo_suite(
        client,
        mint={"alice": 450, "bob": 300, "dave": 100},
        max_balance=500,
        name="Tokyo Office Trust",
    )
    say(f"   token {suite.token} (factory path, {len(suite.modules)} compliance modules)")
    say("[bold]3. Read back through the ERC-3643 adapter into the canonical model[/bold]")
    result = inspect_client(client, address=suite.token, standard="erc3643", holders=True)
    if console is not None:
        print_result(result, as_json=False)
    adapter = Erc3643Adapter(client)
    ref = result.asset.ref
    cases = [
        ("alice (JP) -> bob (SG), 100", "alice", "bob", 100),
        ("alice (JP) -> carol (US), 10", "alice", "carol", 10),
        ("alice (JP) -> bob (SG), 150: over the 500 cap", "alice", "bob", 150),
        ("alice (JP) -> mallory (no identity), 5", "alice", "mallory", 5),
    ]
    say("[bold]4. Dry-run transfers, then send them: prediction against the chain[/bold]")
    table = Table()
    for col in ("transfer", "dry run", "canonical reason", "T-REX said", "chain"):
        table.add_column(col)
    checks = []
    for label, src, dst, amount in cases:
        sender, recipient = suite.investor(src), suite.investor(dst)
        intent = adapter.intent(ref, sender.address, recipient.address, amount)
        check = adapter.check_transfer(intent)
        try:
            adapter.transfer(intent, sender.signer)
            outcome = "transferred"
        except BridgeError as exc:
            outcome = f"reverted: {getattr(exc, 'raw_message', None) or exc}"
        first = check.refusals[0] if check.refusals else None
        table.add_row(
            label,
            "allowed" if check.allowed else "refused",
            check.reason.value,
            (first.raw_message or "-") if first else "-",
            outcome,
        )
        checks.append(
            {
                "transfer": label,
                "allowed": check.allowed,
                "reason": check.reason.value,
                "chain": outcome,
            }
        )
    if console is not None:
        console.print(table)
    elapsed = time.monotonic() - started
    say(f"done in {elapsed:.1f} s")
    return {
        "asset": result.asset.model_dump(mode="json"),
        "holders": len(result.holdings),
        "checks": checks,
        "seconds": round(elapsed, 1),
    }
