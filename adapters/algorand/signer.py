"""A :class:`~bridge.ports.Signer` over one Algorand private key.

The key stays inside the object: ``repr``/``str`` show the address only, the key is not an
attribute a formatter would walk, and it is never logged. Signing uses the SDK's
``AccountTransactionSigner`` (the non-deprecated path).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

from algosdk import account, encoding, mnemonic
from algosdk.atomic_transaction_composer import AccountTransactionSigner

from bridge.errors import InvalidInput

__all__ = ["AlgorandSigner"]


class AlgorandSigner:
    """Signs Algorand transactions for one account; the key is never shown."""

    __slots__ = ("__key", "_address")

    def __init__(self, private_key: str) -> None:
        try:
            address = str(account.address_from_private_key(private_key))  # type: ignore[no-untyped-call]
        except Exception as exc:  # the SDK raises binascii / nacl errors for bad keys
            raise InvalidInput(
                "private_key", "not an Algorand private key (base64, 64 bytes)"
            ) from exc
        self.__key = private_key
        self._address = address

    @classmethod
    def generate(cls) -> AlgorandSigner:
        """A signer for a fresh random account."""
        key, _ = account.generate_account()  # type: ignore[no-untyped-call]
        return cls(str(key))

    @classmethod
    def from_mnemonic(cls, words: str) -> AlgorandSigner:
        """A signer from a 25-word Algorand mnemonic."""
        try:
            key = mnemonic.to_private_key(words)  # type: ignore[no-untyped-call]
        except Exception as exc:
            raise InvalidInput("mnemonic", "not a valid 25-word Algorand mnemonic") from exc
        return cls(str(key))

    @property
    def address(self) -> str:
        """The account this signer signs for."""
        return self._address

    def sign_many(self, transactions: Sequence[Any]) -> list[Any]:
        """Sign SDK transactions; return SDK ``SignedTransaction`` objects."""
        signer = AccountTransactionSigner(self.__key)
        return list(signer.sign_transactions(list(transactions), list(range(len(transactions)))))

    def sign(self, unsigned: object) -> bytes:
        """Sign one SDK ``Transaction``; return the signed transaction's msgpack bytes."""
        (signed,) = self.sign_many([unsigned])
        return base64.b64decode(encoding.msgpack_encode(signed))  # type: ignore[no-untyped-call]

    def __repr__(self) -> str:
        return f"AlgorandSigner({self._address})"

    __str__ = __repr__

    def __reduce__(self) -> tuple[Any, ...]:
        raise TypeError("an AlgorandSigner is not serialisable (it holds a private key)")
