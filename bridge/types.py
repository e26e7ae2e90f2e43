"""Validated primitive types shared by every canonical model.

Each type is an ``Annotated`` alias that pydantic enforces, so a bad value is refused
where it enters, with an error naming the field and the rule:

- amounts are non-negative integers in base units (strict: no floats, no bools, no strings);
- EVM addresses must be 20-byte hex; mixed case must match EIP-55, lower case is
  normalised to the checksummed form;
- Algorand addresses must be 58 base32 characters whose last 4 bytes are the SHA-512/256
  checksum of the public key;
- countries are ISO 3166-1 alpha-2, currencies ISO 4217 alpha-3 (or a stablecoin ticker).

The helpers here are pure functions usable outside pydantic too.
"""

from __future__ import annotations

import base64
import re
from functools import lru_cache
from typing import Annotated, Final

import pycountry
from pydantic import AfterValidator, Field, StringConstraints

__all__ = [
    "UINT64_MAX",
    "UINT256_MAX",
    "Address",
    "AlgorandAddress",
    "Amount",
    "Amount64",
    "BasisPoints",
    "CountryCode",
    "CurrencyCode",
    "EvmAddress",
    "HexBytes32",
    "JurisdictionCode",
    "alpha2_to_numeric",
    "numeric_to_alpha2",
    "to_checksum_address",
    "validate_algorand_address",
    "validate_evm_address",
]

UINT64_MAX: Final = 2**64 - 1
UINT256_MAX: Final = 2**256 - 1

_HEX40 = re.compile(r"^0x[0-9a-fA-F]{40}$")
_BASE32_58 = re.compile(r"^[A-Z2-7]{58}$")


def _keccak_hex(data: bytes) -> str:
    # imported here: pycryptodome loads cffi and pycparser (a third of a second), which a
    # command that never checks an address (``compliance check``, ``--help``) should not pay
    from Crypto.Hash import keccak

    h = keccak.new(digest_bits=256)
    h.update(data)
    return h.hexdigest()


def to_checksum_address(address: str) -> str:
    """Return the EIP-55 checksummed form of a 0x-prefixed 40-hex-digit address."""
    return _checksummed(address[2:].lower())


@lru_cache(maxsize=32_768)
def _checksummed(lower: str) -> str:
    # cached by the lower-case form: a holder scan checksums each address when it finds it
    # and again when its holding is validated (one keccak each time otherwise)
    digest = _keccak_hex(lower.encode("ascii"))
    return "0x" + "".join(
        c.upper() if c.isalpha() and int(digest[i], 16) >= 8 else c for i, c in enumerate(lower)
    )


def validate_evm_address(value: object) -> str:
    """Validate an EVM address and return it checksummed.

    All-lower-case or all-upper-case hex carries no checksum and is accepted; mixed case
    must be the EIP-55 checksum exactly.
    """
    if not isinstance(value, str):
        raise ValueError("an EVM address must be a string")
    if not _HEX40.match(value):
        raise ValueError("an EVM address is 0x followed by 40 hexadecimal digits")
    body = value[2:]
    checksummed = to_checksum_address(value)
    if body not in (body.lower(), body.upper()) and value != checksummed:
        raise ValueError(f"EIP-55 checksum does not match (expected {checksummed})")
    return checksummed


def _algorand_checksum(public_key: bytes) -> bytes:
    from Crypto.Hash import SHA512

    return SHA512.new(public_key, truncate="256").digest()[-4:]


def validate_algorand_address(value: object) -> str:
    """Validate an Algorand address: 58 base32 chars, 32-byte key + 4-byte checksum."""
    if not isinstance(value, str):
        raise ValueError("an Algorand address must be a string")
    if not _BASE32_58.match(value):
        raise ValueError("an Algorand address is 58 upper-case base32 characters")
    raw = base64.b32decode(value + "======")
    if base64.b32encode(raw).decode().rstrip("=") != value:
        raise ValueError("Algorand address is not canonical base32 (trailing bits set)")
    key, checksum = raw[:32], raw[32:]
    if _algorand_checksum(key) != checksum:
        raise ValueError("Algorand address checksum does not match")
    return value


def _validate_any_address(value: object) -> str:
    if isinstance(value, str) and value.startswith(("0x", "0X")):
        return validate_evm_address(value)
    return validate_algorand_address(value)


@lru_cache(maxsize=1)
def _countries() -> dict[str, str]:
    return {c.alpha_2: c.numeric for c in pycountry.countries}


def _validate_country(value: object) -> str:
    if not isinstance(value, str) or value not in _countries():
        raise ValueError("not an ISO 3166-1 alpha-2 country code (upper case, e.g. JP, US, SG)")
    return value


def _validate_jurisdiction(value: object) -> str:
    if value == "EU":
        return "EU"
    try:
        return _validate_country(value)
    except ValueError:
        raise ValueError("not a jurisdiction: an ISO 3166-1 alpha-2 country code or EU") from None


@lru_cache(maxsize=1)
def _currencies() -> frozenset[str]:
    return frozenset(c.alpha_3 for c in pycountry.currencies)


def _validate_currency(value: object) -> str:
    if not isinstance(value, str) or value not in _currencies():
        raise ValueError("not an ISO 4217 currency code (upper case, e.g. JPY, USD, EUR)")
    return value


def alpha2_to_numeric(alpha2: str) -> int:
    """ISO 3166-1 numeric code of an alpha-2 country (T-REX stores countries this way)."""
    return int(_countries()[_validate_country(alpha2)])


def numeric_to_alpha2(numeric: int) -> str | None:
    """Alpha-2 code for an ISO 3166-1 numeric code, or None when no country has it."""
    for alpha2, num in _countries().items():
        if int(num) == numeric:
            return alpha2
    return None


Amount = Annotated[
    int,
    Field(strict=True, ge=0, le=UINT256_MAX, description="Integer amount in base units (>= 0)."),
]
"""Non-negative integer in base units, at most 2**256-1 (EVM uint256)."""

Amount64 = Annotated[
    int,
    Field(strict=True, ge=0, le=UINT64_MAX, description="Integer amount that fits a uint64."),
]
"""Non-negative integer that fits Algorand's uint64."""

BasisPoints = Annotated[int, Field(strict=True, ge=0, le=10_000)]
"""A share in basis points (1/100 of a percent), 0..10000."""

EvmAddress = Annotated[
    str,
    AfterValidator(validate_evm_address),
    Field(pattern=r"^0x[0-9a-fA-F]{40}$", description="EIP-55 checksummed EVM address."),
]
AlgorandAddress = Annotated[
    str,
    AfterValidator(validate_algorand_address),
    Field(pattern=r"^[A-Z2-7]{58}$", description="Algorand address (base32 with checksum)."),
]
Address = Annotated[
    str,
    AfterValidator(_validate_any_address),
    Field(
        pattern=r"^(0x[0-9a-fA-F]{40}|[A-Z2-7]{58})$",
        description="An EVM (0x..., EIP-55) or Algorand (base32) account address.",
    ),
]
CountryCode = Annotated[
    str,
    AfterValidator(_validate_country),
    Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2 country code."),
]
JurisdictionCode = Annotated[
    str,
    AfterValidator(_validate_jurisdiction),
    Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2 country code, or EU."),
]
CurrencyCode = Annotated[
    str,
    AfterValidator(_validate_currency),
    Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 alphabetic currency code."),
]
HexBytes32 = Annotated[
    str,
    StringConstraints(pattern=r"^0x[0-9a-f]{64}$"),
    Field(description="32 bytes as 0x + 64 lower-case hex digits."),
]
