"""The data of compliance: trades, decisions, and the rule files that judge them.

Three families of models live here, all frozen pydantic v2 models that refuse unknown
fields (:class:`~bridge.model.base.CanonicalModel`):

- the **trade** (:class:`Trade`): an instrument (its kind, the offering exemption it was
  issued under, its home jurisdiction and optionally the canonical
  :class:`~bridge.model.Asset` whose own rules must hold too), a seller and a buyer
  (:class:`Party`), a quantity, an optional cash leg (:class:`CashLeg`) and the
  travel-rule data that goes with it (:class:`TravelRuleData`, IVMS101 field names);
- the **decision** (:class:`Decision`): allow, deny or needs-information, every reason
  as (canonical code, rule id, jurisdiction, citation, one-line explanation), the
  obligations it creates (reports, payloads), the operator overrides in force and the
  ids of every rule evaluated;
- the **rule file** (:class:`JurisdictionRules`): one per jurisdiction, holding investor
  classes, instrument kinds, offering exemptions and rules. A rule is an id, a scope, a
  ``when`` predicate saying whether it applies, a ``require`` predicate that must hold,
  the effect when it does not, a legal citation, effective dates and a verification
  status. Predicates are a closed language (:data:`Predicate`), never code.

Amounts are integers in minor units (cash) or base units (tokens). Dates are UTC
calendar dates; the clock is always a parameter, never read here.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, model_validator

from bridge.model.asset import Asset
from bridge.model.base import CanonicalModel
from bridge.model.enums import Capability, InvestorClass
from bridge.model.investor import Claim
from bridge.model.terms import Money
from bridge.reasons import ReasonCode
from bridge.types import Address, Amount, BasisPoints, CountryCode, CurrencyCode, JurisdictionCode

__all__ = [
    "EU_MEMBER_STATES",
    "ID_PATTERN",
    "AllOf",
    "AnyOf",
    "CashLeg",
    "Citation",
    "ClassDefinition",
    "Compare",
    "Const",
    "Contains",
    "Decision",
    "Effect",
    "Elapsed",
    "Eq",
    "ExemptionDefinition",
    "ForeignEquivalent",
    "FxRate",
    "HasClass",
    "InSet",
    "Instrument",
    "InstrumentKindDefinition",
    "InvestorClassification",
    "InvestorStatement",
    "Ivms101Person",
    "JurisdictionRule",
    "JurisdictionRules",
    "Kyc",
    "MeansLimit",
    "MoneyCompare",
    "Ne",
    "Not",
    "NotExpired",
    "Obligation",
    "ObligationKind",
    "Outcome",
    "Outflow",
    "Override",
    "Owner",
    "Party",
    "Predicate",
    "Present",
    "Reason",
    "ReasonVerification",
    "Reliance",
    "Scope",
    "StatementKind",
    "Trade",
    "TravelRuleData",
    "Verification",
]

ID_PATTERN = r"^[a-z]{2}(\.[a-z0-9_]+)+$"
"""Ids of rules, instrument kinds and exemptions: ``<jurisdiction>.<name>[.<name>...]``."""

RuleId = Annotated[str, Field(pattern=ID_PATTERN, max_length=120)]
FactName = Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]*(\.[a-z0-9_]+)+$", max_length=120)]
Verification = Literal["verified", "partial", "unverified"]
"""How far a rule's legal content was checked: read in a source, partly, or not at all."""
ReasonVerification = Literal["verified", "partial", "unverified", "token", "policy"]
"""A reason's standing: a rule of law checked to a degree, the token's own rule, or policy."""
Outcome = Literal["allow", "deny", "needs_information"]
Effect = Literal["deny", "needs_information", "report"]
ObligationKind = Literal["report", "travel_rule", "appropriateness", "legend", "record"]
"""What a platform must do: file a report, send travel-rule data, assess appropriateness,
record a holding-period legend, keep a record."""
Scope = Literal["home", "buyer", "seller", "cash_leg"]
Scalar = str | int | bool


# --------------------------------------------------------------------------- citations


class Citation(CanonicalModel):
    """Where a rule comes from: the law and its article or section, and a source to read."""

    law: str = Field(min_length=1, max_length=300, description="Statute, regulation or guidance.")
    article: str = Field(min_length=1, max_length=300, description="Article / section pinpoint.")
    source: str | None = Field(default=None, max_length=500, description="URL or source id.")
    checked_on: date | None = Field(
        default=None, description="When the rule was last checked against the source."
    )

    def __str__(self) -> str:
        return f"{self.law}, {self.article}"


# --------------------------------------------------------------------------- the trade


class InvestorClassification(CanonicalModel):
    """An investor class a party holds under one jurisdiction's law.

    ``granted_on`` starts the validity a class definition may limit (Japan's opt-up to
    特定投資家 lasts one year); ``valid_until`` ends it outright (inclusive).
    ``verified`` says the class was verified by reasonable steps (US Rule 506(c)), not
    only self-certified.
    """

    jurisdiction: JurisdictionCode
    investor_class: InvestorClass
    granted_on: date | None = None
    valid_until: date | None = None
    verified: bool = False


class Kyc(CanonicalModel):
    """The state of a party's customer due diligence."""

    status: Literal["verified", "pending", "none"] = "none"
    expires_on: date | None = Field(default=None, description="Last day the KYC is valid.")


class Owner(CanonicalModel):
    """A direct or indirect owner of a legal person (for the sanctions 50 % rule)."""

    name: str = Field(min_length=1, max_length=300)
    identifiers: tuple[str, ...] = ()
    share_bps: BasisPoints


class Outflow(CanonicalModel):
    """A past transfer out of a party's holding (for the token's volume limits).

    ``to`` is the recipient (its identity where the token counts by identity, e.g. an
    exchange's ONCHAINID); an outflow without it counts against every limit, exchange
    limits included (counting more never allows what the token refuses).
    """

    at: AwareDatetime
    amount: Amount
    to: Address | None = None


StatementKind = Literal[
    "gb_certified_hnw",
    "gb_self_certified_sophisticated",
    "gb_certified_sophisticated",
    "sg_accredited_opt_in",
]
"""Signed investor statements some classes rest on (UK FPO Art 48/50/50A, SG AI opt-in)."""


class InvestorStatement(CanonicalModel):
    """A statement the investor signed (or a certificate issued to them) and its date.

    The class it supports lasts as long as the law says from ``signed_on`` (UK certified
    high net worth and self-certified sophisticated statements: 12 months; a certificate
    of sophistication: 3 years); a lapsed statement supports nothing and the decision says
    so. ``certificate_on`` is the date of the authorised person's certificate (FPO Art 50).
    """

    kind: StatementKind
    signed_on: date
    certificate_on: date | None = None


class Party(CanonicalModel):
    """A seller or buyer: who they are, where they live, what they are, what they hold.

    ``balance`` is the identity's holding of this instrument before the trade (all its
    wallets together), so a holder using a new wallet is still an existing holder.
    ``acquired_on`` is when the units being sold were acquired (holding periods count
    from it). ``us_person`` defaults to residence in the US (Regulation S, Rule 902(k)).
    """

    name: str = Field(min_length=1, max_length=300)
    residence: CountryCode
    entity_type: Literal["natural_person", "legal_person"] = "natural_person"
    us_person: bool | None = None
    classifications: tuple[InvestorClassification, ...] = ()
    kyc: Kyc = Kyc()
    claims: tuple[Claim, ...] = ()
    identifiers: tuple[str, ...] = Field(
        default=(), description="Identifiers screened against sanctions (LEI, passport...)."
    )
    owners: tuple[Owner, ...] = ()
    wallet: Address | None = None
    balance: Amount = 0
    acquired_on: date | None = None
    affiliate: bool = False
    outflows: tuple[Outflow, ...] = ()
    identity: Address | None = Field(
        default=None, description="The on-chain identity of the party's wallet (ONCHAINID)."
    )
    token_agent: bool = Field(
        default=False,
        description="The party's wallet is an agent of the token (exempt from some limits).",
    )
    annual_income: Money | None = Field(
        default=None, description="Income (an entity: revenue) over the last year."
    )
    net_worth: Money | None = Field(
        default=None, description="Net worth (an entity: net assets), primary residence excluded."
    )
    crowdfunding_purchases_12m: Money | None = Field(
        default=None, description="Regulation CF purchases over the last 12 months, all issuers."
    )
    prior_year_income: Money | None = Field(
        default=None, description="Income in the year before the last (US: two-year income test)."
    )
    joint_income: bool = Field(
        default=False, description="annual_income / prior_year_income are joint with a spouse."
    )
    net_personal_assets: Money | None = Field(
        default=None,
        description="SG: net personal assets (primary residence counted at most SGD 1m).",
    )
    net_financial_assets: Money | None = Field(
        default=None, description="Financial assets net of related liabilities (SG)."
    )
    portfolio: Money | None = Field(
        default=None, description="Securities and cash held (HK professional investor portfolio)."
    )
    total_assets: Money | None = Field(
        default=None, description="Total assets (an entity; HK trust corporation, US entity)."
    )
    statements: tuple[InvestorStatement, ...] = Field(
        default=(), description="Signed investor statements and certificates, with their dates."
    )

    @property
    def is_us_person(self) -> bool:
        """``us_person`` if given, else residence in the United States."""
        return self.residence == "US" if self.us_person is None else self.us_person


class Instrument(CanonicalModel):
    """The security traded: kind, offering exemption, home jurisdiction and counters.

    ``kind`` and ``exemption`` are ids defined by the home jurisdiction's rule file
    (``jp.ertr``, ``us.reg_d_506c``...). The counters are the issuer's books before this
    trade: holders (identities), non-accredited holders, offerees (persons solicited,
    the buyer included) overall and per country, and non-accredited purchasers.
    """

    kind: RuleId
    exemption: RuleId
    home: JurisdictionCode
    issuer_reporting: bool = Field(
        default=False, description="The issuer has been an SEC reporting company >= 90 days."
    )
    offering_closed_on: date | None = None
    listed: bool = False
    capabilities: tuple[Capability, ...] = Field(
        default=(), description="Controls the token's chain enforces (whitelist, ...)."
    )
    holder_count: int = Field(default=0, strict=True, ge=0)
    holders_by_country: dict[CountryCode, int] = Field(default_factory=dict)
    non_accredited_holder_count: int = Field(default=0, strict=True, ge=0)
    offeree_count: int = Field(default=0, strict=True, ge=0)
    offerees_by_country: dict[CountryCode, int] = Field(default_factory=dict)
    non_accredited_purchaser_count: int = Field(default=0, strict=True, ge=0)
    asset: Asset | None = None
    also_exempt_under: tuple[RuleId, ...] = Field(
        default=(),
        description=(
            "Further offering exemptions the instrument relies on together with `exemption` "
            "(e.g. qualified investors and fewer than 150 persons per member state); a trade "
            "fits if it fits one of them."
        ),
    )
    denomination: Money | None = Field(
        default=None,
        description="Per-unit denomination; default: the asset's terms (face or principal value).",
    )
    complex_product: bool | None = Field(
        default=None, description="A complex product under MiFID II Art 25(4)(a) (None: unknown)."
    )
    prospectus_approved_in: CountryCode | None = Field(
        default=None,
        description="EU: member state whose authority approved the prospectus (default: home).",
    )
    prospectus_notified_to: tuple[CountryCode, ...] = Field(
        default=(), description="EU: host member states the prospectus was passported to."
    )

    @property
    def exemptions(self) -> tuple[str, ...]:
        """``exemption`` followed by ``also_exempt_under`` (no repeats)."""
        if not self.also_exempt_under:
            return (self.exemption,)
        extra = tuple(e for e in self.also_exempt_under if e != self.exemption)
        return (self.exemption, *dict.fromkeys(extra))

    @model_validator(mode="after")
    def _asset_agrees(self) -> Instrument:
        if self.asset is not None and not _same_home(self.asset.home_jurisdiction, self.home):
            raise ValueError(
                f"asset.home_jurisdiction: {self.asset.home_jurisdiction} differs from "
                f"instrument.home {self.home}"
            )
        return self


EU_MEMBER_STATES: frozenset[str] = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "ES",
        "FI",
        "FR",
        "GR",
        "HR",
        "HU",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
    ]
)
"""The 27 EU member states (ISO 3166-1; Greece is GR). The rule file's ``members`` is the
authority for judging; this set only lets an asset homed in a member state sit in an
instrument homed in "EU" (and back)."""


def _same_home(asset_home: str | None, home: str) -> bool:
    if asset_home is None or asset_home == home:
        return True
    pair = {asset_home, home}
    return "EU" in pair and bool(pair & EU_MEMBER_STATES)


class CashLeg(CanonicalModel):
    """The payment side of a DvP trade.

    ``executed_by`` says who moves the cash: the parties' own wallets
    (``self_custody``), a VASP/CASP, a Japanese Type II funds-transfer operator, a
    Japanese electronic-payment-instrument intermediary, or banks (``bank``: a fiat
    transfer of funds off chain, ``instrument`` "fiat"). ``originator_vasp`` and
    ``beneficiary_vasp`` are the jurisdictions of the service providers involved (for a
    bank transfer: the payer's and the payee's payment service providers; None when that
    side is self-hosted).
    """

    currency: CurrencyCode
    amount: Amount
    instrument: Literal["fiat", "stablecoin", "epi", "emt"] = "stablecoin"
    token: str | None = Field(default=None, max_length=32, description="Ticker, e.g. USDC.")
    chain: str | None = Field(default=None, max_length=64)
    executed_by: Literal["self_custody", "vasp", "jp_fto_type2", "jp_epi_intermediary", "bank"] = (
        "self_custody"
    )
    originator_vasp: JurisdictionCode | None = None
    beneficiary_vasp: JurisdictionCode | None = None
    beneficiary_self_hosted: bool = False
    self_hosted_ownership_verified: bool = False

    @model_validator(mode="after")
    def _bank_is_fiat(self) -> CashLeg:
        if (self.executed_by == "bank") != (self.instrument == "fiat"):
            raise ValueError(
                "executed_by: a bank transfer carries fiat (instrument 'fiat'), and fiat "
                "moves only by bank transfer"
            )
        return self


class Ivms101Person(CanonicalModel):
    """The IVMS101 fields of an originator or beneficiary that travel rules ask for.

    Names follow IVMS101: ``name`` (a LEGL name identifier), ``account_number``,
    ``geographic_address`` (one address line), ``national_identifier``,
    ``customer_identification``, ``date_of_birth`` and ``place_of_birth``, and
    ``country_of_residence``.
    """

    name: str | None = Field(default=None, max_length=300)
    account_number: str | None = Field(default=None, max_length=200)
    geographic_address: str | None = Field(default=None, max_length=500)
    national_identifier: str | None = Field(default=None, max_length=100)
    customer_identification: str | None = Field(default=None, max_length=100)
    date_of_birth: date | None = None
    place_of_birth: str | None = Field(default=None, max_length=200)
    country_of_residence: CountryCode | None = None


class TravelRuleData(CanonicalModel):
    """Originator and beneficiary data (IVMS101) sent with the cash leg."""

    originator: Ivms101Person = Ivms101Person()
    beneficiary: Ivms101Person = Ivms101Person()
    originating_vasp: str | None = Field(default=None, max_length=300)
    beneficiary_vasp: str | None = Field(default=None, max_length=300)


class FxRate(CanonicalModel):
    """One unit of ``base`` is worth ``numerator/denominator`` units of ``quote`` (major units)."""

    base: CurrencyCode
    quote: CurrencyCode
    numerator: int = Field(strict=True, ge=1)
    denominator: int = Field(default=1, strict=True, ge=1)
    as_of: date


class Trade(CanonicalModel):
    """A trade to judge: ``quantity`` base units of ``instrument`` from seller to buyer."""

    id: str = Field(default="trade", min_length=1, max_length=200)
    kind: Literal["primary", "resale"] = "resale"
    instrument: Instrument
    seller: Party
    buyer: Party
    quantity: Amount = Field(gt=0)
    cash_leg: CashLeg | None = None
    travel_rule: TravelRuleData | None = None
    offshore: bool = Field(default=False, description="An offshore transaction (Reg S).")
    directed_selling_efforts: bool = False
    issuer_approved: bool = False
    fx_rates: tuple[FxRate, ...] = ()

    @model_validator(mode="after")
    def _seller_holds(self) -> Trade:
        if self.kind == "resale" and self.quantity > self.seller.balance:
            raise ValueError(
                f"quantity: {self.quantity} exceeds the seller's balance {self.seller.balance}"
            )
        return self


# --------------------------------------------------------------------------- predicates


class AllOf(CanonicalModel):
    """True when every member is true (true for an empty list)."""

    op: Literal["all"]
    of: tuple[Predicate, ...]


class AnyOf(CanonicalModel):
    """True when at least one member is true (false for an empty list)."""

    op: Literal["any"]
    of: tuple[Predicate, ...]


class Not(CanonicalModel):
    """Negation."""

    op: Literal["not"]
    of: Predicate


class Eq(CanonicalModel):
    """The fact equals ``value`` (a missing fact equals nothing)."""

    op: Literal["eq"]
    fact: FactName
    value: Scalar


class Ne(CanonicalModel):
    """The fact is present and differs from ``value``."""

    op: Literal["ne"]
    fact: FactName
    value: Scalar


class InSet(CanonicalModel):
    """The fact is one of ``values``."""

    op: Literal["in"]
    fact: FactName
    values: tuple[Scalar, ...]


class Compare(CanonicalModel):
    """An integer fact compared with ``value`` (``lt``, ``le``, ``gt``, ``ge``)."""

    op: Literal["lt", "le", "gt", "ge"]
    fact: FactName
    value: int


class MoneyCompare(CanonicalModel):
    """A money fact compared with ``amount`` minor units of ``currency``.

    The fact is converted exactly with the trade's rational FX rates; when the rate needed
    is missing, the rule cannot be decided and the decision is "needs information".
    """

    op: Literal["money"]
    fact: FactName
    cmp: Literal["lt", "le", "gt", "ge"]
    amount: int = Field(strict=True, ge=0)
    currency: CurrencyCode


class Present(CanonicalModel):
    """Every listed fact is present (not None, not empty)."""

    op: Literal["present"]
    facts: tuple[FactName, ...] = Field(min_length=1)


class HasClass(CanonicalModel):
    """The party holds a valid class among ``any_of``.

    A bare class (``qualified_institutional``) is judged under the rule's jurisdiction,
    including classes that imply it (``includes``) and foreign classes that jurisdiction
    recognises (``foreign_equivalents``); ``US:accredited`` names a foreign class outright.
    """

    op: Literal["has_class"]
    party: Literal["buyer", "seller"]
    any_of: tuple[Annotated[str, Field(pattern=r"^([A-Z]{2}:)?[a-z_]+$")], ...] = Field(
        min_length=1
    )
    verified: bool = Field(default=False, description="Only verified classifications count.")


class Elapsed(CanonicalModel):
    """At least ``at_least`` (ISO 8601 ``PnYnMnD``) has passed since the date fact ``since``.

    Calendar arithmetic in UTC: P6M from 2025-01-10 is satisfied from 2025-07-10 on; a day
    that does not exist clamps to the month's end. A missing date never satisfies it.
    """

    op: Literal["elapsed"]
    since: FactName
    at_least: Annotated[str, Field(pattern=r"^P(\d+Y)?(\d+M)?(\d+D)?$", min_length=2)]


class NotExpired(CanonicalModel):
    """The date fact is on or after the evaluation date."""

    op: Literal["not_expired"]
    fact: FactName


class Contains(CanonicalModel):
    """The set-valued fact contains ``value``."""

    op: Literal["contains"]
    fact: FactName
    value: str


class MeansLimit(CanonicalModel):
    """Spending stays within a share of the party's means (investment limits).

    The sum of the ``spend`` money facts must not exceed ``bps`` basis points of the
    greatest of the ``means`` money facts, raised to ``floor`` and lowered to ``cap`` when
    given; everything is compared exactly in ``currency``. A missing spend fact counts
    as zero; missing means make the decision "needs information".
    """

    op: Literal["means_limit"]
    spend: tuple[FactName, ...] = Field(min_length=1)
    means: tuple[FactName, ...] = Field(min_length=1)
    bps: int = Field(strict=True, ge=0, le=10_000)
    currency: CurrencyCode
    floor: int | None = Field(default=None, strict=True, ge=0, description="Minor units.")
    cap: int | None = Field(default=None, strict=True, ge=0, description="Minor units.")


class Const(CanonicalModel):
    """A constant truth value."""

    op: Literal["const"]
    value: bool


Predicate = Annotated[
    AllOf
    | AnyOf
    | Not
    | Eq
    | Ne
    | InSet
    | Compare
    | MoneyCompare
    | Present
    | HasClass
    | Elapsed
    | NotExpired
    | Contains
    | MeansLimit
    | Const,
    Field(discriminator="op"),
]
"""A predicate over the trade's facts; ``op`` says which."""

for _model in (AllOf, AnyOf, Not):
    _model.model_rebuild()


# --------------------------------------------------------------------------- rule files


class ClassDefinition(CanonicalModel):
    """An investor class that exists under this jurisdiction's law."""

    investor_class: InvestorClass
    label: str = Field(max_length=300)
    includes: tuple[InvestorClass, ...] = Field(
        default=(), description="Narrower classes whose members also belong to this one."
    )
    valid_for: str | None = Field(
        default=None,
        pattern=r"^P(\d+Y)?(\d+M)?(\d+D)?$",
        description="How long a grant lasts from granted_on (e.g. P1Y).",
    )
    criteria: str = Field(default="", max_length=2000, description="The test, in words.")
    citation: Citation
    verification: Verification
    note: str = Field(default="", max_length=2000)
    qualifies_by: Predicate | None = Field(
        default=None,
        description=(
            "The class's test on the investor's facts, over `party.*` facts (read as the "
            "buyer's or the seller's). When the investor gives the facts, they decide; a "
            "class label alone is relied on as a declaration and the decision says so."
        ),
    )


class ForeignEquivalent(CanonicalModel):
    """Foreign classes this jurisdiction treats as its own ``investor_class`` (conservative)."""

    investor_class: InvestorClass
    foreign: tuple[Annotated[str, Field(pattern=r"^[A-Z]{2}:[a-z_]+$")], ...] = Field(min_length=1)
    rationale: str = Field(max_length=2000)
    verification: Verification


class InstrumentKindDefinition(CanonicalModel):
    """A kind of instrument this jurisdiction's rules know."""

    id: RuleId
    label: str = Field(max_length=300)
    citation: Citation
    verification: Verification
    note: str = Field(default="", max_length=2000)


class ExemptionDefinition(CanonicalModel):
    """An offering route or exemption and the instrument kinds it covers."""

    id: RuleId
    label: str = Field(max_length=300)
    instrument_kinds: tuple[RuleId, ...] = Field(min_length=1)
    resale_conditions: str = Field(default="", max_length=2000)
    citation: Citation
    verification: Verification
    note: str = Field(default="", max_length=2000)


class JurisdictionRule(CanonicalModel):
    """One legal rule as data.

    The rule is considered when its jurisdiction plays one of the roles in ``scope`` for
    the trade (home of the instrument, residence of buyer or seller, jurisdiction of a
    cash-leg service provider) and the date is within ``effective_from`` ..
    ``effective_to`` (inclusive). It applies when ``when`` holds, and then fails when
    ``require`` does not hold; a failure has ``effect`` (deny, needs information, or a
    reporting obligation) with canonical ``code`` and the one-line ``explanation``.
    """

    id: RuleId
    title: str = Field(max_length=300)
    category: Literal[
        "eligibility",
        "holding_period",
        "distribution_period",
        "holder_limit",
        "offering_limit",
        "cross_border",
        "cash_leg",
        "travel_rule",
        "sanctions",
        "kyc",
        "technical_control",
        "report",
    ]
    scope: tuple[Scope, ...] = Field(min_length=1)
    when: Predicate = Const(op="const", value=True)
    require: Predicate
    effect: Effect = "deny"
    obligation: ObligationKind = Field(
        default="report", description="With effect `report`: what the obligation is."
    )
    code: ReasonCode
    explanation: str = Field(min_length=1, max_length=500)
    parameters: dict[str, Scalar] = Field(default_factory=dict)
    citation: Citation
    effective_from: date | None = None
    effective_to: date | None = None
    verification: Verification
    note: str = Field(default="", max_length=2000)

    @model_validator(mode="after")
    def _dates(self) -> JurisdictionRule:
        if self.effective_from and self.effective_to and self.effective_to < self.effective_from:
            raise ValueError("effective_to: must not be before effective_from")
        return self


class JurisdictionRules(CanonicalModel):
    """One rule file: a jurisdiction's classes, instrument kinds, exemptions and rules.

    A base file defines the jurisdiction (``name`` set). An operator override file for
    the same jurisdiction (loaded later) adds or replaces entries by id and may
    ``withdraw`` rules; every such change is listed in each decision it touches.
    ``members`` lists the countries judged under this file (the EU's member states).
    """

    format: Literal["stbridge.jurisdiction-rules/v1"]
    jurisdiction: JurisdictionCode
    name: str | None = Field(default=None, max_length=200)
    members: tuple[CountryCode, ...] = ()
    notes: tuple[str, ...] = ()
    investor_classes: tuple[ClassDefinition, ...] = ()
    foreign_equivalents: tuple[ForeignEquivalent, ...] = ()
    instrument_kinds: tuple[InstrumentKindDefinition, ...] = ()
    exemptions: tuple[ExemptionDefinition, ...] = ()
    rules: tuple[JurisdictionRule, ...] = ()
    withdraw: tuple[RuleId, ...] = ()


# --------------------------------------------------------------------------- decisions


class Reason(CanonicalModel):
    """Why a trade is not (yet) allowed, under which rule and which law."""

    code: ReasonCode
    rule_id: str = Field(max_length=120)
    jurisdiction: JurisdictionCode | None = Field(
        default=None, description="Whose law; None for the token's own rules or the engine."
    )
    origin: Literal["law", "token", "engine"] = "law"
    effect: Literal["deny", "needs_information"]
    citation: Citation
    explanation: str = Field(max_length=2000)
    eligible_from: date | None = Field(
        default=None, description="First day a time-bound rule stops refusing."
    )
    verification: ReasonVerification = "verified"


class Obligation(CanonicalModel):
    """Something the trade obliges the platform to do (a report, a payload to send...)."""

    rule_id: str = Field(max_length=120)
    jurisdiction: JurisdictionCode | None = None
    kind: ObligationKind = "report"
    citation: Citation
    explanation: str = Field(max_length=2000)
    verification: Verification = "verified"


class Reliance(CanonicalModel):
    """How a party's investor class that a rule relied on was established.

    ``facts``: derived from the numbers or statements the party gave (``detail`` says
    which); ``declaration``: only a class label was given, so the decision relies on the
    party's (or its platform's) declaration; ``verified_declaration``: a label marked as
    verified by reasonable steps. ``facts_contradict``: a label was given but the
    party's own facts do not meet the test, so the label was not used.
    """

    party: Literal["buyer", "seller"]
    jurisdiction: JurisdictionCode
    investor_class: InvestorClass
    basis: Literal["facts", "declaration", "verified_declaration", "facts_contradict"]
    detail: str = Field(default="", max_length=2000)


class Override(CanonicalModel):
    """An operator file changed a rule: added, replaced or withdrew it."""

    rule_id: str = Field(max_length=120)
    jurisdiction: JurisdictionCode
    action: Literal["added", "replaced", "withdrawn"]
    file: str = Field(max_length=1000)
    replaced_file: str | None = Field(default=None, max_length=1000)


class Decision(CanonicalModel):
    """The verdict on a trade at a moment, with every reason and what was looked at."""

    trade_id: str = Field(max_length=200)
    at: AwareDatetime
    outcome: Outcome
    reasons: tuple[Reason, ...] = ()
    obligations: tuple[Obligation, ...] = ()
    reliance: tuple[Reliance, ...] = Field(
        default=(),
        description="How each investor class the rules consulted was established.",
    )
    overrides: tuple[Override, ...] = Field(
        default=(), description="Operator changes to the rules of the jurisdictions in play."
    )
    jurisdictions: tuple[JurisdictionCode, ...] = Field(
        default=(), description="The jurisdictions whose rules were consulted."
    )
    rules_evaluated: tuple[str, ...] = Field(
        default=(),
        description=(
            "Every rule considered: in scope for a jurisdiction in play and in force at `at` "
            "(its `when` decided whether it applied), plus the token's own rules."
        ),
    )

    @model_validator(mode="after")
    def _outcome_matches(self) -> Decision:
        effects = {r.effect for r in self.reasons}
        expected: Outcome = (
            "deny"
            if "deny" in effects
            else "needs_information"
            if "needs_information" in effects
            else "allow"
        )
        if self.outcome != expected:
            raise ValueError(f"outcome: {self.outcome} contradicts the reasons ({expected})")
        return self

    @property
    def allowed(self) -> bool:
        """True when the trade may proceed."""
        return self.outcome == "allow"
