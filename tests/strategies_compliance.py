"""Builders and hypothesis strategies for the compliance tests.

The builders make a valid, allowed-by-default trade with one line per scenario: both
parties KYC'd until 2030, nobody sanctioned, resale, a chain that enforces an allow list.
Scenario tests change exactly the fact they exercise. The strategies draw trades over
every shipped jurisdiction, exemption, class and cash leg.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any, get_args

from hypothesis import strategies as st

from bridge.compliance.engine import Engine
from bridge.compliance.loader import (
    RuleBook,
    default_rules_dir,
    default_sanctions_file,
    load_rules,
)
from bridge.compliance.model import (
    CashLeg,
    Instrument,
    InvestorClassification,
    InvestorStatement,
    Ivms101Person,
    Kyc,
    Party,
    StatementKind,
    Trade,
    TravelRuleData,
)
from bridge.compliance.sanctions import load_sanctions
from bridge.model import (
    Asset,
    CountryAllowRule,
    CountryDenyRule,
    EvmChain,
    EvmContractLocator,
    MaxBalanceRule,
    MaxHoldersRule,
    Standard,
)
from bridge.model.enums import Capability, InvestorClass
from bridge.model.terms import Money

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
"""Default evaluation moment for scenarios."""

FULL_TRAVEL_RULE = TravelRuleData(
    originator=Ivms101Person(
        name="Alice Originator",
        account_number="acct-1",
        geographic_address="1-1 Chiyoda, Tokyo",
        national_identifier="ID123",
        date_of_birth=date(1980, 1, 1),
        place_of_birth="Osaka",
    ),
    beneficiary=Ivms101Person(name="Bob Beneficiary", account_number="acct-2"),
    originating_vasp="Origin VASP KK",
    beneficiary_vasp="Beneficiary VASP Pte",
)


@lru_cache(maxsize=1)
def shipped_rules() -> RuleBook:
    """The shipped jurisdiction files, loaded once per test session."""
    return load_rules([default_rules_dir()])


@lru_cache(maxsize=1)
def engine() -> Engine:
    """The engine over the shipped rules and the demo sanctions list."""
    return Engine(shipped_rules(), load_sanctions([default_sanctions_file()]))


def cls(jurisdiction: str, investor_class: str, **kw: Any) -> InvestorClassification:
    """A classification, e.g. ``cls("JP", "qualified_institutional")``."""
    return InvestorClassification(
        jurisdiction=jurisdiction, investor_class=InvestorClass(investor_class), **kw
    )


def party(name: str, residence: str, *classes: InvestorClassification, **kw: Any) -> Party:
    """A KYC'd party resident in ``residence`` holding ``classes``."""
    kw.setdefault("kyc", Kyc(status="verified", expires_on=date(2030, 1, 1)))
    return Party(name=name, residence=residence, classifications=classes, **kw)


def seller(residence: str = "JP", *classes: InvestorClassification, **kw: Any) -> Party:
    """A seller holding 100 units acquired on 2024-01-01 (long before ``AT``)."""
    kw.setdefault("balance", 100)
    kw.setdefault("acquired_on", date(2024, 1, 1))
    return party(kw.pop("name", "Seller Co"), residence, *classes, **kw)


def buyer(residence: str = "JP", *classes: InvestorClassification, **kw: Any) -> Party:
    """A buyer with no holding yet."""
    return party(kw.pop("name", "Buyer Co"), residence, *classes, **kw)


def instrument(kind: str, exemption: str, home: str, **kw: Any) -> Instrument:
    """An instrument on a chain that enforces an allow list, with 10 holders."""
    kw.setdefault("capabilities", (Capability.WHITELIST,))
    kw.setdefault("holder_count", 10)
    return Instrument(kind=kind, exemption=exemption, home=home, **kw)


def trade(inst: Instrument, s: Party, b: Party, **kw: Any) -> Trade:
    """A resale of 10 units unless told otherwise."""
    kw.setdefault("quantity", 10)
    return Trade(instrument=inst, seller=s, buyer=b, **kw)


def cash(currency: str, amount: int, **kw: Any) -> CashLeg:
    """A stablecoin cash leg between two VASPs unless told otherwise."""
    return CashLeg(currency=currency, amount=amount, **kw)


def vasp_cash(currency: str, amount: int, country: str) -> CashLeg:
    """A cash leg executed by VASPs, the originator's and the beneficiary's both in
    ``country``."""
    return cash(
        currency, amount, executed_by="vasp", originator_vasp=country, beneficiary_vasp=country
    )


# ------------------------------------------------------------------ strategies

EXEMPTIONS: dict[str, list[tuple[str, str]]] = {}
"""Per home jurisdiction: (instrument kind, exemption) pairs the shipped files define."""


def _pairs() -> dict[str, list[tuple[str, str]]]:
    if not EXEMPTIONS:
        for code, doc in shipped_rules().jurisdictions.items():
            EXEMPTIONS[code] = [(k, e.id) for e in doc.exemptions for k in e.instrument_kinds]
    return EXEMPTIONS


def _class_pairs() -> list[tuple[str, str]]:
    return sorted(
        (code, c.value) for code, classes in shipped_rules().classes.items() for c in classes
    )


RESIDENCES = ("JP", "US", "DE", "FR", "SG", "CH", "HK", "GB")


@st.composite
def classifications(draw: st.DrawFn, residence: str) -> tuple[InvestorClassification, ...]:
    """Zero to two known classifications, mostly of the party's own jurisdiction."""
    pairs = _class_pairs()
    chosen = draw(st.lists(st.sampled_from(pairs), max_size=2, unique=True))
    return tuple(
        cls(j, c, granted_on=date(2025, 12, 1), verified=draw(st.booleans())) for j, c in chosen
    )


STRONG = (
    cls("JP", "qualified_institutional"),
    cls("US", "accredited", verified=True),
    cls("US", "qualified_institutional"),
    cls("EU", "professional"),
    cls("SG", "institutional"),
    cls("SG", "accredited"),
    cls("HK", "professional"),
    cls("CH", "professional"),
    cls("GB", "professional"),
)
"""The strongest class of each jurisdiction: a buyer holding all is eligible almost anywhere."""


@st.composite
def trades(draw: st.DrawFn, likely_allowed: bool = False) -> Trade:
    """Any trade over the shipped jurisdictions (known inputs only).

    ``likely_allowed`` gives the buyer three to six of the jurisdictions' strongest classes
    and complete travel-rule data, so that properties about allowed trades are not starved.
    """
    home = draw(st.sampled_from(sorted(_pairs())))
    kind, exemption = draw(st.sampled_from(_pairs()[home]))
    home_code = home
    b_res = draw(st.sampled_from(RESIDENCES))
    s_res = draw(st.sampled_from(RESIDENCES))
    acquired = draw(st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 6, 1)))
    closed = draw(st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 6, 1)))
    inst = instrument(
        kind,
        exemption,
        home_code,
        issuer_reporting=draw(st.booleans()),
        offering_closed_on=closed,
        listed=draw(st.booleans()),
        holder_count=draw(st.integers(0, 2100)),
        non_accredited_holder_count=draw(st.integers(0, 600)),
        offeree_count=draw(st.integers(0, 600)),
        offerees_by_country={b_res: draw(st.integers(0, 200))},
        non_accredited_purchaser_count=draw(st.integers(0, 40)),
    )
    qty = draw(st.integers(1, 100))
    s = seller(
        s_res,
        *draw(classifications(s_res)),
        acquired_on=acquired,
        affiliate=draw(st.booleans()),
        entity_type=draw(st.sampled_from(["natural_person", "legal_person"])),
    )
    b_classes = (
        tuple(draw(st.lists(st.sampled_from(STRONG), min_size=3, max_size=6, unique=True)))
        if likely_allowed
        else draw(classifications(b_res))
    )
    b = buyer(
        b_res,
        *b_classes,
        balance=draw(st.sampled_from([0, 0, 5])),
        entity_type=draw(st.sampled_from(["natural_person", "legal_person"])),
        **draw(investor_facts()),
    )
    leg = None
    if draw(st.booleans()):
        currency = draw(st.sampled_from(["JPY", "USD", "EUR", "SGD", "HKD", "CHF"]))
        vasps = draw(st.sampled_from([None, "JP", "US", "DE", "SG", "HK", "CH", "GB"]))
        leg = cash(
            currency,
            draw(st.integers(0, 50_000_000)),
            executed_by=draw(st.sampled_from(["self_custody", "vasp", "jp_fto_type2"])),
            originator_vasp=vasps,
            beneficiary_vasp=vasps,
        )
    travel = FULL_TRAVEL_RULE if likely_allowed else draw(st.sampled_from([None, FULL_TRAVEL_RULE]))
    if draw(st.booleans()):
        inst = inst.model_copy(update={"asset": draw(token_assets(home_code))})
    return trade(
        inst,
        s,
        b,
        quantity=qty,
        kind=draw(st.sampled_from(["resale", "primary"])),
        cash_leg=leg,
        travel_rule=travel,
        offshore=draw(st.booleans()),
    )


_FACT_CURRENCIES = ("USD", "HKD", "SGD", "GBP", "EUR")


@st.composite
def investor_facts(draw: st.DrawFn) -> dict[str, Any]:
    """Nothing (most often), or some of the amounts and statements class tests read."""
    if draw(st.integers(0, 2)) != 0:
        return {}

    def money() -> Money | None:
        if not draw(st.booleans()):
            return None
        # around the thresholds: HKD 8m, SGD 2m / 300k, USD 1m / 200k, GBP 100k
        return Money(
            amount=draw(st.integers(0, 1_500_000_000)),
            currency=draw(st.sampled_from(_FACT_CURRENCIES)),
        )

    statements = tuple(
        InvestorStatement(kind=kind, signed_on=signed)
        for kind, signed in draw(
            st.lists(
                st.tuples(
                    st.sampled_from(list(get_args(StatementKind))),
                    st.dates(min_value=date(2022, 1, 1), max_value=date(2026, 6, 1)),
                ),
                max_size=2,
            )
        )
    )
    return {
        "portfolio": money(),
        "net_worth": money(),
        "annual_income": money(),
        "prior_year_income": money(),
        "net_personal_assets": money(),
        "total_assets": money(),
        "statements": statements,
    }


@st.composite
def token_assets(draw: st.DrawFn, home: str) -> Asset:
    """A canonical asset homed in ``home`` carrying zero to three of its own rules."""
    rule_st = st.one_of(
        st.builds(
            CountryAllowRule,
            countries=st.lists(st.sampled_from(RESIDENCES), min_size=1, max_size=4).map(tuple),
        ),
        st.builds(
            CountryDenyRule,
            countries=st.lists(st.sampled_from(RESIDENCES), min_size=1, max_size=2).map(tuple),
        ),
        st.builds(MaxHoldersRule, limit=st.integers(0, 2200)),
        st.builds(MaxBalanceRule, limit=st.integers(0, 150)),
    )
    return Asset(
        chain=EvmChain(chain_id=1),
        locator=EvmContractLocator(address="0x4444444444444444444444444444444444444444"),
        standard=Standard.ERC3643,
        name="Token",
        symbol="TKN",
        decimals=0,
        total_supply=1_000_000,
        home_jurisdiction=home,
        rules=tuple(draw(st.lists(rule_st, max_size=3))),
    )


moments = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)
"""Evaluation moments around the scenario dates."""


# ------------------------------------------------------------------ assertions


def decide(t: Trade, at: datetime = AT) -> Any:
    """The shipped engine's decision on ``t`` at ``at``."""
    return engine().evaluate(t, at)


def reason(decision: Any, rule_id: str) -> Any:
    """The decision's reason from ``rule_id``; fails the test when there is none."""
    found = [r for r in decision.reasons if r.rule_id == rule_id]
    assert found, f"no reason from {rule_id}: {decision.outcome} {decision.reasons}"
    return found[0]


def denied_by(decision: Any, rule_id: str, code: str) -> Any:
    """Assert ``decision`` denies with ``code`` from ``rule_id``; return that reason."""
    assert decision.outcome == "deny", decision
    r = reason(decision, rule_id)
    assert r.code.value == code, r
    assert r.citation.law
    assert r.citation.article
    return r


def allowed_after(decision: Any, rule_id: str) -> None:
    """Assert ``decision`` allows, and that ``rule_id`` was evaluated and did not object."""
    assert decision.outcome == "allow", decision.reasons
    assert rule_id in decision.rules_evaluated, decision.rules_evaluated
    assert all(r.rule_id != rule_id for r in decision.reasons)
