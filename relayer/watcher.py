"""Per-chain watchers: follow the HTLC's events from a cursor kept in the store.

One :class:`ChainWatcher` per chain. Each :meth:`ChainWatcher.poll`:

1. reads the chain's head and time;
2. checks that the block the cursor stopped at is still on the chain (its hash is kept in
   the store). If it is not, a reorg replaced it: the watcher walks down the hashes it kept
   to the highest one still on the chain and **rolls back** every event recorded above it
   (they are scanned again from the new chain);
3. scans the HTLC's events from the cursor to the head, at most ``batch_blocks`` heights at
   a time, and records them with the new cursor and the head's hash in one store transaction
   (compare-and-set on the cursor, so replicas sharing a PostgreSQL store never interleave).

The service acts on an event only once it is ``confirmations`` deep below the scanned head
(:meth:`ChainView.confirmed`), so a reorg shallower than the confirmation depth (the common
kind) only rolls back events nothing has acted on. A reorg deeper than that is logged as an
error and counted (``deep_reorgs``); the swaps it touched are named in the log.

Chains without forks (Algorand: a round is final once committed) have no ``block_hash``
function and skip step 2.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from bridge.errors import TransientError
from bridge.ports import ChainEvent
from relayer.store import Store

__all__ = ["LOOKBACK_BLOCKS", "ChainView", "ChainWatcher", "StoredLocks"]

LOOKBACK_BLOCKS = 2
"""Blocks below the cursor scanned again on every poll."""

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChainView:
    """What one poll saw: the height scanned to, the chain's time, the confirmation depth."""

    chain: str
    head: int
    time: int
    confirmations: int

    def confirmed(self, height: int) -> bool:
        """Whether an event at ``height`` is deep enough to act on."""
        return height + self.confirmations <= self.head


class ChainWatcher:
    """Follows one chain's HTLC events into the store.

    ``head`` / ``now`` / ``events`` / ``block_hash`` are the chain's (see ``ChainRuntime``);
    ``start`` is where a watcher with no cursor yet begins (None: the head at its first
    poll, since no swap of this relayer can have a lock before it started).
    """

    def __init__(
        self,
        *,
        chain: str,
        store: Store,
        head: Callable[[], int],
        now: Callable[[], int],
        events: Callable[[int, int], Iterable[ChainEvent]],
        confirmations: int,
        block_hash: Callable[[int], str | None] | None = None,
        start: int | None = None,
        batch_blocks: int = 2_000,
        keep_blocks: int = 256,
    ) -> None:
        self.chain = chain
        self.store = store
        self._head = head
        self._now = now
        self._events = events
        self._block_hash = block_hash
        self.confirmations = confirmations
        self.start = start
        self.batch_blocks = batch_blocks
        self.keep_blocks = max(keep_blocks, 2 * confirmations + 2)
        self.reorgs = 0
        self.deep_reorgs = 0
        self.last: ChainView | None = None

    def poll(self) -> ChainView:
        """Catch up with the chain (one batch at most) and return what is known now."""
        head = self._head()
        time = self._now()
        cursor = self.store.cursor(self.chain)
        if cursor is None:
            first = head if self.start is None else max(self.start - 1, 0)
            if self.store.advance_chain(
                self.chain,
                expected=None,
                height=first,
                events=(),
                block_hash=self._hash(first),
                keep_from=first - self.keep_blocks,
            ):
                log.info("chain %s: watching from height %d", self.chain, first + 1)
                cursor = first
            else:  # another replica started it first
                return self.poll()
        if self._block_hash is not None:
            cursor = self._check_reorg(cursor, head)
        if cursor < head:
            cursor = self._scan(cursor, min(head, cursor + self.batch_blocks))
        view = ChainView(self.chain, cursor, time, self.confirmations)
        self.last = view
        return view

    def _hash(self, height: int) -> str | None:
        if self._block_hash is None or height < 0:
            return None
        return self._block_hash(height)

    def _scan(self, cursor: int, to: int) -> int:
        before = self._hash(to)
        # the last blocks already scanned are read again: a node may report a block before
        # its logs can be queried (seen on anvil under load); recording is idempotent
        events = list(self._events(max(cursor + 1 - LOOKBACK_BLOCKS, 0), to))
        after = self._hash(to)
        if before != after:
            raise TransientError(f"chain {self.chain}: block {to} changed while scanning (reorg)")
        if not self.store.advance_chain(
            self.chain,
            expected=cursor,
            height=to,
            events=events,
            block_hash=after,
            keep_from=to - self.keep_blocks,
        ):
            log.info("chain %s: another replica moved the cursor; rescanning", self.chain)
            now = self.store.cursor(self.chain)
            return cursor if now is None else now
        if to - cursor > 100:
            log.info("chain %s: scanned to height %d (%d events)", self.chain, to, len(events))
        return to

    def _reverify(self, cursor: int, head: int, kept: dict[int, str]) -> int:
        """No hash is kept for the cursor's block (a store written without one, or pruned):
        nothing proves the recorded events above the last block still on the chain, so they
        are forgotten and scanned again from there (from ``keep_blocks`` below the cursor
        when no kept hash proves anything). Recording is idempotent: events still on the
        chain come back as they were."""
        to = max(cursor - self.keep_blocks, -1)
        for height in sorted(kept, reverse=True):
            if height < cursor and height <= head and self._hash(height) == kept[height]:
                to = height
                break
        if self.store.rewind_chain(self.chain, expected=cursor, to_height=to) is None:
            now = self.store.cursor(self.chain)
            return cursor if now is None else now
        log.info(
            "chain %s: no block hash kept for height %d; scanning again from %d",
            self.chain,
            cursor,
            to + 1,
        )
        return to

    def _check_reorg(self, cursor: int, head: int) -> int:
        kept = self.store.block_hashes(self.chain)
        if cursor not in kept:
            return self._reverify(cursor, head, kept)
        if cursor <= head and self._hash(cursor) == kept[cursor]:
            return cursor
        # no kept hash below the cursor still on the chain proves nothing of the blocks
        # below the lowest one either (after a catch-up in one batch only its last block's
        # hash is kept): then look again from the look-back, as without a cursor hash
        fork, proven = max(min(min(kept) - 1, cursor - self.keep_blocks), -1), False
        for height in sorted(kept, reverse=True):
            if height < cursor and height <= head and self._hash(height) == kept[height]:
                fork, proven = height, True
                break
        removed = self.store.rewind_chain(self.chain, expected=cursor, to_height=fork)
        if removed is None:
            now = self.store.cursor(self.chain)
            return cursor if now is None else now
        self.reorgs += 1
        acted = [e for e in removed if e.height + self.confirmations <= cursor]
        if acted and not proven:
            # rewound to the look-back, not to a proven fork: what the chain still has of
            # those events comes back with the rescan and was not lost
            still = {_identity(e) for e in self._events(fork + 1, min(cursor, head))}
            acted = [e for e in acted if _identity(e) not in still]
        log.warning(
            "chain %s: reorg: block %d is gone; rolled back to %d, %d event(s) forgotten",
            self.chain,
            cursor,
            fork,
            len(removed),
        )
        if acted:
            self.deep_reorgs += 1
            log.error(
                "chain %s: the reorg reached %d confirmed event(s) already acted on (locks %s); "
                "the affected swaps continue from what the new chain shows",
                self.chain,
                len(acted),
                ", ".join(sorted({str(e.args.get("lock_id")) for e in acted})),
            )
        return fork


def _identity(event: ChainEvent) -> tuple[str, str, str]:
    """An event as a reorg may move it (another block, another index): its name, its
    transaction and its lock."""
    return (event.name, event.tx_id, str(event.args.get("lock_id")))


class StoredLocks:
    """One chain's HTLC events as its watcher recorded them in the store, for an HTLC port
    to read in place of scanning the chain from the contract's deployment block (the
    ``LockRecords`` of :mod:`adapters.evm.htlc`).

    The store rolls back what a reorg removed (:class:`ChainWatcher`), so these are the
    events of the chain as last polled; what was mined since (above ``last``) the port
    reads from the chain itself. The open locks' amounts are kept between calls while the
    recorded content is provably the same: the same cursor with the same block hash kept
    for it (a block hash fixes every block below it).
    """

    def __init__(self, store: Store, chain: str) -> None:
        self.store = store
        self.chain = chain
        self._open: tuple[tuple[int, str], dict[tuple[bool, str | None], dict[str, int]]] | None = (
            None
        )
        self._memo_tag: tuple[int, str] | None = None
        self._under: dict[str, tuple[ChainEvent, ...]] = {}
        self._history: dict[str, tuple[ChainEvent, ...]] = {}
        self._pinned: tuple[tuple[int, int, str | None] | None] | None = None

    def pin(self) -> None:
        """Read where the records stand once, and answer from that until :meth:`unpin`:
        a relayer's tick, after its watchers polled, acts on the records as they were then
        (what was mined since, the HTLC port reads from the chain above them). A swap
        asked for it eight times a tick, one query each. Another replica's watcher writing
        meanwhile is seen at the next pin, as if it had written just after this one."""
        self._pinned = (self.store.recorded_span(self.chain),)

    def unpin(self) -> None:
        """Read where the records stand at every question again (see :meth:`pin`)."""
        self._pinned = None

    def _span(self) -> tuple[int, int, str | None] | None:
        pinned = self._pinned
        return self.store.recorded_span(self.chain) if pinned is None else pinned[0]

    def _memo(self) -> bool:
        """Whether the answers kept stand: the records are provably the same as when they
        were read (the same cursor with the same block hash); else they are dropped."""
        span = self._span()
        tag = None if span is None or span[2] is None else (span[1], span[2])
        if tag != self._memo_tag or tag is None:
            self._memo_tag = tag
            self._under, self._history = {}, {}
        return tag is not None

    def span(self) -> tuple[int, int] | None:
        """The first and last heights whose events are all recorded (None: unknown)."""
        span = self._span()
        return None if span is None else (span[0], span[1])

    def locks_under(self, hashlock: str) -> Sequence[ChainEvent]:
        """Recorded ``Locked`` events under ``hashlock`` (0x hex), in chain order (kept
        while the records are the same: a swap asks several times per tick)."""
        if not self._memo():
            return self.store.locks_by_hashlock(self.chain, hashlock)
        key = hashlock.lower()
        found = self._under.get(key)
        if found is None:
            found = self._under[key] = tuple(self.store.locks_by_hashlock(self.chain, key))
        return found

    def history(self, lock_id: str) -> Sequence[ChainEvent]:
        """Every recorded event of ``lock_id`` (lock, claim, refund), in chain order (kept
        while the records are the same)."""
        if not self._memo():
            return self.store.lock_history(self.chain, lock_id)
        found = self._history.get(lock_id)
        if found is None:
            found = self._history[lock_id] = tuple(self.store.lock_history(self.chain, lock_id))
        return found

    def open_amounts(self, token: str | None) -> Mapping[str, int]:
        """Lock id -> amount of every recorded plain (not partition) lock of ``token``
        (None: the native coin) with no recorded claim or refund."""
        return self._open_of(token, partition=False)

    def open_partition_amounts(self, token: str) -> Mapping[str, int]:
        """Lock id -> amount of every recorded partition lock (ERC-1400) of ``token`` with
        no recorded claim or refund (their units are in the token's balance of the HTLC,
        but no plain lock can be paid from them)."""
        return self._open_of(token, partition=True)

    def _open_of(self, token: str | None, *, partition: bool) -> Mapping[str, int]:
        span = self._span()
        tag = None if span is None or span[2] is None else (span[1], span[2])
        key = (partition, None if token is None else token.lower())
        if tag is None or self._open is None or self._open[0] != tag:
            by_token: dict[tuple[bool, str | None], dict[str, int]] = {}
            for event in self.store.open_locks(self.chain):
                raw = event.args.get("token")
                at = (
                    event.args.get("partition") is not None,
                    None if raw is None else str(raw).lower(),
                )
                by_token.setdefault(at, {})[str(event.args["lock_id"])] = int(
                    str(event.args["amount"])
                )
            if tag is None:
                return by_token.get(key, {})
            self._open = (tag, by_token)
        # the same mapping while the records are the same (an empty one too): the port
        # keeps its count on it between checks
        return self._open[1].setdefault(key, {})
