"""The shortfall check against a node that answers its newest block from a newer state
(py-evm and anvil, real HTLC, real locks and claim).

anvil answers a read pinned to its newest block number from its live state: when a block is
being mined, that state already holds the next block's transactions (measured: with a
transaction sent every few milliseconds, 428 of 1,132 balance reads pinned to the newest
block differed from the same read repeated once the chain had moved on). With pipelined
sending the relayer's own claim is mined while it checks the next swap's escrow: the
batched read of logs and balance at the head ``H`` saw the balance after the claim (mined
in ``H + 1``), and the ``isOpen`` confirmation, read a moment later when ``H`` was history,
saw the lock still open at ``H``: a false shortfall of that claim's units (7 security units
at N = 1,000), freezing the asset for a tick.

The interleaving is built deterministically: the claim is mined inside the port's read of
logs and balance, after it has pinned ``H``, and every such read answers the balance from
the node's live state (as anvil does for its newest block); the ``isOpen`` reads are the
node's own.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from adapters.evm.client import EvmClient
from adapters.evm.multicall import BALANCE_READER, one_state_read
from tests.integration.evm._shortfall_support import (  # noqa: F401 (fixture)
    client,
    two_recorded_locks,
)

KEY = "evm:live-state"


def test_a_balance_read_from_a_newer_state_than_its_block_is_no_shortfall(
    client: EvmClient,  # noqa: F811
    tmp_path: Path,
) -> None:
    """Invariant: the units of a lock claimed in the block after ``H`` are never counted
    as missing because the balance of ``H`` was served from the state after that claim:
    the locks taken as open are confirmed open, and the balance read, from one state."""
    world = two_recorded_locks(client, tmp_path, KEY)
    htlc, receiver, secrets, ids = world.htlc, world.receiver, world.secrets, world.ids
    bound = world.bound(client)
    served = client.logs_and_balance
    claimed: list[int] = []

    def live(**kw: Any) -> tuple[list[Mapping[str, Any]], int]:
        if not claimed:  # mined while the check runs, after it pinned the head
            htlc.claim(ids[0], secrets[0], receiver)
            claimed.append(client.head())
        logs, _ = served(**kw)  # the logs up to the pinned block, as they are
        return logs, client.balance(htlc.address)  # the balance from the live state

    client.logs_and_balance = live  # type: ignore[method-assign]
    try:
        short = bound.shortfall(None)
    finally:
        client.logs_and_balance = served  # type: ignore[method-assign]
    assert claimed, "the interleaving did not happen"
    assert short[0] == 0, short
    assert bound.shortfall(None) == (0, (ids[1],))
    if client.fast is not None:  # anvil: the confirmation was one call of the reader
        word = bytes(12) + bytes.fromhex(htlc.address[2:])
        answer = one_state_read(client, [(BALANCE_READER, word)], hex(client.head()))
        assert answer == [(1_001).to_bytes(32, "big")]
