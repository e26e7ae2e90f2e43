"""The EVM lock id's encoding written word by word is eth_abi's encoding, for every input
it takes; every other input is left to eth_abi (which encodes or refuses it as before)."""

from __future__ import annotations

from typing import Any

from eth_abi import encode as abi_encode
from hypothesis import given
from hypothesis import strategies as st

from adapters.evm.htlc import _static_words

_KINDS = ("bytes32", "address", "uint256")


def _value(kind: str) -> st.SearchStrategy[Any]:
    if kind == "bytes32":
        return st.binary(min_size=32, max_size=32)
    if kind == "address":
        return st.binary(min_size=20, max_size=20).flatmap(
            lambda raw: st.sampled_from(
                ["0x" + raw.hex(), "0x" + raw.hex().upper(), "0X" + raw.hex()]
            )
        )
    return st.integers(min_value=0, max_value=2**256 - 1)


_ROWS = st.lists(st.sampled_from(_KINDS), min_size=1, max_size=8).flatmap(
    lambda kinds: st.tuples(st.just(kinds), st.tuples(*(_value(k) for k in kinds)))
)


@given(_ROWS)
def test_well_formed_values_encode_as_eth_abi_does(row: tuple[list[str], tuple[Any, ...]]) -> None:
    """Invariant: for 32-byte ``bytes32``, 0x-and-40-hex ``address`` (any case) and
    ``uint256`` in range, the words are byte for byte eth_abi's encoding."""
    kinds, values = row
    assert _static_words(kinds, values) == abi_encode(kinds, list(values))


@given(
    st.sampled_from(
        [
            ("bytes32", b"\x01" * 31),
            ("bytes32", "0x" + "00" * 32),
            ("address", "0x" + "ab" * 19),
            ("address", "ab" * 20),
            ("address", b"\x00" * 20),
            ("uint256", -1),
            ("uint256", 2**256),
            ("uint256", True),
            ("uint256", 1.0),
            ("bool", True),
        ]
    )
)
def test_anything_else_is_left_to_eth_abi(case: tuple[str, Any]) -> None:
    """Invariant: a value outside the forms above is not encoded here (None)."""
    kind, value = case
    assert _static_words(["uint256", kind], [1, value]) is None
