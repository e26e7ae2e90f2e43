"""The shortfall check with a node whose logs lag its state (py-evm, real HTLC).

A node may serve a new block's state (the HTLC's balance after a claim) a moment before
that block's logs: seen at N = 1,000 on anvil with pipelined sending, where a claim just
mined made both HTLCs report a lock's units as gone (the whole asset frozen for a tick).
The lag is produced by withholding the newest block's logs from the port's one batched
read of logs and balance (a node's timing cannot be produced on demand); chain, contract,
lock, claim and balance are real.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from adapters.evm.client import EvmClient
from tests.integration.evm._shortfall_support import two_recorded_locks

KEY = "evm:lagging"


def test_a_claim_whose_log_lags_its_state_is_no_shortfall(tmp_path: Path) -> None:
    """Invariant: a lock the contract's state says is closed at the block of the balance
    is never counted as owed, whatever the logs served for that block; a lock still open
    stays counted."""
    client = EvmClient.embedded()
    world = two_recorded_locks(client, tmp_path, KEY)
    htlc, receiver, secrets, ids = world.htlc, world.receiver, world.secrets, world.ids
    htlc.claim(ids[0], secrets[0], receiver)  # mined above the records
    claimed_at = client.head()

    bound = world.bound(client)
    served = client.logs_and_balance

    def lagging(**kw: Any) -> tuple[list[Mapping[str, Any]], int]:
        logs, held = served(**kw)  # the balance after the claim ...
        return [e for e in logs if int(e["blockNumber"]) < claimed_at], held  # ... not its log

    client.logs_and_balance = lagging  # type: ignore[method-assign]
    try:
        assert bound.shortfall(None) == (0, (ids[1],))
    finally:
        client.logs_and_balance = served  # type: ignore[method-assign]
    assert bound.shortfall(None) == (0, (ids[1],))
