"""The compliance engine: ``evaluate(trade, at) -> Decision``, pure and deterministic.

Order of work for one trade (nothing here reads the clock, the network or a file):

1. Resolve the jurisdictions in play: the instrument's home, the buyer's and the
   seller's residence (a member state resolves to the EU file), and the cash leg's
   service providers. Anything unknown is a deny naming exactly what is unknown: a
   jurisdiction, an investor classification, an instrument kind or an exemption.
2. Screen both parties (names, identifiers, wallets, owners >= 50 %) against the
   sanctions list; the result is the fact ``sanctions.hit``.
3. Build the facts once, then run every rule of every jurisdiction in play whose scope
   matches the role that jurisdiction plays and whose dates cover ``at``; a rule whose
   ``when`` holds and whose ``require`` fails gives a reason (deny / needs information)
   or an obligation (report).
4. Enforce the token's own canonical rules (:data:`bridge.model.Rule`): country allow
   and deny lists, lock-ups, holder and balance caps... A trade is refused if either
   the law or the token would refuse it.
5. The outcome is deny if any reason denies, else needs-information if any reason asks
   for information, else allow. Every failing rule is reported, not only the first.

Investor classes across borders: a rule asks for a class of its own jurisdiction;
a party's foreign class counts only where that jurisdiction's file lists it under
``foreign_equivalents`` (a conservative, documented mapping), or where the rule names
the foreign class outright (``US:accredited``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path

from bridge.compliance.loader import (
    CompiledRule,
    RuleBook,
    default_rules_dir,
    default_sanctions_file,
    load_rules,
)
from bridge.compliance.model import (
    Citation,
    Decision,
    Obligation,
    Outcome,
    Party,
    Reason,
    Trade,
    Verification,
)
from bridge.compliance.predicates import ClassKey, Env, MissingInformation, add_period
from bridge.compliance.sanctions import SanctionsList, load_sanctions
from bridge.errors import InvalidInput
from bridge.model import rules as tr
from bridge.model.enums import ClaimType, InvestorClass
from bridge.model.terms import Money
from bridge.reasons import ReasonCode

__all__ = ["ENGINE_CITATION", "Engine", "default_engine", "evaluate"]

ENGINE_CITATION = Citation(
    law="stbridge compliance policy (deny by default)",
    article="specs/jurisdictions/README.md, section 'Unknown inputs'",
)
"""Cited by reasons the engine itself gives (unknown inputs): a policy, not a statute."""

_ASSET_RULES_LAW = "Token transfer restrictions (the asset's own canonical rules)"

_CLAIM_CLASSES: dict[ClaimType, frozenset[str]] = {
    ClaimType.ACCREDITED: frozenset({InvestorClass.ACCREDITED.value}),
    ClaimType.QUALIFIED_INVESTOR: frozenset(
        {
            InvestorClass.QUALIFIED.value,
            InvestorClass.QUALIFIED_INSTITUTIONAL.value,
            InvestorClass.QUALIFIED_PURCHASER.value,
        }
    ),
    ClaimType.PROFESSIONAL: frozenset({InvestorClass.PROFESSIONAL.value}),
}


class Engine:
    """A loaded rule book and sanctions list; :meth:`evaluate` judges trades."""

    def __init__(self, rules: RuleBook, sanctions: SanctionsList | None = None) -> None:
        self.rules = rules
        self.sanctions = sanctions if sanctions is not None else SanctionsList()
        self._scope_cache: dict[tuple[str, frozenset[str]], tuple[CompiledRule, ...]] = {}

    # ------------------------------------------------------------------ public

    def evaluate(self, trade: Trade, at: datetime) -> Decision:
        """Judge ``trade`` at the moment ``at`` (timezone-aware)."""
        if not isinstance(at, datetime) or at.tzinfo is None:
            raise InvalidInput("at", "must be a timezone-aware datetime", value=at)
        at = at.astimezone(UTC)
        today = at.date()
        book = self.rules
        reasons: list[Reason] = []
        obligations: list[Obligation] = []

        inst = trade.instrument
        home = book.resolve(inst.home)
        buyer_j = book.resolve(trade.buyer.residence)
        seller_j = book.resolve(trade.seller.residence)
        for label, code, resolved in (
            ("instrument.home", inst.home, home),
            ("buyer.residence", trade.buyer.residence, buyer_j),
            ("seller.residence", trade.seller.residence, seller_j),
        ):
            if resolved is None:
                reasons.append(_unknown(ReasonCode.UNKNOWN_JURISDICTION, label, code))
        cash_js: set[str] = set()
        leg = trade.cash_leg
        if leg is not None:
            for label, vasp in (
                ("cash_leg.originator_vasp", leg.originator_vasp),
                ("cash_leg.beneficiary_vasp", leg.beneficiary_vasp),
            ):
                if vasp is None:
                    continue
                resolved = book.resolve(vasp)
                if resolved is None:
                    reasons.append(_unknown(ReasonCode.UNKNOWN_JURISDICTION, label, vasp))
                else:
                    cash_js.add(resolved)
        if home is not None:
            reasons.extend(self._check_instrument(trade, home))
        classes: dict[str, frozenset[ClassKey]] = {}
        verified: dict[str, frozenset[ClassKey]] = {}
        for role, party in (("buyer", trade.buyer), ("seller", trade.seller)):
            valid, valid_verified, problems = self._classes(role, party, today)
            classes[role], verified[role] = valid, valid_verified
            reasons.extend(problems)

        hits = (
            self.sanctions.screen("buyer", trade.buyer).hits
            + self.sanctions.screen("seller", trade.seller).hits
        )
        facts = _facts(trade, buyer_j, seller_j, bool(hits))
        env = Env(facts, today, classes, verified, trade.fx_rates)

        roles: dict[str, set[str]] = {
            "home": {home} if home else set(),
            "buyer": {buyer_j} if buyer_j else set(),
            "seller": {seller_j} if seller_j else set(),
            "cash_leg": cash_js,
        }
        in_play = sorted(set().union(*roles.values()))
        evaluated: list[str] = []
        for code in in_play:
            played = frozenset(role for role, codes in roles.items() if code in codes)
            for compiled in self._in_scope(code, played):
                rule = compiled.rule
                if rule.effective_from and today < rule.effective_from:
                    continue
                if rule.effective_to and today > rule.effective_to:
                    continue
                evaluated.append(rule.id)
                outcome = self._run(compiled, env, hits)
                if isinstance(outcome, Reason):
                    reasons.append(outcome)
                elif isinstance(outcome, Obligation):
                    obligations.append(outcome)

        if inst.asset is not None:
            token_reasons, token_ids = _token_rules(trade, at, bool(hits), home)
            reasons.extend(token_reasons)
            evaluated.extend(token_ids)

        reasons.sort(key=lambda r: (r.effect != "deny", r.rule_id, r.explanation))
        effects = {r.effect for r in reasons}
        verdict: Outcome = (
            "deny"
            if "deny" in effects
            else "needs_information"
            if "needs_information" in effects
            else "allow"
        )
        overrides = tuple(o for o in book.overrides if o.jurisdiction in in_play)
        return Decision(
            trade_id=trade.id,
            at=at,
            outcome=verdict,
            reasons=tuple(reasons),
            obligations=tuple(sorted(obligations, key=lambda o: o.rule_id)),
            overrides=overrides,
            jurisdictions=tuple(in_play),
            rules_evaluated=tuple(sorted(set(evaluated))),
        )

    # ------------------------------------------------------------------ steps

    def _in_scope(self, code: str, played: frozenset[str]) -> tuple[CompiledRule, ...]:
        """Rules of ``code`` whose scope names one of the roles it plays (cached)."""
        key = (code, played)
        found = self._scope_cache.get(key)
        if found is None:
            found = tuple(
                c for c in self.rules.rules.get(code, ()) if not played.isdisjoint(c.rule.scope)
            )
            self._scope_cache[key] = found
        return found

    def _check_instrument(self, trade: Trade, home: str) -> list[Reason]:
        doc = self.rules.jurisdictions[home]
        inst = trade.instrument
        kinds = {k.id for k in doc.instrument_kinds}
        exemptions = {e.id: e for e in doc.exemptions}
        out = []
        if inst.kind not in kinds:
            out.append(
                _unknown(
                    ReasonCode.UNKNOWN_INSTRUMENT,
                    "instrument.kind",
                    inst.kind,
                    f"not an instrument kind defined for {home}",
                )
            )
        exemption = exemptions.get(inst.exemption)
        if exemption is None:
            out.append(
                _unknown(
                    ReasonCode.UNKNOWN_INSTRUMENT,
                    "instrument.exemption",
                    inst.exemption,
                    f"not an offering exemption defined for {home}",
                )
            )
        elif inst.kind in kinds and inst.kind not in exemption.instrument_kinds:
            out.append(
                _unknown(
                    ReasonCode.UNKNOWN_INSTRUMENT,
                    "instrument.exemption",
                    inst.exemption,
                    f"does not cover instrument kind {inst.kind}",
                )
            )
        return out

    def _classes(
        self, role: str, party: Party, today: date
    ) -> tuple[frozenset[ClassKey], frozenset[ClassKey], list[Reason]]:
        book = self.rules
        valid: set[ClassKey] = set()
        valid_verified: set[ClassKey] = set()
        problems: list[Reason] = []
        for i, c in enumerate(party.classifications):
            label = f"{role}.classifications[{i}]"
            jur = book.resolve(c.jurisdiction)
            if jur is None:
                problems.append(
                    _unknown(
                        ReasonCode.UNKNOWN_JURISDICTION,
                        f"{label}.jurisdiction",
                        c.jurisdiction,
                    )
                )
                continue
            if c.investor_class not in book.classes[jur]:
                problems.append(
                    _unknown(
                        ReasonCode.UNKNOWN_CLASSIFICATION,
                        label,
                        f"{jur}:{c.investor_class.value}",
                        f"{c.investor_class.value} is not an investor class of {jur}",
                    )
                )
                continue
            if c.valid_until is not None and today > c.valid_until:
                continue
            key = (jur, c.investor_class.value)
            period = book.class_periods.get(key)
            if period is not None and (
                c.granted_on is None or today >= add_period(c.granted_on, period)
            ):
                continue
            valid.add(key)
            if c.verified:
                valid_verified.add(key)
        return frozenset(valid), frozenset(valid_verified), problems

    def _run(
        self, compiled: CompiledRule, env: Env, hits: tuple[str, ...]
    ) -> Reason | Obligation | None:
        rule = compiled.rule
        try:
            if not compiled.when(env) or compiled.require(env):
                return None
        except MissingInformation as exc:
            return Reason(
                code=ReasonCode.INFORMATION_MISSING,
                rule_id=rule.id,
                jurisdiction=compiled.jurisdiction,
                effect="needs_information",
                citation=rule.citation,
                explanation=f"{rule.title}: cannot decide without {exc.what}",
                verification=rule.verification,
            )
        explanation = rule.explanation
        eligible_from = None
        if compiled.periods:
            dates = []
            for fact, period in compiled.periods:
                since = env.facts.get(fact)
                if isinstance(since, date):
                    dates.append(add_period(since, period))
            if dates:
                eligible_from = max(dates)
                explanation += f" (eligible from {eligible_from.isoformat()})"
            else:
                explanation += " (the acquisition date is missing)"
        if rule.category == "sanctions" and hits:
            explanation += ": " + "; ".join(hits)
        if rule.effect == "report":
            return Obligation(
                rule_id=rule.id,
                jurisdiction=compiled.jurisdiction,
                citation=rule.citation,
                explanation=explanation,
            )
        return Reason(
            code=rule.code,
            rule_id=rule.id,
            jurisdiction=compiled.jurisdiction,
            effect=rule.effect,
            citation=rule.citation,
            explanation=explanation,
            eligible_from=eligible_from,
            verification=rule.verification,
        )


def _unknown(code: ReasonCode, field: str, value: str, why: str | None = None) -> Reason:
    what = {
        ReasonCode.UNKNOWN_JURISDICTION: "no rules are loaded for this jurisdiction",
        ReasonCode.UNKNOWN_CLASSIFICATION: "unknown investor classification",
        ReasonCode.UNKNOWN_INSTRUMENT: "unknown instrument",
    }[code]
    return Reason(
        code=code,
        rule_id=f"engine.{code.value.lower()}",
        jurisdiction=None,
        origin="engine",
        effect="deny",
        citation=ENGINE_CITATION,
        explanation=f"{field} = {value}: {why or what}",
    )


def _party_facts(prefix: str, party: Party, jur: str | None) -> dict[str, object]:
    return {
        f"{prefix}.residence": party.residence,
        f"{prefix}.jurisdiction": jur,
        f"{prefix}.us_person": party.is_us_person,
        f"{prefix}.entity_type": party.entity_type,
        f"{prefix}.kyc_status": party.kyc.status,
        f"{prefix}.kyc_expires_on": party.kyc.expires_on,
        f"{prefix}.affiliate": party.affiliate,
        f"{prefix}.acquired_on": party.acquired_on,
        f"{prefix}.balance": party.balance,
        f"{prefix}.wallet": party.wallet,
        f"{prefix}.annual_income": _money(party.annual_income),
        f"{prefix}.net_worth": _money(party.net_worth),
        f"{prefix}.crowdfunding_purchases_12m": _money(party.crowdfunding_purchases_12m),
    }


def _money(value: Money | None) -> tuple[int, str] | None:
    return None if value is None else (value.amount, value.currency)


def _facts(trade: Trade, buyer_j: str | None, seller_j: str | None, hit: bool) -> dict[str, object]:
    inst = trade.instrument
    buyer_new = trade.buyer.balance == 0
    seller_exits = trade.kind == "resale" and trade.seller.balance == trade.quantity
    facts: dict[str, object] = {
        "trade.kind": trade.kind,
        "trade.offshore": trade.offshore,
        "trade.directed_selling_efforts": trade.directed_selling_efforts,
        "trade.issuer_approved": trade.issuer_approved,
        "trade.quantity": trade.quantity,
        "instrument.kind": inst.kind,
        "instrument.exemption": inst.exemption,
        "instrument.home": inst.home,
        "instrument.issuer_reporting": inst.issuer_reporting,
        "instrument.offering_closed_on": inst.offering_closed_on,
        "instrument.listed": inst.listed,
        "instrument.capabilities": frozenset(c.value for c in inst.capabilities),
        "instrument.holder_count": inst.holder_count,
        "instrument.holder_count_after": inst.holder_count + buyer_new - seller_exits,
        "instrument.non_accredited_holder_count": inst.non_accredited_holder_count,
        "instrument.offeree_count": inst.offeree_count,
        "instrument.offerees_in_buyer_country": inst.offerees_by_country.get(
            trade.buyer.residence, 0
        ),
        "instrument.non_accredited_purchaser_count": inst.non_accredited_purchaser_count,
        "sanctions.hit": hit,
        "buyer.is_new_holder": buyer_new,
        "buyer.exits": False,
        "seller.is_new_holder": False,
        "seller.exits": seller_exits,
        "cash_leg.present": trade.cash_leg is not None,
    }
    facts |= _party_facts("buyer", trade.buyer, buyer_j)
    facts |= _party_facts("seller", trade.seller, seller_j)
    leg = trade.cash_leg
    if leg is not None:
        facts |= {
            "cash_leg.currency": leg.currency,
            "cash_leg.amount": (leg.amount, leg.currency),
            "cash_leg.instrument": leg.instrument,
            "cash_leg.token": leg.token,
            "cash_leg.executed_by": leg.executed_by,
            "cash_leg.originator_vasp": leg.originator_vasp,
            "cash_leg.beneficiary_vasp": leg.beneficiary_vasp,
            "cash_leg.vasp_involved": leg.executed_by != "self_custody"
            or leg.originator_vasp is not None
            or leg.beneficiary_vasp is not None,
            "cash_leg.beneficiary_self_hosted": leg.beneficiary_self_hosted,
            "cash_leg.self_hosted_ownership_verified": leg.self_hosted_ownership_verified,
            "cash_leg.cross_border": trade.buyer.residence != trade.seller.residence,
        }
    tr_data = trade.travel_rule
    if tr_data is not None:
        facts["travel_rule.originating_vasp"] = tr_data.originating_vasp
        facts["travel_rule.beneficiary_vasp"] = tr_data.beneficiary_vasp
        for side, person in (
            ("originator", tr_data.originator),
            ("beneficiary", tr_data.beneficiary),
        ):
            for name, value in person.model_dump().items():
                facts[f"travel_rule.{side}.{name}"] = value
    return facts


# ---------------------------------------------------------------------- token rules


def _token_reason(
    index: int,
    rule: tr.Rule,
    code: ReasonCode,
    explanation: str,
    home: str | None,
    *,
    effect: str = "deny",
    verification: Verification = "verified",
) -> Reason:
    where = f"rules[{index}] ({rule.kind})" + (f", read from {rule.source}" if rule.source else "")
    return Reason(
        code=code,
        rule_id=f"token.{rule.kind}[{index}]",
        jurisdiction=home,
        origin="token",
        effect="deny" if effect == "deny" else "needs_information",
        citation=Citation(law=_ASSET_RULES_LAW, article=where),
        explanation=explanation,
        verification=verification,
    )


def _token_rules(
    trade: Trade, at: datetime, sanctioned: bool, home: str | None
) -> tuple[list[Reason], list[str]]:
    asset = trade.instrument.asset
    assert asset is not None
    out: list[Reason] = []
    ids: list[str] = []
    buyer, seller, qty = trade.buyer, trade.seller, trade.quantity
    if asset.paused:
        out.append(_state_reason(ReasonCode.TOKEN_PAUSED, "the token is paused", home))
    if not asset.active:
        out.append(_state_reason(ReasonCode.TOKEN_DEACTIVATED, "the token is deactivated", home))
    if not asset.transferable:
        out.append(
            _state_reason(ReasonCode.NOT_TRANSFERABLE, "the token is not transferable", home)
        )
    buyer_after = buyer.balance + qty
    seller_after = seller.balance - qty if trade.kind == "resale" else seller.balance
    for i, rule in enumerate(asset.rules):
        ids.append(f"token.{rule.kind}[{i}]")
        failure = _token_check(rule, trade, at, sanctioned, buyer_after, seller_after)
        if failure is not None:
            code, text, effect = failure
            out.append(_token_reason(i, rule, code, text, home, effect=effect))
    return out, ids


def _state_reason(code: ReasonCode, text: str, home: str | None) -> Reason:
    return Reason(
        code=code,
        rule_id=f"token.state.{code.value.lower()}",
        jurisdiction=home,
        origin="token",
        effect="deny",
        citation=Citation(
            law=_ASSET_RULES_LAW, article="asset state (paused / active / transferable)"
        ),
        explanation=text,
    )


def _addr_in(addr: str | None, listed: Iterable[str]) -> bool:
    return addr is not None and addr.lower() in {a.lower() for a in listed}


def _token_check(
    rule: tr.Rule,
    trade: Trade,
    at: datetime,
    sanctioned: bool,
    buyer_after: int,
    seller_after: int,
) -> tuple[ReasonCode, str, str] | None:
    buyer, seller, qty = trade.buyer, trade.seller, trade.quantity
    inst = trade.instrument
    deny = "deny"
    if isinstance(rule, tr.CountryAllowRule):
        if buyer.residence not in rule.countries:
            return (
                ReasonCode.COUNTRY_RESTRICTED,
                f"buyer residence {buyer.residence} is not on the token's country allow list",
                deny,
            )
    elif isinstance(rule, tr.CountryDenyRule):
        if buyer.residence in rule.countries:
            return (
                ReasonCode.COUNTRY_RESTRICTED,
                f"buyer residence {buyer.residence} is on the token's country deny list",
                deny,
            )
    elif isinstance(rule, tr.MaxHoldersRule):
        if buyer.balance == 0 and (rule.country is None or buyer.residence == rule.country):
            if rule.country is None:
                before = inst.holder_count
            else:
                before = inst.holders_by_country.get(rule.country, 0)
            exits = (
                trade.kind == "resale"
                and seller_after == 0
                and (rule.country is None or seller.residence == rule.country)
            )
            after = before + 1 - int(exits)
            if after > rule.limit:
                where = f" in {rule.country}" if rule.country else ""
                return (
                    ReasonCode.MAX_HOLDERS_REACHED,
                    f"the token allows at most {rule.limit} holders{where}; "
                    f"this trade would make {after}",
                    deny,
                )
    elif isinstance(rule, tr.MaxBalanceRule):
        if buyer_after > rule.limit:
            return (
                ReasonCode.MAX_BALANCE_EXCEEDED,
                f"buyer would hold {buyer_after}, above the token's maximum balance {rule.limit}",
                deny,
            )
    elif isinstance(rule, tr.MinHoldingRule):
        if 0 < buyer_after < rule.amount or 0 < seller_after < rule.amount:
            return (
                ReasonCode.BELOW_MIN_HOLDING,
                f"a holding would fall below the token's minimum of {rule.amount}",
                deny,
            )
    elif isinstance(rule, tr.MaxOwnershipRule):
        supply = inst.asset.total_supply if inst.asset else 0
        if buyer_after * 10_000 > rule.limit_bps * supply:
            return (
                ReasonCode.MAX_BALANCE_EXCEEDED,
                f"buyer would own more than {rule.limit_bps / 100:g}% of the supply",
                deny,
            )
    elif isinstance(rule, tr.VolumeLimitRule):
        start = at - timedelta(seconds=rule.window_seconds)
        moved = sum(o.amount for o in seller.outflows if start < o.at <= at)
        if moved + qty > rule.amount:
            return (
                ReasonCode.VOLUME_LIMIT_EXCEEDED,
                f"seller would move {moved + qty} within {rule.window_seconds}s, "
                f"above the token's limit {rule.amount}",
                deny,
            )
    elif isinstance(rule, tr.LockupRule):
        if rule.holder is None or _addr_in(seller.wallet, (rule.holder,)):
            if rule.until is not None and at < rule.until:
                return (
                    ReasonCode.FUNDS_LOCKED,
                    f"the token is locked up until {rule.until.isoformat()}",
                    deny,
                )
            if rule.period_seconds is not None:
                if seller.acquired_on is None:
                    return (
                        ReasonCode.FUNDS_LOCKED,
                        "the token has a lock-up from acquisition and the seller's "
                        "acquisition date is missing",
                        deny,
                    )
                start_dt = datetime(
                    seller.acquired_on.year,
                    seller.acquired_on.month,
                    seller.acquired_on.day,
                    tzinfo=UTC,
                )
                end = start_dt + timedelta(seconds=rule.period_seconds)
                if at < end:
                    return (
                        ReasonCode.FUNDS_LOCKED,
                        f"the seller's units are locked up until {end.isoformat()}",
                        deny,
                    )
    elif isinstance(rule, tr.IssuerApprovalRule):
        if not trade.issuer_approved:
            return (
                ReasonCode.ISSUER_APPROVAL_REQUIRED,
                "the token needs the issuer's approval of this transfer",
                "needs_information",
            )
    elif isinstance(rule, (tr.AllowListRule, tr.DenyListRule)):
        # the rule's own verdict (AllowListRule.scope: both / either / recipient); a
        # primary trade is an issuance: no sending party
        sender = None if trade.kind != "resale" else [w for w in (seller.wallet,) if w]
        if rule.addresses and not rule.permits(sender, [w for w in (buyer.wallet,) if w]):
            if isinstance(rule, tr.DenyListRule):
                return (
                    ReasonCode.BLOCKLISTED_PARTY,
                    "a party's wallet is on the token's deny list",
                    deny,
                )
            who = "the buyer's wallet"
            if rule.scope == "either":
                who = "either party's wallet"
            elif rule.scope == "both" and _addr_in(buyer.wallet, rule.addresses):
                who = "the seller's wallet"
            return (
                ReasonCode.NOT_ON_ALLOW_LIST,
                f"{who} is not on the token's allow list (scope {rule.scope})",
                deny,
            )
    elif isinstance(rule, tr.SanctionsScreeningRule):
        if sanctioned:
            return (
                ReasonCode.SANCTIONED_PARTY,
                f"the token screens parties against {rule.list_ref} and a party is listed",
                deny,
            )
    elif isinstance(rule, tr.FullTransferOnlyRule):
        if trade.kind == "resale" and seller_after != 0:
            return (
                ReasonCode.FULL_TRANSFER_REQUIRED,
                "the token only allows transferring a whole holding",
                deny,
            )
    elif isinstance(rule, tr.FlowbackBlockRule):
        if buyer.residence in rule.countries and at < rule.until:
            return (
                ReasonCode.TRANSFER_WINDOW_CLOSED,
                f"no transfers into {buyer.residence} before {rule.until.isoformat()}",
                deny,
            )
    elif isinstance(rule, tr.RequiredClaimsRule):
        missing = [c.value for c in rule.claim_types if not _has_claim(buyer, c, at)]
        if missing:
            return (
                ReasonCode.RECIPIENT_NOT_ELIGIBLE,
                f"the buyer lacks valid claims the token requires: {', '.join(missing)}",
                deny,
            )
    elif isinstance(rule, tr.OpaqueRule):
        return (
            ReasonCode.UNKNOWN,
            f"the token has a rule stbridge cannot interpret ({rule.name}); "
            "its on-chain dry run must decide",
            "needs_information",
        )
    # SupplyCapRule limits minting; a transfer never changes the supply.
    return None


def _has_claim(party: Party, claim: ClaimType, at: datetime) -> bool:
    if any(c.type is claim and c.is_valid_at(at) for c in party.claims):
        return True
    if claim is ClaimType.KYC:
        exp = party.kyc.expires_on
        return party.kyc.status == "verified" and (exp is None or exp >= at.date())
    wanted = _CLAIM_CLASSES.get(claim)
    if wanted is None:
        return False
    return any(
        c.investor_class.value in wanted and (c.valid_until is None or c.valid_until >= at.date())
        for c in party.classifications
    )


# ---------------------------------------------------------------------- defaults


@lru_cache(maxsize=1)
def default_engine() -> Engine:
    """The engine over the shipped rules and the demo sanctions list (cached)."""
    rules = load_rules([default_rules_dir()])
    sanctions_file = default_sanctions_file()
    sanctions = load_sanctions([sanctions_file]) if Path(sanctions_file).exists() else None
    return Engine(rules, sanctions)


def evaluate(trade: Trade, at: datetime, *, engine: Engine | None = None) -> Decision:
    """Judge ``trade`` at ``at`` with ``engine`` (default: :func:`default_engine`)."""
    return (engine or default_engine()).evaluate(trade, at)
