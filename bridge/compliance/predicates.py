"""The predicate language of rule files, compiled once into plain Python closures.

A rule file never holds code: its predicates are the closed set of models in
:mod:`bridge.compliance.model` (``all``, ``any``, ``not``, ``eq``, ``ne``, ``in``,
``lt``/``le``/``gt``/``ge``, ``money``, ``present``, ``has_class``, ``elapsed``,
``not_expired``, ``contains``, ``const``). :func:`compile_predicate` checks each against
the fact catalogue (:data:`FACTS`: every fact's name and type) and turns it into a
closure over an :class:`Env`, so evaluation is a handful of dictionary reads.

Facts are typed paths (``buyer.residence``, ``cash_leg.amount``...). A missing fact
(None) never equals anything and never satisfies a comparison, so a requirement over a
fact nobody supplied fails closed. Money is compared exactly with rational FX rates
from the trade; when a needed rate is missing the evaluation raises
:class:`MissingInformation` and the engine answers "needs information".

Periods are ISO 8601 ``PnYnMnD`` added in calendar terms (:func:`add_period`): P6M after
2025-01-10 is 2025-07-10; 2024-08-31 + P6M clamps to 2025-02-28.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from typing import Final, Literal

from bridge.compliance.model import (
    AllOf,
    AnyOf,
    Compare,
    Const,
    Contains,
    Elapsed,
    Eq,
    FxRate,
    HasClass,
    InSet,
    MeansLimit,
    MoneyCompare,
    Ne,
    Not,
    NotExpired,
    Predicate,
    Present,
)

__all__ = [
    "FACTS",
    "ClassKey",
    "CompiledPredicate",
    "Env",
    "FactType",
    "MissingInformation",
    "PredicateError",
    "add_period",
    "compile_predicate",
    "convert_money",
    "minor_unit_exponent",
    "parse_period",
]

FactType = Literal["str", "int", "bool", "date", "money", "set"]
ClassKey = tuple[str, str]
"""(jurisdiction, investor class value), e.g. ("JP", "qualified_institutional")."""

_IVMS_FIELDS: Final = (
    "name",
    "account_number",
    "geographic_address",
    "national_identifier",
    "customer_identification",
    "date_of_birth",
    "place_of_birth",
    "country_of_residence",
)


def _catalogue() -> dict[str, FactType]:
    facts: dict[str, FactType] = {
        "trade.kind": "str",
        "trade.offshore": "bool",
        "trade.directed_selling_efforts": "bool",
        "trade.issuer_approved": "bool",
        "trade.quantity": "int",
        "instrument.kind": "str",
        "instrument.exemption": "str",
        "instrument.home": "str",
        "instrument.issuer_reporting": "bool",
        "instrument.offering_closed_on": "date",
        "instrument.listed": "bool",
        "instrument.capabilities": "set",
        "instrument.holder_count": "int",
        "instrument.holder_count_after": "int",
        "instrument.non_accredited_holder_count": "int",
        "instrument.offeree_count": "int",
        "instrument.offerees_in_buyer_country": "int",
        "instrument.non_accredited_purchaser_count": "int",
        "cash_leg.present": "bool",
        "cash_leg.currency": "str",
        "cash_leg.amount": "money",
        "cash_leg.instrument": "str",
        "cash_leg.token": "str",
        "cash_leg.executed_by": "str",
        "cash_leg.originator_vasp": "str",
        "cash_leg.beneficiary_vasp": "str",
        "cash_leg.vasp_involved": "bool",
        "cash_leg.beneficiary_self_hosted": "bool",
        "cash_leg.self_hosted_ownership_verified": "bool",
        "cash_leg.cross_border": "bool",
        "travel_rule.originating_vasp": "str",
        "travel_rule.beneficiary_vasp": "str",
        "sanctions.hit": "bool",
    }
    for party in ("buyer", "seller"):
        facts |= {
            f"{party}.residence": "str",
            f"{party}.jurisdiction": "str",
            f"{party}.us_person": "bool",
            f"{party}.entity_type": "str",
            f"{party}.kyc_status": "str",
            f"{party}.kyc_expires_on": "date",
            f"{party}.affiliate": "bool",
            f"{party}.acquired_on": "date",
            f"{party}.balance": "int",
            f"{party}.is_new_holder": "bool",
            f"{party}.exits": "bool",
            f"{party}.wallet": "str",
            f"{party}.annual_income": "money",
            f"{party}.net_worth": "money",
            f"{party}.crowdfunding_purchases_12m": "money",
        }
    for side in ("originator", "beneficiary"):
        for name in _IVMS_FIELDS:
            facts[f"travel_rule.{side}.{name}"] = "date" if name == "date_of_birth" else "str"
    return facts


FACTS: Final[Mapping[str, FactType]] = _catalogue()
"""Every fact a predicate may name, with its type."""

_ZERO_DECIMALS: Final = frozenset(
    [
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "ISK",
        "JPY",
        "KMF",
        "KRW",
        "PYG",
        "RWF",
        "UGX",
        "UYI",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    ]
)
_THREE_DECIMALS: Final = frozenset(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"])


def minor_unit_exponent(currency: str) -> int:
    """Decimal places of ``currency``'s minor unit (ISO 4217: JPY 0, KWD 3, most 2)."""
    if currency in _ZERO_DECIMALS:
        return 0
    if currency in _THREE_DECIMALS:
        return 3
    return 2


class MissingInformation(Exception):
    """Evaluation needs a fact the trade does not carry (e.g. an FX rate)."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


class PredicateError(ValueError):
    """A predicate in a rule file is malformed; ``path`` says where inside the rule."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


def convert_money(amount: int, currency: str, target: str, rates: tuple[FxRate, ...]) -> Fraction:
    """``amount`` minor units of ``currency`` in minor units of ``target`` (exact).

    Uses a rate ``currency->target`` or the inverse of ``target->currency``; raises
    :class:`MissingInformation` when neither is given.
    """
    if currency == target:
        return Fraction(amount)
    rate: Fraction | None = None
    for fx in rates:
        if fx.base == currency and fx.quote == target:
            rate = Fraction(fx.numerator, fx.denominator)
            break
        if fx.base == target and fx.quote == currency:
            rate = Fraction(fx.denominator, fx.numerator)
            break
    if rate is None:
        raise MissingInformation(f"an FX rate {currency}->{target}")
    major = Fraction(amount, 10 ** minor_unit_exponent(currency))
    result: Fraction = major * rate * 10 ** minor_unit_exponent(target)
    return result


_PERIOD = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?$")


def parse_period(text: str) -> tuple[int, int, int]:
    """(years, months, days) of an ISO 8601 ``PnYnMnD`` period; ValueError if malformed."""
    match = _PERIOD.match(text)
    if match is None or text == "P":
        raise ValueError(f"not an ISO 8601 period PnYnMnD: {text!r}")
    years, months, days = (int(g) if g else 0 for g in match.groups())
    return years, months, days


def add_period(start: date, period: tuple[int, int, int]) -> date:
    """``start`` plus a (years, months, days) period, clamping to the month's end."""
    years, months, days = period
    total = start.month - 1 + months + 12 * years
    year, month = start.year + total // 12, total % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return date.fromordinal(date(year, month, day).toordinal() + days)


@dataclass(slots=True)
class Env:
    """What a compiled predicate reads: the facts, today, the parties' classes, FX."""

    facts: dict[str, object]
    today: date
    classes: dict[str, frozenset[ClassKey]]
    verified_classes: dict[str, frozenset[ClassKey]]
    fx_rates: tuple[FxRate, ...] = ()
    notes: list[str] = field(default_factory=list)


CompiledPredicate = Callable[[Env], bool]
ClassResolver = Callable[[str, str], frozenset[ClassKey]]
"""(class reference as written, path) -> the (jurisdiction, class) pairs that satisfy it."""

_CMP: Final[dict[str, Callable[[object, object], bool]]] = {
    "lt": lambda a, b: a < b,  # type: ignore[operator]
    "le": lambda a, b: a <= b,  # type: ignore[operator]
    "gt": lambda a, b: a > b,  # type: ignore[operator]
    "ge": lambda a, b: a >= b,  # type: ignore[operator]
}


def _fact_type(name: str, path: str, allowed: tuple[FactType, ...]) -> FactType:
    kind = FACTS.get(name)
    if kind is None:
        raise PredicateError(path, f"unknown fact {name!r}")
    if kind not in allowed:
        raise PredicateError(path, f"fact {name!r} is a {kind}, expected {' or '.join(allowed)}")
    return kind


def _scalar_fits(kind: FactType, value: object) -> bool:
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, str)


def compile_predicate(
    pred: Predicate, path: str, resolve_class: ClassResolver
) -> CompiledPredicate:
    """Check ``pred`` against :data:`FACTS` and compile it; PredicateError names the place."""
    if isinstance(pred, Const):
        value = pred.value
        return lambda env: value
    if isinstance(pred, AllOf | AnyOf):
        parts = tuple(
            compile_predicate(p, f"{path}.of[{i}]", resolve_class) for i, p in enumerate(pred.of)
        )
        if isinstance(pred, AllOf):
            return lambda env: all(p(env) for p in parts)
        return lambda env: any(p(env) for p in parts)
    if isinstance(pred, Not):
        inner = compile_predicate(pred.of, f"{path}.of", resolve_class)
        return lambda env: not inner(env)
    if isinstance(pred, Eq | Ne):
        kind = _fact_type(pred.fact, f"{path}.fact", ("str", "int", "bool"))
        if not _scalar_fits(kind, pred.value):
            raise PredicateError(f"{path}.value", f"{pred.value!r} is not a {kind}")
        fact, expected = pred.fact, pred.value
        if isinstance(pred, Eq):
            return lambda env: _typed_equal(_get(env, fact), expected)
        return lambda env: (
            _get(env, fact) is not None and not _typed_equal(_get(env, fact), expected)
        )
    if isinstance(pred, InSet):
        kind = _fact_type(pred.fact, f"{path}.fact", ("str", "int", "bool"))
        for i, v in enumerate(pred.values):
            if not _scalar_fits(kind, v):
                raise PredicateError(f"{path}.values[{i}]", f"{v!r} is not a {kind}")
        fact, values = pred.fact, frozenset(pred.values)
        return lambda env: _get(env, fact) in values
    if isinstance(pred, Compare):
        _fact_type(pred.fact, f"{path}.fact", ("int",))
        fact, bound, cmp = pred.fact, pred.value, _CMP[pred.op]
        return lambda env: _int_cmp(_get(env, fact), bound, cmp)
    if isinstance(pred, MoneyCompare):
        _fact_type(pred.fact, f"{path}.fact", ("money",))
        return _compile_money(pred)
    if isinstance(pred, MeansLimit):
        for i, name in enumerate(pred.spend):
            _fact_type(name, f"{path}.spend[{i}]", ("money",))
        for i, name in enumerate(pred.means):
            _fact_type(name, f"{path}.means[{i}]", ("money",))
        return _compile_means_limit(pred)
    if isinstance(pred, Present):
        for i, name in enumerate(pred.facts):
            _fact_type(name, f"{path}.facts[{i}]", ("str", "int", "bool", "date", "money", "set"))
        names = pred.facts
        return lambda env: all(_get(env, n) not in (None, "", frozenset()) for n in names)
    if isinstance(pred, HasClass):
        accepted: frozenset[ClassKey] = frozenset().union(
            *(resolve_class(ref, f"{path}.any_of[{i}]") for i, ref in enumerate(pred.any_of))
        )
        party, verified = pred.party, pred.verified
        if verified:
            return lambda env: not accepted.isdisjoint(env.verified_classes[party])
        return lambda env: not accepted.isdisjoint(env.classes[party])
    if isinstance(pred, Elapsed):
        _fact_type(pred.since, f"{path}.since", ("date",))
        try:
            period = parse_period(pred.at_least)
        except ValueError as exc:
            raise PredicateError(f"{path}.at_least", str(exc)) from None
        since = pred.since
        return lambda env: _elapsed(_get(env, since), period, env.today)
    if isinstance(pred, NotExpired):
        _fact_type(pred.fact, f"{path}.fact", ("date",))
        fact = pred.fact
        return lambda env: _not_expired(_get(env, fact), env.today)
    if isinstance(pred, Contains):
        _fact_type(pred.fact, f"{path}.fact", ("set",))
        fact, member = pred.fact, pred.value
        return lambda env: _contains(_get(env, fact), member)
    raise PredicateError(path, f"unsupported predicate {type(pred).__name__}")  # pragma: no cover


def _get(env: Env, name: str) -> object:
    return env.facts.get(name)


def _typed_equal(a: object, b: object) -> bool:
    # 1 == True in Python; a rule comparing an int fact must not match a bool and back.
    return type(a) is type(b) and a == b


def _int_cmp(value: object, bound: int, cmp: Callable[[object, object], bool]) -> bool:
    if not isinstance(value, int) or isinstance(value, bool):
        return False
    return cmp(value, bound)


def _elapsed(since: object, period: tuple[int, int, int], today: date) -> bool:
    if not isinstance(since, date):
        return False
    return today >= add_period(since, period)


def _not_expired(value: object, today: date) -> bool:
    return isinstance(value, date) and value >= today


def _contains(value: object, member: str) -> bool:
    return isinstance(value, frozenset) and member in value


def _compile_money(pred: MoneyCompare) -> CompiledPredicate:
    fact, cmp, bound, currency = pred.fact, _CMP[pred.cmp], pred.amount, pred.currency

    def check(env: Env) -> bool:
        value = _get(env, fact)
        if not isinstance(value, tuple):
            return False
        amount, cur = value
        converted = convert_money(amount, cur, currency, env.fx_rates)
        return cmp(converted, Fraction(bound))

    return check


def _compile_means_limit(pred: MeansLimit) -> CompiledPredicate:
    spend, means, currency = pred.spend, pred.means, pred.currency
    share = Fraction(pred.bps, 10_000)

    def money_of(env: Env, name: str) -> Fraction | None:
        value = _get(env, name)
        if not isinstance(value, tuple):
            return None
        amount, cur = value
        return convert_money(amount, cur, currency, env.fx_rates)

    def check(env: Env) -> bool:
        known = [m for m in (money_of(env, n) for n in means) if m is not None]
        if not known:
            raise MissingInformation(f"the investor's {' or '.join(means)}")
        limit = max(known) * share
        if pred.floor is not None:
            limit = max(limit, Fraction(pred.floor))
        if pred.cap is not None:
            limit = min(limit, Fraction(pred.cap))
        total = sum((money_of(env, n) or Fraction(0) for n in spend), Fraction(0))
        return total <= limit

    return check


def elapsed_nodes(pred: Predicate) -> list[Elapsed]:
    """Every ``elapsed`` node in ``pred`` (the engine reports when they will be met)."""
    if isinstance(pred, Elapsed):
        return [pred]
    if isinstance(pred, AllOf | AnyOf):
        return [e for p in pred.of for e in elapsed_nodes(p)]
    if isinstance(pred, Not):
        return []  # a negated period is a window that closes, not one that opens
    return []
