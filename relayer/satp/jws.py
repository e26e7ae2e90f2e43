"""ES256 signing keys as JWK (RFC 7517/7518) and flattened JWS envelopes (RFC 7515).

Every SATP message travels as a JWS in the flattened JSON serialization::

    {"protected": b64url(JCS(header)), "payload": b64url(JCS(message)), "signature": b64url(r||s)}

with the header ``{"alg": "ES256", "kid": <RFC 7638 thumbprint>, "typ": "satp+json"}``.
Only ES256 (ECDSA P-256 with SHA-256, the algorithm core makes mandatory) is accepted: the
header's ``alg`` is checked against it, never trusted to choose the algorithm.

A private key never appears in ``repr``, in a JWK this module writes, or in an error.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from pydantic import Field

from bridge.errors import InvalidInput
from bridge.model.base import CanonicalModel
from relayer.satp.jcs import canonical_bytes, parse_canonical

__all__ = [
    "ALG",
    "Envelope",
    "PublicJwk",
    "SignatureMismatch",
    "SigningKey",
    "b64url",
    "b64url_decode",
    "envelope_from_json",
    "open_envelope",
    "seal",
]

ALG: Final = "ES256"
TYP: Final = "satp+json"
_COORD: Final = 32


def b64url(raw: bytes) -> str:
    """Base64url without padding (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def b64url_decode(text: str, field: str) -> bytes:
    """Decode base64url without padding; a bad value is refused naming ``field``."""
    if not isinstance(text, str) or "=" in text:
        raise InvalidInput(field, "must be base64url without padding")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise InvalidInput(field, "must be base64url without padding") from None


class PublicJwk(CanonicalModel):
    """A P-256 public key as a JWK (only the members RFC 7638 hashes)."""

    kty: str = Field(pattern=r"^EC$")
    crv: str = Field(pattern=r"^P-256$")
    x: str = Field(min_length=43, max_length=43)
    y: str = Field(min_length=43, max_length=43)

    @property
    def kid(self) -> str:
        """The RFC 7638 thumbprint: SHA-256 of the required members in canonical form."""
        members = {"crv": self.crv, "kty": self.kty, "x": self.x, "y": self.y}
        return b64url(hashlib.sha256(canonical_bytes(members)).digest())

    def key(self) -> ec.EllipticCurvePublicKey:
        """The key as a ``cryptography`` object; a point off the curve is refused."""
        x = b64url_decode(self.x, "jwk.x")
        y = b64url_decode(self.y, "jwk.y")
        if len(x) != _COORD or len(y) != _COORD:
            raise InvalidInput("jwk", "x and y must be 32 bytes each")
        try:
            return ec.EllipticCurvePublicNumbers(
                int.from_bytes(x, "big"), int.from_bytes(y, "big"), ec.SECP256R1()
            ).public_key()
        except ValueError:
            raise InvalidInput("jwk", "the point is not on P-256") from None

    def verify(self, signing_input: bytes, signature: bytes) -> bool:
        """Whether ``signature`` (64-byte r||s) is this key's ES256 signature of the input."""
        if len(signature) != 2 * _COORD:
            return False
        r = int.from_bytes(signature[:_COORD], "big")
        s = int.from_bytes(signature[_COORD:], "big")
        try:
            self.key().verify(encode_dss_signature(r, s), signing_input, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            return False
        return True


class SigningKey:
    """A P-256 private key that signs JWS; ``repr`` shows only the public ``kid``."""

    __slots__ = ("_key", "public")

    def __init__(self, key: ec.EllipticCurvePrivateKey) -> None:
        if not isinstance(key.curve, ec.SECP256R1):
            raise InvalidInput("key", "must be a P-256 key for ES256")
        self._key = key
        numbers = key.public_key().public_numbers()
        self.public = PublicJwk(
            kty="EC",
            crv="P-256",
            x=b64url(numbers.x.to_bytes(_COORD, "big")),
            y=b64url(numbers.y.to_bytes(_COORD, "big")),
        )

    @classmethod
    def generate(cls) -> SigningKey:
        """A fresh key from the operating system's randomness."""
        return cls(ec.generate_private_key(ec.SECP256R1()))

    @classmethod
    def from_private_jwk(cls, jwk: dict[str, str]) -> SigningKey:
        """Load a private JWK (``d`` present); the public members must match ``d``."""
        d = b64url_decode(jwk.get("d", ""), "jwk.d")
        if len(d) != _COORD:
            raise InvalidInput("jwk.d", "must be 32 bytes")
        key = cls(ec.derive_private_key(int.from_bytes(d, "big"), ec.SECP256R1()))
        if jwk.get("x") != key.public.x or jwk.get("y") != key.public.y:
            raise InvalidInput("jwk", "x and y do not belong to d")
        return key

    def private_scalar(self) -> bytes:
        """The 32-byte private value, for the encrypted keystore only (never logged)."""
        return self._key.private_numbers().private_value.to_bytes(_COORD, "big")

    def private_jwk(self) -> dict[str, str]:
        """The private JWK, for the operator's key file only (never logged)."""
        d = self._key.private_numbers().private_value.to_bytes(_COORD, "big")
        return {**self.public.model_dump(), "d": b64url(d)}

    @property
    def kid(self) -> str:
        """The public key's RFC 7638 thumbprint."""
        return self.public.kid

    def sign(self, signing_input: bytes) -> bytes:
        """ES256 over ``signing_input``: 64 bytes r||s."""
        der = self._key.sign(signing_input, ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return r.to_bytes(_COORD, "big") + s.to_bytes(_COORD, "big")

    def __repr__(self) -> str:
        return f"SigningKey(kid={self.kid})"


class Envelope(CanonicalModel):
    """A JWS in the flattened JSON serialization: what crosses the wire."""

    protected: str = Field(min_length=1, max_length=4096)
    payload: str = Field(min_length=1, max_length=1_000_000)
    signature: str = Field(min_length=1, max_length=256)

    @property
    def signing_input(self) -> bytes:
        """``protected || '.' || payload`` (RFC 7515 §5.1)."""
        return f"{self.protected}.{self.payload}".encode("ascii")

    @property
    def payload_bytes(self) -> bytes:
        """The JCS bytes of the message."""
        return b64url_decode(self.payload, "payload")

    def header(self) -> dict[str, object]:
        """The protected header, parsed (must itself be canonical JSON)."""
        value = parse_canonical(b64url_decode(self.protected, "protected"))
        if not isinstance(value, dict):
            raise InvalidInput("protected", "must be a JSON object")
        return value


def seal(message: dict[str, object], key: SigningKey) -> Envelope:
    """Sign the JCS form of ``message`` with ``key`` (ES256)."""
    header = {"alg": ALG, "kid": key.kid, "typ": TYP}
    protected = b64url(canonical_bytes(header))
    payload = b64url(canonical_bytes(message))
    signature = key.sign(f"{protected}.{payload}".encode("ascii"))
    return Envelope(protected=protected, payload=payload, signature=b64url(signature))


def open_envelope(envelope: Envelope, key: PublicJwk) -> dict[str, object]:
    """Check the header and ``key``'s signature; return the canonical payload as a dict.

    Raises :class:`~bridge.errors.InvalidInput` for a malformed envelope and
    :class:`SignatureMismatch` when the signature is not ``key``'s.
    """
    header = envelope.header()
    if header.get("alg") != ALG:
        raise SignatureMismatch(
            f"protected.alg: only {ALG} is accepted (got {header.get('alg')!r})"
        )
    if header.get("kid") != key.kid:
        raise SignatureMismatch("protected.kid: not the peer gateway's key")
    signature = b64url_decode(envelope.signature, "signature")
    if not key.verify(envelope.signing_input, signature):
        raise SignatureMismatch("signature: not a valid ES256 signature by the peer gateway's key")
    value = parse_canonical(envelope.payload_bytes)
    if not isinstance(value, dict):
        raise InvalidInput("payload", "must be a JSON object")
    return value


class SignatureMismatch(Exception):
    """The envelope is not signed by the expected key (mapped to ``err_0.1.3``)."""


def envelope_from_json(text: str | bytes) -> Envelope:
    """Parse an envelope from its JSON text; a bad one is refused naming the field."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InvalidInput("body", "must be a JWS in the flattened JSON serialization") from None
    if not isinstance(data, dict):
        raise InvalidInput("body", "must be a JSON object")
    return Envelope.model_validate(data)
