"""Properties of the compliance engine over random trades and moments (hypothesis).

Every property runs against the shipped rules (specs/jurisdictions) and the demo
sanctions list; the strategies live in tests/strategies_compliance.py.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache, lru_cache

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bridge.compliance.engine import Engine
from bridge.compliance.loader import RuleBook, build_rulebook
from bridge.compliance.model import Decision, JurisdictionRules, Owner, Trade
from tests.strategies_compliance import engine, moments, shipped_rules, trades

FAR_FUTURE = datetime(2028, 6, 1, tzinfo=UTC)
"""Later than every holding and distribution period the strategies can produce."""
TIME_BOUND = frozenset({"holding_period", "distribution_period"})


def _docs() -> list[tuple[str, JurisdictionRules]]:
    return [(code, doc) for code, doc in sorted(shipped_rules().jurisdictions.items())]


@cache
def _single_rule_engine(rule_id: str) -> Engine:
    """The shipped jurisdictions with every rule removed except ``rule_id``."""
    docs = [
        (code, doc.model_copy(update={"rules": tuple(r for r in doc.rules if r.id == rule_id)}))
        for code, doc in _docs()
    ]
    return Engine(build_rulebook(docs), engine().sanctions)


@lru_cache(maxsize=1)
def _no_law_engine() -> Engine:
    docs = [(code, doc.model_copy(update={"rules": ()})) for code, doc in _docs()]
    return Engine(build_rulebook(docs), engine().sanctions)


def _denies(decision: Decision, rule_id: str) -> bool:
    return any(r.rule_id == rule_id and r.effect == "deny" for r in decision.reasons)


@given(trade=trades(), at=moments)
def test_never_allows_what_a_single_applicable_rule_denies(trade: Trade, at: datetime) -> None:
    """For every rule (law or token): if that rule alone denies a trade, the engine denies it.

    Each jurisdiction rule is run in an engine holding only that rule; each token rule on
    a copy of the asset holding only that rule. Aggregation must never turn such a deny
    into an allow or a needs-information.
    """
    full = engine().evaluate(trade, at)
    for compiled in shipped_rules().all_rules():
        rid = compiled.rule.id
        if _denies(_single_rule_engine(rid).evaluate(trade, at), rid):
            assert full.outcome == "deny", (rid, full)
            assert _denies(full, rid)
    asset = trade.instrument.asset
    if asset is not None:
        for i, rule in enumerate(asset.rules):
            alone = asset.model_copy(update={"rules": (rule,)})
            t = trade.model_copy(
                update={"instrument": trade.instrument.model_copy(update={"asset": alone})}
            )
            if any(
                r.origin == "token" and r.effect == "deny"
                for r in _no_law_engine().evaluate(t, at).reasons
            ):
                assert full.outcome == "deny", (i, rule, full)
                assert _denies(full, f"token.{rule.kind}[{i}]")


@settings(suppress_health_check=[HealthCheck.filter_too_much])
@given(
    trade=trades(likely_allowed=True),
    at=moments,
    who=st.sampled_from(["buyer", "seller"]),
    how=st.sampled_from(["name", "wallet", "identifier", "owners"]),
)
def test_sanctions_hit_always_denies_an_allowed_trade(
    trade: Trade, at: datetime, who: str, how: str
) -> None:
    """Adding a sanctions hit (name, wallet, identifier or 50%+ listed owners) to a trade
    that was allowed makes it denied, with a SANCTIONED_PARTY reason."""
    before = engine().evaluate(trade, at)
    party = getattr(trade, who)
    hit = {
        "name": {"name": "Ivan Fictitious Blockedov"},
        "wallet": {"wallet": "0x1111111111111111111111111111111111111111"},
        "identifier": {"identifiers": ("CCPT:ZZ0000000",)},
        "owners": {"owners": (Owner(name="Zed Placeholder Trading", share_bps=5_000),)},
    }[how]
    assume(before.outcome == "allow")
    listed = trade.model_copy(update={who: party.model_copy(update=hit)})
    after = engine().evaluate(listed, at)
    assert after.outcome == "deny", after
    assert any(r.code.value == "SANCTIONED_PARTY" for r in after.reasons)


@given(trade=trades(), at=moments, order=st.permutations(list(range(7))))
def test_evaluation_independent_of_rule_file_order(
    trade: Trade, at: datetime, order: list[int]
) -> None:
    """Loading the jurisdiction files in any order gives the same decision, field for field."""
    docs = _docs()
    shuffled = _engine_for_order(tuple(order))
    assert len(docs) == 7
    assert shuffled.evaluate(trade, at) == engine().evaluate(trade, at)


@lru_cache(maxsize=64)
def _engine_for_order(order: tuple[int, ...]) -> Engine:
    docs = _docs()
    book: RuleBook = build_rulebook([docs[i] for i in order])
    return Engine(book, engine().sanctions)


@given(trade=trades(), at=moments)
def test_every_deny_carries_a_cited_reason(trade: Trade, at: datetime) -> None:
    """Every deny carries at least one deny reason with a law and an article cited, and
    every reason names a rule id."""
    decision = engine().evaluate(trade, at)
    if decision.outcome == "deny":
        assert any(
            r.effect == "deny" and r.citation.law and r.citation.article for r in decision.reasons
        )
    assert all(r.rule_id for r in decision.reasons)


@settings(suppress_health_check=[HealthCheck.filter_too_much])
@given(trade=trades(likely_allowed=True), at=moments)
def test_time_never_turns_allow_into_holding_period_deny(trade: Trade, at: datetime) -> None:
    """If a trade is allowed at some moment, then at a moment past every holding and
    distribution period no holding-period or distribution-period rule denies it."""
    assume(engine().evaluate(trade, at).outcome == "allow")
    later = engine().evaluate(trade, max(at, FAR_FUTURE))
    categories = {r.rule.id: r.rule.category for r in shipped_rules().all_rules()}
    blocking = [r for r in later.reasons if categories.get(r.rule_id) in TIME_BOUND]
    assert blocking == [], blocking


@given(book=st.lists(trades(), min_size=1, max_size=8), at=moments)
def test_batch_decides_as_single_trades_do(book: list[Trade], at: datetime) -> None:
    """Judging a book with ``evaluate_many`` on a fresh engine gives, trade for trade, the
    decisions ``evaluate`` gives one by one on the long-lived (cached) engine."""
    fresh = Engine(shipped_rules(), engine().sanctions)
    assert fresh.evaluate_many(book, at) == [engine().evaluate(t, at) for t in book]


@given(trade=trades(), at=moments)
def test_decisions_built_without_validation_are_valid(trade: Trade, at: datetime) -> None:
    """The engine builds decisions without re-validating them (for speed); each must still be
    exactly what validating its own dump gives (every field valid, outcome consistent)."""
    decision = engine().evaluate(trade, at)
    assert Decision.model_validate(decision.model_dump()) == decision
    assert Decision.model_validate_json(decision.model_dump_json()) == decision
