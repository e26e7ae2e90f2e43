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
  acts on a lock, and reveals against it, before it is ``confirmations`` deep);
- ``htlc_token_zero_closes_native``: the cash chain's HTLC contract without the fix of issue
  13 item 2 (a mutant of ``HTLC.sol`` compiled at run time, :mod:`relayer.interop.contracts`);
- ``lock_read_ignores_partition``: the relayer's lock read takes a lock that has the leg's
  terms in another ERC-1400 partition for the leg (issue 13 item 13; the ERC-1400 world's
  partition orders and the seller's own lock of the other class reach it);
- ``api_*``, ``daemon_*``: the HTTP API's and the daemon's fixes of items 10, 11 and 14,
  reverted (see each function).

:data:`MUTATIONS` maps each name to its context manager; :data:`TARGETS` gives the
:class:`~relayer.interop.machine.MachineConfig` that searches for its counterexample.
"""

from __future__ import annotations

import contextlib
import hmac
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials
from hypothesis import strategies as st

import adapters.evm.htlc
import bridge.htlc
import bridge.swap
import relayer.api
import relayer.daemon
import relayer.evm
import relayer.interop.world
import relayer.service
from adapters.evm.contracts import Artifact, load_artifact
from adapters.evm.contracts import require_code_runs as shipped_code_check
from bridge.errors import BridgeError
from bridge.htlc import ChainHead, ChainTiming, RelayerBudget
from bridge.ports import ChainEvent, HtlcLock
from bridge.swap import LegPhase, LockObserved, Role, SwapState, SwapTerms, TxFailed, chain_key
from relayer.clients import OPERATOR
from relayer.interop.contracts import htlc_mutant_build
from relayer.interop.machine import MachineConfig
from relayer.interop.strategies import (
    algorand_setups,
    budgets,
    chain_setups,
    scenarios,
    trades,
)
from relayer.interop.world import CLASS_A, CLASS_B
from relayer.service import CrashPlan, RelayerService, _RevealRefused
from relayer.store import Store
from relayer.watcher import ChainView, ChainWatcher

__all__ = ["MUTATIONS", "TARGETS", "Mutation", "mutation", "patched"]

Mutation = contextlib.AbstractContextManager[None]
"""What a mutation gives: a ``with`` block inside which the bug is back."""

MUTATIONS: dict[str, Callable[[], Mutation]] = {}
"""Every mutation by name (filled by :func:`_registered`, in the order defined here)."""


def _registered(build: Callable[[], Mutation]) -> Callable[[], Mutation]:
    """Register ``build`` in :data:`MUTATIONS` under its function name."""
    MUTATIONS[build.__name__] = build
    return build


@contextlib.contextmanager
def patched(target: Any, name: str, value: Any) -> Iterator[None]:
    """Set ``target.name`` to ``value`` inside the block, and put the original back."""
    original = target.__dict__[name] if isinstance(target, type) else getattr(target, name)
    setattr(target, name, value)
    try:
        yield
    finally:
        setattr(target, name, original)


Patch = tuple[Any, str, Any]
"""``(target, attribute name, replacement)``: one attribute a mutation replaces."""


@contextlib.contextmanager
def mutation(*patches: Patch) -> Iterator[None]:
    """Every patch applied inside the block (in order), every original put back after (in
    reverse order), whatever the block raises: the one shape of every mutation here."""
    with contextlib.ExitStack() as stack:
        for target, name, value in patches:
            stack.enter_context(patched(target, name, value))
        yield


def _same_terms(state: SwapState, role: Role, receiver: str, amount: int, deadline: int) -> bool:
    leg = state.terms.leg(role)
    return (
        receiver.lower() == leg.receiver.lower()
        and amount == leg.amount
        and deadline == state.terms.deadline(role)
    )


@_registered
def matcher_ignores_sender() -> Mutation:
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

    return mutation(
        (RelayerService, "_find", _find),
        (RelayerService, "_recorded_lock", _recorded_lock),
        (bridge.swap, "_lock_matches", _lock_matches),
    )


@_registered
def reveal_without_margin() -> Mutation:
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

    return mutation(
        (SwapTerms, "reveal_by", property(reveal_by)),
        (RelayerService, "_may_reveal", _may_reveal),
    )


@_registered
def claim_window_without_confirmations() -> Mutation:
    """``bridge.htlc.claim_needed_s`` without the participant chain's confirmation wait."""
    original: Callable[..., int] = bridge.htlc.claim_needed_s

    def claim_needed_s(
        initiator_chain: ChainTiming,
        budget: RelayerBudget,
        participant_chain: ChainTiming | None = None,
    ) -> int:
        return original(initiator_chain, budget, None)

    return mutation((bridge.htlc, "claim_needed_s", claim_needed_s))


@_registered
def claim_before_lock_confirmed() -> Mutation:
    """Every event the watcher recorded counts as confirmed at once."""

    def confirmed(self: ChainView, height: int) -> bool:
        return True

    return mutation((ChainView, "confirmed", confirmed))


@_registered
def no_token_recheck() -> Mutation:
    """The relayer wired without any token's own dry run (the daemon before the fix of issue
    13 item 3): the re-check before the reveal applies the law only, not the token's rules
    (a frozen or unverified buyer passes)."""

    def evm_dry_run(client: Any) -> None:
        return None

    return mutation((relayer.evm, "evm_dry_run", evm_dry_run))


@_registered
def shortfall_unchecked() -> Mutation:
    """No comparison of the pooled HTLC's balance with its open locks before a claim, refund
    or reveal (issue 13 item 9): units an agent forced out are paid from another lock, and
    nothing tells the operator."""

    def _require_whole(self: RelayerService, state: SwapState, role: Role) -> None:
        return None

    return mutation((RelayerService, "_require_whole", _require_whole))


@_registered
def no_swap_isolation() -> Mutation:
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

    return mutation((RelayerService, "tick", tick))


@_registered
def lease_without_fencing() -> Mutation:
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

    return mutation((Store, "_fence", _fence), (RelayerService, "_find", _find))


def _asset_key(asset: Any) -> str | None:
    """An asset's id as a lock shows it: an EVM token address (lower case), an ASA id, or
    None for the native coin."""
    if asset is None:
        return None
    locator = asset.locator
    found = getattr(locator, "asset_id", None)
    return str(found) if found is not None else str(locator.address).lower()


@_registered
def matcher_ignores_escrow() -> Mutation:
    """The lock matcher exactly as issue 13 item 1 found it: hashlock, receiver, amount,
    deadline **and asset id**, but not the escrow itself (the template, its app, creator
    and fee cap on Algorand; the sender on both chains): any lock with those terms is
    taken for the leg."""

    def _find(self: RelayerService, state: SwapState, role: Role) -> HtlcLock | None:
        rt = self._rt(state, role)
        want = _asset_key(state.terms.leg(role).asset)
        for lock in rt.htlc.find(bytes.fromhex(state.terms.hashlock[2:])):
            if (
                _same_terms(state, role, lock.receiver, lock.amount, lock.deadline)
                and _asset_key(lock.asset) == want
            ):
                return lock
        return None

    def _recorded_lock(self: RelayerService, state: SwapState, role: Role) -> ChainEvent | None:
        key = chain_key(state.terms.leg(role).chain)
        want = _asset_key(state.terms.leg(role).asset)
        for event in self.store.locks_by_hashlock(key, state.terms.hashlock):
            args = event.args
            token = args.get("asset_id", args.get("token"))
            seen = None if token is None else str(token).lower()
            if seen == want and _same_terms(
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

    return mutation(
        (RelayerService, "_find", _find),
        (RelayerService, "_recorded_lock", _recorded_lock),
        (bridge.swap, "_lock_matches", _lock_matches),
    )


@_registered
def refund_skips_clawed_back() -> Mutation:
    """Issue 13 item 8: an escrow an issuer partly clawed back (``underfunded``) or emptied
    of the asset (``unknown``) is taken as settled and never refunded, although the
    adapter can refund whatever is left."""
    refund = RelayerService._refund

    def _refund(self: RelayerService, state: SwapState, role: Role) -> str | None:
        lock = self._find(state, role)
        if lock is not None and lock.state in ("underfunded", "unknown"):
            return None
        return refund(self, state, role)

    return mutation((RelayerService, "_refund", _refund))


@_registered
def restart_forgets_old_locks() -> Mutation:
    """Issue 13 item 6: a restarted relayer's Algorand HTLC port scans from the daemon's
    look-back only (the store's rounds of the open swaps' locks are not consulted), and a
    refund whose lock is not found counts as done."""
    refund = RelayerService._refund

    def recovery_height(self: Store, chain: str) -> int | None:
        return None

    def _refund(self: RelayerService, state: SwapState, role: Role) -> str | None:
        if self._find(state, role) is None:
            return None  # "not found" taken for "done"
        return refund(self, state, role)

    return mutation(
        (Store, "recovery_height", recovery_height), (RelayerService, "_refund", _refund)
    )


@_registered
def fencing_only() -> Mutation:
    """Issue 13 item 7, the fencing token alone: ``Store._fence`` checks nothing, so a
    replica whose lease ran out (another replica took the swap over) still renews its
    lease and writes the swap; the second defence (a lock refused while the leg's lock is
    on chain is no failure) is left in place."""

    def _fence(self: Store, cur: Any, swap_id: str) -> None:
        return None

    return mutation((Store, "_fence", _fence))


@_registered
def htlc_token_zero_closes_native() -> Mutation:
    """Issue 13 item 2 in the contract: the cash chain runs an ``HTLC.sol`` whose
    ``claimToken`` / ``refundToken`` with ``token = 0`` compute the native lock's id and
    accept a "payment" from an address without code (the mutant
    ``token_zero_closes_native`` of :mod:`relayer.interop.contracts`, compiled with the
    pinned solc from the shipped source and deployed at every example's start)."""
    bytecode, runtime = htlc_mutant_build("token_zero_closes_native", "cancun")

    def cash_htlc_build() -> str | None:
        return bytecode

    def require_code_runs(client: Any, address: str, name: str) -> Artifact:
        # the relayer's port accepts this build as it accepted HTLC.sol before the fix
        code = "0x" + bytes(client.w3.eth.get_code(client.checked_address(address))).hex()
        if code == runtime:
            return load_artifact(name)
        return shipped_code_check(client, address, name)

    return mutation(
        (relayer.interop.world, "cash_htlc_build", cash_htlc_build),
        (adapters.evm.htlc, "require_code_runs", require_code_runs),
    )


@_registered
def order_id_returns_old_swap() -> Mutation:
    """Issue 13 item 10: ``RelayerService.submit`` finds the swap of an ``order_id`` and
    returns it without comparing the terms (``_differences`` sees none)."""

    def _differences(old: Any, new: Any, path: str = "") -> tuple[str, ...]:
        return ()

    return mutation((relayer.service, "_differences", _differences))


@_registered
def non_ascii_bearer_500() -> Mutation:
    """Issue 13 item 11 (first half): the bearer check compares the credential as text
    with ``hmac.compare_digest``, which raises ``TypeError`` on non-ASCII text: a 500."""

    def _authorised(
        request: Request,
        creds: Annotated[HTTPAuthorizationCredentials | None, Depends(relayer.api._bearer)],
    ) -> None:
        request.state.client = OPERATOR
        token = request.app.state.token.decode("utf-8")
        if creds is None or not hmac.compare_digest(creds.credentials, token):
            raise HTTPException(status_code=401, detail="missing or wrong bearer token")

    return mutation((relayer.api, "_authorised", _authorised))


@_registered
def readyz_leaks_store_error() -> Mutation:
    """Issue 13 item 11 (second half): ``/readyz`` answers an unauthenticated caller with
    the store's error text (the app's route replaced by one that says why)."""
    original = relayer.api.create_app

    def create_app(service: Any, **kw: Any) -> FastAPI:
        app = original(service, **kw)
        app.router.routes[:] = [
            r for r in app.router.routes if getattr(r, "path", None) != "/readyz"
        ]

        @app.get("/readyz")
        def readyz() -> JSONResponse:
            try:
                service.store.list_ids(limit=1)
            except BridgeError as exc:
                return JSONResponse(
                    status_code=503, content={"status": "not ready", "detail": str(exc)}
                )
            return JSONResponse(content={"status": "ready"})

        return app

    return mutation((relayer.api, "create_app", create_app))


@_registered
def daemon_honours_fault_kill() -> Mutation:
    """Issue 13 item 14: the daemon arms the crash hook whenever ``STBRIDGE_FAULT_KILL``
    is set, whatever the configuration (no test mode, no refusal)."""

    def _crash_plan(settings: Any, environ: Mapping[str, str] | None = None) -> Any:
        env = os.environ if environ is None else environ
        value = env.get("STBRIDGE_FAULT_KILL")
        return CrashPlan.parse(value) if value else None

    return mutation((relayer.daemon, "_crash_plan", _crash_plan))


@_registered
def at_risk_at_slowest_block() -> Mutation:
    """Issue 13 item 13 (``deadlines_at_risk``): the rounds left before an Algorand deadline
    converted to seconds at the *slowest* block time, so a deadline that can come sooner
    is not counted at risk."""

    def deadlines_at_risk(self: RelayerService, within_s: int) -> int:
        at_risk = 0
        for swap_id in self.store.list_ids(outcome="open", limit=1_000_000):
            state = self.store.get(swap_id)
            for role in Role:
                if state.leg_state(role).phase is not LegPhase.LOCKED:
                    continue
                rt = self._rt(state, role)
                now = self._chain_time(state, self._key_of(rt))
                if now is None:
                    continue
                left = state.terms.deadline(role) - now
                if rt.timing.deadline_unit == "round":
                    left = left * rt.timing.block_time_max_ms // 1000
                if left < within_s:
                    at_risk += 1
                    break
        return at_risk

    return mutation((RelayerService, "deadlines_at_risk", deadlines_at_risk))


@_registered
def deadlines_from_host_clock() -> Mutation:
    """Issue 13 item 13: EVM deadlines planned from the relayer host's clock, not the
    chain's (the planner is given no chain time: ``relayer.service._head`` without it)."""

    def _head(rt: Any) -> ChainHead:
        return ChainHead(height=rt.head())

    return mutation((relayer.service, "_head", _head))


@_registered
def watcher_trusts_unhashed_cursor() -> Mutation:
    """Issue 13 item 13 (the watcher): a cursor whose block hash the store did not keep is
    taken as still on the chain, the reorg check skipped (``ChainWatcher._check_reorg``
    returned the cursor): a reorg below it leaves the removed locks recorded."""
    original = ChainWatcher._check_reorg

    def _check_reorg(self: ChainWatcher, cursor: int, head: int) -> int:
        if cursor not in self.store.block_hashes(self.chain):
            return cursor
        return original(self, cursor, head)

    return mutation((ChainWatcher, "_check_reorg", _check_reorg))


@_registered
def refused_claim_without_back_off() -> Mutation:
    """Issue 13 item 13 (the retry pace): a claim or refund the chain or the token refuses
    is recorded and asked again at once by the engine, in the same tick and every tick
    after it (no back-off, no ``stbridge_tx_refusals_total``): ``_tx_failed`` without its
    last step."""

    def _tx_failed(
        self: RelayerService,
        swap_id: str,
        seq: int,
        action: str,
        role: Role,
        state: SwapState,
        exc: Exception,
        *,
        broadcast: bool,
    ) -> None:
        if action == "lock" and self._find(state, role) is not None:
            self.store.finish_effect(swap_id, seq, "done")
            return
        self.store.finish_effect(swap_id, seq, "failed")
        self._apply(
            swap_id,
            TxFailed(
                action=action,
                role=role,
                reason=str(exc)[:500],
                broadcast=broadcast,
            ),
        )

    return mutation((RelayerService, "_tx_failed", _tx_failed))


_QUICK = chain_setups(block_s=(2, 4), variance_s=(0, 2), confirmations=(0, 0), drift_s=(0, 2))
_ROUNDS = algorand_setups(block_s=(1, 2), variance_s=(0, 1))


@_registered
def shortfall_counts_partition_units() -> Mutation:
    """The pooled-escrow check of before the fix found by the ERC-1400 world (issue 13 item 9
    on an ERC-1400 token): the HTLC's whole ``balanceOf`` the token covers its plain locks,
    the units of other parties' open partition locks included (``_open_sum`` counts none)."""

    def _open_sum(amounts: Mapping[str, int], closed: set[str]) -> int:
        return 0

    return mutation((adapters.evm.htlc, "_open_sum", _open_sum))


@_registered
def lock_read_ignores_partition() -> Mutation:
    """The relayer's lock read (live, ``_find``, and from the watcher's records) without
    the ERC-1400 partition (issue 13 item 13): a lock under the swap's hashlock counts for
    the leg when its id is the leg's **or** its token, sender, receiver, amount and
    deadline are the leg's, whatever its partition (the lock id, which commits to the
    partition, no longer decides alone). The seller's own lock of another class with the
    leg's terms is then taken for the leg: the relayer skips its own lock, and the buyer
    is paid in the other class."""
    real = RelayerService._leg_lock

    def _terms_of(candidate: Any) -> tuple[str, str, str, int, int]:
        if isinstance(candidate, HtlcLock):
            asset = candidate.asset
            token = "" if asset is None else str(getattr(asset.locator, "address", ""))
            sender, receiver = candidate.sender, candidate.receiver
            return token, sender, receiver, candidate.amount, candidate.deadline
        args = candidate.args
        return (
            str(args.get("token") or ""),
            str(args.get("sender")),
            str(args.get("receiver")),
            int(str(args.get("amount"))),
            int(str(args.get("deadline"))),
        )

    def _leg_lock(
        self: RelayerService,
        state: SwapState,
        role: Role,
        candidates: Any,
        lock_id: Callable[[Any], str],
    ) -> Any:
        leg = state.terms.leg(role)
        token = "" if leg.asset is None else str(getattr(leg.asset.locator, "address", ""))
        wanted = (token, leg.sender, leg.receiver, leg.amount, state.terms.deadline(role))
        listed = list(candidates)
        for candidate in listed:
            got = _terms_of(candidate)
            if (
                all(a.lower() == b.lower() for a, b in zip(got[:3], wanted[:3], strict=True))
                and got[3:] == wanted[3:]
            ):
                return candidate  # the partition left out: any class with the terms
        return real(self, state, role, listed, lock_id)

    return mutation((RelayerService, "_leg_lock", _leg_lock))


_DEEP = chain_setups(block_s=(2, 4), variance_s=(0, 2), confirmations=(3, 4))
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
        rules=frozenset({"submit", "tick", "agent_freeze", "agent_freeze_after_locks"}),
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
    "fencing_only": MachineConfig(
        name="fencing_only",
        scenario=scenarios(sec=_QUICK, cash=_QUICK, budget=_SMALL),
        trade=trades(extra_window_s=(30, 60), external=False),
        max_swaps=2,
        sec_backend="anvil",
        rules=frozenset({"submit", "tick", "replica_tick", "lease_expires", "takeover_mid_effect"}),
    ),
    "matcher_ignores_escrow": MachineConfig(
        name="matcher_ignores_escrow",
        chains="evm-algorand",
        scenario=scenarios(sec=_QUICK, cash=_ROUNDS, budget=_SMALL),
        trade=trades(extra_window_s=(0, 60)),
        max_swaps=1,
        sec_backend="anvil",
        rules=frozenset({"submit", "tick", "counterparty_decoy_escrow", "counterparty_lock"}),
    ),
    "refund_skips_clawed_back": MachineConfig(
        name="refund_skips_clawed_back",
        chains="evm-algorand",
        scenario=scenarios(sec=_QUICK, cash=_ROUNDS, budget=_SMALL),
        trade=trades(extra_window_s=(0, 60), external=False),
        max_swaps=1,
        sec_backend="anvil",
        rules=frozenset({"submit", "tick", "agent_freeze", "agent_clawback"}),
        agents_undo=False,
    ),
    "restart_forgets_old_locks": MachineConfig(
        name="restart_forgets_old_locks",
        chains="evm-algorand",
        # 12-15 s blocks on the security chain (as on Ethereum) and 1 s rounds: the 1,000+
        # rounds of an outage are a hundred EVM blocks, not seven hundred
        scenario=scenarios(
            sec=chain_setups(block_s=(12, 15), variance_s=(0, 0), confirmations=(0, 0)),
            cash=algorand_setups(block_s=(1, 1), variance_s=(0, 0)),
            budget=_SMALL,
        ),
        trade=trades(extra_window_s=(1500, 2000), external=False),
        examples_per_batch=4,
        max_swaps=1,
        sec_backend="anvil",
        rules=frozenset({"submit", "tick", "agent_freeze", "long_outage"}),
        agents_undo=False,
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
    "htlc_token_zero_closes_native": MachineConfig(
        name="htlc_token_zero_closes_native",
        scenario=scenarios(sec=_QUICK, cash=_QUICK, budget=_SMALL),
        trade=trades(extra_window_s=(0, 60)),
        max_swaps=1,
        sec_backend="anvil",
        rules=frozenset(
            {"submit", "tick", "look_alike", "counterparty_decoy", "odd_call", "approach"}
        ),
        boundaries=st.sampled_from(["reveal_by", "participant"]),
        odd_calls=st.sampled_from(["claim_token_zero", "refund_token_zero"]),
    ),
    "order_id_returns_old_swap": MachineConfig(
        name="order_id_returns_old_swap",
        scenario=scenarios(sec=_QUICK, cash=_QUICK, budget=_SMALL),
        trade=trades(extra_window_s=(0, 60), external=False),
        max_swaps=2,
        sec_backend="anvil",
        rules=frozenset({"submit", "tick", "api_resubmit", "api_bearer", "api_readyz"}),
    ),
    "non_ascii_bearer_500": MachineConfig(
        name="non_ascii_bearer_500",
        scenario=scenarios(sec=_QUICK, cash=_QUICK, budget=_SMALL),
        trade=trades(extra_window_s=(0, 60), external=False),
        max_swaps=2,
        sec_backend="anvil",
        rules=frozenset({"submit", "tick", "api_resubmit", "api_bearer", "api_readyz"}),
    ),
    "readyz_leaks_store_error": MachineConfig(
        name="readyz_leaks_store_error",
        scenario=scenarios(sec=_QUICK, cash=_QUICK, budget=_SMALL),
        trade=trades(extra_window_s=(0, 60), external=False),
        max_swaps=2,
        sec_backend="anvil",
        rules=frozenset({"submit", "tick", "api_resubmit", "api_bearer", "api_readyz"}),
    ),
    "daemon_honours_fault_kill": MachineConfig(
        name="daemon_honours_fault_kill",
        scenario=scenarios(sec=_QUICK, cash=_QUICK, budget=_SMALL),
        trade=trades(extra_window_s=(0, 60), external=False),
        max_swaps=1,
        sec_backend="anvil",
        rules=frozenset({"submit", "tick", "operator_env"}),
    ),
    "at_risk_at_slowest_block": MachineConfig(
        name="at_risk_at_slowest_block",
        chains="evm-algorand",
        scenario=scenarios(
            sec=_QUICK, cash=algorand_setups(block_s=(1, 2), variance_s=(1, 3)), budget=_SMALL
        ),
        trade=trades(extra_window_s=(0, 60), external=False),
        max_swaps=1,
        sec_backend="anvil",
        rules=frozenset({"submit", "tick", "approach", "agent_freeze"}),
        boundaries=st.sampled_from(["reveal_by", "participant"]),
        offsets=st.integers(0, 12),
        agents_undo=False,
    ),
    "deadlines_from_host_clock": MachineConfig(
        name="deadlines_from_host_clock",
        chains="evm-algorand",
        scenario=scenarios(sec=_QUICK, cash=_ROUNDS, budget=_SMALL),
        trade=trades(extra_window_s=(60, 120), external=False),
        max_swaps=1,
        sec_backend="anvil",
        rules=frozenset({"submit", "tick", "approach", "host_clock_skew"}),
        boundaries=st.just("initiator"),
        offsets=st.integers(0, 6),
        host_skews=st.integers(-60, -10),
    ),
    "watcher_trusts_unhashed_cursor": MachineConfig(
        name="watcher_trusts_unhashed_cursor",
        # a depth on both chains: the reorgs the search draws stay inside the assumptions
        scenario=scenarios(sec=_DEEP, cash=_DEEP, budget=_SMALL),
        trade=trades(extra_window_s=(30, 60), external=False),
        max_swaps=1,
        sec_backend="anvil",
        rules=frozenset({"submit", "tick", "reorg", "operator_drops_block_hashes"}),
    ),
    "shortfall_counts_partition_units": MachineConfig(
        name="shortfall_counts_partition_units",
        security="erc1400",
        scenario=scenarios(sec=_QUICK, cash=_QUICK, budget=_SMALL),
        trade=trades(extra_window_s=(30, 60), external=False),
        max_swaps=3,
        sec_backend="anvil",
        rules=frozenset({"submit", "tick", "partition_look_alike", "agent_force_out_partition"}),
        partitions=st.none(),  # plain orders: the pooled check of plain locks is the target
    ),
    "lock_read_ignores_partition": MachineConfig(
        name="lock_read_ignores_partition",
        security="erc1400",
        scenario=scenarios(sec=_QUICK, cash=_QUICK, budget=_SMALL),
        trade=trades(extra_window_s=(30, 60), external=False),
        max_swaps=2,
        sec_backend="anvil",
        rules=frozenset({"submit", "tick", "seller_other_partition", "partition_look_alike"}),
        partitions=st.sampled_from((CLASS_A, CLASS_B)),  # orders of one partition each
    ),
    "refused_claim_without_back_off": MachineConfig(
        name="refused_claim_without_back_off",
        scenario=scenarios(sec=_QUICK, cash=_QUICK, budget=_SMALL),
        trade=trades(extra_window_s=(30, 60), external=False),
        max_swaps=1,
        sec_backend="anvil",
        rules=frozenset({"submit", "tick", "agent_freeze", "agent_freeze_after_reveal"}),
    ),
}
"""The targeted search (actors, rules, strategies) that finds each mutation's counterexample."""
