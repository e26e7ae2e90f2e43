"""The relayer's Prometheus instruments, and the stage a swap is in.

The service counts and times as it works; the API serves :attr:`RelayerMetrics.registry` at
``/metrics`` (adding the gauges it computes at scrape time: swaps by outcome, deadlines at
risk).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from bridge.swap import LegPhase, SwapState

__all__ = ["STAGES", "RelayerMetrics", "stage_of"]

STAGES = (
    "compliance",
    "initiator_lock",
    "participant_lock",
    "recheck",
    "reveal",
    "settle",
    "refund",
    "done",
)
"""The stages of a swap, in protocol order (``done``: a terminal outcome)."""

# a stage lasts from a second (a tick) to the whole settlement window (hours)
_BUCKETS = (1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400)


def stage_of(state: SwapState) -> str:
    """The stage ``state`` is in (one of :data:`STAGES`)."""
    i, p = state.initiator.phase, state.participant.phase
    if state.outcome.value != "open":
        return "done"
    if state.decision == "pending":
        return "compliance"
    if LegPhase.REFUND_SENT in (i, p) or state.recheck == "failed":
        return "refund"
    if state.secret_public:
        return "settle"
    if i is LegPhase.LOCK_SENT:
        return "initiator_lock"
    if i is LegPhase.LOCKED and p in (LegPhase.NONE, LegPhase.LOCK_SENT):
        return "participant_lock"
    if p is LegPhase.CLAIM_SENT:
        return "reveal"
    if i is LegPhase.LOCKED and p is LegPhase.LOCKED:
        return "recheck"
    return "refund"


class RelayerMetrics:
    """Counters and histograms of one relayer process (its own registry)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.stage_seconds = Histogram(
            "stbridge_swap_stage_seconds",
            "Wall-clock time swaps spent in each stage (observed when they leave it)",
            ["stage"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.rpc_errors = Counter(
            "stbridge_rpc_errors",
            "Chain RPC failures (retried), by chain",
            ["chain"],
            registry=self.registry,
        )
        self.reorgs = Counter(
            "stbridge_reorgs",
            "Reorgs the chain watcher rolled back, by chain",
            ["chain"],
            registry=self.registry,
        )
        self.deep_reorgs = Counter(
            "stbridge_deep_reorgs",
            "Reorgs that removed events already confirmed and acted on, by chain",
            ["chain"],
            registry=self.registry,
        )
        self.secrets_held = Counter(
            "stbridge_secrets_held",
            "Revealing claims held back because the other lock was not open on chain",
            registry=self.registry,
        )
        self.swap_errors = Counter(
            "stbridge_swap_errors",
            "Swaps whose tick failed with an unexpected error (retried with back-off), by error",
            ["error"],
            registry=self.registry,
        )
        self.leases_lost = Counter(
            "stbridge_leases_lost",
            "Swaps whose lease another replica took over while this one acted on them",
            registry=self.registry,
        )
        self.chain_height = Gauge(
            "stbridge_chain_scanned_height",
            "The height each chain's watcher has scanned to",
            ["chain"],
            registry=self.registry,
        )
        self.decoy_locks = Counter(
            "stbridge_decoy_locks",
            "Locks under a swap's hashlock that are not its leg's escrow (ignored), by chain",
            ["chain"],
            registry=self.registry,
        )
        self.tx_refusals = Counter(
            "stbridge_tx_refusals",
            "Claims and refunds the chain or the token refused (retried with back-off), by action",
            ["action"],
            registry=self.registry,
        )
        self.escrow_shortfall = Gauge(
            "stbridge_escrow_shortfall",
            "Units an HTLC holds less than its open locks of a token (an agent moved them)",
            ["chain", "asset"],
            registry=self.registry,
        )
