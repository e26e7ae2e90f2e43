"""A short embedded-ledger scenario run in a separate process by ``test_two_processes``.

Usage: ``python -m tests.integration.algorand.two_process_scenario SEED``. It funds an
account, makes payments whose amounts depend on ``SEED``, creates an ASA and moves some
of it, then prints one JSON line with what it observed and what it expected.
"""

from __future__ import annotations

import json
import sys

from adapters.algorand.ledger import MIN_FEE, EmbeddedLedger
from tests.fixtures.algorand import new_account
from tests.integration.algorand.programs import axfer, create_asa, opt_in, pay


def main(seed: int) -> dict[str, object]:
    """Run the scenario; return observed and expected numbers."""
    ledger = EmbeddedLedger()
    alice, bob = new_account(), new_account()
    ledger.fund(alice.address, 50_000_000 + seed)
    ledger.fund(bob.address, 1_000_000)
    sent = 0
    for i in range(6):
        amount = seed * 1000 + i
        ledger.submit([pay(ledger, alice, bob.address, amount)])
        sent += amount
    asset = create_asa(ledger, alice, total=10_000 + seed)
    opt_in(ledger, bob, asset)
    ledger.submit([axfer(ledger, alice, bob.address, seed, asset)])
    holding = ledger.asset_holding(bob.address, asset) or {}
    return {
        "seed": seed,
        "bob": ledger.balance(bob.address),
        "bob_expected": 1_000_000 + sent - MIN_FEE,
        "alice": ledger.balance(alice.address),
        "alice_expected": 50_000_000 + seed - sent - 8 * MIN_FEE,
        "units": holding.get("a"),
        "total": ledger.asset_params(asset)[1]["t"],
        "round": ledger.last_round,
    }


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]))))
