"""Several groups evaluated as one round (:meth:`EmbeddedLedger.submit_batch`), on the real
evaluator: the same state as one group per round, a failing group refused alone, replays
refused, and one run of the binary for a batch that passes."""

from __future__ import annotations

from typing import Any

import pytest
from algosdk import encoding, logic, transaction

from adapters.algorand.ledger import (
    MIN_FEE,
    EmbeddedLedger,
    EvaluationRejected,
    GroupResult,
)
from bridge.reasons import ReasonCode
from tests.fixtures.algorand import FUNDED_MICROALGOS, AlgoTestAccount, new_account
from tests.integration.algorand.programs import (
    axfer,
    call_probe,
    create_asa,
    create_probe,
    pay,
)

pytestmark = pytest.mark.timeout(180)

FEE_SINK = encoding.encode_address(  # type: ignore[no-untyped-call]
    bytes.fromhex("bc43677cb44fdae0fa6e585a462de7311bf7d9d26b67441b5fe0dc02db3ceef6")
)
"""The fee sink of the evaluator's genesis: every fee of the workload goes there."""


def _workload(
    ledger: EmbeddedLedger, accounts: tuple[AlgoTestAccount, ...]
) -> tuple[list[list[Any]], set[str], int]:
    """Groups of every kind the relayer sends (payments, an atomic pair, an opt-in, an asset
    transfer, a box write, an inner payment, a clock read), built against the current
    state; the addresses they touch; the probe app's id."""
    issuer, alice, bob, carol = accounts[:4]
    asset = create_asa(ledger, issuer)
    app = create_probe(ledger, alice, fund=1_000_000)
    newcomer = new_account()
    params = ledger.suggested_params()
    one = transaction.PaymentTxn(alice.address, params, bob.address, 11_000)  # type: ignore[no-untyped-call]
    two = transaction.PaymentTxn(bob.address, params, carol.address, 22_000)  # type: ignore[no-untyped-call]
    transaction.assign_group_id([one, two])  # type: ignore[no-untyped-call]
    groups: list[list[Any]] = [
        [pay(ledger, alice, newcomer.address, 300_000)],
        [alice.sign(one), bob.sign(two)],
        [carol.sign(transaction.AssetOptInTxn(carol.address, params, asset))],  # type: ignore[no-untyped-call]
        [axfer(ledger, issuer, carol.address, 4_321, asset)],
        [call_probe(ledger, bob, app, b"box", b"k", b"batched", boxes=[(app, b"k")])],
        [
            call_probe(
                ledger,
                carol,
                app,
                b"pay",
                (7_000).to_bytes(8, "big"),
                accounts=[newcomer.address],
                fee=2 * MIN_FEE,
            )
        ],
        [call_probe(ledger, alice, app, b"clock")],
        [pay(ledger, newcomer, bob.address, 50_000)],
    ]
    touched = {a.address for a in accounts[:4]} | {
        newcomer.address,
        logic.get_application_address(app),
        FEE_SINK,
    }
    return groups, touched, app


def _state(ledger: EmbeddedLedger, touched: set[str], app: int) -> dict[str, Any]:
    """Everything the workload can change, minus what depends on the round or the time:
    the probe's ``round`` and ``ts`` global keys (written by its ``clock`` action)."""
    out: dict[str, Any] = {address: ledger.account_data(address) for address in touched}
    creator, _ = ledger.app_params(app)
    params = dict(out[creator]["appp"][app])
    params["gs"] = {k: v for k, v in params["gs"].items() if k not in (b"round", b"ts")}
    out[creator] = {**out[creator], "appp": {**out[creator]["appp"], app: params}}
    out["boxes"] = {name: ledger.box(app, name) for name in ledger.box_names(app)}
    out["txn_counter"] = ledger.block(ledger.last_round).txn_counter
    return out


def test_a_batch_ends_in_the_state_of_the_same_groups_one_per_round(
    algo_ledger: EmbeddedLedger,
    algo_accounts: tuple[AlgoTestAccount, ...],
    binary_runs: list[tuple[str, ...]],
) -> None:
    groups, touched, app = _workload(algo_ledger, algo_accounts)
    before = algo_ledger.snapshot()
    start = algo_ledger.last_round

    for group in groups:
        algo_ledger.submit(group)
    one_by_one = _state(algo_ledger, touched, app)
    assert algo_ledger.last_round == start + len(groups)

    algo_ledger.restore(before)
    runs_before = len(binary_runs)
    outcomes = algo_ledger.submit_batch(groups)
    assert len(binary_runs) - runs_before == 1  # reporters included: one run for the batch
    batched = _state(algo_ledger, touched, app)

    assert all(isinstance(o, GroupResult) for o in outcomes)
    assert {o.round for o in outcomes if isinstance(o, GroupResult)} == {start + 1}
    assert algo_ledger.last_round == start + 1
    assert batched == one_by_one
    assert algo_ledger.global_state(app)[b"round"] == start + 1
    # the block lists every transaction, in order, with offsets counted across groups
    block_ids = [t for o in outcomes if isinstance(o, GroupResult) for t in o.tx_ids]
    assert list(algo_ledger.block(start + 1).tx_ids) == block_ids
    offsets = [r.intra_round_offset for o in outcomes if isinstance(o, GroupResult) for r in o.txns]
    assert offsets == list(range(len(block_ids)))
    assert all(algo_ledger.confirmed(t).confirmed_round == start + 1 for t in block_ids)


def test_a_failing_group_is_refused_alone_and_the_others_land_in_one_round(
    algo_ledger: EmbeddedLedger, algo_accounts: tuple[AlgoTestAccount, ...]
) -> None:
    alice, bob, carol = algo_accounts[:3]
    start = algo_ledger.last_round
    good_first = [pay(algo_ledger, alice, bob.address, 1_000)]
    overspend = [pay(algo_ledger, carol, bob.address, 10 * FUNDED_MICROALGOS)]
    good_last = [pay(algo_ledger, bob, alice.address, 2_000)]

    outcomes = algo_ledger.submit_batch([good_first, overspend, good_last])

    refused = outcomes[1]
    assert isinstance(refused, EvaluationRejected)
    assert "overspend" in (refused.raw_message or "")
    assert refused.reason == ReasonCode.INSUFFICIENT_BALANCE
    assert refused.tx_id == overspend[0].get_txid()
    assert [o.round for o in outcomes if isinstance(o, GroupResult)] == [start + 1, start + 1]
    assert algo_ledger.last_round == start + 1
    assert algo_ledger.balance(alice.address) == FUNDED_MICROALGOS - 1_000 - MIN_FEE + 2_000
    assert algo_ledger.balance(bob.address) == FUNDED_MICROALGOS + 1_000 - 2_000 - MIN_FEE
    assert algo_ledger.balance(carol.address) == FUNDED_MICROALGOS
    assert not algo_ledger.is_confirmed(overspend[0].get_txid())


def test_a_group_failing_without_a_named_transaction_is_found_by_bisection(
    algo_ledger: EmbeddedLedger, algo_accounts: tuple[AlgoTestAccount, ...]
) -> None:
    """The evaluator's fee-pooling refusal names no transaction: the batch is bisected."""
    alice, bob, carol = algo_accounts[:3]
    start = algo_ledger.last_round
    goods = [[pay(algo_ledger, alice, bob.address, n)] for n in range(1, 6)]
    free = algo_ledger.suggested_params()
    free.fee = 0
    unpaid = [carol.sign(transaction.PaymentTxn(carol.address, free, bob.address, 9))]  # type: ignore[no-untyped-call]
    batch = [*goods[:3], unpaid, *goods[3:]]

    outcomes = algo_ledger.submit_batch(batch)

    refused = outcomes[3]
    assert isinstance(refused, EvaluationRejected)
    assert "in fees, which is less than the minimum" in (refused.raw_message or "")
    landed = [o for i, o in enumerate(outcomes) if i != 3]
    assert all(isinstance(o, GroupResult) and o.round == start + 1 for o in landed)
    assert algo_ledger.balance(bob.address) == FUNDED_MICROALGOS + sum(range(1, 6))
    assert algo_ledger.balance(carol.address) == FUNDED_MICROALGOS


def test_a_group_that_needed_a_refused_group_is_refused_too(
    algo_ledger: EmbeddedLedger, algo_accounts: tuple[AlgoTestAccount, ...]
) -> None:
    """Groups depend on earlier ones in the round: refusing one can refuse a later one."""
    alice, bob = algo_accounts[:2]
    newcomer = new_account()
    params = algo_ledger.suggested_params()
    params.fee = 0  # the funding group pays no fee: refused
    unfunded = [
        alice.sign(transaction.PaymentTxn(alice.address, params, newcomer.address, 500_000))
    ]  # type: ignore[no-untyped-call]
    spend = [pay(algo_ledger, newcomer, bob.address, 100_000)]
    other = [pay(algo_ledger, bob, alice.address, 3)]

    outcomes = algo_ledger.submit_batch([unfunded, spend, other])

    assert isinstance(outcomes[0], EvaluationRejected)
    assert isinstance(outcomes[1], EvaluationRejected)
    assert "overspend" in (outcomes[1].raw_message or "")
    assert isinstance(outcomes[2], GroupResult)
    assert algo_ledger.balance(newcomer.address) == 0


def test_replays_in_a_batch_are_refused(
    algo_ledger: EmbeddedLedger,
    algo_accounts: tuple[AlgoTestAccount, ...],
    binary_runs: list[tuple[str, ...]],
) -> None:
    alice, bob = algo_accounts[:2]
    landed = [pay(algo_ledger, alice, bob.address, 5)]
    algo_ledger.submit(landed)
    fresh = [pay(algo_ledger, alice, bob.address, 6)]
    runs_before = len(binary_runs)

    outcomes = algo_ledger.submit_batch([landed, fresh, fresh])

    assert len(binary_runs) - runs_before == 1  # refused at admission: nothing re-run
    for refused, group in ((outcomes[0], landed), (outcomes[2], fresh)):
        assert isinstance(refused, EvaluationRejected)
        assert "transaction already in ledger" in (refused.raw_message or "")
        assert refused.tx_id == group[0].get_txid()
    assert isinstance(outcomes[1], GroupResult)
    assert algo_ledger.balance(bob.address) == FUNDED_MICROALGOS + 5 + 6


def test_admission_in_a_batch_honours_leases_and_validity_windows(
    algo_ledger: EmbeddedLedger, algo_accounts: tuple[AlgoTestAccount, ...]
) -> None:
    alice, bob = algo_accounts[:2]
    lease = b"B" * 32
    params = algo_ledger.suggested_params(validity=5)
    leased = [
        alice.sign(transaction.PaymentTxn(alice.address, params, bob.address, 1, lease=lease))
    ]  # type: ignore[no-untyped-call]
    same_lease = [
        alice.sign(transaction.PaymentTxn(alice.address, params, bob.address, 2, lease=lease))
    ]  # type: ignore[no-untyped-call]
    late = algo_ledger.suggested_params()
    late.first = algo_ledger.last_round + 4
    not_yet = [alice.sign(transaction.PaymentTxn(alice.address, late, bob.address, 3))]  # type: ignore[no-untyped-call]

    outcomes = algo_ledger.submit_batch([leased, same_lease, not_yet])

    assert isinstance(outcomes[0], GroupResult)
    assert isinstance(outcomes[1], EvaluationRejected)
    assert "overlapping lease" in str(outcomes[1].raw_message)
    assert isinstance(outcomes[2], EvaluationRejected)
    assert "txn dead" in str(outcomes[2].raw_message)
    assert algo_ledger.balance(bob.address) == FUNDED_MICROALGOS + 1


def test_an_empty_or_wholly_refused_batch_makes_no_block(
    algo_ledger: EmbeddedLedger, algo_accounts: tuple[AlgoTestAccount, ...]
) -> None:
    alice, bob = algo_accounts[:2]
    start = algo_ledger.last_round
    assert algo_ledger.submit_batch([]) == []
    outcomes = algo_ledger.submit_batch(
        [[pay(algo_ledger, bob, alice.address, 10 * FUNDED_MICROALGOS)]]
    )
    assert isinstance(outcomes[0], EvaluationRejected)
    assert algo_ledger.last_round == start
