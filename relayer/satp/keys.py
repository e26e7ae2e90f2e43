"""The gateway's ES256 key in an encrypted keystore (``stbridge relayer keygen --satp``).

The same file format as the chain keystores (:mod:`relayer.keystore`: keystore v3, scrypt +
AES-128-CTR) around the 32-byte P-256 private scalar, with ``"stbridge_kind": "satp-es256"``
and the public JWK and its RFC 7638 thumbprint in clear (``jwk``, ``kid``): the operator
hands ``jwk`` to the peer platform, which puts it in its ``[satp.peer] public_key``. The
password comes from an environment variable, never from the file or the command line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from cryptography.hazmat.primitives.asymmetric import ec

from bridge.errors import ConfigError
from relayer.keystore import decrypt_document, encrypt_document, write_private
from relayer.satp.jws import PublicJwk, SigningKey

__all__ = ["KIND", "load_satp_key", "public_jwk_of", "write_satp_keystore"]

KIND: Final = "satp-es256"


def write_satp_keystore(
    path: Path, key: SigningKey, *, password: str, iterations: int | None = None
) -> PublicJwk:
    """Encrypt ``key`` into ``path`` (0600); return its public JWK (what the peer configures)."""
    scalar = key.private_scalar()
    document = encrypt_document(scalar, password, iterations=iterations)
    document["stbridge_kind"] = KIND
    document["jwk"] = key.public.model_dump()
    document["kid"] = key.kid
    write_private(path, document)
    return key.public


def load_satp_key(path: Path, password: str) -> SigningKey:
    """Decrypt the gateway key; ``ConfigError`` names the file and what is wrong."""
    document, scalar = decrypt_document(path, password)
    if document.get("stbridge_kind") != KIND:
        raise ConfigError(f"{path}: stbridge_kind must be {KIND!r} (an SATP gateway key)")
    try:
        key = SigningKey(ec.derive_private_key(int.from_bytes(scalar, "big"), ec.SECP256R1()))
    except ValueError:
        raise ConfigError(f"{path}: the key is not a P-256 private key") from None
    if document.get("jwk") is not None and document["jwk"] != key.public.model_dump():
        raise ConfigError(f"{path}: jwk does not belong to the encrypted key")
    return key


def public_jwk_of(path: Path) -> PublicJwk:
    """The public JWK stored in clear in an SATP keystore (no password needed)."""
    import json

    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        return PublicJwk.model_validate(document["jwk"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path}: no public jwk ({exc})") from None
