"""Benchmark: ``python -m bridge.compliance.bench`` prints decisions per second.

Loads the shipped rules once (timing the load and compile separately), builds a fixed,
seeded mix of trades across the shipped jurisdictions, exemptions and cash legs, and
evaluates the whole mix in repeated passes for a few seconds: one trade at a time
(:meth:`Engine.evaluate`), then as a book (:meth:`Engine.evaluate_many`). Everything runs
in one thread. Each figure is the median over the passes, per second of wall time and
per second of the process's CPU time (what one core delivers when the machine is
shared); the conditions (Python, the mix, the machine's load) are printed with them.
Tests never assert timings; this script is where performance is measured.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime

from bridge.compliance.engine import Engine
from bridge.compliance.loader import default_rules_dir, default_sanctions_file, load_rules
from bridge.compliance.model import (
    CashLeg,
    Instrument,
    InvestorClassification,
    Ivms101Person,
    Kyc,
    Party,
    Trade,
    TravelRuleData,
)
from bridge.compliance.sanctions import load_sanctions
from bridge.model.enums import Capability, InvestorClass

__all__ = ["describe", "main", "run", "sample_trades"]

_RESIDENCES = ("JP", "US", "DE", "FR", "SG", "CH", "HK", "GB")


def sample_trades(engine: Engine, count: int, seed: int = 6) -> list[Trade]:
    """``count`` varied trades over the engine's jurisdictions (deterministic for a seed)."""
    rng = random.Random(seed)  # noqa: S311 - benchmark inputs, not security
    book = engine.rules
    pairs = [
        (code, kind, ex.id)
        for code, doc in sorted(book.jurisdictions.items())
        for ex in doc.exemptions
        for kind in ex.instrument_kinds
    ]
    classes = [(code, c) for code, cs in sorted(book.classes.items()) for c in sorted(cs)]
    kyc = Kyc(status="verified", expires_on=date(2030, 1, 1))
    out = []
    for i in range(count):
        home, kind, exemption = rng.choice(pairs)
        b_res, s_res = rng.choice(_RESIDENCES), rng.choice(_RESIDENCES)
        bj, bc = rng.choice(classes)
        leg = None
        if rng.random() < 0.6:
            vasp = rng.choice([None, "JP", "SG", "DE", "US"])
            leg = CashLeg(
                currency=rng.choice(["JPY", "USD", "EUR", "SGD"]),
                amount=rng.randrange(0, 50_000_000),
                executed_by="vasp" if vasp else "self_custody",
                originator_vasp=vasp,
                beneficiary_vasp=vasp,
            )
        out.append(
            Trade(
                id=f"bench-{i}",
                instrument=Instrument(
                    kind=kind,
                    exemption=exemption,
                    home=home,
                    capabilities=(Capability.WHITELIST,),
                    holder_count=rng.randrange(0, 2100),
                    offeree_count=rng.randrange(0, 600),
                    offering_closed_on=date(2025, 6, 1),
                    issuer_reporting=rng.random() < 0.5,
                ),
                seller=Party(
                    name=f"seller {i}",
                    residence=s_res,
                    kyc=kyc,
                    balance=100,
                    acquired_on=date(2025, rng.randrange(1, 13), 1),
                ),
                buyer=Party(
                    name=f"buyer {i}",
                    residence=b_res,
                    kyc=kyc,
                    classifications=(
                        InvestorClassification(
                            jurisdiction=bj,
                            investor_class=InvestorClass(bc),
                            granted_on=date(2026, 1, 1),
                        ),
                    ),
                ),
                quantity=rng.randrange(1, 100),
                cash_leg=leg,
                travel_rule=TravelRuleData(
                    originator=Ivms101Person(name="A", account_number="1"),
                    beneficiary=Ivms101Person(name="B", account_number="2"),
                )
                if rng.random() < 0.5
                else None,
            )
        )
    return out


def _mix(trades: Sequence[Trade]) -> dict[str, object]:
    """What the seeded trade mix holds (the conditions the numbers were measured under)."""
    homes: dict[str, int] = {}
    for t in trades:
        homes[t.instrument.home] = homes.get(t.instrument.home, 0) + 1
    legs = [t.cash_leg for t in trades if t.cash_leg is not None]
    return {
        "trades": len(trades),
        "homes": dict(sorted(homes.items())),
        "instrument_kinds": len({t.instrument.kind for t in trades}),
        "exemptions": len({t.instrument.exemption for t in trades}),
        "with_cash_leg": len(legs),
        "cash_leg_via_vasp": sum(1 for leg in legs if leg.executed_by == "vasp"),
        "with_travel_rule_data": sum(1 for t in trades if t.travel_rule is not None),
        "buyer_residences": list(_RESIDENCES),
    }


def _rates(done: int, walls: list[float], cpus: list[float]) -> dict[str, object]:
    """Median, lowest and highest decisions per second over the passes (wall and CPU)."""
    per_wall = sorted(done / w for w in walls if w > 0)
    per_cpu = sorted(done / c for c in cpus if c > 0)
    return {
        "passes": len(walls),
        "decisions": done * len(walls),
        "seconds": round(sum(walls), 3),
        "cpu_seconds": round(sum(cpus), 3),
        "decisions_per_second": round(statistics.median(per_wall)) if per_wall else None,
        "decisions_per_cpu_second": round(statistics.median(per_cpu)) if per_cpu else None,
        "cpu_range": [round(per_cpu[0]), round(per_cpu[-1])] if per_cpu else None,
    }


def _passes(
    ways: Sequence[Callable[[], object]], seconds: float, repeats: int
) -> list[tuple[list[float], list[float]]]:
    """Wall and CPU seconds of each pass of each way, for ``seconds`` of wall time.

    The ways take turns pass by pass (at least ``repeats`` passes each), so a change in
    the machine's load falls on all of them alike.
    """
    times: list[tuple[list[float], list[float]]] = [([], []) for _ in ways]
    began = time.perf_counter()
    while len(times[0][0]) < repeats or time.perf_counter() - began < seconds:
        for one_pass, (walls, cpus) in zip(ways, times, strict=True):
            cpu0, wall0 = time.process_time(), time.perf_counter()
            one_pass()
            cpus.append(time.process_time() - cpu0)
            walls.append(time.perf_counter() - wall0)
    return times


def run(seconds: float = 3.0, trades: int = 500, repeats: int = 5) -> dict[str, object]:
    """Evaluate the seeded trade mix singly, then as a book; the numbers and conditions.

    The two ways take turns in passes over the whole mix for ``seconds`` of wall time (at
    least ``repeats`` passes each); the rates are the median over the passes, in decisions per
    second of wall time and per second of this process's CPU time (``process_time``:
    what one core delivers when the machine is shared), with the lowest and highest CPU
    rate beside the median.
    """
    start = time.perf_counter()
    rules = load_rules([default_rules_dir()])
    loaded = time.perf_counter()
    engine = Engine(rules, load_sanctions([default_sanctions_file()]))
    mix = sample_trades(engine, trades)
    at = datetime(2026, 3, 1, tzinfo=UTC)
    outcomes: dict[str, int] = {}
    for trade in mix:  # warm the plans once, as a running service has
        outcome = engine.evaluate(trade, at).outcome
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    evaluate = engine.evaluate

    def singly() -> None:
        for trade in mix:
            evaluate(trade, at)

    (s_walls, s_cpus), (b_walls, b_cpus) = _passes(
        (singly, lambda: engine.evaluate_many(mix, at)), seconds, repeats
    )
    single, batch = _rates(len(mix), s_walls, s_cpus), _rates(len(mix), b_walls, b_cpus)
    return {
        "rules": rules.rule_count,
        "jurisdictions": len(rules.jurisdictions),
        "load_ms": round((loaded - start) * 1000),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "machine": {"cpus": os.cpu_count(), "load_average": _load()},
        "mix": _mix(mix) | {"seed": 6, "at": at.isoformat()},
        "statistic": "median over passes of the whole mix; one thread",
        "single": single,
        "batch": batch,
        "outcomes": dict(sorted(outcomes.items())),
    }


def _load() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover - not on every platform
        return None


def describe(numbers: dict[str, object]) -> str:
    """The numbers of :func:`run` as a few lines of text."""
    outcomes, mix = numbers["outcomes"], numbers["mix"]
    assert isinstance(outcomes, dict)
    assert isinstance(mix, dict)
    lines = [
        f"rules: {numbers['rules']} in {numbers['jurisdictions']} jurisdictions, "
        f"loaded and compiled in {numbers['load_ms']} ms",
        f"conditions: {numbers['python']}, {mix['trades']} trades (seed {mix['seed']}, "
        f"homes {', '.join(f'{k} {v}' for k, v in mix['homes'].items())}; "
        f"{mix['with_cash_leg']} with a cash leg, {mix['with_travel_rule_data']} with "
        f"travel-rule data) judged at {mix['at']}; machine {numbers['machine']}",
    ]
    for name in ("single", "batch"):
        n = numbers[name]
        assert isinstance(n, dict)
        low, high = n["cpu_range"] or (0, 0)
        lines.append(
            f"{name}: {n['decisions']} decisions in {n['passes']} passes, median "
            f"{n['decisions_per_cpu_second'] or 0:,} decisions per CPU-second "
            f"(passes {low:,}-{high:,}), {n['decisions_per_second'] or 0:,} per wall-second, "
            "one thread"
        )
    lines.append("outcomes: " + ", ".join(f"{k} {v}" for k, v in outcomes.items()))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print the numbers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=3.0, help="how long to evaluate")
    parser.add_argument("--trades", type=int, default=500, help="distinct trades in the mix")
    parser.add_argument("--repeats", type=int, default=5, help="least passes over the mix")
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON")
    args = parser.parse_args(argv)
    numbers = run(args.seconds, args.trades, args.repeats)
    print(json.dumps(numbers, indent=2) if args.json else describe(numbers))


if __name__ == "__main__":
    main()
