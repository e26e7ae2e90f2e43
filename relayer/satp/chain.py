"""The session machine's chain edge: a peer's lock assertion checked against its chain.

A lock assertion is a claim by the peer gateway; it counts only if the chain bears out
exactly what the agreed terms require. :func:`check_lock_claim` recomputes the lock id
from the terms with the chain's own HTLC port (:meth:`bridge.ports.HtlcPort.lock_id_for`,
the same rule as ``RelayerService.expected_lock_id``), never from the claim, then requires
that lock to exist on the chain, open, with the terms' amount, parties, hashlock and
deadline, created by the asserted transaction at the asserted block and log index, and at
least ``confirmations`` deep. A look-alike under the same hashlock has another id and fails.

:func:`own_lock_claim` is the other direction: the claim we assert for our own lock.
"""

from __future__ import annotations

from dataclasses import dataclass

from bridge.ports import HtlcLock, HtlcPort
from bridge.swap import Leg, Role, SwapTerms
from relayer.satp.messages import HtlcLockClaim, asset_caip19, caip2

__all__ = ["LockCheck", "check_lock_claim", "expected_lock_id", "own_lock_claim"]


@dataclass(frozen=True, slots=True)
class LockCheck:
    """The verdict on a lock assertion: ``ok``, or why not (one line, for the audit)."""

    ok: bool
    reason: str = ""


def _partition(leg: Leg) -> bytes | None:
    return None if leg.partition is None else bytes.fromhex(leg.partition.removeprefix("0x"))


def expected_lock_id(terms: SwapTerms, role: Role, htlc: HtlcPort) -> str:
    """The id of the one lock that is ``role``'s leg, recomputed from the terms."""
    leg = terms.leg(role)
    return htlc.lock_id_for(
        asset=leg.asset,
        sender=leg.sender,
        receiver=leg.receiver,
        amount=leg.amount,
        hashlock=bytes.fromhex(terms.hashlock[2:]),
        deadline=terms.deadline(role),
        partition=_partition(leg),
    )


def _on_chain(terms: SwapTerms, role: Role, htlc: HtlcPort, lock_id: str) -> HtlcLock | None:
    for lock in htlc.find(bytes.fromhex(terms.hashlock[2:])):
        if lock.lock_id == lock_id:
            return lock
    return None


def check_lock_claim(
    claim: HtlcLockClaim,
    terms: SwapTerms,
    role: Role,
    htlc: HtlcPort,
    *,
    head: int,
    confirmations: int,
) -> LockCheck:
    """Whether ``claim`` is ``role``'s lock on the chain, as the terms define it."""
    leg = terms.leg(role)
    want = {
        "network": caip2(leg.chain),
        "hashLock": terms.hashlock,
        "sender": leg.sender,
        "receiver": leg.receiver,
        "amount": str(leg.amount),
        "asset": asset_caip19(leg.chain, leg.asset),
        "deadline": terms.deadline(role),
    }
    got = claim.wire()
    for key, value in want.items():
        if got[key] != value:
            return LockCheck(False, f"lockAssertionClaim.{key}: not the agreed leg's")
    expected = expected_lock_id(terms, role, htlc)
    if claim.lock_id != expected:
        return LockCheck(False, f"lockAssertionClaim.lockId: the terms give {expected}")
    lock = _on_chain(terms, role, htlc, expected)
    if lock is None:
        return LockCheck(False, f"lock {expected} is not on the chain")
    if lock.state != "open":
        return LockCheck(False, f"lock {expected} is {lock.state}, not open")
    if (lock.amount, lock.receiver, lock.deadline) != (
        leg.amount,
        leg.receiver,
        terms.deadline(role),
    ):
        return LockCheck(False, f"lock {expected} on chain differs from the terms")
    events = [
        e
        for e in htlc.events(claim.block_number, claim.block_number)
        if e.name == "Locked" and e.args.get("lock_id") == expected
    ]
    if not any(e.tx_id == claim.tx_id and e.index == claim.log_index for e in events):
        return LockCheck(
            False,
            "lockAssertionClaim: txId/blockNumber/logIndex do not locate the lock's creation",
        )
    depth = head - lock.height + 1
    if depth < confirmations:
        return LockCheck(False, f"lock {expected} is {depth} deep; {confirmations} needed")
    return LockCheck(True)


def own_lock_claim(
    terms: SwapTerms,
    role: Role,
    htlc: HtlcPort,
    *,
    htlc_id: str,
    head: int,
) -> HtlcLockClaim | None:
    """The lock-assertion claim for our own confirmed lock (None while it is not there)."""
    expected = expected_lock_id(terms, role, htlc)
    lock = _on_chain(terms, role, htlc, expected)
    if lock is None:
        return None
    created = [
        e
        for e in htlc.events(lock.height, lock.height)
        if e.name == "Locked" and e.args.get("lock_id") == expected
    ]
    if not created:
        return None
    leg = terms.leg(role)
    return HtlcLockClaim(
        network=caip2(leg.chain),
        htlc=htlc_id,
        lock_id=expected,
        tx_id=created[0].tx_id,
        block_number=created[0].height,
        log_index=created[0].index,
        hash_lock=terms.hashlock,
        sender=leg.sender,
        receiver=leg.receiver,
        amount=str(leg.amount),
        asset=asset_caip19(leg.chain, leg.asset),
        deadline=terms.deadline(role),
        confirmations=max(0, head - lock.height + 1),
    )
