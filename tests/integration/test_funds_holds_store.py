"""The store's funds holds (relayer.reservations) on SQLite and PostgreSQL.

What a sender's admitted legs hold counts at a height exactly while their lock is not in a
block at or below it: a lock the watcher recorded there, or one the relayer saw mined there
(its receipt), is already out of the balance read at that height and is not counted again;
a reorg that takes the lock out (the events rolled back, or the relayer finding the lock
gone) makes the hold count again. The store answers from per-sender totals kept with the
holds; the totals must agree with the holds one by one.
"""

from __future__ import annotations

from collections.abc import Callable

from bridge.ports import ChainEvent
from bridge.swap import Role, chain_key
from relayer.reservations import InFlight, LockCost, Reservations
from relayer.store import Store
from tests.integration.test_store import Clock, make_store, swap_terms
from tests.property.test_swap_protocol import EVM

__all__ = ["make_store"]  # the fixture, parametrised over both databases

BIG = 3 * 10**20  # wei amounts beyond 64 bits once summed


def test_a_hold_counts_until_its_lock_is_in_a_block_at_or_below_the_height_read(
    make_store: Callable[[Clock], Store],
) -> None:
    """Invariant: ``others(at)`` sums exactly the holds of the sender's other legs whose
    lock is neither recorded by the watcher nor seen mined at or below ``at`` (None: at
    any height); the asking leg's own hold and other senders' are never in it; amounts are
    exact integers beyond 64 bits."""
    store = make_store(Clock())
    chain = chain_key(EVM)
    book = Reservations(store)
    sender = "0x" + "ab" * 20
    legs = []
    for n in range(4):
        t = swap_terms(10 + n)
        store.create(t)
        legs.append(
            book.leg(
                swap_id=t.swap_id,
                role=Role.PARTICIPANT,
                chain=chain,
                sender=sender.upper().replace("0X", "0x") if n == 3 else sender,
                lock_id=f"lock-{n}",
                asset=None,
            )
        )
    stranger = swap_terms(20)
    store.create(stranger)
    for n, leg in enumerate(legs):
        before = leg.hold(LockCost(gas=100_000 * (n + 1), coin=BIG + n), None)
        assert before.swaps == n  # the legs held before it (its own never counts)
    book.leg(
        swap_id=stranger.swap_id,
        role=Role.PARTICIPANT,
        chain=chain,
        sender="0x" + "cd" * 20,
        lock_id="lock-x",
        asset=None,
    ).hold(LockCost(gas=1, coin=1), None)
    everyone = InFlight(swaps=3, gas=900_000, coin=3 * BIG + 6)
    assert legs[0].others(None) == everyone  # legs 1 to 3 (3 spelled in capitals)
    # leg 1's lock recorded by the watcher at height 50
    locked = ChainEvent("Locked", 50, "0x01", 0, {"lock_id": "lock-1", "hashlock": "0x00"})
    store.advance_chain(chain, expected=None, height=60, events=[locked], block_hash=None,
                        keep_from=0)  # fmt: skip
    # leg 2's lock seen mined by the relayer at height 55
    book.landed(legs[2].swap_id, Role.PARTICIPANT, 55)
    legs_2_and_3 = InFlight(swaps=2, gas=700_000, coin=2 * BIG + 5)
    only_3 = InFlight(swaps=1, gas=400_000, coin=BIG + 3)
    assert legs[0].others(49) == everyone
    assert legs[0].others(50) == legs_2_and_3
    assert legs[0].others(55) == only_3
    assert legs[0].others(None) == only_3
    # the relayer finds leg 2's lock gone (a reorg took it): its hold counts again
    book.landed(legs[2].swap_id, Role.PARTICIPANT, None)
    assert legs[0].others(55) == legs_2_and_3
    # a reorg replaces the blocks above 49: leg 1's lock is no longer spent
    assert store.rewind_chain(chain, expected=60, to_height=49) is not None
    assert legs[0].others(55) == everyone
    # leg 3's swap ends: its hold goes; leg 1's hold is written again (the same check run
    # again after a crash): replaced, not added
    book.release(legs[3].swap_id)
    legs[1].hold(LockCost(gas=200_000, coin=BIG + 1), None)
    assert legs[0].others(49) == InFlight(swaps=2, gas=500_000, coin=2 * BIG + 3)
    # a hold written once its lock is recorded counts as landed at once
    store.advance_chain(chain, expected=49, height=70,
                        events=[ChainEvent("Locked", 65, "0x02", 0,
                                           {"lock_id": "lock-2", "hashlock": "0x00"})],
                        block_hash=None, keep_from=0)  # fmt: skip
    legs[2].hold(LockCost(gas=300_000, coin=BIG + 2), None)
    assert legs[0].others(64) == InFlight(swaps=2, gas=500_000, coin=2 * BIG + 3)
    assert legs[0].others(65) == InFlight(swaps=1, gas=200_000, coin=BIG + 1)
    # the totals agree with the holds one by one
    for n in (1, 2, 3):
        book.release(legs[n].swap_id)
    assert legs[0].others(None) == InFlight()
