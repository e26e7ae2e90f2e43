"""Rule files: malformed files refused with file, path and problem; operator overrides."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from bridge.compliance.engine import Engine
from bridge.compliance.loader import default_rules_dir, load_rules, schema_path
from bridge.errors import ConfigError
from tests.strategies_compliance import buyer, cls, instrument, seller, trade

QII = cls("JP", "qualified_institutional")


def _jp() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((default_rules_dir() / "JP.json").read_text(encoding="utf-8"))
    return doc


def _write(path: Path, doc: object) -> Path:
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def _refused(tmp_path: Path, doc: object, *fragments: str) -> str:
    f = _write(tmp_path / "JP.json", doc)
    with pytest.raises(ConfigError) as info:
        load_rules([f])
    message = str(info.value)
    assert message.startswith(f"{f}: "), message
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_schema_file_exists_and_is_generated_from_the_model() -> None:
    """The loader validates against specs/schemas/jurisdiction-rules.schema.json."""
    schema = json.loads(schema_path().read_text(encoding="utf-8"))
    assert schema["$id"] == "stbridge:jurisdiction-rules"
    assert "JurisdictionRule" in schema["$defs"]


def test_malformed_json_names_line_and_column(tmp_path: Path) -> None:
    """A file that is not JSON is refused with its line and column."""
    f = tmp_path / "JP.json"
    f.write_text('{\n  "format": ,\n}', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"JP\.json: line 2 column 13: not valid JSON"):
        load_rules([f])


def test_bad_predicate_op_names_path(tmp_path: Path) -> None:
    """A predicate with an unknown op is refused naming rules[0].require."""
    doc = _jp()
    doc["rules"][0]["require"] = {"op": "regex", "fact": "buyer.residence"}
    _refused(tmp_path, doc, "rules[0].require")


def test_unknown_fact_names_path_and_rule(tmp_path: Path) -> None:
    """A predicate over a fact that does not exist is refused with the path inside the rule."""
    doc = _jp()
    doc["rules"][0]["when"] = {"op": "eq", "fact": "buyer.shoe_size", "value": 42}
    _refused(tmp_path, doc, "rules[0].when.fact", "unknown fact 'buyer.shoe_size'")


def test_fact_type_mismatch(tmp_path: Path) -> None:
    """Comparing a bool fact with a string is refused at load."""
    doc = _jp()
    doc["rules"][0]["when"] = {"op": "eq", "fact": "trade.offshore", "value": "yes"}
    _refused(tmp_path, doc, "rules[0].when.value", "is not a bool")


def test_undefined_class_in_has_class(tmp_path: Path) -> None:
    """A rule asking for a class the jurisdiction does not define is refused."""
    doc = _jp()
    doc["rules"][0]["require"] = {"op": "has_class", "party": "buyer", "any_of": ["accredited"]}
    _refused(
        tmp_path, doc, "rules[0].require.any_of[0]", "accredited is not a class defined for JP"
    )


def test_missing_citation_refused(tmp_path: Path) -> None:
    """Every rule needs a citation: a rule without one is refused by the schema."""
    doc = _jp()
    del doc["rules"][2]["citation"]
    _refused(tmp_path, doc, "rules[2]", "citation")


def test_rule_id_prefix_enforced(tmp_path: Path) -> None:
    """A JP file may not define a rule with a US id."""
    doc = _jp()
    doc["rules"][0]["id"] = "us.sneaky"
    _refused(tmp_path, doc, "rules[0].id", "must start with 'jp'")


def test_bad_period_refused(tmp_path: Path) -> None:
    """An elapsed predicate with a malformed ISO period is refused."""
    doc = _jp()
    doc["rules"][0]["require"] = {
        "op": "elapsed",
        "since": "seller.acquired_on",
        "at_least": "6 months",
    }
    _refused(tmp_path, doc, "rules[0].require")


def test_no_half_loaded_engine(tmp_path: Path) -> None:
    """One bad file among good ones: load_rules raises and returns nothing."""
    rules = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), rules)
    doc = json.loads((rules / "SG.json").read_text(encoding="utf-8"))
    doc["rules"][-1]["code"] = "NOT_A_CODE"
    _write(rules / "SG.json", doc)
    result = None
    with pytest.raises(ConfigError, match=r"SG\.json: rules\[\d+\]\.code"):
        result = load_rules([rules])
    assert result is None


def test_override_replaces_adds_and_withdraws(tmp_path: Path) -> None:
    """Operator file: replaces jp.qii_only.transfer, withdraws the on-chain rule, adds one."""
    base = _jp()
    replaced = dict(base["rules"][0])
    assert replaced["id"] == "jp.qii_only.transfer"
    replaced["require"] = {"op": "has_class", "party": "buyer", "any_of": ["specified"]}
    added = dict(replaced, id="jp.operator.extra", when={"op": "const", "value": False})
    ops = _write(
        tmp_path / "JP-operator.json",
        {
            "format": "stbridge.jurisdiction-rules/v1",
            "jurisdiction": "JP",
            "rules": [replaced, added],
            "withdraw": ["jp.qii_only.onchain_control"],
        },
    )
    book = load_rules([default_rules_dir(), ops])
    eng = Engine(book)
    from datetime import date

    from tests.strategies_compliance import AT

    specified = cls("JP", "specified", granted_on=date(2026, 1, 1))
    t = trade(
        instrument("jp.ertr", "jp.qii_only", "JP", capabilities=()),
        seller("JP", QII),
        buyer("JP", specified),
    )
    d = eng.evaluate(t, AT)
    assert d.outcome == "allow", d.reasons
    actions = {(o.rule_id, o.action) for o in d.overrides}
    assert actions == {
        ("jp.qii_only.transfer", "replaced"),
        ("jp.operator.extra", "added"),
        ("jp.qii_only.onchain_control", "withdrawn"),
    }
    assert all(o.file == str(ops) for o in d.overrides)
    assert "jp.qii_only.onchain_control" not in d.rules_evaluated


def test_override_before_base_refused(tmp_path: Path) -> None:
    """An override file loaded before its base is refused (it has no name)."""
    ops = _write(
        tmp_path / "JP-op.json", {"format": "stbridge.jurisdiction-rules/v1", "jurisdiction": "JP"}
    )
    with pytest.raises(ConfigError, match=r"JP-op\.json: name: the first file for JP"):
        load_rules([ops])


def test_withdraw_unknown_rule_refused(tmp_path: Path) -> None:
    """Withdrawing a rule that is not loaded is refused with the path inside the file."""
    ops = _write(
        tmp_path / "JP-op.json",
        {"format": "stbridge.jurisdiction-rules/v1", "jurisdiction": "JP", "withdraw": ["jp.nope"]},
    )
    with pytest.raises(ConfigError, match=r"withdraw\[0\]: no loaded rule 'jp.nope'"):
        load_rules([default_rules_dir() / "JP.json", ops])


def test_missing_rules_path_refused(tmp_path: Path) -> None:
    """A --rules path that does not exist is refused naming it."""
    with pytest.raises(ConfigError, match="no such file or directory"):
        load_rules([tmp_path / "nope"])


def test_every_shipped_rule_has_citation_and_verification() -> None:
    """All shipped rules carry a law, an article and a verification status; all 7 files load."""
    book = load_rules([default_rules_dir()])
    assert set(book.jurisdictions) == {"JP", "US", "EU", "SG", "CH", "HK", "GB"}
    for rule in (r.rule for r in book.all_rules()):
        assert rule.citation.law
        assert rule.citation.article
        assert rule.verification in {"verified", "partial", "unverified"}
        if rule.verification == "unverified":
            assert rule.note, f"{rule.id} is unverified and says nothing about why"
    assert book.resolve("DE") == "EU"
    assert book.resolve("BR") is None


def test_load_order_of_files_does_not_matter() -> None:
    """The seven shipped files loaded in reverse order judge the examples identically."""
    from datetime import UTC, datetime

    from bridge.compliance.loader import specs_dir
    from bridge.compliance.model import Trade

    files = sorted(default_rules_dir().glob("*.json"))
    forward = Engine(load_rules(files))
    backward = Engine(load_rules(list(reversed(files))))
    at = datetime(2026, 3, 1, tzinfo=UTC)
    examples = sorted((specs_dir() / "examples").glob("*.json"))
    assert len(examples) == 4
    for example in examples:
        t = Trade.model_validate_json(example.read_text(encoding="utf-8"))
        assert forward.evaluate(t, at) == backward.evaluate(t, at)
