"""``stbridge interop-test``: the adversarial interop suite as a command (see README, "For
researchers")."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from bridge.errors import InvalidInput
from relayer.interop.names import ACTORS, MUTATION_NAMES

if TYPE_CHECKING:
    from relayer.interop.report import RunReport

__all__ = ["app"]

app = typer.Typer(
    help="Run the adversarial interop suite on real chains (the security on EVM, the cash on "
    "a second EVM chain or the embedded Algorand ledger) through the real relayer.",
    invoke_without_command=True,
)


_SECURITY_ADAPTERS = {"erc3643": "trex", "erc1400": "erc1400"}
"""The security adapters the suite drives, by standard, and the ``--security`` each is."""
_CASH_ADAPTERS = {"erc20": "evm-evm", "asa": "evm-algorand"}
"""The cash adapters the suite drives, by standard, and the ``--chains`` each is."""


def _resolve_adapters(
    adapters: str | None, security: str | None, chains: str | None
) -> tuple[str, str]:
    """The ``(security, chains)`` a run uses: from ``--adapters`` when given (refused if it
    names other than an explicit ``--security`` or ``--chains``), else those two options."""
    if adapters is None:
        return security or "trex", chains or "evm-evm"
    names = [a.strip().lower() for a in adapters.split(",") if a.strip()]
    if len(names) != 2:
        raise InvalidInput(
            "adapters", "must name two adapters: the security's, then the cash's", value=adapters
        )
    sec_name, cash_name = names
    if sec_name not in _SECURITY_ADAPTERS:
        raise InvalidInput(
            "adapters",
            f"the security's adapter must be one of {', '.join(_SECURITY_ADAPTERS)}",
            value=sec_name,
        )
    if cash_name not in _CASH_ADAPTERS:
        raise InvalidInput(
            "adapters",
            f"the cash's adapter must be one of {', '.join(_CASH_ADAPTERS)}",
            value=cash_name,
        )
    wanted = (_SECURITY_ADAPTERS[sec_name], _CASH_ADAPTERS[cash_name])
    for option, given, want in (("security", security, wanted[0]), ("chains", chains, wanted[1])):
        if given is not None and given != want:
            raise InvalidInput(
                "adapters",
                f"names --{option} {want} but --{option} {given} was given",
                value=adapters,
            )
    return wanted


@app.callback()
def interop_test(
    profile: Annotated[
        str,
        typer.Option(help="ci: one small batch (about a minute); thorough: batches for --minutes."),
    ] = "ci",
    seed: Annotated[int, typer.Option(help="Seed of the first batch (batch i uses seed + i).")] = 0,
    minutes: Annotated[
        float | None, typer.Option(help="Time budget (default: 2 for ci, 30 for thorough).")
    ] = None,
    actors: Annotated[
        str,
        typer.Option(help=f"Comma-separated actors to run (default: all of {','.join(ACTORS)})."),
    ] = ",".join(ACTORS),
    sec_backend: Annotated[
        str, typer.Option(help="The security chain: anvil (fast) or pyevm (in process).")
    ] = "anvil",
    chains: Annotated[
        str | None,
        typer.Option(
            help="Where the two legs run: evm-evm (the cash on a second anvil chain) or "
            "evm-algorand (the cash, a USD stablecoin ASA, on the embedded Algorand ledger: "
            "decoy escrows of other templates, issuer clawback of an escrow, a restart past "
            "the look-back). Ignored with --mutation (each mutation has its chains). "
            "[default: evm-evm]"
        ),
    ] = None,
    security: Annotated[
        str | None,
        typer.Option(
            help="The orders' security: trex (an ERC-3643 token) or erc1400 (a partitioned "
            "ERC-1400 token: plain orders and orders of class A or B, with the seller's lock "
            "of the other class, a third party's class-B look-alikes and the controller's "
            "forced transfers out of the HTLC; needs --sec-backend anvil). Ignored with "
            "--mutation (each mutation has its security). [default: trex]"
        ),
    ] = None,
    adapters: Annotated[
        str | None,
        typer.Option(
            help="The adapters the orders go through, by standard: the security's, then the "
            f"cash's ({'|'.join(_SECURITY_ADAPTERS)},{'|'.join(_CASH_ADAPTERS)}; e.g. "
            "erc1400,asa). The same as --security and --chains: erc3643 is --security trex, "
            "asa is --chains evm-algorand."
        ),
    ] = None,
    report: Annotated[Path | None, typer.Option(help="Write the JSON report here.")] = None,
    replay_from: Annotated[
        Path | None,
        typer.Option("--replay", help="Run the failures of this report again from their seeds."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the JSON report, no progress.")
    ] = False,
    mutation: Annotated[
        str | None,
        typer.Option(
            help="Re-introduce one safety bug in memory and run its targeted search "
            f"(one of: {', '.join(MUTATION_NAMES)}); exit 1 means the suite caught it."
        ),
    ] = None,
    store: Annotated[
        str, typer.Option(help="The relayer's store: sqlite (a file per example) or postgres.")
    ] = "sqlite",
    shrink: Annotated[
        bool,
        typer.Option(
            help="Shrink a failure to a minimal example (--no-shrink: report it as found, "
            "which times the search alone)."
        ),
    ] = True,
    pg_dsn: Annotated[
        str | None,
        typer.Option(
            envvar="STBRIDGE_TEST_PG",
            help="PostgreSQL DSN for --store postgres (a fresh schema per example).",
        ),
    ] = None,
) -> None:
    """Search for a counterexample to the suite's invariants; exit 1 if one is found
    (with --replay: exit 1 if a recorded failure still reproduces)."""
    if profile not in ("ci", "thorough"):
        raise InvalidInput("profile", "must be ci or thorough", value=profile)
    if minutes is not None and minutes <= 0:
        raise InvalidInput("minutes", "must be > 0", value=minutes)
    security, chains = _resolve_adapters(adapters, security, chains)
    console = Console(quiet=as_json, stderr=True)
    # hypothesis and the chains: not for --help
    from relayer.interop.report import mutation_config, replay, run

    def show(r: RunReport) -> None:
        console.print(
            f"[bold]batch {r.batches}[/] (seed {r.batch_seed}): "
            f"examples {r.examples}, steps {r.steps}, invariants checked {r.invariants_checked}, "
            f"{r.elapsed_s:.0f} s, failures {len(r.failures)}"
        )

    if replay_from is not None:
        console.print(f"replaying the failures of {replay_from}")
        result = replay(replay_from, progress=show)
    else:
        if mutation is not None:
            target = mutation_config(mutation)
            chains, sec_backend = target.chains, target.sec_backend
            security = target.security
        console.print(
            f"interop-test: profile {profile}, seed {seed}, actors {actors}, "
            f"chains {chains}, security {security} on {sec_backend}, store {store}"
            + (f", mutation {mutation}" if mutation else "")
        )
        result = run(
            profile=profile,  # type: ignore[arg-type]
            seed_value=seed,
            minutes=minutes,
            actors=[a.strip() for a in actors.split(",") if a.strip()],
            sec_backend=sec_backend,
            progress=show,
            mutation=mutation,
            store=store,
            pg_dsn=pg_dsn,
            shrink=shrink,
            chains=chains,
            security=security,
        )
    body = result.to_json()
    if report is not None:
        report.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
    if as_json:
        typer.echo(json.dumps(body, indent=2))
    else:
        verdict = "PASSED" if result.passed else "FAILED"
        console.print(
            f"[bold]{verdict}[/]: {result.examples} examples, {result.steps} steps, "
            f"{result.invariants_checked} invariants checked in {result.elapsed_s:.0f} s"
        )
        if result.rules:
            ran = ", ".join(f"{name} {count}" for name, count in result.rules.items())
            console.print(f"rules run: {ran}", markup=False, highlight=False)
        if result.steps:
            share = 100 * result.relayer_ticks / result.steps
            console.print(
                f"relayer ticks during the steps: {result.relayer_ticks} ({share:.0f} % of steps)"
            )
        for failure in result.failures:
            console.print(f"  seed {failure['seed']}: {failure['message']}")
            for line in failure["example"]:
                console.print(f"    {line}", markup=False, highlight=False)
        if report is not None:
            console.print(f"report written to {report}")
    if not result.passed:
        raise typer.Exit(1)
