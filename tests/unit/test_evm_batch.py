"""The encoded-once view calls of :mod:`adapters.evm.batch` against eth-abi and web3."""

from __future__ import annotations

import pytest
from eth_abi.abi import encode
from hypothesis import given
from hypothesis import strategies as st
from web3 import Web3

from adapters.evm.batch import ViewCall, checksum_topic, selector, word_uint
from adapters.evm.contracts import load_artifact

_ADDRESSES = st.binary(min_size=20, max_size=20).map(lambda b: Web3.to_checksum_address(b))
_UINTS = st.integers(min_value=0, max_value=2**256 - 1)


@given(holder=_ADDRESSES, amount=_UINTS, partition=st.binary(min_size=32, max_size=32))
def test_hand_encoding_equals_eth_abi(holder: str, amount: int, partition: bytes) -> None:
    """Invariant: for every address, uint256 and bytes32, a ViewCall's calldata equals the
    selector (keccak of the signature) followed by eth-abi's encoding of the arguments."""
    cases = [
        ("balanceOf(address)", ["address"], [holder]),
        ("mint(address,uint256)", ["address", "uint256"], [holder, amount]),
        ("balanceOfByPartition(bytes32,address)", ["bytes32", "address"], [partition, holder]),
        ("setWhitelisted(address,bool)", ["address", "bool"], [holder, amount % 2 == 1]),
    ]
    for signature, types, args in cases:
        expected = Web3.keccak(text=signature)[:4] + encode(types, args)
        assert ViewCall(signature).encode(*args) == expected, signature


def test_calldata_matches_web3_contract_encoding() -> None:
    """The same bytes as web3's contract machinery for the token ABIs the adapters read."""
    abi = load_artifact("SecurityToken1400").abi
    contract = Web3().eth.contract(abi=abi)
    holder = "0x" + "ab" * 20
    checked = Web3.to_checksum_address(holder)
    part = bytes(range(32))
    for name, args in (
        ("balanceOf", [checked]),
        ("partitionsOf", [checked]),
        ("balanceOfByPartition", [part, checked]),
        ("lockupUntil", [checked]),
        ("issueByPartition", [part, checked, 7, b"\x01\x02"]),
    ):
        item = next(i for i in abi if i.get("name") == name)
        signature = f"{name}({','.join(i['type'] for i in item['inputs'])})"
        web3_data = bytes.fromhex(contract.encode_abi(name, args=args)[2:])
        assert ViewCall(signature).encode(*args) == web3_data, name


def test_decoding_words_and_bytes32_arrays() -> None:
    """One-word answers and ``bytes32[]`` decode by hand exactly as eth-abi encodes them."""
    parts = [bytes([i]) * 32 for i in (1, 2, 3)]
    assert (
        ViewCall("partitionsOf(address)", ("bytes32[]",)).decode(encode(["bytes32[]"], [parts]))
        == parts
    )
    assert (
        ViewCall("partitionsOf(address)", ("bytes32[]",)).decode(encode(["bytes32[]"], [[]])) == []
    )
    assert ViewCall("isFrozen(address)", ("bool",)).decode(encode(["bool"], [True])) is True
    assert word_uint(encode(["uint256"], [2**255 + 3])) == 2**255 + 3
    assert word_uint(b"") == 0
    assert ViewCall("name()", ("string",)).decode(encode(["string"], ["Tokyo"])) == "Tokyo"


def test_selector_and_topic_helpers() -> None:
    """The selector is keccak's first four bytes; a topic's address comes back checksummed."""
    assert selector("transfer(address,uint256)").hex() == "a9059cbb"
    topic = bytes(12) + bytes.fromhex("ab" * 20)
    assert checksum_topic(topic) == Web3.to_checksum_address("0x" + "ab" * 20)
    assert checksum_topic("0x" + topic.hex()) == checksum_topic(topic)


def test_wrong_argument_count_is_refused() -> None:
    """A call with the wrong number of arguments is refused, naming the signature."""
    with pytest.raises(ValueError, match=r"balanceOf\(address\)"):
        ViewCall("balanceOf(address)").encode()
