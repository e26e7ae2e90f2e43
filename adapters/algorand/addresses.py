"""Algorand addresses <-> 32-byte public keys, with input validation as ``bridge.errors``.

A typed, validating front to the SDK's untyped ``encode_address``/``decode_address``:
a bad address (wrong length, wrong alphabet, bad checksum) is ``InvalidInput`` naming
the field, before anything is built or sent.
"""

from __future__ import annotations

import base64

from Crypto.Hash import SHA512

from bridge.errors import InvalidInput
from bridge.types import validate_algorand_address

__all__ = ["address_from_key", "checked_address", "key_from_address"]


def checked_address(value: object, field: str = "address") -> str:
    """``value`` if it is a valid Algorand address, else ``InvalidInput(field, rule)``."""
    try:
        return validate_algorand_address(value)
    except ValueError as exc:
        raise InvalidInput(field, str(exc), value=value) from None


def key_from_address(value: object, field: str = "address") -> bytes:
    """The 32-byte public key of a (validated) address."""
    address = checked_address(value, field)
    return base64.b32decode(address + "======")[:32]


def address_from_key(key: bytes) -> str:
    """The address (base32 key + 4-byte SHA-512/256 checksum) of a 32-byte public key."""
    if len(key) != 32:
        raise InvalidInput("public_key", "an Algorand public key is 32 bytes", value=len(key))
    checksum = SHA512.new(key, truncate="256").digest()[-4:]
    return base64.b32encode(key + checksum).decode("ascii").rstrip("=")
