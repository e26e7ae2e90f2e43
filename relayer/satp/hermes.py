"""The signature and hash profile of Hyperledger Cacti SATP-Hermes (interoperability).

Hermes does not sign SATP messages as the draft says (JWS ES256); what it does instead,
as read from its source (cacti, ``cactus-plugin-satp-hermes`` ``utils/gateway-utils.ts``
and ``cactus-common`` ``JsObjectSigner``):

- a message is the protobuf-es JavaScript object (camelCase members, enums as numbers,
  uint64 as BigInt, scalar defaults present, unset sub-messages absent);
- **stringify**: ``safe-stable-stringify`` of the object, members sorted by UTF-16 code
  units, BigInt written as a bare integer (:func:`stable_stringify`);
- **signature**: the message with its ``clientSignature`` / ``serverSignature`` set to
  ``""`` is stringified; that *string* is stringified once more by ``json-stable-stringify``
  (so it is JSON-quoted), hashed with legacy **Keccak-256** (npm ``sha3`` ``SHA3Hash``), and
  signed with **secp256k1** ECDSA (RFC 6979 nonces, low-s), written as 64-byte compact
  ``r || s`` in hex (:meth:`HermesKey.sign`, :func:`verify`);
- **hash chaining**: ``hashPreviousMessage`` is the SHA-256 hex of the stringified previous
  message, signature included (:func:`message_hash`).

The golden vectors in ``tests/integration/test_satp_hermes.py`` are produced by the npm
package ``@hyperledger/cactus-common`` itself and checked both ways.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from coincurve import PrivateKey, PublicKey
from coincurve.ecdsa import cdata_to_der, deserialize_compact
from Crypto.Hash import keccak

from bridge.errors import InvalidInput
from relayer.satp.jcs import Profile, serialize
from relayer.satp.messages import sha256_hex

__all__ = [
    "SIGNATURE_FIELDS",
    "HermesKey",
    "check_chain",
    "message_hash",
    "signing_digest",
    "stable_stringify",
    "verify",
]

SIGNATURE_FIELDS: Final = ("clientSignature", "serverSignature")

STABLE_STRINGIFY: Final = Profile(
    escape_lone_surrogates=True,
    bounded_integers=False,  # a JS number (small) or a BigInt: both print the digits
    no_floats="fractional numbers have no Hermes message field",
    not_a_value="not a value of a Hermes message",
)
"""``safe-stable-stringify`` as Hermes calls it: the JCS serializer of
:mod:`relayer.satp.jcs` with lone surrogates escaped and integers unbounded."""


def stable_stringify(value: object) -> str:
    """``safe-stable-stringify`` of a message object (dicts, lists, str, int, bool, None)."""
    return serialize(value, STABLE_STRINGIFY)


def _keccak256(raw: bytes) -> bytes:
    h = keccak.new(digest_bits=256)
    h.update(raw)
    return h.digest()


def _unsigned(message: Mapping[str, Any]) -> dict[str, Any]:
    """Hermes empties the client signature if set, else the server signature."""
    copy = dict(message)
    for name in SIGNATURE_FIELDS:
        if copy.get(name):
            copy[name] = ""
            break
    return copy


def signing_digest(message: Mapping[str, Any]) -> bytes:
    """The 32 bytes Hermes signs: Keccak-256 of the JSON-quoted stable string of the message
    with its signature member emptied."""
    text = stable_stringify(_unsigned(message))
    return _keccak256(serialize(text, STABLE_STRINGIFY).encode("utf-8"))


def message_hash(message: Mapping[str, Any]) -> str:
    """``hashPreviousMessage`` of the next message: SHA-256 hex of the stable string of this
    one, signature included."""
    return sha256_hex(stable_stringify(message).encode("utf-8"))


class HermesKey:
    """A secp256k1 gateway key in Hermes's profile; ``repr`` shows only the public key."""

    __slots__ = ("_key",)

    def __init__(self, secret: bytes) -> None:
        if len(secret) != 32:
            raise InvalidInput("private_key", "must be 32 bytes")
        self._key = PrivateKey(secret)

    @property
    def public_hex(self) -> str:
        """The compressed public key in hex (what Hermes puts in ``*GatewayPubkey``)."""
        return self._key.public_key.format(compressed=True).hex()

    def sign(self, message: Mapping[str, Any], field: str) -> dict[str, Any]:
        """The message with ``field`` (client/serverSignature) set to Hermes's signature."""
        if field not in SIGNATURE_FIELDS:
            raise InvalidInput("field", f"must be one of {SIGNATURE_FIELDS}", value=field)
        body = {**message, field: ""}
        recoverable = self._key.sign_recoverable(signing_digest(body), hasher=None)
        return {**body, field: recoverable[:64].hex()}

    def __repr__(self) -> str:
        return f"HermesKey(public={self.public_hex})"


def verify(message: Mapping[str, Any], public_hex: str) -> bool:
    """Hermes's check: the message's client (else server) signature by ``public_hex``.

    A message with neither signature member set is refused, as Hermes refuses it.
    """
    signature = next((message[f] for f in SIGNATURE_FIELDS if message.get(f)), None)
    if not isinstance(signature, str):
        raise InvalidInput("signature", "the message carries no clientSignature/serverSignature")
    try:
        raw = bytes.fromhex(signature)
        key = PublicKey(bytes.fromhex(public_hex))
    except ValueError:
        return False
    if len(raw) != 64:
        return False
    der = cdata_to_der(deserialize_compact(raw))
    return bool(key.verify(der, signing_digest(message), hasher=None))


def check_chain(
    messages: Sequence[Mapping[str, Any]], *, field: str = "hashPreviousMessage"
) -> None:
    """Each message's ``common.<field>`` must be :func:`message_hash` of the one before."""
    for i in range(1, len(messages)):
        common = messages[i].get("common")
        got = common.get(field) if isinstance(common, Mapping) else None
        if got != message_hash(messages[i - 1]):
            raise InvalidInput(
                f"messages[{i}].common.{field}", "must be the SHA-256 of the previous message"
            )
