"""Mutations of the relayer that the interop suite must catch (issue 16, "mutation tests").

Each mutation re-introduces one class of the bugs of the safety issue (13) by patching the
real code in memory, for the duration of a ``with`` block; nothing on disk changes:

- ``matcher_ignores_sender``: the relayer takes any lock under the swap's hashlock with the
  leg's receiver, amount and deadline for its leg (sender, asset and contract ignored), and
  the engine accepts its observation (``bridge.swap._lock_matches`` without the sender);
- ``reveal_without_margin``: the secret may be revealed up to the last second before the
  cash deadline (``SwapTerms.reveal_by`` = deadline - 1, the live time check removed);
- ``claim_window_without_confirmations``: the timelock calculator's claim window leaves out
  the cash chain's confirmation wait before the relayer acts on a reveal;
- ``claim_before_lock_confirmed``: every recorded event counts as confirmed (the relayer
  acts on a lock, and reveals against it, before it is ``confirmations`` deep).

:data:`MUTATIONS` maps each name to its context manager; :data:`TARGETS` gives the
:class:`~relayer.interop.machine.MachineConfig` that searches for its counterexample.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import Any

from hypothesis import strategies as st

import bridge.htlc
import bridge.swap
import relayer.evm
from bridge.htlc import ChainTiming, RelayerBudget
from bridge.ports import ChainEvent, HtlcLock
from bridge.swap import LockObserved, Role, SwapState, SwapTerms, chain_key
from relayer.interop.machine import MachineConfig
from relayer.interop.strategies import budgets, chain_setups, scenarios, trades
from relayer.service import RelayerService, _RevealRefused
from relayer.store import Store
from relayer.watcher import ChainView

__all__ = ["MUTATIONS", "TARGETS", "patched"]


@contextlib.contextmanager
def patched(target: Any, name: str, value: Any) -> Iterator[None]:
    """Set ``target.name`` to ``value`` inside the block, and put the original back."""
    original = target.__dict__[name] if isinstance(target, type) else getattr(target, name)
    setattr(target, name, value)
    try:
        yield
    finally:
        setattr(target, name, original)


def _same_terms(state: SwapState, role: Role, receiver: str, amount: int, deadline: int) -> bool:
    leg = state.terms.leg(role)
    return (
        receiver.lower() == leg.receiver.lower()
        and amount == leg.amount
        and deadline == state.terms.deadline(role)
    )


@contextlib.contextmanager
def matcher_ignores_sender() -> Iterator[None]:
    """The lock matcher of before the safety fix: hashlock, receiver, amount, deadline."""

    def _find(self: RelayerService, state: SwapState, role: Role) -> HtlcLock | None:
        rt = self._rt(state, role)
        for lock in rt.htlc.find(bytes.fromhex(state.terms.hashlock[2:])):
            if _same_terms(state, role, lock.receiver, lock.amount, lock.deadline):
                return lock
        return None

    def _recorded_lock(self: RelayerService, state: SwapState, role: Role) -> ChainEvent | None:
        key = chain_key(state.terms.leg(role).chain)
        for event in self.store.locks_by_hashlock(key, state.terms.hashlock):
            args = event.args
            if _same_terms(
                state,
                role,
                str(args["receiver"]),
                int(str(args["amount"])),
                int(str(args["deadline"])),
            ):
                return event
        return None

    def _lock_matches(terms: SwapTerms, change: LockObserved) -> bool:
        leg = terms.leg(change.role)
        return (
            change.hashlock == terms.hashlock
            and change.amount == leg.amount
            and change.receiver.lower() == leg.receiver.lower()
            and change.deadline == terms.deadline(change.role)
        )

    with (
        patched(RelayerService, "_find", _find),
        patched(RelayerService, "_recorded_lock", _recorded_lock),
        patched(bridge.swap, "_lock_matches", _lock_matches),
    ):
        yield


@contextlib.contextmanager
def reveal_without_margin() -> Iterator[None]:
    """The reveal allowed until the cash deadline minus one second, not checked live."""

    def reveal_by(self: SwapTerms) -> int:
        return self.participant_deadline - 1

    def _may_reveal(self: RelayerService, state: SwapState, rt: Any) -> None:
        # the original without its first check (chain time <= reveal_by)
        self._require_whole(state, Role.INITIATOR)
        initiator = self._find(state, Role.INITIATOR)
        if initiator is None or initiator.state != "open":
            from relayer.service import _SecretHeld

            raise _SecretHeld(f"swap {state.terms.swap_id}: the initiator lock is not open")
        result = self._check(state, before_claim=True)
        if not result.allowed:
            raise _RevealRefused(result)

    with (
        patched(SwapTerms, "reveal_by", property(reveal_by)),
        patched(RelayerService, "_may_reveal", _may_reveal),
    ):
        yield


@contextlib.contextmanager
def claim_window_without_confirmations() -> Iterator[None]:
    """``bridge.htlc.claim_needed_s`` without the participant chain's confirmation wait."""
    original: Callable[..., int] = bridge.htlc.claim_needed_s

    def claim_needed_s(
        initiator_chain: ChainTiming,
        budget: RelayerBudget,
        participant_chain: ChainTiming | None = None,
    ) -> int:
        return original(initiator_chain, budget, None)

    with patched(bridge.htlc, "claim_needed_s", claim_needed_s):
        yield


@contextlib.contextmanager
def claim_before_lock_confirmed() -> Iterator[None]:
    """Every event the watcher recorded counts as confirmed at once."""

    def confirmed(self: ChainView, height: int) -> bool:
        return True

    with patched(ChainView, "confirmed", confirmed):
        yield


@contextlib.contextmanager
def no_token_recheck() -> Iterator[None]:
    """The relayer wired without any token's own dry run (the daemon before the fix of issue
    13 item 3): the re-check before the reveal applies the law only, not the token's rules
    (a frozen or unverified buyer passes)."""

    def evm_dry_run(client: Any) -> None:
        return None

    with patched(relayer.evm, "evm_dry_run", evm_dry_run):
        yield


@contextlib.contextmanager
def shortfall_unchecked() -> Iterator[None]:
    """No comparison of the pooled HTLC's balance with its open locks before a claim, refund
    or reveal (issue 13 item 9): units an agent forced out are paid from another lock, and
    nothing tells the operator."""

    def _require_whole(self: RelayerService, state: SwapState, role: Role) -> None:
        return None

    with patched(RelayerService, "_require_whole", _require_whole):
        yield


@contextlib.contextmanager
def no_swap_isolation() -> Iterator[None]:
    """``RelayerService.tick`` without its per-swap ``try`` (issue 13 item 12): one swap's
    unexpected error escapes the tick and stops every other swap."""

    def tick(self: RelayerService) -> list[str]:
        self.poll_chains()
        ids = self.store.claim_swaps(
            self.replica_id, lease_seconds=self.lease_seconds, limit=self.max_swaps_per_tick
        )
        for swap_id in ids:
            self.observe(swap_id)
            self.run_effects(swap_id)
        return ids

    with patched(RelayerService, "tick", tick):
        yield


@contextlib.contextmanager
def lease_without_fencing() -> Iterator[None]:
    """Leases without a fencing token (issue 13 item 7): a replica whose lease ran out still
    writes the swap (``Store._fence`` checks nothing), and a lock it sends that the chain
    refuses is recorded as a lock failure even when the leg's lock is on chain (the check
    in ``RelayerService._send`` sees no lock)."""
    find = RelayerService._find

    def _fence(self: Store, cur: Any, swap_id: str) -> None:
        return None

    def _find(self: RelayerService, state: SwapState, role: Role) -> HtlcLock | None:
        caller = sys._getframe(1).f_code.co_name
        return None if caller == "_send" else find(self, state, role)

    with patched(Store, "_fence", _fence), patched(RelayerService, "_find", _find):
        yield


MUTATIONS: dict[str, Callable[[], contextlib.AbstractContextManager[None]]] = {
    "matcher_ignores_sender": matcher_ignores_sender,
    "reveal_without_margin": reveal_without_margin,
    "claim_window_without_confirmations": claim_window_without_confirmations,
    "claim_before_lock_confirmed": claim_before_lock_confirmed,
    "no_token_recheck": no_token_recheck,
    "shortfall_unchecked": shortfall_unchecked,
    "no_swap_isolation": no_swap_isolation,
    "lease_without_fencing": lease_without_fencing,
}
"""Every mutation by name."""

_QUICK = chain_setups(block_s=(2, 4), variance_s=(0, 2), confirmations=(0, 0), drift_s=(0, 2))
_SMALL = budgets(reaction_s=(0, 5), recheck_s=(0, 5), margin_s=(0, 10), poll_s=(0, 0))

TARGETS: dict[str, MachineConfig] = {
    "matcher_ignores_sender": MachineConfig(
        name="matcher_ignores_sender",
        scenario=scenarios(sec=_QUICK, cash=_QUICK, budget=_SMALL),
        trade=trades(extra_window_s=(0, 60)),
        max_swaps=1,
        sec_backend="anvil",
        rules=frozenset(
            {"submit", "tick", "counterparty_decoy", "counterparty_lock", "look_alike"}
        ),
    ),
    "reveal_without_margin": MachineConfig(
        name="reveal_without_margin",
        scenario=scenarios(sec=_QUICK, cash=_QUICK, budget=_SMALL),
        trade=trades(extra_window_s=(0, 60), external=False),
        max_swaps=1,
        sec_backend="anvil",
        rules=frozenset({"submit", "tick", "approach"}),
        boundaries=st.just("participant"),
        offsets=st.integers(1, 2),
    ),
    "claim_window_without_confirmations": MachineConfig(
        name="claim_window_without_confirmations",
        scenario=scenarios(
            sec=_QUICK,
            cash=chain_setups(
                block_s=(12, 15), variance_s=(0, 5), confirmations=(8, 10), drift_s=(0, 2)
            ),
            budget=_SMALL,
        ),
        trade=trades(extra_window_s=(0, 60), external=False),
        max_swaps=1,
        sec_backend="anvil",
        rules=frozenset({"submit", "tick", "approach"}),
        boundaries=st.just("reveal_by"),
        offsets=st.integers(0, 3),
    ),
    "no_token_recheck": MachineConfig(
        name="no_token_recheck",
        scenario=scenarios(sec=_QUICK, cash=_QUICK, budget=_SMALL),
        trade=trades(extra_window_s=(0, 30), external=False),
        max_swaps=1,
        sec_backend="anvil",
        rules=frozenset({"submit", "tick", "agent_freeze"}),
        agents_undo=False,
    ),
    "shortfall_unchecked": MachineConfig(
        name="shortfall_unchecked",
        scenario=scenarios(sec=_QUICK, cash=_QUICK, budget=_SMALL),
        trade=trades(extra_window_s=(30, 60), external=False),
        max_swaps=3,
        sec_backend="anvil",
        rules=frozenset({"submit", "tick", "agent_force_out"}),
    ),
    "lease_without_fencing": MachineConfig(
        name="lease_without_fencing",
        scenario=scenarios(sec=_QUICK, cash=_QUICK, budget=_SMALL),
        trade=trades(extra_window_s=(30, 60), external=False),
        max_swaps=2,
        sec_backend="anvil",
        rules=frozenset({"submit", "tick", "replica_tick", "lease_expires", "takeover_mid_effect"}),
    ),
    "no_swap_isolation": MachineConfig(
        name="no_swap_isolation",
        scenario=scenarios(sec=_QUICK, cash=_QUICK, budget=_SMALL),
        trade=trades(extra_window_s=(30, 60), external=False),
        max_swaps=2,
        sec_backend="anvil",
        rules=frozenset({"submit", "tick", "swap_bug"}),
    ),
    "claim_before_lock_confirmed": MachineConfig(
        name="claim_before_lock_confirmed",
        scenario=scenarios(
            sec=_QUICK,
            cash=chain_setups(block_s=(2, 4), variance_s=(0, 2), confirmations=(3, 4)),
            budget=_SMALL,
        ),
        trade=trades(extra_window_s=(30, 60), external=False),
        max_swaps=1,
        sec_backend="anvil",
        rules=frozenset({"submit", "tick", "reorg", "claim_with_public_secret"}),
    ),
}
"""The targeted search (actors, rules, strategies) that finds each mutation's counterexample."""
