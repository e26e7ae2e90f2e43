"""Two processes whose embedded-ledger evaluations overlap, run by ``test_two_processes``.

Usage: ``python -m tests.integration.algorand.concurrent_scenario ROLE SIGNALS SEED``.

- ``hold``: funds an account, then starts one more evaluation and, with its ledger's folder
  written and the evaluator about to run, creates ``SIGNALS/held`` and waits for
  ``SIGNALS/done`` before letting the evaluator run;
- ``run``: waits for ``SIGNALS/held``, then runs whole evaluations on its own ledger while
  the other one is mid-evaluation, and creates ``SIGNALS/done``.

With one machine-wide lock (or one shared folder) ``run`` could not evaluate while ``hold``
is inside its evaluation: it would wait for the lock (and ``hold`` would give up waiting for
``done``), or it would overwrite the files ``hold`` is about to evaluate. Each prints one
JSON line with the balances it observed and those it expected.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from adapters.algorand.ledger import MIN_FEE, EmbeddedLedger
from tests.fixtures.algorand import new_account
from tests.integration.algorand.programs import pay

_WAIT_S = 120.0  # a guard against a deadlock, not a measurement


def _wait_for(path: Path) -> None:
    deadline = time.monotonic() + _WAIT_S
    while not path.exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting for {path.name}")
        time.sleep(0.02)


def hold(signals: Path, seed: int) -> dict[str, Any]:
    """Fund, then pause one evaluation mid-way until the other process has evaluated."""
    ledger = EmbeddedLedger(lock_timeout=_WAIT_S / 4)
    alice, bob = new_account(), new_account()
    ledger.fund(alice.address, 10_000_000 + seed)
    real_call = ledger._call

    def paused_call(*args: str) -> bytes:
        if args[0] == "eval":
            (signals / "held").touch()
            _wait_for(signals / "done")
        return real_call(*args)

    ledger._call = paused_call  # type: ignore[method-assign]
    ledger.fund(bob.address, 1_000_000 + seed)
    return {
        "alice": ledger.balance(alice.address),
        "alice_expected": 10_000_000 + seed,
        "bob": ledger.balance(bob.address),
        "bob_expected": 1_000_000 + seed,
        "round": ledger.last_round,
    }


def run(signals: Path, seed: int) -> dict[str, Any]:
    """While the other process is mid-evaluation, evaluate three groups on our own ledger."""
    _wait_for(signals / "held")
    ledger = EmbeddedLedger(lock_timeout=_WAIT_S / 4)
    alice, bob = new_account(), new_account()
    ledger.fund(alice.address, 5_000_000 + seed)
    ledger.submit([pay(ledger, alice, bob.address, 200_000 + seed)])
    (signals / "done").touch()
    return {
        "alice": ledger.balance(alice.address),
        "alice_expected": 5_000_000 + seed - 200_000 - seed - MIN_FEE,
        "bob": ledger.balance(bob.address),
        "bob_expected": 200_000 + seed,
        "round": ledger.last_round,
    }


if __name__ == "__main__":
    role, folder, seed_text = sys.argv[1:4]
    chosen = hold if role == "hold" else run
    print(json.dumps({"role": role, **chosen(Path(folder), int(seed_text))}))
