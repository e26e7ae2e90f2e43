"""The relayer: turns swap orders into terms, runs the engine's effects, watches the chains.

Everything chain-specific comes in through :class:`ChainRuntime` (an ``HtlcPort``, the
chain's clock in its deadline unit, the signers the relayer holds, and the token dry runs);
everything about compliance through a :data:`ComplianceCheck` callable. The engine
(:func:`bridge.swap.transition`) decides; the store persists each input with its effects
before they run; this module only observes and executes.

One :meth:`RelayerService.tick`:

1. poll each chain's watcher (:mod:`relayer.watcher`): it follows the HTLC's events from a
   cursor persisted in the store, rolls back what a reorg removed, and reports the chain's
   scanned head and time;
2. take (or renew) the leases of open swaps;
3. per swap, turn what the watchers recorded into engine inputs: the chain's time, and the
   lock / claim / refund events of its legs once they are ``confirmations`` deep;
4. run the swap's pending effects in order. Each effect first checks the chain for the
   result it would produce (a lock already there, a claim already made), and runs inside the
   swap's transaction journal (:class:`SwapJournal`): the chain clients keep every signed
   transaction (sealed) before sending it and re-send the same bytes on a retry, so running
   an effect twice after a crash never sends a second, different transaction.

Failures: a transient error (RPC down) leaves the effect pending for the next tick; a
permanent refusal becomes a ``TxFailed`` input and the engine picks the safe path.

Pipelined chains (:mod:`relayer.pipeline`): an effect's transaction is sent without waiting
for it; the effect stays ``sent`` (its hash recorded) until the watcher shows what it did,
or its outcome, asked for all such transactions of the chain in one batch, settles it. A
tick holds each signing key it uses until it ends (``Store.signer_lock``), and the chain's
``signer_acquired`` is told when it takes one, so locally counted nonces are read afresh
whenever another replica may have used the key.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets as _secrets
import signal
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import lru_cache, partial
from typing import Any, Literal, TypeVar

from pydantic import Field, ValidationError, ValidationInfo, field_validator

from bridge.compliance import Trade
from bridge.errors import (
    ApprovalPending,
    BridgeError,
    ConfigError,
    Conflict,
    InvalidInput,
    NotFound,
    TransactionReverted,
    TransientError,
)
from bridge.htlc import ChainHead, ChainTiming, RelayerBudget, plan_deadlines
from bridge.journal import journaled
from bridge.model import AssetRef, ChainRef, Refusal, Standard, TransferCheck, TransferIntent
from bridge.model.base import CanonicalModel
from bridge.ports import ChainEvent, HtlcLock, HtlcPort, Signer
from bridge.reasons import ReasonCode
from bridge.swap import (
    ChainAdvanced,
    ClaimObserved,
    ClaimRecheck,
    ComplianceDecided,
    Effect,
    Leg,
    LegPhase,
    LockObserved,
    RecheckClaims,
    RefundObserved,
    RequestCheck,
    Role,
    StartSwap,
    SubmitClaim,
    SubmitLock,
    SubmitRefund,
    SwapFinished,
    SwapState,
    SwapTerms,
    TxFailed,
    chain_key,
    transition,
)
from bridge.types import Address, Amount
from bridge.validation import invalid_input
from relayer.dry_runs import FundsCheck
from relayer.logs import swap_context
from relayer.metrics import RelayerMetrics, stage_of
from relayer.partitions import PARTITION_PATTERN, check_partition, partition_of
from relayer.party_facts import PartyReader, with_chain_facts
from relayer.pipeline import Outcomes, PairedClock, SendBatches, claim_revealed, is_pipelined
from relayer.reservations import Reservations
from relayer.retry import RetryBook
from relayer.sealing import SealingKey
from relayer.store import EffectRow, LeaseLost, SignerBusy, Store
from relayer.watcher import ChainView, ChainWatcher, StoredLocks

__all__ = [
    "ChainRuntime",
    "ComplianceCheck",
    "ComplianceResult",
    "CrashPlan",
    "LegOrder",
    "RelayerService",
    "SwapJournal",
    "SwapOrder",
]

log = logging.getLogger(__name__)

_L = TypeVar("_L", HtlcLock, ChainEvent)

REORG_GRACE_BLOCKS = 2
"""Blocks past the confirmation depth after which a sent lock that is not on chain is
treated as dropped by a reorg and sent again."""


class LegOrder(CanonicalModel):
    """One leg of an order: on the chain named ``chain`` (as in the relayer settings)."""

    chain: str = Field(min_length=1, max_length=64)
    asset: AssetRef | None = None
    standard: Standard | None = None
    amount: Amount = Field(gt=0)
    sender: Address
    receiver: Address
    partition: str | None = Field(
        default=None,
        pattern=PARTITION_PATTERN,
        description="The ERC-1400 partition the units come from (bytes32, 0x + 64 hex "
        "digits; only with standard erc1400; see relayer.partitions). None: a plain lock.",
    )

    @field_validator("partition", mode="before")
    @classmethod
    def _partition_form(cls, value: object) -> object:
        return partition_of(value) if isinstance(value, str) else value

    @field_validator("partition")
    @classmethod
    def _partition_standard(cls, value: str | None, info: ValidationInfo) -> str | None:
        check_partition(value, info.data.get("asset"), info.data.get("standard"))
        return value


class SwapOrder(CanonicalModel):
    """What a platform submits: the security leg, the cash leg and the settlement window.

    The ``security`` leg is locked first by the seller (the initiator, who holds the secret);
    the ``cash`` leg second by the buyer. ``trade`` is the compliance engine's trade (see
    ``specs/schemas/trade.schema.json``); ``order_id`` makes submission idempotent.
    """

    order_id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")
    security: LegOrder
    cash: LegOrder
    settlement_window_s: int = Field(strict=True, ge=1)
    trade: Trade | None = None


@dataclass(frozen=True)
class ComplianceResult:
    """The verdict before locking: allowed, or the refusals with their citations."""

    allowed: bool
    refusals: tuple[Refusal, ...] = ()
    decision: Mapping[str, Any] = field(default_factory=dict)


ComplianceCheck = Callable[[SwapOrder, datetime], ComplianceResult]
"""The compliance engine as the relayer sees it (law of both sides and the cash leg),
deciding under the law and the parties' status at the given instant."""


@dataclass(frozen=True)
class CrashPlan:
    """Where crash tests SIGKILL the relayer process (set by ``STBRIDGE_FAULT_KILL``).

    ``input:N``: right after a swap's N-th input (and its effects) is committed;
    ``send:N``: right after this process sends its N-th transaction, before the store
    records it. Never set in production: a test-only fault that a real crash reproduces.
    """

    after_input: int | None = None
    after_send: int | None = None

    @classmethod
    def parse(cls, value: str) -> CrashPlan:
        """``input:N`` or ``send:N`` (N >= 1); ``InvalidInput`` naming the variable."""
        kind, _, number = value.partition(":")
        if kind not in ("input", "send") or not number.isdigit() or int(number) < 1:
            raise InvalidInput("STBRIDGE_FAULT_KILL", "must be input:N or send:N with N >= 1")
        if kind == "input":
            return cls(after_input=int(number))
        return cls(after_send=int(number))


class SwapJournal:
    """The signed-transaction journal of one swap, kept as documents ``tx:<key>`` in the
    store (see :mod:`bridge.journal`): a retried effect re-sends the very same bytes.

    The bytes are sealed with the swap-secret key (AES-GCM): a signed claim carries the
    secret, which must not sit in the store in clear before it is public on chain.
    """

    def __init__(
        self, store: Store, swap_id: str, key: SealingKey, *, barrier_at_send: bool = False
    ) -> None:
        self.store = store
        self.swap_id = swap_id
        self._key = key
        self.barrier_at_send = barrier_at_send
        """The chain's client makes the store durable itself before it sends (its
        ``before_submit``): :meth:`keep` need not; else :meth:`keep` syncs the tick's
        grouped writes (``Store.commit_group``), since the bytes may leave right after."""
        self.signed = False
        """Whether a signed transaction was kept or found kept in this effect: it may have
        reached the network, whatever happened after."""

    def stored(self, key: str) -> bytes | None:
        """The signed bytes kept under ``key``."""
        try:
            sealed = self.store.document(self.swap_id, f"tx:{key}")
        except NotFound:
            return None
        self.signed = True
        return self._key.unseal(sealed, swap_id=self.swap_id)

    def keep(self, key: str, signed: bytes) -> bytes:
        """Persist ``signed`` before it is sent (first bytes win)."""
        self.signed = True
        sealed = self._key.seal(signed, swap_id=self.swap_id)
        kept = self.store.keep_document(self.swap_id, f"tx:{key}", sealed)
        raw = signed if kept == sealed else self._key.unseal(kept, swap_id=self.swap_id)
        from eth_utils.crypto import keccak  # here: not imported for the CLI's start

        # which kept bytes a transaction id is (a dropped one is sent again as it was)
        self.store.keep_document(self.swap_id, f"txkey:0x{keccak(raw).hex()}", key)
        if not self.barrier_at_send:
            self.store.commit_group()  # durable before it is sent
        return raw

    def kept_for(self, tx_id: str) -> bytes | None:
        """The kept bytes of the transaction ``tx_id`` (an EVM hash), if this swap kept it."""
        try:
            key = self.store.document(self.swap_id, f"txkey:{tx_id.lower()}")
            sealed = self.store.document(self.swap_id, f"tx:{key}")
        except NotFound:
            return None
        return self._key.unseal(sealed, swap_id=self.swap_id)

    def kept_ids(self) -> list[str]:
        """The transaction ids (EVM hashes) of the bytes this swap kept."""
        return [name[len("txkey:") :] for name in self.store.document_names(self.swap_id, "txkey:")]

    def forget(self, key: str) -> None:
        """Drop bytes that can never be mined."""
        self.store.delete_document(self.swap_id, f"tx:{key}")


class _SecretHeld(RuntimeError):
    """The revealing claim is held back: the other lock is not (or no longer) on chain."""


class _EscrowShort(RuntimeError):
    """The pooled escrow holds less of the leg's asset than its open locks: an agent moved
    units out. No lock of that asset is claimed or refunded (the units paid out would be
    another lock's) and no secret is revealed against it until the operator restores it."""


class _Refused(RuntimeError):
    """A claim or refund the chain or the token refused; retried after the swap's back-off."""


class _RevealRefused(RuntimeError):
    """The compliance and token re-check run at the moment of the reveal refused."""

    def __init__(self, result: ComplianceResult) -> None:
        super().__init__("the re-check at the moment of the reveal refused")
        self.result = result


_SENT_PHASES: dict[type, tuple[str, LegPhase]] = {
    SubmitLock: ("lock", LegPhase.LOCK_SENT),
    SubmitClaim: ("claim", LegPhase.CLAIM_SENT),
    SubmitRefund: ("refund", LegPhase.REFUND_SENT),
}
"""Per effect that sends: its action and the leg's phase while it is in flight."""


class _LockMissing(RuntimeError):
    """A leg's lock was observed but the chain's HTLC port does not show it now: the claim or
    refund stays pending and the swap is retried with back-off (never taken as done)."""


def _die(reason: str) -> None:
    log.critical("crash plan: SIGKILL %s", reason)
    logging.shutdown()
    os.kill(os.getpid(), signal.SIGKILL)


@dataclass
class ChainRuntime:
    """What the relayer holds for one chain.

    ``now`` returns the chain's confirmed time in its deadline unit (block timestamp on EVM,
    round on Algorand); ``head`` its height. ``signers`` maps addresses the relayer may sign
    for (custody wallets of the parties it acts for); ``operator`` pays for claims and
    refunds. ``dry_run`` runs the token's own transfer check (None: no check, e.g. native).
    ``escrow`` is the pooled HTLC account that holds locked units (EVM); with
    ``escrow_per_lock`` every lock is its own account instead (Algorand: the lock id).
    ``shortfall`` (pooled escrows) tells how much of an asset the escrow holds less than its
    open locks, and which locks are open (an agent moved units out of it).
    ``prepare_lock`` runs before a token lock (an ERC-20 approval of the HTLC, an ASA opt-in).
    ``funds`` checks before a lock that the leg's sender can pay for it in native coin
    (:data:`relayer.dry_runs.FundsCheck`; None: not checked).
    ``block_hash`` gives the hash of a block (None: no such block); chains that never fork
    (Algorand) leave it None. ``start_height`` is where the chain's watcher begins when the
    store has no cursor for it yet (None: the head at the first poll).
    """

    name: str
    chain: ChainRef
    htlc: HtlcPort
    now: Callable[[], int]
    head: Callable[[], int]
    timing: ChainTiming
    confirmations: int
    signers: Mapping[str, Signer]
    operator: Signer
    escrow: str | None = None
    dry_run: Callable[[TransferIntent], TransferCheck] | None = None
    prepare_lock: Callable[[Leg, Signer], None] | None = None
    block_hash: Callable[[int], str | None] | None = None
    start_height: int | None = None
    escrow_per_lock: bool = False
    shortfall: Callable[[AssetRef | None], tuple[int, tuple[str, ...]]] | None = None
    funds: FundsCheck | None = None
    party_facts: PartyReader | None = None  # the parties' chain facts (relayer.party_facts)
    release_check: Callable[[str, TransferIntent], TransferCheck | None] | None = None
    """Before a claim: the token's check of releasing the lock with this id (the leg's own,
    recomputed from the terms) to the receiver, for escrows that are not an account a
    transfer can start from (ibet's lock book); None from it: the plain hop out of
    ``escrow``."""
    tick_clock: Callable[[], tuple[int, int]] | None = None
    """The chain's height and time in one read, for its watcher's poll (once per tick);
    None: ``head()`` then ``now()``."""
    signer_acquired: Callable[[str], None] | None = None
    """Told when this replica takes the right to sign with an address (a tick's first use
    of the key): a client that counts nonces locally reads them afresh."""

    def signer_for(self, address: str) -> Signer:
        """The signer of ``address``; ``NotFound`` when the relayer does not hold it."""
        try:
            return self.signers[address]
        except KeyError:
            raise NotFound(f"chain {self.name}: the relayer holds no key for {address}") from None


class RelayerService:
    """Submit orders and drive every open swap one :meth:`tick` at a time."""

    def __init__(
        self,
        *,
        store: Store,
        chains: Mapping[str, ChainRuntime],
        compliance: ComplianceCheck,
        sealing_key: SealingKey,
        budget: RelayerBudget,
        wall_clock: Callable[[], float],
        replica_id: str = "relayer-1",
        lease_seconds: float = 30.0,
        randbytes: Callable[[int], bytes] = _secrets.token_bytes,
        max_swaps_per_tick: int = 500,
        crash_plan: CrashPlan | None = None,
        retry_clock: Callable[[], float] | None = None,
    ) -> None:
        self.store = store
        # one view of each chain's records, shared by its HTLC port and the observe path
        self._records = {
            chain_key(rt.chain): StoredLocks(store, chain_key(rt.chain)) for rt in chains.values()
        }
        self.chains = {
            name: _with_records(rt, self._records[chain_key(rt.chain)])
            for name, rt in chains.items()
        }
        self.compliance = compliance
        self._key = sealing_key
        self.budget = budget
        self.wall_clock = wall_clock
        self.replica_id = replica_id
        self.lease_seconds = lease_seconds
        self._randbytes = randbytes
        self._by_key: dict[str, ChainRuntime] = {}
        for rt in self.chains.values():
            other = self._by_key.setdefault(self._key_of(rt), rt)
            if other is not rt:  # one chain under two names: one entry would be shadowed
                raise ConfigError(
                    f"chains {other.name} and {rt.name} are one chain ({self._key_of(rt)}): "
                    "one chain, one entry"
                )
        self.max_swaps_per_tick = max_swaps_per_tick
        self.crash_plan = crash_plan
        self._sent = 0
        self.secrets_held = 0
        self.transient_errors = 0
        self.metrics = RelayerMetrics()
        clocks = {
            key: PairedClock(rt.tick_clock)
            for key, rt in self._by_key.items()
            if rt.tick_clock is not None
        }
        self.watchers = {
            key: ChainWatcher(
                chain=key,
                store=store,
                head=rt.head if key not in clocks else clocks[key].head,
                now=rt.now if key not in clocks else clocks[key].now,
                events=rt.htlc.events,
                confirmations=rt.confirmations,
                block_hash=rt.block_hash,
                start=rt.start_height,
            )
            for key, rt in self._by_key.items()
        }
        self._views: dict[str, ChainView] = {}
        self._lock_ids: dict[tuple[str, Role], str] = {}
        self._decoys: set[tuple[str, str]] = set()
        self._stages: dict[str, tuple[str, float]] = {}
        self._clock_pending: dict[str, dict[str, int]] = {}
        self._landed: dict[str, int] = {}
        self.retry_clock: Callable[[], float] = wall_clock if retry_clock is None else retry_clock
        self.retries = RetryBook(store, lambda: self.retry_clock())
        self.funds_holds = Reservations(store)
        self.outcomes = Outcomes()
        self._batches = SendBatches()  # a tick's sends to a chain: one batch (relayer.pipeline)
        self._tick_signers: ExitStack | None = None
        self._held_keys: set[str] = set()
        self._sent_now: set[str] = set()
        self._pending_answers: dict[str, int] = {}  # tx id -> answers "pending" in a row

    @staticmethod
    def _key_of(rt: ChainRuntime) -> str:
        return chain_key(rt.chain)

    def prepare(self) -> list[str]:
        """Load, at start, what the first swap's tick would otherwise load: the installed
        token adapters (each standard's module, whose probes and dry runs the checks use).
        Returns their standards. A broken adapter plugin is named in a warning here, and
        the built-in adapters serve, as they would at the first check.

        The first tick of a fresh relayer spent a third of a second importing them
        (``stbridge bench relayer``, 1 s blocks: a block's worth of delay for every swap
        of the first wave)."""
        from bridge.registry import load_registry

        try:
            return sorted(spec.standard.value for spec in load_registry())
        except ConfigError as exc:
            log.warning("token adapters: %s; the built-in adapters serve", exc)
            from adapters.evm.inspect import evm_specs

            return sorted(spec.standard.value for spec in evm_specs())

    # -- orders ------------------------------------------------------------------------
    def runtime(self, name: str, field_name: str) -> ChainRuntime:
        """The chain runtime called ``name``, or ``InvalidInput`` naming the order field."""
        if name not in self.chains:
            known = ", ".join(sorted(self.chains)) or "none"
            raise InvalidInput(field_name, f"unknown chain {name!r} (configured: {known})")
        return self.chains[name]

    def submit(self, order: SwapOrder) -> SwapState:
        """Plan deadlines, seal a fresh secret, store the swap and start it (idempotent)."""
        swap_id = "0x" + hashlib.sha256(b"stbridge-order:" + order.order_id.encode()).hexdigest()
        try:
            existing = self.store.get(swap_id)
        except NotFound:
            pass
        else:
            differ = _differences(
                self.order_of(swap_id).model_dump(mode="json"), order.model_dump(mode="json")
            )
            if differ:
                raise Conflict(
                    f"order_id {order.order_id!r} is swap {swap_id} with other terms "
                    f"(differs in {', '.join(differ)}); use a new order_id",
                    fields=differ,
                )
            return existing
        sec = self.runtime(order.security.chain, "security.chain")
        cash = self.runtime(order.cash.chain, "cash.chain")
        now_s = int(self.wall_clock())
        plan = plan_deadlines(
            initiator_chain=sec.timing,
            participant_chain=cash.timing,
            budget=self.budget,
            settlement_window_s=order.settlement_window_s,
            now_s=now_s,
            initiator_head=_head(sec),
            participant_head=_head(cash),
        )
        secret = self._randbytes(32)
        terms = SwapTerms(
            swap_id=swap_id,
            hashlock="0x" + hashlib.sha256(secret).hexdigest(),
            initiator_leg=self._leg(order.security, sec, "security"),
            participant_leg=self._leg(order.cash, cash, "cash"),
            initiator_deadline=plan.initiator.native,
            participant_deadline=plan.participant.native,
            participant_lock_by=plan.participant_lock_by,
            participant_reveal_by=plan.participant_reveal_by,
        )
        self.store.create(terms, sealed_secret=self._key.seal(secret, swap_id=swap_id))
        self.store.put_document(swap_id, "order", order.model_dump_json())
        state, _ = self._apply(swap_id, StartSwap())
        return state

    @staticmethod
    def _leg(order: LegOrder, rt: ChainRuntime, field_name: str) -> Leg:
        family = rt.chain.kind
        for name in ("sender", "receiver"):
            address = getattr(order, name)
            if (family == "evm") != address.startswith("0x"):
                raise InvalidInput(
                    f"{field_name}.{name}",
                    f"must be an address of the leg's chain {order.chain!r} ({family})",
                    value=address,
                )
        try:
            return Leg(
                chain=rt.chain,
                asset=order.asset,
                standard=order.standard,
                amount=order.amount,
                sender=order.sender,
                receiver=order.receiver,
                partition=order.partition,
            )
        except ValidationError as exc:
            raise invalid_input(exc, prefix=field_name) from None

    def order_of(self, swap_id: str) -> SwapOrder:
        """The order a swap was created from."""
        return SwapOrder.model_validate_json(self.store.document(swap_id, "order"))

    # -- the loop ----------------------------------------------------------------------
    def tick(self) -> list[str]:
        """Poll the chains, then observe and act once on every swap this replica holds.

        Each swap runs in its own ``try``: an unexpected error in one swap is recorded for it
        (``last_error``, ``stbridge_swap_errors_total``) and retried with back-off
        (:mod:`relayer.retry`) while the others go on; a swap another replica took over
        (:class:`~relayer.store.LeaseLost`) is dropped until its lease is free again.
        """
        with self.store.grouped(), ExitStack() as signers:  # writes fsync'd at barriers
            self._tick_signers, self._held_keys, self._sent_now = signers, set(), set()
            try:
                return self._tick()
            finally:  # every key this tick took is released with it
                self._tick_signers = None
                for records in self._records.values():
                    records.unpin()

    def _tick(self) -> list[str]:
        try:
            self.poll_chains()
        except Exception:  # a watcher bug must not stop the swaps: they act on the last views
            log.exception("polling the chains failed; acting on the last views")
        for records in self._records.values():
            records.pin()  # the tick acts on the records as its poll left them
        self.outcomes.check(
            {
                key: rt.htlc.tx_outcomes  # type: ignore[attr-defined]
                for key, rt in self._by_key.items()
                if is_pipelined(rt.htlc)
            },
            lambda key, exc: self._rpc_error(self._by_key[key], exc),
        )
        ids = self.store.claim_swaps(
            self.replica_id, lease_seconds=self.lease_seconds, limit=self.max_swaps_per_tick
        )
        self._batches.hold(
            {key: rt.htlc for key, rt in self._by_key.items()}, durable=self.store.commit_group
        )
        try:
            for swap_id in ids:
                self._tick_swap(swap_id, self._observe_and_run)
                self._batches.due(lambda key, exc: self._rpc_error(self._by_key[key], exc))
        finally:  # the held sends go out, in one batch per chain, before the keys are freed
            refused = self._batches.flush(lambda key, exc: self._rpc_error(self._by_key[key], exc))
        for swap_id, refusals in refused.items():
            self._tick_swap(swap_id, partial(self._run_refused, refusals=refusals))
        return ids

    def _observe_and_run(self, swap_id: str) -> None:
        self.observe(swap_id)
        self.run_effects(swap_id)

    def _run_refused(self, swap_id: str, *, refusals: list[Any]) -> None:
        """Sends of the swap the node refused in the tick's batch: each effect is opened
        again and runs at once, unbatched, as a refused single send is handled. A send
        whose fate is unknown (the node unreachable, its answer lost) stays ``sent``: its
        outcome is asked next tick (found on chain, or dropped: the same bytes again)."""
        refused = {r.tx_id for r in refusals if not isinstance(r.error, TransientError)}
        if not refused:
            return
        for row in self.store.pending_effects(swap_id):
            effect = row.effect
            if row.status == "sent" and row.tx_id in refused and hasattr(effect, "role"):
                self._sent_now.discard(row.tx_id)
                self.store.reopen_effect(swap_id, kind=effect.kind, role=effect.role.value)
        self.run_effects(swap_id)

    def _tick_swap(self, swap_id: str, step: Callable[[str], None]) -> None:
        """``step(swap_id)`` in the swap's own ``try`` (see :meth:`tick`)."""
        try:
            if self.retries.deferred(swap_id):
                return
            with swap_context(swap_id):  # every line logged about it names the swap
                step(swap_id)
            self.retries.succeeded(swap_id)
        except LeaseLost as exc:
            self.metrics.leases_lost.inc()
            log.warning("swap %s: %s; leaving it to the replica that holds it", swap_id, exc)
        except ApprovalPending as exc:
            log.info("swap %s: %s", swap_id, exc)
        except TransientError as exc:
            self.transient_errors += 1
            log.warning("swap %s: transient failure, retrying next tick: %s", swap_id, exc)
        except Exception as exc:
            self._swap_failed(swap_id, exc)

    def _swap_failed(self, swap_id: str, exc: Exception) -> None:
        self.metrics.swap_errors.labels(type(exc).__name__).inc()
        try:
            failure = self.retries.failed(swap_id, exc)
        except (LeaseLost, TransientError) as store_exc:
            log.exception("swap %s failed (%s); its error could not be stored", swap_id, store_exc)
            return
        log.error(
            "swap %s failed (attempt %d), retrying in %.0f s: %s: %s",
            swap_id,
            failure.attempts,
            failure.retry_at - failure.at,
            failure.error,
            failure.reason,
            exc_info=None if isinstance(exc, _Refused) else exc,
        )

    def poll_chains(self) -> dict[str, ChainView]:
        """Let every chain's watcher catch up; a chain that fails keeps its last view."""
        for key, watcher in self.watchers.items():
            before = (watcher.reorgs, watcher.deep_reorgs)
            try:
                self._views[key] = watcher.poll()
            except TransientError as exc:
                self.transient_errors += 1
                self._rpc_error(self._by_key[key], exc)
            self.metrics.reorgs.labels(self._by_key[key].name).inc(watcher.reorgs - before[0])
            self.metrics.deep_reorgs.labels(self._by_key[key].name).inc(
                watcher.deep_reorgs - before[1]
            )
            if key in self._views:
                self.metrics.chain_height.labels(self._by_key[key].name).set(self._views[key].head)
        return dict(self._views)

    def _rpc_error(self, rt: ChainRuntime, exc: Exception) -> None:
        self.metrics.rpc_errors.labels(rt.name).inc()
        log.warning("chain %s: RPC failure: %s", rt.name, exc)

    def _apply(self, swap_id: str, change: Any) -> tuple[SwapState, tuple[Effect, ...]]:
        """Persist one input (with its effects) and time the swap's stages. The chain times
        held back by :meth:`observe` are written first (the engine decides on the latest)."""
        if not isinstance(change, ChainAdvanced) and self._clock_pending.get(swap_id):
            self._flush_clock(swap_id)
        state, effects = self.store.apply(swap_id, change)
        plan = self.crash_plan
        at = None if plan is None else plan.after_input
        if at is not None and self.store.input_count(swap_id) >= at:
            _die(f"after input {at} of swap {swap_id}")
        stage = stage_of(state)
        now = time.monotonic()  # real elapsed time, whatever clock plans the deadlines
        previous = self._stages.get(swap_id)
        if previous is None:
            self._stages[swap_id] = (stage, now)
        elif previous[0] != stage:
            self.metrics.stage_seconds.labels(previous[0]).observe(max(now - previous[1], 0.0))
            self._stages[swap_id] = (stage, now)
        if state.outcome.value != "open":
            self._stages.pop(swap_id, None)
        return state, effects

    def _flush_clock(self, swap_id: str) -> None:
        """Write the chain times :meth:`observe` held back for the swap."""
        for chain, held in self._clock_pending.pop(swap_id, {}).items():
            self._apply(swap_id, ChainAdvanced(chain=chain, time=held))

    def _deadline_wall(self, state: SwapState, role: Role) -> datetime:
        """The latest wall-clock instant at which ``role``'s leg's deadline can arrive."""
        rt = self._rt(state, role)
        deadline = state.terms.deadline(role)
        if rt.timing.deadline_unit == "timestamp":
            return datetime.fromtimestamp(deadline + rt.timing.timestamp_drift_s, UTC)
        now = self._chain_time(state, self._key_of(rt))
        if now is None:
            now = rt.head()
        left_ms = max(deadline - now, 0) * rt.timing.block_time_max_ms
        return datetime.fromtimestamp(self.wall_clock() + left_ms / 1000, UTC)

    def deadlines_at_risk(self, within_s: int) -> int:
        """Open swaps with a locked, unsettled leg whose deadline is less than ``within_s``
        seconds away on its chain's last observed clock (rounds converted at the fastest
        block time: the soonest the deadline can come)."""
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
                    # rounds may come at the fastest block time: the deadline is that close
                    left = left * rt.timing.block_time_min_ms // 1000
                if left < within_s:
                    at_risk += 1
                    break
        return at_risk

    def _chain_time(self, state: SwapState, key: str) -> int | None:
        """The latest time of chain ``key`` known for the swap: written, or held back."""
        written = state.chain_time.get(key)
        held = self._clock_pending.get(state.terms.swap_id, {}).get(key)
        if held is None or (written is not None and written >= held):
            return written
        return held

    def observe(self, swap_id: str) -> SwapState:
        """Feed the engine what the watchers recorded (times, then lock events)."""
        if not self._views:
            self.poll_chains()
        state = self.store.get(swap_id)
        for role in Role:
            key = self._key_of(self._rt(state, role))
            view = self._views.get(key)
            if view is None or view.time <= state.chain_time.get(key, -1):
                continue
            advanced = ChainAdvanced(chain=key, time=view.time)
            if _only_the_clock(state, advanced):
                # nothing in the swap turns on this time: not written now, but before the
                # swap's next input (:meth:`_apply`), so the engine never decides on a stale one
                self._clock_pending.setdefault(swap_id, {})[key] = view.time
                continue
            state, _ = self._apply(swap_id, advanced)
        for role in Role:
            state = self._observe_leg(swap_id, state, role)
        return state

    def _rt(self, state: SwapState, role: Role) -> ChainRuntime:
        return self._by_key[chain_key(state.terms.leg(role).chain)]

    def expected_lock_id(self, state: SwapState, role: Role) -> str:
        """The id of the one lock that is ``role``'s leg, recomputed from the agreed terms by
        the chain's HTLC port (our contract's id function, or our template with every
        parameter written in): never read from a lock. Cached per swap and role."""
        key = (state.terms.swap_id, role)
        known = self._lock_ids.get(key)
        if known is None:
            leg = state.terms.leg(role)
            known = self._rt(state, role).htlc.lock_id_for(
                asset=leg.asset,
                sender=leg.sender,
                receiver=leg.receiver,
                amount=leg.amount,
                hashlock=bytes.fromhex(state.terms.hashlock[2:]),
                deadline=state.terms.deadline(role),
                partition=_partition(leg),
            )
            self._lock_ids[key] = known
        return known

    def _decoy(self, state: SwapState, role: Role, lock_id: str) -> None:
        """Log (once) and count a lock under the swap's hashlock that is not its leg's."""
        key = (state.terms.swap_id, lock_id)
        if key in self._decoys or lock_id in self._own_lock_ids(state):
            return
        self._decoys.add(key)
        self.metrics.decoy_locks.labels(self._rt(state, role).name).inc()
        log.warning(
            "swap %s: lock %s under the swap's hashlock is not the %s leg's escrow "
            "(expected %s): a look-alike or decoy, ignored",
            state.terms.swap_id,
            lock_id,
            role.value,
            self.expected_lock_id(state, role),
        )

    def _own_lock_ids(self, state: SwapState) -> set[str]:
        return {self.expected_lock_id(state, r) for r in Role}

    def _find(self, state: SwapState, role: Role) -> HtlcLock | None:
        """The leg's lock as the chain shows it now (for effects: a live read)."""
        found = self._rt(state, role).htlc.find(bytes.fromhex(state.terms.hashlock[2:]))
        return self._leg_lock(state, role, found, lambda lock: lock.lock_id)

    def _recorded_lock(self, state: SwapState, role: Role) -> ChainEvent | None:
        """The leg's lock among the events the chain's watcher recorded."""
        key = self._key_of(self._rt(state, role))
        events = self._stored(key).locks_under(state.terms.hashlock)
        return self._leg_lock(state, role, events, lambda event: str(event.args.get("lock_id")))

    def _stored(self, key: str) -> StoredLocks:
        """Chain ``key``'s records as its watcher keeps them (one view per chain)."""
        found = self._records.get(key)
        if found is None:
            found = self._records[key] = StoredLocks(self.store, key)
        return found

    def _leg_lock(
        self, state: SwapState, role: Role, candidates: Iterable[_L], lock_id: Callable[[_L], str]
    ) -> _L | None:
        """The first of ``candidates`` (locks under the swap's hashlock) whose id is
        :meth:`expected_lock_id`; every other one is a decoy, logged and ignored."""
        expected = self.expected_lock_id(state, role)
        found = None
        for candidate in candidates:
            if lock_id(candidate) == expected:
                found = found or candidate
            else:
                self._decoy(state, role, lock_id(candidate))
        return found

    def _observe_leg(self, swap_id: str, state: SwapState, role: Role) -> SwapState:
        leg_state = state.leg_state(role)
        if leg_state.phase in (
            LegPhase.NONE,
            LegPhase.LOCK_FAILED,
            LegPhase.CLAIMED,
            LegPhase.REFUNDED,
        ):
            return state
        rt = self._rt(state, role)
        view = self._views.get(self._key_of(rt))
        if view is None:
            return state
        lock = self._recorded_lock(state, role)
        if lock is None:
            if leg_state.phase is LegPhase.LOCK_SENT:
                self._resend_if_vanished(swap_id, role, rt, view)
            return state
        if not view.confirmed(lock.height):
            return state
        lock_id = str(lock.args["lock_id"])
        if leg_state.phase is LegPhase.LOCK_SENT:
            state, _ = self._apply(
                swap_id,
                LockObserved(
                    role=role,
                    tx_id=lock.tx_id,
                    lock_id=lock_id,
                    hashlock=state.terms.hashlock,
                    amount=int(str(lock.args["amount"])),
                    receiver=str(lock.args["receiver"]),
                    deadline=int(str(lock.args["deadline"])),
                    sender=str(lock.args["sender"]),
                ),
            )
        for event in self._stored(self._key_of(rt)).history(lock_id):
            if not view.confirmed(event.height):
                continue
            phase = state.leg_state(role).phase
            if event.name == "Claimed" and phase is not LegPhase.CLAIMED:
                state, _ = self._apply(swap_id, ClaimObserved(role=role, tx_id=event.tx_id))
            elif event.name == "Refunded" and phase is not LegPhase.REFUNDED:
                state, _ = self._apply(swap_id, RefundObserved(role=role, tx_id=event.tx_id))
        return state

    def _resend_if_vanished(
        self, swap_id: str, role: Role, rt: ChainRuntime, view: ChainView
    ) -> None:
        """A lock that was sent but is gone deeper than the confirmation depth was dropped by
        a reorg (it was never acted on: only confirmed locks are observed). Its effect is
        opened again; the lock is re-sent with the same parameters (the HTLC refuses a
        duplicate if the first one reappears)."""
        name = f"lock-sent-at:{role.value}"
        try:
            sent_at = int(self.store.document(swap_id, name))
        except NotFound:
            return
        if view.head < sent_at + rt.confirmations + REORG_GRACE_BLOCKS:
            return
        log.warning(
            "swap %s: the %s lock sent at height %d is not on chain: reorg; sending it again",
            swap_id,
            role.value,
            sent_at,
        )
        self.store.delete_document(swap_id, name)
        self.funds_holds.landed(swap_id, role, None)  # its spend is back with the sender
        self.store.reopen_effect(swap_id, kind="submit_lock", role=role.value)

    def run_effects(self, swap_id: str) -> None:
        """Run the swap's pending effects in order (each one idempotent).

        An effect held back (the secret held, or a pooled escrow short of its asset) stays
        pending for the next tick; the swap's other effects still run (the other leg's
        refund must not wait for a held claim).
        """
        held: set[int] = set()
        for _ in range(32):  # effects may produce inputs whose effects run in the same tick
            pending = [r for r in self.store.pending_effects(swap_id) if r.effect.seq not in held]
            if not pending:
                return
            state: SwapState | None = None  # read for the in-flight checks while unchanged
            for row in pending:
                try:
                    if row.status == "sent":
                        state = state or self.store.get(swap_id)
                        found = self._in_flight(swap_id, row, state)
                        if found != "run":
                            # a pipelined transaction in flight, or settled just now (a
                            # failure's new effects are taken with the next pending list)
                            held.add(row.effect.seq)
                            state = state if found == "wait" else None
                            continue
                    state = None
                    self._run(swap_id, row.effect)
                except _SecretHeld as secret_held:
                    self.secrets_held += 1
                    self.metrics.secrets_held.inc()
                    log.error("%s", secret_held)
                    held.add(row.effect.seq)
                except _EscrowShort as short:
                    log.error("swap %s: %s", swap_id, short)
                    self.store.put_document(
                        swap_id, "escrow_shortfall", json.dumps({"detail": str(short)})
                    )
                    held.add(row.effect.seq)
                else:
                    continue
                break  # a held effect: take the pending list afresh (later ones may be obsolete)

    def _run(self, swap_id: str, effect: Effect) -> None:
        if self._clock_pending.get(swap_id):
            # the held-back chain times are written before the effect runs, never between
            # an effect's completion and the input it produces (a crash there must not come
            # after anything but that input)
            self._flush_clock(swap_id)
        state = self.store.get(swap_id)
        match effect:
            case RequestCheck():
                result = self._check(state, before_claim=False)
                self.store.put_document(swap_id, "decision", _json(result))
                self.store.finish_effect(swap_id, effect.seq, "done")
                self._apply(
                    swap_id, ComplianceDecided(allowed=result.allowed, refusals=result.refusals)
                )
            case RecheckClaims():
                result = self._check(state, before_claim=True)
                self.store.put_document(swap_id, "recheck", _json(result))
                self.store.finish_effect(swap_id, effect.seq, "done")
                self._apply(swap_id, ClaimRecheck(allowed=result.allowed, refusals=result.refusals))
            case SubmitLock(role=role):
                self._send(
                    swap_id, effect.seq, "lock", role, lambda: self._lock(state, role), state
                )
            case SubmitClaim(role=role):
                if state.leg_state(role).phase is not LegPhase.CLAIM_SENT:
                    # obsolete: the leg went on to its refund (the claim was held too long)
                    self.store.finish_effect(swap_id, effect.seq, "done")
                    return
                self._send(
                    swap_id, effect.seq, "claim", role, lambda: self._claim(state, role), state
                )
            case SubmitRefund(role=role):
                self._send(
                    swap_id, effect.seq, "refund", role, lambda: self._refund(state, role), state
                )
            case SwapFinished():
                self.store.finish_effect(swap_id, effect.seq, "done")

    def _send(
        self,
        swap_id: str,
        seq: int,
        action: str,
        role: Role,
        fn: Callable[[], str | None],
        state: SwapState,
    ) -> None:
        rt = self._rt(state, role)
        # fencing: the lease is renewed before the effect and after its (possibly long) wait,
        # and the signing key is held against other replicas while it signs and sends
        self.store.renew_lease(swap_id, lease_seconds=self.lease_seconds)
        signer = state.terms.leg(role).sender if action == "lock" else rt.operator.address
        journal = SwapJournal(
            self.store, swap_id, self._key, barrier_at_send=self._batches.guarded(self._key_of(rt))
        )
        try:
            with self._signing(rt, signer), journaled(journal), self._batches.owned_by(swap_id):
                tx_id = fn()
        except (LeaseLost, SignerBusy, ApprovalPending):
            raise
        except TransientError as exc:
            self._rpc_error(rt, exc)
            raise
        except _RevealRefused as refused:
            log.warning("swap %s: the re-check at the reveal refused; no reveal", swap_id)
            self.store.put_document(swap_id, "recheck", _json(refused.result))
            self.store.finish_effect(swap_id, seq, "done")
            self._apply(swap_id, ClaimRecheck(allowed=False, refusals=refused.result.refusals))
            return
        except BridgeError as exc:
            self._tx_failed(swap_id, seq, action, role, state, exc, broadcast=journal.signed)
            return
        self.store.renew_lease(swap_id, lease_seconds=self.lease_seconds)
        if tx_id is not None:
            self._sent += 1
            plan = self.crash_plan
            if plan is not None and plan.after_send is not None and self._sent >= plan.after_send:
                # a send the tick holds for its batch goes out first: the chain has it
                self._batches.flush(lambda key, exc: None)
                _die(f"after sending transaction {tx_id} ({action}), before recording it")
            self.store.record_sent(
                swap_id, seq, signed_tx="(kept sealed in the journal: documents tx:*)", tx_id=tx_id
            )
            if is_pipelined(rt.htlc):
                # in flight: the effect stays "sent" until the watcher or its outcome settles it
                self._landed.pop(tx_id, None)
                self._sent_now.add(tx_id)
                return
            if action == "lock":
                # the height the lock landed at (the head when it was sent, or later)
                height = self._landed.pop(tx_id, None)
                sent_at = rt.head() if height is None or height <= 0 else height
                self.store.put_document(swap_id, f"lock-sent-at:{role.value}", str(sent_at))
                self.funds_holds.landed(swap_id, role, sent_at)
        self.store.finish_effect(swap_id, seq, "done")

    def _tx_failed(
        self,
        swap_id: str,
        seq: int,
        action: str,
        role: Role,
        state: SwapState,
        exc: Exception,
        *,
        broadcast: bool,
    ) -> None:
        """An effect's transaction was refused or failed: a ``TxFailed`` input (a lock that
        is on chain after all is done instead); a claim or refund is asked again only after
        the swap's back-off (:class:`_Refused`)."""
        if action == "lock" and self._find(state, role) is not None:
            # the leg's lock is on chain after all: never record a lock failure for it
            log.warning("swap %s: %s lock refused but on chain: %s", swap_id, role.value, exc)
            self.store.finish_effect(swap_id, seq, "done")
            return
        log.info("swap %s: %s of %s leg refused: %s", swap_id, action, role.value, exc)
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
        if action != "lock":
            # the engine asks for the claim or refund again: not at once, but after the
            # swap's back-off (tick() records it as the swap's last_error), counted
            self.metrics.tx_refusals.labels(action).inc()
            raise _Refused(f"{action} of the {role.value} leg refused by the chain: {exc}") from exc

    @contextmanager
    def _signing(self, rt: ChainRuntime, address: str) -> Iterator[None]:
        """Hold the right to sign with ``address`` on ``rt``'s chain: within a tick, from its
        first use until the tick ends (nonces counted locally stay valid while it is held);
        outside one, for the block. ``rt.signer_acquired`` is told each time it is taken."""
        key = f"{self._key_of(rt)}:{address}"
        stack = self._tick_signers
        if stack is None:
            with self.store.signer_lock(key):
                if rt.signer_acquired is not None:
                    rt.signer_acquired(address)
                yield
            return
        if key not in self._held_keys:
            stack.enter_context(self.store.signer_lock(key))
            self._held_keys.add(key)
            if rt.signer_acquired is not None:
                rt.signer_acquired(address)
        yield

    def _in_flight(
        self, swap_id: str, row: EffectRow, state: SwapState
    ) -> Literal["wait", "settled", "run"]:
        """A ``sent`` effect of a pipelined chain: ``wait`` while its transaction is in
        flight; ``settled`` here (done: the watcher recorded what it did, or it was mined;
        failed: ``TxFailed``); ``run``: the effect must run again (dropped by the node, or
        out of a cached gas limit: opened again, the journal re-sends or rebuilds it; and
        any ``sent`` effect of a chain that is not pipelined, as after a crash)."""
        effect = row.effect
        if not isinstance(effect, SubmitLock | SubmitClaim | SubmitRefund) or row.tx_id is None:
            return "run"
        role = effect.role
        rt = self._rt(state, role)
        if not is_pipelined(rt.htlc):
            return "run"
        action, sent_phase = _SENT_PHASES[type(effect)]
        if state.leg_state(role).phase is not sent_phase:
            # the watcher recorded what it did (or the leg moved on): nothing left to ask
            self.outcomes.forget(row.tx_id)
            self.store.finish_effect(swap_id, effect.seq, "done")
            return "settled"
        if row.tx_id in self._sent_now:
            return "wait"  # sent in this tick: the watcher is given a tick to see it
        seen = self._seen_on_chain(state, role, action)
        if seen is not None:  # recorded, not yet confirmed deep enough to be observed
            self.outcomes.forget(row.tx_id)
            if action == "lock":
                self.store.put_document(swap_id, f"lock-sent-at:{role.value}", str(seen))
            self.store.finish_effect(swap_id, effect.seq, "done")
            return "settled"
        outcome = self.outcomes.take(row.tx_id)
        if outcome is not None and outcome.status == "pending":
            self._fill_nonce_gap(swap_id, state, role, action, rt, str(row.tx_id))
        if outcome is None or outcome.status == "pending":
            self.outcomes.wait(self._key_of(rt), row.tx_id)
            return "wait"
        self._pending_answers.pop(str(row.tx_id), None)
        if outcome.status == "mined":
            if action == "lock":
                # (its funds hold: landed once the watcher records it, which it has at or
                # below the height an EVM funds check reads at)
                self.store.put_document(swap_id, f"lock-sent-at:{role.value}", str(outcome.height))
            self.store.finish_effect(swap_id, effect.seq, "done")
            return "settled"
        if outcome.status == "dropped" and self._send_kept(swap_id, state, role, action, rt, row):
            log.warning(
                "swap %s: %s of the %s leg (tx %s) was dropped by the node; its kept bytes "
                "sent again",
                swap_id,
                action,
                role.value,
                row.tx_id,
            )
            self._sent_now.add(row.tx_id)
            return "wait"
        if outcome.status in ("dropped", "out_of_gas"):
            log.warning(
                "swap %s: %s of the %s leg (tx %s) %s; running it again",
                swap_id,
                action,
                role.value,
                row.tx_id,
                "was dropped by the node" if outcome.status == "dropped" else "ran out of gas",
            )
            self.store.reopen_effect(swap_id, kind=effect.kind, role=role.value)
            return "run"
        self._tx_failed(
            swap_id,
            effect.seq,
            action,
            role,
            state,
            TransactionReverted(
                outcome.reason or f"transaction {row.tx_id} failed", tx_id=row.tx_id
            ),
            broadcast=True,
        )
        return "settled"

    def _send_kept(
        self,
        swap_id: str,
        state: SwapState,
        role: Role,
        action: str,
        rt: ChainRuntime,
        row: EffectRow,
    ) -> bool:
        """Send a dropped transaction's kept bytes again, as they were: they take their own
        nonce whatever happens to them (mined, or reverted), so the sender's later
        transactions are not left behind a gap. Running the effect again would not always
        do it: a lock whose deadline the chain's clock has passed is refused before it is
        signed, and nothing would take that nonce (the interop run's seed 1103). False when
        no bytes were kept for it or the node refuses them: the effect then runs again."""
        raw = SwapJournal(self.store, swap_id, self._key).kept_for(str(row.tx_id))
        client = getattr(rt.htlc, "client", None)
        if raw is None or client is None:
            return False
        signer = state.terms.leg(role).sender if action == "lock" else rt.operator.address
        try:
            with self._signing(rt, signer):
                client.submit(raw)
        except (LeaseLost, SignerBusy):
            raise
        except BridgeError as exc:
            log.warning("swap %s: the dropped %s could not be sent again: %s", swap_id, action, exc)
            return False
        return True

    def _fill_nonce_gap(
        self, swap_id: str, state: SwapState, role: Role, action: str, rt: ChainRuntime, tx_id: str
    ) -> None:
        """A transaction the node holds but does not mine may wait behind a lower nonce of
        its sender that never reached the node: an approval sent in the same batch as its
        lock (the interop run's seed 1302) is no effect of its own, and nobody asked about
        it. At the second answer "pending", and every fourth after it, the swap's other
        transactions kept for this chain and sender below its nonce are asked about; one
        the node does not know is sent again as it was (its kept bytes: the same nonce).
        Only those: the pending transaction was built after them on the local nonce count,
        so each was meant to be sent, and the gap proves its nonce is still free."""
        answers = self._pending_answers.get(tx_id, 0) + 1
        if len(self._pending_answers) > 100_000:
            self._pending_answers.clear()
        self._pending_answers[tx_id] = answers
        client = getattr(rt.htlc, "client", None)
        if answers < 2 or (answers - 2) % 4 or client is None:
            return
        journal = SwapJournal(self.store, swap_id, self._key)
        pending = journal.kept_for(tx_id)
        if pending is None:
            return
        try:
            sender, nonce, chain_id = _sent_by(pending)
        except (ValueError, TypeError, KeyError):
            return  # not a typed transaction (a legacy one, e.g. ibet's): nothing is decoded
        below: dict[str, bytes] = {}
        for other in journal.kept_ids():
            raw = journal.kept_for(other) if other != tx_id.lower() else None
            if raw is None:
                continue
            with suppress(ValueError, TypeError, KeyError):
                their_sender, their_nonce, their_chain = _sent_by(raw)
                if (their_sender, their_chain) == (sender, chain_id) and their_nonce < nonce:
                    below[other] = raw
        if not below:
            return
        dropped = [
            t for t, sent in client.outcomes(sorted(below)).items() if sent.status == "dropped"
        ]
        signer = state.terms.leg(role).sender if action == "lock" else rt.operator.address
        for other in dropped:
            try:
                with self._signing(rt, signer):
                    client.submit(below[other])
            except (LeaseLost, SignerBusy):
                raise
            except BridgeError as exc:
                log.warning("swap %s: tx %s could not be sent again: %s", swap_id, other, exc)
                continue
            log.warning(
                "swap %s: the %s of the %s leg (tx %s) waits behind tx %s of its sender, which "
                "the node never got: its kept bytes sent again",
                swap_id,
                action,
                role.value,
                tx_id,
                other,
            )

    def _seen_on_chain(self, state: SwapState, role: Role, action: str) -> int | None:
        """The height of the leg's event the watcher recorded for ``action`` (the lock, or
        a claim / refund of the leg's lock), if any."""
        lock = self._recorded_lock(state, role)
        if lock is None or action == "lock":
            return None if lock is None else lock.height
        wanted = "Claimed" if action == "claim" else "Refunded"
        key = self._key_of(self._rt(state, role))
        for event in self._stored(key).history(str(lock.args["lock_id"])):
            if event.name == wanted:
                return event.height
        return None

    # -- effects against the chains -------------------------------------------------
    def _lock(self, state: SwapState, role: Role) -> str | None:
        if self._find(state, role) is not None:
            return None  # already locked before a crash: observe it, don't lock again
        rt = self._rt(state, role)
        leg = state.terms.leg(role)
        signer = rt.signer_for(leg.sender)
        if rt.prepare_lock is not None and leg.asset is not None:
            rt.prepare_lock(leg, signer)
        _lock_id, receipt = rt.htlc.lock(
            asset=leg.asset,
            receiver=leg.receiver,
            amount=leg.amount,
            hashlock=bytes.fromhex(state.terms.hashlock[2:]),
            deadline=state.terms.deadline(role),
            signer=signer,
            **({} if leg.partition is None else {"partition": _partition(leg)}),
        )
        self._landed[receipt.tx_id] = receipt.height
        return receipt.tx_id

    def _require_whole(self, state: SwapState, role: Role) -> None:
        """Refuse to act on ``role``'s leg while its pooled escrow is short of its asset."""
        rt = self._rt(state, role)
        if rt.shortfall is None:
            return
        asset = state.terms.leg(role).asset
        missing, open_ids = rt.shortfall(asset)
        label = "native" if asset is None else _asset_label(asset)
        self.metrics.escrow_shortfall.labels(rt.name, label).set(missing)
        if missing:
            raise _EscrowShort(
                f"the HTLC on chain {rt.name} holds {missing} units of {label} less than its "
                f"open locks ({', '.join(open_ids)}): an agent moved them out; nothing of "
                "that asset is claimed, refunded or revealed against until it is restored"
            )

    def _claim(self, state: SwapState, role: Role) -> str | None:
        self._require_whole(state, role)
        lock = self._find(state, role)
        if lock is None:
            raise _LockMissing(f"swap {state.terms.swap_id}: no {role.value} lock found to claim")
        if lock.state != "open":
            return None
        rt = self._rt(state, role)
        if role is Role.PARTICIPANT and not state.secret_public:
            self._may_reveal(state, rt)
        rt = self._rt(state, role)
        sealed = self.store.sealed_secret(state.terms.swap_id)
        if sealed is None:
            raise NotFound(f"swap {state.terms.swap_id}: this relayer does not hold the secret")
        secret = self._key.unseal(sealed, swap_id=state.terms.swap_id)
        if state.secret_public:  # a failed claim publishes nothing new: no estimate needed
            return claim_revealed(rt.htlc, lock.lock_id, secret, rt.operator).tx_id
        return rt.htlc.claim(lock.lock_id, secret, rt.operator).tx_id

    def _may_reveal(self, state: SwapState, rt: ChainRuntime) -> None:
        """Everything checked live, at the moment the secret would be revealed.

        - The reveal must be mined before the participant's deadline: it is sent only while
          the chain's time is at most ``reveal_by`` (its inclusion time before the deadline);
          later it is held for good and the legs go to their refunds.
        - Both locks were confirmed, but a reorg deeper than the confirmation depth may have
          removed the initiator's since: it is read live, and the secret held unless it is
          on chain and open.
        - The law and both tokens' checks are run again now (a freeze or a lapsed KYC since
          the earlier re-check refuses the reveal).
        """
        swap_id = state.terms.swap_id
        now = rt.now()
        if now > state.terms.reveal_by:
            raise _SecretHeld(
                f"swap {swap_id}: chain time {now} is past the last safe reveal time "
                f"{state.terms.reveal_by} (deadline {state.terms.participant_deadline}): a "
                "claim now might be mined too late, publishing the secret; not revealed"
            )
        self._require_whole(state, Role.INITIATOR)
        initiator = self._find(state, Role.INITIATOR)
        if initiator is None or initiator.state != "open":
            seen = "gone" if initiator is None else initiator.state
            raise _SecretHeld(
                f"swap {swap_id}: the initiator lock is {seen} on chain; "
                "the secret is not revealed (held until it is back, or refunded)"
            )
        result = self._check(state, before_claim=True)
        if not result.allowed:
            raise _RevealRefused(result)

    def _refund(self, state: SwapState, role: Role) -> str | None:
        """Refund whatever the leg's lock still holds: a lock partly clawed back or emptied
        by an issuer reads ``underfunded`` / ``unknown`` but is refunded all the same."""
        self._require_whole(state, role)
        lock = self._find(state, role)
        if lock is None:
            raise _LockMissing(f"swap {state.terms.swap_id}: no {role.value} lock found to refund")
        if lock.state in ("claimed", "refunded"):
            return None
        rt = self._rt(state, role)
        return rt.htlc.refund(lock.lock_id, rt.operator).tx_id

    def _check(self, state: SwapState, *, before_claim: bool) -> ComplianceResult:
        """The compliance engine, then each leg's token dry runs through the escrow.

        Before the lock the law is applied now. Before the claim it is applied now **and**
        at the latest instant the buyer's claim of the security can land (the initiator
        leg's deadline): a KYC or an accreditation that lapses before then refuses, since
        the buyer may receive the units only at that moment.
        """
        order = self.order_of(state.terms.swap_id)
        security = self.chains.get(order.security.chain)
        if security is not None and security.party_facts is not None:
            try:  # identities, agents and outflows as the token sees them
                order = with_chain_facts(order, security.party_facts)
            except TransientError as exc:
                self._rpc_error(security, exc)
                raise
        now = datetime.fromtimestamp(self.wall_clock(), UTC)
        instants = [now]
        if before_claim:
            instants.append(max(now, self._deadline_wall(state, Role.INITIATOR)))
        results = [self.compliance(order, at) for at in instants]
        result = results[0]
        refusals: list[Refusal] = []
        for item in results:
            refusals.extend(r for r in item.refusals if r not in refusals)
        if not all(r.allowed for r in results):
            result = next(r for r in results if not r.allowed)
        for role in Role:
            rt = self._rt(state, role)
            leg = state.terms.leg(role)
            if rt.funds is not None and not before_claim:  # each sender can pay its lock
                field_name = "security" if role is Role.INITIATOR else "cash"
                # ... and what its other swaps in flight hold (relayer.reservations)
                key = self._key_of(rt)
                hold = self.funds_holds.leg(
                    swap_id=state.terms.swap_id,
                    role=role,
                    chain=key,
                    sender=leg.sender,
                    lock_id=self.expected_lock_id(state, role),
                    asset=leg.asset,
                )
                view = self._views.get(key)
                short = rt.funds(
                    field_name,
                    leg.asset,
                    leg.sender,
                    leg.amount,
                    hold=hold,
                    at=None if view is None else view.head,
                )
                if short:
                    self.funds_holds.release(state.terms.swap_id, role)
                refusals.extend(short)
            if rt.dry_run is None or leg.asset is None:
                continue
            # before the lock: into the escrow, and the final transfer as the law sees it;
            # before the claim: out of the escrow, which now holds the units (a per-lock
            # escrow exists only once funded: before, the direct transfer stands for it)
            escrow = rt.escrow
            if escrow is None and rt.escrow_per_lock and before_claim:
                escrow = self.expected_lock_id(state, role)
            if before_claim:
                hops = [(escrow, leg.receiver)] if escrow else [(leg.sender, leg.receiver)]
            else:
                hops = [(leg.sender, leg.receiver)]
                if escrow:
                    hops.append((leg.sender, escrow))
            for sender, receiver in hops:
                intent = TransferIntent(  # a partition leg: that partition's balance
                    asset=leg.asset,
                    sender=sender,
                    recipient=receiver,
                    amount=leg.amount,
                    partition=leg.partition,
                )
                try:
                    check = None
                    if before_claim and rt.release_check is not None:
                        check = rt.release_check(self.expected_lock_id(state, role), intent)
                    if check is None:
                        check = rt.dry_run(intent)
                except TransientError as exc:
                    self._rpc_error(rt, exc)
                    raise
                refusals.extend(check.refusals)
        allowed = result.allowed and not refusals
        if not allowed and not refusals:
            refusals.append(Refusal(code=ReasonCode.UNKNOWN, detail="compliance refused"))
        return ComplianceResult(allowed, tuple(refusals), result.decision)

    # -- reads for the API ------------------------------------------------------------
    def audit(self, swap_id: str) -> dict[str, Any]:
        """The swap's audit record: terms, state, decision, every input with its time."""
        state = self.store.get(swap_id)
        return {
            "swap_id": swap_id,
            "outcome": state.outcome.value,
            "terms": state.terms.model_dump(mode="json"),
            "state": state.model_dump(mode="json", exclude={"terms"}),
            "decision": _maybe_json(self.store, swap_id, "decision"),
            "recheck": _maybe_json(self.store, swap_id, "recheck"),
            "last_error": _maybe_json(self.store, swap_id, "last_error"),
            "inputs": self.store.input_log(swap_id),
        }


def _only_the_clock(state: SwapState, advanced: ChainAdvanced) -> bool:
    """Whether the engine, given ``advanced``, would change nothing but the swap's clock
    (no effect, no other field): the pure transition is run to tell."""
    after, effects = transition(state, advanced)
    if effects:
        return False
    return after.model_copy(update={"chain_time": state.chain_time}) == state


def _with_records(rt: ChainRuntime, records: StoredLocks) -> ChainRuntime:
    """``rt`` with its HTLC port reading lock state from what the chain's watcher recorded
    (``records``; ports that offer ``with_records``; the others are left as they are)."""
    bind = getattr(rt.htlc, "with_records", None)
    if bind is None:
        return rt
    htlc = bind(records)
    shortfall = rt.shortfall
    if shortfall is not None and shortfall == getattr(rt.htlc, "shortfall", None):
        shortfall = htlc.shortfall  # the port's own check, reading the records too
    prepare = rt.prepare_lock
    follow = getattr(prepare, "with_port", None)
    if follow is not None:
        prepare = follow(htlc)  # the approval before a lock sees the bound port's gas limits
    funds = rt.funds
    follow = getattr(funds, "with_port", None)
    if follow is not None:
        funds = follow(htlc)  # the funds check counts the lock limits the bound port keeps
    return replace(rt, htlc=htlc, shortfall=shortfall, prepare_lock=prepare, funds=funds)


def _asset_label(asset: AssetRef) -> str:
    loc = asset.locator
    return loc.address if loc.kind == "evm_contract" else f"asa:{loc.asset_id}"


def _differences(old: Any, new: Any, path: str = "") -> tuple[str, ...]:
    """The dotted paths at which two JSON values differ."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for key in sorted(set(old) | set(new)):
            out.extend(_differences(old.get(key), new.get(key), f"{path}{key}."))
        return tuple(out)
    return () if old == new else (path.rstrip(".") or "order",)


def _head(rt: ChainRuntime) -> ChainHead:
    """A chain's height, and for timestamp chains its clock (deadlines are its timestamps)."""
    if rt.timing.deadline_unit == "timestamp":
        return ChainHead(height=rt.head(), time=rt.now())
    return ChainHead(height=rt.head())


def _partition(leg: Leg) -> bytes | None:
    """The bytes32 partition of an ERC-1400 leg (None: a plain leg)."""
    return None if leg.partition is None else bytes.fromhex(leg.partition.removeprefix("0x"))


def _json(result: ComplianceResult) -> str:
    return json.dumps(
        {
            "allowed": result.allowed,
            "refusals": [r.model_dump(mode="json") for r in result.refusals],
            "decision": dict(result.decision),
        }
    )


def _maybe_json(store: Store, swap_id: str, name: str) -> Any:
    try:
        return json.loads(store.document(swap_id, name))
    except NotFound:
        return None


@lru_cache(maxsize=4096)
def _sent_by(raw: bytes) -> tuple[str, int, int]:
    """The sender (recovered from the signature), nonce and chain id of a signed EIP-1559
    (typed) transaction; ``ValueError`` for anything else. Decoded once per signed bytes
    (recovering the signer is an elliptic-curve computation, and a swap's kept
    transactions are looked at again at each check of a pending one)."""
    from eth_account import Account
    from eth_account.typed_transactions.typed_transaction import TypedTransaction
    from hexbytes import HexBytes

    if not raw or raw[0] >= 0x80:
        raise ValueError("not a typed transaction")
    fields = TypedTransaction.from_bytes(HexBytes(raw)).as_dict()
    sender = str(Account.recover_transaction(raw)).lower()
    return sender, int(fields["nonce"]), int(fields["chainId"])
