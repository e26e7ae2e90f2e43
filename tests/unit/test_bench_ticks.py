"""The bench's tick budget per wave (``relayer.bench.max_ticks``)."""

from __future__ import annotations

from relayer.bench import max_ticks


def test_a_wave_on_timed_blocks_gets_the_ticks_of_thirty_blocks_in_pauses() -> None:
    """Invariant: with timed blocks a wave's ticks, at the pause between them alone, last
    at least 30 blocks (a swap needs four one after another, and a slow tick only makes
    fewer ticks pass). One swap on 12 s blocks had 220 ticks of about 0.2 s: 44 s, fewer
    than four blocks, and the bench gave up on it unsettled."""
    for swaps in (1, 10, 100, 1000):
        assert max_ticks(swaps, block_time=0, pause=0.0) == 20 * swaps + 200
        for block_time in (1, 2, 12):
            ticks = max_ticks(swaps, block_time=block_time, pause=0.2)
            assert ticks * 0.2 >= 30 * block_time
            assert ticks >= 20 * swaps + 200
