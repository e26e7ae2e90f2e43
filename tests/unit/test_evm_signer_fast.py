"""The signer's direct EIP-1559 path gives the very bytes eth-account gives."""

from __future__ import annotations

from typing import Any

from eth_account import Account
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.evm.signer import EvmSigner, _sign_1559
from bridge.types import to_checksum_address

_KEY = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")


@settings(max_examples=60, deadline=None)
@given(
    chain_id=st.integers(1, 2**40),
    nonce=st.integers(0, 2**32),
    tip=st.integers(0, 10**12),
    fee=st.integers(0, 10**15),
    gas=st.integers(21_000, 30_000_000),
    to=st.one_of(st.none(), st.binary(min_size=20, max_size=20)),
    value=st.integers(0, 2**128),
    data=st.binary(max_size=300),
)
def test_direct_eip1559_signing_equals_eth_account(
    chain_id: int,
    nonce: int,
    tip: int,
    fee: int,
    gas: int,
    to: bytes | None,
    value: int,
    data: bytes,
) -> None:
    """Invariant: for every EIP-1559 transaction ``EvmClient.build_tx`` can make (with or
    without a recipient, checksummed as it passes it, any data), the direct path's raw
    bytes equal eth-account's."""
    tx: dict[str, Any] = {
        "type": 2,
        "chainId": chain_id,
        "nonce": nonce,
        "maxPriorityFeePerGas": tip,
        "maxFeePerGas": fee,
        "gas": gas,
        "value": value,
        "data": "0x" + data.hex(),
    }
    if to is not None:
        tx["to"] = to_checksum_address("0x" + to.hex())  # as build_tx passes it
    direct = _sign_1559(tx, _KEY)
    assert direct is not None
    assert direct == bytes(Account.sign_transaction(dict(tx), _KEY).raw_transaction)


def test_other_shapes_go_to_eth_account() -> None:
    """A legacy transaction or one with an access list is not signed by the direct path,
    and the signer still signs it (through eth-account)."""
    legacy = {
        "nonce": 0,
        "gas": 21_000,
        "gasPrice": 10**9,
        "to": "0x" + "11" * 20,
        "value": 1,
        "data": "0x",
        "chainId": 1,
    }
    assert _sign_1559(legacy, _KEY) is None
    listed = {**legacy, "type": 2, "maxFeePerGas": 1, "maxPriorityFeePerGas": 1, "accessList": []}
    del listed["gasPrice"]
    assert _sign_1559(listed, _KEY) is None
    assert EvmSigner(_KEY).sign(legacy) == bytes(
        Account.sign_transaction(legacy, _KEY).raw_transaction
    )


def test_a_signer_builds_its_curve_key_once_and_signs_as_eth_account(
    monkeypatch: Any,
) -> None:
    """A signer signing many transactions derives its libsecp256k1 key once (each signature
    derived the public key again: 1.5% of a busy tick), and every signature is still the
    very bytes eth-account gives."""
    import coincurve

    built: list[int] = []
    original = coincurve.PrivateKey

    def counted(*args: Any, **kwargs: Any) -> Any:
        built.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(coincurve, "PrivateKey", counted)
    signer = EvmSigner(_KEY)
    for nonce in range(4):
        tx: dict[str, Any] = {
            "type": 2,
            "chainId": 31_337,
            "nonce": nonce,
            "maxPriorityFeePerGas": 10**9,
            "maxFeePerGas": 3 * 10**9,
            "gas": 60_000,
            "to": to_checksum_address("0x" + "22" * 20),
            "value": nonce,
            "data": "0x",
        }
        assert signer.sign(tx) == bytes(Account.sign_transaction(dict(tx), _KEY).raw_transaction)
    assert len(built) == 1
