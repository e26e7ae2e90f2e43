"""Runs one relayer's SATP session effects against the real chains, with only its own keys.

:class:`SatpExecutor` is the I/O half of the session machine: each :meth:`SatpExecutor.tick`

1. observes, for every open session: both chains' confirmed times (:class:`ChainTime`),
   and as responder the secret once the initiator's claim of our own lock is on the chain
   (:class:`SecretSeen`), so the responder claims even from a silent peer;
2. runs the session's pending effects in order, each persisted with the session before it
   runs (:class:`relayer.satp.node.SatpNode`), and feeds each result back as an input.

Every effect is safe to run again after a crash: a lock or claim already on the chain is
observed, not repeated; a message is re-sent and a peer that already has it answers with a
replay (taken as delivered). Keys: ``ChainAccess.signers`` holds only this platform's own
clients' keys; an effect that needs a key it does not hold raises, and nothing else does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bridge.errors import BridgeError, NotFound, TransientError
from bridge.htlc import ChainTiming, RelayerBudget
from bridge.ports import HtlcPort, Signer
from bridge.swap import Leg, Outcome, Role, SwapTerms
from relayer.satp.chain import check_lock_claim, expected_lock_id, own_lock_claim
from relayer.satp.jws import Envelope
from relayer.satp.messages import ComplianceStatement, HtlcAssignmentClaim, caip2
from relayer.satp.node import SatpNode
from relayer.satp.safety import claim_window_problem
from relayer.satp.session import (
    ChainTime,
    CheckPeerLock,
    ClaimForPeer,
    Decide,
    Decided,
    Delivered,
    Finished,
    OwnClaimConfirmed,
    OwnLockClaimed,
    OwnLockConfirmed,
    OwnRefundConfirmed,
    PeerLockChecked,
    Recheck,
    Rechecked,
    SecretSeen,
    Send,
    SessionState,
    SubmitOwnClaim,
    SubmitOwnLock,
    SubmitOwnRefund,
)
from relayer.satp.verify import Side
from relayer.sealing import SealingKey

__all__ = ["ChainAccess", "Deliver", "SatpExecutor"]

log = logging.getLogger(__name__)

Deliver = Callable[[str, Envelope], bool]
"""Send an envelope to the peer's session; True once the peer has it (accepted, or it
answered that it already had it); False or a ``TransientError`` when it is unreachable."""


@dataclass(frozen=True)
class ChainAccess:
    """What this relayer can read and sign on one chain.

    ``now`` is the chain's confirmed time in its deadline unit (block timestamp or round);
    ``expires_at`` turns a deadline in that unit into wall-clock time (for the lock
    assertion's expiration); ``signers`` are this platform's own clients' keys on this chain
    and ``operator`` pays the fees of claims and refunds (an HTLC claim pays its fixed
    receiver, whoever sends it).
    """

    htlc: HtlcPort
    htlc_id: str
    head: Callable[[], int]
    now: Callable[[], int]
    expires_at: Callable[[int], datetime]
    confirmations: int = 0
    signers: Mapping[str, Signer] = field(default_factory=dict)
    operator: Signer | None = None
    prepare_lock: Callable[[Leg, Signer], None] | None = None
    """Run before our lock with the leg and its sender's key (an ERC-20 ``approve``)."""
    timing: ChainTiming | None = None
    """How this chain keeps time: with ``SatpExecutor.budget``, the responder's check that
    the proposed deadlines leave it time to claim (:mod:`relayer.satp.safety`)."""

    def signer_for(self, address: str) -> Signer:
        """Our key for ``address``; a key we do not hold is refused, naming it."""
        signer = self.signers.get(address)
        if signer is None:
            raise NotFound(f"this relayer holds no key for {address}")
        return signer


class SatpExecutor:
    """The effects of one relayer's SATP sessions, run on the chains it can reach."""

    def __init__(
        self,
        node: SatpNode,
        chains: Mapping[str, ChainAccess],
        *,
        decide: Callable[[SwapTerms, Side], ComplianceStatement],
        recheck: Callable[[SwapTerms, Side, str], bool],
        deliver: Deliver,
        sealing_key: SealingKey | None = None,
        budget: RelayerBudget | None = None,
    ) -> None:
        self.node = node
        self.chains = dict(chains)  # by CAIP-2
        self.decide = decide
        self.recheck = recheck
        self.deliver = deliver
        self.sealing_key = sealing_key
        self.budget = budget

    def _chain(self, network: str) -> ChainAccess:
        access = self.chains.get(network)
        if access is None:
            raise NotFound(f"this relayer has no access to chain {network}")
        return access

    def _leg_chain(self, terms: SwapTerms, role: Role) -> ChainAccess:
        return self._chain(caip2(terms.leg(role).chain))

    def tick(self) -> int:
        """Observe and run every session's pending effects once; return how many ran."""
        ran = 0
        for swap_id in self.node.sessions():
            try:
                ran += self._tick_one(swap_id)
            except TransientError as exc:
                log.warning("satp session of swap %s: %s; retried next tick", swap_id, exc)
            except BridgeError as exc:
                # a refusal (a reverted claim, a key we do not hold) stops this session's
                # effects, not the other sessions': the effect stays pending and is retried
                log.error("satp session of swap %s: %s; effect kept pending", swap_id, exc)
            except Exception:  # a bug in one session must not starve the others
                log.exception("satp session of swap %s failed; retried next tick", swap_id)
        return ran

    def _tick_one(self, swap_id: str) -> int:
        state = self.node.load(swap_id)
        if state.outcome is not Outcome.OPEN and not self.node.pending(swap_id):
            return 0  # settled: nothing to observe or run (no write per tick)
        if state.terms is None:
            return self._run(swap_id)
        terms = state.terms.terms()
        for network, access in self.chains.items():
            now = access.now()
            if now > state.chain_time.get(network, -1):
                state, _ = self.node.apply(swap_id, ChainTime(network=network, time=now))
        if state.side is Side.RESPONDER and state.secret is None and state.own_lock == "locked":
            secret = self._secret_on_chain(terms, Role.PARTICIPANT)
            if secret is not None:
                self.node.apply(swap_id, SecretSeen(secret="0x" + secret.hex()))
        if state.side is Side.INITIATOR and state.revealed and not state.own_lock_settled:
            claimed = self._claimed(terms, Role.INITIATOR)
            if claimed is not None:
                self.node.apply(swap_id, OwnLockClaimed(tx_id=claimed[0]))
        return self._run(swap_id)

    def _secret_on_chain(self, terms: SwapTerms, role: Role) -> bytes | None:
        """The secret from a confirmed claim of ``role``'s lock, if one is on its chain."""
        access = self._leg_chain(terms, role)
        lock_id = expected_lock_id(terms, role, access.htlc)
        locks = [
            lk
            for lk in access.htlc.find(bytes.fromhex(terms.hashlock[2:]))
            if lk.lock_id == lock_id
        ]
        if not locks:
            return None
        top = access.head() - access.confirmations
        for event in access.htlc.events(locks[0].height, top):
            secret = event.args.get("secret")
            claimed = event.name == "Claimed" and event.args.get("lock_id") == lock_id
            if claimed and isinstance(secret, bytes):
                return secret
        return None

    def _run(self, swap_id: str) -> int:
        """Run the pending effects in order. One that cannot complete yet stays pending; an
        undelivered message holds back only the messages after it (they must arrive in
        order), never a lock, claim or refund: an unreachable peer cannot stall our own
        side's safety."""
        ran = 0
        sends_held = False
        for effect in self.node.pending(swap_id):
            if sends_held and isinstance(effect, Send):
                continue
            state = self.node.load(swap_id)
            result = self._effect(swap_id, state, effect)
            if result is _NOT_YET:
                sends_held = sends_held or isinstance(effect, Send)
                continue
            if result is not None:
                self.node.apply(swap_id, result)
            self.node.done(swap_id, effect.seq)
            ran += 1
        return ran

    def _effect(self, swap_id: str, state: SessionState, effect: Any) -> Any:
        terms = None if state.terms is None else state.terms.terms()
        match effect:
            case Send(message=message):
                envelope = self.node.seal(message)
                try:
                    delivered = self.deliver(message["sessionId"], envelope)
                except TransientError as exc:
                    log.info("satp: peer unreachable (%s); message kept for re-sending", exc)
                    delivered = False
                return Delivered() if delivered else _NOT_YET
            case Decide():
                assert terms is not None
                statement = self.decide(terms, state.side)
                if state.side is Side.RESPONDER and statement.allowed:
                    problem = self._claim_window_problem(terms)
                    if problem is not None:  # our decision refuses, saying why
                        statement = statement.model_copy(
                            update={"allowed": False, "reasons": (*statement.reasons, problem)}
                        )
                return Decided(statement=statement)
            case Recheck(before=before):
                assert terms is not None
                return Rechecked(allowed=self.recheck(terms, state.side, before))
            case SubmitOwnLock(role=role):
                assert terms is not None
                return self._lock(terms, role)
            case CheckPeerLock(claim=claim, role=role):
                assert terms is not None
                access = self._leg_chain(terms, role)
                verdict = check_lock_claim(
                    claim,
                    terms,
                    role,
                    access.htlc,
                    head=access.head(),
                    confirmations=state.lock_confirmations,
                )
                if not verdict.ok and "needed" in verdict.reason:
                    return _NOT_YET  # not deep enough yet: look again next tick
                return PeerLockChecked(ok=verdict.ok, reason=verdict.reason)
            case SubmitOwnClaim(role=role):
                assert terms is not None
                return self._claim(swap_id, state, terms, role)
            case ClaimForPeer(role=role):
                assert terms is not None
                return self._claim_for_peer(swap_id, terms, role)
            case SubmitOwnRefund(role=role):
                assert terms is not None
                access = self._leg_chain(terms, role)
                lock_id = expected_lock_id(terms, role, access.htlc)
                signer = access.operator or access.signer_for(terms.leg(role).sender)
                receipt = access.htlc.refund(lock_id, signer)
                return OwnRefundConfirmed(tx_id=receipt.tx_id)
            case Finished():
                return None
        raise TypeError(f"unknown effect {type(effect).__name__}")

    def _claim_window_problem(self, terms: SwapTerms) -> str | None:
        """Responder, deciding on a proposal: whether the proposed deadlines leave it time
        to claim the security after the cash deadline (skipped when a chain's timing or the
        budget is not configured)."""
        sec = self._leg_chain(terms, Role.INITIATOR)
        cash = self._leg_chain(terms, Role.PARTICIPANT)
        if sec.timing is None or cash.timing is None or self.budget is None:
            return None
        return claim_window_problem(
            security=sec.timing,
            security_deadline=terms.initiator_deadline,
            security_now=sec.now(),
            cash=cash.timing,
            cash_deadline=terms.participant_deadline,
            cash_now=cash.now(),
            wall_now=int(self.node.clock().timestamp()),
            budget=self.budget,
        )

    def _lock(self, terms: SwapTerms, role: Role) -> Any:
        access = self._leg_chain(terms, role)
        claim = own_lock_claim(terms, role, access.htlc, htlc_id=access.htlc_id, head=access.head())
        if claim is None:  # not locked yet (or not before a crash): lock now
            leg = terms.leg(role)
            if access.prepare_lock is not None and leg.asset is not None:
                access.prepare_lock(leg, access.signer_for(leg.sender))
            access.htlc.lock(
                asset=leg.asset,
                receiver=leg.receiver,
                amount=leg.amount,
                hashlock=bytes.fromhex(terms.hashlock[2:]),
                deadline=terms.deadline(role),
                signer=access.signer_for(leg.sender),
            )
            claim = own_lock_claim(
                terms, role, access.htlc, htlc_id=access.htlc_id, head=access.head()
            )
        if claim is None or claim.confirmations < max(1, access.confirmations):
            return _NOT_YET
        return OwnLockConfirmed(claim=claim, expiration=access.expires_at(claim.deadline))

    def _claim(self, swap_id: str, state: SessionState, terms: SwapTerms, role: Role) -> Any:
        access = self._leg_chain(terms, role)
        lock_id = expected_lock_id(terms, role, access.htlc)
        if state.side is Side.INITIATOR:
            if self.sealing_key is None:
                raise NotFound(f"swap {swap_id}: no sealing key for the secret")
            sealed = self.node.store.sealed_secret(swap_id)
            if sealed is None:
                raise NotFound(f"swap {swap_id}: this relayer does not hold the secret")
            secret = self.sealing_key.unseal(sealed, swap_id=swap_id)
        else:
            assert state.secret is not None
            secret = bytes.fromhex(state.secret[2:])
        signer = access.operator or access.signer_for(terms.leg(role).receiver)
        if self._claimed(terms, role) is None:  # not claimed before a crash, nor by others
            try:
                access.htlc.claim(lock_id, secret, signer)
            except BridgeError:
                if self._claimed(terms, role) is None:
                    raise
        found = self._claimed(terms, role)
        if found is None:
            return _NOT_YET
        tx_id, height = found
        return OwnClaimConfirmed(
            claim=HtlcAssignmentClaim(
                network=caip2(terms.leg(role).chain),
                lock_id=lock_id,
                tx_id=tx_id,
                block_number=height,
                secret="0x" + secret.hex() if state.side is Side.INITIATOR else None,
            )
        )

    def _claim_for_peer(self, swap_id: str, terms: SwapTerms, role: Role) -> Any:
        """Claim our own lock for its receiver (the peer's party) with the public secret."""
        access = self._leg_chain(terms, role)
        if self._claimed(terms, role) is None:
            if self.sealing_key is None:
                raise NotFound(f"swap {swap_id}: no sealing key for the secret")
            sealed = self.node.store.sealed_secret(swap_id)
            if sealed is None:
                raise NotFound(f"swap {swap_id}: this relayer does not hold the secret")
            secret = self.sealing_key.unseal(sealed, swap_id=swap_id)
            signer = access.operator or access.signer_for(terms.leg(role).sender)
            try:
                access.htlc.claim(expected_lock_id(terms, role, access.htlc), secret, signer)
            except BridgeError:
                if self._claimed(terms, role) is None:
                    raise
        found = self._claimed(terms, role)
        return _NOT_YET if found is None else OwnLockClaimed(tx_id=found[0])

    def _claimed(self, terms: SwapTerms, role: Role) -> tuple[str, int] | None:
        access = self._leg_chain(terms, role)
        lock_id = expected_lock_id(terms, role, access.htlc)
        locks = [
            lk
            for lk in access.htlc.find(bytes.fromhex(terms.hashlock[2:]))
            if lk.lock_id == lock_id
        ]
        if not locks:
            return None
        for event in access.htlc.events(locks[0].height, access.head()):
            if event.name == "Claimed" and event.args.get("lock_id") == lock_id:
                return event.tx_id, event.height
        return None


class _NotYet:
    """Marker: the effect cannot complete now; it stays pending (and so do later ones)."""


_NOT_YET: Any = _NotYet()
