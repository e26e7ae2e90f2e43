"""The interop suite's actors and invariants on the relayer's own records: the chain as its
store keeps it, and the pace at which it retries what a token refused (issue 13 item 13).

:class:`RecordActors` is mixed into :class:`~relayer.interop.machine.InteropMachine`:

===============================  =================================================================
rule (actor)                     what it does
===============================  =================================================================
``operator_drops_block_hashes``  the operator puts back a store that kept no block hash for one
(operator)                       EVM chain (restored from a backup an older relayer wrote, or
                                 pruned by hand): the watcher's cursor has no hash to compare
                                 with the chain. A real store, changed with SQL by another
                                 connection, as such a store would be
``agent_freeze_after_reveal``    the T-REX agent freezes the buyer's security wallet the moment
(token_agent)                    a swap's secret is out and the security lock is still open
                                 (before the relayer's next tick): the buyer's claim of the
                                 security, owed by rule 4, is now refused by the token
===============================  =================================================================

Invariants (each docstring states it): ``recorded_locks_are_on_the_chain`` (the store forgets
what a reorg removed, whether or not it kept the cursor block's hash) and
``a_refused_claim_waits_out_its_back_off`` (a claim or refund the chain or the token refuses
is retried after the swap's back-off, and counted, not at once and not unseen).

Each relayer tick goes through :meth:`RecordActors._records_tick` (the machine's
``_run_tick`` calls it around ``service.tick()``), which notes the refusals the tick met and
that the replica polled every chain.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import invariant, precondition, rule

from bridge.swap import Outcome, chain_key
from relayer.retry import RETRY_BASE_S
from relayer.service import RelayerService

if TYPE_CHECKING:
    from pathlib import Path

    from relayer.interop.machine import InvariantViolation, SwapRecord
    from relayer.interop.world import InteropWorld

__all__ = ["RecordActors", "Refusal"]

_SETTLING = ("claim", "refund")
"""The actions whose refusal the engine asks again (a refused lock is a lock failure)."""


@dataclass(frozen=True)
class Refusal:
    """One claim or refund the chain or the token refused, as the relayer recorded it."""

    replica: str
    swap_id: str
    action: str
    role: str
    at: float
    """The replica's retry clock when its tick met the refusal (its back-off's clock)."""
    reason: str


class RecordActors:
    """The operator's block-hash fault, the agent's freeze after a reveal, and the two
    invariants on the relayer's records (see the module docstring)."""

    if TYPE_CHECKING:
        ready: bool
        swaps: list[SwapRecord]
        workdir: Path
        dsn: str | None
        world: InteropWorld
        public: set[bytes]
        frozen: bool
        EVM_CHAINS: ClassVar[tuple[str, ...]]

        @property
        def svc(self) -> RelayerService: ...

        def _on(self, rule_name: str) -> bool: ...

        def _act(self, actor: str) -> bool: ...

        def _counted(self) -> None: ...

        def _lock_state_of(self, chain: str, lock_id: str) -> str: ...

        def _states(self, swap: SwapRecord) -> tuple[str, str]: ...

        def agent_freeze(self, frozen: bool) -> None: ...

        @staticmethod
        def _violation(name: str, swap: SwapRecord | None, detail: str) -> InvariantViolation: ...

    refusals: list[Refusal]
    """Every refused claim or refund of the example, in the order the ticks met them."""
    refusals_met: dict[int, int]
    acted_clock: dict[tuple[str, str], float]
    """Per (replica, swap): the replica's retry clock when it last began a claim or refund
    (kept by the machine's wrapper of ``_claim`` / ``_refund``)."""
    """Per relayer process (``id`` of its service): the refusals its ticks met."""
    unpolled: set[str]
    """EVM chains changed under the relayer (a reorg) since a replica last polled them."""
    hashes_dropped: list[str]
    """The chains whose kept block hashes the operator dropped (in order)."""
    freeze_on_reveal: bool
    """Whether the agent freezes the buyer once a swap's secret is out (the rule armed it)."""
    in_tick: bool
    """Whether a relayer is ticking (the machine's: its submissions meet the relayer's faults)."""

    def _records_init(self) -> None:
        self.refusals = []
        self.refusals_met = {}
        self.unpolled = set()
        self.hashes_dropped = []
        self.freeze_on_reveal = False

    # ------------------------------------------------------------------ the tick's record
    @contextlib.contextmanager
    def _records_tick(self, service: RelayerService) -> Iterator[None]:
        """Around one tick of ``service``: the armed agent strikes first if a secret is out;
        after the tick, the refusals it met are recorded and its poll of every chain noted."""
        if self.freeze_on_reveal and not self.frozen and self._revealed_with_security_open():
            self.freeze_on_reveal = False
            # the agent's own transaction, not the relayer's: no relayer fault applies to it
            in_tick, self.in_tick = self.in_tick, False
            try:
                self.agent_freeze(True)
            finally:
                self.in_tick = in_tick
        before = {s.swap_id: self._refused(service, s.swap_id) for s in self.swaps}
        yield
        self.unpolled.clear()  # the tick polled every chain first
        after = float(service.retry_clock())
        for swap in self.swaps:
            seen = self._refused(service, swap.swap_id)
            # dated when the refused claim or refund began, not at the tick's end: the
            # chains' clocks can move within a tick (a takeover, a lost submission)
            at = self.acted_clock.get((service.replica_id, swap.swap_id), after)
            for entry in seen[len(before.get(swap.swap_id, [])) :]:
                self.refusals.append(
                    Refusal(
                        replica=service.replica_id,
                        swap_id=swap.swap_id,
                        action=str(entry["action"]),
                        role=str(entry["role"]),
                        at=at,
                        reason=str(entry.get("reason", ""))[:200],
                    )
                )
                self.refusals_met[id(service)] = self.refusals_met.get(id(service), 0) + 1

    @staticmethod
    def _refused(service: RelayerService, swap_id: str) -> list[dict[str, Any]]:
        """The swap's ``tx_failed`` inputs for a claim or refund, in order."""
        return [
            e["input"]
            for e in service.store.input_log(swap_id)
            if e["input"].get("kind") == "tx_failed" and e["input"].get("action") in _SETTLING
        ]

    def _revealed_with_security_open(self) -> bool:
        """Some open swap's secret is out (the relayer's record or the chains' call data)
        while the seller's security lock is still open on chain."""
        for swap in self.swaps:
            state = self.svc.store.get(swap.swap_id)
            if state.outcome is not Outcome.OPEN:
                continue
            if not (state.secret_public or swap.hashlock in self.public):
                continue
            if self._states(swap)[0] == "open":
                return True
        return False

    # ------------------------------------------------------------------ rules
    @precondition(
        lambda self: (
            self._on("operator_drops_block_hashes") and self._act("operator") and bool(self.swaps)
        )
    )
    @rule(data=st.data())
    def operator_drops_block_hashes(self, data: st.DataObject) -> None:
        """The operator puts back a store without any kept block hash for one EVM chain (a
        backup written by an older relayer, or pruned by hand): the cursor stays, nothing
        proves its block is still on the chain."""
        chain = data.draw(st.sampled_from(self.EVM_CHAINS), label="chain")
        self.drop_block_hashes(chain)

    def drop_block_hashes(self, chain: str) -> None:
        """Delete every kept block hash of ``chain`` from the relayer's store, through a
        connection of its own (see :meth:`operator_drops_block_hashes`)."""
        key = chain_key(self.svc.chains[chain].chain)
        if self.dsn is not None:
            import psycopg

            with psycopg.connect(self.dsn, autocommit=True) as conn:
                conn.execute("DELETE FROM chain_blocks WHERE chain = %s", (key,))
        else:
            path = self.workdir / "relayer.sqlite3"
            with contextlib.closing(sqlite3.connect(path, timeout=30)) as other:
                other.execute("DELETE FROM chain_blocks WHERE chain = ?", (key,))
                other.commit()
        self.hashes_dropped.append(chain)

    @precondition(
        lambda self: (
            self._on("agent_freeze_after_reveal") and self._act("token_agent") and bool(self.swaps)
        )
    )
    @rule()
    def agent_freeze_after_reveal(self) -> None:
        """The T-REX agent watches the chains and freezes the buyer's security wallet the
        moment a swap's secret is out while the seller's security lock is still open
        (before the relayer's next tick): the seller has the cash, and the buyer's claim of
        the security, which the relayer owes it, is refused by the token until the freeze
        is lifted (issue 13 item 13: the refused claim's retry pace)."""
        self.freeze_on_reveal = True

    # ------------------------------------------------------------------ invariants
    @invariant()
    def recorded_locks_are_on_the_chain(self) -> None:
        """The store's record of a chain is the chain: once a relayer replica has polled an
        EVM chain since it last changed under it (a reorg), every lock of the example's swaps
        that the store records on that chain at or below the watcher's cursor is on the
        chain. A reorg's removed locks are forgotten whether or not the store kept the
        cursor block's hash (a store without one is re-verified, never trusted; issue 13
        item 13). Locks are read from the chain by their ids."""
        if not self.ready:
            return
        self._counted()
        store = self.svc.store
        for chain in self.EVM_CHAINS:
            if chain in self.unpolled:
                continue
            key = chain_key(self.svc.chains[chain].chain)
            cursor = store.cursor(key)
            if cursor is None:
                continue
            for swap in self.swaps:
                for event in store.locks_by_hashlock(key, swap.terms.hashlock):
                    if event.height > cursor:
                        continue
                    lock_id = str(event.args.get("lock_id"))
                    if self._lock_state_of(chain, lock_id) == "absent":
                        raise self._violation(
                            "recorded_locks_are_on_the_chain",
                            swap,
                            f"the store records lock {lock_id} on {chain} at height "
                            f"{event.height} (cursor {cursor}), but the chain has no such "
                            f"lock (block hashes dropped on: {self.hashes_dropped or 'none'})",
                        )

    @invariant()
    def a_refused_claim_waits_out_its_back_off(self) -> None:
        """A claim or refund the chain or the token refuses (a frozen receiver) is asked
        again, but after the swap's back-off, not at once: two refusals of one swap met by
        one replica are at least ``RETRY_BASE_S`` apart on that replica's retry clock (the
        back-off only grows from there; it is kept in the store, so a restart keeps it);
        and every refusal a relayer process meets is counted in its
        ``stbridge_tx_refusals_total`` (issue 13 item 13: before, a refused claim was sent
        about eight times a second, uncounted)."""
        if not self.ready:
            return
        self._counted()
        last: dict[tuple[str, str], Refusal] = {}
        for refusal in self.refusals:
            key = (refusal.replica, refusal.swap_id)
            previous = last.get(key)
            if previous is not None and refusal.at - previous.at < RETRY_BASE_S:
                swap = next((s for s in self.swaps if s.swap_id == refusal.swap_id), None)
                so_far = sum(1 for r in self.refusals if r.swap_id == refusal.swap_id)
                raise self._violation(
                    "a_refused_claim_waits_out_its_back_off",
                    swap,
                    f"{refusal.replica} sent the {refusal.role} leg's {refusal.action} again "
                    f"{refusal.at - previous.at:.0f} s after the chain refused its "
                    f"{previous.action} ({so_far} refusals of the swap in all; {refusal.reason})",
                )
            last[key] = refusal
        for service in self._services():
            met = self.refusals_met.get(id(service), 0)
            counted = sum(
                service.metrics.registry.get_sample_value(
                    "stbridge_tx_refusals_total", {"action": action}
                )
                or 0.0
                for action in _SETTLING
            )
            if int(counted) != met:
                raise self._violation(
                    "a_refused_claim_waits_out_its_back_off",
                    None,
                    f"{service.replica_id} met {met} refused claims or refunds, its "
                    f"stbridge_tx_refusals_total counts {int(counted)}",
                )

    def _services(self) -> list[RelayerService]:
        """The relayer processes running now (replica A, and B if it has started)."""
        found = [self.svc]
        replica = getattr(self, "replica", None)
        if isinstance(replica, RelayerService):
            found.append(replica)
        return found
