"""Bad input to the canonical model is refused with an error naming the field and the rule."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from pydantic import ValidationError

from bridge import model as m
from bridge.validation import describe, invalid_input

EVM = {"kind": "evm", "chain_id": 1}
ALGO = {"kind": "algorand", "genesis_hash": base64.b64encode(bytes(32)).decode()}
GOOD_EVM = "0x52908400098527886E0F7030069857D2E4169EE7"  # EIP-55 test vector
GOOD_ALGO = "VCMJKWOY5P5P7SKMZFFOCEROPJCZOTIJMNIYNUCKH7LRO45JMJP6UYBIJA"  # SDK docs example


def asset(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "chain": EVM,
        "locator": {"kind": "evm_contract", "address": GOOD_EVM},
        "standard": "erc3643",
        "name": "Tokyo Tower Trust",
        "symbol": "TTT",
        "decimals": 0,
        "total_supply": 1000,
    }
    base.update(overrides)
    return base


def holding(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"holder": GOOD_EVM, "balance": 10, "free": 10}
    base.update(overrides)
    return base


def refusal_of(model: type[m.CanonicalModel], data: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as info:
        model.model_validate(data)
    return describe(info.value)


def test_valid_inputs_are_accepted() -> None:
    m.Asset.model_validate(asset())
    m.Holding.model_validate(holding())
    assert m.Holding.model_validate(holding(holder=GOOD_EVM.lower())).holder == GOOD_EVM
    m.Holding.model_validate(holding(holder=GOOD_ALGO))


@pytest.mark.parametrize(
    ("data", "field", "rule"),
    [
        (holding(balance=-1, free=-1), "balance", "greater than or equal to 0"),
        (holding(balance=1.5, free=1), "balance", "valid integer"),
        (holding(balance=10.0, free=10), "balance", "valid integer"),
        (holding(balance="10", free=10), "balance", "valid integer"),
        (holding(balance=True, free=1), "balance", "valid integer"),
        (holding(colour="blue"), "colour", "Extra inputs are not permitted"),
        (holding(balance=10, free=4, frozen=5), "balance", "must equal free + frozen"),
        (holding(holder="0x1234"), "holder", "0x followed by 40"),
        (holding(holder="0x52908400098527886e0F7030069857D2E4169EE7"), "holder", "EIP-55"),
        (holding(holder=GOOD_ALGO[:10] + "A" + GOOD_ALGO[11:]), "holder", "checksum"),
        (holding(holder=GOOD_ALGO[:-1] + "B"), "holder", "not canonical"),
        (holding(holder=GOOD_ALGO[:-2]), "holder", "58 upper-case base32"),
    ],
)
def test_holding_refusals_name_field_and_rule(data: dict[str, Any], field: str, rule: str) -> None:
    message = refusal_of(m.Holding, data)
    assert message.split(":")[0].startswith(field) or field in message
    assert rule in message


@pytest.mark.parametrize(
    ("data", "field", "rule"),
    [
        (asset(decimals=256), "decimals", "uint8"),
        (
            asset(
                chain=ALGO,
                locator={"kind": "algorand_asa", "asset_id": 1001},
                standard="asa",
                decimals=20,
            ),
            "decimals",
            "at most 19",
        ),
        (
            asset(
                chain=ALGO,
                locator={"kind": "algorand_asa", "asset_id": 1001},
                standard="asa",
                total_supply=2**64,
            ),
            "total_supply",
            "uint64",
        ),
        (asset(home_jurisdiction="XX"), "home_jurisdiction", "ISO 3166-1"),
        (asset(home_jurisdiction="jp"), "home_jurisdiction", "ISO 3166-1"),
        (
            asset(rules=[{"kind": "country_allow", "countries": ["JP", "ZZ"]}]),
            "rules[0]",
            "ISO 3166-1",
        ),
        (asset(chain=ALGO), "locator", "cannot be on a algorand chain"),
        (asset(standard="ibet_bond", decimals=2), "decimals", "ibet"),
        (asset(identifiers=[{"kind": "isin", "value": "US0378331006"}]), "identifiers[0]", "ISIN"),
        (asset(total_supply=-5), "total_supply", "greater than or equal to 0"),
        (asset(rules=[{"kind": "max_balance", "limit": 1.5}]), "rules[0]", "valid integer"),
        (asset(rules=[{"kind": "lockup"}]), "rules[0]", "exactly one of until"),
        (asset(terms={"kind": "bond", "currency": "XYZ", "face_value": 100}), "terms", "ISO 4217"),
    ],
)
def test_asset_refusals_name_field_and_rule(data: dict[str, Any], field: str, rule: str) -> None:
    message = refusal_of(m.Asset, data)
    assert message.startswith(field), message
    assert rule in message, message


def test_transfer_check_verdict_must_match_reasons() -> None:
    intent = {
        "asset": {"chain": EVM, "locator": {"kind": "evm_contract", "address": GOOD_EVM}},
        "sender": GOOD_EVM,
        "recipient": GOOD_ALGO,
        "amount": 1,
    }
    assert "at least one reason" in refusal_of(
        m.TransferCheck, {"intent": intent, "allowed": False}
    )
    assert "carries no refusal" in refusal_of(
        m.TransferCheck,
        {"intent": intent, "allowed": True, "refusals": [{"code": "TOKEN_PAUSED"}]},
    )
    assert "code" in refusal_of(
        m.TransferCheck,
        {"intent": intent, "allowed": False, "refusals": [{"code": "NOT_A_CODE"}]},
    )


def test_models_are_immutable() -> None:
    h = m.Holding.model_validate(holding())
    with pytest.raises(ValidationError):
        h.balance = 5  # type: ignore[misc]


def test_invalid_input_error_carries_field_and_rule() -> None:
    with pytest.raises(ValidationError) as info:
        m.Holding.model_validate(holding(balance=-1, free=-1))
    err = invalid_input(info.value, prefix="holding")
    assert err.field == "holding.balance"
    assert "greater than or equal to 0" in err.rule
    assert err.exit_code == 3


def test_country_sets_are_canonical() -> None:
    a = m.CountryAllowRule(countries=("SG", "JP", "SG"))
    b = m.CountryAllowRule(countries=("JP", "SG"))
    assert a == b
    assert a.countries == ("JP", "SG")


def test_claim_validity_window() -> None:
    from datetime import UTC, datetime

    claim = m.Claim(type="kyc", valid_until=datetime(2027, 1, 1, tzinfo=UTC))
    assert claim.is_valid_at(datetime(2026, 12, 31, tzinfo=UTC))
    assert not claim.is_valid_at(datetime(2027, 1, 2, tzinfo=UTC))
    with pytest.raises(ValidationError, match="custom_name"):
        m.Claim(type="custom")
