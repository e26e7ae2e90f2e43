"""The Algorand side of the native-coin check before a lock (issue 14), on the embedded ledger.

:func:`relayer.dry_runs.algorand_funds_check` answers with the HTLC's own funding
pre-flight: a sender whose microalgos do not cover an ALGO leg's amount plus the escrow's
deposit and the lock's fees is refused, naming the order's field; an ASA leg needs the
deposit and fees only (its units are the dry run's business).
"""

from __future__ import annotations

from algosdk import account

from adapters.algorand.algod import EmbeddedAlgodClient
from adapters.algorand.chain import AlgodChain
from adapters.algorand.htlc import AlgorandHtlc
from adapters.algorand.ledger import EmbeddedLedger
from bridge.reasons import ReasonCode
from relayer.dry_runs import algorand_funds_check


def test_a_sender_short_of_algos_is_refused_naming_the_field() -> None:
    """Invariant: refused exactly when the balance is below amount + deposit + fees."""
    ledger = EmbeddedLedger()
    check = algorand_funds_check(AlgorandHtlc(AlgodChain(EmbeddedAlgodClient(ledger))))
    _, poor = account.generate_account()
    ledger.fund(poor, 1_000_000)  # 1 ALGO
    (refusal,) = check("cash", None, poor, 1_000_000)  # all of it: nothing for the deposit
    assert refusal.code is ReasonCode.INSUFFICIENT_BALANCE
    assert refusal.detail.startswith("cash.sender: ")
    assert "(cash.amount 1000000)" in refusal.detail
    assert check("cash", None, poor, 500_000) == ()  # half: the deposit and fees fit
