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
from typing import Any, NoReturn

from eth_account import Account
from eth_account.messages import encode_defunct

from bridge.errors import InvalidInput

__all__ = ["EvmSigner"]


class EvmSigner:
    """Signs EVM transactions and messages for one address."""

    __slots__ = ("__key", "_address")

    def __init__(self, private_key: bytes) -> None:
        if len(private_key) != 32:
            raise InvalidInput("private_key", "must be 32 bytes")
        try:
            account = Account.from_key(private_key)
        except Exception as exc:
            raise InvalidInput("private_key", "not a valid secp256k1 key") from exc
        self.__key = private_key
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
