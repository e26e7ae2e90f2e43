"""The pure halves of our EVM token adapters: native codes and partitions <-> canonical.

No chain: these are the mapping tables and encoders the ERC-1404 and ERC-1400 adapters
use, checked against the contracts' documented codes and against themselves.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.evm.contracts import load_artifact
from adapters.evm.erc20 import CASH_TOKEN_ERRORS
from adapters.evm.erc1400 import (
    SECURITY_TOKEN_ERRORS,
    SECURITY_TOKEN_REASONS,
    bytes32_text,
    partition_id,
    status_refusal,
)
from adapters.evm.erc1404 import (
    RESTRICTED_TOKEN_CODES,
    RESTRICTED_TOKEN_MESSAGES,
    restriction_refusal,
    unix_time_param,
)
from bridge.errors import InvalidInput
from bridge.model import Standard
from bridge.reasons import ReasonCode

ascii_names = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=32
)


@given(name=ascii_names)
def test_partition_names_round_trip(name: str) -> None:
    """Any 1-32 character printable-ASCII name encodes to a bytes32 id and decodes back."""
    pid = partition_id(name)
    assert len(pid) == 66
    assert bytes32_text(bytes.fromhex(pid[2:])) == name


@given(raw=st.binary(min_size=32, max_size=32))
def test_bytes32_text_never_loses_data(raw: bytes) -> None:
    """Text when it is padded printable ASCII, else hex; either way the bytes come back."""
    text = bytes32_text(raw)
    back = (
        bytes.fromhex(text[2:])
        if text.startswith("0x") and len(text) == 66
        else (text.encode("ascii").ljust(32, b"\0"))
    )
    assert back == raw


def test_partition_id_refuses_what_does_not_fit() -> None:
    for bad in ("", "x" * 33, "日本"):
        with pytest.raises(InvalidInput, match="partition"):
            partition_id(bad)


@given(
    status=st.integers(min_value=0x50, max_value=0x5F),
    reason=st.sampled_from(sorted(SECURITY_TOKEN_REASONS)),
)
def test_erc1400_reason_text_decides_and_round_trips(status: int, reason: str) -> None:
    """Our reason text decides the code whatever the byte; raw fields rebuild the refusal."""
    raw = reason.encode().ljust(32, b"\0")
    refusal = status_refusal(status, raw)
    assert refusal.code is SECURITY_TOKEN_REASONS[reason]
    assert refusal.source_standard is Standard.ERC1400
    assert refusal.raw_code == f"0x{status:02x}"
    assert status_refusal(status, str(refusal.raw_message)) == refusal


def test_erc1400_foreign_reasons_fall_back_to_the_status_byte() -> None:
    assert status_refusal(0x55, b"\x01" * 32).code is ReasonCode.FUNDS_LOCKED
    assert status_refusal(0x57, b"KYC_MISSING".ljust(32, b"\0")).code is (
        ReasonCode.RECIPIENT_NOT_ELIGIBLE
    )
    assert status_refusal(0x5C, b"\0" * 32).code is ReasonCode.UNKNOWN


@given(code=st.sampled_from(sorted(RESTRICTED_TOKEN_MESSAGES)))
def test_erc1404_our_pairs_use_the_code_table(code: int) -> None:
    """Our (code, message) pairs map through the code table and keep both raw values."""
    refusal = restriction_refusal(code, RESTRICTED_TOKEN_MESSAGES[code])
    assert refusal.code is RESTRICTED_TOKEN_CODES[code]
    assert (refusal.raw_code, refusal.raw_message) == (str(code), RESTRICTED_TOKEN_MESSAGES[code])


def test_erc1404_other_tokens_map_by_message() -> None:
    # CoMakery numbers its codes differently: 6 is ALL_TRANSFERS_PAUSED there.
    assert restriction_refusal(6, "ALL_TRANSFERS_PAUSED").code is ReasonCode.TOKEN_PAUSED
    assert restriction_refusal(1, "something else").code is ReasonCode.UNKNOWN
    assert restriction_refusal(1, "something else").raw_message == "something else"


def test_every_custom_error_of_our_tokens_has_a_meaning_or_is_not_a_transfer_refusal() -> None:
    not_refusals = {
        "AccessControlBadConfirmation",
        "ExpectedPause",
        "OwnableInvalidOwner",
        "DocumentNotFound",
    }
    special = {"TransferRestricted", "TransferRefused"}  # decoded by code / status
    for name, table in (
        ("CashToken", CASH_TOKEN_ERRORS),
        ("RestrictedToken1404", CASH_TOKEN_ERRORS),
        ("SecurityToken1400", SECURITY_TOKEN_ERRORS),
    ):
        errors = {e["name"] for e in load_artifact(name).abi if e["type"] == "error"}
        unmapped = errors - set(table) - not_refusals - special
        assert not unmapped, f"{name}: {unmapped}"


def test_lockup_times() -> None:
    assert unix_time_param(None) == 0
    assert unix_time_param(datetime(2030, 1, 1, tzinfo=UTC)) == 1_893_456_000
    assert unix_time_param(5) == 5
    for bad in (datetime(2030, 1, 1), True, -1, 2**64, "2030-01-01"):
        with pytest.raises(InvalidInput, match="until"):
            unix_time_param(bad)
