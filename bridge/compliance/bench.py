"""Benchmark: ``python -m bridge.compliance.bench`` prints decisions per second.

Loads the shipped rules once (timing the load and compile separately), builds a fixed,
seeded mix of trades across the shipped jurisdictions, exemptions, cash legs and token
rules, and evaluates them repeatedly for a few seconds: one trade at a time
(:meth:`Engine.evaluate`), then as a book (:meth:`Engine.evaluate_many`). Everything runs
in one thread. Besides wall-clock throughput it reports the process's CPU time, which
is what one core delivers when the machine is shared. Tests never assert timings;
this script is where performance is measured.
"""

from __future__ import annotations

import argparse
import random
import time
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


def run(seconds: float = 3.0, trades: int = 500) -> dict[str, object]:
    """Evaluate the seeded trade mix for ``seconds`` singly, then as batches; the numbers."""
    start = time.perf_counter()
    rules = load_rules([default_rules_dir()])
    loaded = time.perf_counter()
    engine = Engine(rules, load_sanctions([default_sanctions_file()]))
    mix = sample_trades(engine, trades)
    at = datetime(2026, 3, 1, tzinfo=UTC)
    for trade in mix:  # warm the plans once, as a running service has
        engine.evaluate(trade, at)
    outcomes: dict[str, int] = {}
    done = 0
    cpu0, began = time.process_time(), time.perf_counter()
    while time.perf_counter() - began < seconds / 2:
        for trade in mix:
            outcome = engine.evaluate(trade, at).outcome
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        done += len(mix)
    elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu0
    batched = 0
    cpu0, began = time.process_time(), time.perf_counter()
    while time.perf_counter() - began < seconds / 2:
        batched += len(engine.evaluate_many(mix, at))
    b_elapsed, b_cpu = time.perf_counter() - began, time.process_time() - cpu0
    return {
        "rules": rules.rule_count,
        "jurisdictions": len(rules.jurisdictions),
        "load_ms": round((loaded - start) * 1000),
        "decisions": done,
        "seconds": round(elapsed, 3),
        "decisions_per_second": round(done / elapsed),
        "decisions_per_cpu_second": round(done / cpu) if cpu > 0 else None,
        "batch_decisions": batched,
        "batch_seconds": round(b_elapsed, 3),
        "batch_decisions_per_second": round(batched / b_elapsed),
        "batch_decisions_per_cpu_second": round(batched / b_cpu) if b_cpu > 0 else None,
        "outcomes": dict(sorted(outcomes.items())),
    }


def describe(numbers: dict[str, object]) -> str:
    """The numbers of :func:`run` as four lines of text."""
    outcomes = numbers["outcomes"]
    assert isinstance(outcomes, dict)
    return "\n".join(
        [
            f"rules: {numbers['rules']} in {numbers['jurisdictions']} jurisdictions, "
            f"loaded and compiled in {numbers['load_ms']} ms",
            f"single: {numbers['decisions']} decisions in {numbers['seconds']} s = "
            f"{numbers['decisions_per_second']:,} decisions/second "
            f"({numbers['decisions_per_cpu_second'] or 0:,} per CPU-second, one thread)",
            f"batch: {numbers['batch_decisions']} decisions in {numbers['batch_seconds']} s = "
            f"{numbers['batch_decisions_per_second']:,} decisions/second "
            f"({numbers['batch_decisions_per_cpu_second'] or 0:,} per CPU-second, one thread)",
            "outcomes: " + ", ".join(f"{k} {v}" for k, v in outcomes.items()),
        ]
    )


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print the numbers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=3.0, help="how long to evaluate")
    parser.add_argument("--trades", type=int, default=500, help="distinct trades in the mix")
    args = parser.parse_args(argv)
    print(describe(run(args.seconds, args.trades)))


if __name__ == "__main__":
    main()
