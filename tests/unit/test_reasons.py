"""Every native code listed in token-standards.md §10 maps to a canonical code.

The table below is §10 read column by column: for each native code, the canonical rows in
which §10 lists it. A code listed in several rows (0x57 is "invalid receiver" for many
reasons) must map to one of them. Nothing listed may fall through to UNKNOWN.
"""

from __future__ import annotations

import pytest

from bridge import reasons
from bridge.reasons import ReasonCode as R

ERC1400 = {
    0x51: {R.OK},
    0x50: {
        R.TRANSFER_FAILURE,
        R.MAX_HOLDERS_REACHED,
        R.MIN_HOLDERS_NOT_MET,
        R.PARTITION_ERROR,
        R.MAX_BALANCE_EXCEEDED,
        R.BELOW_MIN_HOLDING,
        R.VOLUME_LIMIT_EXCEEDED,
        R.SUPPLY_CAP_EXCEEDED,
        R.ISSUER_APPROVAL_REQUIRED,
        R.FULL_TRANSFER_REQUIRED,
        R.GRANULARITY_VIOLATION,
    },
    0x52: {R.INSUFFICIENT_BALANCE, R.INSUFFICIENT_UNFROZEN_BALANCE},
    0x53: {R.INSUFFICIENT_ALLOWANCE},
    0x54: {R.TOKEN_PAUSED},
    0x55: {R.FUNDS_LOCKED, R.TRANSFER_WINDOW_CLOSED},
    0x56: {
        R.SENDER_FROZEN,
        R.SENDER_NOT_ELIGIBLE,
        R.SANCTIONED_PARTY,
        R.BLOCKLISTED_PARTY,
        R.LIQUIDATE_ONLY,
    },
    0x57: {
        R.RECIPIENT_FROZEN,
        R.RECIPIENT_NOT_ELIGIBLE,
        R.RECIPIENT_NOT_OPTED_IN,
        R.SANCTIONED_PARTY,
        R.BLOCKLISTED_PARTY,
        R.COUNTRY_RESTRICTED,
        R.ACCREDITATION_REQUIRED,
        R.INVALID_RECEIVER,
    },
    0x58: {R.SPENDER_FROZEN, R.OPERATOR_NOT_AUTHORIZED},
    0x5A: {R.PARTITION_ERROR},
    0x5B: {R.PARTITION_ERROR},
}
ERC1066 = {
    0x01: {R.OK},
    0x11: {R.OK},
    0x00: {R.TRANSFER_FAILURE},
    0x10: {
        R.TRANSFER_FAILURE,
        R.SENDER_NOT_ELIGIBLE,
        R.RECIPIENT_NOT_ELIGIBLE,
        R.OPERATOR_NOT_AUTHORIZED,
    },
    0x42: {R.TOKEN_PAUSED},
    0x54: {R.INSUFFICIENT_BALANCE},
    0x44: {R.FUNDS_LOCKED, R.TRANSFER_WINDOW_CLOSED},
    0x16: {R.SENDER_FROZEN, R.RECIPIENT_FROZEN, R.SANCTIONED_PARTY, R.BLOCKLISTED_PARTY},
    0x06: {R.MAX_HOLDERS_REACHED, R.MAX_BALANCE_EXCEEDED, R.SUPPLY_CAP_EXCEEDED},
    0x04: {R.MIN_HOLDERS_NOT_MET, R.BELOW_MIN_HOLDING},
    0x12: {R.ISSUER_APPROVAL_REQUIRED},
    0x15: {R.ISSUER_APPROVAL_REQUIRED},
    0x56: {R.VOLUME_LIMIT_EXCEEDED},
}
COMAKERY = {
    0: {R.OK},
    1: {R.MAX_BALANCE_EXCEEDED},
    2: {R.FUNDS_LOCKED},
    3: {R.INVALID_RECEIVER},
    4: {R.INVALID_RECEIVER},
    5: {R.SENDER_FROZEN},
    6: {R.TOKEN_PAUSED},
    7: {R.ISSUER_APPROVAL_REQUIRED},
    8: {R.TRANSFER_WINDOW_CLOSED},
    9: {R.RECIPIENT_FROZEN},
    10: {R.BELOW_MIN_HOLDING},
}
ERC1404_REFERENCE = {
    "SENDING_ACCOUNT_NOT_WHITELISTED": {R.SENDER_NOT_ELIGIBLE},
    "ILLEGAL_TRANSFER_SENDING_ACCOUNT_NOT_WHITELISTED": {R.SENDER_NOT_ELIGIBLE},
    "ILLEGAL_TRANSFER_RECEIVING_ACCOUNT_NOT_WHITELISTED": {R.RECIPIENT_NOT_ELIGIBLE},
    "ILLEGAL_TRANSFER_TO_NON_WHITELISTED_ADDRESS": {R.RECIPIENT_NOT_ELIGIBLE},
    "ILLEGAL_TRANSFER_MAXIMUM_NUMBER_OF_SHAREHOLDERS_REACHED": {R.MAX_HOLDERS_REACHED},
    "ILLEGAL_TRANSFER_MAXIMUM_OWNERSHIP_STAKE_REACHED_FOR_RECIPIENT": {R.MAX_BALANCE_EXCEEDED},
    "ILLEGAL_TRANSFER_VALUE_CANNOT_BE_A_FRACTION": {R.GRANULARITY_VIOLATION},
}
CMTAT = {
    0: {R.OK},
    1: {R.TOKEN_DEACTIVATED},
    2: {R.TOKEN_PAUSED},
    3: {R.SENDER_FROZEN},
    4: {R.RECIPIENT_FROZEN},
    5: {R.SPENDER_FROZEN},
    6: {R.INSUFFICIENT_UNFROZEN_BALANCE},
    21: {R.SENDER_NOT_ELIGIBLE},
    22: {R.RECIPIENT_NOT_ELIGIBLE},
    23: {R.OPERATOR_NOT_AUTHORIZED},
    30: {R.SANCTIONED_PARTY},
    31: {R.SANCTIONED_PARTY},
    32: {R.SANCTIONED_PARTY},
    36: {R.BLOCKLISTED_PARTY},
    37: {R.BLOCKLISTED_PARTY},
    38: {R.BLOCKLISTED_PARTY},
    45: {R.ISSUER_APPROVAL_REQUIRED},
}
TREX_MESSAGES = {
    "Transfer not possible": {R.TRANSFER_FAILURE},
    "Insufficient Balance": {R.INSUFFICIENT_BALANCE, R.INSUFFICIENT_UNFROZEN_BALANCE},
    "Identity is not verified.": {R.RECIPIENT_NOT_ELIGIBLE},
}
TREX_MODULES = {
    "CountryAllowModule": {R.COUNTRY_RESTRICTED},
    "CountryRestrictModule": {R.COUNTRY_RESTRICTED},
    "MaxBalanceModule": {R.MAX_BALANCE_EXCEEDED},
    "TimeTransfersLimitsModule": {R.VOLUME_LIMIT_EXCEEDED},
    "ExchangeMonthlyLimitsModule": {R.VOLUME_LIMIT_EXCEEDED},
    "SupplyLimitModule": {R.SUPPLY_CAP_EXCEEDED},
    "ConditionalTransferModule": {R.ISSUER_APPROVAL_REQUIRED},
    "TokenListingRestrictionsModule": {R.NOT_ON_ALLOW_LIST},
    "TransferRestrictModule": {R.NOT_ON_ALLOW_LIST},
}
ERC7943 = {
    "ERC7943CannotTransfer": {R.TRANSFER_FAILURE},
    "ERC7943InsufficientUnfrozenBalance": {R.INSUFFICIENT_UNFROZEN_BALANCE},
    "ERC7943CannotSend": {R.SENDER_FROZEN, R.SENDER_NOT_ELIGIBLE},
    "ERC7943CannotReceive": {R.RECIPIENT_FROZEN, R.RECIPIENT_NOT_ELIGIBLE},
    "canSend=false": {R.SENDER_NOT_ELIGIBLE},
    "canReceive=false": {R.RECIPIENT_NOT_ELIGIBLE},
}
ALGORAND = {
    "logic eval error: underflow on subtracting 5 from sender amount 3": {R.INSUFFICIENT_BALANCE},
    "asset 1234 frozen in ABCDEF": {R.SENDER_FROZEN},
    "asset 1234 frozen in recipient": {R.RECIPIENT_FROZEN},
    "receiver error: must optin, asset 1234 missing from ABC": {R.RECIPIENT_NOT_OPTED_IN},
    "asset 1234 missing from ABCDEF": {R.RECIPIENT_NOT_OPTED_IN},
    "clawback not allowed: sender X, clawback Y": {R.OPERATOR_NOT_AUTHORIZED},
    "freeze not allowed: sender X, freeze Y": {R.OPERATOR_NOT_AUTHORIZED},
    "overspend (account X, data {...})": {R.INSUFFICIENT_BALANCE},
    "asset total reached": {R.SUPPLY_CAP_EXCEEDED},
}
IBET = {
    "110402": {R.NOT_TRANSFERABLE},
    "110401": {R.INSUFFICIENT_BALANCE},
    "110601": {R.INSUFFICIENT_BALANCE},
    "110002": {R.INSUFFICIENT_UNFROZEN_BALANCE},
    "110202": {R.RECIPIENT_NOT_ELIGIBLE},
    "110702": {R.RECIPIENT_NOT_ELIGIBLE},
    "500001": {R.OPERATOR_NOT_AUTHORIZED},
    "501001": {R.OPERATOR_NOT_AUTHORIZED},
    "110201": {R.ISSUER_APPROVAL_REQUIRED},
    "110501": {R.ISSUER_APPROVAL_REQUIRED},
    "110301": {R.INVALID_RECEIVER},
    "120401": {R.INSUFFICIENT_BALANCE},
    "120402": {R.NOT_TRANSFERABLE},
    "110102": {R.INSUFFICIENT_BALANCE},
}
DS = {
    0: {R.OK},
    10: {R.TOKEN_PAUSED},
    15: {R.INSUFFICIENT_BALANCE},
    16: {R.FUNDS_LOCKED},
    32: {R.FUNDS_LOCKED},
    33: {R.FUNDS_LOCKED},
    20: {R.SENDER_NOT_ELIGIBLE, R.RECIPIENT_NOT_ELIGIBLE},
    61: {R.RECIPIENT_NOT_ELIGIBLE, R.ACCREDITATION_REQUIRED},
    62: {R.RECIPIENT_NOT_ELIGIBLE, R.ACCREDITATION_REQUIRED},
    26: {R.COUNTRY_RESTRICTED},
    40: {R.MAX_HOLDERS_REACHED},
    71: {R.MIN_HOLDERS_NOT_MET},
    52: {R.MAX_BALANCE_EXCEEDED},
    51: {R.BELOW_MIN_HOLDING},
    50: {R.FULL_TRANSFER_REQUIRED},
    90: {R.LIQUIDATE_ONLY},
    25: {R.TRANSFER_WINDOW_CLOSED},
    "Max authorized securities": {R.SUPPLY_CAP_EXCEEDED},
}

COLUMNS = [
    ("erc1400", reasons.from_erc1400, ERC1400),
    ("erc1066", reasons.from_erc1066, ERC1066),
    ("comakery", reasons.from_comakery, COMAKERY),
    ("erc1404-reference", reasons.from_erc1404_message, ERC1404_REFERENCE),
    ("cmtat", reasons.from_cmtat, CMTAT),
    ("trex-message", reasons.from_trex_message, TREX_MESSAGES),
    ("trex-module", reasons.from_trex_module, TREX_MODULES),
    ("erc7943", reasons.from_erc7943, ERC7943),
    ("algorand", reasons.from_algorand, ALGORAND),
    ("ibet", reasons.from_ibet, IBET),
    ("ds", reasons.from_ds, DS),
]
CASES = [
    pytest.param(fn, native, allowed, id=f"{name}:{native!r}"[:60])
    for name, fn, table in COLUMNS
    for native, allowed in table.items()
]


@pytest.mark.parametrize(("mapper", "native", "allowed"), CASES)
def test_native_code_maps_to_a_listed_canonical_code(
    mapper: object, native: object, allowed: set[R]
) -> None:
    code = mapper(native)  # type: ignore[operator]
    assert code is not R.UNKNOWN
    assert code in allowed, f"{native!r} -> {code}, §10 lists {sorted(allowed)}"


@pytest.mark.parametrize(
    ("mapper", "native"),
    [
        (reasons.from_erc1400, 0x59),
        (reasons.from_comakery, 99),
        (reasons.from_cmtat, 99),
        (reasons.from_erc1404_message, "SOMETHING_ELSE"),
        (reasons.from_trex_message, "a brand new revert"),
        (reasons.from_trex_module, "HomeMadeModule"),
        (reasons.from_ibet, "999999"),
        (reasons.from_ibet, "not-a-code"),
        (reasons.from_algorand, "budget exceeded in a new way"),
        (reasons.from_ds, 12345),
    ],
)
def test_unmapped_native_codes_are_unknown(mapper: object, native: object) -> None:
    assert mapper(native) is R.UNKNOWN  # type: ignore[operator]


def test_erc1400_bytes_are_not_read_as_erc1066() -> None:
    """Pitfall 1: 0x52 is 'insufficient balance' in ERC-1400, not 'awaiting payment'."""
    assert reasons.from_erc1400(0x52) is R.INSUFFICIENT_BALANCE
    assert reasons.from_erc1400(0x54) is R.TOKEN_PAUSED
    assert reasons.from_erc1066(0x54) is R.INSUFFICIENT_BALANCE
