"""The embedded algod facade's opt-in pool, on the real evaluator: held sends are admitted
and queued (pending, no ``confirmed-round``), a flush evaluates them as one round, a
refused group shows its ``pool-error``, and nothing changes outside the held mode."""

from __future__ import annotations

from typing import Any

import pytest
from algosdk import error, transaction

from adapters.algorand.algod import EmbeddedAlgodClient
from adapters.algorand.chain import AlgodChain
from adapters.algorand.ledger import MIN_FEE, EmbeddedLedger
from bridge.errors import NotFound, TransactionReverted
from bridge.reasons import ReasonCode
from tests.fixtures.algorand import FUNDED_MICROALGOS, AlgoTestAccount
from tests.integration.algorand.programs import pay

pytestmark = pytest.mark.timeout(120)


def _pending(client: EmbeddedAlgodClient, tx_id: str) -> dict[str, Any]:
    info = client.pending_transaction_info(tx_id)
    assert isinstance(info, dict)
    return info


def test_held_sends_wait_in_the_pool_and_land_in_one_round_at_the_flush(
    algod_client: EmbeddedAlgodClient,
    algo_ledger: EmbeddedLedger,
    algo_accounts: tuple[AlgoTestAccount, ...],
    binary_runs: list[tuple[str, ...]],
) -> None:
    alice, bob, carol = algo_accounts[:3]
    start = algo_ledger.last_round
    signed = [
        pay(algo_ledger, alice, bob.address, 1_000),
        pay(algo_ledger, bob, carol.address, 2_000),
        pay(algo_ledger, carol, alice.address, 3_000),
    ]
    assert algod_client.hold_sends() is True

    ids = [algod_client.send_transaction(s) for s in signed]

    assert ids == [s.get_txid() for s in signed]
    assert algod_client.held_sends == tuple(ids)
    assert binary_runs == []  # admitted, not evaluated
    assert algo_ledger.last_round == start
    assert algo_ledger.balance(bob.address) == FUNDED_MICROALGOS
    for tx_id in ids:
        info = _pending(algod_client, tx_id)
        assert "confirmed-round" not in info
        assert info["pool-error"] == ""
        assert info["txn"]["txn"]["snd"] in (alice.address, bob.address, carol.address)
    listed = algod_client.pending_transactions()
    assert isinstance(listed, dict)
    assert listed["total-transactions"] == 3

    assert algod_client.flush_sends() == []

    assert len(binary_runs) == 1
    assert algo_ledger.last_round == start + 1
    for tx_id in ids:
        assert _pending(algod_client, tx_id)["confirmed-round"] == start + 1
    assert algo_ledger.balance(alice.address) == FUNDED_MICROALGOS - 1_000 - MIN_FEE + 3_000
    assert algod_client.held_sends == ()
    # no longer held: a send is evaluated and confirmed at once, as before
    later = algod_client.send_transaction(pay(algo_ledger, alice, bob.address, 7))
    assert _pending(algod_client, later)["confirmed-round"] == start + 2
    assert len(binary_runs) == 2


def test_a_group_refused_at_the_flush_shows_its_pool_error_and_the_others_land(
    algod_client: EmbeddedAlgodClient,
    algo_ledger: EmbeddedLedger,
    algo_accounts: tuple[AlgoTestAccount, ...],
) -> None:
    alice, bob, carol = algo_accounts[:3]
    start = algo_ledger.last_round
    good = pay(algo_ledger, alice, bob.address, 1_000)
    overspend = pay(algo_ledger, carol, bob.address, 10 * FUNDED_MICROALGOS)
    other = pay(algo_ledger, bob, alice.address, 5)
    algod_client.hold_sends()
    for signed in (good, overspend, other):
        algod_client.send_transaction(signed)

    refusals = algod_client.flush_sends()

    assert [r.tx_id for r in refusals] == [overspend.get_txid()]
    assert "overspend" in (refusals[0].error.raw_message or "")
    info = _pending(algod_client, overspend.get_txid())
    assert "overspend" in info["pool-error"]
    assert "confirmed-round" not in info
    chain = AlgodChain(algod_client)
    with pytest.raises(TransactionReverted) as refused:
        chain.wait(overspend.get_txid())
    assert refused.value.reason == ReasonCode.INSUFFICIENT_BALANCE
    assert chain.wait(good.get_txid()).height == start + 1
    assert chain.wait(other.get_txid()).height == start + 1
    assert algo_ledger.balance(carol.address) == FUNDED_MICROALGOS


def test_the_pool_admits_as_algod_does(
    algod_client: EmbeddedAlgodClient,
    algo_ledger: EmbeddedLedger,
    algo_accounts: tuple[AlgoTestAccount, ...],
) -> None:
    """Replays, a transaction already queued in another group, an overlapping lease and a
    dead validity window are refused at the send; the same group sent again is queued once."""
    alice, bob = algo_accounts[:2]
    landed = pay(algo_ledger, alice, bob.address, 1)
    algod_client.send_transaction(landed)
    algod_client.hold_sends()

    with pytest.raises(error.AlgodHTTPError, match="already in ledger") as replay:
        algod_client.send_transaction(landed)
    assert replay.value.code == 400

    queued = pay(algo_ledger, alice, bob.address, 2)
    assert algod_client.send_transaction(queued) == queued.get_txid()
    assert algod_client.send_transaction(queued) == queued.get_txid()  # again: queued once
    assert algod_client.held_sends == (queued.get_txid(),)

    params = algo_ledger.suggested_params()
    lease = b"P" * 32
    first = alice.sign(transaction.PaymentTxn(alice.address, params, bob.address, 4, lease=lease))  # type: ignore[no-untyped-call]
    second = alice.sign(transaction.PaymentTxn(alice.address, params, bob.address, 5, lease=lease))  # type: ignore[no-untyped-call]
    algod_client.send_transaction(first)
    with pytest.raises(error.AlgodHTTPError, match="overlapping lease"):
        algod_client.send_transaction(second)

    late = algo_ledger.suggested_params()
    late.first = algo_ledger.last_round + 3
    with pytest.raises(error.AlgodHTTPError, match="txn dead"):
        algod_client.send_transaction(
            alice.sign(transaction.PaymentTxn(alice.address, late, bob.address, 6))  # type: ignore[no-untyped-call]
        )

    assert algod_client.flush_sends() == []
    assert algo_ledger.balance(bob.address) == FUNDED_MICROALGOS + 1 + 2 + 4


def test_a_group_sent_again_while_it_waits_is_queued_once(
    algod_client: EmbeddedAlgodClient,
    algo_ledger: EmbeddedLedger,
    algo_accounts: tuple[AlgoTestAccount, ...],
    binary_runs: list[tuple[str, ...]],
) -> None:
    """What a relayer restarted before the flush does: it sends its kept group again."""
    alice, bob = algo_accounts[:2]
    params = algo_ledger.suggested_params()
    one = transaction.PaymentTxn(alice.address, params, bob.address, 10)  # type: ignore[no-untyped-call]
    two = transaction.PaymentTxn(bob.address, params, alice.address, 20)  # type: ignore[no-untyped-call]
    transaction.assign_group_id([one, two])  # type: ignore[no-untyped-call]
    group = [alice.sign(one), bob.sign(two)]
    algod_client.hold_sends()
    assert algod_client.send_transactions(group) == one.get_txid()  # type: ignore[no-untyped-call]
    assert algod_client.send_transactions(group) == one.get_txid()  # type: ignore[no-untyped-call]
    assert algod_client.held_sends == (one.get_txid(), two.get_txid())  # type: ignore[no-untyped-call]
    assert algod_client.flush_sends() == []
    assert len(binary_runs) == 1
    assert algo_ledger.balance(bob.address) == FUNDED_MICROALGOS + 10 - 20 - MIN_FEE


def test_drain_evaluates_the_queue_and_keeps_holding(
    algod_client: EmbeddedAlgodClient,
    algo_ledger: EmbeddedLedger,
    algo_accounts: tuple[AlgoTestAccount, ...],
) -> None:
    alice, bob = algo_accounts[:2]
    start = algo_ledger.last_round
    algod_client.hold_sends()
    algod_client.send_transaction(pay(algo_ledger, alice, bob.address, 1))
    assert algod_client.held_age > 0.0
    assert algod_client.drain_sends() == []
    assert algo_ledger.last_round == start + 1
    assert algod_client.held_age == 0.0
    held = algod_client.send_transaction(pay(algo_ledger, alice, bob.address, 2))
    assert "confirmed-round" not in _pending(algod_client, held)
    assert algod_client.flush_sends() == []
    assert _pending(algod_client, held)["confirmed-round"] == start + 2
    with pytest.raises(NotFound):
        AlgodChain(algod_client).pending_info("A" * 52)


def test_an_unconfirmed_transaction_is_shown_in_algod_s_json_shape(
    algod_client: EmbeddedAlgodClient,
    algo_ledger: EmbeddedLedger,
    algo_accounts: tuple[AlgoTestAccount, ...],
) -> None:
    """The ``txn`` of a transaction not in a block (queued in the pool, or refused by a
    simulation) has algod's field names and base32 addresses, as a confirmed one has. Before,
    a refused simulation's ``txn`` carried the raw msgpack keys (``"b'snd'"``)."""
    alice, bob = algo_accounts[:2]
    overspend = pay(algo_ledger, alice, bob.address, 10 * FUNDED_MICROALGOS)
    answer = algod_client.simulate_raw_transactions([overspend])
    assert isinstance(answer, dict)
    (group,) = answer["txn-groups"]
    assert "overspend" in group["failure-message"]
    shown = group["txn-results"][0]["txn-result"]["txn"]["txn"]
    assert shown["snd"] == alice.address
    assert shown["rcv"] == bob.address
    assert shown["type"] == "pay"
    algod_client.hold_sends()
    queued = algod_client.send_transaction(pay(algo_ledger, alice, bob.address, 1))
    assert _pending(algod_client, queued)["txn"]["txn"]["amt"] == 1
    algod_client.flush_sends()
