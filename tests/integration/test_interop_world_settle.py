"""The interop world waits for anvil's miner before a step moves a chain's time.

anvil answers a send before it mines the transaction (its miner runs apart). A step that
mined a block at a chosen timestamp right after the pipelined relayer's sends raced that
miner: the 30-minute thorough run once failed with ``evm_mine`` refusing its timestamp as
lower than the previous block's (the relayer's transaction, mined meanwhile on the node's
own clock), and the failure did not reproduce from its seed.
"""

from __future__ import annotations

import pytest

from relayer.interop.machine import world_for

pytestmark = pytest.mark.anvil


def test_after_settle_every_sent_transaction_is_mined_and_time_moves_as_chosen() -> None:
    """Invariant: after ``settle()`` every transaction sent without waiting has a receipt,
    and a block at the next second after the latest is accepted (40 sends in a row; without
    the wait about one send in four is still pending at the next read)."""
    world = world_for("anvil")
    world.reset()
    client = world.sec
    account = client.dev_accounts()[0]
    try:
        for _ in range(40):
            sent = client._rpc("eth_sendTransaction", [{"from": account, "to": account}])
            world.settle()
            assert client._rpc("eth_getTransactionReceipt", [sent]) is not None
            stamp = int(client.now().timestamp()) + 1
            client._rpc("evm_mine", [stamp])
            assert int(client.now().timestamp()) == stamp
    finally:
        world.reset()
