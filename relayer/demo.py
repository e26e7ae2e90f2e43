"""``stbridge demo``: a cross-border trade on the embedded chains, with nothing to set up.

A Japanese real-estate security token (ERC-3643, the real T-REX contracts, on an in-process
py-evm chain) is sold to an accredited investor resident in Singapore, who pays with a USD
stablecoin ASA on an embedded Algorand ledger (the real go-algorand evaluator). The demo:

1. builds both chains and reads both tokens into the canonical model;
2. starts the relayer in process (HTTP API on a free 127.0.0.1 port) and submits the order
   through the API;
3. shows each step as it happens: the compliance decision with its citations, lock, lock,
   claim, claim, with transaction ids, and the balances before and after;
4. then a buyer who is not eligible (a US resident): refused with reasons, nothing locked;
5. then a buyer who never locks: the seller is refunded at the deadline;
6. and ends with a one-screen summary.

T-REX bytecode comes from ``node_modules`` (``npm ci``): run it after ``make demo`` (which
installs everything) from a checkout.
"""

from __future__ import annotations

import json
import secrets
import socket
import threading
import time
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:  # imported where used: `stbridge demo --help` stays fast
    from rich.console import Console

__all__ = ["app", "run_demo"]

app = typer.Typer(help="Run the demo on the embedded chains.", invoke_without_command=True)


@app.callback()
def demo(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON summary instead of the story.")
    ] = False,
    two_platforms: Annotated[
        bool,
        typer.Option(
            "--two-platforms",
            help=(
                "A JP and an SG relayer, as two processes with their own keys, settle over "
                "SATP; SG is killed and restarted mid-swap; then JP goes unreachable and both "
                "sides are refunded (relayer/satp/demo.py)."
            ),
        ),
    ] = False,
) -> None:
    """A cross-border DvP on embedded chains: T-REX on py-evm against a USD ASA on Algorand."""
    from rich.console import Console

    if two_platforms:
        from relayer.satp.demo import run_two_platforms

        result = run_two_platforms((lambda _: None) if as_json else typer.echo)
        if as_json:
            typer.echo(json.dumps(result, indent=2))
        return

    summary = run_demo(Console(width=110, quiet=as_json))
    if as_json:
        typer.echo(json.dumps(summary, indent=2))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Api:
    """The relayer's API served by uvicorn in a thread, and an httpx client for it."""

    def __init__(self, service: Any) -> None:
        import httpx
        import uvicorn

        from relayer.api import create_app

        self.token = secrets.token_hex(16)
        self.port = _free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(
                create_app(service, token=self.token),
                host="127.0.0.1",
                port=self.port,
                log_config=None,
                log_level="warning",
                lifespan="off",
            )
        )
        self.thread = threading.Thread(target=self.server.run, name="demo-api", daemon=True)
        self.client = httpx.Client(
            base_url=f"http://127.0.0.1:{self.port}",
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30,
        )

    def __enter__(self) -> _Api:
        import httpx

        self.thread.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if self.client.get("/healthz").status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError("the demo relayer API did not start")

    def __exit__(self, *exc: object) -> None:
        self.client.close()
        self.server.should_exit = True
        self.thread.join(timeout=10)


def _describe(entry: dict[str, Any], world: Any) -> str | None:
    change = entry["input"]
    kind = change["kind"]
    leg = {"initiator": "security leg (EVM)", "participant": "cash leg (Algorand)"}
    if kind == "compliance_decided":
        return "compliance: " + ("[green]ALLOW[/green]" if change["allowed"] else "[red]DENY[/red]")
    if kind == "lock_observed":
        units = f"{change['amount']:,}"
        return f"locked   {leg[change['role']]}: {units} units, lock {_short(change['lock_id'])}"
    if kind == "claim_recheck":
        return "re-check of both claims before revealing the secret: " + (
            "passed" if change["allowed"] else "FAILED"
        )
    if kind == "claim_observed":
        return f"claimed  {leg[change['role']]}, lock {_short(change['tx_id'])}"
    if kind == "refund_observed":
        return f"refunded {leg[change['role']]}, lock {_short(change['tx_id'])}"
    return None


def _short(value: str) -> str:
    return value if len(value) <= 20 else f"{value[:10]}…{value[-6:]}"


def _follow(world: Any, swap_id: str, say: Any, *, ticks: int = 15, seen: int = 0) -> int:
    """Tick and print the swap's new steps until it ends; return how many inputs were shown."""
    from bridge.swap import Outcome

    for _ in range(ticks):
        world.service.tick()
        log = world.service.store.input_log(swap_id)
        for entry in log[seen:]:
            line = _describe(entry, world)
            if line:
                say(f"   {line}")
            if entry["input"]["kind"] == "compliance_decided":
                _explain_decision(world, swap_id, say)
        seen = len(log)
        if world.service.store.get(swap_id).outcome is not Outcome.OPEN:
            break
    return seen


def _outcome(world: Any, swap_id: str) -> str:
    return str(world.service.store.get(swap_id).outcome.value)


def _explain_decision(world: Any, swap_id: str, say: Any) -> None:
    record = world.service.audit(swap_id)["decision"] or {}
    decision = record.get("decision") or {}
    if decision:
        say(
            f"      jurisdictions {', '.join(decision.get('jurisdictions', []))}; "
            f"{len(decision.get('rules_evaluated', []))} rules evaluated"
        )
        for ob in decision.get("obligations", [])[:2]:
            say(f"      obligation {ob.get('rule_id')}: {ob.get('explanation', '')[:60]}…")
    for refusal in record.get("refusals", []):
        say(
            f"      [red]{refusal['code']}[/red] {refusal.get('raw_code') or ''}: "
            f"{refusal['detail'][:120]}"
        )


def run_demo(console: Console) -> dict[str, Any]:
    """Run the three trades; print the story to ``console``; return a JSON-able summary."""
    from rich.table import Table

    from adapters.cli import render_asset
    from relayer.embedded import build_world, demo_order

    say = console.print
    started = time.monotonic()
    say("[bold]1. Two embedded chains[/bold]: py-evm, and Algorand on the go-algorand evaluator")
    world = build_world()
    say(f"   built in {time.monotonic() - started:.1f} s")
    from adapters.algorand.asa import AsaAdapter
    from adapters.algorand.chain import AlgodChain
    from adapters.evm.erc3643 import Erc3643Adapter

    render_asset(Erc3643Adapter(world.evm).read_asset(world.token_ref), console)
    render_asset(AsaAdapter(AlgodChain(world.algod)).read_asset(world.usd_ref), console)

    outcomes: dict[str, str] = {}
    with _Api(world.service) as api:
        say(f"[bold]2. The relayer in process[/bold], API on 127.0.0.1:{api.port}")

        def balances() -> dict[str, int]:
            return {
                "alice TOT": world.token_balance("alice"),
                "bob TOT": world.token_balance("bob"),
                "alice USD cents": world.usd_balance("alice"),
                "bob USD cents": world.usd_balance("bob"),
            }

        before = balances()
        say("[bold]3. alice (JP) sells 250 TOT to bob (SG, accredited) for 250,000 USD[/bold]")
        order = demo_order(world, "demo-jp-sg-1", units=250, usd_cents=25_000_000)
        created = api.client.post("/swaps", json=order.model_dump(mode="json"))
        created.raise_for_status()
        swap_id = created.json()["swap_id"]
        say(f"   submitted through the API: swap {swap_id}")
        _follow(world, swap_id, say)
        outcomes["settle"] = _outcome(world, swap_id)
        after = balances()
        table = Table(title="balances")
        for col in ("", "before", "after"):
            table.add_column(col, justify="right")
        for key in before:
            table.add_row(key, f"{before[key]:,}", f"{after[key]:,}")
        console.print(table)

        say("[bold]4. alice offers 10 TOT to carol (US resident)[/bold]")
        refused = demo_order(world, "demo-jp-us-1", buyer="carol", units=10, usd_cents=1_000)
        swap_id = api.client.post("/swaps", json=refused.model_dump(mode="json")).json()["swap_id"]
        _follow(world, swap_id, say)
        outcomes["refuse"] = _outcome(world, swap_id)
        hashlock = bytes.fromhex(world.service.store.get(swap_id).terms.hashlock[2:])
        say(f"   locks on chain for this swap: {len(world.evm_htlc.find(hashlock))}")

        say("[bold]5. alice sells 100 TOT to bob, but bob's cash never arrives[/bold]")
        keys = world.service.chains["algorand"].signers
        world.service.chains["algorand"].signers = {}
        try:
            stalled = demo_order(world, "demo-jp-sg-2", units=100, usd_cents=10_000_000)
            swap_id = api.client.post("/swaps", json=stalled.model_dump(mode="json")).json()[
                "swap_id"
            ]
            shown = _follow(world, swap_id, say, ticks=3)
            say("   ... both chains move two hours on: past the seller's deadline")
            world.jump(2 * 3600)
            _follow(world, swap_id, say, seen=shown)
            outcomes["refund"] = _outcome(world, swap_id)
        finally:
            world.service.chains["algorand"].signers = keys
    elapsed = time.monotonic() - started
    summary = Table(title="summary")
    summary.add_column("trade")
    summary.add_column("outcome")
    summary.add_row("JP seller -> SG accredited buyer, paid in USD on Algorand", outcomes["settle"])
    summary.add_row("JP seller -> US buyer (token allows JP, SG only)", outcomes["refuse"])
    summary.add_row("JP seller -> SG buyer who never pays", outcomes["refund"])
    console.print(summary)
    say(f"done in {elapsed:.1f} s")
    world.service.store.close()
    return {
        "outcomes": outcomes,
        "balances_before": before,
        "balances_after": after,
        "seconds": round(elapsed, 1),
    }
