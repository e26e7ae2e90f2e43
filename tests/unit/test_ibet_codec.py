"""The pure half of the ibet adapters: codes, dates, interest dates, currencies."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest

from adapters.evm.contracts import load_artifact
from adapters.evm.ibet import (
    IBET_MESSAGES,
    IbetBondAdapter,
    IbetShareAdapter,
    _currency,
    _parse_date,
    _payment_dates,
)
from bridge.model import Standard
from bridge.reasons import ReasonCode, from_ibet

SRC = Path(__file__).resolve().parents[2] / "adapters/evm/contracts/src/ibet"


def _suffixes_in_sources() -> set[str]:
    text = (SRC / "IbetSecurityTokenBase.sol").read_text(encoding="utf-8")
    return set(re.findall(r'_fail\("(\d{4})"\)', text))


def test_every_code_the_contracts_raise_is_described_and_mapped() -> None:
    """Each suffix the token reverts with has a message and a canonical (known) reason."""
    raised = _suffixes_in_sources()
    assert raised, "the base contract raises its codes through _fail"
    assert raised == set(IBET_MESSAGES)
    for suffix in raised:
        for prefix in ("11", "12"):
            assert from_ibet(prefix + suffix) is not ReasonCode.UNKNOWN, prefix + suffix


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("110401", ReasonCode.INSUFFICIENT_BALANCE),
        ("120402", ReasonCode.NOT_TRANSFERABLE),
        ("110201", ReasonCode.ISSUER_APPROVAL_REQUIRED),
        ("120202", ReasonCode.RECIPIENT_NOT_ELIGIBLE),
        ("110301", ReasonCode.INVALID_RECEIVER),
        ("500001", ReasonCode.OPERATOR_NOT_AUTHORIZED),
        ("400001", ReasonCode.RECIPIENT_NOT_ELIGIBLE),
        ("999999", ReasonCode.UNKNOWN),
    ],
)
def test_refusal_keeps_the_six_digit_code(code: str, reason: ReasonCode) -> None:
    """A refusal built from a code keeps it raw and maps it canonically."""
    adapter = IbetShareAdapter.__new__(IbetShareAdapter)  # the codec needs no chain
    refusal = adapter.refusal(code, None)
    assert refusal.code is reason
    assert refusal.raw_code == code
    assert refusal.source_standard is Standard.IBET_SHARE


def test_codes_carry_the_token_prefix() -> None:
    """Share codes start with 11, bond codes with 12, same suffixes."""
    share = IbetShareAdapter.__new__(IbetShareAdapter)
    bond = IbetBondAdapter.__new__(IbetBondAdapter)
    assert share.code("0401") == "110401"
    assert bond.code("0401") == "120401"


def test_revert_strings_in_the_bytecode_use_the_prefix() -> None:
    """The compiled tokens carry their two-digit prefix for the revert strings."""
    for name, prefix in (("IbetShare", "11"), ("IbetStraightBond", "12")):
        runtime = bytes.fromhex(load_artifact(name).deployed_bytecode[2:])
        assert prefix.encode() in runtime


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20311130", date(2031, 11, 30)),
        (" 20260101 ", date(2026, 1, 1)),
        ("", None),
        ("2031-11-30", None),
        ("20310230", None),
        ("abcdefgh", None),
    ],
)
def test_dates_are_yyyymmdd(text: str, expected: date | None) -> None:
    """ibet dates are YYYYMMDD strings; anything else reads as no date."""
    assert _parse_date(text) == expected


def test_interest_payment_dates_are_ordered_by_their_number() -> None:
    """The JSON keys interestPaymentDate1..12 give the MMDD values in number order."""
    text = json.dumps(
        {
            "interestPaymentDate10": "1031",
            "interestPaymentDate2": "0531",
            "interestPaymentDate1": "0131",
        }
    )
    assert _payment_dates(text) == ("0131", "0531", "1031")
    assert _payment_dates("") == ()
    assert _payment_dates("not json") == ()
    assert _payment_dates('["0531"]') == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [("JPY", "JPY"), ("usd", "USD"), ("", "JPY"), ("YEN", None)],
)
def test_currencies_are_iso_4217_and_empty_means_yen(text: str, expected: str | None) -> None:
    """An ISO 4217 code is kept; empty is yen; anything else cannot be typed."""
    assert _currency(text) == expected
