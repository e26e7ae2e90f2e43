"""The translator: a canonical asset -> a deployment plan for another standard + a loss report.

:func:`translate` is pure. It builds the target's :mod:`~bridge.translate.plan` from the
source reading, and with it the reading the target adapter will give once the plan is
deployed (:attr:`Translation.expected`). The loss report lists, one entry per feature:

- ``scope="reading"``: the target's reading differs from the source's in this feature
  (the target cannot express it, or only approximately, or adds a restriction of its own);
  these entries are exactly :func:`~bridge.translate.features.differences` of the source
  and the expected reading, and they are empty exactly when the capability matrix says the
  target expresses everything the source uses (:func:`~bridge.translate.matrix.unexpressed`);
- ``scope="split"``: a rule the target carries, whose state spans chains once the supply
  is split (holder counts, balance caps per identity, supply caps, volume windows): each
  chain counts only its own holders and units;
- ``scope="in_flight"``: holder state that a move does not carry (freezes, partial
  freezes, locks and open escrows, pending approvals, partitions), and whether each
  current holder is already eligible on the target.

Each entry says what happens instead: ``enforced_off_chain`` (naming the relayer's
compliance rule, ``token.<kind>`` as :mod:`bridge.compliance.engine` names the home asset's
rules), ``approximated`` (how) or ``lost``. A lossy translation is refused with
:class:`LossyTranslation` unless the caller allows the loss kinds (or all).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, date, datetime
from typing import Literal

from pydantic import Field

from bridge.errors import InvalidInput, PermanentError
from bridge.model import (
    AllowListRule,
    Asset,
    AssetRef,
    BondTerms,
    Capability,
    ClaimType,
    CountryAllowRule,
    CountryDenyRule,
    Document,
    EquityTerms,
    EvmChain,
    EvmContractLocator,
    Holding,
    IssuerApprovalRule,
    LockupRule,
    MaxBalanceRule,
    MaxHoldersRule,
    RequiredClaimsRule,
    Rule,
    Standard,
    SupplyCapRule,
    VolumeLimitRule,
)
from bridge.model.base import CanonicalModel
from bridge.translate.features import (
    Feature,
    LossKind,
    Profile,
    differences,
    feature_kinds,
    profile,
)
from bridge.translate.matrix import (
    SECURITY_STANDARDS,
    Handling,
    family_of,
    limits,
    support,
)
from bridge.translate.plan import (
    Erc1400Plan,
    Erc1404Plan,
    Erc3643Plan,
    IbetBondPlan,
    IbetSharePlan,
    Lockup,
    ModuleCall,
    ModulePlan,
    Plan,
    RegulatedAsaPlan,
)
from bridge.types import UINT64_MAX, alpha2_to_numeric, to_checksum_address, validate_evm_address

__all__ = [
    "AllowLoss",
    "LossEntry",
    "LossReport",
    "LossyTranslation",
    "Translation",
    "expected_asset",
    "translate",
]

Scope = Literal["reading", "split", "in_flight"]
AllowLoss = Literal["all"] | Collection[LossKind | str] | None
"""What losses a caller accepts: ``"all"``, a collection of loss kinds, or None (none)."""


class LossEntry(CanonicalModel):
    """One thing the target does not carry as the source has it, and what happens instead."""

    kind: LossKind
    feature: Feature
    scope: Scope
    handling: Handling
    off_chain_rule: str | None = Field(
        default=None, description="The relayer's compliance rule, when enforced off chain."
    )
    detail: str = Field(max_length=2000)
    source_value: str | None = None
    target_value: str | None = None
    holder: str | None = None


class LossReport(CanonicalModel):
    """Every loss of one translation (see the module docstring for the three scopes)."""

    source_standard: Standard
    target_standard: Standard
    entries: tuple[LossEntry, ...] = ()

    @property
    def reading_features(self) -> frozenset[Feature]:
        """Features where the target's reading differs from the source's."""
        return frozenset(e.feature for e in self.entries if e.scope == "reading")

    @property
    def kinds(self) -> frozenset[LossKind]:
        """Every loss kind present."""
        return frozenset(e.kind for e in self.entries)

    @property
    def lossless(self) -> bool:
        """True when nothing at all is lost or changed."""
        return not self.entries

    def unaccepted(self, allow: AllowLoss) -> tuple[LossEntry, ...]:
        """Entries whose kind ``allow`` does not accept."""
        if allow == "all":
            return ()
        accepted = {LossKind(k) for k in (allow or ())}
        return tuple(e for e in self.entries if e.kind not in accepted)


class LossyTranslation(PermanentError):
    """A translation would lose features the caller did not accept; ``losses`` lists them."""

    def __init__(self, report: LossReport, losses: Sequence[LossEntry]) -> None:
        kinds = sorted({e.kind.value for e in losses})
        names = ", ".join(sorted({f"{e.kind.value}:{e.feature.value}" for e in losses}))
        super().__init__(
            f"translation {report.source_standard.value} -> {report.target_standard.value} "
            f"has {len(losses)} loss(es) not accepted: {names}; accept them with "
            f"--allow-loss {','.join(kinds)} (or --allow-loss all)"
        )
        self.report = report
        self.losses = tuple(losses)


class Translation(CanonicalModel):
    """The result of :func:`translate`: the plan, the report, and the expected reading."""

    source: AssetRef
    source_standard: Standard
    target_standard: Standard
    plan: Plan
    report: LossReport
    expected: Profile
    source_profile: Profile


# ---------------------------------------------------------------------------------------
# amounts and helpers
# ---------------------------------------------------------------------------------------


def _target_decimals(source_decimals: int, target: Standard) -> int:
    lim = limits(target)
    if lim.fixed_decimals is not None:
        return lim.fixed_decimals
    return min(source_decimals, lim.max_decimals)


def _scaler(source_decimals: int, target_decimals: int) -> _Scale:
    return _Scale(source_decimals, target_decimals)


class _Scale:
    """Base units of the source -> base units of the target (rounded down)."""

    def __init__(self, source: int, target: int) -> None:
        self.shift = target - source

    def __call__(self, amount: int) -> int:
        if self.shift >= 0:
            return int(amount * 10**self.shift)
        return int(amount // 10 ** (-self.shift))


def _first(rules: Sequence[Rule], kind: type) -> Rule | None:
    for rule in rules:
        if isinstance(rule, kind):
            return rule
    return None


def _same_family(address: str, family: str) -> bool:
    evm = address.startswith("0x")
    return evm == (family == "evm")


def _truncate(text: str, max_bytes: int | None) -> str:
    if max_bytes is None:
        return text
    raw = text.encode()[:max_bytes]
    return raw.decode("utf-8", errors="ignore")


def _yyyymmdd(value: date | None) -> str:
    return "" if value is None else value.strftime("%Y%m%d")


_TOPICS: dict[ClaimType, int] = {
    ClaimType.KYC: 1,
    ClaimType.ACCREDITED: 2,
    ClaimType.JURISDICTION: 3,
}
"""Claim type -> the claim topic the planned T-REX suites use (adapters' DEFAULT_TOPIC_MAP)."""


_SENTINEL_CHAIN = EvmChain(chain_id=1, name="expected")
_SENTINEL_LOCATOR = EvmContractLocator(address="0x" + "00" * 20)

_CONTROLS: dict[Standard, frozenset[Capability]] = {
    Standard.ERC3643: frozenset(
        {
            Capability.MINT,
            Capability.BURN,
            Capability.PAUSE,
            Capability.ADDRESS_FREEZE,
            Capability.PARTIAL_FREEZE,
            Capability.FORCED_TRANSFER,
            Capability.RECOVERY,
            Capability.IDENTITY_REGISTRATION,
        }
    ),
    Standard.ERC1400: frozenset(
        {
            Capability.MINT,
            Capability.BURN,
            Capability.FORCED_TRANSFER,
            Capability.PARTITIONS,
            Capability.PAUSE,
            Capability.WHITELIST,
            Capability.LOCKS,
            Capability.DOCUMENTS,
        }
    ),
    Standard.ERC1404: frozenset(
        {Capability.MINT, Capability.BURN, Capability.PAUSE, Capability.WHITELIST, Capability.LOCKS}
    ),
    Standard.IBET_SHARE: frozenset(
        {
            Capability.MINT,
            Capability.BURN,
            Capability.FORCED_TRANSFER,
            Capability.LOCKS,
            Capability.APPROVAL_FLOW,
            Capability.PAUSE,
            Capability.IDENTITY_REGISTRATION,
        }
    ),
    Standard.REGULATED_ASA: frozenset(
        {
            Capability.MINT,
            Capability.BURN,
            Capability.PAUSE,
            Capability.ADDRESS_FREEZE,
            Capability.FORCED_TRANSFER,
            Capability.CLAWBACK,
            Capability.WHITELIST,
            Capability.OPT_IN,
        }
    ),
}
"""The controls each deployed target declares (as its adapter reads them)."""
_CONTROLS[Standard.IBET_BOND] = _CONTROLS[Standard.IBET_SHARE]


# ---------------------------------------------------------------------------------------
# plans, per target
# ---------------------------------------------------------------------------------------


def _halted(asset: Asset) -> bool:
    return asset.paused or not asset.transferable


def _plan_erc3643(asset: Asset, scale: _Scale, decimals: int) -> Erc3643Plan:
    rules = asset.rules
    family = "evm"
    claims: set[ClaimType] = set()
    for rule in rules:
        if isinstance(rule, RequiredClaimsRule):
            claims |= set(rule.claim_types)
    topics = tuple(sorted(_TOPICS[c] for c in claims if c in _TOPICS))
    modules: list[ModulePlan] = []
    allow = _first(rules, CountryAllowRule)
    if isinstance(allow, CountryAllowRule):
        codes = tuple(alpha2_to_numeric(c) for c in allow.countries)
        modules.append(
            ModulePlan(
                name="CountryAllowModule",
                calls=(ModuleCall(function="batchAllowCountries", args=(codes,)),),
            )
        )
    deny = _first(rules, CountryDenyRule)
    if isinstance(deny, CountryDenyRule):
        codes = tuple(alpha2_to_numeric(c) for c in deny.countries)
        modules.append(
            ModulePlan(
                name="CountryRestrictModule",
                calls=(ModuleCall(function="batchRestrictCountries", args=(codes,)),),
            )
        )
    cap = _first(rules, MaxBalanceRule)
    if isinstance(cap, MaxBalanceRule) and scale(cap.limit) > 0:
        modules.append(
            ModulePlan(
                name="MaxBalanceModule",
                calls=(ModuleCall(function="setMaxBalance", args=(scale(cap.limit),)),),
            )
        )
    supply = _first(rules, SupplyCapRule)
    if isinstance(supply, SupplyCapRule):
        modules.append(
            ModulePlan(
                name="SupplyLimitModule",
                calls=(ModuleCall(function="setSupplyLimit", args=(scale(supply.limit),)),),
            )
        )
    windows: dict[int, int] = {}
    for rule in rules:
        if isinstance(rule, VolumeLimitRule) and len(windows) < 4 and rule.window_seconds < 2**32:
            windows.setdefault(rule.window_seconds, scale(rule.amount))
    if windows:
        modules.append(
            ModulePlan(
                name="TimeTransfersLimitsModule",
                calls=tuple(
                    ModuleCall(function="setTimeTransferLimit", args=((w, v),))
                    for w, v in sorted(windows.items())
                ),
            )
        )
    listed = _first(rules, AllowListRule)
    if isinstance(listed, AllowListRule):
        users = tuple(a for a in listed.addresses if _same_family(a, family))
        calls = (ModuleCall(function="batchAllowUsers", args=(users,)),) if users else ()
        modules.append(ModulePlan(name="TransferRestrictModule", calls=calls))
    if _first(rules, IssuerApprovalRule) is not None:
        modules.append(ModulePlan(name="ConditionalTransferModule"))
    return Erc3643Plan(
        name=asset.name,
        symbol=asset.symbol,
        decimals=decimals,
        paused=_halted(asset),
        claim_topics=topics,
        modules=tuple(modules),
    )


def _lockups(asset: Asset, family: str) -> tuple[Lockup, ...]:
    out: dict[str, int] = {}
    for rule in asset.rules:
        if (
            isinstance(rule, LockupRule)
            and rule.holder is not None
            and rule.until is not None
            and _same_family(rule.holder, family)
        ):
            out.setdefault(rule.holder, int(rule.until.timestamp()))
    return tuple(Lockup(holder=h, until=u) for h, u in sorted(out.items()) if u >= 1)


def _whitelist(asset: Asset, family: str) -> tuple[str, ...]:
    listed = _first(asset.rules, AllowListRule)
    if not isinstance(listed, AllowListRule):
        return ()
    return tuple(sorted({a for a in listed.addresses if _same_family(a, family)}))


def _evm_documents(asset: Asset) -> tuple[Document, ...]:
    out: list[Document] = []
    seen: set[str] = set()
    for doc in asset.documents:
        if not doc.name.isascii() or not 0 < len(doc.name) <= 32 or doc.name in seen:
            continue
        if doc.hash is not None and len(doc.hash) != 64:
            continue
        seen.add(doc.name)
        out.append(
            Document(
                name=doc.name,
                uri=doc.uri,
                hash=doc.hash,
                hash_alg="sha256" if doc.hash is not None else None,
            )
        )
    return tuple(out)


def _plan_erc1400(asset: Asset, decimals: int) -> Erc1400Plan:
    return Erc1400Plan(
        name=asset.name,
        symbol=asset.symbol,
        decimals=decimals,
        paused=_halted(asset),
        whitelist=_whitelist(asset, "evm"),
        lockups=_lockups(asset, "evm"),
        documents=_evm_documents(asset),
    )


def _plan_erc1404(asset: Asset, decimals: int) -> Erc1404Plan:
    cap = next(
        (r for r in asset.rules if isinstance(r, MaxHoldersRule) and r.country is None), None
    )
    return Erc1404Plan(
        name=asset.name,
        symbol=asset.symbol,
        decimals=decimals,
        paused=_halted(asset),
        max_holders=cap.limit if cap is not None else 0,
        whitelist=_whitelist(asset, "evm"),
        lockups=_lockups(asset, "evm"),
    )


def _ibet_common(asset: Asset, issuer: str | None) -> dict[str, object]:
    listed = _first(asset.rules, AllowListRule) is not None
    return {
        "name": asset.name,
        "symbol": asset.symbol,
        "paused": _halted(asset),
        "approval_required": _first(asset.rules, IssuerApprovalRule) is not None,
        "require_personal_info": listed,
        "registered": _whitelist(asset, "evm") if listed else (),
        "issuer": issuer,
    }


def _plan_ibet_share(asset: Asset, issuer: str | None) -> IbetSharePlan:
    terms = asset.terms
    fields: dict[str, object] = {}
    if isinstance(terms, EquityTerms) and terms.currency == "JPY":
        fields = {
            "issue_price": terms.issue_price or 0,
            "principal_value": terms.principal_value or 0,
            "dividends": terms.dividend_per_share or 0,
            "dividend_record_date": _yyyymmdd(terms.dividend_record_date),
            "dividend_payment_date": _yyyymmdd(terms.dividend_payment_date),
            "cancellation_date": _yyyymmdd(terms.cancellation_date),
        }
    return IbetSharePlan.model_validate({**_ibet_common(asset, issuer), **fields})


def _mmdd(values: Sequence[str]) -> tuple[str, ...]:
    return tuple(v for v in values if len(v) == 4 and v.isdigit())[:12]


def _plan_ibet_bond(asset: Asset, issuer: str | None) -> IbetBondPlan:
    terms = asset.terms
    fields: dict[str, object] = {}
    if isinstance(terms, BondTerms):
        fields = {
            "face_value": terms.face_value,
            "face_value_currency": terms.currency,
            "redemption_date": _yyyymmdd(terms.maturity_date),
            "redemption_value": terms.redemption_value or 0,
            "redemption_value_currency": terms.redemption_currency or "JPY",
            "interest_rate": terms.coupon_rate_ppm or 0,
            "interest_payment_dates": _mmdd(terms.coupon_payment_dates),
            "interest_payment_currency": terms.interest_currency or "JPY",
        }
    return IbetBondPlan.model_validate({**_ibet_common(asset, issuer), **fields})


def _plan_regulated_asa(asset: Asset, scale: _Scale, decimals: int) -> RegulatedAsaPlan:
    rules = asset.rules
    supply = _first(rules, SupplyCapRule)
    capacity = UINT64_MAX
    if isinstance(supply, SupplyCapRule) and 1 <= scale(supply.limit) <= UINT64_MAX:
        capacity = scale(supply.limit)
    holders = next((r for r in rules if isinstance(r, MaxHoldersRule) and r.country is None), None)
    balance = _first(rules, MaxBalanceRule)
    countries = _first(rules, CountryAllowRule)
    return RegulatedAsaPlan(
        name=_truncate(asset.name, 32),
        symbol=_truncate(asset.symbol, 8),
        decimals=decimals,
        paused=_halted(asset),
        capacity=capacity,
        max_holders=holders.limit if holders is not None else 0,
        max_balance=(
            min(scale(balance.limit), UINT64_MAX) if isinstance(balance, MaxBalanceRule) else 0
        ),
        countries=countries.countries if isinstance(countries, CountryAllowRule) else (),
        terms=asset.terms,
        identifiers=asset.identifiers,
        home_jurisdiction=asset.home_jurisdiction,
    )


def _plan(asset: Asset, target: Standard, issuer: str | None) -> Plan:
    decimals = _target_decimals(asset.decimals, target)
    scale = _scaler(asset.decimals, decimals)
    if target is Standard.ERC3643:
        return _plan_erc3643(asset, scale, decimals)
    if target is Standard.ERC1400:
        return _plan_erc1400(asset, decimals)
    if target is Standard.ERC1404:
        return _plan_erc1404(asset, decimals)
    if target is Standard.IBET_SHARE:
        return _plan_ibet_share(asset, issuer)
    if target is Standard.IBET_BOND:
        return _plan_ibet_bond(asset, issuer)
    return _plan_regulated_asa(asset, scale, decimals)


# ---------------------------------------------------------------------------------------
# the reading a deployed plan gives
# ---------------------------------------------------------------------------------------


def _date(text: str) -> date | None:
    return None if not text else date(int(text[:4]), int(text[4:6]), int(text[6:]))


def _expected_rules(plan: Plan) -> tuple[list[Rule], object]:
    rules: list[Rule] = []
    terms: object = None
    if isinstance(plan, Erc3643Plan):
        by_topic = {v: k for k, v in _TOPICS.items()}
        if plan.claim_topics:
            rules.append(
                RequiredClaimsRule(
                    claim_types=tuple(by_topic[t] for t in plan.claim_topics),
                    topics=plan.claim_topics,
                )
            )
        for module in plan.modules:
            args = [c.args[0] for c in module.calls]
            if module.name == "CountryAllowModule":
                rules.append(CountryAllowRule(countries=_alpha2(args[0])))
            elif module.name == "CountryRestrictModule":
                rules.append(CountryDenyRule(countries=_alpha2(args[0])))
            elif module.name == "MaxBalanceModule":
                rules.append(MaxBalanceRule(limit=_int(args[0]), per="identity"))
            elif module.name == "SupplyLimitModule":
                rules.append(SupplyCapRule(limit=_int(args[0])))
            elif module.name == "TimeTransfersLimitsModule":
                for pair in args:
                    assert isinstance(pair, tuple)
                    window, value = pair
                    rules.append(
                        VolumeLimitRule(
                            window_seconds=_int(window),
                            amount=_int(value),
                            window="fixed",
                            per="identity",
                            agents_exempt=True,
                        )
                    )
            elif module.name == "TransferRestrictModule":
                users = tuple(str(a) for a in args[0]) if args else ()  # type: ignore[union-attr]
                rules.append(AllowListRule(addresses=users, scope="either"))
            elif module.name == "ConditionalTransferModule":
                rules.append(IssuerApprovalRule())
    elif isinstance(plan, Erc1400Plan | Erc1404Plan):
        rules.append(AllowListRule(addresses=plan.whitelist, scope="both"))
        if isinstance(plan, Erc1404Plan) and plan.max_holders:
            rules.append(MaxHoldersRule(limit=plan.max_holders))
        for lock in plan.lockups:
            until = datetime.fromtimestamp(lock.until, tz=UTC)
            rules.append(LockupRule(until=until, holder=lock.holder))
    elif isinstance(plan, IbetSharePlan | IbetBondPlan):
        if plan.approval_required:
            rules.append(IssuerApprovalRule())
        if plan.require_personal_info:
            # ibet admits a recipient registered with the issuer, or the issuer itself; the
            # sender need not be registered (adapters.evm.ibet reads it so)
            admitted = {*plan.registered, *((plan.issuer,) if plan.issuer else ())}
            rules.append(AllowListRule(addresses=tuple(sorted(admitted)), scope="recipient"))
        if isinstance(plan, IbetSharePlan):
            terms = EquityTerms(
                currency="JPY",
                issue_price=plan.issue_price,
                principal_value=plan.principal_value,
                dividend_per_share=plan.dividends,
                dividend_record_date=_date(plan.dividend_record_date),
                dividend_payment_date=_date(plan.dividend_payment_date),
                cancellation_date=_date(plan.cancellation_date),
            )
        else:
            terms = BondTerms(
                currency=plan.face_value_currency,
                face_value=plan.face_value,
                coupon_rate_ppm=plan.interest_rate,
                coupon_payment_dates=plan.interest_payment_dates,
                maturity_date=_date(plan.redemption_date),
                redemption_value=plan.redemption_value,
                interest_currency=plan.interest_payment_currency,
                redemption_currency=plan.redemption_value_currency,
            )
    else:
        rules.append(SupplyCapRule(limit=plan.capacity))
        rules.append(AllowListRule(addresses=(), scope="both"))
        rules.append(RequiredClaimsRule(claim_types=(ClaimType.KYC,)))
        if plan.countries:
            rules.append(CountryAllowRule(countries=plan.countries))
        if plan.max_holders:
            rules.append(MaxHoldersRule(limit=plan.max_holders))
        if plan.max_balance:
            rules.append(MaxBalanceRule(limit=plan.max_balance, per="wallet"))
        terms = plan.terms
    return rules, terms


def _int(value: object) -> int:
    assert isinstance(value, int)
    return value


def _alpha2(codes: object) -> tuple[str, ...]:
    from bridge.types import numeric_to_alpha2

    assert isinstance(codes, tuple)
    return tuple(c for c in (numeric_to_alpha2(int(n)) for n in codes) if c is not None)


def expected_asset(plan: Plan) -> Asset:
    """The canonical asset the target adapter reads once ``plan`` is deployed (on a
    placeholder chain and address: only its features are meant to be compared)."""
    rules, terms = _expected_rules(plan)
    standard = Standard(plan.kind)
    ibet = isinstance(plan, IbetSharePlan | IbetBondPlan)
    documents: tuple[Document, ...] = plan.documents if isinstance(plan, Erc1400Plan) else ()
    identifiers = plan.identifiers if isinstance(plan, RegulatedAsaPlan) else ()
    home = (
        "JP" if ibet else (plan.home_jurisdiction if isinstance(plan, RegulatedAsaPlan) else None)
    )
    return Asset.model_validate(
        {
            "chain": _SENTINEL_CHAIN,
            "locator": _SENTINEL_LOCATOR,
            "standard": standard,
            "name": plan.name,
            "symbol": plan.symbol,
            "decimals": 0 if ibet else plan.decimals,  # type: ignore[union-attr]
            "total_supply": 0,
            "paused": plan.paused and not ibet,
            "transferable": not (plan.paused and ibet),
            "home_jurisdiction": home,
            "identifiers": identifiers,
            "terms": terms,
            "documents": documents,
            "rules": tuple(rules),
            "controls": tuple(_CONTROLS[standard]),
        }
    )


# ---------------------------------------------------------------------------------------
# the report
# ---------------------------------------------------------------------------------------


def _empty(value: str) -> bool:
    return value in ("[]", "null", "false", "[[], []]", "0")


def _reading_entry(target: Standard, diff_feature: Feature, src: str, tgt: str) -> LossEntry:
    cell = support(target, diff_feature)
    kind = feature_kinds()[diff_feature]
    if _empty(src) and not _empty(tgt):
        handling: Handling = "approximated"
        detail = f"the target always has this, where the source has none: {cell.note}"
        rule = None
    elif cell.level == "native":
        handling = "approximated"
        detail = f"carried within the target's limits ({cell.note}); the value changes"
        rule = None
    else:
        handling = cell.handling
        rule = cell.off_chain_rule if handling == "enforced_off_chain" else None
        detail = cell.note
    return LossEntry(
        kind=kind,
        feature=diff_feature,
        scope="reading",
        handling=handling,
        off_chain_rule=rule,
        detail=detail,
        source_value=src,
        target_value=tgt,
    )


_SPLIT: dict[type, tuple[Feature, str, str]] = {
    MaxHoldersRule: (
        Feature.HOLDER_CAP,
        "token.max_holders",
        "each chain counts only its own holders; the relayer counts holders on both before "
        "a move adds one",
    ),
    MaxBalanceRule: (
        Feature.BALANCE_CAP,
        "token.max_balance",
        "each chain caps only what an investor holds there; the relayer adds both chains' "
        "balances before a move",
    ),
    SupplyCapRule: (
        Feature.SUPPLY_CAP,
        "token.supply_cap",
        "the mirror mints only what is locked on the home chain, so the cap holds for the sum",
    ),
    VolumeLimitRule: (
        Feature.VOLUME_LIMIT,
        "token.volume_limit",
        "each chain counts only its own outflows in a window; the relayer counts moves and "
        "swaps it runs on both",
    ),
}


def _split_entries(asset: Asset, carried: Profile) -> list[LossEntry]:
    out: list[LossEntry] = []
    seen: set[Feature] = set()
    for rule in asset.rules:
        found = _SPLIT.get(type(rule))
        if found is None:
            continue
        feature, rule_id, how = found
        if feature in seen or carried[feature] in ((), None):
            continue
        seen.add(feature)
        out.append(
            LossEntry(
                kind=LossKind.CROSS_CHAIN_STATE,
                feature=feature,
                scope="split",
                handling="enforced_off_chain",
                off_chain_rule=rule_id,
                detail=f"state spans chains after a split: {how}",
            )
        )
    return out


def _eligible_on_target(plan: Plan, holder: str, family: str) -> tuple[bool, str]:
    if not _same_family(holder, family):
        return False, f"needs an account on the target's chain ({family}) and registration there"
    if isinstance(plan, Erc3643Plan):
        return False, "must be registered in the target's identity registry (ONCHAINID, claims)"
    if isinstance(plan, RegulatedAsaPlan):
        return False, "needs a whitelist entry (country, class, KYC expiry) and an opt-in"
    if isinstance(plan, Erc1400Plan | Erc1404Plan):
        listed = holder.lower() in {a.lower() for a in plan.whitelist}
        return listed, "whitelisted by the plan" if listed else "is not on the target's whitelist"
    if plan.require_personal_info:
        admitted = {*plan.registered, *((plan.issuer,) if plan.issuer else ())}
        registered = holder.lower() in {a.lower() for a in admitted}
        return registered, (
            "registered by the plan" if registered else "not registered in PersonalInfo"
        )
    return True, "the target requires no registration"


def _in_flight_entries(
    holdings: Sequence[Holding], plan: Plan, target: Standard
) -> list[LossEntry]:
    out: list[LossEntry] = []
    family = family_of(target)
    for h in holdings:

        def add(
            kind: LossKind,
            feature: Feature,
            handling: Handling,
            rule: str | None,
            text: str,
            h: Holding = h,
        ) -> None:
            out.append(
                LossEntry(
                    kind=kind,
                    feature=feature,
                    scope="in_flight",
                    handling=handling,
                    off_chain_rule=rule,
                    detail=text,
                    holder=h.holder,
                )
            )

        if h.balance or h.total_locked or h.pending:
            eligible, why = _eligible_on_target(plan, h.holder, family)
            if not eligible:
                add(
                    LossKind.IDENTITY,
                    Feature.IDENTITY,
                    "enforced_off_chain",
                    "token.required_claims",
                    f"holder not yet eligible on the target: {why}; the relayer checks "
                    "eligibility on the target before it mints",
                )
        if h.frozen:
            feature = Feature.FREEZE if h.frozen == h.balance else Feature.PARTIAL_FREEZE
            add(
                LossKind.IN_FLIGHT,
                feature,
                "enforced_off_chain",
                "move.free_units",
                f"{h.frozen} frozen units are not moved: a move takes free units only, the "
                "freeze stays on the home chain",
            )
        if h.locked:
            add(
                LossKind.IN_FLIGHT,
                Feature.LOCKUP,
                "enforced_off_chain",
                "move.free_units",
                f"{h.total_locked} units in locks or open escrows ({', '.join(sorted(h.locked))}) "
                "are not moved: they settle or refund on the home chain",
            )
        if h.pending:
            add(
                LossKind.IN_FLIGHT,
                Feature.TRANSFER_APPROVAL,
                "enforced_off_chain",
                "move.free_units",
                f"{h.pending} units pending approval are not moved: the approval is settled or "
                "cancelled on the home chain first",
            )
        if len(h.by_partition) > 1 and not isinstance(plan, Erc1400Plan):
            add(
                LossKind.PARTITIONS,
                Feature.PARTITIONS,
                "lost",
                None,
                f"{len(h.by_partition)} partitions merge into one balance on the target",
            )
    return out


def _ibet_issuer(asset: Asset, target: Standard, issuer: str | None) -> str | None:
    """The issuer an ibet plan names (None for other targets)."""
    if target not in (Standard.IBET_SHARE, Standard.IBET_BOND):
        return None
    if issuer is not None:
        try:
            return validate_evm_address(issuer)
        except ValueError as exc:
            raise InvalidInput(
                "issuer", f"the EVM account that deploys the ibet token: {exc}"
            ) from None
    if asset.issuer is not None and _same_family(asset.issuer, "evm"):
        return to_checksum_address(asset.issuer)
    if _first(asset.rules, AllowListRule) is not None:
        raise InvalidInput(
            "issuer",
            "required for an ibet target that requires registration when the source's issuer "
            "is not an EVM account: ibet always admits its issuer as a recipient, so the plan "
            "must name the account that will deploy it",
        )
    return None


def translate(
    asset: Asset,
    target: Standard | str,
    *,
    holdings: Sequence[Holding] = (),
    allow_loss: AllowLoss = None,
    issuer: str | None = None,
) -> Translation:
    """Plan ``asset`` (a source reading) in the ``target`` standard, with its loss report.

    ``holdings`` (optional) are the source's current holdings, for the in-flight and
    eligibility entries. ``issuer`` is the account that will deploy and own an ibet target
    (ibet reads its issuer among the admitted recipients); by default the source's issuer
    when it is an EVM account (the home issuer mints the mirror, as in ibet's own bridge).
    An ibet target that requires registration needs one of the two. Raises
    :class:`LossyTranslation` when the report has an entry whose kind ``allow_loss`` does
    not accept (``"all"`` accepts every kind), and ``InvalidInput`` for a target the
    translator does not plan or an ``issuer`` that is missing or not an EVM account.
    """
    try:
        standard = Standard(target)
    except ValueError:
        raise InvalidInput("target", f"not a known standard: {target!r}") from None
    if standard not in SECURITY_STANDARDS:
        planned = ", ".join(s.value for s in SECURITY_STANDARDS)
        raise InvalidInput("target", f"the translator plans security standards: {planned}")
    if asset.terms is not None and asset.terms.kind == "cash":
        raise InvalidInput("asset", "a cash token is not translated (it is a swap's cash leg)")
    plan = _plan(asset, standard, _ibet_issuer(asset, standard, issuer))
    source_profile = profile(asset)
    expected = profile(expected_asset(plan))
    entries = [
        _reading_entry(standard, d.feature, d.source, d.target)
        for d in differences(source_profile, expected)
    ]
    entries += _split_entries(asset, expected)
    entries += _in_flight_entries(holdings, plan, standard)
    report = LossReport(
        source_standard=asset.standard, target_standard=standard, entries=tuple(entries)
    )
    refused = report.unaccepted(allow_loss)
    if refused:
        raise LossyTranslation(report, refused)
    return Translation(
        source=asset.ref,
        source_standard=asset.standard,
        target_standard=standard,
        plan=plan,
        report=report,
        expected=expected,
        source_profile=source_profile,
    )
