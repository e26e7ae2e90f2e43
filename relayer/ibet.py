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
  (:meth:`IbetAdapter.check_unlock`) for the open lock that pays the buyer;
- no ERC-20 approval is sent for an ibet leg (``IbetHtlc.lock`` locks the units itself);
- the pooled-escrow shortfall applies to ``HTLC.sol`` only (ibet units never leave the
  seller's lock book for a pooled account).
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
from relayer.service import ChainRuntime

__all__ = ["RoutedHtlc", "with_ibet"]

IBET_STANDARDS = frozenset({Standard.IBET_SHARE, Standard.IBET_BOND})


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

    def shortfall(self, asset: AssetRef | None) -> tuple[int, tuple[str, ...]]:
        """``HTLC.sol``'s pooled shortfall; none for ibet (units stay in the lock book)."""
        if self.is_ibet(asset):
            return 0, ()
        return self.plain.shortfall(asset)


def _address(asset: AssetRef) -> str:
    locator = asset.locator
    return locator.address if isinstance(locator, EvmContractLocator) else ""


def _ibet_dry_run(
    routed: RoutedHtlc, base: Callable[[TransferIntent], TransferCheck]
) -> Callable[[TransferIntent], TransferCheck]:
    """The chain's dry run with the escrow hops of an ibet leg answered as ibet settles."""
    from adapters.evm.ibet import IbetBondAdapter, IbetShareAdapter

    def adapter(asset: AssetRef) -> Any:
        standard = routed._standards.get(_address(asset).lower())
        cls = IbetBondAdapter if standard is Standard.IBET_BOND else IbetShareAdapter
        return cls(routed.client)

    def run(intent: TransferIntent) -> TransferCheck:
        if not routed.is_ibet(intent.asset):
            return base(intent)
        escrow = routed.address.lower()
        token = _address(intent.asset)
        if intent.recipient.lower() == escrow:  # into the escrow: the seller's lock book
            missing = routed.ibet.preflight(token=token, sender=intent.sender, amount=intent.amount)
            return TransferCheck(intent=intent, allowed=not missing, refusals=missing)
        if intent.sender.lower() == escrow:  # out of it: ibet's unlock to the buyer
            for lock in routed.ibet._scan(None):
                if (
                    lock.state == "open"
                    and lock.receiver.lower() == intent.recipient.lower()
                    and lock.amount == intent.amount
                    and lock.asset is not None
                    and _address(lock.asset).lower() == token.lower()
                ):
                    return adapter(intent.asset).check_unlock(  # type: ignore[no-any-return]
                        intent.asset,
                        lock_address=routed.ibet.address,
                        account=lock.sender,
                        recipient=intent.recipient,
                        amount=intent.amount,
                    )
            refusal = Refusal(
                code=ReasonCode.TRANSFER_FAILURE,
                detail=f"no open ibet lock of {intent.amount} units for {intent.recipient}",
            )
            return TransferCheck(intent=intent, allowed=False, refusals=(refusal,))
        return adapter(intent.asset).check_transfer(intent)  # type: ignore[no-any-return]

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
        prepare_lock=prepare,
        shortfall=routed.shortfall,
    )
