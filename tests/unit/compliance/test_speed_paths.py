"""The engine's fast paths decide exactly as the plain ones; the benchmark reports its numbers.

Predicates are compiled twice over: into nested closures (the reference) and into one
generated expression each, which the engine inlines into one step function per rule
(:func:`bridge.compliance.predicates.compile_predicate`). Decisions are also cached in
parts (a prelude per trade shape, reasons a missing fact gives). These tests judge the
same varied book with an engine built from closures only and with the shipped engine,
and require equal decisions. No test here measures time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

import bridge.compliance.loader as loader_module
from bridge.compliance.bench import describe, run, sample_trades
from bridge.compliance.engine import Engine
from bridge.compliance.loader import default_rules_dir, default_sanctions_file, load_rules
from bridge.compliance.model import FxRate, InvestorStatement, Trade
from bridge.compliance.predicates import ALWAYS, _closure, predicate_source
from bridge.compliance.sanctions import load_sanctions
from bridge.model.terms import Money

MOMENTS = (datetime(2025, 7, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC))


def _with_facts(trade: Trade, i: int) -> Trade:
    """The trade with investor facts (amounts, statements, FX) on some of its parties."""
    buyer = trade.buyer.model_copy(
        update={
            "annual_income": Money(amount=(i % 7) * 10_000_000, currency="USD"),
            "net_worth": Money(amount=(i % 5) * 60_000_000, currency="USD") if i % 2 else None,
            "portfolio": Money(amount=(i % 9) * 200_000_000, currency="HKD"),
            "net_personal_assets": Money(amount=(i % 4) * 100_000_000, currency="SGD"),
            "statements": (
                InvestorStatement(kind="gb_certified_hnw", signed_on=date(2025, 1 + i % 12, 1)),
            ),
        }
    )
    rates = (
        (FxRate(base="USD", quote="EUR", numerator=9, denominator=10, as_of=date(2025, 6, 30)),)
        if i % 3
        else ()
    )
    return trade.model_copy(update={"buyer": buyer, "fx_rates": rates})


def _book() -> list[Trade]:
    engine = Engine(load_rules([default_rules_dir()]))
    mix = sample_trades(engine, 200, seed=11)
    return mix + [_with_facts(t, i) for i, t in enumerate(mix[:100])]


def test_generated_predicates_decide_as_closures(monkeypatch: pytest.MonkeyPatch) -> None:
    """Invariant: for every trade of a varied book and two moments, the engine whose
    predicates are generated expressions (inlined into step functions, with its caches)
    gives a decision equal to that of an engine whose predicates are nested closures."""
    sanctions = load_sanctions([default_sanctions_file()])
    fast = Engine(load_rules([default_rules_dir()]), sanctions)
    with monkeypatch.context() as m:
        m.setattr(loader_module, "compile_predicate", _closure)
        plain = Engine(load_rules([default_rules_dir()]), sanctions)
    some = next(c for cs in plain.rules.rules.values() for c in cs if c.require is not ALWAYS)
    assert predicate_source(some.require, "x", {}) is None  # really the closures
    book = _book()
    outcomes = set()
    for at in MOMENTS:
        expected = [plain.evaluate(t, at) for t in book]
        assert fast.evaluate_many(book, at) == expected
        assert [fast.evaluate(t, at) for t in book] == expected  # cached paths, second time
        outcomes |= {d.outcome for d in expected}
    assert outcomes == {"allow", "deny", "needs_information"}


def test_bench_reports_median_cpu_and_wall_rates_with_conditions() -> None:
    numbers = run(seconds=0.0, trades=20, repeats=2)
    for way in ("single", "batch"):
        n = numbers[way]
        assert isinstance(n, dict)
        assert n["passes"] >= 2
        assert n["decisions"] == 20 * n["passes"]
        assert n["decisions_per_cpu_second"] is None or n["decisions_per_cpu_second"] > 0
    assert numbers["python"].startswith("CPython 3.11")  # type: ignore[union-attr]
    mix = numbers["mix"]
    assert isinstance(mix, dict)
    assert mix["trades"] == 20
    assert sum(mix["homes"].values()) == 20
    assert numbers["statistic"].startswith("median")  # type: ignore[union-attr]
    text = describe(numbers)
    assert "median" in text
    assert "per CPU-second" in text
    assert "per wall-second" in text


@pytest.mark.parametrize("op", ["lt", "le", "gt", "ge"])
def test_generated_comparisons_agree_at_the_boundary(op: str) -> None:
    """Invariant: a generated ``lt``/``le``/``gt``/``ge`` (and its negation) gives what the
    closure gives just below, at and just above its bound."""
    from bridge.compliance.model import Compare, Not
    from bridge.compliance.predicates import Env, compile_predicate

    engine = Engine(load_rules([default_rules_dir()]))
    base = sample_trades(engine, 1)[0]
    cmp = Compare(op=op, fact="trade.quantity", value=50)  # type: ignore[arg-type]

    def nobody(ref: str, path: str) -> frozenset[tuple[str, str]]:
        return frozenset()

    for pred in (cmp, Not(op="not", of=cmp)):
        fast, plain = compile_predicate(pred, "p", nobody), _closure(pred, "p", nobody)
        for quantity in (49, 50, 51):
            env = Env(base.model_copy(update={"quantity": quantity}), date(2026, 1, 1))
            assert fast(env) is plain(env), (op, quantity)
