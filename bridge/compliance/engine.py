"""The compliance engine: ``evaluate(trade, at) -> Decision``, pure and deterministic.

Order of work for one trade (nothing here reads the clock, the network or a file):

1. Resolve the jurisdictions in play: the instrument's home, the buyer's and the
   seller's residence (a member state resolves to the EU file: the EU is the union of
   its member states for the home, the residences and the cash leg alike), and the cash
   leg's service providers. Anything unknown is a deny naming exactly what is unknown:
   a jurisdiction, an investor classification, an instrument kind or an exemption.
2. Establish each party's investor classes: from the facts it gives (income, net
   worth, portfolio, signed statements and their dates) where a class has a test on
   facts (``qualifies_by``), else from its class labels, relied on as declarations. The
   decision lists, for every class a rule relied on, how it was established.
3. Screen both parties (names, identifiers, wallets, owners >= 50 %) against the
   sanctions list; the result is the fact ``sanctions.hit``.
4. Run every rule of every jurisdiction in play whose scope matches the role that
   jurisdiction plays and whose dates cover ``at``; a rule whose ``when`` holds and
   whose ``require`` fails gives a reason (deny / needs information) or an obligation
   for the platform (report, travel-rule data, appropriateness, legend). Rules that
   depend on the offering exemption are judged once per exemption the instrument relies
   on (``exemption`` and ``also_exempt_under``): the trade fits when it fits one.
5. Enforce the token's own canonical rules (:data:`bridge.model.Rule`): country allow
   and deny lists, lock-ups, holder and balance caps... Their reasons are the token's
   own (no jurisdiction, verification ``token``, the token as the citation's source). A
   trade is refused if either the law or the token would refuse it.
6. The outcome is deny if any reason denies, else needs-information if any reason asks
   for information, else allow. Every failing rule is reported, not only the first.

Speed: the rule set is compiled once (:mod:`bridge.compliance.loader`); predicates read
the validated trade through bound getters; the rules in force for a combination of
jurisdictions, roles and day are looked up once and cached; reasons and decisions are
built without re-validating what the engine itself produced.
:meth:`Engine.evaluate_many` judges a whole book at one moment.

Investor classes across borders: a rule asks for a class of its own jurisdiction;
a party's foreign class counts only where that jurisdiction's file lists it under
``foreign_equivalents`` (a conservative, documented mapping), or where the rule names
the foreign class outright (``US:accredited``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from operator import attrgetter, itemgetter
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

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
    Eq,
    Obligation,
    Outcome,
    Override,
    Party,
    Reason,
    Reliance,
    Trade,
)
from bridge.compliance.predicates import (
    ALWAYS,
    ClassKey,
    CompiledPredicate,
    Env,
    MissingInformation,
    add_period,
    predicate_source,
    vasp_involved,
)
from bridge.compliance.sanctions import SanctionsList, load_sanctions
from bridge.errors import InvalidInput
from bridge.model import rules as tr
from bridge.model.asset import Asset
from bridge.model.enums import ClaimType, InvestorClass, Standard
from bridge.reasons import ReasonCode

__all__ = ["ENGINE_CITATION", "Engine", "default_engine", "evaluate", "evaluate_many"]

ENGINE_CITATION = Citation(
    law="stbridge compliance policy (deny by default)",
    article="specs/jurisdictions/README.md, section 'Unknown inputs'",
)
"""Cited by reasons the engine itself gives (unknown inputs): a policy, not a statute."""

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

_ROLES = ("home", "buyer", "seller", "cash_leg")
_CACHE_LIMIT = 4096

_PlanKey = tuple[
    str | None,
    str | None,
    str | None,
    tuple[str, ...],
    date,
    str,
    tuple[str, ...],
    str | None,
    bool | None,
    str,
]
"""Home, buyer and seller jurisdictions, cash-leg jurisdictions, day, instrument kind,
exemptions, who executes the cash leg (None: no leg), whether a crypto service provider
is involved, trade kind: what fixes the rules a trade can meet."""


_Step = tuple[CompiledPredicate, CompiledRule, Reason | Obligation | None, bool]
"""One rule of a plan: whether it passes (the part of its ``when`` the plan left does not
hold, or its ``require`` does), the rule, what its failure gives when that never depends
on the trade, and whether that is an obligation (a report) rather than a reason."""


@dataclass(frozen=True, slots=True)
class _Plan:
    """The rules to run for one :data:`_PlanKey`, and what every such decision lists.

    ``rules`` are run in order for every trade of the plan (with a single exemption,
    those that depend on it are among them), each with the part of its ``when`` the
    plan has not already decided (None: nothing is left, the rule applies), and
    what its failure gives when that never depends on the trade; ``dependent``
    holds, for an instrument with several exemptions, the rules judged once per
    exemption. Rules whose guards fail for the plan are left out of both but still listed
    in ``evaluated`` (they were considered: in scope and in force; their ``when`` cannot
    hold).
    """

    rules: tuple[_Step, ...]
    dependent: tuple[CompiledRule, ...]
    evaluated: tuple[str, ...]
    jurisdictions: tuple[str, ...]
    overrides: tuple[Override, ...]
    screening: tuple[CompiledRule, ...] = ()
    """Rules that only refuse a sanctions hit: run only when screening found one."""


_Prelude = tuple[str | None, str | None, str | None, tuple[str, ...], tuple["Reason", ...], _Plan]
"""Home, buyer and seller jurisdictions, the instrument's exemptions, the reasons its
unknown inputs give, and the rule plan: all fixed by the trade's prelude key."""

_M = TypeVar("_M", bound=BaseModel)


def _built(cls: type[_M], values: dict[str, Any]) -> _M:
    """An instance of ``cls`` from complete, engine-made values, without re-validation.

    The engine only builds reasons, obligations and decisions from values it produced
    itself out of validated inputs, so validating them again would cost the time it
    takes to decide. ``values`` must name every field (tests compare these objects with
    validated ones, which only holds when nothing is left to defaults).
    """
    obj = _new(cls)
    _set(obj, "__dict__", values)
    _set(obj, "__pydantic_fields_set__", set(values))
    _set(obj, "__pydantic_extra__", None)
    _set(obj, "__pydantic_private__", None)
    return obj


_new = object.__new__
_set = object.__setattr__


class _PartyClasses:
    """One party's classes: what is valid, what is verified, how each was established."""

    __slots__ = ("basis", "notes", "problems", "valid", "verified")

    def __init__(self) -> None:
        self.valid: set[ClassKey] = set()
        self.verified: set[ClassKey] = set()
        self.basis: dict[ClassKey, tuple[str, str]] = {}
        self.notes: list[tuple[str, str]] = []
        """(jurisdiction, note): why a class was not established, for that law's rules."""
        self.problems: list[Reason] = []


_NO_CLASSES = _PartyClasses()
"""Shared by every party that holds no class and gives no facts (never modified)."""


class Engine:
    """A loaded rule book and sanctions list; :meth:`evaluate` judges trades."""

    def __init__(self, rules: RuleBook, sanctions: SanctionsList | None = None) -> None:
        self.rules = rules
        self.sanctions = sanctions if sanctions is not None else SanctionsList()
        self._plans: dict[_PlanKey, _Plan] = {}
        self._obligations: dict[str, Obligation] = {}
        self._listing = len(self.sanctions) > 0
        self._where: dict[str, str] = dict(rules.member_of) | {j: j for j in rules.jurisdictions}
        self._labels: dict[tuple[object, ...], _PartyClasses] = {}
        self._screened: dict[tuple[object, ...], tuple[str, ...]] = {}
        self._instrument_checks: dict[tuple[str, str, tuple[str, ...]], tuple[Reason, ...]] = {}
        self._reasons: dict[str, Reason] = {}
        self._missing: dict[tuple[str, str, str], Reason] = {}
        self._preludes: dict[tuple[object, ...], _Prelude] = {}
        self._steps: dict[
            tuple[CompiledPredicate | None, CompiledPredicate], CompiledPredicate
        ] = {}

    # ------------------------------------------------------------------ public

    def evaluate(self, trade: Trade, at: datetime) -> Decision:
        """Judge ``trade`` at the moment ``at`` (timezone-aware)."""
        at = _utc(at)
        return self._evaluate(trade, at, at.date())

    def evaluate_many(self, trades: Iterable[Trade], at: datetime) -> list[Decision]:
        """Judge every trade of a book at the same moment ``at`` (one decision each, in order).

        The same decisions as calling :meth:`evaluate` one by one, with the moment checked
        once and the rule plans shared across the book.
        """
        at = _utc(at)
        today = at.date()
        run = self._evaluate
        return [run(trade, at, today) for trade in trades]

    # ------------------------------------------------------------------ the work

    def _evaluate(self, trade: Trade, at: datetime, today: date) -> Decision:
        inst = trade.instrument
        buyer, seller = trade.buyer, trade.seller
        leg = trade.cash_leg
        key = (
            inst.home,
            buyer.residence,
            seller.residence,
            None
            if leg is None
            else (leg.originator_vasp, leg.beneficiary_vasp, leg.executed_by, leg.instrument),
            inst.kind,
            inst.exemption,
            inst.also_exempt_under,
            trade.kind,
            today,
        )
        prelude = self._preludes.get(key)
        if prelude is None:
            prelude = self._prelude(trade, today, key)
        home, buyer_j, seller_j, exemptions, fixed_reasons, plan = prelude
        reasons: list[Reason] = list(fixed_reasons)
        obligations: list[Obligation] = []

        hits: tuple[str, ...] = ()
        if self._listing:
            screened = (
                buyer.name,
                buyer.identifiers,
                buyer.wallet,
                buyer.owners,
                seller.name,
                seller.identifiers,
                seller.wallet,
                seller.owners,
            )
            found = self._screened.get(screened)
            if found is None:
                found = self._screen_pair(screened, buyer, seller)
            hits = found
        env = Env(trade, today, home, buyer_j, seller_j, bool(hits), exemptions[0])
        labels = self._labels
        if _has_facts(buyer):
            b_classes = self._classes("buyer", buyer, env)
        elif buyer.classifications:
            b_classes = labels.get(("buyer", _label_key(buyer), today)) or self._classes(
                "buyer", buyer, env
            )
        else:
            b_classes = _NO_CLASSES
        if _has_facts(seller):
            s_classes = self._classes("seller", seller, env)
        elif seller.classifications:
            s_classes = labels.get(("seller", _label_key(seller), today)) or self._classes(
                "seller", seller, env
            )
        else:
            s_classes = _NO_CLASSES
        party_classes = {"buyer": b_classes, "seller": s_classes}
        env.buyer_classes, env.seller_classes = b_classes.valid, s_classes.valid
        env.buyer_verified, env.seller_verified = b_classes.verified, s_classes.verified
        if b_classes.problems:
            reasons.extend(b_classes.problems)
        if s_classes.problems:
            reasons.extend(s_classes.problems)

        dependent = plan.dependent
        evaluated = plan.evaluated
        fail = self._fail
        if hits:
            for compiled in plan.screening:
                reasons.append(fail(compiled, env, hits, party_classes))  # type: ignore[arg-type]
        missing = self._missing_reason
        for passes, compiled, fixed, report in plan.rules:
            try:
                if passes(env):
                    continue
                outcome = fixed or fail(compiled, env, hits, party_classes)
            except MissingInformation as exc:
                reasons.append(missing(compiled, exc))
                continue
            if report:
                obligations.append(outcome)  # type: ignore[arg-type]
            else:
                reasons.append(outcome)  # type: ignore[arg-type]
        if dependent:
            dep_reasons, dep_obligations = self._per_exemption(dependent, env, hits, party_classes)
            reasons.extend(dep_reasons)
            obligations.extend(dep_obligations)

        if inst.asset is not None:
            token_reasons, token_ids = _token_rules(trade, at, bool(hits), inst.asset)
            reasons.extend(token_reasons)
            evaluated = tuple(sorted({*evaluated, *token_ids}))

        if len(reasons) > 1:
            reasons.sort(key=_reason_order)
        verdict: Outcome = "allow"
        for r in reasons:
            if r.effect == "deny":
                verdict = "deny"
                break
            verdict = "needs_information"
        if len(obligations) > 1:
            obligations.sort(key=_RULE_ID)
        return _built(
            Decision,
            {
                "trade_id": trade.id,
                "at": at,
                "outcome": verdict,
                "reasons": tuple(reasons),
                "obligations": tuple(obligations),
                "reliance": _reliance(env, party_classes) if env.used else (),
                "overrides": plan.overrides,
                "jurisdictions": plan.jurisdictions,
                "rules_evaluated": evaluated,
            },
        )

    # ------------------------------------------------------------------ steps

    def _prelude(self, trade: Trade, today: date, key: tuple[object, ...]) -> _Prelude:
        """What a trade's jurisdictions, instrument and cash leg fix (cached by ``key``).

        The jurisdictions in play (a member state resolves to the EU), the reasons an
        unknown jurisdiction, instrument kind or exemption gives, and the rule plan.
        """
        reasons: list[Reason] = []
        inst = trade.instrument
        buyer, seller = trade.buyer, trade.seller
        resolve = self._where.get
        home = resolve(inst.home)
        buyer_j = resolve(buyer.residence)
        seller_j = resolve(seller.residence)
        if home is None:
            reasons.append(_unknown(ReasonCode.UNKNOWN_JURISDICTION, "instrument.home", inst.home))
        if buyer_j is None:
            reasons.append(
                _unknown(ReasonCode.UNKNOWN_JURISDICTION, "buyer.residence", buyer.residence)
            )
        if seller_j is None:
            reasons.append(
                _unknown(ReasonCode.UNKNOWN_JURISDICTION, "seller.residence", seller.residence)
            )
        cash_js: set[str] = set()
        leg = trade.cash_leg
        if leg is not None:
            for label, vasp in (
                ("cash_leg.originator_vasp", leg.originator_vasp),
                ("cash_leg.beneficiary_vasp", leg.beneficiary_vasp),
            ):
                if vasp is None:
                    continue
                resolved = resolve(vasp)
                if resolved is None:
                    reasons.append(_unknown(ReasonCode.UNKNOWN_JURISDICTION, label, vasp))
                else:
                    cash_js.add(resolved)
        exemptions = inst.exemptions
        if home is not None:
            reasons.extend(self._check_instrument(trade, home, exemptions))
        plan_key: _PlanKey = (
            home,
            buyer_j,
            seller_j,
            tuple(sorted(cash_js)) if cash_js else (),
            today,
            inst.kind,
            exemptions,
            None if leg is None else leg.executed_by,
            vasp_involved(leg),
            trade.kind,
        )
        plan = self._plans.get(plan_key) or self._plan(
            trade, home, buyer_j, seller_j, cash_js, today
        )
        prelude: _Prelude = (home, buyer_j, seller_j, exemptions, tuple(reasons), plan)
        if len(self._preludes) >= _CACHE_LIMIT:
            self._preludes.clear()
        self._preludes[key] = prelude
        return prelude

    def _plan(
        self,
        trade: Trade,
        home: str | None,
        buyer_j: str | None,
        seller_j: str | None,
        cash_js: set[str],
        today: date,
    ) -> _Plan:
        """Work out (and cache) the plan for this trade's :data:`_PlanKey`."""
        inst = trade.instrument
        exemptions = inst.exemptions
        key: _PlanKey = (
            home,
            buyer_j,
            seller_j,
            tuple(sorted(cash_js)) if cash_js else (),
            today,
            inst.kind,
            exemptions,
            None if trade.cash_leg is None else trade.cash_leg.executed_by,
            vasp_involved(trade.cash_leg),
            trade.kind,
        )
        fixed: dict[str, object] = {
            "instrument.kind": inst.kind,
            "instrument.home_jurisdiction": home,
            "buyer.jurisdiction": buyer_j,
            "seller.jurisdiction": seller_j,
            "cash_leg.present": trade.cash_leg is not None,
            "cash_leg.executed_by": None if trade.cash_leg is None else trade.cash_leg.executed_by,
            "cash_leg.vasp_involved": vasp_involved(trade.cash_leg),
            "trade.kind": trade.kind,
        }
        single = len(exemptions) == 1
        if single:
            fixed["instrument.exemption"] = exemptions[0]
        roles: dict[str, set[str]] = {}
        for role, code in (("home", home), ("buyer", buyer_j), ("seller", seller_j)):
            if code is not None:
                roles.setdefault(code, set()).add(role)
        for code in cash_js:
            roles.setdefault(code, set()).add("cash_leg")
        run: list[_Step] = []
        dependent: list[CompiledRule] = []
        ids: list[str] = []
        for code, played in sorted(roles.items()):
            for compiled in self.rules.rules.get(code, ()):
                rule = compiled.rule
                if played.isdisjoint(rule.scope):
                    continue
                if rule.effective_from and today < rule.effective_from:
                    continue
                if rule.effective_to and today > rule.effective_to:
                    continue
                ids.append(rule.id)
                if not _guards_hold(compiled, fixed):
                    continue
                if compiled.exemptions is None or single:
                    decided = all(fact in fixed for fact, _, _ in compiled.guards)
                    rest = compiled.when_rest if decided else None
                    when = rest or compiled.when
                    outcome = (
                        self._fail(compiled, _NO_ENV, (), {}) if _fixed_failure(compiled) else None
                    )
                    run.append(
                        (
                            self._step(None if when is ALWAYS else when, compiled.require),
                            compiled,
                            outcome,
                            rule.effect == "report",
                        )
                    )
                else:
                    dependent.append(compiled)
        in_play = tuple(sorted(roles))
        overrides = tuple(o for o in self.rules.overrides if o.jurisdiction in in_play)
        screening = tuple(r[1] for r in run if _only_on_hit(r[1]))
        run = [r for r in run if not _only_on_hit(r[1])]
        plan = _Plan(
            tuple(run),
            tuple(dependent),
            tuple(sorted(set(ids))),
            in_play,
            overrides,
            screening,
        )
        if len(self._plans) >= _CACHE_LIMIT:
            self._plans.clear()
        self._plans[key] = plan
        return plan

    def _step(
        self, when: CompiledPredicate | None, require: CompiledPredicate
    ) -> CompiledPredicate:
        """The step function of a rule run with this ``when`` (cached, see :func:`_passes`)."""
        key = (when, require)
        found = self._steps.get(key)
        if found is None:
            found = self._steps[key] = _passes(when, require)
        return found

    def _missing_reason(self, compiled: CompiledRule, exc: MissingInformation) -> Reason:
        """The reason a rule gives when a fact it needs is missing (cached: it is fixed)."""
        key = (compiled.rule.id, compiled.jurisdiction, exc.what)
        found = self._missing.get(key)
        if found is None:
            if len(self._missing) >= _CACHE_LIMIT:
                self._missing.clear()
            found = self._missing[key] = _missing(compiled, exc)
        return found

    def _per_exemption(
        self,
        dependent: Sequence[CompiledRule],
        env: Env,
        hits: tuple[str, ...],
        party_classes: dict[str, _PartyClasses],
    ) -> tuple[list[Reason], list[Obligation]]:
        """Judge the exemption-dependent rules under each exemption; keep the best fit.

        The trade fits an exemption when none of that exemption's rules denies; the first
        exemption that fits with nothing missing wins, else the first that fits (its
        requests for information stand). When none fits, every exemption's reasons are
        reported, each saying under which exemption it arose.
        """
        exemptions = env.trade.instrument.exemptions
        results: list[tuple[str, list[Reason], list[Obligation]]] = []
        for exemption in exemptions:
            env.exemption = exemption
            found: list[Reason] = []
            owed: list[Obligation] = []
            for compiled in dependent:
                only = compiled.exemptions
                if only and exemption not in only:
                    continue
                try:
                    if not compiled.when(env) or compiled.require(env):
                        continue
                    outcome = self._fail(compiled, env, hits, party_classes)
                except MissingInformation as exc:
                    outcome = _missing(compiled, exc)
                if isinstance(outcome, Reason):
                    found.append(outcome)
                else:
                    owed.append(outcome)
            if not found and len(exemptions) == 1:
                env.exemption = exemptions[0]
                return found, owed
            results.append((exemption, found, owed))
        env.exemption = exemptions[0]
        fits = [r for r in results if all(x.effect != "deny" for x in r[1])]
        if fits:
            best = next((r for r in fits if not r[1]), fits[0])
            return best[1], best[2]
        if len(results) == 1:
            return results[0][1], results[0][2]
        out: list[Reason] = []
        for exemption, found, _owed in results:
            out.extend(
                r.model_copy(update={"explanation": f"{r.explanation} (under {exemption})"})
                for r in found
            )
        return out, []

    def _screen_pair(self, key: tuple[object, ...], buyer: Party, seller: Party) -> tuple[str, ...]:
        """The sanctions hits of both parties (cached by ``key``: what screening reads)."""
        found = (
            self.sanctions.screen("buyer", buyer).hits
            + self.sanctions.screen("seller", seller).hits
        )
        if len(self._screened) >= _CACHE_LIMIT:
            self._screened.clear()
        self._screened[key] = found
        return found

    def _check_instrument(
        self, trade: Trade, home: str, exemptions: tuple[str, ...]
    ) -> tuple[Reason, ...]:
        inst = trade.instrument
        key = (home, inst.kind, exemptions)
        found = self._instrument_checks.get(key)
        if found is not None:
            return found
        doc = self.rules.jurisdictions[home]
        kinds = {k.id for k in doc.instrument_kinds}
        defined = {e.id: e for e in doc.exemptions}
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
        for i, ex_id in enumerate(inst.exemptions):
            field = "instrument.exemption" if i == 0 else f"instrument.also_exempt_under[{i - 1}]"
            exemption = defined.get(ex_id)
            if exemption is None:
                out.append(
                    _unknown(
                        ReasonCode.UNKNOWN_INSTRUMENT,
                        field,
                        ex_id,
                        f"not an offering exemption defined for {home}",
                    )
                )
            elif inst.kind in kinds and inst.kind not in exemption.instrument_kinds:
                out.append(
                    _unknown(
                        ReasonCode.UNKNOWN_INSTRUMENT,
                        field,
                        ex_id,
                        f"does not cover instrument kind {inst.kind}",
                    )
                )
        result = tuple(out)
        if len(self._instrument_checks) >= _CACHE_LIMIT:
            self._instrument_checks.clear()
        self._instrument_checks[key] = result
        return result

    def _classes(self, role: str, party: Party, env: Env) -> _PartyClasses:
        """The party's valid classes: labels (declarations), then tests on its facts."""
        book = self.rules
        today = env.today
        facts = _has_facts(party)
        if not facts:
            if not party.classifications:
                return _NO_CLASSES
            cached = self._labels.get((role, _label_key(party), today))
            if cached is not None:
                return cached
        pc = _PartyClasses()
        for i, c in enumerate(party.classifications):
            jur = book.resolve(c.jurisdiction)
            if jur is None:
                pc.problems.append(
                    _unknown(
                        ReasonCode.UNKNOWN_JURISDICTION,
                        f"{role}.classifications[{i}].jurisdiction",
                        c.jurisdiction,
                    )
                )
                continue
            if c.investor_class not in book.classes[jur]:
                pc.problems.append(
                    _unknown(
                        ReasonCode.UNKNOWN_CLASSIFICATION,
                        f"{role}.classifications[{i}]",
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
            pc.valid.add(key)
            if c.verified:
                pc.verified.add(key)
                pc.basis[key] = ("verified_declaration", "class label marked verified")
            else:
                pc.basis.setdefault(key, ("declaration", "class label only"))
        if facts:
            for test in book.class_tests.get(role, ()):
                _apply_class_test(test, env, pc)
        else:
            # labels alone depend only on the labels and the day: shared, never modified
            if len(self._labels) >= _CACHE_LIMIT:
                self._labels.clear()
            self._labels[(role, _label_key(party), today)] = pc
        return pc

    def _fail(
        self,
        compiled: CompiledRule,
        env: Env,
        hits: tuple[str, ...],
        party_classes: dict[str, _PartyClasses],
    ) -> Reason | Obligation:
        """What a rule whose ``when`` holds and whose ``require`` fails gives."""
        rule = compiled.rule
        if rule.effect == "report":
            owed = self._obligations.get(rule.id)
            if owed is None or owed.jurisdiction != compiled.jurisdiction:
                owed = _built(
                    Obligation,
                    {
                        "rule_id": rule.id,
                        "jurisdiction": compiled.jurisdiction,
                        "kind": rule.obligation,
                        "citation": rule.citation,
                        "explanation": rule.explanation,
                        "verification": rule.verification,
                    },
                )
                self._obligations[rule.id] = owed
            return owed
        extra = ""
        eligible_from = None
        if compiled.periods:
            dates = []
            for get, period in compiled.periods:
                since = get(env)
                if isinstance(since, date):
                    dates.append(add_period(since, period))
            if dates:
                eligible_from = max(dates)
                extra += f" (eligible from {eligible_from.isoformat()})"
            else:
                extra += " (the acquisition date is missing)"
        if rule.category == "sanctions" and hits:
            extra += ": " + "; ".join(hits)
        for party in compiled.class_parties:
            held = party_classes[party].notes
            if not held:
                continue
            notes = [n for j, n in held if j == compiled.jurisdiction]
            if notes:
                extra += f"; {party}: " + "; ".join(notes)
        if not extra:
            cached = self._reasons.get(rule.id)
            if cached is None or cached.jurisdiction != compiled.jurisdiction:
                cached = _law_reason(compiled, rule.explanation, None)
                self._reasons[rule.id] = cached
            return cached
        return _law_reason(compiled, rule.explanation + extra, eligible_from)


def _missing(compiled: CompiledRule, exc: MissingInformation) -> Reason:
    rule = compiled.rule
    return _built(
        Reason,
        {
            "code": ReasonCode.INFORMATION_MISSING,
            "rule_id": rule.id,
            "jurisdiction": compiled.jurisdiction,
            "origin": "law",
            "effect": "needs_information",
            "citation": rule.citation,
            "explanation": f"{rule.title}: cannot decide without {exc.what}",
            "eligible_from": None,
            "verification": rule.verification,
        },
    )


def _passes(when: CompiledPredicate | None, require: CompiledPredicate) -> CompiledPredicate:
    """One function for a step: ``when`` does not hold, or ``require`` does.

    Inlines both predicates' expressions (:func:`predicate_source`) so a step costs one
    call; falls back to calling them when a predicate has no source. Shared by every
    plan that runs the rule with the same ``when`` (the code stays hot).
    """
    names: dict[str, object] = {"__builtins__": {"isinstance": isinstance}}
    req = predicate_source(require, "r", names)
    w = "False" if when is None else predicate_source(when, "w", names)
    if req is None or w is None:
        if when is None:
            return require
        return lambda env: not when(env) or require(env)
    text = f"({req})" if w == "False" else f"not ({w}) or ({req})"
    fn: CompiledPredicate = eval(f"lambda env: {text}", names)  # noqa: S307 - generated
    return fn


def _only_on_hit(compiled: CompiledRule) -> bool:
    """A rule that applies always and requires only ``sanctions.hit`` to be false."""
    rule = compiled.rule
    return (
        compiled.when is ALWAYS
        and isinstance(rule.require, Eq)
        and rule.require.fact == "sanctions.hit"
        and rule.require.value is False
        and rule.effect != "report"
    )


def _fixed_failure(compiled: CompiledRule) -> bool:
    """Whether a failure of this rule always gives the same reason or obligation."""
    rule = compiled.rule
    if rule.effect == "report":
        return True
    return not compiled.periods and rule.category != "sanctions" and not compiled.class_parties


_NO_ENV: Env = Env.__new__(Env)
"""Passed to :meth:`Engine._fail` for rules whose failure reads nothing of the trade."""


def _label_key(party: Party) -> tuple[tuple[object, ...], ...]:
    """The party's class labels as plain values (hashing and comparing them is cheap)."""
    cs = party.classifications
    if len(cs) == 1:
        c = cs[0]
        return ((c.jurisdiction, c.investor_class, c.granted_on, c.valid_until, c.verified),)
    return tuple(
        [(c.jurisdiction, c.investor_class, c.granted_on, c.valid_until, c.verified) for c in cs]
    )


def _has_facts(party: Party) -> bool:
    """Whether the party gives any fact a class test reads.

    The amounts are Money models or None and ``statements`` a tuple, so "any is truthy"
    is "any amount is given or any statement is": one C-level read of the fields.
    """
    return any(_FACT_FIELDS(party.__dict__))


_FACT_FIELDS = itemgetter(
    "annual_income",
    "net_worth",
    "portfolio",
    "net_personal_assets",
    "net_financial_assets",
    "total_assets",
    "prior_year_income",
    "statements",
)


def _guards_hold(compiled: CompiledRule, fixed: dict[str, object]) -> bool:
    for fact, values, negated in compiled.guards:
        if fact not in fixed:
            continue
        value = fixed[fact]
        member = any(value == v and type(value) is type(v) for v in values)
        if negated:
            if value is None or member:
                return False
        elif not member:
            return False
    return True


_RULE_ID = attrgetter("rule_id")


def _utc(at: datetime) -> datetime:
    if at.__class__ is datetime and at.tzinfo is UTC:
        return at
    if not isinstance(at, datetime) or at.tzinfo is None:
        raise InvalidInput("at", "must be a timezone-aware datetime", value=at)
    return at if at.tzinfo is UTC else at.astimezone(UTC)


def _reason_order(r: Reason) -> tuple[bool, str, str]:
    return (r.effect != "deny", r.rule_id, r.explanation)


def _law_reason(compiled: CompiledRule, explanation: str, eligible_from: date | None) -> Reason:
    rule = compiled.rule
    return _built(
        Reason,
        {
            "code": rule.code,
            "rule_id": rule.id,
            "jurisdiction": compiled.jurisdiction,
            "origin": "law",
            "effect": "deny" if rule.effect == "deny" else "needs_information",
            "citation": rule.citation,
            "explanation": explanation,
            "eligible_from": eligible_from,
            "verification": rule.verification,
        },
    )


def _apply_class_test(test: object, env: Env, pc: _PartyClasses) -> None:
    """Decide one class from the party's facts; the facts win over a label."""
    from bridge.compliance.loader import ClassTest

    assert isinstance(test, ClassTest)
    if all(get(env) in (None, ()) for get in test.facts):
        return  # nothing to decide from: a label, if any, stands as a declaration
    key = test.key
    name = f"{key[0]}:{key[1]}"
    try:
        met = test.test(env)
    except MissingInformation as exc:
        pc.notes.append((key[0], f"{name} cannot be decided from the facts without {exc.what}"))
        return
    if met:
        pc.valid.add(key)
        pc.basis[key] = ("facts", f"meets the test on the facts given: {test.criteria}")
        return
    lapsed = []
    for get, fact, period in test.lapses:
        since = get(env)
        if isinstance(since, date):
            end = add_period(since, period)
            if env.today >= end:
                what = fact.split(".", 1)[1].replace("statement.", "").replace("_", " ")
                lapsed.append(
                    f"the {what} statement signed on {since.isoformat()} lapsed on "
                    f"{end.isoformat()}"
                )
    why = "; ".join(lapsed) if lapsed else f"the facts given do not meet {test.criteria}"
    if key in pc.valid and pc.basis.get(key, ("", ""))[0] != "facts":
        pc.valid.discard(key)
        pc.verified.discard(key)
        pc.basis[key] = ("facts_contradict", why)
        pc.notes.append((key[0], f"not {name}: {why} (the class label is not relied on)"))
    elif key not in pc.valid:
        pc.notes.append((key[0], f"not {name}: {why}"))


def _reliance(env: Env, party_classes: dict[str, _PartyClasses]) -> tuple[Reliance, ...]:
    out = []
    for party, key in sorted(env.used or ()):
        basis, detail = party_classes[party].basis.get(key, ("declaration", "class label only"))
        out.append(
            _built(
                Reliance,
                {
                    "party": party,
                    "jurisdiction": key[0],
                    "investor_class": InvestorClass(key[1]),
                    "basis": basis,
                    "detail": detail,
                },
            )
        )
    return tuple(out)


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
        verification="policy",
    )


# ---------------------------------------------------------------------- token rules


def token_source(asset: Asset) -> str:
    """Where the token's own rules were read: its chain and locator (CAIP-style)."""
    chain, locator = asset.chain, asset.locator
    where = f"eip155:{chain.chain_id}" if chain.kind == "evm" else f"algorand:{chain.genesis_hash}"
    what = (
        f"{locator.address}"
        if locator.kind == "evm_contract"
        else f"asa:{locator.asset_id}" + (f"/app:{locator.app_id}" if locator.app_id else "")
    )
    return f"token {where}/{what}"


def _token_citation(asset: Asset, article: str) -> Citation:
    return _built(
        Citation,
        {
            "law": f"Transfer restrictions of the token {asset.symbol} ({asset.standard.value})",
            "article": article,
            "source": token_source(asset),
            "checked_on": None,
        },
    )


def _token_reason(
    index: int,
    rule: tr.Rule,
    code: ReasonCode,
    explanation: str,
    asset: Asset,
    *,
    effect: str = "deny",
) -> Reason:
    where = f"rules[{index}] ({rule.kind})" + (f", read from {rule.source}" if rule.source else "")
    return _built(
        Reason,
        {
            "code": code,
            "rule_id": f"token.{rule.kind}[{index}]",
            "jurisdiction": None,
            "origin": "token",
            "effect": "deny" if effect == "deny" else "needs_information",
            "citation": _token_citation(asset, where),
            "explanation": explanation,
            "eligible_from": None,
            "verification": "token",
        },
    )


_ISSUANCE_IGNORES_PAUSE = frozenset(
    {
        Standard.ERC3643,  # T-REX 4.1.6 ``mint``: no whenNotPaused
        Standard.ERC1400,  # SecurityToken1400 ``issue*``: the pause stops transfers only
        Standard.ERC1404,  # RestrictedToken1404 ``mint``: the pause stops transfers only
        Standard.IBET_SHARE,  # ``issueFrom`` ignores ``transferable``
        Standard.IBET_BOND,
        Standard.REGULATED_ASA,  # ``mint`` checks the reserve as the sender, not the pause
    }
)
"""Standards whose issuer mints while the token is paused / not transferable (the pause
halts transfers only); on the others a paused token refuses a primary trade too."""


def _token_rules(
    trade: Trade, at: datetime, sanctioned: bool, asset: Asset
) -> tuple[list[Reason], list[str]]:
    out: list[Reason] = []
    ids: list[str] = []
    buyer, seller, qty = trade.buyer, trade.seller, trade.quantity
    # the pause and the transfer switch stop transfers; where they leave the issuer's
    # issuance running (see _ISSUANCE_IGNORES_PAUSE), a primary trade passes them
    halts = trade.kind == "resale" or asset.standard not in _ISSUANCE_IGNORES_PAUSE
    if asset.paused and halts:
        out.append(_state_reason(ReasonCode.TOKEN_PAUSED, "the token is paused", asset))
    if not asset.active:
        out.append(_state_reason(ReasonCode.TOKEN_DEACTIVATED, "the token is deactivated", asset))
    if not asset.transferable and halts:
        out.append(
            _state_reason(ReasonCode.NOT_TRANSFERABLE, "the token is not transferable", asset)
        )
    buyer_after = buyer.balance + qty
    seller_after = seller.balance - qty if trade.kind == "resale" else seller.balance
    for i, rule in enumerate(asset.rules):
        ids.append(f"token.{rule.kind}[{i}]")
        failure = _token_check(rule, trade, at, sanctioned, buyer_after, seller_after)
        if failure is not None:
            code, text, effect = failure
            out.append(_token_reason(i, rule, code, text, asset, effect=effect))
    return out, ids


def _state_reason(code: ReasonCode, text: str, asset: Asset) -> Reason:
    return _built(
        Reason,
        {
            "code": code,
            "rule_id": f"token.state.{code.value.lower()}",
            "jurisdiction": None,
            "origin": "token",
            "effect": "deny",
            "citation": _token_citation(asset, "asset state (paused / active / transferable)"),
            "explanation": text,
            "eligible_from": None,
            "verification": "token",
        },
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
            if after > rule.limit and not (exits and rule.replacement == "always"):
                where = f" in {rule.country}" if rule.country else ""
                return (
                    ReasonCode.MAX_HOLDERS_REACHED,
                    f"the token allows at most {rule.limit} holders{where}; "
                    f"this trade would make {after}",
                    deny,
                )
    elif isinstance(rule, tr.MaxBalanceRule):
        to_itself = trade.kind == "resale" and bool(buyer.wallet)
        to_itself = to_itself and _addr_in(seller.wallet, (buyer.wallet or "",))
        if buyer_after > rule.limit and not (to_itself and rule.self_transfers == "exempt"):
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
        # the rule's own verdict (fixed or sliding window, agents exempt); an exchange
        # limit (``into``) applies only to transfers into that identity and counts only
        # earlier ones into it (an outflow of unknown recipient always counts); an
        # outflow a clock ahead of ``at`` dates later has happened: it counts as at ``at``
        buyer_ids = [a for a in (buyer.wallet, buyer.identity) if a]
        if rule.into is not None and not _addr_in(rule.into, buyer_ids):
            return None
        counted = [
            (min(o.at, at), o.amount)
            for o in seller.outflows
            if rule.into is None or o.to is None or _addr_in(o.to, (rule.into,))
        ]
        if not rule.allows(qty, counted, at, sender_is_agent=seller.token_agent):
            moved = rule.moved(counted, at)
            return (
                ReasonCode.VOLUME_LIMIT_EXCEEDED,
                f"seller would move {moved + qty} within its {rule.window} window of "
                f"{rule.window_seconds}s, above the token's limit {rule.amount}",
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
        # primary trade is an issuance: no sending party. An empty allow list lists
        # nobody (every token refuses then), an empty deny list blocks nobody.
        sender = None if trade.kind != "resale" else [w for w in (seller.wallet,) if w]
        if not rule.permits(sender, [w for w in (buyer.wallet,) if w]):
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
        # the sender first (when both parties need the claims), as the token checks
        if rule.parties == "both" and trade.kind == "resale":
            missing = [c.value for c in rule.claim_types if not _has_claim(seller, c, at)]
            if missing:
                return (
                    ReasonCode.SENDER_NOT_ELIGIBLE,
                    f"the seller lacks valid claims the token requires: {', '.join(missing)}",
                    deny,
                )
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


def evaluate_many(
    trades: Iterable[Trade], at: datetime, *, engine: Engine | None = None
) -> list[Decision]:
    """Judge a book of trades at ``at`` (see :meth:`Engine.evaluate_many`)."""
    return (engine or default_engine()).evaluate_many(trades, at)
