"""``stbridge compliance ...``: judge a trade, list the rules.

Mounted under ``stbridge`` through the ``stbridge.cli`` entry point
(``compliance = "bridge.compliance.cli:app"``).

``check`` exit codes: 0 allow, 1 deny, 2 needs information, 3 bad input (an unreadable
or invalid trade file, a bad date, a malformed rules or sanctions file), each bad input
reported as one line on stderr, never a traceback.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from rich.text import Text

from bridge.compliance.engine import Engine
from bridge.compliance.loader import (
    RuleBook,
    default_rules_dir,
    default_sanctions_file,
    load_rules,
)
from bridge.compliance.model import Decision, Trade
from bridge.compliance.sanctions import load_sanctions
from bridge.errors import ConfigError
from bridge.validation import describe

__all__ = ["EXIT_CODES", "app", "render_decision"]

EXIT_CODES = {"allow": 0, "deny": 1, "needs_information": 2}
"""Exit code of ``check`` per outcome; bad input exits 3."""
BAD_INPUT = 3

app = typer.Typer(
    help=(
        "Check trades against the securities law of both sides, the cash leg's rules, a "
        "sanctions list and the token's own rules. Rules are data in specs/jurisdictions/."
    ),
    no_args_is_help=True,
)

RulesOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--rules",
        metavar="PATH",
        help=(
            "Extra rule file or directory of *.json rule files, loaded after the shipped "
            "rules (later files win; every override is listed in the decision). Repeatable."
        ),
    ),
]
NoDefaultsOpt = Annotated[
    bool,
    typer.Option(
        "--no-default-rules",
        help="Do not load the shipped specs/jurisdictions; use only the --rules given.",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(BAD_INPUT)


def _rulebook(rules: list[Path] | None, no_defaults: bool) -> RuleBook:
    sources = ([] if no_defaults else [default_rules_dir()]) + list(rules or [])
    if not sources:
        raise ConfigError("--rules: no rules to load (give --rules with --no-default-rules)")
    return load_rules(sources)


def _parse_at(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)  # the CLI is the edge where the clock is read
    try:
        if len(text) == 10:
            d = date.fromisoformat(text)
            return datetime(d.year, d.month, d.day, tzinfo=UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _fail(f"--at: {text!r} is not an ISO date (2026-03-01) or datetime") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _read_trade(path: Path) -> Trade:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise _fail(f"{path}: cannot read ({exc.strerror})") from None
    except json.JSONDecodeError as exc:
        raise _fail(f"{path}: line {exc.lineno} column {exc.colno}: not valid JSON") from None
    try:
        return Trade.model_validate(data)
    except ValidationError as exc:
        raise _fail(f"{path}: {describe(exc)}") from None


def render_decision(decision: Decision, console: Console) -> None:
    """Print a decision for people: the outcome, then each reason with its citation."""
    style = {"allow": "bold green", "deny": "bold red", "needs_information": "bold yellow"}
    console.print(
        Text(f"{decision.outcome.upper().replace('_', ' ')}", style=style[decision.outcome]),
        Text(f"  trade {decision.trade_id} at {decision.at.isoformat()}"),
    )
    console.print(f"jurisdictions: {', '.join(decision.jurisdictions) or '-'}")
    if decision.reasons:
        table = Table(show_lines=True)
        for column in ("effect", "code", "rule", "why", "citation"):
            table.add_column(column, overflow="fold")
        for r in decision.reasons:
            where = r.jurisdiction or r.origin
            why = r.explanation
            if r.verification != "verified":
                why += f" [{r.verification}]"
            table.add_row(r.effect, r.code.value, f"{r.rule_id} ({where})", why, str(r.citation))
        console.print(table)
    for o in decision.obligations:
        console.print(f"obligation: {o.rule_id}: {o.explanation} ({o.citation})")
    for ov in decision.overrides:
        console.print(f"override: {ov.rule_id} {ov.action} by {ov.file}")
    console.print(f"{len(decision.rules_evaluated)} rules evaluated")


@app.command()
def check(
    trade_file: Annotated[
        Path, typer.Argument(metavar="TRADE.json", help="The trade, as JSON (schema: trade).")
    ],
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            metavar="ISO-DATE",
            help="Judge the trade at this date (UTC) or datetime; default: now.",
        ),
    ] = None,
    rules: RulesOpt = None,
    no_default_rules: NoDefaultsOpt = False,
    sanctions: Annotated[
        list[Path] | None,
        typer.Option(
            "--sanctions",
            metavar="FILE",
            help=(
                "Sanctions list file (CSV, see specs/sanctions/README.md). Repeatable. "
                "Default: the fictional demo list specs/sanctions/sample.csv."
            ),
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Judge TRADE.json: exit 0 allow, 1 deny, 2 needs information, 3 bad input.

    Every reason names its canonical code, the rule id, the jurisdiction, the legal
    citation and a one-line explanation.
    """
    moment = _parse_at(at)
    trade = _read_trade(trade_file)
    try:
        book = _rulebook(rules, no_default_rules)
        lists = load_sanctions(sanctions or [default_sanctions_file()])
    except ConfigError as exc:
        raise _fail(str(exc)) from None
    decision = Engine(book, lists).evaluate(trade, moment)
    if as_json:
        typer.echo(decision.model_dump_json(indent=2))
    else:
        render_decision(decision, Console(soft_wrap=False, width=160))
    raise typer.Exit(EXIT_CODES[decision.outcome])


_ALIASES = {"UK": "GB"}


@app.command("rules")
def list_rules(
    jurisdiction: Annotated[
        str | None,
        typer.Option(
            "--jurisdiction",
            "-j",
            metavar="CODE",
            help="Only this jurisdiction (JP, US, EU, SG, CH, HK, GB; a member state, e.g. DE, "
            "shows the EU rules; UK means GB).",
        ),
    ] = None,
    rules: RulesOpt = None,
    no_default_rules: NoDefaultsOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """List the loaded rules with their citations, dates and verification status."""
    try:
        book = _rulebook(rules, no_default_rules)
    except ConfigError as exc:
        raise _fail(str(exc)) from None
    selected = book.all_rules()
    if jurisdiction is not None:
        code = book.resolve(_ALIASES.get(jurisdiction.upper(), jurisdiction.upper()))
        if code is None:
            raise _fail(f"--jurisdiction: no rules are loaded for {jurisdiction!r}")
        selected = [r for r in selected if r.jurisdiction == code]
    if as_json:
        out: list[dict[str, Any]] = [
            {
                "jurisdiction": r.jurisdiction,
                "file": r.file,
                **r.rule.model_dump(mode="json", include=_LISTED),
            }
            for r in selected
        ]
        typer.echo(json.dumps(out, indent=2, ensure_ascii=False))
        return
    table = Table(title=f"{len(selected)} rules")
    for column in ("rule", "jur", "effect", "citation", "in force", "verification"):
        table.add_column(column, overflow="fold")
    for r in selected:
        rule = r.rule
        dates = f"{rule.effective_from or '…'} – {rule.effective_to or '…'}"
        table.add_row(
            f"{rule.id}\n{rule.title}",
            r.jurisdiction,
            f"{rule.effect}: {rule.code.value}",
            str(rule.citation),
            dates,
            rule.verification + (f"\n{rule.note}" if rule.note else ""),
        )
    Console(width=180).print(table)


_LISTED = {
    "id",
    "title",
    "category",
    "effect",
    "code",
    "citation",
    "effective_from",
    "effective_to",
    "verification",
    "note",
}
