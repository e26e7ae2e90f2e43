"""Translation of algosdk / httpx / urllib errors into bridge.errors (pure, no chain)."""

from __future__ import annotations

import urllib.error

import httpx
import pytest
from algosdk import account, error

from adapters.algorand.errors import (
    UINT64_MAX,
    algod_errors,
    check_address,
    check_amount,
    reverted,
    translate,
)
from bridge.errors import (
    ChainTimeout,
    ChainUnavailable,
    ConfigError,
    InvalidInput,
    NotFound,
    TransactionReverted,
)
from bridge.reasons import ReasonCode

TX = "A" * 52


@pytest.mark.parametrize(
    ("code", "message", "expected"),
    [
        (404, "asset does not exist", NotFound),
        (401, "Invalid API Token", ConfigError),
        (400, "failed to parse the address", InvalidInput),
        (400, f"TransactionPool.Remember: transaction {TX}: overspend", TransactionReverted),
        (500, "internal error", ChainUnavailable),
    ],
)
def test_algod_http_errors_by_status(code: int, message: str, expected: type[Exception]) -> None:
    assert isinstance(translate(error.AlgodHTTPError(message, code)), expected)  # type: ignore[no-untyped-call]


def test_rejection_keeps_the_evaluator_message_tx_and_reason() -> None:
    err = reverted(f"TransactionPool.Remember: transaction {TX}: asset 1001 frozen in recipient")
    assert err.raw_message == f"transaction {TX}: asset 1001 frozen in recipient"
    assert err.tx_id == TX
    assert err.reason == ReasonCode.RECIPIENT_FROZEN


@pytest.mark.parametrize(
    ("foreign", "expected"),
    [
        (urllib.error.URLError(ConnectionRefusedError(111, "refused")), ChainUnavailable),
        (urllib.error.URLError(TimeoutError("timed out")), ChainTimeout),
        (httpx.ConnectError("refused"), ChainUnavailable),
        (httpx.ReadTimeout("slow"), ChainTimeout),
        (error.ConfirmationTimeoutError("not confirmed"), ChainTimeout),
        (error.AlgodResponseError("bad json"), ChainUnavailable),  # type: ignore[no-untyped-call]
        (error.WrongChecksumError(), InvalidInput),  # type: ignore[no-untyped-call]
        (ConnectionResetError("reset"), ChainUnavailable),
    ],
)
def test_transport_errors(foreign: Exception, expected: type[Exception]) -> None:
    assert isinstance(translate(foreign), expected)


def test_algod_errors_chains_the_foreign_exception() -> None:
    foreign = error.AlgodHTTPError("application does not exist", 404)  # type: ignore[no-untyped-call]
    with pytest.raises(NotFound) as caught, algod_errors():
        raise foreign
    assert caught.value.__cause__ is foreign


def test_check_address_refuses_a_bad_checksum() -> None:
    _, address = account.generate_account()  # type: ignore[no-untyped-call]
    assert check_address(address) == address
    broken = address[:10] + ("B" if address[10] != "B" else "C") + address[11:]
    with pytest.raises(InvalidInput) as bad:
        check_address(broken, "receiver")
    assert bad.value.field == "receiver"


@pytest.mark.parametrize("value", [UINT64_MAX + 1, -1, 1.5, True, "10"])
def test_check_amount_refuses_what_uint64_cannot_hold(value: object) -> None:
    with pytest.raises(InvalidInput) as bad:
        check_amount(value)
    assert bad.value.field == "amount"


def test_check_amount_accepts_the_uint64_range() -> None:
    assert check_amount(0) == 0
    assert check_amount(UINT64_MAX) == UINT64_MAX
