"""``relayer.service._sent_by``: what the nonce-gap check reads of a kept transaction."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from eth_utils.crypto import keccak

from adapters.evm.signer import EvmSigner
from bridge.swap import Role
from relayer.sealing import SealingKey
from relayer.service import RelayerService, SwapJournal, _sent_by
from relayer.store import SqliteStore
from tests.integration.test_store import swap_terms

_PAYMENT = {"to": "0x" + "11" * 20, "value": 1, "data": "0x", "gas": 21_000, "nonce": 7}
"""A plain payment; each test adds its fee fields (typed, or legacy) and chain id."""


def test_a_typed_transaction_gives_its_sender_nonce_and_chain() -> None:
    """An EIP-1559 transaction (the relayer's own on a chain with a base fee): its sender is
    recovered from the signature, with its nonce and chain id."""
    signer = EvmSigner.generate()
    typed = {"maxFeePerGas": 3 * 10**9, "maxPriorityFeePerGas": 10**9, "type": 2}
    raw = signer.sign(_PAYMENT | typed | {"chainId": 31_337})
    assert _sent_by(raw) == (signer.address.lower(), 7, 31_337)


def test_a_kept_transaction_is_decoded_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The signer of each kept transaction is recovered once however often the nonce-gap
    check looks at it (an elliptic-curve recovery each time was 7 % of a busy wave's CPU)."""
    from eth_account import Account

    recovered: list[bytes] = []
    original = Account.recover_transaction

    def counted(raw: bytes) -> str:
        recovered.append(raw)
        return str(original(raw))

    monkeypatch.setattr(Account, "recover_transaction", counted)
    signer = EvmSigner.generate()
    typed = {"maxFeePerGas": 3 * 10**9, "maxPriorityFeePerGas": 10**9, "type": 2}
    raw = signer.sign(_PAYMENT | typed | {"chainId": 31_338, "nonce": 8})
    answers = {_sent_by(raw) for _ in range(5)}
    assert answers == {(signer.address.lower(), 8, 31_338)}
    assert recovered == [raw]


def test_a_legacy_transaction_is_refused_as_such() -> None:
    """A legacy transaction (ibet's Berlin chain has no base fee) is not decoded: the check
    leaves it alone instead of failing the swap's tick."""
    signer = EvmSigner.generate()
    raw = signer.sign(_PAYMENT | {"chainId": 2_017, "gasPrice": 0})
    with pytest.raises(ValueError, match="not a typed transaction"):
        _sent_by(raw)


def test_a_pending_legacy_transaction_leaves_the_tick_alone(tmp_path: Path) -> None:
    """The relayer's nonce-gap check (``RelayerService._fill_nonce_gap``) on a pending
    legacy transaction kept by the swap returns without asking anything, at every answer
    "pending": before, it raised, and the swap's tick failed each time its transaction was
    still pending."""
    store = SqliteStore(tmp_path / "relayer.sqlite3")
    terms = swap_terms()
    store.create(terms)
    key = SealingKey.generate()
    raw = EvmSigner.generate().sign(_PAYMENT | {"chainId": 2_017, "gasPrice": 0})
    SwapJournal(store, terms.swap_id, key).keep("lock", raw)
    tx_id = "0x" + keccak(raw).hex()
    relayer = SimpleNamespace(_pending_answers={}, store=store, _key=key)
    runtime = SimpleNamespace(htlc=SimpleNamespace(client=object()))  # asked nothing
    for _ in range(6):
        RelayerService._fill_nonce_gap(
            relayer,  # type: ignore[arg-type]
            terms.swap_id,
            None,  # type: ignore[arg-type]
            Role.INITIATOR,
            "lock",
            runtime,  # type: ignore[arg-type]
            tx_id,
        )
    assert relayer._pending_answers == {tx_id: 6}
    store.close()
