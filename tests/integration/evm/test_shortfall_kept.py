"""The escrow check keeps a whole answer per head (by hash) and records: a tick's claims of
one token read the pool once, and no other history is ever answered from it.

Actors: the relayer (many claims of one token in one tick), a counterparty claiming a lock
between two checks, and the chain (a reorg replacing the head at the same height). A token
agent's transfer out of the pool is a change of the chain too: it is a new head, read
afresh (``test_cross_border.py``, the test of units forced out of the pooled HTLC).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.evm.client import EvmClient
from tests.integration.evm._shortfall_support import two_recorded_locks

KEY = "evm:kept-shortfall"


@pytest.fixture(params=["pyevm", pytest.param("anvil", marks=pytest.mark.anvil)])
def client(request: pytest.FixtureRequest) -> Iterator[EvmClient]:
    """A fresh py-evm chain, or the session's empty anvil put back as it was after."""
    if request.param == "pyevm":
        yield EvmClient.embedded()
        return
    anvil = EvmClient.connect(request.getfixturevalue("anvil_url"))
    snapshot = anvil.snapshot()
    try:
        yield anvil
    finally:
        anvil.revert(snapshot)


def _counting_reads(client: EvmClient, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    reads: list[int] = []
    served = client.logs_and_balance

    def counted(**kw: Any) -> Any:
        reads.append(int(kw["to_block"]))
        return served(**kw)

    monkeypatch.setattr(client, "logs_and_balance", counted)
    return reads


def test_checks_at_one_head_read_the_pool_once(
    client: EvmClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Invariant: at one head, with the same records, every check of a token after the
    first answers what the first read found, without reading the pool again."""
    world = two_recorded_locks(client, tmp_path, KEY)
    bound = world.bound(client)
    reads = _counting_reads(client, monkeypatch)
    answers = {bound.shortfall(None) for _ in range(5)}
    assert answers == {(0, tuple(sorted(world.ids)))}
    assert len(reads) == 1


def test_a_claim_mined_between_two_checks_is_seen_by_the_second(
    client: EvmClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Invariant: a check after a new head (a lock claimed by its receiver, the records
    not yet updated) reads the pool again and lists only the locks still open."""
    world = two_recorded_locks(client, tmp_path, KEY)
    bound = world.bound(client)
    reads = _counting_reads(client, monkeypatch)
    assert bound.shortfall(None) == (0, tuple(sorted(world.ids)))
    world.htlc.claim(world.ids[0], world.secrets[0], world.receiver)
    assert bound.shortfall(None) == (0, (world.ids[1],))
    assert len(reads) == 2


def test_a_head_replaced_at_the_same_height_is_read_afresh(
    client: EvmClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Invariant: the answer is kept by the head's hash, not its number: after a reorg to
    another block at the same height (the claim undone), the check reads that history."""
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
