"""The pure half of the ERC-3643 adapter: T-REX's order of checks, rules, holdings, ABIs."""

from __future__ import annotations

import dataclasses

import pytest

from adapters.evm import abi_gen
from adapters.evm.client import decode_revert_data, register_errors, revert_from_exception
from adapters.evm.erc3643 import Erc3643Codec, ModuleFacts, TransferFacts
from bridge.model import (
    AllowListRule,
    ClaimType,
    CountryAllowRule,
    IssuerApprovalRule,
    OpaqueRule,
    VolumeLimitRule,
)
from bridge.reasons import ReasonCode

CODEC = Erc3643Codec()
OK = TransferFacts(
    paused=False,
    sender_frozen=False,
    recipient_frozen=False,
    sender_balance=100,
    sender_frozen_tokens=0,
    amount=10,
    recipient_registered=True,
    recipient_verified=True,
    modules=(ModuleFacts("0x" + "01" * 20, "CountryAllowModule", True),),
)


def codes(facts: TransferFacts) -> list[ReasonCode]:
    return [r.code for r in CODEC.derive_refusals(facts)]


def test_all_clear_is_allowed() -> None:
    assert codes(OK) == []


def test_order_follows_trex() -> None:
    """paused, frozen, balance, identity, modules: the order T-REX checks them."""
    everything = dataclasses.replace(
        OK,
        paused=True,
        sender_frozen=True,
        recipient_frozen=True,
        amount=101,
        recipient_registered=False,
        recipient_verified=False,
        modules=(ModuleFacts("0x" + "02" * 20, "MaxBalanceModule", False),),
    )
    assert codes(everything) == [
        ReasonCode.TOKEN_PAUSED,
        ReasonCode.SENDER_FROZEN,
        ReasonCode.RECIPIENT_FROZEN,
        ReasonCode.INSUFFICIENT_BALANCE,
        ReasonCode.RECIPIENT_NOT_ELIGIBLE,
        ReasonCode.MAX_BALANCE_EXCEEDED,
    ]


def test_frozen_part_makes_unfrozen_balance_short() -> None:
    facts = dataclasses.replace(OK, sender_frozen_tokens=95)
    refusals = CODEC.derive_refusals(facts)
    assert [r.code for r in refusals] == [ReasonCode.INSUFFICIENT_UNFROZEN_BALANCE]
    assert refusals[0].raw_message == "Insufficient Balance"


def test_missing_accreditation_only_is_accreditation_required() -> None:
    facts = dataclasses.replace(
        OK, recipient_verified=False, missing_claims=((2, ClaimType.ACCREDITED),)
    )
    refusal = CODEC.derive_refusals(facts)[0]
    assert refusal.code is ReasonCode.ACCREDITATION_REQUIRED
    assert "accredited (topic 2)" in refusal.detail


def test_unknown_module_refusal_is_generic_and_named() -> None:
    facts = dataclasses.replace(
        OK, modules=(ModuleFacts("0x" + "03" * 20, "HomeMadeModule", False, "boom"),)
    )
    refusal = CODEC.derive_refusals(facts)[0]
    assert refusal.code is ReasonCode.TRANSFER_FAILURE
    assert refusal.raw_code == "HomeMadeModule"
    assert "boom" in refusal.detail


def test_zero_amount_is_refused_last() -> None:
    assert codes(dataclasses.replace(OK, amount=0)) == [ReasonCode.TRANSFER_FAILURE]


def test_holding_address_freeze_freezes_everything() -> None:
    holder = "0x" + "ab" * 20
    assert CODEC.holding(holder, 100, 30, False).free == 70
    frozen = CODEC.holding(holder, 100, 30, True)
    assert (frozen.free, frozen.frozen) == (0, 100)


def test_module_rules() -> None:
    address = "0x" + "04" * 20
    (allow,) = CODEC.module_rules("CountryAllowModule", address, {"countries": ["SG", "JP"]})
    assert isinstance(allow, CountryAllowRule)
    assert allow.countries == ("JP", "SG")
    limits = CODEC.module_rules(
        "TimeTransfersLimitsModule", address, {"limits": [(60, 5), (3600, 50)]}
    )
    assert all(isinstance(r, VolumeLimitRule) for r in limits)
    assert isinstance(
        CODEC.module_rules("ConditionalTransferModule", address, {})[0], IssuerApprovalRule
    )
    assert isinstance(
        CODEC.module_rules("TransferRestrictModule", address, {"addresses": []})[0], AllowListRule
    )
    (opaque,) = CODEC.module_rules("SomethingElse", address, {})
    assert isinstance(opaque, OpaqueRule)
    assert (opaque.name, opaque.source) == ("SomethingElse", address)


def test_refusal_from_raw_message() -> None:
    assert CODEC.refusal(None, "Pausable: paused").code is ReasonCode.TOKEN_PAUSED
    unknown = CODEC.refusal(None, "something new")
    assert unknown.code is ReasonCode.UNKNOWN
    assert unknown.raw_message == "something new"
    assert CODEC.refusal("CountryRestrictModule", None).code is ReasonCode.COUNTRY_RESTRICTED


def test_py_evm_custom_error_text_decodes_like_json_rpc_data() -> None:
    """eth-tester writes custom-error bytes as their Python repr; both shapes decode alike."""
    register_errors(
        [
            {
                "type": "error",
                "name": "CountryAlreadyAllowed",
                "inputs": [{"type": "address"}, {"type": "uint16"}],
            }
        ]
    )
    data = (
        bytes.fromhex("af6d6135") + bytes(12) + bytes.fromhex("ab" * 20) + (392).to_bytes(32, "big")
    )

    class TransactionFailed(Exception):
        pass

    TransactionFailed.__module__ = "eth_tester.exceptions"
    from_pyevm = revert_from_exception(TransactionFailed(f"execution reverted: {data!r}"))
    assert from_pyevm == decode_revert_data(data)
    assert from_pyevm is not None
    assert from_pyevm.error_name == "CountryAlreadyAllowed"
    assert from_pyevm.error_args[1] == 392


def test_shipped_abis_match_node_modules() -> None:
    """``python -m adapters.evm.abi_gen --check`` would pass: no drift."""
    if not abi_gen.artifact_path("Token").is_file():
        pytest.fail("node_modules missing: run npm ci")
    assert abi_gen.check() == []


def test_evm_signer_is_a_bridge_signer() -> None:
    """EvmSigner satisfies bridge.ports.Signer; its signatures recover to its address."""
    from eth_account import Account
    from eth_account.messages import encode_defunct

    from adapters.evm.signer import EvmSigner
    from bridge.ports import Signer

    signer = EvmSigner.from_seed("unit")
    assert isinstance(signer, Signer)
    digest = bytes(range(32))
    signature = signer.sign_message_hash(digest)
    recovered = Account.recover_message(encode_defunct(primitive=digest), signature=signature)
    assert recovered == signer.address
