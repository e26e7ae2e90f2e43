"""An order's ERC-1400 partition (issue 16): ``LegOrder.partition``.

The security leg of an order may name the ERC-1400 partition its units come from (a
bytes32 id, 0x + 64 hex digits); the relayer then locks that partition
(``lockPartition``) and the leg's lock id commits to it. The field is checked where the
order is read: its form, and that the leg's standard has partitions (ERC-1400 only). The
order's JSON Schema carries the same rule.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from pydantic import ValidationError

from bridge.validation import invalid_input
from relayer.orders import static_examples
from relayer.service import LegOrder, SwapOrder

SCHEMA = Path(__file__).resolve().parents[2] / "specs" / "schemas" / "swap-order.schema.json"
CLASS_B = "0x" + b"class-B".ljust(32, b"\x00").hex()


@functools.cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(json.loads(SCHEMA.read_text(encoding="utf-8")))


def _order(**security: Any) -> dict[str, Any]:
    name = "erc1400-jp-to-sg-for-usd-on-algorand"
    order = static_examples()[name].model_dump(mode="json")
    order["security"] = {**order["security"], "standard": "erc1400", **security}
    return order


def test_a_partition_of_an_erc1400_leg_is_carried_and_normalised() -> None:
    order = SwapOrder.model_validate(_order(partition=CLASS_B.upper().replace("0X", "0x")))
    assert order.security.partition == CLASS_B  # lower case, as the lock id is hashed
    assert list(_validator().iter_errors(order.model_dump(mode="json"))) == []
    plain = SwapOrder.model_validate(_order())
    assert plain.security.partition is None


@pytest.mark.parametrize(
    ("partition", "rule"),
    [
        ("class-B", "a bytes32 partition id: 0x + 64 hex digits"),
        ("0x" + "ab" * 31, "a bytes32 partition id: 0x + 64 hex digits"),
        ("0x" + "zz" * 32, "a bytes32 partition id: 0x + 64 hex digits"),
    ],
)
def test_a_malformed_partition_is_refused_naming_the_field_and_the_rule(
    partition: str, rule: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        SwapOrder.model_validate(_order(partition=partition))
    error = invalid_input(refused.value)
    assert error.field == "security.partition"
    assert rule in str(error)
    assert list(_validator().iter_errors(_order(partition=partition)))  # the schema agrees


@pytest.mark.parametrize("standard", ["erc20", "erc3643", "erc1404", "ibet_share", None])
def test_a_partition_on_a_standard_without_partitions_is_refused(standard: str | None) -> None:
    """Only ERC-1400 has partitions: a partition on any other standard (or on a leg that
    does not say its standard) is refused, naming the field."""
    with pytest.raises(ValidationError) as refused:
        SwapOrder.model_validate(_order(partition=CLASS_B, standard=standard))
    error = invalid_input(refused.value)
    assert error.field == "security.partition"
    assert "only an ERC-1400 leg" in str(error)


def test_a_partition_on_a_native_coin_leg_is_refused() -> None:
    with pytest.raises(ValidationError) as refused:
        LegOrder(
            chain="evm",
            amount=1,
            standard="erc1400",
            sender="0x6331c0C6710CeA1609807D15462433606c0b09D5",
            receiver="0xeb5Ae358d5b87CF8d52f24d47DE65A3D98ef0665",
            partition=CLASS_B,
        )
    assert invalid_input(refused.value).field == "partition"
