"""ibet legs in the daemon: one EVM chain, two HTLC contracts, routed by the leg's token.

ibet shares and bonds have no ``approve``/``transferFrom``: they settle through
``IbetHTLC.sol`` and the token's lock book (:class:`adapters.evm.ibet_htlc.IbetHtlc`), every
other EVM token and the native coin through ``HTLC.sol`` (:class:`adapters.evm.htlc.EvmHtlc`).
A chain whose settings name ``ibet_htlc`` gets :func:`with_ibet`: its runtime's HTLC port
becomes :class:`RoutedHtlc` (a lock goes to the contract its token needs; claims and
refunds to the contract holding the lock; events and finds from both, in chain order),
and its dry run, approval step and shortfall check learn the ibet case:

- before the lock, the hop "into the escrow" of an ibet leg is the seller's lock-book
  entry: the ibet HTLC's pre-flight (free plus uncommitted locked units) answers it; the
  seller-to-buyer hop is the token's own transfer check, as for every token;
- before the claim, the hop "out of the escrow" is ibet's ``unlock`` to the buyer, which
  skips the token's transferable and personal-information checks: they are run here
  (:meth:`IbetAdapter.check_unlock`) for the leg's own lock, by the id the relayer
  recomputes from the terms (the runtime's ``release_check``; a look-alike lock is never
  judged instead), and the seller's lock book must still hold every unit IbetHTLC has
  committed (an agent's ``forceUnlock`` refuses the reveal: the legs are refunded);
- before the lock, the funds check counts an ibet leg's gas as the token's ``lock`` plus
  the commit (no approval);
- no ERC-20 approval is sent for an ibet leg (``IbetHtlc.lock`` locks the units itself);
- the pooled-escrow shortfall applies to ``HTLC.sol`` only (ibet units never leave the
  seller's lock book for a pooled account; the book's own shortfall is the release
  check's).
"""

from __future__ import annotations

import dataclasses
import heapq
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from adapters.evm.client import EvmClient
from adapters.evm.htlc import EvmHtlc
from adapters.evm.ibet_htlc import IbetHtlc
from bridge.errors import NotFound
from bridge.model import (
    AssetRef,
    EvmContractLocator,
    Refusal,
    Standard,
    TransferCheck,
    TransferIntent,
)
from bridge.ports import ChainEvent, HtlcLock, Signer, TxReceipt
from bridge.reasons import ReasonCode
from bridge.swap import Leg
from relayer.dry_runs import FundsCheck, evm_estimate, evm_gas_refusal, sent_limit
from relayer.reservations import FundsHold, LockCost
from relayer.service import ChainRuntime

__all__ = ["RoutedHtlc", "with_ibet"]

IBET_STANDARDS = frozenset({Standard.IBET_SHARE, Standard.IBET_BOND})

IBET_TOKEN_LOCK_GAS = 150_000
"""The gas limit of the token's ``lock`` to IbetHTLC when it cannot be estimated."""

IBET_COMMIT_GAS = 120_000
"""A bound on the gas limit of ``IbetHTLC.lock`` (the commit), which cannot be estimated
before the token's lock. Measured on py-evm at cancun (``stbridge bench gas``, a straight
bond): the commit alone uses 43,704 when it reuses a settled slot of the seller's, 60,804
on a fresh slot and 77,892 for a seller's first commit (its committed total is a fresh word
too); with the token's ``lock`` to the escrow (35,944, or 53,044 when the seller first locks
units to it) the lock is 79,648 in the steady state and 96,748 on a fresh slot."""


class RoutedHtlc:
    """An :class:`bridge.ports.HtlcPort` over ``HTLC.sol`` and ``IbetHTLC.sol`` on one chain."""

    def __init__(self, client: EvmClient, plain: EvmHtlc, ibet: IbetHtlc) -> None:
        self.client = client
        self.plain = plain
        self.ibet = ibet
        self.address = plain.address
        self._standards: dict[str, Standard | None] = {}
        self._ibet_locks: set[str] = set()

    def is_ibet(self, asset: AssetRef | None) -> bool:
        """Whether ``asset`` is an ibet share or bond (detected once per token)."""
        if asset is None or asset.locator.kind != "evm_contract":
            return False
        key = asset.locator.address.lower()
        if key not in self._standards:
            from adapters.evm.inspect import detect_standard

            try:
                self._standards[key] = detect_standard(self.client, asset.locator.address).standard
            except NotFound:
                self._standards[key] = None
        return self._standards[key] in IBET_STANDARDS

    def _remember(self, lock_id: str) -> str:
        self._ibet_locks.add(lock_id.lower())
        return lock_id

    def _holds(self, lock_id: str) -> bool:
        """Whether ``lock_id`` is an ibet lock (seen here, or found on the ibet HTLC)."""
        if lock_id.lower() in self._ibet_locks:
            return True
        try:
            self.ibet._params(lock_id)
        except NotFound:
            return False
        self._remember(lock_id)
        return True

    def lock(
        self,
        *,
        asset: AssetRef | None,
        receiver: str,
        amount: int,
        hashlock: bytes,
        deadline: int,
        signer: Signer,
        partition: bytes | None = None,
    ) -> tuple[str, TxReceipt]:
        """Lock on the contract the token needs."""
        if self.is_ibet(asset):
            lock_id, receipt = self.ibet.lock(
                asset=asset,
                receiver=receiver,
                amount=amount,
                hashlock=hashlock,
                deadline=deadline,
                signer=signer,
            )
            return self._remember(lock_id), receipt
        return self.plain.lock(
            asset=asset,
            receiver=receiver,
            amount=amount,
            hashlock=hashlock,
            deadline=deadline,
            signer=signer,
            partition=partition,
        )

    def lock_id_for(
        self,
        *,
        asset: AssetRef | None,
        sender: str,
        receiver: str,
        amount: int,
        hashlock: bytes,
        deadline: int,
        partition: bytes | None = None,
    ) -> str:
        """The id the token's contract gives a lock with these parameters."""
        port: Any = self.ibet if self.is_ibet(asset) else self.plain
        lock_id = str(
            port.lock_id_for(
                asset=asset,
                sender=sender,
                receiver=receiver,
                amount=amount,
                hashlock=hashlock,
                deadline=deadline,
                partition=partition,
            )
        )
        return self._remember(lock_id) if port is self.ibet else lock_id

    def claim(self, lock_id: str, secret: bytes, signer: Signer) -> TxReceipt:
        """Claim on the contract that holds the lock."""
        port: Any = self.ibet if self._holds(lock_id) else self.plain
        receipt: TxReceipt = port.claim(lock_id, secret, signer)
        return receipt

    def refund(self, lock_id: str, signer: Signer) -> TxReceipt:
        """Refund on the contract that holds the lock."""
        port: Any = self.ibet if self._holds(lock_id) else self.plain
        receipt: TxReceipt = port.refund(lock_id, signer)
        return receipt

    def find(self, hashlock: bytes) -> Sequence[HtlcLock]:
        """Locks under ``hashlock`` on both contracts."""
        found = list(self.plain.find(hashlock))
        for lock in self.ibet.find(hashlock):
            self._remember(lock.lock_id)
            found.append(lock)
        return found

    def events(self, from_height: int, to_height: int) -> Iterator[ChainEvent]:
        """Both contracts' events in ``[from_height, to_height]``, in chain order."""

        def order(event: ChainEvent) -> tuple[int, int]:
            return event.height, event.index

        def ibet_events() -> Iterator[ChainEvent]:
            for event in self.ibet.events(from_height, to_height):
                self._remember(str(event.args["lock_id"]))
                yield event

        yield from heapq.merge(self.plain.events(from_height, to_height), ibet_events(), key=order)

    def ibet_shortfall(self, token: str, seller: str) -> int:
        """How many units ``seller``'s lock book on ``token`` lacks for IbetHTLC's open
        locks: what IbetHTLC committed of them minus what is locked to it (0: whole)."""
        contract = self.client.contract(token, self.ibet._token_abi)
        locked = int(self.client.read(contract.functions.lockedOf(self.ibet.address, seller)))
        committed = int(self.client.read(self.ibet.contract.functions.committed(token, seller)))
        return max(committed - locked, 0)

    def shortfall(self, asset: AssetRef | None) -> tuple[int, tuple[str, ...]]:
        """``HTLC.sol``'s pooled shortfall; none for ibet (units stay in the lock book)."""
        if self.is_ibet(asset):
            return 0, ()
        return self.plain.shortfall(asset)


def _address(asset: AssetRef) -> str:
    locator = asset.locator
    return locator.address if isinstance(locator, EvmContractLocator) else ""


def _ibet_adapter(routed: RoutedHtlc) -> Callable[[AssetRef], Any]:
    """The ibet adapter (share or bond) of an asset ``routed`` has detected."""
    from adapters.evm.ibet import IbetBondAdapter, IbetShareAdapter

    def adapter(asset: AssetRef) -> Any:
        standard = routed._standards.get(_address(asset).lower())
        cls = IbetBondAdapter if standard is Standard.IBET_BOND else IbetShareAdapter
        return cls(routed.client)

    return adapter


def _ibet_dry_run(
    routed: RoutedHtlc, base: Callable[[TransferIntent], TransferCheck]
) -> Callable[[TransferIntent], TransferCheck]:
    """The chain's dry run with the escrow hops of an ibet leg answered as ibet settles."""
    adapter = _ibet_adapter(routed)

    def run(intent: TransferIntent) -> TransferCheck:
        if not routed.is_ibet(intent.asset):
            return base(intent)
        escrow = routed.address.lower()
        token = _address(intent.asset)
        if intent.recipient.lower() == escrow:  # into the escrow: the seller's lock book
            missing = routed.ibet.preflight(token=token, sender=intent.sender, amount=intent.amount)
            return TransferCheck(intent=intent, allowed=not missing, refusals=missing)
        if intent.sender.lower() == escrow:  # out of it: judged per lock (release check)
            refusal = Refusal(
                code=ReasonCode.TRANSFER_FAILURE,
                detail="the release of an ibet lock is judged for the leg's own lock id "
                "(release_check), never for whichever open lock looks like it",
            )
            return TransferCheck(intent=intent, allowed=False, refusals=(refusal,))
        return adapter(intent.asset).check_transfer(intent)  # type: ignore[no-any-return]

    return run


def _ibet_release_check(
    routed: RoutedHtlc, adapter: Callable[[AssetRef], Any]
) -> Callable[[str, TransferIntent], TransferCheck | None]:
    """Before the claim of an ibet leg: ibet's ``unlock`` of the leg's own lock (``lock_id``,
    recomputed by the relayer from the terms; a look-alike lock with the same receiver,
    amount and token is never judged instead), with the checks ``unlock`` skips, and the
    seller's lock book still whole: the units locked to IbetHTLC at least what IbetHTLC has
    committed of them to open locks (an issuer's ``forceUnlock`` or
    ``forceChangeLockedAccount`` takes units out of it; a claim would then fail, or be paid
    out of another lock's units). None for every other leg."""

    def run(lock_id: str, intent: TransferIntent) -> TransferCheck | None:
        if not routed.is_ibet(intent.asset):
            return None
        try:
            lock = routed.ibet._params(lock_id)
        except NotFound:
            lock = None
        if lock is None or lock.state != "open":
            seen = "not on chain" if lock is None else lock.state
            refusal = Refusal(
                code=ReasonCode.TRANSFER_FAILURE,
                raw_code="IBET_LOCK_NOT_OPEN",
                detail=f"the leg's ibet lock {lock_id} is {seen}",
            )
            return TransferCheck(intent=intent, allowed=False, refusals=(refusal,))
        token = _address(intent.asset)
        check: TransferCheck = adapter(intent.asset).check_unlock(
            intent.asset,
            lock_address=routed.ibet.address,
            account=lock.sender,
            recipient=intent.recipient,
            amount=intent.amount,
        )
        missing = routed.ibet_shortfall(token, lock.sender)
        if not missing:
            return check
        short = Refusal(
            code=ReasonCode.INSUFFICIENT_BALANCE,
            raw_code="IBET_ESCROW_SHORT",
            detail=f"{lock.sender}'s units locked to IbetHTLC {routed.ibet.address} are "
            f"{missing} short of its open locks of {token}: an agent moved them out "
            "(forceUnlock / forceChangeLockedAccount); the secret is not revealed",
        )
        return TransferCheck(intent=check.intent, allowed=False, refusals=(*check.refusals, short))

    return run


def _ibet_funds(routed: RoutedHtlc, base: FundsCheck | None) -> FundsCheck:
    """The chain's funds check, with an ibet leg's gas as ibet locks: the token's ``lock``
    to IbetHTLC (estimated, or :data:`IBET_TOKEN_LOCK_GAS`) and the commit
    (:data:`IBET_COMMIT_GAS`); no approval."""

    def run(
        field: str,
        asset: AssetRef | None,
        sender: str,
        amount: int,
        /,
        *,
        hold: FundsHold | None = None,
        at: int | None = None,
    ) -> tuple[Refusal, ...]:
        if not routed.is_ibet(asset) or asset is None:
            return () if base is None else base(field, asset, sender, amount, hold=hold, at=at)
        token = routed.client.contract(_address(asset), routed.ibet._token_abi)
        estimate = evm_estimate(
            routed.client, sender, token.functions.lock(routed.ibet.address, amount, "")
        )
        gas = sent_limit(estimate, IBET_TOKEN_LOCK_GAS) + IBET_COMMIT_GAS
        what = f"the gas of the ibet lock and its commit of {field}.amount {amount}"
        if hold is None:
            return evm_gas_refusal(routed.client, field, sender, gas, what)
        # the lock's gas is held like any other (its units: the ibet token's own check)
        others = hold.hold(LockCost(gas=gas), at)
        return evm_gas_refusal(routed.client, field, sender, gas, what, others=others, at=at)

    return run


def with_ibet(runtime: ChainRuntime, client: EvmClient, ibet: IbetHtlc) -> ChainRuntime:
    """``runtime`` (built by :func:`relayer.evm.evm_runtime`) settling ibet legs too."""
    plain = runtime.htlc
    if not isinstance(plain, EvmHtlc):
        raise TypeError("with_ibet wraps an EVM runtime built on HTLC.sol")
    routed = RoutedHtlc(client, plain, ibet)
    approve = runtime.prepare_lock

    def prepare(leg: Leg, signer: Signer) -> None:
        if approve is not None and not routed.is_ibet(leg.asset):
            approve(leg, signer)

    base = runtime.dry_run
    return dataclasses.replace(
        runtime,
        htlc=routed,
        dry_run=None if base is None else _ibet_dry_run(routed, base),
        release_check=_ibet_release_check(routed, _ibet_adapter(routed)),
        prepare_lock=prepare,
        shortfall=routed.shortfall,
        funds=_ibet_funds(routed, runtime.funds),
    )
