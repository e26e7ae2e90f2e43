"""``stbridge compliance ...``: judge a trade, list the rules.

Mounted under ``stbridge`` through the ``stbridge.cli`` entry point
(``compliance = "bridge.compliance.cli:app"``).

``check`` exit codes: 0 allow, 1 deny, 2 needs information, 3 bad input (an unreadable
or invalid trade file, a bad date, a malformed rules or sanctions file), each bad input
reported as one line on stderr, never a traceback; with ``--json`` the bad input is a
JSON document on stdout instead (``{"error": {"field", "rule", "message", ...}}``), so a
script reads every outcome from stdout. ``check --batch trades.jsonl`` judges a whole
book (one trade per line) and exits with the most severe outcome.
"""

from __future__ import annotations

import json
import time
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
from bridge.compliance.model import Decision, Outcome, Trade
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


def _fail(
    message: str,
    *,
    field: str = "(input)",
    rule: str = "invalid",
    as_json: bool = False,
    **where: object,
) -> typer.Exit:
    """Report bad input (stderr line, or a JSON error on stdout) and exit 3."""
    if as_json:
        error: dict[str, object] = {"field": field, "rule": rule, "message": message}
        error.update({k: v for k, v in where.items() if v is not None})
        typer.echo(json.dumps({"error": error}, ensure_ascii=False))
    else:
        typer.echo(f"error: {message}", err=True)
    return typer.Exit(BAD_INPUT)


def _validation_error(
    exc: ValidationError, source: str, as_json: bool, **where: object
) -> typer.Exit:
    line = describe(exc)
    field, _, _ = line.partition(": ")
    first = exc.errors(include_url=False)[0]
    rule = str(first["type"])
    message = str(first["msg"]).removeprefix("Value error, ")
    return _fail(
        f"{source}: {line}",
        field=field,
        rule=rule,
        as_json=as_json,
        file=source,
        detail=message,
        **where,
    )


def _rulebook(rules: list[Path] | None, no_defaults: bool) -> RuleBook:
    sources = ([] if no_defaults else [default_rules_dir()]) + list(rules or [])
    if not sources:
        raise ConfigError("--rules: no rules to load (give --rules with --no-default-rules)")
    return load_rules(sources)


def _parse_at(text: str | None, as_json: bool = False) -> datetime:
    if text is None:
        return datetime.now(UTC)  # the CLI is the edge where the clock is read
    try:
        if len(text) == 10:
            d = date.fromisoformat(text)
            return datetime(d.year, d.month, d.day, tzinfo=UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _fail(
            f"--at: {text!r} is not an ISO date (2026-03-01) or datetime",
            field="--at",
            rule="iso_date",
            as_json=as_json,
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _read_text(path: Path, as_json: bool) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise _fail(
            f"{path}: cannot read ({exc.strerror})",
            field=str(path),
            rule="readable_file",
            as_json=as_json,
        ) from None


def _parse_trade(text: str, source: str, as_json: bool, line: int | None = None) -> Trade:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {line if line is not None else exc.lineno} column {exc.colno}"
        raise _fail(
            f"{source}: {where}: not valid JSON ({exc.msg})",
            field="(root)",
            rule="json",
            as_json=as_json,
            file=source,
            line=line if line is not None else exc.lineno,
        ) from None
    try:
        return Trade.model_validate(data)
    except ValidationError as exc:
        raise _validation_error(
            exc, source if line is None else f"{source} line {line}", as_json, line=line
        ) from None


def _read_trade(path: Path, as_json: bool = False) -> Trade:
    return _parse_trade(_read_text(path, as_json), str(path), as_json)


def read_batch(path: Path, as_json: bool = False) -> list[Trade]:
    """The trades of a JSON Lines file (one trade per line; blank lines skipped).

    Every line is validated before any trade is judged: a bad line stops the batch with
    its line number, the field and the rule (exit 3), and nothing is decided.
    """
    trades = []
    for number, line in enumerate(_read_text(path, as_json).splitlines(), 1):
        if line.strip():
            trades.append(_parse_trade(line, str(path), as_json, line=number))
    if not trades:
        raise _fail(
            f"{path}: no trades (one JSON trade per line)",
            field=str(path),
            rule="non_empty",
            as_json=as_json,
        )
    return trades


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
        console.print(f"obligation ({o.kind}): {o.rule_id}: {o.explanation} ({o.citation})")
    for rel in decision.reliance:
        console.print(
            f"relied on: {rel.party} {rel.jurisdiction}:{rel.investor_class.value} "
            f"({rel.basis.replace('_', ' ')}{': ' + rel.detail if rel.detail else ''})"
        )
    for ov in decision.overrides:
        console.print(f"override: {ov.rule_id} {ov.action} by {ov.file}")
    console.print(f"{len(decision.rules_evaluated)} rules evaluated")


_SEVERITY: dict[Outcome, int] = {"allow": 0, "needs_information": 1, "deny": 2}


@app.command()
def check(
    trade_file: Annotated[
        Path | None,
        typer.Argument(metavar="[TRADE.json]", help="The trade, as JSON (schema: trade)."),
    ] = None,
    batch: Annotated[
        Path | None,
        typer.Option(
            "--batch",
            metavar="TRADES.jsonl",
            help=(
                "Judge a whole book: one trade per line (JSON Lines). With --json, prints one "
                "decision per line; otherwise a summary and the trades not allowed. Exits "
                "with the most severe outcome (1 if any deny, else 2 if any needs information)."
            ),
        ),
    ] = None,
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
    citation and a one-line explanation; the obligations section lists what the platform
    must do (reports, travel-rule data, appropriateness, legends). With --json a bad input
    is printed as a JSON error on stdout (field, rule, message), still exit 3.
    """
    if (trade_file is None) == (batch is None):
        raise _fail(
            "give either TRADE.json or --batch TRADES.jsonl (exactly one)",
            field="TRADE.json",
            rule="one_input",
            as_json=as_json,
        )
    moment = _parse_at(at, as_json)
    trades = read_batch(batch, as_json) if batch is not None else None
    trade = _read_trade(trade_file, as_json) if trade_file is not None else None
    try:
        book = _rulebook(rules, no_default_rules)
        lists = load_sanctions(sanctions or [default_sanctions_file()])
    except ConfigError as exc:
        raise _fail(
            str(exc), field="--rules/--sanctions", rule="rule_file", as_json=as_json
        ) from None
    engine = Engine(book, lists)
    if trades is not None:
        _check_batch(engine, trades, moment, as_json)
    assert trade is not None
    decision = engine.evaluate(trade, moment)
    if as_json:
        typer.echo(decision.model_dump_json(indent=2))
    else:
        render_decision(decision, Console(soft_wrap=False, width=160))
    raise typer.Exit(EXIT_CODES[decision.outcome])


def _check_batch(engine: Engine, trades: list[Trade], moment: datetime, as_json: bool) -> None:
    began = time.perf_counter()
    decisions = engine.evaluate_many(trades, moment)
    seconds = time.perf_counter() - began
    worst: Outcome = max((d.outcome for d in decisions), key=_SEVERITY.__getitem__)
    if as_json:
        for d in decisions:
            typer.echo(d.model_dump_json())
    else:
        counts = {o: sum(d.outcome == o for d in decisions) for o in EXIT_CODES}
        rate = len(decisions) / seconds if seconds > 0 else float("inf")
        typer.echo(
            f"{len(decisions)} trades at {moment.isoformat()}: "
            + ", ".join(f"{o} {n}" for o, n in counts.items())
            + f" ({rate:,.0f} decisions/s)"
        )
        for d in decisions:
            if d.outcome != "allow":
                codes = ", ".join(sorted({f"{r.code.value} ({r.rule_id})" for r in d.reasons}))
                typer.echo(f"{d.trade_id}: {d.outcome}: {codes}")
    raise typer.Exit(EXIT_CODES[worst])


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
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            metavar="ISO-DATE",
            help="Only the rules in force on this date (the law of that day).",
        ),
    ] = None,
    rules: RulesOpt = None,
    no_default_rules: NoDefaultsOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """List the loaded rules with their citations, dates and verification status.

    --json prints, per rule, its verification status, the source it was checked against
    (citation.source) and the date it was checked (citation.checked_on), its effective
    dates, and in ``note`` why a rule not fully verified is not.
    """
    try:
        book = _rulebook(rules, no_default_rules)
    except ConfigError as exc:
        raise _fail(str(exc), field="--rules", rule="rule_file", as_json=as_json) from None
    selected = book.all_rules()
    if at is not None:
        day = _parse_at(at, as_json).date()
        selected = [
            r
            for r in selected
            if (r.rule.effective_from is None or r.rule.effective_from <= day)
            and (r.rule.effective_to is None or day <= r.rule.effective_to)
        ]
    if jurisdiction is not None:
        code = book.resolve(_ALIASES.get(jurisdiction.upper(), jurisdiction.upper()))
        if code is None:
            raise _fail(
                f"--jurisdiction: no rules are loaded for {jurisdiction!r}",
                field="--jurisdiction",
                rule="known_jurisdiction",
                as_json=as_json,
            )
        selected = [r for r in selected if r.jurisdiction == code]
    if as_json:
        out: list[dict[str, Any]] = [
            {
                "jurisdiction": r.jurisdiction,
                "file": r.file,
                **r.rule.model_dump(mode="json", include=_LISTED),
                **({"obligation": r.rule.obligation} if r.rule.effect == "report" else {}),
                "source": r.rule.citation.source,
                "checked_on": (
                    r.rule.citation.checked_on.isoformat() if r.rule.citation.checked_on else None
                ),
            }
            for r in selected
        ]
        typer.echo(json.dumps(out, indent=2, ensure_ascii=False))
        return
    status = {v: sum(r.rule.verification == v for r in selected) for v in _STATUSES}
    table = Table(
        title=f"{len(selected)} rules: " + ", ".join(f"{n} {v}" for v, n in status.items())
    )
    for column in ("rule", "jur", "effect", "citation", "in force", "verification"):
        table.add_column(column, overflow="fold")
    for r in selected:
        rule = r.rule
        dates = f"{rule.effective_from or '…'} – {rule.effective_to or '…'}"
        table.add_row(
            f"{rule.id}\n{rule.title}",
            r.jurisdiction,
            f"{rule.effect}: {rule.code.value}",
            str(rule.citation)
            + (f"\n{rule.citation.source}" if rule.citation.source else "")
            + (f" (checked {rule.citation.checked_on})" if rule.citation.checked_on else ""),
            dates,
            rule.verification + (f"\n{rule.note}" if rule.note else ""),
        )
    Console(width=180).print(table)


_STATUSES = ("verified", "partial", "unverified")

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
