"""Property tests of the canonical model against its JSON form and its exported schemas."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from pydantic import BaseModel, TypeAdapter, ValidationError

from bridge.schemas import _core_models
from tests.strategies import MODEL_STRATEGIES

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "specs" / "schemas"
NAMES = sorted(MODEL_STRATEGIES)


@cache
def validator(name: str) -> Draft202012Validator:
    schema = json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def adapter(name: str) -> TypeAdapter[Any]:
    return TypeAdapter(_core_models()[name])


def test_every_core_model_has_a_strategy() -> None:
    assert set(MODEL_STRATEGIES) == set(_core_models())


@pytest.mark.parametrize("name", NAMES)
@given(data=st.data())
def test_json_round_trip_is_identity(name: str, data: st.DataObject) -> None:
    """Invariant: for every model value v, parse(dump_json(v)) == v and dumps agree."""
    value = data.draw(MODEL_STRATEGIES[name])
    ta = adapter(name)
    text = ta.dump_json(value)
    again = ta.validate_json(text)
    assert again == value
    assert ta.dump_json(again) == text


@pytest.mark.parametrize("name", NAMES)
@given(data=st.data())
def test_exported_schema_accepts_every_generated_value(name: str, data: st.DataObject) -> None:
    """Invariant: the checked-in JSON Schema accepts the JSON of every valid model value."""
    value = data.draw(MODEL_STRATEGIES[name])
    document = adapter(name).dump_python(value, mode="json")
    errors = list(validator(name).iter_errors(document))
    assert not errors, errors[0].message


def _objects(doc: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
    found: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    if isinstance(doc, dict):
        found.append((path, doc))
        for key, item in doc.items():
            found.extend(_objects(item, (*path, key)))
    elif isinstance(doc, list):
        for i, item in enumerate(doc):
            found.extend(_objects(item, (*path, i)))
    return found


MAP_FIELDS = {"locked", "by_partition", "attributes"}  # free-keyed maps, not models
AMOUNT_KEYS = {
    "total_supply",
    "balance",
    "free",
    "frozen",
    "pending",
    "amount",
    "limit",
    "amount_per_unit",
    "face_value",
}


@pytest.mark.parametrize("name", NAMES)
@given(data=st.data())
def test_schema_and_model_reject_mutations(name: str, data: st.DataObject) -> None:
    """Invariant: an unknown field, a wrong type or a negative amount anywhere in a valid
    document makes both the exported schema and the pydantic model refuse it."""
    value = data.draw(MODEL_STRATEGIES[name])
    document = adapter(name).dump_python(value, mode="json")
    objects = _objects(document)
    kind = data.draw(st.sampled_from(["unknown_field", "wrong_type", "negative_amount"]))
    mutated = copy.deepcopy(document)
    targets = dict(_objects(mutated))
    if kind == "unknown_field":
        models = [(p, o) for p, o in objects if not (p and p[-1] in MAP_FIELDS)]
        path, _ = data.draw(st.sampled_from(models))
        targets[path]["surplus_field"] = 1
    elif kind == "wrong_type":
        candidates = [
            (p, k)
            for p, o in objects
            for k, v in o.items()
            if isinstance(v, (str, int)) and not isinstance(v, bool) and k != "kind"
        ]
        if not candidates:
            return
        path, key = data.draw(st.sampled_from(candidates))
        original = targets[path][key]
        targets[path][key] = [original]  # a list where a scalar is due
    else:
        candidates = [
            (p, k)
            for p, o in objects
            for k, v in o.items()
            if k in AMOUNT_KEYS and isinstance(v, int) and not isinstance(v, bool)
        ]
        if not candidates:
            return
        path, key = data.draw(st.sampled_from(candidates))
        targets[path][key] = -1
    assert not validator(name).is_valid(mutated), f"schema accepted {kind}"
    with pytest.raises(ValidationError):
        adapter(name).validate_python(mutated)


def test_models_are_frozen() -> None:
    for target in _core_models().values():
        if isinstance(target, type) and issubclass(target, BaseModel):
            assert target.model_config.get("frozen") is True
            assert target.model_config.get("extra") == "forbid"
