"""The escrow check reads the history it is asked at, every time: the events the HTLC port
keeps from earlier reads above the records are dropped when a reorg took their block away,
and no answer is reused for a later check, even at the same head.

Actors: a counterparty claiming a lock between two checks, the chain (a reorg replacing the
head at the same height: the claim's block orphaned), and a node serving a block's state a
moment before its logs. Before, an orphaned claim still
counted its lock as closed, so the check owed less than the open locks hold and a real
shortfall (a token agent's transfer out of the pool) could hide behind it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from adapters.evm.client import EvmClient
from tests.fixtures.calls import calls_to
from tests.integration.evm._shortfall_support import (  # noqa: F401 (fixture)
    client,
    two_recorded_locks,
)

KEY = "evm:reread-shortfall"


def _counting_reads(chain: EvmClient, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The block each read of logs and balance is pinned to."""
    return calls_to(monkeypatch, chain, "logs_and_balance", lambda **kw: int(kw["to_block"]))


def test_a_claim_mined_between_two_checks_is_seen_by_the_second(
    client: EvmClient,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Invariant: a check after a new head (a lock claimed by its receiver, the records
    not yet updated) lists only the locks still open."""
    world = two_recorded_locks(client, tmp_path, KEY)
    bound = world.bound(client)
    reads = _counting_reads(client, monkeypatch)
    assert bound.shortfall(None) == (0, tuple(sorted(world.ids)))
    world.htlc.claim(world.ids[0], world.secrets[0], world.receiver)
    assert bound.shortfall(None) == (0, (world.ids[1],))
    assert len(reads) == 2


def test_a_head_replaced_at_the_same_height_is_read_afresh(
    client: EvmClient,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Invariant: after a reorg to another block at the same height (the claim undone), the
    check counts the claimed lock as open again: the events read from the orphaned block
    are not kept."""
    world = two_recorded_locks(client, tmp_path, KEY)
    bound = world.bound(client)
    before = client.snapshot()
    world.htlc.claim(world.ids[0], world.secrets[0], world.receiver)
    height = client.head()
    reads = _counting_reads(client, monkeypatch)
    assert bound.shortfall(None) == (0, (world.ids[1],))
    client.revert(before)
    client.mine(height - client.head())  # an empty block where the claim's was
    assert client.head() == height
    assert bound.shortfall(None) == (0, tuple(sorted(world.ids)))
    assert reads == [height, height]


def test_an_answer_missing_a_new_locks_log_is_not_reused_at_the_same_head(
    client: EvmClient,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Invariant: a check at the head reads the logs again even when an earlier check at
    the very same head found no shortfall. The earlier answer came from a node that served
    the newest block's state before its logs: a new lock's units were in the balance but
    the lock was not owed (such an answer hides up to that many units of a real shortfall),
    so a tick's other claims must not take it."""
    world = two_recorded_locks(client, tmp_path, KEY)
    bound = world.bound(client)
    third = world.htlc.lock(
        asset=None,
        receiver=world.receiver.address,
        amount=5_000,
        hashlock=bytes(range(32)),
        deadline=int(client.now().timestamp()) + 3600,
        signer=world.receiver,
    )[0]
    head = client.head()
    served = client.logs_and_balance

    def lagging(**kw: Any) -> Any:
        logs, held = served(**kw)  # the balance with the new lock's units ...
        return [e for e in logs if int(e["blockNumber"]) < head], held  # ... not its log

    monkeypatch.setattr(client, "logs_and_balance", lagging)
    assert bound.shortfall(None) == (0, tuple(sorted(world.ids)))  # the new lock unseen
    monkeypatch.setattr(client, "logs_and_balance", served)  # the node serves the logs now
    assert client.head() == head
    assert bound.shortfall(None) == (0, tuple(sorted([*world.ids, third])))
