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

__all__ = [
    "decrypt_document",
    "encrypt_document",
    "key_from_text",
    "load_signer",
    "password_from_env",
    "signer_from_key",
    "write_keystore",
    "write_private",
]

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
    address = signer_from_key(kind, key).address
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
    return signer_from_key(kind, key)


def signer_from_key(kind: str, key: bytes) -> Signer:
    """A signer for ``kind`` from its 32-byte key (EVM private key, or ed25519 seed)."""
    if kind == "evm":
        from adapters.evm.signer import EvmSigner

        return EvmSigner(key)
    from adapters.algorand.signer import AlgorandSigner

    seed = SigningKey(key)
    private = base64.b64encode(key + bytes(seed.verify_key)).decode()
    return AlgorandSigner(private)


def key_from_text(kind: Kind, text: str) -> bytes:
    """The 32 key bytes of an existing key as a wallet exports it.

    EVM: 64 hex digits (``0x`` optional). Algorand: the 25-word mnemonic, or algosdk's
    base64 private key (seed + public key). ``InvalidInput`` names the form expected.
    """
    text = text.strip()
    if kind == "evm":
        digits = text.removeprefix("0x")
        if len(digits) != 64:
            raise InvalidInput("key", "an EVM private key is 64 hex digits (0x optional)")
        try:
            return bytes.fromhex(digits)
        except ValueError:
            raise InvalidInput("key", "an EVM private key is 64 hex digits (0x optional)") from None
    from algosdk import mnemonic

    if len(text.split()) == 25:
        try:
            private = mnemonic.to_private_key(text)  # type: ignore[no-untyped-call]
        except Exception:  # the SDK raises assorted errors for a bad checksum or word
            raise InvalidInput("key", "not a valid 25-word Algorand mnemonic") from None
    else:
        private = text
    try:
        raw = base64.b64decode(private, validate=True)
    except ValueError:
        raise InvalidInput(
            "key", "an Algorand key is a 25-word mnemonic or a base64 private key"
        ) from None
    if len(raw) != 64 or bytes(SigningKey(raw[:32]).verify_key) != raw[32:]:
        raise InvalidInput("key", "an Algorand private key is 64 bytes: seed + public key")
    return raw[:32]


def password_from_env(variable: str) -> str:
    """The keystore password from ``variable``; ``ConfigError`` if unset."""
    value = os.environ.get(variable)
    if not value:
        raise ConfigError(f"{variable}: not set (the keystore password is read from it)")
    return value


def encrypt_document(key: bytes, password: str, *, iterations: int | None = None) -> dict[str, Any]:
    """The keystore v3 document of 32 key bytes (the encryption every stbridge keystore uses,
    SATP's ES256 key included); the caller adds its ``stbridge_kind`` and public members."""
    if len(key) != 32:
        raise InvalidInput("key", "must be 32 bytes")
    if len(password) < 8:
        raise InvalidInput("password", "must be at least 8 characters")
    return dict(Account.encrypt(key, password, iterations=iterations))


def write_private(path: Path, document: dict[str, Any]) -> None:
    """Write a keystore document to ``path``, created 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2)


def decrypt_document(path: Path, password: str) -> tuple[dict[str, Any], bytes]:
    """A keystore's document and its 32 decrypted key bytes; ``ConfigError`` names the file."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such keystore") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not a keystore (invalid JSON: {exc.msg})") from None
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: not a keystore (a JSON object is expected)")
    try:
        key = bytes(Account.decrypt(document, password))
    except (ValueError, KeyError, TypeError):
        raise ConfigError(f"{path}: wrong password or damaged keystore") from None
    return document, key
