"""Hypothesis strategies for the interop suite: chain timing, trades, actors and faults.

Every strategy draws only values inside the model's assumptions (block times within the
timing the relayer is configured with, reorgs of a stated depth, clock skew within the
configured drift), so a failure points at the relayer or the contracts, not at the
generator. Faults *beyond* the assumptions (a reorg deeper than the confirmation depth, a
chain stalled past its slowest block time) are drawn too, and the state machine marks the
swaps they touch as outside the guarantees (see :mod:`relayer.interop.machine`).

The ideas follow ``tests/strategies.py`` (valid values only; invalid ones derived from valid
ones); this module does not import the test tree.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

from bridge.htlc import ChainTiming, RelayerBudget, minimum_settlement_window
from relayer.interop.names import ACTORS

__all__ = [
    "ACTORS",
    "CHAIN_PAIRS",
    "ChainSetup",
    "Scenario",
    "TradeSpec",
    "algorand_setups",
    "budgets",
    "chain_setups",
    "odd_calls",
    "reorg_depths",
    "scenarios",
    "skews",
    "trades",
]


CHAIN_PAIRS = ("evm-evm", "evm-algorand")
"""Where the two legs run: the security on EVM, the cash on a second EVM chain (anvil) or on
the embedded Algorand ledger (:mod:`relayer.interop.algorand`)."""


@dataclass(frozen=True)
class ChainSetup:
    """One chain's timing as the relayer is configured for it, and its confirmation depth."""

    timing: ChainTiming
    confirmations: int

    def block_seconds(self) -> tuple[int, int]:
        """The fastest and slowest block interval in whole seconds (at least 1)."""
        return (
            max(1, self.timing.block_time_min_ms // 1000),
            max(1, self.timing.block_time_max_ms // 1000),
        )


@dataclass(frozen=True)
class Scenario:
    """What one example runs under: both chains' setups and the relayer's budget."""

    sec: ChainSetup
    cash: ChainSetup
    budget: RelayerBudget

    def minimum_window(self) -> int:
        """The shortest settlement window the timelock calculator accepts here."""
        return minimum_settlement_window(
            initiator_chain=self.sec.timing, participant_chain=self.cash.timing, budget=self.budget
        )


@dataclass(frozen=True)
class TradeSpec:
    """One order: units of the security against cash base units, the extra window (added
    to the calculator's minimum), and whether the buyer is an external counterparty."""

    units: int
    cash: int
    extra_window_s: int
    external_buyer: bool


@st.composite
def chain_setups(
    draw: st.DrawFn,
    *,
    block_s: tuple[int, int] = (2, 15),
    variance_s: tuple[int, int] = (0, 10),
    confirmations: tuple[int, int] = (0, 3),
    drift_s: tuple[int, int] = (0, 10),
) -> ChainSetup:
    """A timestamp chain: block time ``min`` in ``block_s`` seconds plus a variance, a
    confirmation depth (also its finality depth for the calculator) and a clock drift."""
    low = draw(st.integers(*block_s))
    high = low + draw(st.integers(*variance_s))
    depth = draw(st.integers(*confirmations))
    timing = ChainTiming(
        deadline_unit="timestamp",
        block_time_min_ms=low * 1000,
        block_time_max_ms=high * 1000,
        finality_depth=depth,
        timestamp_drift_s=draw(st.integers(*drift_s)),
    )
    return ChainSetup(timing=timing, confirmations=depth)


def algorand_setups(
    *, block_s: tuple[int, int] = (1, 3), variance_s: tuple[int, int] = (0, 2)
) -> st.SearchStrategy[ChainSetup]:
    """A round chain as the relayer is configured for Algorand: deadlines in rounds, a block
    time ``min`` in ``block_s`` seconds plus a variance, final at once (no confirmations,
    no drift: a round is not a timestamp)."""

    @st.composite
    def build(draw: st.DrawFn) -> ChainSetup:
        low = draw(st.integers(*block_s))
        high = low + draw(st.integers(*variance_s))
        timing = ChainTiming(
            deadline_unit="round", block_time_min_ms=low * 1000, block_time_max_ms=high * 1000
        )
        return ChainSetup(timing=timing, confirmations=0)

    return build()


def budgets(
    *,
    reaction_s: tuple[int, int] = (0, 30),
    recheck_s: tuple[int, int] = (0, 10),
    margin_s: tuple[int, int] = (0, 60),
    poll_s: tuple[int, int] = (0, 10),
) -> st.SearchStrategy[RelayerBudget]:
    """The relayer's own time budget (seconds)."""
    return st.builds(
        RelayerBudget,
        reaction_s=st.integers(*reaction_s),
        compliance_recheck_s=st.integers(*recheck_s),
        margin_s=st.integers(*margin_s),
        poll_s=st.integers(*poll_s),
    )


def scenarios(
    sec: st.SearchStrategy[ChainSetup] | None = None,
    cash: st.SearchStrategy[ChainSetup] | None = None,
    budget: st.SearchStrategy[RelayerBudget] | None = None,
) -> st.SearchStrategy[Scenario]:
    """Both chains and the budget (defaults: :func:`chain_setups`, :func:`budgets`)."""
    return st.builds(
        Scenario,
        sec=sec if sec is not None else chain_setups(),
        cash=cash if cash is not None else chain_setups(),
        budget=budget if budget is not None else budgets(),
    )


def trades(
    *, max_units: int = 500, extra_window_s: tuple[int, int] = (0, 600), external: bool = True
) -> st.SearchStrategy[TradeSpec]:
    """An order: units, cash base units, window slack, and who the buyer is."""
    return st.builds(
        TradeSpec,
        units=st.integers(1, max_units),
        cash=st.integers(1, 10**9),
        extra_window_s=st.integers(*extra_window_s),
        external_buyer=st.booleans() if external else st.just(False),
    )


def reorg_depths(max_depth: int = 6) -> st.SearchStrategy[int]:
    """How many blocks a reorg removes (compared with the chain's confirmation depth by the
    machine: at most the depth is inside the assumptions, deeper is outside)."""
    return st.integers(1, max_depth)


def skews(max_s: int = 30) -> st.SearchStrategy[int]:
    """A forward jump of one chain's clock, in seconds (within or beyond its drift)."""
    return st.integers(1, max_s)


ODD_CALLS = (
    "claim_wrong_secret",
    "claim_token_zero",
    "refund_token_zero",
    "refund_early",
    "claim_other_receiver",
    "lock_zero_amount",
    "lock_past_deadline",
    "native_claim_of_token_lock",
)
"""Calls a third party makes to every public HTLC function with odd arguments."""


def odd_calls() -> st.SearchStrategy[str]:
    """One of :data:`ODD_CALLS`."""
    return st.sampled_from(ODD_CALLS)
