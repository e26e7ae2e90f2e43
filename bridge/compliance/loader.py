"""Load jurisdiction rule files, validate them, merge operator overrides, compile once.

Rule files are JSON (``specs/jurisdictions/<CODE>.json``), one per jurisdiction, each
checked against ``specs/schemas/jurisdiction-rules.schema.json`` (generated from
:class:`~bridge.compliance.model.JurisdictionRules`), then against the model, then for
meaning: ids carry their jurisdiction's prefix, facts exist and have the right type,
classes and instrument kinds named are defined, withdrawn rules exist.

:func:`load_rules` takes files and directories in order (a directory's ``*.json`` files
in name order). The first file for a jurisdiction is its base; any later file for the
same jurisdiction is an operator override whose entries replace those with the same id
or add new ones, and whose ``withdraw`` removes rules; every change is recorded as an
:class:`~bridge.compliance.model.Override` and listed in the decisions it touches.

Any problem raises :class:`~bridge.errors.ConfigError` naming the file, the path inside
it (``rules[3].require.of[1].fact``) and the problem, before anything is returned: a
:class:`RuleBook` is never half-loaded.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from pydantic import ValidationError

import bridge
from bridge.compliance.model import (
    AllOf,
    AnyOf,
    Citation,
    ClassDefinition,
    Elapsed,
    Eq,
    ExemptionDefinition,
    ForeignEquivalent,
    InSet,
    InstrumentKindDefinition,
    JurisdictionRule,
    JurisdictionRules,
    Ne,
    Not,
    Override,
    Predicate,
)
from bridge.compliance.predicates import (
    FACTS,
    GETTERS,
    ClassKey,
    CompiledPredicate,
    Getter,
    PredicateError,
    compile_predicate,
    elapsed_nodes,
    parse_period,
    predicate_facts,
    rename_party,
)
from bridge.errors import ConfigError
from bridge.model.enums import InvestorClass

__all__ = [
    "PLAN_FACTS",
    "ClassTest",
    "CompiledRule",
    "RuleBook",
    "build_rulebook",
    "default_rules_dir",
    "default_sanctions_file",
    "load_rules",
    "schema_path",
    "specs_dir",
]


def specs_dir() -> Path:
    """stbridge's ``specs/`` (rules, sanctions sample, schemas, examples), as package data.

    ``bridge/_specs`` is a link to the checkout's ``specs/`` and a real directory in the
    wheel, so a checkout, an editable install and a wheel install read the same files.
    """
    return Path(str(files(bridge) / "_specs"))


def default_rules_dir() -> Path:
    """Where the shipped jurisdiction files live (``specs/jurisdictions``)."""
    return specs_dir() / "jurisdictions"


def default_sanctions_file() -> Path:
    """The demo sanctions list shipped with stbridge (fictional entries only)."""
    return specs_dir() / "sanctions" / "sample.csv"


def schema_path() -> Path:
    """The JSON Schema every rule file is validated against."""
    return specs_dir() / "schemas" / "jurisdiction-rules.schema.json"


PLAN_FACTS = frozenset(
    {
        "instrument.exemption",
        "instrument.kind",
        "instrument.home_jurisdiction",
        "buyer.jurisdiction",
        "seller.jurisdiction",
        "cash_leg.present",
        "cash_leg.executed_by",
        "cash_leg.vasp_involved",
        "trade.kind",
    }
)
"""Facts the engine's rule plans are keyed by: a guard on them is decided once per plan."""


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A rule ready to run: the data, its jurisdiction and file, and compiled predicates."""

    rule: JurisdictionRule
    jurisdiction: str
    file: str
    when: CompiledPredicate
    require: CompiledPredicate
    periods: tuple[tuple[Getter, tuple[int, int, int]], ...]
    exemptions: frozenset[str] | None = None
    """None: the rule does not depend on the offering exemption. Otherwise it is judged
    once per exemption of the instrument; a non-empty set lists the only exemptions under
    which its ``when`` can hold (a top-level ``eq``/``in`` on ``instrument.exemption``)."""
    class_parties: tuple[str, ...] = ()
    """Parties whose investor class the rule's ``require`` asks about."""
    guards: tuple[tuple[str, frozenset[str | int | bool], bool], ...] = ()
    """Top-level conditions of ``when`` on facts fixed for a whole plan (see
    :data:`PLAN_FACTS`): (fact, values, negated). A rule whose guard fails for a plan
    cannot apply to any trade of that plan, so the engine does not run it."""
    when_rest: CompiledPredicate | None = None
    """``when`` without its guards: what is left to decide per trade once a plan has
    decided every guard (None: same as ``when``)."""


@dataclass(frozen=True, slots=True)
class ClassTest:
    """An investor class decided from a party's facts (``qualifies_by``), compiled per role."""

    key: ClassKey
    role: str
    test: CompiledPredicate
    facts: tuple[Getter, ...]
    """The amounts and dates the test reads: when the party gives none, it decides nothing."""
    lapses: tuple[tuple[Getter, str, tuple[int, int, int]], ...]
    criteria: str
    citation: Citation


@dataclass(frozen=True)
class RuleBook:
    """Every loaded jurisdiction, merged and compiled. Immutable once built."""

    jurisdictions: dict[str, JurisdictionRules]
    member_of: dict[str, str]
    rules: dict[str, tuple[CompiledRule, ...]]
    classes: dict[str, dict[InvestorClass, ClassDefinition]]
    class_periods: dict[ClassKey, tuple[int, int, int]]
    overrides: tuple[Override, ...]
    files: tuple[str, ...]
    rule_count: int = field(default=0)
    class_tests: dict[str, tuple[ClassTest, ...]] = field(default_factory=dict)
    """Per role (buyer, seller): the classes that can be decided from the party's facts."""

    def resolve(self, code: str | None) -> str | None:
        """The loaded jurisdiction that judges ``code`` (a country or EU), or None."""
        if code is None:
            return None
        if code in self.jurisdictions:
            return code
        return self.member_of.get(code)

    def all_rules(self) -> list[CompiledRule]:
        """Every compiled rule, sorted by id."""
        return sorted((r for rs in self.rules.values() for r in rs), key=lambda r: r.rule.id)


def _fmt_path(parts: Sequence[Any]) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


@lru_cache(maxsize=1)
def _schema_validator() -> Any:
    try:
        import jsonschema  # type: ignore[import-untyped]  # ships no type information
    except ImportError:  # pragma: no cover - a runtime install without jsonschema
        return None
    path = schema_path()
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: (top level): cannot read the rules schema ({exc})") from exc
    return jsonschema.Draft202012Validator(schema)


def _validated_marker(text: str) -> Path | None:
    """Where the schema check of ``text`` is remembered: a file named by the SHA-256 of the
    rules schema and of the text in the user's cache (``$XDG_CACHE_HOME/stbridge`` or
    ``~/.cache/stbridge``); None when the schema cannot be read.

    The JSON Schema pass costs far more than everything else ``compliance check`` does
    (the seven shipped files take seconds); a text that passed it against the same schema
    passes it again, so it is checked once per user and content. The models still validate
    every file on every run.
    """
    import hashlib
    import os

    try:
        schema = schema_path().read_bytes()
    except OSError:
        return None
    digest = hashlib.sha256(schema + b"\0" + text.encode("utf-8")).hexdigest()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "stbridge" / "valid-rules" / digest


def _remember_valid(marker: Path | None) -> None:
    if marker is None:
        return
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
    except OSError:  # a read-only home: the check simply runs again next time
        pass


class _FileProblem(Exception):
    """A problem inside one rule file: where (path inside) and what; becomes ConfigError."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}")
        self.where = where
        self.problem = problem


@lru_cache(maxsize=128)
def _check_text(text: str) -> JurisdictionRules:
    """Parse and validate one file's text (cached by content: a file is checked once)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _FileProblem(
            f"line {exc.lineno} column {exc.colno}", f"not valid JSON ({exc.msg})"
        ) from None
    marker = _validated_marker(text)
    validator = None if marker is not None and marker.exists() else _schema_validator()
    if validator is not None:
        errors = list(validator.iter_errors(data))
        if errors:
            import jsonschema

            best = jsonschema.exceptions.best_match(errors)
            raise _FileProblem(
                _fmt_path(list(best.absolute_path)),
                f"{best.message} (schema jurisdiction-rules)",
            )
        _remember_valid(marker)
    try:
        return JurisdictionRules.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = [p for p in first["loc"] if not (isinstance(p, str) and p[:1].isupper())]
        raise _FileProblem(_fmt_path(loc), first["msg"]) from None


def _parse_file(path: Path) -> JurisdictionRules:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: (file): cannot read ({exc.strerror})") from exc
    try:
        return _check_text(text)
    except _FileProblem as exc:
        raise ConfigError(f"{path}: {exc.where}: {exc.problem}") from None


def _expand(sources: Sequence[Path]) -> list[Path]:
    files: list[Path] = []
    for src in sources:
        if src.is_dir():
            found = sorted(src.glob("*.json"))
            if not found:
                raise ConfigError(f"{src}: (directory): no *.json rule files in it")
            files.extend(found)
        elif src.is_file():
            files.append(src)
        else:
            raise ConfigError(f"{src}: (path): no such file or directory")
    return files


@dataclass
class _Merged:
    base: JurisdictionRules
    base_file: str
    classes: dict[InvestorClass, tuple[ClassDefinition, str]]
    equivalents: dict[InvestorClass, tuple[ForeignEquivalent, str]]
    kinds: dict[str, tuple[InstrumentKindDefinition, str]]
    exemptions: dict[str, tuple[ExemptionDefinition, str]]
    rules: dict[str, tuple[JurisdictionRule, str, int]]


def _check_prefix(path: Path | str, where: str, ident: str, code: str) -> None:
    if not ident.startswith(code.lower() + "."):
        raise ConfigError(f"{path}: {where}: id {ident!r} must start with {code.lower()!r}.")


def load_rules(sources: Sequence[Path]) -> RuleBook:
    """Load, validate, merge and compile rule files (see the module docstring)."""
    files = _expand(sources)
    return build_rulebook([(path, _parse_file(path)) for path in files])


def build_rulebook(documents: Sequence[tuple[Path | str, JurisdictionRules]]) -> RuleBook:
    """Merge and compile already-parsed rule documents, in order (later ones override).

    ``documents`` pairs each document with the file (or label) named in errors and in
    the overrides. :func:`load_rules` is this after reading and schema-checking files.
    """
    merged: dict[str, _Merged] = {}
    overrides: list[Override] = []
    for path, doc in documents:
        code = doc.jurisdiction
        for i, r in enumerate(doc.rules):
            _check_prefix(path, f"rules[{i}].id", r.id, code)
        for i, k in enumerate(doc.instrument_kinds):
            _check_prefix(path, f"instrument_kinds[{i}].id", k.id, code)
        for i, e in enumerate(doc.exemptions):
            _check_prefix(path, f"exemptions[{i}].id", e.id, code)
        seen: set[str] = set()
        for i, r in enumerate(doc.rules):
            if r.id in seen:
                raise ConfigError(f"{path}: rules[{i}].id: duplicate rule id {r.id!r}")
            seen.add(r.id)
        cur = merged.get(code)
        file = str(path)
        if cur is None:
            if doc.name is None:
                raise ConfigError(
                    f"{path}: name: the first file for {code} must be a base file with a name "
                    "(an override needs its base loaded first)"
                )
            if doc.withdraw:
                raise ConfigError(f"{path}: withdraw: a base file cannot withdraw rules")
            merged[code] = _Merged(
                base=doc,
                base_file=file,
                classes={c.investor_class: (c, file) for c in doc.investor_classes},
                equivalents={e.investor_class: (e, file) for e in doc.foreign_equivalents},
                kinds={k.id: (k, file) for k in doc.instrument_kinds},
                exemptions={e.id: (e, file) for e in doc.exemptions},
                rules={r.id: (r, file, i) for i, r in enumerate(doc.rules)},
            )
            continue
        for c in doc.investor_classes:
            cur.classes[c.investor_class] = (c, file)
        for eqv in doc.foreign_equivalents:
            cur.equivalents[eqv.investor_class] = (eqv, file)
        for k in doc.instrument_kinds:
            cur.kinds[k.id] = (k, file)
        for ex in doc.exemptions:
            cur.exemptions[ex.id] = (ex, file)
        for i, r in enumerate(doc.rules):
            previous = cur.rules.get(r.id)
            overrides.append(
                Override(
                    rule_id=r.id,
                    jurisdiction=code,
                    action="replaced" if previous else "added",
                    file=file,
                    replaced_file=previous[1] if previous else None,
                )
            )
            cur.rules[r.id] = (r, file, i)
        for i, rid in enumerate(doc.withdraw):
            previous = cur.rules.pop(rid, None)
            if previous is None:
                raise ConfigError(f"{path}: withdraw[{i}]: no loaded rule {rid!r} to withdraw")
            overrides.append(
                Override(
                    rule_id=rid,
                    jurisdiction=code,
                    action="withdrawn",
                    file=file,
                    replaced_file=previous[1],
                )
            )
        if doc.members:
            cur.base = cur.base.model_copy(update={"members": doc.members})
    return _compile(merged, tuple(overrides), tuple(str(p) for p, _ in documents))


def _compile(
    merged: dict[str, _Merged], overrides: tuple[Override, ...], files: tuple[str, ...]
) -> RuleBook:
    member_of: dict[str, str] = {}
    for code, m in merged.items():
        for country in m.base.members:
            if country in merged:
                raise ConfigError(
                    f"{m.base_file}: members: {country} has its own rule file; it cannot also "
                    f"be judged as a member of {code}"
                )
            if country in member_of:
                raise ConfigError(
                    f"{m.base_file}: members: {country} is already a member of {member_of[country]}"
                )
            member_of[country] = code
    classes = {code: {k: v[0] for k, v in m.classes.items()} for code, m in merged.items()}
    class_periods: dict[ClassKey, tuple[int, int, int]] = {}
    for code, m in merged.items():
        for cls, (definition, file) in m.classes.items():
            for inc in definition.includes:
                if inc not in classes[code]:
                    raise ConfigError(
                        f"{file}: investor_classes[{cls.value}].includes: {inc.value} is not "
                        f"a class defined for {code}"
                    )
            if definition.valid_for is not None:
                class_periods[(code, cls.value)] = parse_period(definition.valid_for)
        for cls, (eq, file) in m.equivalents.items():
            if cls not in classes[code]:
                raise ConfigError(
                    f"{file}: foreign_equivalents[{cls.value}]: {cls.value} is not a class "
                    f"defined for {code}"
                )
            for ref in eq.foreign:
                fj, fc = ref.split(":")
                if fj in classes and fc not in {c.value for c in classes[fj]}:
                    raise ConfigError(
                        f"{file}: foreign_equivalents[{cls.value}].foreign: {ref} is not a "
                        f"class defined for {fj}"
                    )
        for ex_id, (ex, file) in m.exemptions.items():
            for kind in ex.instrument_kinds:
                if kind not in m.kinds:
                    raise ConfigError(
                        f"{file}: exemptions[{ex_id}].instrument_kinds: {kind!r} is not an "
                        f"instrument kind defined for {code}"
                    )

    def descendants(code: str, cls: InvestorClass) -> set[InvestorClass]:
        out, todo = {cls}, [cls]
        while todo:
            for inc in classes[code][todo.pop()].includes:
                if inc not in out:
                    out.add(inc)
                    todo.append(inc)
        return out

    def resolver_for(code: str, file: str) -> Any:
        def resolve(ref: str, path: str) -> frozenset[ClassKey]:
            if ":" in ref:
                fj, fc = ref.split(":")
                if fj in classes:
                    try:
                        fcls = InvestorClass(fc)
                    except ValueError:
                        raise PredicateError(path, f"{fc!r} is not an investor class") from None
                    if fcls not in classes[fj]:
                        raise PredicateError(path, f"{ref} is not a class defined for {fj}")
                    return frozenset((fj, c.value) for c in descendants(fj, fcls))
                return frozenset({(fj, fc)})
            try:
                cls = InvestorClass(ref)
            except ValueError:
                raise PredicateError(path, f"{ref!r} is not an investor class") from None
            if cls not in classes[code]:
                raise PredicateError(path, f"{ref} is not a class defined for {code}")
            local = descendants(code, cls)
            keys = {(code, c.value) for c in local}
            for c in local:
                eq = merged[code].equivalents.get(c)
                if eq is not None:
                    for foreign in eq[0].foreign:
                        fj, fc = foreign.split(":")
                        keys.add((fj, fc))
            return frozenset(keys)

        return resolve

    compiled: dict[str, tuple[CompiledRule, ...]] = {}
    total = 0
    for code, m in merged.items():
        out = []
        for rid, (rule, file, index) in sorted(m.rules.items()):
            resolve = resolver_for(code, file)
            try:
                when = compile_predicate(rule.when, f"rules[{index}].when", resolve)
                require = compile_predicate(rule.require, f"rules[{index}].require", resolve)
            except PredicateError as exc:
                raise ConfigError(f"{file}: {exc.path}: {exc.problem} (rule {rid})") from None
            periods = tuple(
                (GETTERS[e.since], parse_period(e.at_least)) for e in elapsed_nodes(rule.require)
            )
            out.append(
                CompiledRule(
                    rule,
                    code,
                    file,
                    when,
                    require,
                    periods,
                    _exemption_dependency(rule.when),
                    _class_parties(rule.require),
                    _guards(rule.when),
                    _when_rest(rule.when, resolve, f"rules[{index}].when"),
                )
            )
        compiled[code] = tuple(out)
        total += len(out)
    jurisdictions = {
        code: m.base.model_copy(
            update={
                "investor_classes": tuple(v[0] for v in m.classes.values()),
                "foreign_equivalents": tuple(v[0] for v in m.equivalents.values()),
                "instrument_kinds": tuple(v[0] for v in m.kinds.values()),
                "exemptions": tuple(v[0] for v in m.exemptions.values()),
                "rules": tuple(r.rule for r in compiled[code]),
                "withdraw": (),
            }
        )
        for code, m in merged.items()
    }
    class_tests: dict[str, list[ClassTest]] = {"buyer": [], "seller": []}
    for code, m in merged.items():
        for cls, (definition, file) in sorted(m.classes.items()):
            if definition.qualifies_by is None:
                continue
            for role in ("buyer", "seller"):
                pred = rename_party(definition.qualifies_by, role)
                where = f"investor_classes[{cls.value}].qualifies_by"
                if any(not f.startswith(role + ".") for f in predicate_facts(pred)):
                    raise ConfigError(f"{file}: {where}: a class test reads only party.* facts")
                try:
                    test = compile_predicate(pred, where, resolver_for(code, file))
                except PredicateError as exc:
                    raise ConfigError(f"{file}: {exc.path}: {exc.problem}") from None
                class_tests[role].append(
                    ClassTest(
                        key=(code, cls.value),
                        role=role,
                        test=test,
                        facts=tuple(
                            GETTERS[f]
                            for f in sorted(predicate_facts(pred))
                            if FACTS[f] in ("money", "date", "int")
                        ),
                        lapses=tuple(
                            (GETTERS[e.since], e.since, parse_period(e.at_least))
                            for e in _negated_elapsed(pred)
                        ),
                        criteria=definition.criteria or definition.label,
                        citation=definition.citation,
                    )
                )
    return RuleBook(
        class_tests={role: tuple(tests) for role, tests in class_tests.items()},
        jurisdictions=jurisdictions,
        member_of=member_of,
        rules=compiled,
        classes=classes,
        class_periods=class_periods,
        overrides=overrides,
        files=files,
        rule_count=total,
    )


def _exemption_dependency(when: Predicate) -> frozenset[str] | None:
    """How a rule's ``when`` depends on the offering exemption (see CompiledRule)."""
    if "instrument.exemption" not in _facts_named(when):
        return None
    conjuncts = when.of if isinstance(when, AllOf) else (when,)
    for part in conjuncts:
        if isinstance(part, Eq) and part.fact == "instrument.exemption":
            return frozenset({str(part.value)})
        if isinstance(part, InSet) and part.fact == "instrument.exemption":
            return frozenset(str(v) for v in part.values)
    return frozenset()


def _facts_named(pred: Predicate) -> set[str]:
    return predicate_facts(pred)


def _class_parties(pred: Predicate) -> tuple[str, ...]:
    from bridge.compliance.model import HasClass

    found: set[str] = set()

    def walk(p: Predicate) -> None:
        if isinstance(p, HasClass):
            found.add(p.party)
        elif isinstance(p, AllOf | AnyOf):
            for q in p.of:
                walk(q)
        elif isinstance(p, Not):
            walk(p.of)

    walk(pred)
    return tuple(sorted(found))


def _negated_elapsed(pred: Predicate, negated: bool = False) -> list[Elapsed]:
    """``elapsed`` nodes under a ``not``: windows that close (a statement that lapses)."""
    if isinstance(pred, Elapsed):
        return [pred] if negated else []
    if isinstance(pred, AllOf | AnyOf):
        return [e for p in pred.of for e in _negated_elapsed(p, negated)]
    if isinstance(pred, Not):
        return _negated_elapsed(pred.of, not negated)
    return []


def _guards(when: Predicate) -> tuple[tuple[str, frozenset[str | int | bool], bool], ...]:
    """The top-level ``eq``/``in``/``ne`` conjuncts of ``when`` on :data:`PLAN_FACTS`."""
    conjuncts = when.of if isinstance(when, AllOf) else (when,)
    out: list[tuple[str, frozenset[str | int | bool], bool]] = []
    for part in conjuncts:
        if isinstance(part, Eq | Ne) and part.fact in PLAN_FACTS:
            out.append((part.fact, frozenset({part.value}), isinstance(part, Ne)))
        elif isinstance(part, InSet) and part.fact in PLAN_FACTS:
            out.append((part.fact, frozenset(part.values), False))
    return tuple(out)


def _when_rest(when: Predicate, resolve: Any, path: str) -> CompiledPredicate | None:
    """``when`` compiled without its top-level guard conjuncts (see CompiledRule)."""
    conjuncts = when.of if isinstance(when, AllOf) else (when,)
    rest = tuple(
        p for p in conjuncts if not (isinstance(p, Eq | Ne | InSet) and p.fact in PLAN_FACTS)
    )
    if len(rest) == len(conjuncts):
        return None
    return compile_predicate(AllOf(op="all", of=rest), path, resolve)
