"""TEAL programs and transaction helpers shared by the embedded-ledger tests.

``PROBE_APP`` is a small application used to observe the evaluator from inside: its
first argument picks an action (``box``, ``pay``, ``clock``, ``fail``, ``total``); on
creation it sets ``counter = 7``.
"""

from __future__ import annotations

from typing import Any

from algosdk import logic, transaction

from adapters.algorand.ledger import EmbeddedLedger, compile_teal
from tests.fixtures.algorand import AlgoTestAccount

PROBE_APP = """#pragma version 10
txn ApplicationID
bz create
txn OnCompletion
int OptIn
==
bnz ok
txn OnCompletion
int UpdateApplication
==
bnz ok
txna ApplicationArgs 0
byte "box"
==
bnz do_box
txna ApplicationArgs 0
byte "pay"
==
bnz do_pay
txna ApplicationArgs 0
byte "clock"
==
bnz do_clock
txna ApplicationArgs 0
byte "fail"
==
bnz do_fail
txna ApplicationArgs 0
byte "total"
==
bnz do_total
err
create:
byte "counter"
int 7
app_global_put
ok:
int 1
return
do_box:
txna ApplicationArgs 1
txna ApplicationArgs 2
box_put
int 1
return
do_pay:
itxn_begin
int pay
itxn_field TypeEnum
txna Accounts 1
itxn_field Receiver
txna ApplicationArgs 1
btoi
itxn_field Amount
int 0
itxn_field Fee
itxn_submit
byte "paid"
log
int 1
return
do_clock:
byte "round"
global Round
app_global_put
byte "ts"
global LatestTimestamp
app_global_put
int 1
return
do_fail:
int 0
assert
int 1
return
do_total:
txna ApplicationArgs 1
btoi
asset_params_get AssetTotal
assert
byte "total"
swap
app_global_put
int 1
return
"""

UPDATED_APP = """#pragma version 10
byte "updated"
log
int 1
return
"""

CLEAR_PROGRAM = """#pragma version 10
pushbytes 0x636c656172
pop
int 1
return
"""

GLOBAL_INTS = 4


def assemble(source: str) -> bytes:
    """Bytecode of ``source`` from the evaluator's own assembler."""
    return compile_teal(source)[0]


def create_probe(
    ledger: EmbeddedLedger, creator: AlgoTestAccount, *, fund: int = 1_000_000, pages: int = 0
) -> int:
    """Create ``PROBE_APP`` (with ``CLEAR_PROGRAM``), fund its account; return the app id."""
    txn = transaction.ApplicationCreateTxn(  # type: ignore[no-untyped-call]
        creator.address,
        ledger.suggested_params(),
        transaction.OnComplete.NoOpOC,
        assemble(PROBE_APP),
        assemble(CLEAR_PROGRAM),
        transaction.StateSchema(GLOBAL_INTS, 0),  # type: ignore[no-untyped-call]
        transaction.StateSchema(0, 0),  # type: ignore[no-untyped-call]
        extra_pages=pages,
    )
    result = ledger.submit([creator.sign(txn)])
    app_id = result.txns[0].application_index
    assert app_id is not None
    if fund:
        ledger.fund(logic.get_application_address(app_id), fund)
    return app_id


def call_probe(
    ledger: EmbeddedLedger,
    sender: AlgoTestAccount,
    app_id: int,
    *args: bytes,
    fee: int = 1000,
    **kwargs: Any,
) -> Any:
    """A signed NoOp call of the probe app with ``args``."""
    params = ledger.suggested_params()
    params.fee = fee
    txn = transaction.ApplicationCallTxn(  # type: ignore[no-untyped-call]
        sender.address, params, app_id, transaction.OnComplete.NoOpOC, app_args=list(args), **kwargs
    )
    return sender.sign(txn)


def create_asa(
    ledger: EmbeddedLedger,
    creator: AlgoTestAccount,
    *,
    total: int = 1_000_000,
    default_frozen: bool = False,
    manager: str | None = None,
    reserve: str | None = None,
    freeze: str | None = None,
    clawback: str | None = None,
) -> int:
    """Create an ASA; roles default to the creator. Returns the asset id."""
    txn = transaction.AssetCreateTxn(  # type: ignore[no-untyped-call]
        creator.address,
        ledger.suggested_params(),
        total,
        0,
        default_frozen,
        unit_name="TST",
        asset_name="Test share",
        url="https://example.org/tst.json#arc3",
        manager=manager or creator.address,
        reserve=reserve or creator.address,
        freeze=freeze or creator.address,
        clawback=clawback or creator.address,
        metadata_hash=b"\x01" * 32,
    )
    asset_id = ledger.submit([creator.sign(txn)]).txns[0].asset_index
    assert asset_id is not None
    return asset_id


def opt_in(ledger: EmbeddedLedger, holder: AlgoTestAccount, asset_id: int) -> None:
    """Opt ``holder`` in to ``asset_id``."""
    ledger.submit(
        [
            holder.sign(
                transaction.AssetOptInTxn(holder.address, ledger.suggested_params(), asset_id)  # type: ignore[no-untyped-call]
            )
        ]
    )


def axfer(
    ledger: EmbeddedLedger,
    sender: AlgoTestAccount,
    receiver: str,
    amount: int,
    asset_id: int,
    *,
    revocation_target: str | None = None,
) -> Any:
    """A signed asset transfer (a clawback when ``revocation_target`` is set)."""
    return sender.sign(
        transaction.AssetTransferTxn(  # type: ignore[no-untyped-call]
            sender.address,
            ledger.suggested_params(),
            receiver,
            amount,
            asset_id,
            revocation_target=revocation_target,
        )
    )


def freeze(
    ledger: EmbeddedLedger, freezer: AlgoTestAccount, target: str, asset_id: int, frozen: bool
) -> Any:
    """A signed asset freeze / unfreeze of ``target``'s holding."""
    return freezer.sign(
        transaction.AssetFreezeTxn(  # type: ignore[no-untyped-call]
            freezer.address, ledger.suggested_params(), asset_id, target, frozen
        )
    )


def pay(
    ledger: EmbeddedLedger, sender: AlgoTestAccount, receiver: str, amount: int, **kw: Any
) -> Any:
    """A signed payment."""
    return sender.sign(
        transaction.PaymentTxn(sender.address, ledger.suggested_params(), receiver, amount, **kw)  # type: ignore[no-untyped-call]
    )
