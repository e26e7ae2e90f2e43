"""The interop suite's actor and mutation names, importable without hypothesis or a chain SDK
(``stbridge interop-test --help`` lists them and must start fast)."""

from __future__ import annotations

from typing import Final

__all__ = ["ACTORS", "MUTATION_NAMES"]

ACTORS: Final = (
    "chains",
    "relayer",
    "counterparty",
    "third_party",
    "token_agent",
    "api_client",
    "operator",
)
"""The actors of issue 16 whose rules the state machine can run (each can be switched off)."""

MUTATION_NAMES: Final = (
    "at_risk_at_slowest_block",
    "claim_before_lock_confirmed",
    "claim_window_without_confirmations",
    "daemon_honours_fault_kill",
    "deadlines_from_host_clock",
    "fencing_only",
    "htlc_token_zero_closes_native",
    "lease_without_fencing",
    "lock_read_ignores_partition",
    "matcher_ignores_escrow",
    "matcher_ignores_sender",
    "no_swap_isolation",
    "no_token_recheck",
    "non_ascii_bearer_500",
    "order_id_returns_old_swap",
    "readyz_leaks_store_error",
    "refund_skips_clawed_back",
    "refused_claim_without_back_off",
    "restart_forgets_old_locks",
    "reveal_without_margin",
    "shortfall_counts_partition_units",
    "shortfall_unchecked",
    "watcher_trusts_unhashed_cursor",
)
"""The names of :data:`relayer.interop.mutations.MUTATIONS` (a unit test keeps them equal)."""
