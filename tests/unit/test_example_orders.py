"""The example orders under ``specs/examples/orders/`` and the order's JSON Schema.

Every static example validates against ``specs/schemas/swap-order.schema.json`` and against
the model; there is one per kind of trade the devnet settles; they are what the generator
writes (a hand edit or a model change without regenerating fails here); an order without
its trade is refused by the schema and by the loader, naming the field.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from bridge.errors import InvalidInput
from relayer.orders import KINDS, load_order, main, static_examples, swap_order_schema
from relayer.service import SwapOrder

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "specs" / "examples" / "orders"
SCHEMA = ROOT / "specs" / "schemas" / "swap-order.schema.json"


@functools.cache
def _validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def test_one_static_example_per_kind_of_trade() -> None:
    assert sorted(p.stem for p in EXAMPLES.glob("*.json")) == sorted(KINDS)


@pytest.mark.parametrize("name", sorted(KINDS))
def test_every_static_example_validates_against_schema_and_model(name: str) -> None:
    """Invariant: each checked-in example order is valid for the JSON Schema and the model,
    and the model reads it back to the same JSON."""
    path = EXAMPLES / f"{name}.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    errors = [e.message for e in _validator().iter_errors(data)]
    assert errors == []
    order = load_order(path)
    assert isinstance(order, SwapOrder)
    assert order.trade is not None
    assert order.model_dump(mode="json") == data


def test_static_examples_are_what_the_generator_writes(tmp_path: Path) -> None:
    assert main(["--check", "--out", str(EXAMPLES)]) == 0
    (tmp_path / "extra.json").write_text("{}")
    assert main(["--check", "--out", str(tmp_path)]) == 1  # missing ones and a stray one


def test_the_checked_in_schema_is_the_generated_one_with_trade_required() -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    generated = swap_order_schema()
    assert {k: v for k, v in schema.items() if k not in ("$schema", "$id")} == generated
    assert "trade" in schema["required"]


def test_an_order_without_its_trade_is_refused_naming_the_field(tmp_path: Path) -> None:
    order = next(iter(static_examples().values())).model_dump(mode="json")
    order.pop("trade")
    errors = [e.message for e in _validator().iter_errors(order)]
    assert errors == ["'trade' is a required property"]
    path = tmp_path / "order.json"
    path.write_text(json.dumps(order))
    with pytest.raises(InvalidInput) as refused:
        load_order(path)
    assert refused.value.field == "trade"
    order["trade"] = None
    assert _validator().iter_errors(order)  # null is not a trade either
    path.write_text(json.dumps({**order, "settlement_window_s": 0, "trade": {"id": "x"}}))
    with pytest.raises(InvalidInput) as bad:
        load_order(path)
    assert bad.value.field == "settlement_window_s"  # the first of the problems, named


def test_swap_submit_refuses_an_order_without_its_trade_before_sending(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nothing is sent (the URL answers nothing): the refusal names the field, exit 3."""
    from bridge.cli import main as stbridge

    order = next(iter(static_examples().values())).model_dump(mode="json")
    order.pop("trade")
    path = tmp_path / "order.json"
    path.write_text(json.dumps(order))
    assert stbridge(["swap", "submit", str(path), "--url", "http://127.0.0.1:9"]) == 3
    assert "error: trade: required" in capsys.readouterr().err


def test_without_the_relayer_extras_the_order_schema_is_left_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A core install (no ``server`` extra: the order's module cannot import) still passes
    ``schema export --check``: the order schema is neither regenerated nor reported."""
    import importlib.metadata
    from types import SimpleNamespace

    from bridge import schemas

    def unloadable() -> None:
        raise ImportError("No module named 'prometheus_client'")

    plugged = SimpleNamespace(name="swap-order", dist=SimpleNamespace(name="stbridge"))
    plugged.load = unloadable
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: [plugged])
    monkeypatch.setattr(schemas, "_UNAVAILABLE", set())
    assert "swap-order" not in schemas.public_schemas()
    assert schemas.drifted(SCHEMA.parent) == []
