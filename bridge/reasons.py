"""Canonical reason codes, and the tables that map each standard's own codes onto them.

A refusal always carries ``(code, source_standard, raw_code, raw_message)``: the canonical
code says what it means, the raw fields keep exactly what the chain said, so nothing is
lost when a native code is unmapped (it becomes :attr:`ReasonCode.UNKNOWN`).

Sources of the native codes: ERC-1400 status bytes 0x50-0x5F (the ERC-1400 meanings, not
ERC-1066's: the two disagree on the 0x5X range), ERC-1404 conventions (CoMakery numeric
codes, reference-implementation messages, CMTAT/CMTA Rules codes), T-REX revert strings
and compliance module names, ibet's six-digit revert codes, and Algorand evaluator
rejections. The public functions ``from_*`` are pure lookups.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Final

__all__ = [
    "ALGORAND_REJECTIONS",
    "CMTAT_CODES",
    "COMAKERY_CODES",
    "DS_CODES",
    "DS_MESSAGES",
    "ERC1066_STATUS",
    "ERC1400_STATUS",
    "ERC1404_MESSAGES",
    "ERC7943_ERRORS",
    "IBET_SUFFIXES",
    "TREX_MESSAGES",
    "TREX_MODULES",
    "ReasonCode",
    "from_algorand",
    "from_cmtat",
    "from_comakery",
    "from_ds",
    "from_erc1066",
    "from_erc1400",
    "from_erc1404_message",
    "from_erc7943",
    "from_ibet",
    "from_trex_message",
    "from_trex_module",
]


class ReasonCode(StrEnum):
    """Why a transfer (or other operation) is allowed or refused, in words that say so."""

    OK = "OK"
    TRANSFER_FAILURE = "TRANSFER_FAILURE"
    TOKEN_PAUSED = "TOKEN_PAUSED"
    TOKEN_DEACTIVATED = "TOKEN_DEACTIVATED"
    NOT_TRANSFERABLE = "NOT_TRANSFERABLE"
    INSUFFICIENT_BALANCE = "INSUFFICIENT_BALANCE"
    INSUFFICIENT_UNFROZEN_BALANCE = "INSUFFICIENT_UNFROZEN_BALANCE"
    INSUFFICIENT_ALLOWANCE = "INSUFFICIENT_ALLOWANCE"
    FUNDS_LOCKED = "FUNDS_LOCKED"
    SENDER_FROZEN = "SENDER_FROZEN"
    RECIPIENT_FROZEN = "RECIPIENT_FROZEN"
    SPENDER_FROZEN = "SPENDER_FROZEN"
    SENDER_NOT_ELIGIBLE = "SENDER_NOT_ELIGIBLE"
    RECIPIENT_NOT_ELIGIBLE = "RECIPIENT_NOT_ELIGIBLE"
    RECIPIENT_NOT_OPTED_IN = "RECIPIENT_NOT_OPTED_IN"
    OPERATOR_NOT_AUTHORIZED = "OPERATOR_NOT_AUTHORIZED"
    SANCTIONED_PARTY = "SANCTIONED_PARTY"
    BLOCKLISTED_PARTY = "BLOCKLISTED_PARTY"
    COUNTRY_RESTRICTED = "COUNTRY_RESTRICTED"
    ACCREDITATION_REQUIRED = "ACCREDITATION_REQUIRED"
    KYC_EXPIRED = "KYC_EXPIRED"
    MAX_HOLDERS_REACHED = "MAX_HOLDERS_REACHED"
    MIN_HOLDERS_NOT_MET = "MIN_HOLDERS_NOT_MET"
    MAX_BALANCE_EXCEEDED = "MAX_BALANCE_EXCEEDED"
    BELOW_MIN_HOLDING = "BELOW_MIN_HOLDING"
    VOLUME_LIMIT_EXCEEDED = "VOLUME_LIMIT_EXCEEDED"
    SUPPLY_CAP_EXCEEDED = "SUPPLY_CAP_EXCEEDED"
    ISSUER_APPROVAL_REQUIRED = "ISSUER_APPROVAL_REQUIRED"
    TRANSFER_WINDOW_CLOSED = "TRANSFER_WINDOW_CLOSED"
    FULL_TRANSFER_REQUIRED = "FULL_TRANSFER_REQUIRED"
    LIQUIDATE_ONLY = "LIQUIDATE_ONLY"
    GRANULARITY_VIOLATION = "GRANULARITY_VIOLATION"
    INVALID_RECEIVER = "INVALID_RECEIVER"
    PARTITION_ERROR = "PARTITION_ERROR"
    HOLDING_PERIOD_NOT_MET = "HOLDING_PERIOD_NOT_MET"
    INVESTOR_CLASS_NOT_ALLOWED = "INVESTOR_CLASS_NOT_ALLOWED"
    TRAVEL_RULE_DATA_MISSING = "TRAVEL_RULE_DATA_MISSING"
    AMOUNT_LIMIT_EXCEEDED = "AMOUNT_LIMIT_EXCEEDED"
    DISTRIBUTION_PERIOD_ACTIVE = "DISTRIBUTION_PERIOD_ACTIVE"
    OFFERING_LIMIT_EXCEEDED = "OFFERING_LIMIT_EXCEEDED"
    NO_EXEMPTION_AVAILABLE = "NO_EXEMPTION_AVAILABLE"
    TECHNICAL_CONTROL_MISSING = "TECHNICAL_CONTROL_MISSING"
    SELF_HOSTED_WALLET_UNVERIFIED = "SELF_HOSTED_WALLET_UNVERIFIED"
    INFORMATION_MISSING = "INFORMATION_MISSING"
    UNKNOWN_JURISDICTION = "UNKNOWN_JURISDICTION"
    UNKNOWN_CLASSIFICATION = "UNKNOWN_CLASSIFICATION"
    UNKNOWN_INSTRUMENT = "UNKNOWN_INSTRUMENT"
    UNKNOWN = "UNKNOWN"
    KYC_MISSING = "KYC_MISSING"
    NOT_ON_ALLOW_LIST = "NOT_ON_ALLOW_LIST"
    """An allow list refused: no party the list requires is on it (not a block list)."""
    FEE_COLLECTION_FAILED = "FEE_COLLECTION_FAILED"
    """The transfer's fee cannot be collected (collector not eligible or over a limit)."""


R = ReasonCode

# ERC-1400 status bytes (ERC-1400 meanings). 0x56/0x57 are "invalid sender/receiver": the
# canonical code is the eligibility one; a frozen/sanctioned flavour needs the reason bytes32.
ERC1400_STATUS: Final[dict[int, ReasonCode]] = {
    0x50: R.TRANSFER_FAILURE,
    0x51: R.OK,
    0x52: R.INSUFFICIENT_BALANCE,
    0x53: R.INSUFFICIENT_ALLOWANCE,
    0x54: R.TOKEN_PAUSED,
    0x55: R.FUNDS_LOCKED,
    0x56: R.SENDER_NOT_ELIGIBLE,
    0x57: R.RECIPIENT_NOT_ELIGIBLE,
    0x58: R.OPERATOR_NOT_AUTHORIZED,
    0x5A: R.PARTITION_ERROR,
    0x5B: R.PARTITION_ERROR,
    0x5F: R.OK,
}

# ERC-1066 status codes met in token contexts (0x1X permission, 0x4X availability, 0x5X
# finance in the ERC-1066 sense). Only for sources that declare ERC-1066; ERC-1400 tokens use
# ERC1400_STATUS for the 0x5X range.
ERC1066_STATUS: Final[dict[int, ReasonCode]] = {
    0x00: R.TRANSFER_FAILURE,
    0x01: R.OK,
    0x04: R.BELOW_MIN_HOLDING,
    0x06: R.MAX_BALANCE_EXCEEDED,
    0x10: R.TRANSFER_FAILURE,
    0x11: R.OK,
    0x12: R.ISSUER_APPROVAL_REQUIRED,
    0x15: R.ISSUER_APPROVAL_REQUIRED,
    0x16: R.BLOCKLISTED_PARTY,
    0x42: R.TOKEN_PAUSED,
    0x44: R.FUNDS_LOCKED,
    0x54: R.INSUFFICIENT_BALANCE,
    0x56: R.VOLUME_LIMIT_EXCEEDED,
}

# CoMakery RestrictedToken (ERC-1404) numeric codes.
COMAKERY_CODES: Final[dict[int, ReasonCode]] = {
    0: R.OK,
    1: R.MAX_BALANCE_EXCEEDED,
    2: R.FUNDS_LOCKED,
    3: R.INVALID_RECEIVER,
    4: R.INVALID_RECEIVER,
    5: R.SENDER_FROZEN,
    6: R.TOKEN_PAUSED,
    7: R.ISSUER_APPROVAL_REQUIRED,
    8: R.TRANSFER_WINDOW_CLOSED,
    9: R.RECIPIENT_FROZEN,
    10: R.BELOW_MIN_HOLDING,
}

# CMTAT base codes and CMTA Rules codes (ERC-1404 flavour used by Swiss issuers).
CMTAT_CODES: Final[dict[int, ReasonCode]] = {
    0: R.OK,
    1: R.TOKEN_DEACTIVATED,
    2: R.TOKEN_PAUSED,
    3: R.SENDER_FROZEN,
    4: R.RECIPIENT_FROZEN,
    5: R.SPENDER_FROZEN,
    6: R.INSUFFICIENT_UNFROZEN_BALANCE,
    21: R.SENDER_NOT_ELIGIBLE,
    22: R.RECIPIENT_NOT_ELIGIBLE,
    23: R.OPERATOR_NOT_AUTHORIZED,
    30: R.SANCTIONED_PARTY,
    31: R.SANCTIONED_PARTY,
    32: R.SANCTIONED_PARTY,
    36: R.BLOCKLISTED_PARTY,
    37: R.BLOCKLISTED_PARTY,
    38: R.BLOCKLISTED_PARTY,
    45: R.ISSUER_APPROVAL_REQUIRED,
}

# ERC-1404 messages (reference implementation names; matched after normalising case).
ERC1404_MESSAGES: Final[dict[str, ReasonCode]] = {
    "SUCCESS": R.OK,
    "ILLEGAL_TRANSFER_TO_NON_WHITELISTED_ADDRESS": R.RECIPIENT_NOT_ELIGIBLE,
    "ILLEGAL_TRANSFER_SENDING_ACCOUNT_NOT_WHITELISTED": R.SENDER_NOT_ELIGIBLE,
    "ILLEGAL_TRANSFER_RECEIVING_ACCOUNT_NOT_WHITELISTED": R.RECIPIENT_NOT_ELIGIBLE,
    "SENDING_ACCOUNT_NOT_WHITELISTED": R.SENDER_NOT_ELIGIBLE,
    "RECEIVING_ACCOUNT_NOT_WHITELISTED": R.RECIPIENT_NOT_ELIGIBLE,
    "ILLEGAL_TRANSFER_MAXIMUM_NUMBER_OF_SHAREHOLDERS_REACHED": R.MAX_HOLDERS_REACHED,
    "ILLEGAL_TRANSFER_MAXIMUM_OWNERSHIP_STAKE_REACHED_FOR_RECIPIENT": R.MAX_BALANCE_EXCEEDED,
    "ILLEGAL_TRANSFER_MAXIMUM_INDIVIDUAL_OWNERSHIP_STAKE_REACHED_FOR_RECIPIENT": (
        R.MAX_BALANCE_EXCEEDED
    ),
    "ILLEGAL_TRANSFER_VALUE_CANNOT_BE_A_FRACTION": R.GRANULARITY_VIOLATION,
    "GREATER_THAN_RECIPIENT_MAX_BALANCE": R.MAX_BALANCE_EXCEEDED,
    "SENDER_TOKENS_TIME_LOCKED": R.FUNDS_LOCKED,
    "DO_NOT_SEND_TO_TOKEN_CONTRACT": R.INVALID_RECEIVER,
    "DO_NOT_SEND_TO_EMPTY_ADDRESS": R.INVALID_RECEIVER,
    "SENDER_ADDRESS_FROZEN": R.SENDER_FROZEN,
    "ALL_TRANSFERS_PAUSED": R.TOKEN_PAUSED,
    "TRANSFER_GROUP_NOT_APPROVED": R.ISSUER_APPROVAL_REQUIRED,
    "TRANSFER_GROUP_NOT_ALLOWED_UNTIL_LATER": R.TRANSFER_WINDOW_CLOSED,
    "RECIPIENT_ADDRESS_FROZEN": R.RECIPIENT_FROZEN,
    "LOWER_THAN_RECIPIENT_MIN_BALANCE": R.BELOW_MIN_HOLDING,
}

# T-REX 4.1.x revert strings seen on chain (the token reverts with few distinct strings;
# the precise reason is derived off-chain, see adapters.evm).
TREX_MESSAGES: Final[dict[str, ReasonCode]] = {
    "Transfer not possible": R.TRANSFER_FAILURE,
    "Identity is not verified.": R.RECIPIENT_NOT_ELIGIBLE,
    "Insufficient Balance": R.INSUFFICIENT_UNFROZEN_BALANCE,
    "wallet is frozen": R.SENDER_FROZEN,
    "Pausable: paused": R.TOKEN_PAUSED,
    "ERC20: insufficient allowance": R.INSUFFICIENT_ALLOWANCE,
    "ERC20: transfer to the zero address": R.INVALID_RECEIVER,
    "Compliance not followed": R.TRANSFER_FAILURE,
    "AgentRole: caller does not have the Agent role": R.OPERATOR_NOT_AUTHORIZED,
    "Ownable: caller is not the owner": R.OPERATOR_NOT_AUTHORIZED,
    "cannot mint more than max supply": R.SUPPLY_CAP_EXCEEDED,
    "invalid argument - no value transfer": R.TRANSFER_FAILURE,
}

# T-REX compliance modules (their ``name()``) and what a refusal by each means.
TREX_MODULES: Final[dict[str, ReasonCode]] = {
    "CountryAllowModule": R.COUNTRY_RESTRICTED,
    "CountryRestrictModule": R.COUNTRY_RESTRICTED,
    "MaxBalanceModule": R.MAX_BALANCE_EXCEEDED,
    "SupplyLimitModule": R.SUPPLY_CAP_EXCEEDED,
    "TimeTransfersLimitsModule": R.VOLUME_LIMIT_EXCEEDED,
    "ExchangeMonthlyLimitsModule": R.VOLUME_LIMIT_EXCEEDED,
    "TransferFeesModule": R.TRANSFER_FAILURE,
    "TransferRestrictModule": R.NOT_ON_ALLOW_LIST,
    "TokenListingRestrictionsModule": R.NOT_ON_ALLOW_LIST,  # blacklisting mode: BLOCKLISTED
    "ConditionalTransferModule": R.ISSUER_APPROVAL_REQUIRED,
    "TimeExchangeLimitsModule": R.VOLUME_LIMIT_EXCEEDED,
}

# ERC-7943 (uRWA) custom errors and view results.
ERC7943_ERRORS: Final[dict[str, ReasonCode]] = {
    "ERC7943CannotTransfer": R.TRANSFER_FAILURE,
    "ERC7943InsufficientUnfrozenBalance": R.INSUFFICIENT_UNFROZEN_BALANCE,
    "ERC7943CannotSend": R.SENDER_NOT_ELIGIBLE,
    "ERC7943CannotReceive": R.RECIPIENT_NOT_ELIGIBLE,
    "canSend=false": R.SENDER_NOT_ELIGIBLE,
    "canReceive=false": R.RECIPIENT_NOT_ELIGIBLE,
}

# Securitize DS Protocol numeric reason codes (string reasons in brackets map by text).
DS_CODES: Final[dict[int, ReasonCode]] = {
    0: R.OK,
    10: R.TOKEN_PAUSED,
    15: R.INSUFFICIENT_BALANCE,
    16: R.FUNDS_LOCKED,
    20: R.RECIPIENT_NOT_ELIGIBLE,
    25: R.TRANSFER_WINDOW_CLOSED,
    26: R.COUNTRY_RESTRICTED,
    32: R.FUNDS_LOCKED,
    33: R.FUNDS_LOCKED,
    40: R.MAX_HOLDERS_REACHED,
    50: R.FULL_TRANSFER_REQUIRED,
    51: R.BELOW_MIN_HOLDING,
    52: R.MAX_BALANCE_EXCEEDED,
    61: R.ACCREDITATION_REQUIRED,
    62: R.ACCREDITATION_REQUIRED,
    71: R.MIN_HOLDERS_NOT_MET,
    90: R.LIQUIDATE_ONLY,
}
DS_MESSAGES: Final[dict[str, ReasonCode]] = {
    "Max authorized securities": R.SUPPLY_CAP_EXCEEDED,
}

# ibet six-digit codes: 11XXXX share, 12XXXX straight bond (same suffixes); the last
# four digits carry the meaning. 50XXXX is Ownable (caller not authorised).
IBET_SUFFIXES: Final[dict[str, ReasonCode]] = {
    "0401": R.INSUFFICIENT_BALANCE,
    "0601": R.INSUFFICIENT_BALANCE,
    "0402": R.NOT_TRANSFERABLE,
    "0201": R.ISSUER_APPROVAL_REQUIRED,
    "0501": R.ISSUER_APPROVAL_REQUIRED,
    "0202": R.RECIPIENT_NOT_ELIGIBLE,
    "0702": R.RECIPIENT_NOT_ELIGIBLE,
    "0301": R.INVALID_RECEIVER,
    "0701": R.TRANSFER_FAILURE,
    "0002": R.INSUFFICIENT_UNFROZEN_BALANCE,
    "0102": R.INSUFFICIENT_BALANCE,
    "0801": R.OPERATOR_NOT_AUTHORIZED,
    "0802": R.TRANSFER_FAILURE,
    "0901": R.NOT_TRANSFERABLE,
    "0902": R.TRANSFER_FAILURE,
    "1001": R.TRANSFER_FAILURE,
    "1002": R.RECIPIENT_NOT_ELIGIBLE,
    "1101": R.INSUFFICIENT_BALANCE,
    "1102": R.INSUFFICIENT_BALANCE,
    "1201": R.INSUFFICIENT_BALANCE,
    "1601": R.INSUFFICIENT_BALANCE,
    "1701": R.INSUFFICIENT_BALANCE,
    # bulk operations (the share's bulkTransfer numbering; the bond's is below)
    "0502": R.TRANSFER_FAILURE,
    "0503": R.INSUFFICIENT_BALANCE,
    "0504": R.NOT_TRANSFERABLE,
    "1301": R.TRANSFER_FAILURE,
    "1401": R.TRANSFER_FAILURE,
    "1501": R.TRANSFER_FAILURE,
}
IBET_BOND_SUFFIXES: Final[dict[str, ReasonCode]] = {
    "0501": R.TRANSFER_FAILURE,  # bulkTransfer: lengths differ
    "0502": R.INSUFFICIENT_BALANCE,  # bulkTransfer: total above the balance
    "0503": R.NOT_TRANSFERABLE,  # bulkTransfer: not transferable
}
"""Straight-bond codes whose meaning differs from the share's (no approval check first)."""

# Algorand evaluator rejection fragments, tried in order (most specific first).
ALGORAND_REJECTIONS: Final[tuple[tuple[str, ReasonCode], ...]] = (
    ("frozen in recipient", R.RECIPIENT_FROZEN),
    ("frozen in", R.SENDER_FROZEN),
    ("must optin", R.RECIPIENT_NOT_OPTED_IN),
    ("missing from", R.RECIPIENT_NOT_OPTED_IN),
    ("clawback not allowed", R.OPERATOR_NOT_AUTHORIZED),
    ("freeze not allowed", R.OPERATOR_NOT_AUTHORIZED),
    ("should have been authorized by", R.OPERATOR_NOT_AUTHORIZED),
    ("underflow", R.INSUFFICIENT_BALANCE),
    ("overspend", R.INSUFFICIENT_BALANCE),
    ("total reached", R.SUPPLY_CAP_EXCEEDED),
)

_IBET_CODE = re.compile(r"^(1[1-5]|2[1-6]|30|40|50)(\d{4})$")


def from_erc1400(status: int) -> ReasonCode:
    """Canonical code of an ERC-1400 status byte (0x50-0x5F); UNKNOWN if unassigned."""
    return ERC1400_STATUS.get(status, R.UNKNOWN)


def from_erc1066(status: int) -> ReasonCode:
    """Canonical code of an ERC-1066 status byte (not for ERC-1400's 0x5X range)."""
    return ERC1066_STATUS.get(status, R.UNKNOWN)


def from_erc7943(error_name: str) -> ReasonCode:
    """Canonical code of an ERC-7943 custom error name (or ``canSend=false`` style result)."""
    return ERC7943_ERRORS.get(error_name.strip(), R.UNKNOWN)


def from_ds(code: int | str) -> ReasonCode:
    """Canonical code of a Securitize DS reason (numeric code or reason text)."""
    if isinstance(code, int):
        return DS_CODES.get(code, R.UNKNOWN)
    return DS_MESSAGES.get(code.strip(), R.UNKNOWN)


def from_comakery(code: int) -> ReasonCode:
    """Canonical code of a CoMakery ERC-1404 restriction code."""
    return COMAKERY_CODES.get(code, R.UNKNOWN)


def from_cmtat(code: int) -> ReasonCode:
    """Canonical code of a CMTAT / CMTA Rules ERC-1404 restriction code."""
    return CMTAT_CODES.get(code, R.UNKNOWN)


def from_erc1404_message(message: str) -> ReasonCode:
    """Canonical code of an ERC-1404 ``messageForTransferRestriction`` text."""
    key = message.strip().upper().replace(" ", "_")
    return ERC1404_MESSAGES.get(key, R.UNKNOWN)


def from_trex_message(message: str) -> ReasonCode:
    """Canonical code of a T-REX revert string (without the 'execution reverted: ' prefix)."""
    return TREX_MESSAGES.get(message.strip(), R.UNKNOWN)


def from_trex_module(name: str) -> ReasonCode:
    """Canonical code for a refusal by the named T-REX compliance module."""
    return TREX_MODULES.get(name, R.UNKNOWN)


def from_ibet(code: str) -> ReasonCode:
    """Canonical code of an ibet six-digit revert code (share 11, bond 12, ...)."""
    match = _IBET_CODE.match(code.strip())
    if match is None:
        return R.UNKNOWN
    prefix, suffix = match.groups()
    if prefix == "50":
        return R.OPERATOR_NOT_AUTHORIZED
    if prefix == "40":
        return R.RECIPIENT_NOT_ELIGIBLE
    if prefix == "12" and suffix in IBET_BOND_SUFFIXES:
        return IBET_BOND_SUFFIXES[suffix]
    return IBET_SUFFIXES.get(suffix, R.UNKNOWN)


def from_algorand(message: str) -> ReasonCode:
    """Canonical code of an Algorand evaluator / algod rejection message."""
    lowered = message.lower()
    for fragment, code in ALGORAND_REJECTIONS:
        if fragment in lowered:
            return code
    return R.UNKNOWN
