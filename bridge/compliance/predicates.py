"""The predicate language of rule files, compiled once into plain Python closures.

A rule file never holds code: its predicates are the closed set of models in
:mod:`bridge.compliance.model` (``all``, ``any``, ``not``, ``eq``, ``ne``, ``in``,
``lt``/``le``/``gt``/``ge``, ``money``, ``present``, ``has_class``, ``elapsed``,
``not_expired``, ``contains``, ``const``). :func:`compile_predicate` checks each against
the fact catalogue (:data:`FACTS`: every fact's name and type) and turns it into a
closure over an :class:`Env` whose fact reads are bound at compile time (:data:`GETTERS`
read the validated trade directly), so evaluation copies nothing and parses nothing.

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
import weakref
from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from datetime import date
from fractions import Fraction
from functools import lru_cache
from operator import attrgetter
from typing import Final, Literal, get_args

from pydantic import TypeAdapter

from bridge.compliance.model import (
    AllOf,
    AnyOf,
    CashLeg,
    Compare,
    Const,
    Contains,
    Elapsed,
    Eq,
    FxRate,
    HasClass,
    InSet,
    Instrument,
    MeansLimit,
    MoneyCompare,
    Ne,
    Not,
    NotExpired,
    Party,
    Predicate,
    Present,
    StatementKind,
    Trade,
    TravelRuleData,
)
from bridge.model.terms import BondTerms, EquityTerms, Money

__all__ = [
    "ALWAYS",
    "FACTS",
    "GETTERS",
    "ClassKey",
    "CompiledPredicate",
    "Env",
    "FactType",
    "Getter",
    "MissingInformation",
    "PredicateError",
    "add_period",
    "compile_predicate",
    "convert_money",
    "elapsed_nodes",
    "minor_unit_exponent",
    "parse_period",
    "predicate_facts",
    "predicate_source",
    "rename_party",
    "vasp_involved",
]

FactType = Literal["str", "int", "bool", "date", "money", "set"]
_PREDICATE_ADAPTER: TypeAdapter[Predicate] = TypeAdapter(Predicate)
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


Getter = Callable[["Env"], object]
"""Reads one fact from the evaluation environment (None when the trade does not carry it)."""


def _money_of(value: Money | None) -> tuple[int, str] | None:
    return None if value is None else (value.amount, value.currency)


def _party_catalogue(role: str) -> dict[str, tuple[FactType, Getter]]:
    get: Callable[[Env], Party] = attrgetter(role)
    facts: dict[str, tuple[FactType, Getter]] = {
        "residence": ("str", attrgetter(f"{role}.residence")),
        "jurisdiction": ("str", attrgetter(f"{role}_j")),
        "us_person": ("bool", attrgetter(f"{role}.is_us_person")),
        "entity_type": ("str", attrgetter(f"{role}.entity_type")),
        "kyc_status": ("str", attrgetter(f"{role}.kyc.status")),
        "kyc_expires_on": ("date", attrgetter(f"{role}.kyc.expires_on")),
        "affiliate": ("bool", attrgetter(f"{role}.affiliate")),
        "acquired_on": ("date", attrgetter(f"{role}.acquired_on")),
        "balance": ("int", attrgetter(f"{role}.balance")),
        "wallet": ("str", attrgetter(f"{role}.wallet")),
        "annual_income": ("money", lambda e: _money_of(get(e).annual_income)),
        "prior_year_income": ("money", lambda e: _money_of(get(e).prior_year_income)),
        "joint_income": ("bool", attrgetter(f"{role}.joint_income")),
        "net_worth": ("money", lambda e: _money_of(get(e).net_worth)),
        "net_personal_assets": ("money", lambda e: _money_of(get(e).net_personal_assets)),
        "net_financial_assets": ("money", lambda e: _money_of(get(e).net_financial_assets)),
        "portfolio": ("money", lambda e: _money_of(get(e).portfolio)),
        "total_assets": ("money", lambda e: _money_of(get(e).total_assets)),
        "crowdfunding_purchases_12m": (
            "money",
            lambda e: _money_of(get(e).crowdfunding_purchases_12m),
        ),
    }
    if role == "buyer":
        facts["is_new_holder"] = ("bool", lambda e: e.buyer.balance == 0)
        facts["exits"] = ("bool", lambda e: False)
    else:
        facts["is_new_holder"] = ("bool", lambda e: False)
        facts["exits"] = (
            "bool",
            lambda e: e.trade.kind == "resale" and e.seller.balance == e.trade.quantity,
        )
    for kind in get_args(StatementKind):
        facts[f"statement.{kind}"] = ("date", _statement_getter(get, kind))
    return {f"{role}.{name}": v for name, v in facts.items()}


def _statement_getter(get: Callable[[Env], Party], kind: str) -> Getter:
    def latest(env: Env) -> date | None:
        dates = [s.signed_on for s in get(env).statements if s.kind == kind]
        return max(dates) if dates else None

    return latest


def _leg(attr: str) -> Getter:
    def read(env: Env) -> object:
        leg = env.leg
        return None if leg is None else getattr(leg, attr)

    return read


def _ivms(side: str, name: str) -> Getter:
    # Env.tr is never None (an empty TravelRuleData stands for none): one C-level read
    return attrgetter(f"tr.{side}.{name}")


def vasp_involved(leg: CashLeg | None) -> bool | None:
    """The fact ``cash_leg.vasp_involved``: a crypto service provider moves the cash leg.

    None without a cash leg; False for fiat moved by banks (a transfer of funds, not of
    crypto-assets); otherwise whether anyone but the parties' own wallets is involved.
    """
    if leg is None:
        return None
    if leg.instrument == "fiat":
        return False
    return (
        leg.executed_by != "self_custody"
        or leg.originator_vasp is not None
        or leg.beneficiary_vasp is not None
    )


def _holder_count_after(env: Env) -> int:
    t = env.trade
    exits = t.kind == "resale" and t.seller.balance == t.quantity
    return t.instrument.holder_count + (t.buyer.balance == 0) - exits


def _denomination(env: Env) -> tuple[int, str] | None:
    inst = env.inst
    if inst.denomination is not None:
        return (inst.denomination.amount, inst.denomination.currency)
    terms = inst.asset.terms if inst.asset is not None else None
    if isinstance(terms, BondTerms):
        return (terms.face_value, terms.currency)
    if isinstance(terms, EquityTerms) and terms.principal_value is not None:
        return (terms.principal_value, terms.currency)
    return None


def _prospectus_state(env: Env) -> str | None:
    inst = env.inst
    if inst.prospectus_approved_in is not None:
        return inst.prospectus_approved_in
    return inst.home if inst.home != env.home_j else None


def _prospectus_covers_buyer(env: Env) -> bool | None:
    state = _prospectus_state(env)
    if state is None:
        return None
    residence = env.buyer.residence
    return residence == state or residence in env.inst.prospectus_notified_to


def _catalogue() -> dict[str, tuple[FactType, Getter]]:
    facts: dict[str, tuple[FactType, Getter]] = {
        "trade.kind": ("str", attrgetter("trade.kind")),
        "trade.offshore": ("bool", attrgetter("trade.offshore")),
        "trade.directed_selling_efforts": ("bool", attrgetter("trade.directed_selling_efforts")),
        "trade.issuer_approved": ("bool", attrgetter("trade.issuer_approved")),
        "trade.quantity": ("int", attrgetter("trade.quantity")),
        "instrument.kind": ("str", attrgetter("inst.kind")),
        "instrument.exemption": ("str", attrgetter("exemption")),
        "instrument.exemptions": ("set", lambda e: frozenset(e.inst.exemptions)),
        "instrument.home": ("str", attrgetter("inst.home")),
        "instrument.home_jurisdiction": ("str", attrgetter("home_j")),
        "instrument.issuer_reporting": ("bool", attrgetter("inst.issuer_reporting")),
        "instrument.offering_closed_on": ("date", attrgetter("inst.offering_closed_on")),
        "instrument.listed": ("bool", attrgetter("inst.listed")),
        "instrument.capabilities": ("set", attrgetter("inst.capabilities")),
        "instrument.holder_count": ("int", attrgetter("inst.holder_count")),
        "instrument.holder_count_after": ("int", _holder_count_after),
        "instrument.non_accredited_holder_count": (
            "int",
            lambda e: e.inst.non_accredited_holder_count,
        ),
        "instrument.offeree_count": ("int", attrgetter("inst.offeree_count")),
        "instrument.offerees_in_buyer_country": (
            "int",
            lambda e: e.inst.offerees_by_country.get(e.buyer.residence, 0),
        ),
        "instrument.non_accredited_purchaser_count": (
            "int",
            lambda e: e.inst.non_accredited_purchaser_count,
        ),
        "instrument.denomination": ("money", _denomination),
        "instrument.complex_product": ("bool", attrgetter("inst.complex_product")),
        "instrument.prospectus_approved_in": ("str", _prospectus_state),
        "instrument.prospectus_covers_buyer": ("bool", _prospectus_covers_buyer),
        "cash_leg.present": ("bool", lambda e: e.leg is not None),
        "cash_leg.currency": ("str", _leg("currency")),
        "cash_leg.amount": (
            "money",
            lambda e: None if e.leg is None else (e.leg.amount, e.leg.currency),
        ),
        "cash_leg.instrument": ("str", _leg("instrument")),
        "cash_leg.token": ("str", _leg("token")),
        "cash_leg.executed_by": ("str", _leg("executed_by")),
        "cash_leg.originator_vasp": ("str", _leg("originator_vasp")),
        "cash_leg.beneficiary_vasp": ("str", _leg("beneficiary_vasp")),
        "cash_leg.vasp_involved": ("bool", lambda e: vasp_involved(e.leg)),
        "cash_leg.beneficiary_self_hosted": ("bool", _leg("beneficiary_self_hosted")),
        "cash_leg.self_hosted_ownership_verified": (
            "bool",
            _leg("self_hosted_ownership_verified"),
        ),
        "cash_leg.cross_border": (
            "bool",
            lambda e: None if e.leg is None else e.buyer.residence != e.seller.residence,
        ),
        "travel_rule.originating_vasp": ("str", attrgetter("tr.originating_vasp")),
        "travel_rule.beneficiary_vasp": ("str", attrgetter("tr.beneficiary_vasp")),
        "sanctions.hit": ("bool", attrgetter("hit")),
    }
    facts |= _party_catalogue("buyer")
    facts |= _party_catalogue("seller")
    for side in ("originator", "beneficiary"):
        for name in _IVMS_FIELDS:
            kind: FactType = "date" if name == "date_of_birth" else "str"
            facts[f"travel_rule.{side}.{name}"] = (kind, _ivms(side, name))
    return facts


_CATALOGUE: Final = _catalogue()
FACTS: Final[Mapping[str, FactType]] = {name: kind for name, (kind, _) in _CATALOGUE.items()}
"""Every fact a predicate may name, with its type."""
GETTERS: Final[Mapping[str, Getter]] = {name: get for name, (_, get) in _CATALOGUE.items()}
"""How each fact is read from an :class:`Env` (compiled into the predicates)."""


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


@lru_cache(maxsize=8192)
def add_period(start: date, period: tuple[int, int, int]) -> date:
    """``start`` plus a (years, months, days) period, clamping to the month's end."""
    years, months, days = period
    total = start.month - 1 + months + 12 * years
    year, month = start.year + total // 12, total % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return date.fromordinal(date(year, month, day).toordinal() + days)


_NONE_HELD: Final[frozenset[ClassKey]] = frozenset()
_NO_TRAVEL_DATA: Final = TravelRuleData()
"""Stands for a trade without travel-rule data: every IVMS101 field reads as None."""


class Env:
    """What a compiled predicate reads: the trade, today, the jurisdictions, classes, FX.

    Facts are read straight from the (already validated) trade by the getters compiled
    into each predicate (:data:`GETTERS`); nothing is copied into a dictionary per trade.
    ``exemption`` is the offering exemption being judged (the instrument's own, or one of
    ``also_exempt_under``). ``buyer_classes`` / ``seller_classes`` (and ``*_verified``) are
    the (jurisdiction, class) pairs each party holds. ``used`` collects (made on first use)
    the (party, class) pairs a ``has_class`` predicate found, so the decision can say how
    each class it relied on was established.
    """

    __slots__ = (
        "buyer",
        "buyer_classes",
        "buyer_j",
        "buyer_verified",
        "exemption",
        "fx_rates",
        "hit",
        "home_j",
        "inst",
        "leg",
        "seller",
        "seller_classes",
        "seller_j",
        "seller_verified",
        "today",
        "tr",
        "trade",
        "used",
    )

    def __init__(
        self,
        trade: Trade,
        today: date,
        home_j: str | None = None,
        buyer_j: str | None = None,
        seller_j: str | None = None,
        hit: bool = False,
        exemption: str | None = None,
    ) -> None:
        self.trade = trade
        self.today = today
        self.home_j = home_j
        self.buyer_j = buyer_j
        self.seller_j = seller_j
        self.hit = hit
        inst = trade.instrument
        self.exemption: str = exemption or inst.exemption
        self.inst: Instrument = inst
        self.buyer: Party = trade.buyer
        self.seller: Party = trade.seller
        self.leg: CashLeg | None = trade.cash_leg
        self.tr: TravelRuleData = trade.travel_rule or _NO_TRAVEL_DATA
        self.fx_rates: tuple[FxRate, ...] = trade.fx_rates
        self.buyer_classes: AbstractSet[ClassKey] = _NONE_HELD
        self.seller_classes: AbstractSet[ClassKey] = _NONE_HELD
        self.buyer_verified: AbstractSet[ClassKey] = _NONE_HELD
        self.seller_verified: AbstractSet[ClassKey] = _NONE_HELD
        self.used: set[tuple[str, ClassKey]] | None = None

    def fact(self, name: str) -> object:
        """The value of fact ``name`` (KeyError for a name not in :data:`FACTS`)."""
        return GETTERS[name](self)


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


def rename_party(pred: Predicate, role: str) -> Predicate:
    """``pred`` with every ``party.*`` fact read as ``<role>.*`` (class tests)."""
    text = pred.model_dump_json() if hasattr(pred, "model_dump_json") else ""
    text = text.replace('"party.', f'"{role}.')
    renamed: Predicate = _PREDICATE_ADAPTER.validate_json(text)
    return renamed


def predicate_facts(pred: Predicate) -> set[str]:
    """Every fact name ``pred`` reads (for presence checks)."""
    if isinstance(pred, AllOf | AnyOf):
        return set().union(*(predicate_facts(p) for p in pred.of))
    if isinstance(pred, Not):
        return predicate_facts(pred.of)
    if isinstance(pred, Eq | Ne | InSet | Compare | MoneyCompare | NotExpired | Contains):
        return {pred.fact}
    if isinstance(pred, Present):
        return set(pred.facts)
    if isinstance(pred, Elapsed):
        return {pred.since}
    if isinstance(pred, MeansLimit):
        return set(pred.spend) | set(pred.means)
    return set()


def _always(env: Env) -> bool:
    return True


ALWAYS: Final[CompiledPredicate] = _always
"""The compiled form of a predicate that always holds (the engine skips calling it)."""


def _absent_or_not_expired(pred: Predicate) -> str | None:
    """The date fact of ``any[not present(F), not_expired(F)]`` (compiled as one read)."""
    if not (isinstance(pred, AnyOf) and len(pred.of) == 2):
        return None
    first, second = pred.of
    if (
        isinstance(first, Not)
        and isinstance(first.of, Present)
        and len(first.of.facts) == 1
        and isinstance(second, NotExpired)
        and second.fact == first.of.facts[0]
        and FACTS.get(second.fact) == "date"
    ):
        return second.fact
    return None


def _and(parts: tuple[CompiledPredicate, ...]) -> CompiledPredicate:
    parts = tuple(p for p in parts if p is not ALWAYS)
    if not parts:
        return ALWAYS
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        a, b = parts
        return lambda env: a(env) and b(env)
    if len(parts) == 3:
        a, b, c = parts
        return lambda env: a(env) and b(env) and c(env)

    def every(env: Env) -> bool:
        return all(p(env) for p in parts)

    return every


def _or(parts: tuple[CompiledPredicate, ...]) -> CompiledPredicate:
    if not parts:
        return lambda env: False
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        a, b = parts
        return lambda env: a(env) or b(env)

    def some(env: Env) -> bool:
        return any(p(env) for p in parts)

    return some


def compile_predicate(
    pred: Predicate, path: str, resolve_class: ClassResolver
) -> CompiledPredicate:
    """Check ``pred`` against :data:`FACTS` and compile it; PredicateError names the place.

    The predicate is first compiled into nested closures (which checks every fact, type
    and class it names), then, unless it always holds, into one Python function whose
    body is the whole predicate as a single expression (:func:`_source`): the fact
    reads become attribute chains on the :class:`Env`, ``all``/``any``/``not`` become
    ``and``/``or``/``not`` (same order, same short-circuits), and only the leaves with
    more logic (money, means limits, classes, periods, sets) stay calls to their
    closures. Both forms give the same answer and raise the same
    :class:`MissingInformation`; the single function saves a call per node.
    """
    closure = _closure(pred, path, resolve_class)
    if closure is ALWAYS:
        return ALWAYS
    names: dict[str, object] = dict(_SOURCE_GLOBALS)
    text = _source(pred, path, resolve_class, names)
    fn: CompiledPredicate = eval(f"lambda env: {text}", names)  # noqa: S307 - generated
    _SOURCES[fn] = (text, names)
    return fn


_SOURCES: Final[weakref.WeakKeyDictionary[CompiledPredicate, tuple[str, dict[str, object]]]] = (
    weakref.WeakKeyDictionary()
)
_NAME = re.compile(r"\b_([kv])(\d+)\b")


def predicate_source(pred: CompiledPredicate, prefix: str, into: dict[str, object]) -> str | None:
    """The expression a compiled predicate evaluates, for inlining into a larger function.

    Its global names get ``prefix`` and are added to ``into`` (the larger function's
    namespace). None for a predicate not made by :func:`compile_predicate`; ``True``
    for :data:`ALWAYS`.
    """
    if pred is ALWAYS:
        return "True"
    found = _SOURCES.get(pred)
    if found is None:
        return None
    text, names = found
    for name, value in names.items():
        if name.startswith("_k"):
            into[f"_{prefix}k{name[2:]}"] = value
    return _NAME.sub(lambda m: f"_{prefix}{m.group(1)}{m.group(2)}", text)


_SOURCE_GLOBALS: Final[dict[str, object]] = {"__builtins__": {"isinstance": isinstance}}
_ATTR_PATH = re.compile(r"^operator\.attrgetter\('([a-z_][a-z_.]*)'\)$")


def _inline(fact: str) -> str | None:
    """``env.<path>`` for a fact read by a plain attribute getter, else None."""
    match = _ATTR_PATH.match(repr(GETTERS[fact]))
    return None if match is None else f"env.{match.group(1)}"


def _bind(names: dict[str, object], value: object) -> str:
    """A fresh global name in the generated function's namespace bound to ``value``."""
    name = f"_k{len(names)}"
    names[name] = value
    return name


def _read(fact: str, names: dict[str, object]) -> str:
    return _inline(fact) or f"{_bind(names, GETTERS[fact])}(env)"


def _source(
    pred: Predicate, path: str, resolve_class: ClassResolver, names: dict[str, object]
) -> str:
    """``pred`` (already checked by :func:`_closure`) as one Python expression over ``env``."""
    if isinstance(pred, Const):
        return "True" if pred.value else "False"
    lapsed_or_current = _absent_or_not_expired(pred)
    if lapsed_or_current is not None:
        v = _bind(names, None).replace("_k", "_v")
        date_t = _bind(names, date)
        return (
            f"(({v} := {_read(lapsed_or_current, names)}) is None or "
            f"(isinstance({v}, {date_t}) and {v} >= env.today))"
        )
    if isinstance(pred, AllOf | AnyOf):
        parts = [_source(p, f"{path}.of[{i}]", resolve_class, names) for i, p in enumerate(pred.of)]
        if isinstance(pred, AllOf):
            parts = [p for p in parts if p != "True"]
            return "(" + " and ".join(parts) + ")" if parts else "True"
        return "(" + " or ".join(parts) + ")" if parts else "False"
    if isinstance(pred, Not):
        return f"(not {_source(pred.of, f'{path}.of', resolve_class, names)})"
    if isinstance(pred, Eq | Ne):
        read, expected = _read(pred.fact, names), _bind(names, pred.value)
        is_bool = FACTS[pred.fact] == "bool"
        if isinstance(pred, Eq):
            return f"({read} is {expected})" if is_bool else f"({read} == {expected})"
        v = _bind(names, None).replace("_k", "_v")
        differs = "is not" if is_bool else "!="
        return f"(({v} := {read}) is not None and {v} {differs} {expected})"
    if isinstance(pred, InSet):
        return f"({_read(pred.fact, names)} in {_bind(names, frozenset(pred.values))})"
    if isinstance(pred, Compare):
        v = _bind(names, None).replace("_k", "_v")
        int_t, bool_t = _bind(names, int), _bind(names, bool)
        op = {"lt": "<", "le": "<=", "gt": ">", "ge": ">="}[pred.op]
        return (
            f"(isinstance({v} := {_read(pred.fact, names)}, {int_t}) and not "
            f"isinstance({v}, {bool_t}) and {v} {op} {_bind(names, pred.value)})"
        )
    if isinstance(pred, Present):
        absent = _bind(names, _ABSENT)
        return "(" + " and ".join(f"{_read(f, names)} not in {absent}" for f in pred.facts) + ")"
    if isinstance(pred, NotExpired):
        v = _bind(names, None).replace("_k", "_v")
        return (
            f"(isinstance({v} := {_read(pred.fact, names)}, {_bind(names, date)}) "
            f"and {v} >= env.today)"
        )
    # money, means limits, classes, periods and set membership: their closure
    return f"{_bind(names, _closure(pred, path, resolve_class))}(env)"


def _closure(pred: Predicate, path: str, resolve_class: ClassResolver) -> CompiledPredicate:
    """Check ``pred`` against :data:`FACTS` and compile it into nested closures."""
    if isinstance(pred, Const):
        if pred.value:
            return ALWAYS
        return lambda env: False
    lapsed_or_current = _absent_or_not_expired(pred)
    if lapsed_or_current is not None:
        _fact_type(lapsed_or_current, f"{path}.of[1].fact", ("date",))
        get_date = GETTERS[lapsed_or_current]

        def absent_or_current(env: Env) -> bool:
            value = get_date(env)
            return value is None or (isinstance(value, date) and value >= env.today)

        return absent_or_current
    if isinstance(pred, AllOf | AnyOf):
        parts = tuple(_closure(p, f"{path}.of[{i}]", resolve_class) for i, p in enumerate(pred.of))
        return _and(parts) if isinstance(pred, AllOf) else _or(parts)
    if isinstance(pred, Not):
        inner = _closure(pred.of, f"{path}.of", resolve_class)
        return lambda env: not inner(env)
    if isinstance(pred, Eq | Ne):
        kind = _fact_type(pred.fact, f"{path}.fact", ("str", "int", "bool"))
        if not _scalar_fits(kind, pred.value):
            raise PredicateError(f"{path}.value", f"{pred.value!r} is not a {kind}")
        get, expected = GETTERS[pred.fact], pred.value
        # The value's type was checked against the fact's type above (1 == True in Python,
        # so a bool never stands for an int nor back), and each getter returns its fact's
        # type or None: bools compare by identity, the rest by equality.
        if isinstance(pred, Eq):
            if kind == "bool":
                return lambda env: get(env) is expected
            return lambda env: get(env) == expected
        if kind == "bool":
            return lambda env: (v := get(env)) is not None and v is not expected
        return lambda env: (v := get(env)) is not None and v != expected
    if isinstance(pred, InSet):
        kind = _fact_type(pred.fact, f"{path}.fact", ("str", "int", "bool"))
        for i, v in enumerate(pred.values):
            if not _scalar_fits(kind, v):
                raise PredicateError(f"{path}.values[{i}]", f"{v!r} is not a {kind}")
        get, values = GETTERS[pred.fact], frozenset(pred.values)
        return lambda env: get(env) in values
    if isinstance(pred, Compare):
        _fact_type(pred.fact, f"{path}.fact", ("int",))
        get, bound, cmp = GETTERS[pred.fact], pred.value, _CMP[pred.op]
        return lambda env: _int_cmp(get(env), bound, cmp)
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
        getters = tuple(GETTERS[n] for n in pred.facts)
        if len(getters) == 1:
            (g1,) = getters
            return lambda env: g1(env) not in _ABSENT
        if len(getters) == 2:
            g1, g2 = getters
            return lambda env: g1(env) not in _ABSENT and g2(env) not in _ABSENT
        if len(getters) == 4:
            g1, g2, g3, g4 = getters
            return lambda env: (
                g1(env) not in _ABSENT
                and g2(env) not in _ABSENT
                and g3(env) not in _ABSENT
                and g4(env) not in _ABSENT
            )
        return lambda env: all(g(env) not in _ABSENT for g in getters)
    if isinstance(pred, HasClass):
        accepted: frozenset[ClassKey] = frozenset().union(
            *(resolve_class(ref, f"{path}.any_of[{i}]") for i, ref in enumerate(pred.any_of))
        )
        party = pred.party
        held_of: Callable[[Env], AbstractSet[ClassKey]] = attrgetter(
            f"{party}_verified" if pred.verified else f"{party}_classes"
        )

        def has_class(env: Env) -> bool:
            held = held_of(env)
            if accepted.isdisjoint(held):
                return False
            used = env.used
            if used is None:
                used = env.used = set()
            used.update((party, key) for key in accepted & held)
            return True

        return has_class
    if isinstance(pred, Elapsed):
        _fact_type(pred.since, f"{path}.since", ("date",))
        try:
            period = parse_period(pred.at_least)
        except ValueError as exc:
            raise PredicateError(f"{path}.at_least", str(exc)) from None
        since = GETTERS[pred.since]
        return lambda env: _elapsed(since(env), period, env.today)
    if isinstance(pred, NotExpired):
        _fact_type(pred.fact, f"{path}.fact", ("date",))
        get = GETTERS[pred.fact]
        return lambda env: _not_expired(get(env), env.today)
    if isinstance(pred, Contains):
        _fact_type(pred.fact, f"{path}.fact", ("set",))
        get, member = GETTERS[pred.fact], pred.value
        return lambda env: _contains(get(env), member)
    raise PredicateError(path, f"unsupported predicate {type(pred).__name__}")  # pragma: no cover


_ABSENT: Final[tuple[object, ...]] = (None, "", frozenset(), ())


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
    return isinstance(value, frozenset | tuple) and member in value


def _compile_money(pred: MoneyCompare) -> CompiledPredicate:
    get, cmp, bound, currency = GETTERS[pred.fact], _CMP[pred.cmp], pred.amount, pred.currency
    limit = Fraction(bound)

    def check(env: Env) -> bool:
        value = get(env)
        if not isinstance(value, tuple):
            return False
        amount, cur = value
        if cur == currency:
            return cmp(amount, bound)
        converted = convert_money(amount, cur, currency, env.fx_rates)
        return cmp(converted, limit)

    return check


def _compile_means_limit(pred: MeansLimit) -> CompiledPredicate:
    spend, means, currency = pred.spend, pred.means, pred.currency
    share = Fraction(pred.bps, 10_000)

    def money_of(env: Env, name: str) -> Fraction | None:
        value = GETTERS[name](env)
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
