"""Translate algosdk, httpx, urllib and evaluator errors into :mod:`bridge.errors`.

Nothing from the Algorand SDK or the HTTP stack escapes ``adapters.algorand``: every
call into algod (real or embedded) runs inside :func:`algod_errors`, which re-raises
through :func:`translate`, chained (``raise ... from exc``). The table:

=========================================================  ==================================
foreign error                                              stbridge error
=========================================================  ==================================
algod 400 ``TransactionPool.Remember: ...`` / evaluator    ``TransactionReverted`` (evaluator
                                                           message, tx id, canonical reason
                                                           from ``bridge.reasons.from_algorand``)
algod 400 ``failed to parse the address``                  ``InvalidInput("address", ...)``
algod 404 (asset / application / box / account info)       ``NotFound``
algod 401 / 403 (bad token)                                ``ConfigError``
algod 5xx, connection refused, DNS, ``AlgodResponseError`` ``ChainUnavailable``
socket / httpx timeouts, ``ConfirmationTimeoutError``      ``ChainTimeout``
algosdk address checksum / length errors                   ``InvalidInput("address", ...)``
=========================================================  ==================================

:func:`check_address` and :func:`check_amount` refuse bad input before anything is built
or sent (an address with a bad checksum, an amount over 2^64-1).
"""

from __future__ import annotations

import contextlib
import re
import socket
import subprocess
import urllib.error
from collections.abc import Iterator
from typing import Final

import httpx
from algosdk import error as sdk_error

from bridge.errors import (
    BridgeError,
    ChainTimeout,
    ChainUnavailable,
    ConfigError,
    InvalidInput,
    NotFound,
    TransactionReverted,
)
from bridge.reasons import from_algorand
from bridge.types import validate_algorand_address

__all__ = [
    "UINT64_MAX",
    "algod_errors",
    "check_address",
    "check_amount",
    "reverted",
    "translate",
]

UINT64_MAX: Final = 2**64 - 1
_POOL_PREFIX: Final = "TransactionPool.Remember: "
_TX_ID: Final = re.compile(r"transaction ([A-Z2-7]{52})")


def check_address(value: object, field: str = "address") -> str:
    """``value`` if it is a valid Algorand address (length, alphabet, checksum).

    Raises ``InvalidInput(field, rule)`` otherwise; nothing is sent.
    """
    try:
        return validate_algorand_address(value)
    except ValueError as exc:
        raise InvalidInput(field, str(exc), value=value) from None


def check_amount(value: object, field: str = "amount") -> int:
    """``value`` if it is an integer in ``[0, 2^64-1]`` (Algorand's uint64 amounts)."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidInput(field, "must be an integer number of base units", value=value)
    if value < 0:
        raise InvalidInput(field, "must not be negative", value=value)
    if value > UINT64_MAX:
        raise InvalidInput(field, "must be at most 2^64-1 (uint64)", value=value)
    return value


def reverted(message: str) -> TransactionReverted:
    """``TransactionReverted`` for an algod / evaluator rejection message."""
    raw = message[len(_POOL_PREFIX) :] if message.startswith(_POOL_PREFIX) else message
    match = _TX_ID.search(raw)
    return TransactionReverted(
        f"Algorand rejected the transaction: {raw}",
        raw_message=raw,
        tx_id=match.group(1) if match else None,
        reason=from_algorand(raw),
    )


def _from_status(status: int | None, message: str) -> BridgeError:
    if status == 404:
        return NotFound(message)
    if status in (401, 403):
        return ConfigError(f"algod refused the API token: {message}")
    if status == 400:
        if "failed to parse the address" in message:
            return InvalidInput("address", "is not a valid Algorand address")
        return reverted(message)
    return ChainUnavailable(f"algod answered HTTP {status}: {message}")


def translate(exc: BaseException) -> BridgeError:
    """The :mod:`bridge.errors` equivalent of a foreign exception (not raised, returned)."""
    if isinstance(exc, BridgeError):
        return exc
    if isinstance(exc, sdk_error.AlgodHTTPError):
        return _from_status(getattr(exc, "code", None), str(exc))
    if isinstance(exc, sdk_error.ConfirmationTimeoutError):
        return ChainTimeout(f"transaction not confirmed in time: {exc}")
    if isinstance(exc, sdk_error.AlgodResponseError):
        return ChainUnavailable(f"algod sent an unreadable answer: {exc}")
    if isinstance(exc, sdk_error.WrongChecksumError | sdk_error.WrongKeyLengthError):
        return InvalidInput("address", "is not a valid Algorand address (checksum or length)")
    if isinstance(exc, httpx.TimeoutException):
        return ChainTimeout(f"algod did not answer in time: {exc}")
    if isinstance(exc, httpx.HTTPStatusError):
        return _from_status(exc.response.status_code, exc.response.text)
    if isinstance(exc, httpx.TransportError):
        return ChainUnavailable(f"algod is unreachable: {exc}")
    if isinstance(exc, subprocess.TimeoutExpired):
        return ChainTimeout(f"the evaluator did not finish in time: {exc}")
    if isinstance(exc, urllib.error.URLError):
        reason = exc.reason
        if isinstance(reason, socket.timeout | TimeoutError):
            return ChainTimeout(f"algod did not answer in time: {reason}")
        return ChainUnavailable(f"algod is unreachable: {reason}")
    if isinstance(exc, TimeoutError):
        return ChainTimeout(f"algod did not answer in time: {exc}")
    if isinstance(exc, ConnectionError | OSError):
        return ChainUnavailable(f"algod is unreachable: {exc}")
    return ChainUnavailable(f"unexpected error talking to algod: {type(exc).__name__}: {exc}")


@contextlib.contextmanager
def algod_errors() -> Iterator[None]:
    """Run a block of algod calls; any foreign error leaves it as a ``bridge.errors`` one."""
    try:
        yield
    except BridgeError:
        raise
    except Exception as exc:
        raise translate(exc) from exc
