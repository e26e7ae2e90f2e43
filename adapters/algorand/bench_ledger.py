"""Benchmark of the embedded Algorand ledger: evaluations per second on this machine.

Run ``python -m adapters.algorand.bench_ledger [--rounds N]``. It measures, with wall
clock time, N submissions of each kind against one ledger and prints one line per kind:

- ``payment``: a plain payment (one binary run per submission);
- ``asset freeze``: needs a reporter transaction (fault 2), still one binary run;
- ``dry run``: evaluation without commit;
- ``teal compile``: the evaluator's assembler alone.

Numbers vary with the machine and its load (each ledger evaluates in its own folder, with
no machine-wide lock); tests never assert on them.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from algosdk import account, transaction
from algosdk.atomic_transaction_composer import (
    AccountTransactionSigner,
    sign_transaction_with_signer,
)

from adapters.algorand.ledger import EmbeddedLedger, compile_teal

__all__ = ["main"]


def _rate(label: str, rounds: int, step: Callable[[int], object]) -> float:
    start = time.perf_counter()
    for i in range(rounds):
        step(i)
    elapsed = time.perf_counter() - start
    rate = rounds / elapsed if elapsed > 0 else float("inf")
    print(
        f"{label:<14} {rounds:>5} in {elapsed:7.2f} s  {rate:7.2f} /s  {1000 / rate:7.1f} ms each"
    )
    return rate


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Run the benchmark; print and return the rates per kind."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="submissions per kind")
    args = parser.parse_args(argv)
    rounds: int = args.rounds

    ledger = EmbeddedLedger()
    key, sender = account.generate_account()  # type: ignore[no-untyped-call]
    receiver_key, receiver = account.generate_account()  # type: ignore[no-untyped-call]
    signer = AccountTransactionSigner(key)
    ledger.fund(sender, 10**12)
    ledger.fund(receiver, 10**9)

    def payment(i: int) -> object:
        txn = transaction.PaymentTxn(sender, ledger.suggested_params(), receiver, i + 1)  # type: ignore[no-untyped-call]
        return ledger.submit([sign_transaction_with_signer(txn, signer)])

    create = transaction.AssetCreateTxn(  # type: ignore[no-untyped-call]
        sender, ledger.suggested_params(), 10**9, 0, False,
        manager=sender, reserve=sender, freeze=sender, clawback=sender, unit_name="B",
    )  # fmt: skip
    asset = ledger.submit([sign_transaction_with_signer(create, signer)]).txns[0].asset_index
    opt_in = transaction.AssetOptInTxn(receiver, ledger.suggested_params(), asset)  # type: ignore[no-untyped-call]
    ledger.submit([sign_transaction_with_signer(opt_in, AccountTransactionSigner(receiver_key))])

    def freeze(i: int) -> object:
        txn = transaction.AssetFreezeTxn(  # type: ignore[no-untyped-call]
            sender, ledger.suggested_params(), asset, receiver, bool(i % 2)
        )
        return ledger.submit([sign_transaction_with_signer(txn, signer)])

    def dry_run(i: int) -> object:
        txn = transaction.PaymentTxn(sender, ledger.suggested_params(), receiver, 10**6 + i)  # type: ignore[no-untyped-call]
        return ledger.dry_run([sign_transaction_with_signer(txn, signer)])

    def compile_once(i: int) -> object:
        return compile_teal(f"#pragma version 10\nint {i}\nreturn\n")

    before = ledger.evaluations
    rates = {
        "payment": _rate("payment", rounds, payment),
        "asset freeze": _rate("asset freeze", rounds, freeze),
        "dry run": _rate("dry run", rounds, dry_run),
        "teal compile": _rate("teal compile", rounds, compile_once),
    }
    print(f"binary runs: {ledger.evaluations - before} for {3 * rounds} evaluations")
    return rates


if __name__ == "__main__":
    main()
