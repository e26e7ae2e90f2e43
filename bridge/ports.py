"""The seams between the core and the chains, as ``typing.Protocol``s.

``adapters`` implement these; ``relayer`` and the CLI use them and nothing else to reach
a chain. Each adapter splits into a pure half (:class:`TokenCodec`: native <-> canonical,
native reason codes) and an I/O half (:class:`TokenPort` on top of a :class:`ChainClient`).

Conventions every implementation follows:

- amounts are ``int`` base units; addresses are validated canonical strings;
- SDK errors are translated into :mod:`bridge.errors` (chained), never leaked;
- an operation whose capability the adapter did not declare raises
  :class:`bridge.errors.UnsupportedCapability`;
- a dry run never sends anything.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from bridge.model import (
    Asset,
    AssetRef,
    Capability,
    ChainRef,
    Eligibility,
    Holding,
    Refusal,
    Standard,
    TransferCheck,
    TransferIntent,
)

__all__ = [
    "ChainClient",
    "ChainClock",
    "ChainEvent",
    "HtlcLock",
    "HtlcPort",
    "Signer",
    "TokenCodec",
    "TokenPort",
    "TxReceipt",
]


@dataclass(frozen=True, slots=True)
class TxReceipt:
    """A confirmed transaction: its id, the height it landed at, and whether it succeeded."""

    tx_id: str
    height: int
    success: bool
    fee_paid: int = 0


@dataclass(frozen=True, slots=True)
class ChainEvent:
    """One decoded event / log / transaction effect, with its position for cursors."""

    name: str
    height: int
    tx_id: str
    index: int
    args: dict[str, object]


@runtime_checkable
class Signer(Protocol):
    """Signs for one address. Keys never leave it and are never printed or logged."""

    @property
    def address(self) -> str:
        """The address this signer signs for."""
        ...

    def sign(self, unsigned: object) -> bytes:
        """Sign a chain-native unsigned transaction; return the raw signed bytes."""
        ...


@runtime_checkable
class ChainClock(Protocol):
    """The chain's notion of now, and deadlines in the chain's own terms."""

    def now(self) -> datetime:
        """Timestamp of the latest block (UTC)."""
        ...

    def height(self) -> int:
        """Latest block number / round."""
        ...

    def deadline_for(self, wall_clock: datetime, *, safety: timedelta) -> int:
        """Chain-native deadline (timestamp or round) no later than ``wall_clock - safety``."""
        ...


@runtime_checkable
class ChainClient(Protocol):
    """The I/O half shared by every adapter of one chain family."""

    @property
    def chain(self) -> ChainRef:
        """Which chain this client talks to."""
        ...

    def head(self) -> int:
        """Latest height."""
        ...

    def finality_depth(self) -> int:
        """Blocks after which an event is treated as final."""
        ...

    def submit(self, signed: bytes) -> str:
        """Send a signed transaction; return its id. Re-sending the same bytes is safe."""
        ...

    def wait(self, tx_id: str, *, timeout: float) -> TxReceipt:
        """Wait for the transaction; raise ``TransactionReverted`` if it failed."""
        ...


@runtime_checkable
class TokenCodec(Protocol):
    """The pure half of an adapter: native values <-> canonical, and native reasons."""

    standard: Standard

    def refusal(self, raw_code: str | None, raw_message: str | None) -> Refusal:
        """Canonical refusal for a native code/message (UNKNOWN keeps the raw values)."""
        ...


@runtime_checkable
class TokenPort(Protocol):
    """Read a token, check a transfer without sending, and run the agent operations."""

    standard: Standard
    capabilities: frozenset[Capability]

    def read_asset(self, ref: AssetRef) -> Asset:
        """The whole canonical asset (rules with parameters, controls, documents)."""
        ...

    def holding(self, ref: AssetRef, holder: str) -> Holding:
        """One holder's position."""
        ...

    def holders(self, ref: AssetRef, *, from_height: int = 0) -> Iterator[Holding]:
        """Every holder with a non-zero position, scanned from events in batches."""
        ...

    def eligibility(self, ref: AssetRef, wallet: str) -> Eligibility:
        """Whether ``wallet`` may hold the asset now, and what is missing if not."""
        ...

    def check_transfer(self, intent: TransferIntent) -> TransferCheck:
        """Dry run: the verdict the chain would give, from reads only (nothing is sent)."""
        ...

    def transfer(self, intent: TransferIntent, signer: Signer) -> TxReceipt:
        """Send the transfer (the sender signs)."""
        ...

    def agent_operation(
        self, ref: AssetRef, capability: Capability, signer: Signer, **params: object
    ) -> TxReceipt:
        """Run an agent operation (mint, burn, freeze, forced transfer...).

        Raises ``UnsupportedCapability`` when ``capability`` is not declared.
        """
        ...


@dataclass(frozen=True, slots=True)
class HtlcLock:
    """A hash-time lock as seen on chain."""

    lock_id: str
    asset: AssetRef | None
    sender: str
    receiver: str
    amount: int
    hashlock: bytes
    deadline: int
    state: str
    height: int


@runtime_checkable
class HtlcPort(Protocol):
    """Lock, claim, refund and follow hash-time locks on one chain."""

    def lock(
        self,
        *,
        asset: AssetRef | None,
        receiver: str,
        amount: int,
        hashlock: bytes,
        deadline: int,
        signer: Signer,
    ) -> tuple[str, TxReceipt]:
        """Create a lock; return its id and the receipt."""
        ...

    def claim(self, lock_id: str, secret: bytes, signer: Signer) -> TxReceipt:
        """Release the lock to its fixed receiver with the 32-byte secret."""
        ...

    def refund(self, lock_id: str, signer: Signer) -> TxReceipt:
        """Return the lock to its fixed sender after the deadline."""
        ...

    def find(self, hashlock: bytes) -> Sequence[HtlcLock]:
        """Locks with this hashlock."""
        ...

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
        """The id a lock with exactly these parameters has on this HTLC.

        Recomputed from our own contract or template (the EVM HTLC's lock id hashes every
        parameter, sender included; an Algorand escrow's address hashes its whole program),
        never read from a lock: a lock counts for a leg only if its id is this one. Anything
        else under the same hashlock is a look-alike or a decoy.
        """
        ...

    def events(self, from_height: int, to_height: int) -> Iterator[ChainEvent]:
        """Lock / claim / refund events in ``[from_height, to_height]``."""
        ...
