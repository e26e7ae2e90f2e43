"""Encrypted keystores for the relayer's accounts, on both chain families.

One file format for both: the Ethereum keystore v3 JSON (scrypt + AES-128-CTR, as written
by eth-account), which encrypts any 32-byte key, plus ``"stbridge_kind": "evm" |
"algorand"``. For Algorand the 32 bytes are the ed25519 seed; the signer rebuilds the
algosdk private key (seed + public key) from it. The password comes from an environment
variable named in the settings, never from the file or the command line.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any, Literal

from eth_account import Account
from nacl.signing import SigningKey

from bridge.errors import ConfigError, InvalidInput
from bridge.ports import Signer

__all__ = ["load_signer", "password_from_env", "write_keystore"]

Kind = Literal["evm", "algorand"]


def write_keystore(
    path: Path, *, kind: Kind, key: bytes, password: str, iterations: int | None = None
) -> str:
    """Encrypt ``key`` (32 bytes) into ``path`` (created 0600); return the account address.

    ``iterations`` is scrypt's work factor (a power of two); the default is eth-account's
    (2**18). Only tests should lower it.
    """
    if len(key) != 32:
        raise InvalidInput("key", "must be 32 bytes")
    if len(password) < 8:
        raise InvalidInput("password", "must be at least 8 characters")
    document: dict[str, Any] = dict(Account.encrypt(key, password, iterations=iterations))
    document["stbridge_kind"] = kind
    address = _signer(kind, key).address
    document["address"] = address
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2)
    return address


def load_signer(path: Path, password: str) -> Signer:
    """Decrypt a keystore into a signer for its chain family."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such keystore") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not a keystore (invalid JSON: {exc.msg})") from None
    kind = document.get("stbridge_kind")
    if kind not in ("evm", "algorand"):
        raise ConfigError(f"{path}: stbridge_kind must be 'evm' or 'algorand'")
    try:
        key = bytes(Account.decrypt(document, password))
    except ValueError:
        raise ConfigError(f"{path}: wrong password or damaged keystore") from None
    return _signer(kind, key)


def _signer(kind: str, key: bytes) -> Signer:
    if kind == "evm":
        from adapters.evm.signer import EvmSigner

        return EvmSigner(key)
    from adapters.algorand.signer import AlgorandSigner

    seed = SigningKey(key)
    private = base64.b64encode(key + bytes(seed.verify_key)).decode()
    return AlgorandSigner(private)


def password_from_env(variable: str) -> str:
    """The keystore password from ``variable``; ``ConfigError`` if unset."""
    value = os.environ.get(variable)
    if not value:
        raise ConfigError(f"{variable}: not set (the keystore password is read from it)")
    return value
