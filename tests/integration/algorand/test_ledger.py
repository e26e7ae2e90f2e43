"""The embedded ledger on the real evaluator: payments, ASAs, apps, groups, rounds, time."""

from __future__ import annotations

import pytest
from algosdk import logic, transaction

from adapters.algorand.ledger import (
    MIN_BALANCE,
    MIN_FEE,
    EmbeddedLedger,
    EvaluationRejected,
)
from bridge.errors import InvalidInput, NotFound
from bridge.reasons import ReasonCode
from tests.fixtures.algorand import FUNDED_MICROALGOS, AlgoTestAccount, new_account
from tests.integration.algorand.programs import (
    axfer,
    call_probe,
    create_asa,
    create_probe,
    freeze,
    opt_in,
    pay,
)

pytestmark = pytest.mark.timeout(120)


def test_payment_moves_algos_and_charges_the_fee(
    algo_ledger: EmbeddedLedger, algo_accounts: tuple[AlgoTestAccount, ...]
) -> None:
    alice, bob = algo_accounts[:2]
    result = algo_ledger.submit([pay(algo_ledger, alice, bob.address, 1_234_567)])
    assert algo_ledger.balance(alice.address) == FUNDED_MICROALGOS - 1_234_567 - MIN_FEE
    assert algo_ledger.balance(bob.address) == FUNDED_MICROALGOS + 1_234_567
    assert result.round == algo_ledger.last_round
    assert algo_ledger.block(result.round).tx_ids == result.tx_ids


def test_rounds_advance_one_per_block_with_increasing_timestamps(
    algo_ledger: EmbeddedLedger, algo_accounts: tuple[AlgoTestAccount, ...]
) -> None:
    alice, bob = algo_accounts[:2]
    start = algo_ledger.last_round
    rounds = [algo_ledger.submit([pay(algo_ledger, alice, bob.address, n)]).round for n in (1, 2)]
    assert rounds == [start + 1, start + 2]
    assert algo_ledger.advance(3) == start + 5
    stamps = [algo_ledger.block(r).timestamp for r in range(start, start + 6)]
    assert stamps == sorted(stamps)
    assert len(set(stamps)) == len(stamps)


def test_jump_time_moves_latest_timestamp_seen_by_applications(
    algo_ledger: EmbeddedLedger, algo_accounts: tuple[AlgoTestAccount, ...]
) -> None:
    alice = algo_accounts[0]
    app = create_probe(algo_ledger, alice)
    before = algo_ledger.latest_timestamp
    after = algo_ledger.jump_time(86_400)
    assert after == before + 86_400
    result = algo_ledger.submit([call_probe(algo_ledger, alice, app, b"clock")])
    state = algo_ledger.global_state(app)
    assert state[b"ts"] == algo_ledger.block(result.round - 1).timestamp >= before + 86_400
    assert state[b"round"] == result.round


def test_asa_create_opt_in_transfer_freeze_and_clawback(
    algo_ledger: EmbeddedLedger, algo_accounts: tuple[AlgoTestAccount, ...]
) -> None:
    issuer, alice, bob = algo_accounts[:3]
    asset = create_asa(algo_ledger, issuer, default_frozen=True)
    creator, params = algo_ledger.asset_params(asset)
    assert creator == issuer.address
    assert params["t"] == 1_000_000
    assert params["df"] is True

    opt_in(algo_ledger, alice, asset)
    opt_in(algo_ledger, bob, asset)
    assert algo_ledger.asset_holding(alice.address, asset) == {"a": 0, "f": True}

    with pytest.raises(EvaluationRejected) as refused:
        algo_ledger.submit([axfer(algo_ledger, issuer, alice.address, 10, asset)])
    assert refused.value.reason == ReasonCode.RECIPIENT_FROZEN

    algo_ledger.submit([freeze(algo_ledger, issuer, alice.address, asset, False)])
    algo_ledger.submit([axfer(algo_ledger, issuer, alice.address, 100, asset)])
    assert algo_ledger.asset_holding(alice.address, asset) == {"a": 100, "f": False}

    algo_ledger.submit([freeze(algo_ledger, issuer, alice.address, asset, True)])
    with pytest.raises(EvaluationRejected) as frozen:
        algo_ledger.submit([axfer(algo_ledger, alice, bob.address, 1, asset)])
    assert frozen.value.reason == ReasonCode.SENDER_FROZEN

    # Clawback moves units out of a frozen holding into a frozen one.
    clawback = axfer(algo_ledger, issuer, bob.address, 40, asset, revocation_target=alice.address)
    algo_ledger.submit([clawback])
    assert algo_ledger.asset_holding(alice.address, asset) == {"a": 60, "f": True}
    assert algo_ledger.asset_holding(bob.address, asset) == {"a": 40, "f": True}


def test_transfer_to_an_account_not_opted_in_is_refused(
    algo_ledger: EmbeddedLedger, algo_accounts: tuple[AlgoTestAccount, ...]
) -> None:
    issuer, alice = algo_accounts[:2]
    asset = create_asa(algo_ledger, issuer)
    with pytest.raises(EvaluationRejected) as refused:
        algo_ledger.submit([axfer(algo_ledger, issuer, alice.address, 1, asset)])
    assert refused.value.reason == ReasonCode.RECIPIENT_NOT_OPTED_IN
    assert algo_ledger.asset_holding(alice.address, asset) is None


def test_app_with_boxes_inner_payment_and_logs(
    algo_ledger: EmbeddedLedger, algo_accounts: tuple[AlgoTestAccount, ...]
) -> None:
    alice, bob = algo_accounts[:2]
    app = create_probe(algo_ledger, alice, fund=1_000_000)
    app_address = logic.get_application_address(app)
    assert algo_ledger.global_state(app) == {b"counter": 7}

    box_call = call_probe(algo_ledger, alice, app, b"box", b"k1", b"hello", boxes=[(app, b"k1")])
    algo_ledger.submit([box_call])
    assert algo_ledger.box(app, b"k1") == b"hello"
    assert algo_ledger.box_names(app) == [b"k1"]
    assert algo_ledger.account_data(app_address)["tbx"] == 1

    inner = call_probe(
        algo_ledger,
        alice,
        app,
        b"pay",
        (25_000).to_bytes(8, "big"),
        accounts=[bob.address],
        fee=2 * MIN_FEE,
    )
    result = algo_ledger.submit([inner])
    record = algo_ledger.confirmed(result.tx_ids[0])
    assert record.logs == [b"paid"]
    assert len(record.inner_txns) == 1
    assert record.inner_txns[0]["txn"]["amt"] == 25_000
    assert algo_ledger.balance(bob.address) == FUNDED_MICROALGOS + 25_000
    assert algo_ledger.balance(app_address) == 1_000_000 - 25_000


def test_app_failure_carries_the_evaluator_message(
    algo_ledger: EmbeddedLedger, algo_accounts: tuple[AlgoTestAccount, ...]
) -> None:
    alice = algo_accounts[0]
    app = create_probe(algo_ledger, alice)
    call = call_probe(algo_ledger, alice, app, b"fail")
    with pytest.raises(EvaluationRejected) as refused:
        algo_ledger.submit([call])
    assert "assert failed" in (refused.value.raw_message or "")
    assert refused.value.tx_id == call.get_txid()


def test_group_is_all_or_nothing(
    algo_ledger: EmbeddedLedger, algo_accounts: tuple[AlgoTestAccount, ...]
) -> None:
    alice, bob = algo_accounts[:2]
    params = algo_ledger.suggested_params()
    good = transaction.PaymentTxn(alice.address, params, bob.address, 1_000)  # type: ignore[no-untyped-call]
    bad = transaction.PaymentTxn(bob.address, params, alice.address, 10 * FUNDED_MICROALGOS)  # type: ignore[no-untyped-call]
    transaction.assign_group_id([good, bad])  # type: ignore[no-untyped-call]
    round_before = algo_ledger.last_round
    with pytest.raises(EvaluationRejected) as refused:
        algo_ledger.submit([alice.sign(good), bob.sign(bad)])
    assert refused.value.reason == ReasonCode.INSUFFICIENT_BALANCE
    assert algo_ledger.balance(alice.address) == FUNDED_MICROALGOS
    assert algo_ledger.balance(bob.address) == FUNDED_MICROALGOS
    assert algo_ledger.last_round == round_before
    assert not algo_ledger.is_confirmed(good.get_txid())  # type: ignore[no-untyped-call]


def test_confirmed_transactions_are_queryable_with_apply_data(
    algo_ledger: EmbeddedLedger, algo_accounts: tuple[AlgoTestAccount, ...]
) -> None:
    alice = algo_accounts[0]
    asset = create_asa(algo_ledger, alice)
    app = create_probe(algo_ledger, alice, fund=0)
    asset_txn = algo_ledger.confirmed(algo_ledger.block(algo_ledger.last_round - 1).tx_ids[0])
    app_txn = algo_ledger.confirmed(algo_ledger.block(algo_ledger.last_round).tx_ids[0])
    assert asset_txn.asset_index == asset
    assert asset_txn.txn["type"] == b"acfg"
    assert app_txn.application_index == app
    assert app_txn.confirmed_round == algo_ledger.last_round
    with pytest.raises(NotFound):
        algo_ledger.confirmed("A" * 52)


def test_fee_below_minimum_is_refused(
    algo_ledger: EmbeddedLedger, algo_accounts: tuple[AlgoTestAccount, ...]
) -> None:
    alice, bob = algo_accounts[:2]
    params = algo_ledger.suggested_params()
    params.fee = MIN_FEE - 1
    txn = transaction.PaymentTxn(alice.address, params, bob.address, 1)  # type: ignore[no-untyped-call]
    with pytest.raises(EvaluationRejected, match="less than the minimum"):
        algo_ledger.submit([alice.sign(txn)])


def test_minimum_balance_is_enforced(
    algo_ledger: EmbeddedLedger, algo_accounts: tuple[AlgoTestAccount, ...]
) -> None:
    alice = algo_accounts[0]
    newcomer = new_account()
    with pytest.raises(EvaluationRejected, match="below min 100000"):
        algo_ledger.submit([pay(algo_ledger, alice, newcomer.address, MIN_BALANCE - 1)])
    algo_ledger.submit([pay(algo_ledger, alice, newcomer.address, MIN_BALANCE)])
    # Spending anything (the fee) now leaves the newcomer below its minimum.
    with pytest.raises(EvaluationRejected, match="below min"):
        algo_ledger.submit([pay(algo_ledger, newcomer, alice.address, 0)])
    assert algo_ledger.min_balance(newcomer.address) == MIN_BALANCE


def test_opt_in_raises_the_minimum_balance(
    algo_ledger: EmbeddedLedger, algo_accounts: tuple[AlgoTestAccount, ...]
) -> None:
    issuer = algo_accounts[0]
    asset = create_asa(algo_ledger, issuer)
    holder = new_account()
    algo_ledger.fund(holder.address, MIN_BALANCE + MIN_FEE)
    with pytest.raises(EvaluationRejected, match="below min 200000"):
        opt_in(algo_ledger, holder, asset)
    algo_ledger.fund(holder.address, MIN_BALANCE)
    opt_in(algo_ledger, holder, asset)
    assert algo_ledger.min_balance(holder.address) == 2 * MIN_BALANCE


def test_replay_is_refused(
    algo_ledger: EmbeddedLedger, algo_accounts: tuple[AlgoTestAccount, ...]
) -> None:
    alice, bob = algo_accounts[:2]
    signed = pay(algo_ledger, alice, bob.address, 5)
    algo_ledger.submit([signed])
    with pytest.raises(EvaluationRejected, match="already in ledger"):
        algo_ledger.submit([signed])
    assert algo_ledger.balance(bob.address) == FUNDED_MICROALGOS + 5


@pytest.mark.parametrize(("first_delta", "last_delta"), [(5, 10), (-20, -2)])
def test_validity_window_is_honoured(
    algo_ledger: EmbeddedLedger,
    algo_accounts: tuple[AlgoTestAccount, ...],
    first_delta: int,
    last_delta: int,
) -> None:
    alice, bob = algo_accounts[:2]
    algo_ledger.advance(30)
    params = algo_ledger.suggested_params()
    params.first = algo_ledger.last_round + first_delta
    params.last = algo_ledger.last_round + last_delta
    txn = transaction.PaymentTxn(alice.address, params, bob.address, 1)  # type: ignore[no-untyped-call]
    with pytest.raises(EvaluationRejected, match="txn dead"):
        algo_ledger.submit([alice.sign(txn)])


def test_transaction_becomes_valid_when_its_first_round_arrives(
    algo_ledger: EmbeddedLedger, algo_accounts: tuple[AlgoTestAccount, ...]
) -> None:
    alice, bob = algo_accounts[:2]
    params = algo_ledger.suggested_params()
    params.first = algo_ledger.last_round + 3
    params.last = params.first + 10
    signed = alice.sign(transaction.PaymentTxn(alice.address, params, bob.address, 1))  # type: ignore[no-untyped-call]
    with pytest.raises(EvaluationRejected, match="txn dead"):
        algo_ledger.submit([signed])
    algo_ledger.advance(2)
    assert algo_ledger.submit([signed]).round == params.first


def test_lease_blocks_a_second_transaction_until_it_expires(
    algo_ledger: EmbeddedLedger, algo_accounts: tuple[AlgoTestAccount, ...]
) -> None:
    alice, bob = algo_accounts[:2]
    lease = b"L" * 32
    params = algo_ledger.suggested_params(validity=3)
    first = alice.sign(transaction.PaymentTxn(alice.address, params, bob.address, 1, lease=lease))  # type: ignore[no-untyped-call]
    second = alice.sign(transaction.PaymentTxn(alice.address, params, bob.address, 2, lease=lease))  # type: ignore[no-untyped-call]
    algo_ledger.submit([first])
    with pytest.raises(EvaluationRejected, match="overlapping lease"):
        algo_ledger.submit([second])


def test_dry_run_evaluates_without_committing(
    algo_ledger: EmbeddedLedger, algo_accounts: tuple[AlgoTestAccount, ...]
) -> None:
    alice, bob = algo_accounts[:2]
    signed = pay(algo_ledger, alice, bob.address, 777)
    round_before = algo_ledger.last_round
    preview = algo_ledger.dry_run([signed])
    assert preview.round == round_before + 1
    assert preview.txns[0].txn["amt"] == 777
    assert algo_ledger.last_round == round_before
    assert algo_ledger.balance(bob.address) == FUNDED_MICROALGOS
    with pytest.raises(EvaluationRejected, match="overspend"):
        algo_ledger.dry_run([pay(algo_ledger, alice, bob.address, 10 * FUNDED_MICROALGOS)])
    assert algo_ledger.submit([signed]).round == round_before + 1


def test_snapshot_and_restore(
    algo_ledger: EmbeddedLedger, algo_accounts: tuple[AlgoTestAccount, ...]
) -> None:
    alice, bob = algo_accounts[:2]
    saved = algo_ledger.snapshot()
    signed = pay(algo_ledger, alice, bob.address, 99)
    algo_ledger.submit([signed])
    algo_ledger.restore(saved)
    assert algo_ledger.balance(bob.address) == FUNDED_MICROALGOS
    assert not algo_ledger.is_confirmed(signed.get_txid())
    assert algo_ledger.submit([signed]).tx_ids == (signed.get_txid(),)


def test_fund_validates_its_input(algo_ledger: EmbeddedLedger) -> None:
    with pytest.raises(InvalidInput, match="address"):
        algo_ledger.fund("NOT-AN-ADDRESS", 1)
    with pytest.raises(InvalidInput, match="2\\^64-1"):
        algo_ledger.fund(new_account().address, 2**64)
    with pytest.raises(InvalidInput, match="microalgos"):
        algo_ledger.fund(new_account().address, -1)


def test_unsigned_and_ungrouped_submissions_are_refused(
    algo_ledger: EmbeddedLedger, algo_accounts: tuple[AlgoTestAccount, ...]
) -> None:
    alice, bob = algo_accounts[:2]
    unsigned = transaction.PaymentTxn(alice.address, algo_ledger.suggested_params(), bob.address, 1)  # type: ignore[no-untyped-call]
    with pytest.raises(InvalidInput, match="must be signed"):
        algo_ledger.submit([unsigned])
    loose = [pay(algo_ledger, alice, bob.address, 1), pay(algo_ledger, alice, bob.address, 2)]
    with pytest.raises(EvaluationRejected, match="one group"):
        algo_ledger.submit(loose)


def test_close_out_and_asset_destroy_remove_state(
    algo_ledger: EmbeddedLedger, algo_accounts: tuple[AlgoTestAccount, ...]
) -> None:
    issuer, alice = algo_accounts[:2]
    asset = create_asa(algo_ledger, issuer)
    leaving = new_account()
    algo_ledger.fund(leaving.address, 1_000_000)
    algo_ledger.submit(
        [pay(algo_ledger, leaving, alice.address, 0, close_remainder_to=alice.address)]
    )
    assert algo_ledger.account_data(leaving.address) == {}
    assert algo_ledger.balance(alice.address) == FUNDED_MICROALGOS + 1_000_000 - MIN_FEE
    destroy = transaction.AssetDestroyTxn(issuer.address, algo_ledger.suggested_params(), asset)  # type: ignore[no-untyped-call]
    algo_ledger.submit([issuer.sign(destroy)])
    assert asset not in algo_ledger.asset_ids()
    assert algo_ledger.asset_holding(issuer.address, asset) is None
    with pytest.raises(NotFound):
        algo_ledger.asset_params(asset)


def test_rekeyed_account_is_signed_for_by_its_new_key(
    algo_ledger: EmbeddedLedger, algo_accounts: tuple[AlgoTestAccount, ...]
) -> None:
    alice, bob = algo_accounts[:2]
    algo_ledger.submit([pay(algo_ledger, alice, alice.address, 0, rekey_to=bob.address)])
    with pytest.raises(EvaluationRejected) as refused:
        algo_ledger.submit([pay(algo_ledger, alice, bob.address, 1)])
    assert refused.value.reason == ReasonCode.OPERATOR_NOT_AUTHORIZED
    txn = transaction.PaymentTxn(alice.address, algo_ledger.suggested_params(), bob.address, 7)  # type: ignore[no-untyped-call]
    algo_ledger.submit([bob.sign(txn)])
    assert algo_ledger.balance(bob.address) == FUNDED_MICROALGOS + 7


def test_min_balance_agrees_with_the_evaluator_for_apps_and_boxes(
    algo_ledger: EmbeddedLedger, algo_accounts: tuple[AlgoTestAccount, ...]
) -> None:
    creator, sink = algo_accounts[:2]
    app = create_probe(algo_ledger, creator, fund=2_000_000, pages=1)
    algo_ledger.submit(
        [call_probe(algo_ledger, creator, app, b"box", b"bx", b"v" * 100, boxes=[(app, b"bx")])]
    )
    # Creator: one app with 4 global ints and one extra page.
    expected = algo_ledger.min_balance(creator.address)
    assert expected == MIN_BALANCE + MIN_BALANCE + 100_000 + 4 * 28_500
    spare = algo_ledger.balance(creator.address) - expected
    with pytest.raises(EvaluationRejected, match=f"below min {expected}"):
        algo_ledger.submit([pay(algo_ledger, creator, sink.address, spare - MIN_FEE + 1)])
    algo_ledger.submit([pay(algo_ledger, creator, sink.address, spare - MIN_FEE)])
    assert algo_ledger.balance(creator.address) == expected
    # App account: one box of a 2-byte name and 100-byte value.
    app_address = logic.get_application_address(app)
    assert algo_ledger.min_balance(app_address) == MIN_BALANCE + 2_500 + 400 * (2 + 100)
