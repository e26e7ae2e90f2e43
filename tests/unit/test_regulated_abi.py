"""The regulated-ASA standard's pure half: box layout, check order, error map, spec tables."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from adapters.algorand.addresses import address_from_key
from adapters.algorand.regulated_abi import (
    ERROR_REASONS,
    METHODS,
    AppState,
    PartyView,
    WhitelistEntry,
    box_key,
    predict_transfer,
    refusal_from_rejection,
    selector,
)
from adapters.algorand.teal import approval_program, error_map
from bridge.errors import InvalidInput
from bridge.model import InvestorClass
from bridge.reasons import ReasonCode

R = ReasonCode
SPEC = Path(__file__).resolve().parents[2] / "specs" / "regulated-asa.md"
A = "GD64YIY3TWGDMCNPP553DZPPR6LDUSFQOIJVFDPPXWEG3FVOJCCDBBHU5A"
B = address_from_key(bytes(range(32)))
NOW = 1_800_000_000


def _entry(**changes: object) -> WhitelistEntry:
    values: dict[str, object] = {
        "country": "JP",
        "investor_class": InvestorClass.PROFESSIONAL,
        "kyc_expiry": NOW + 100,
        "lockup_end": 0,
        "frozen": False,
    }
    values.update(changes)
    return WhitelistEntry(**values)  # type: ignore[arg-type]


def _state(**changes: object) -> AppState:
    values: dict[str, object] = {
        "admin": A,
        "asset_id": 1005,
        "paused": False,
        "max_holders": 0,
        "max_balance": 0,
        "holders": 1,
        "countries": ("JP", "SG"),
    }
    values.update(changes)
    return AppState(**values)  # type: ignore[arg-type]


def _predict(
    state: AppState,
    sender: WhitelistEntry | None,
    receiver: WhitelistEntry | None,
    *,
    amount: int = 10,
    sender_balance: int = 100,
    receiver_balance: int = 0,
    opted_in: bool = True,
) -> ReasonCode:
    code, _ = predict_transfer(
        state,
        now=NOW,
        sender=PartyView(A, sender, True, sender_balance),
        receiver=PartyView(B, receiver, opted_in, receiver_balance),
        amount=amount,
        reserve=None,
    )
    return code


def test_box_value_layout_round_trips() -> None:
    entry = _entry(frozen=True, lockup_end=NOW + 5)
    raw = entry.encode()
    assert len(raw) == 20
    assert raw[:2] == b"JP"
    assert raw[2] == 1  # professional
    assert raw[3] == 1  # frozen flag
    assert int.from_bytes(raw[4:12], "big") == NOW + 100
    assert int.from_bytes(raw[12:20], "big") == NOW + 5
    assert WhitelistEntry.decode(raw) == entry
    assert box_key(A)[:2] == b"wl"
    assert len(box_key(A)) == 34
    with pytest.raises(InvalidInput):
        WhitelistEntry.decode(raw[:19])


def test_check_order_puts_the_first_failing_rule_first() -> None:
    ok = _entry()
    # everything wrong at once: the pause wins, then each rule in the documented order
    assert _predict(_state(paused=True), None, None) is R.TOKEN_PAUSED
    assert _predict(_state(), None, None) is R.SENDER_NOT_ELIGIBLE
    assert _predict(_state(), _entry(frozen=True, kyc_expiry=0), None) is R.SENDER_FROZEN
    assert _predict(_state(), _entry(kyc_expiry=NOW), None) is R.KYC_EXPIRED
    assert _predict(_state(), _entry(lockup_end=NOW + 1), None) is R.FUNDS_LOCKED
    assert _predict(_state(), ok, None) is R.RECIPIENT_NOT_ELIGIBLE
    assert _predict(_state(), ok, _entry(frozen=True, country="KR")) is R.RECIPIENT_FROZEN
    assert _predict(_state(), ok, _entry(kyc_expiry=1, country="KR")) is R.KYC_EXPIRED
    assert _predict(_state(), ok, _entry(country="KR"), opted_in=False) is R.COUNTRY_RESTRICTED
    assert _predict(_state(), ok, ok, opted_in=False, amount=500) is R.RECIPIENT_NOT_OPTED_IN
    assert _predict(_state(max_balance=5), ok, ok, amount=500) is R.INSUFFICIENT_BALANCE
    assert _predict(_state(max_balance=5, max_holders=1), ok, ok) is R.MAX_BALANCE_EXCEEDED
    assert _predict(_state(max_holders=1), ok, ok) is R.MAX_HOLDERS_REACHED
    assert _predict(_state(max_holders=1), ok, ok, amount=100) is R.OK  # sender leaves
    assert _predict(_state(max_holders=1), ok, ok, receiver_balance=3) is R.OK
    assert _predict(_state(countries=()), ok, _entry(country="KR")) is R.OK
    assert _predict(_state(), ok, ok, amount=0, sender_balance=0) is R.OK


def test_rejections_decode_by_program_counter() -> None:
    for pc, name in error_map().items():
        message = f"logic eval error: err opcode executed. Details: app=1004, pc={pc}, opcodes=x"
        refusal = refusal_from_rejection(message)
        assert refusal.raw_code == name
        assert refusal.code is ERROR_REASONS[name]
    generic = refusal_from_rejection("overspend (account X, data ...)")
    assert generic.code is R.INSUFFICIENT_BALANCE
    assert generic.raw_code is None


def test_error_map_points_at_err_opcodes_and_names_every_error() -> None:
    program = approval_program()
    assert all(program[pc] == 0x00 for pc in error_map())  # 0x00 is `err`
    assert set(error_map().values()) == set(ERROR_REASONS)


def test_spec_lists_every_method_selector_and_error() -> None:
    text = SPEC.read_text(encoding="utf-8")
    rows = dict(re.findall(r"\| `([a-z_]+\([^`]*\)[a-z0-9\[\]]*)` \| `0x([0-9a-f]{8})` \|", text))
    assert rows == {sig: selector(name).hex() for name, sig in METHODS.items()}
    documented = dict(re.findall(r"\| `([A-Z_]+)` \| ([A-Z_]+) \|", text))
    assert documented == {name: code.value for name, code in ERROR_REASONS.items()}
