"""A :class:`bridge.ports.Signer` for EVM accounts, over eth-account.

The private key lives only inside the object: ``repr``/``str`` show the address, the key is
never logged, printed or pickled. ``sign(tx)`` returns the raw signed transaction bytes
that :meth:`adapters.evm.client.EvmClient.submit` sends; ``sign_message_hash`` produces an
EIP-191 ("Ethereum signed message") signature, which ONCHAINID claims use.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from typing import Any, Final, NoReturn

from eth_account import Account
from eth_account.messages import encode_defunct

from bridge.errors import InvalidInput

__all__ = ["EvmSigner"]


class EvmSigner:
    """Signs EVM transactions and messages for one address."""

    __slots__ = ("__curve_key", "__key", "_address")

    def __init__(self, private_key: bytes) -> None:
        if len(private_key) != 32:
            raise InvalidInput("private_key", "must be 32 bytes")
        try:
            account = Account.from_key(private_key)
        except Exception as exc:
            raise InvalidInput("private_key", "not a valid secp256k1 key") from exc
        self.__key = private_key
        self.__curve_key: Any = None  # libsecp256k1's key object, built at the first signature
        self._address = str(account.address)

    @classmethod
    def generate(cls) -> EvmSigner:
        """A signer with a fresh random key."""
        return cls(secrets.token_bytes(32))

    @classmethod
    def from_seed(cls, seed: str) -> EvmSigner:
        """A deterministic signer derived from ``seed`` (tests and demos only)."""
        return cls(hashlib.sha256(b"stbridge-test-key:" + seed.encode()).digest())

    @property
    def address(self) -> str:
        """The EIP-55 address this signer signs for."""
        return self._address

    def sign(self, unsigned: object) -> bytes:
        """Sign a transaction dict (as built by ``EvmClient.build_tx``); return raw bytes."""
        if not isinstance(unsigned, Mapping):
            raise InvalidInput("transaction", "an EVM transaction is a mapping of fields")
        if self.__curve_key is None:
            self.__curve_key = _curve_key(self.__key)
        fast = _sign_1559(unsigned, self.__key, self.__curve_key)
        if fast is not None:
            return fast
        signed: Any = Account.sign_transaction(dict(unsigned), self.__key)
        return bytes(signed.raw_transaction)

    def sign_message_hash(self, digest: bytes) -> bytes:
        """EIP-191 signature (r || s || v, 65 bytes) over the 32-byte ``digest``."""
        if len(digest) != 32:
            raise InvalidInput("digest", "must be 32 bytes")
        signed: Any = Account.sign_message(encode_defunct(primitive=digest), self.__key)
        return bytes(signed.signature)

    def __repr__(self) -> str:
        return f"EvmSigner({self._address})"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("an EvmSigner holds a private key and cannot be pickled")


_EIP1559_FIELDS: Final = frozenset(
    {
        "type",
        "chainId",
        "nonce",
        "maxPriorityFeePerGas",
        "maxFeePerGas",
        "gas",
        "to",
        "value",
        "data",
    }
)


def _curve_key(key: bytes) -> Any:
    """coincurve's key object for ``key`` (False when coincurve is missing): building one
    derives the public key, which signing each transaction with a fresh one repeated."""
    try:
        import coincurve
    except ImportError:  # pragma: no cover - it comes with eth-account's dependencies
        return False
    return coincurve.PrivateKey(key)


def _sign_1559(tx: Mapping[str, Any], key: bytes, curve_key: Any = None) -> bytes | None:
    """The raw EIP-1559 transaction ``tx`` signed with ``key``, or None for eth-account to
    sign (another shape, an access list, or coincurve missing).

    What ``EvmClient.build_tx`` makes for a London chain, signed directly: the fields RLP
    encoded once, the hash signed by libsecp256k1 (RFC 6979, low s: the very bytes
    eth-account produces, checked by a test) without eth-account's per-field validation.
    """
    if tx.get("type") not in (2, "0x2") or not set(tx) <= _EIP1559_FIELDS:
        return None
    try:
        import coincurve
        from eth_utils.crypto import keccak
    except ImportError:  # pragma: no cover - both come with eth-account's dependencies
        return None
    try:
        to = tx.get("to")
        data = tx.get("data") or b""
        fields: list[Any] = [
            int(tx["chainId"]),
            int(tx["nonce"]),
            int(tx["maxPriorityFeePerGas"]),
            int(tx["maxFeePerGas"]),
            int(tx["gas"]),
            b"" if to is None else bytes.fromhex(str(to)[2:]),
            int(tx.get("value", 0)),
            bytes.fromhex(data[2:]) if isinstance(data, str) else bytes(data),
            [],
        ]
    except (KeyError, TypeError, ValueError):
        return None
    if len(fields[5]) not in (0, 20) or any(isinstance(f, int) and f < 0 for f in fields):
        return None
    digest = keccak(b"\x02" + _rlp(fields))
    signer = curve_key if curve_key else coincurve.PrivateKey(key)
    signature = signer.sign_recoverable(digest, hasher=None)
    r, s, v = signature[:32], signature[32:64], signature[64]
    signed = [*fields, v, int.from_bytes(r, "big"), int.from_bytes(s, "big")]
    return b"\x02" + _rlp(signed)


def _rlp(item: Any) -> bytes:
    """RLP of ``item``: non-negative ints (big-endian, no leading zeros), bytes, lists."""
    if isinstance(item, list):
        body = b"".join(_rlp(x) for x in item)
        return _rlp_length(len(body), 0xC0) + body
    raw = item.to_bytes((item.bit_length() + 7) // 8, "big") if isinstance(item, int) else item
    if len(raw) == 1 and raw[0] < 0x80:
        return bytes(raw)
    return _rlp_length(len(raw), 0x80) + bytes(raw)


def _rlp_length(length: int, offset: int) -> bytes:
    if length < 56:
        return bytes([offset + length])
    size = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([offset + 55 + len(size)]) + size
