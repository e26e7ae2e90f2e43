"""The chain watcher on the embedded EVM (py-evm) with the real HTLC contract.

It follows the HTLC's events from a cursor kept in the store, resumes from that cursor
after a restart, catches up in bounded batches, and rolls back what a reorg removed
(py-evm snapshot/revert, then other blocks at the same heights).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pytest

from adapters.evm.client import EvmClient
from adapters.evm.htlc import EvmHtlc
from adapters.evm.signer import EvmSigner
from relayer.store import SqliteStore, Store
from relayer.watcher import ChainWatcher

KEY = "evm:test"


@dataclass
class Chain:
    client: EvmClient
    htlc: EvmHtlc
    sender: EvmSigner


@pytest.fixture
def chain() -> Chain:
    client = EvmClient.embedded()
    sender = EvmSigner.generate()
    client.fund(sender.address, 10**20)
    return Chain(client, EvmHtlc.deploy(client, sender), sender)


def watcher(chain: Chain, store: Store, **kwargs: object) -> ChainWatcher:
    return ChainWatcher(
        chain=KEY,
        store=store,
        head=chain.client.head,
        now=lambda: int(chain.client.now().timestamp()),
        events=chain.htlc.events,
        block_hash=chain.client.block_hash,
        **kwargs,  # type: ignore[arg-type]
    )


def lock(chain: Chain, n: int) -> tuple[str, bytes]:
    hashlock = hashlib.sha256(n.to_bytes(32, "big")).digest()
    lock_id, _ = chain.htlc.lock(
        asset=None,
        receiver=EvmSigner.from_seed(f"watcher-receiver-{n}").address,
        amount=10**15 + n,
        hashlock=hashlock,
        deadline=int(chain.client.now().timestamp()) + 3600,
        signer=chain.sender,
    )
    return lock_id, hashlock


def recorded(store: Store, hashlock: bytes) -> list[str]:
    return [str(e.args["lock_id"]) for e in store.locks_by_hashlock(KEY, "0x" + hashlock.hex())]


def test_follows_events_and_resumes_from_the_stored_cursor(chain: Chain, tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "w.sqlite3")
    first = watcher(chain, store, confirmations=1)
    start = first.poll()
    assert store.cursor(KEY) == chain.client.head() == start.head
    lock_id, hashlock = lock(chain, 1)
    view = first.poll()
    assert recorded(store, hashlock) == [lock_id]
    (event,) = store.locks_by_hashlock(KEY, "0x" + hashlock.hex())
    assert not view.confirmed(event.height)  # one confirmation needed, none yet
    chain.client.mine()
    assert first.poll().confirmed(event.height)
    # a restarted watcher (new object, same store) goes on from the cursor: no rescan
    store.close()
    store = SqliteStore(tmp_path / "w.sqlite3")
    again = watcher(chain, store, confirmations=1)
    logs_before = chain.client.stats.by_method.get("eth_getLogs", 0)
    view = again.poll()
    assert view.head == chain.client.head()
    assert chain.client.stats.by_method.get("eth_getLogs", 0) == logs_before  # nothing new
    assert recorded(store, hashlock) == [lock_id]
    history = [e.name for e in store.lock_history(KEY, lock_id)]
    assert history == ["Locked"]


def test_catches_up_in_bounded_batches(chain: Chain, tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "w.sqlite3")
    w = watcher(chain, store, confirmations=0, batch_blocks=3)
    start = w.poll().head
    locks = [lock(chain, n) for n in range(7)]  # one block each
    heads = [w.poll().head - start for _ in range(3)]
    assert heads == [3, 6, 7]  # three blocks per poll at most
    assert start + 7 == chain.client.head()
    for lock_id, hashlock in locks:
        assert recorded(store, hashlock) == [lock_id]


def test_a_reorg_rolls_back_what_it_removed(chain: Chain, tmp_path: Path) -> None:
    """Invariant: after a reorg, the store holds exactly the events of the new chain."""
    store = SqliteStore(tmp_path / "w.sqlite3")
    w = watcher(chain, store, confirmations=2)
    w.poll()
    kept_id, kept_hash = lock(chain, 1)
    fork = chain.client.snapshot()
    lost_id, lost_hash = lock(chain, 2)
    w.poll()
    assert recorded(store, lost_hash) == [lost_id]
    chain.client.revert(fork)  # the block with the second lock is gone
    chain.client.mine(3)  # and other blocks take its height
    w.poll()
    assert w.reorgs == 1
    assert w.deep_reorgs == 0  # the lost lock had one confirmation of the two needed
    assert recorded(store, lost_hash) == []
    assert recorded(store, kept_hash) == [kept_id]
    assert store.cursor(KEY) == chain.client.head()


def test_a_reorg_deeper_than_the_confirmations_is_reported(
    chain: Chain, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = SqliteStore(tmp_path / "w.sqlite3")
    w = watcher(chain, store, confirmations=1)
    w.poll()
    fork = chain.client.snapshot()
    lost_id, lost_hash = lock(chain, 3)
    chain.client.mine(3)
    view = w.poll()
    (event,) = store.locks_by_hashlock(KEY, "0x" + lost_hash.hex())
    assert view.confirmed(event.height)
    chain.client.revert(fork)
    chain.client.mine(6)
    with caplog.at_level("ERROR", logger="relayer.watcher"):
        w.poll()
    assert (w.reorgs, w.deep_reorgs) == (1, 1)
    assert recorded(store, lost_hash) == []
    assert lost_id in caplog.text


def test_a_cursor_without_a_kept_hash_is_checked_all_the_same(chain: Chain, tmp_path: Path) -> None:
    """Chain (reorg) and operator (a store written without block hashes, e.g. by an older
    relayer): the watcher cannot compare the cursor's block with the chain, so it must not
    assume it is still there. A reorg that replaced the block of a recorded lock is rolled
    back all the same; a lock still on the chain stays recorded."""
    import sqlite3

    store = SqliteStore(tmp_path / "w.sqlite3")
    w = watcher(chain, store, confirmations=2)
    w.poll()
    kept_id, kept_hash = lock(chain, 1)
    w.poll()
    fork = chain.client.snapshot()
    lost_id, lost_hash = lock(chain, 2)
    w.poll()
    assert recorded(store, lost_hash) == [lost_id]
    with sqlite3.connect(store.path) as conn:
        conn.execute("DELETE FROM chain_blocks")  # no hash kept for any block
    chain.client.revert(fork)  # the block with the second lock is gone
    chain.client.mine(3)
    w.poll()
    w.poll()
    assert recorded(store, lost_hash) == []
    assert recorded(store, kept_hash) == [kept_id]
    assert store.cursor(KEY) == chain.client.head()


def test_a_reorg_below_every_kept_hash_is_rolled_back_all_the_same(
    chain: Chain, tmp_path: Path
) -> None:
    """Chain (a reorg within the confirmation depth) after a catch-up: a watcher back after
    downtime scans hundreds of blocks in one poll and keeps the hash of that poll's last
    block only (older ones are pruned). When that block is replaced and no kept hash below
    it matches, nothing proves the blocks below it either: the watcher must look again
    from its look-back, not from the block just below. Found by the 30-minute interop run
    (seed 608: a lock recorded at 76 after a rescan that kept the hash of 79 only, gone
    after a reorg, still recorded)."""
    store = SqliteStore(tmp_path / "w.sqlite3")
    w = watcher(chain, store, confirmations=3)
    w.poll()
    chain.client.mine(100)  # the relayer is down
    kept_id, kept_hash = lock(chain, 5)  # confirmed long ago, and still there after
    chain.client.mine(200)
    fork = chain.client.snapshot()
    lost_id, lost_hash = lock(chain, 4)
    chain.client.mine(1)
    w.poll()  # back: one batch, one kept hash
    assert recorded(store, lost_hash) == [lost_id]
    assert sorted(store.block_hashes(KEY)) == [chain.client.head()]
    chain.client.revert(fork)  # two blocks gone, fewer than the three confirmations
    chain.client.mine(3)
    w.poll()
    # the older confirmed lock is looked at again, found, and not reported as lost
    assert (w.reorgs, w.deep_reorgs) == (1, 0)
    assert recorded(store, lost_hash) == []
    assert recorded(store, kept_hash) == [kept_id]
    assert store.cursor(KEY) == chain.client.head()
