"""The EVM side of hash-time-locked settlement: :class:`EvmHtlc` over our ``HTLC.sol``.

:class:`EvmHtlc` implements :class:`bridge.ports.HtlcPort` for one deployed HTLC contract:
lock (native coin, any ERC-20-compatible token - ERC-3643 and ERC-1404 included - or one
partition of an ERC-1400 token), claim with the 32-byte secret, refund after the deadline,
find locks by hashlock, follow events from a cursor, and read a claim's secret back from
its event.

The contract keeps one word per open lock (a commitment to the parameters); claim and refund
take the parameters again. This adapter reads them back from the lock's event, so callers
only ever handle a lock id. A lock id is ``0x`` + 64 hex digits: ``keccak256(abi.encode(
hashlock, token, sender, receiver, amount, deadline))``; a native-coin lock hashes no token
word (``keccak256(abi.encode(hashlock, sender, receiver, amount, deadline))``), so no token
lock can share its id; a partition lock appends the partition.

Before anything is sent, input is validated (``InvalidInput`` naming the field) and the
chain's own verdict is obtained by estimating the transaction, so a refusal sends nothing.
Contract errors are translated: protocol violations (wrong secret, settled or unknown lock,
deadline not reached or passed, duplicate lock, a token that delivers less than asked) raise
:class:`~bridge.errors.SettlementError`; a token's own revert (e.g. T-REX "Transfer not
possible") raises :class:`~bridge.errors.TransactionReverted` with its canonical reason.

Regulated tokens: :meth:`EvmHtlc.preflight` says exactly what is missing before a lock -
balance and allowance for any ERC-20; for T-REX also the escrow's identity (registered,
with a country, verified), pause, frozen wallets, and the compliance verdict for seller ->
escrow and escrow -> buyer, module by module; for ERC-1404 the token's own
``detectTransferRestriction`` for both legs (e.g. the escrow not whitelisted); for an
ERC-1400 partition lock the partition balance, the HTLC's operator authorisation and
``canTransferByPartition`` for both legs.
:func:`create_escrow_identity`, :func:`add_escrow_claim` and :func:`register_escrow_identity`
are the set-up steps that make the HTLC an eligible T-REX holder.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, Final, Protocol, TypeVar, cast

from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode
from web3 import Web3
from web3.contract import Contract

from adapters.evm.abi import load_abi
from adapters.evm.client import EvmClient, EvmReverted, SentTx
from adapters.evm.contracts import artifact_for_chain, load_artifact, require_code_runs
from adapters.evm.erc1404 import restriction_refusal
from adapters.evm.multicall import BALANCE_READER, one_state_read
from bridge.errors import (
    BridgeError,
    InvalidInput,
    NotFound,
    PermanentError,
    SettlementError,
    TransactionReverted,
    TransferRefused,
)
from bridge.htlc import MAX_SETTLEMENT_WINDOW_S, SECRET_BYTES
from bridge.model import AssetRef, EvmContractLocator, Refusal, Standard
from bridge.ports import ChainEvent, HtlcLock, Signer, TxReceipt
from bridge.reasons import (
    ReasonCode,
    from_erc1400,
    from_trex_message,
    from_trex_module,
)
from bridge.types import alpha2_to_numeric, numeric_to_alpha2, to_checksum_address

__all__ = [
    "HTLC_ARTIFACT",
    "NATIVE",
    "SENT_HEIGHT",
    "EvmHtlc",
    "LockParams",
    "LockRecords",
    "Preflight",
    "add_escrow_claim",
    "create_escrow_identity",
    "register_escrow_identity",
]

log = logging.getLogger(__name__)

HTLC_ARTIFACT: Final = "HTLC"
NATIVE: Final = "0x" + "00" * 20
"""The token address the contract uses for the native coin."""

SENT_HEIGHT: Final = -1
"""The ``height`` of the receipt a pipelined port returns for a transaction it has sent but
not seen mined (:meth:`EvmHtlc.with_pipelining`): its outcome comes later, from
:meth:`EvmHtlc.tx_outcomes` or the lock's events."""

_READY_TTL: Final = 2.0
"""Seconds a complete pre-flight (:meth:`EvmHtlc.ready_for_lock`) stands for the lock's own."""

_TAIL_TTL: Final = 4.0
"""Seconds the events read above the records serve before they are read again (they are
also read again whenever the watcher has moved the records on)."""

_TRANSFER_TOPIC: Final = "0x" + bytes(Web3.keccak(text="Transfer(address,address,uint256)")).hex()
"""topic0 of ERC-20 ``Transfer(address indexed from, address indexed to, uint256 value)``."""
_TRANSFER_BY_PARTITION_TOPIC: Final = (
    "0x"
    + bytes(
        Web3.keccak(text="TransferByPartition(bytes32,address,address,address,uint256,bytes,bytes)")
    ).hex()
)
"""ERC-1410's ``TransferByPartition(fromPartition, operator, from, to, value, data,
operatorData)``, the first three topics indexed."""

_CLAIM_FUNCTIONS: Final = frozenset({"claim", "claimToken", "claimPartition"})

_NO_LOCKS: Final[Mapping[str, int]] = {}
"""No open locks (the native coin has no partition locks): one object, so a kept count
built on it stays valid."""

_IS_OPEN: Final = bytes(Web3.keccak(text="isOpen(bytes32)"))[:4]
_BALANCE_OF: Final = bytes(Web3.keccak(text="balanceOf(address)"))[:4]
_ALLOWANCE: Final = bytes(Web3.keccak(text="allowance(address,address)"))[:4]

_SETTLEMENT_ERRORS: Final[Mapping[str, str]] = {
    "LockExists": "a lock with these parameters is already open",
    "LockNotOpen": "no open lock with these parameters (wrong secret, or already settled)",
    "DeadlinePassed": "the deadline has passed: the lock can only be refunded",
    "DeadlineNotReached": "the deadline has not been reached: the lock can only be claimed",
    "BadDeadline": "the deadline must be in the future and at most 366 days ahead",
    "ZeroAmount": "the amount must be positive",
    "ZeroReceiver": "the receiver must not be the zero address",
    "ZeroToken": "the token must not be the zero address",
    "TokenWithoutCode": "the token address holds no contract code",
    "BadCalldataLength": "the secret must be exactly 32 bytes",
    "AmountNotReceived": (
        "the escrow's balance did not grow by exactly the amount (a fee on transfer, or a "
        "second lock nested by the token): refused"
    ),
    "TransferFailed": "the coin or token transfer out of the escrow failed",
    "Reentered": "a token re-entered the escrow during a lock",
}


@dataclass(frozen=True, slots=True)
class LockParams:
    """Everything a lock commits to; ``token`` is :data:`NATIVE` for the native coin."""

    hashlock: bytes
    token: str
    sender: str
    receiver: str
    amount: int
    deadline: int
    height: int = 0
    tx_id: str = ""
    partition: bytes | None = None

    @property
    def native(self) -> bool:
        """Whether the lock holds the native coin."""
        return int(self.token, 16) == 0

    @property
    def lock_id(self) -> str:
        """The contract's id of this lock (0x + 64 hex).

        A native lock hashes no token word; a partition lock adds the partition.
        """
        return _lock_id(
            self.hashlock,
            self.token,
            self.sender,
            self.receiver,
            self.amount,
            self.deadline,
            self.partition,
        )


@lru_cache(maxsize=65_536)
def _lock_id(
    hashlock: bytes,
    token: str,
    sender: str,
    receiver: str,
    amount: int,
    deadline: int,
    partition: bytes | None,
) -> str:
    """:attr:`LockParams.lock_id`, hashed once per parameters (a relayer recomputes the id
    of every recorded lock it reads, to trust none as given)."""
    types = ["bytes32", "address", "address", "address", "uint256", "uint256"]
    values: list[Any] = [hashlock, token, sender, receiver, amount, deadline]
    if int(token, 16) == 0 and partition is None:
        del types[1], values[1]
    elif partition is not None:
        types.append("bytes32")
        values.append(partition)
    words = _static_words(types, values)
    encoded = abi_encode(types, values) if words is None else words
    return "0x" + bytes(Web3.keccak(encoded)).hex()


def _static_words(types: Sequence[str], values: Sequence[Any]) -> bytes | None:
    """``abi_encode(types, values)`` for well-formed ``bytes32`` (32 bytes), ``address``
    (0x and 40 hex digits) and ``uint256`` values, written word by word (eth_abi's encoder
    took a third of a first lock's CPU); None for anything else, which eth_abi encodes
    (and refuses) as before."""
    out = bytearray()
    for kind, value in zip(types, values, strict=True):
        if kind == "bytes32" and isinstance(value, bytes) and len(value) == 32:
            out += value
        elif kind == "address" and isinstance(value, str) and _HEX_ADDRESS.fullmatch(value):
            out += bytes(12) + bytes.fromhex(value[2:])
        elif kind == "uint256" and type(value) is int and 0 <= value < 2**256:
            out += value.to_bytes(32, "big")
        else:
            return None
    return bytes(out)


_HEX_ADDRESS: Final = re.compile(r"0[xX][0-9a-fA-F]{40}")


@dataclass(frozen=True, slots=True)
class _Call:
    """A contract function call as :meth:`EvmClient.encode_call` reads one (what a web3
    ``ContractFunction`` offers it): name, ABI item, positional arguments, address."""

    fn_name: str
    abi: Mapping[str, Any]
    args: tuple[Any, ...]
    address: str
    kwargs: None = None

    def _encode_transaction_data(self) -> str:
        """web3's encoding (the client's fallback for what eth-abi refuses)."""
        types = [str(i["type"]) for i in self.abi["inputs"]]
        selector = Web3.keccak(text=f"{self.fn_name}({','.join(types)})")[:4]
        return "0x" + (bytes(selector) + abi_encode(types, list(self.args))).hex()


@dataclass(frozen=True, slots=True)
class Preflight:
    """What a lock of a token would need that is not in place yet (empty: ready)."""

    token: str
    escrow: str
    sender: str
    receiver: str
    amount: int
    standard: Standard
    missing: tuple[Refusal, ...]

    @property
    def ok(self) -> bool:
        """True when nothing is missing."""
        return not self.missing

    def describe(self) -> str:
        """One line per missing item, for a person."""
        if self.ok:
            return "ready: nothing missing"
        return "\n".join(f"{r.code}: {r.detail}" for r in self.missing)

    def raise_if_missing(self) -> None:
        """Raise ``TransferRefused`` carrying every missing item, unless nothing is missing."""
        if not self.ok:
            raise TransferRefused(
                f"escrow pre-flight failed for {self.token}: {self.describe()}",
                refusals=self.missing,
            )


def _require_bytes32(field: str, value: object) -> bytes:
    if not isinstance(value, bytes | bytearray):
        raise InvalidInput(field, "must be bytes", value=type(value).__name__)
    if len(value) != SECRET_BYTES:
        raise InvalidInput(field, f"must be exactly {SECRET_BYTES} bytes, got {len(value)}")
    return bytes(value)


def _require_amount(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidInput("amount", "must be an integer in base units", value=value)
    if value <= 0 or value >= 2**256:
        raise InvalidInput("amount", "must be > 0 and fit a uint256", value=value)
    return value


class LockRecords(Protocol):
    """This HTLC's events as a chain watcher recorded them (the relayer's store, which rolls
    back what a reorg removed): read in place of a scan from the deployment block.

    Stored events carry the arguments :meth:`EvmHtlc.events` yields, with bytes as 0x hex.
    """

    def span(self) -> tuple[int, int] | None:
        """The first and last heights whose events are all recorded (None: unknown)."""
        ...

    def locks_under(self, hashlock: str) -> Sequence[ChainEvent]:
        """Recorded ``Locked`` events under ``hashlock`` (0x hex)."""
        ...

    def history(self, lock_id: str) -> Sequence[ChainEvent]:
        """Every recorded event of ``lock_id`` (``Locked``, ``Claimed``, ``Refunded``)."""
        ...

    def open_amounts(self, token: str | None) -> Mapping[str, int]:
        """Lock id -> amount of every recorded plain lock of ``token`` (None: native coin)
        with no recorded claim or refund."""
        ...

    def open_partition_amounts(self, token: str) -> Mapping[str, int]:
        """Lock id -> amount of every recorded partition lock of ``token`` with no recorded
        claim or refund."""
        ...


_EVENT_SHAPES: Final[Mapping[str, tuple[tuple[str, ...], tuple[tuple[str, str], ...]]]] = {
    # the HTLC's events: indexed bytes32 names, then the (name, type) of the data words
    "Claimed": (("id",), (("secret", "bytes32"),)),
    "Refunded": (("id",), ()),
    "Locked": (
        ("hashlock",),
        (
            ("sender", "address"),
            ("receiver", "address"),
            ("amount", "uint256"),
            ("deadline", "uint256"),
        ),
    ),
    "TokenLocked": (
        ("hashlock",),
        (("token", "address"), ("receiver", "address"), ("deadline", "uint256")),
    ),
    "PartitionLocked": (
        ("hashlock",),
        (("token", "address"), ("receiverAndDeadline", "uint256")),
    ),
}
"""The shapes of ``HTLC.sol``'s events (checked against the ABI by a test)."""

_TAIL_OVERLAP: Final = 2
"""Recorded heights read again from the chain with what was mined since: a node may
report a block before its logs can be queried, so the last recorded heights may miss some."""


class _Around:
    """The events outside the records for one span of them: those below where the records
    begin (read once), and those from just under their last height up to the latest block,
    read incrementally (each read starts two blocks under the highest block seen)."""

    def __init__(self, span: tuple[int, int], below: Sequence[ChainEvent]) -> None:
        self.span = span
        self.read_at: float | None = None  # when the events above the records were read
        self.restart(below)

    def restart(self, below: Sequence[ChainEvent]) -> None:
        """Forget every event read above the records (kept: those ``below`` them)."""
        span = self.span
        self.events: list[ChainEvent] = []
        self.next_from = max(min(span[1] + 1 - _TAIL_OVERLAP, span[1]), span[0], 0)
        self._seen: set[tuple[str, int]] = set()
        self._locks: dict[bytes, list[ChainEvent]] = {}
        self._closures: dict[str, set[str]] = {}
        self._secrets: dict[str, bytes] = {}
        self._tallies: dict[str, _Tally] = {}
        for event in below:
            self.add(event)

    def add(self, event: ChainEvent) -> None:
        key = (event.tx_id, event.index)
        if key in self._seen:
            return
        self._seen.add(key)
        self.events.append(event)
        if event.name == "Locked":
            self._locks.setdefault(_as_bytes(event.args["hashlock"]), []).append(event)
        else:
            self._closures.setdefault(str(event.args["lock_id"]).lower(), set()).add(event.name)
            if event.name == "Claimed":
                self._secrets[str(event.args["lock_id"]).lower()] = _as_bytes(event.args["secret"])
        self.next_from = max(self.next_from, event.height + 1 - _TAIL_OVERLAP)

    def lost(self, read: Sequence[ChainEvent], from_block: int, to_block: int | str) -> bool:
        """Whether an event kept from an earlier read of ``[from_block, to_block]``
        ("latest": no top) is missing from this new ``read`` of the same blocks: a reorg
        took its block away."""
        top = to_block if isinstance(to_block, int) else None
        fresh = {(e.height, e.tx_id, e.index) for e in read}
        return any(
            e.height >= from_block
            and (top is None or e.height <= top)
            and (e.height, e.tx_id, e.index) not in fresh
            for e in self.events
        )

    def locks(self, hashlock: bytes) -> list[ChainEvent]:
        return self._locks.get(hashlock, [])

    def tally(
        self,
        token: str,
        base: Mapping[str, int],
        parted: Mapping[str, int],
        records: LockRecords,
        at: int,
    ) -> _Tally | None:
        """The locks of ``token`` taken as open from the records' ``base`` (their open
        amounts; ``parted``: their open partition locks) and these events, brought up to
        date with the events added since the last call (each event looked at once per
        records snapshot); None when an event above ``at`` is among them (the caller then
        counts everything afresh)."""
        key = token.lower()
        tally = self._tallies.get(key)
        stale = tally is None or tally.base is not base or tally.parted_base is not parted
        if stale or tally is None or tally.top > at:
            tally = self._tallies[key] = _Tally(key, base, parted)
        for event in self.events[tally.seen :]:
            if event.height > at:
                return None
            tally.take(event, records)
        return tally

    def closures(self, lock_id: str) -> set[str]:
        return set(self._closures.get(lock_id.lower(), ()))

    def secret(self, lock_id: str) -> bytes | None:
        return self._secrets.get(lock_id.lower())


class _Tally:
    """The shortfall's count for one token, kept between checks: the records' open locks
    (``base``, one snapshot of them) with the events above the records taken in one by
    one, as :meth:`EvmHtlc._recorded_short` counts them (a lock closed by any event is not
    owed; a lock of the token seen only above the records is owed unless the records
    closed it), so a check looks only at the events added since the last one. The open
    partition locks of the token (ERC-1400) are kept apart (``parted``, with ``closed``):
    their units are in the token's balance of the HTLC, but no plain lock can be paid from
    them.
    """

    def __init__(self, token: str, base: Mapping[str, int], parted: Mapping[str, int]) -> None:
        self.token = token
        self.base = base
        self.parted_base = parted
        self.opened: dict[str, int] = dict(base)
        self.parted: dict[str, int] = dict(parted)
        self.closed: set[str] = set()
        self.open_ids: set[str] = set(base)
        self.owed = sum(base.values())
        self.seen = 0
        self.top = -1

    def take(self, event: ChainEvent, records: LockRecords) -> None:
        self.seen += 1
        self.top = max(self.top, event.height)
        lock_id = str(event.args["lock_id"])
        if event.name != "Locked":
            if lock_id not in self.closed:
                self.closed.add(lock_id)
                if lock_id in self.open_ids:
                    self.open_ids.discard(lock_id)
                    self.owed -= self.opened[lock_id]
            return
        same = str(event.args["token"] or NATIVE).lower() == self.token
        partition = event.args.get("partition") is not None
        if not same or lock_id in (self.parted if partition else self.opened):
            return
        # not open in the records (from below them, or new, or closed): closed?
        if any(e.name != "Locked" for e in records.history(lock_id)):
            return
        amount = int(str(event.args["amount"]))
        if partition:
            self.parted[lock_id] = amount
            return
        self.opened[lock_id] = amount
        if lock_id not in self.closed:
            self.open_ids.add(lock_id)
            self.owed += amount

    def open_partition_locks(self) -> dict[str, int]:
        """The token's partition locks taken as open: id -> amount."""
        return {i: a for i, a in self.parted.items() if i not in self.closed}


_M = TypeVar("_M", bound=Callable[..., Any])


def _fresh_after_failure(method: _M) -> _M:
    """Lock, claim and refund: when one is refused or fails, whoever looks at the chain next
    (is the leg's lock there after all?) reads what was mined above the records afresh, not
    the read kept from a moment ago."""

    @functools.wraps(method)
    def run(self: EvmHtlc, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except BridgeError:
            self._forget_tail()
            raise

    return cast(_M, run)


class EvmHtlc:
    """One deployed ``HTLC.sol`` on one EVM chain, as an :class:`bridge.ports.HtlcPort`.

    ``from_block`` is where event scans start (the contract's deployment block). With
    ``records`` (:meth:`with_records`: a relayer's store) the lock reads - :meth:`find`,
    :meth:`revealed_secret`, :meth:`shortfall`, :meth:`params` - take the recorded events,
    the events below where the records begin (scanned once) and what was mined above them
    (one bounded ``eth_getLogs`` per poll of the records, at most every few seconds), never
    a scan from the deployment block. Whether a lock is open is always read live from the
    contract.

    Pipelined (:meth:`with_pipelining`, the relayer's port): lock, claim and refund send
    their transaction and return at once, with a receipt at :data:`SENT_HEIGHT`; locks, refunds
    and claims whose secret is already public take a gas limit cached per function and
    token; a reveal (the first claim) is estimated each time (a claim that would fail must
    never publish the secret); :meth:`tx_outcomes` then tells
    what became of them, in one batch.
    """

    def __init__(self, client: EvmClient, address: str, *, from_block: int = 0) -> None:
        self.client = client
        self.address = client.require_code(address)
        require_code_runs(client, self.address, HTLC_ARTIFACT)
        self.from_block = from_block
        abi = load_artifact(HTLC_ARTIFACT).abi
        self.contract: Contract = client.contract(self.address, abi)
        self._locks: dict[str, LockParams] = {}
        self._receipt_logs: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
        self._topics: dict[str, str] = {
            str(item["name"]): _topic_of(item) for item in abi if item.get("type") == "event"
        }
        self._event_by_topic = {
            topic: getattr(self.contract.events, name)() for name, topic in self._topics.items()
        }
        self._tokens: dict[str, Contract] = {}
        self._has_code: set[str] = set()
        self._not_trex: set[str] = set()
        self._not_1404: set[str] = set()
        self.records: LockRecords | None = None
        self._below: dict[int, tuple[ChainEvent, ...]] = {}
        self._around: _Around | None = None
        self.cache_gas = False
        """Whether locks and refunds take a gas limit cached per function and token instead
        of an estimate per transaction (:meth:`with_records` turns it on for the relayer)."""
        self._gas: dict[tuple[str, str], int] = {}
        self._decoded: dict[tuple[str, int], ChainEvent | None] = {}
        self._abi_items: dict[str, Mapping[str, Any]] = {}
        self.pipelined = False
        """Whether lock, claim and refund return once sent (:meth:`with_pipelining`)."""
        self._ready: dict[str, tuple[float, tuple[str, str, str, int]]] = {}
        """The pre-flight :meth:`ready_for_lock` found complete (shared by the copies)."""
        self._sent_gas: dict[str, tuple[tuple[str, str], int]] = {}
        self._volatile_gas: set[tuple[str, str]] = set()
        """Claim functions and tokens whose cached limit ran out once: estimated each time."""

    def with_records(self, records: LockRecords, *, cache_gas: bool = True) -> EvmHtlc:
        """This HTLC reading lock state from ``records`` (a copy sharing the client and the
        caches of lock parameters and receipts; this object is left as it is), and with
        ``cache_gas`` sending locks and refunds with cached gas limits (``cache_gas``)."""
        bound = copy.copy(self)
        bound.records = records
        bound.cache_gas = cache_gas
        bound._gas = {}
        bound._volatile_gas = set()
        bound._below = {}
        bound._around = None
        return bound

    def with_pipelining(self) -> EvmHtlc:
        """This HTLC sending without waiting (a copy; this object is left as it is): lock,
        claim and refund return a receipt at :data:`SENT_HEIGHT` as soon as the node took
        the transaction, and :meth:`tx_outcomes` confirms them later."""
        piped = copy.copy(self)
        piped.pipelined = True
        piped._sent_gas = {}
        return piped

    def sends_on_kept_gas(self, function: str, token: str) -> bool:
        """Whether a call of ``function`` for ``token`` goes out on a kept gas limit, with no
        estimate first (an estimate runs on the chain's state as it is: a lock estimated
        before the approval it needs is mined would fail)."""
        key = (function, token.lower())
        return self.cache_gas and key in self._gas and key not in self._volatile_gas

    def kept_gas(self, function: str, token: str) -> int | None:
        """The gas limit a call of ``function`` for ``token`` goes out with when it is sent on
        a kept limit (:meth:`sends_on_kept_gas`), else None (it will be estimated)."""
        key = (function, token.lower())
        return self._gas.get(key) if self.sends_on_kept_gas(function, token) else None

    def tx_outcomes(self, tx_ids: Sequence[str]) -> dict[str, SentTx]:
        """What became of transactions this port sent (one batch, :meth:`EvmClient.outcomes`),
        a failed one with its reason; one that failed by using up a cached gas limit is
        ``out_of_gas`` and the limit is dropped (the next one is estimated anew)."""
        found = self.client.outcomes(tx_ids)
        for tx_id, sent in list(found.items()):
            if sent.status != "failed":
                continue
            self._forget_tail()  # the failure is acted on with a fresh look at the chain
            known = self._sent_gas.get(tx_id)
            limit = known[1] if known is not None else self.client.gas_limit_of(tx_id)
            if limit is not None and sent.gas_used >= limit:
                if known is not None:
                    self._gas.pop(known[0], None)
                    if known[0][0] in _CLAIM_FUNCTIONS:
                        self._volatile_gas.add(known[0])
                else:  # sent before a restart: which function is unknown, estimate them all
                    self._gas.clear()
                log.warning(
                    "HTLC %s: transaction %s ran out of gas at %d", self.address, tx_id, limit
                )
                found[tx_id] = replace(sent, status="out_of_gas", reason=f"out of gas ({limit})")
                continue
            revert = self.client.revert_reason(tx_id, sent.height)
            error = self._translate("transaction", EvmReverted(revert.describe(), revert=revert))
            found[tx_id] = replace(sent, reason=f"{tx_id} reverted: {error}")
        for tx_id, sent in found.items():
            if sent.status != "pending":
                self._sent_gas.pop(tx_id, None)
        return found

    @classmethod
    def deploy(cls, client: EvmClient, signer: Signer) -> EvmHtlc:
        """Deploy a fresh HTLC (the build the chain's EVM runs) with ``signer`` paying."""
        artifact = artifact_for_chain(HTLC_ARTIFACT, client)
        receipt = client.transact(signer, None, bytes.fromhex(artifact.bytecode[2:]))
        address = client.receipt(receipt.tx_id)["contractAddress"]
        if not address:
            raise NotFound(f"deployment {receipt.tx_id} created no contract")
        return cls(client, str(address), from_block=receipt.height)

    # -- validation helpers ------------------------------------------------------------

    def _address(self, field: str, value: object) -> str:
        if not isinstance(value, str):
            raise InvalidInput(field, "must be an EVM address string", value=value)
        return self.client.checked_address(value, field_name=field)

    def _token_of(self, asset: AssetRef | None) -> str:
        if asset is None:
            return NATIVE
        return self._require_code(self._token_address(asset))

    def _require_code(self, token: str) -> str:
        """``client.require_code``, once per token (contract code is not taken back)."""
        if token not in self._has_code:
            checked = self.client.require_code(token)
            self._has_code.add(token)
            return checked
        return token

    def _asset_ref(self, token: str) -> AssetRef | None:
        if int(token, 16) == 0:
            return None
        return AssetRef(chain=self.client.chain, locator=EvmContractLocator(address=token))

    def _check_deadline(self, deadline: object) -> int:
        if not isinstance(deadline, int) or isinstance(deadline, bool):
            raise InvalidInput("deadline", "must be an integer unix timestamp", value=deadline)
        # the kept block's time (seconds old at most): the deadline is checked on chain again
        now = int(self.client.recent_now().timestamp())
        if deadline <= now:
            raise InvalidInput(
                "deadline", f"must be after the chain's latest block time {now}", value=deadline
            )
        if deadline > now + MAX_SETTLEMENT_WINDOW_S:
            raise InvalidInput(
                "deadline",
                "must be at most 366 days after the chain's time (seconds, not milliseconds)",
                value=deadline,
            )
        return deadline

    # -- sending -------------------------------------------------------------------------

    def _forget_tail(self) -> None:
        """Read what was mined above the records again at the next look (not the kept read)."""
        if self._around is not None:
            self._around.read_at = None

    def _send(
        self,
        what: str,
        signer: Signer,
        fn_call: Any,
        *,
        value: int = 0,
        token: str = NATIVE,
        cached: bool | None = None,
    ) -> TxReceipt:
        data = self.client.encode_call(fn_call)
        gas = None
        key = (str(fn_call.fn_name), token.lower())
        # a claim is estimated first unless ``cached`` (its secret is public already): it
        # carries the secret, and a reveal that would fail must never be sent (its calldata
        # would publish the secret); a claim key that once ran out of its cached limit is
        # estimated from then on (its token's transfer gas is not stable)
        if cached is None:
            cached = what != "claim"
        if self.cache_gas and cached and key not in self._volatile_gas:
            gas = self._gas_limit(key, signer, data, value)
        if self.pipelined:
            if gas is None:
                gas = self._estimate(what, signer, data, value)
            tx_id = self.client.send(signer, self.address, data, value=value, gas=gas)
            if len(self._sent_gas) >= 65_536:
                self._sent_gas.clear()
            if self.cache_gas and cached and key not in self._volatile_gas:
                self._sent_gas[tx_id] = (key, gas)
            log.info("HTLC %s %s: tx %s sent", self.address, what, tx_id)
            return TxReceipt(tx_id=tx_id, height=SENT_HEIGHT, success=True)
        try:
            receipt = self.client.transact(signer, self.address, data, value=value, gas=gas)
        except EvmReverted as exc:
            if gas is None or not self._used_all_gas(exc.tx_id, gas):
                raise self._translate(what, exc) from exc
            # the cached limit was short (e.g. a colder slot): estimate it anew and send a new
            # transaction (the failed one is mined, so the journal lets a new one be built)
            log.warning(
                "HTLC %s %s ran out of gas at %d; estimating again", self.address, what, gas
            )
            self._gas.pop(key, None)
            try:
                receipt = self.client.transact(
                    signer,
                    self.address,
                    data,
                    value=value,
                    gas=self._gas_limit(key, signer, data, value),
                )
            except EvmReverted as again:
                raise self._translate(what, again) from again
        log.info(
            "HTLC %s %s: tx %s at height %d", self.address, what, receipt.tx_id, receipt.height
        )
        return receipt

    def _fn(self, name: str, *args: Any) -> _Call:
        """A call of the HTLC's function ``name`` (one overload each) with ``args``, for
        :meth:`_send`: its ABI item found once, encoded by the client (no web3 function
        object, which re-validates the ABI on every call)."""
        item = self._abi_items.get(name)
        if item is None:
            items = cast(Sequence[Mapping[str, Any]], self.contract.abi)
            found = [i for i in items if i.get("type") == "function" and i.get("name") == name]
            if len(found) != 1:
                raise PermanentError(f"HTLC ABI: {len(found)} functions named {name}")
            item = self._abi_items[name] = found[0]
        return _Call(name, item, args, self.address)

    def _used_all_gas(self, tx_id: str | None, gas: int) -> bool:
        """Whether the mined transaction ``tx_id`` failed by using up its gas limit (the
        backends word an out-of-gas failure differently; the receipt says it plainly)."""
        if tx_id is None:
            return False
        try:
            used = int(self.client.receipt(tx_id)["gasUsed"])
        except BridgeError:
            return False
        return used >= gas

    def _gas_limit(self, key: tuple[str, str], signer: Signer, data: bytes, value: int) -> int:
        """The gas limit for a lock or refund: estimated once per function and token (a
        would-be revert raises here, nothing sent), then the highest estimate seen plus a
        third, re-estimated after a transaction ran out of it."""
        known = self._gas.get(key)
        if known is not None:
            return known
        tx = {"from": signer.address, "to": self.address, "data": "0x" + data.hex(), "value": value}
        try:
            estimate = self.client.estimate(tx)
        except EvmReverted as exc:
            raise self._translate("send", exc) from exc
        limit = estimate + estimate // 3 + 10_000
        self._gas[key] = limit
        return limit

    def _estimate(self, what: str, signer: Signer, data: bytes, value: int) -> int:
        """This transaction's own gas limit: its estimate plus a fifth and 10,000 (as
        :meth:`EvmClient.build_tx` adds); a would-be revert raises here, nothing sent."""
        tx = {"from": signer.address, "to": self.address, "data": "0x" + data.hex(), "value": value}
        try:
            estimate = self.client.estimate(tx)
        except EvmReverted as exc:
            raise self._translate(what, exc) from exc
        return estimate + estimate // 5 + 10_000

    @staticmethod
    def _translate(what: str, exc: EvmReverted) -> BridgeError:
        name = exc.revert.error_name
        if name is not None and name in _SETTLEMENT_ERRORS:
            detail = _SETTLEMENT_ERRORS[name]
            return SettlementError(f"{what} refused by the HTLC: {detail} ({exc.revert.message})")
        message = exc.revert.message or ""
        reason = from_trex_message(message) if message else None
        return TransactionReverted(
            f"{what} reverted in the token: {exc.revert.describe()}",
            raw_message=exc.revert.message,
            tx_id=exc.tx_id,
            reason=None if reason is ReasonCode.UNKNOWN else reason,
        )

    # -- HtlcPort --------------------------------------------------------------------------

    @_fresh_after_failure
    def lock(
        self,
        *,
        asset: AssetRef | None,
        receiver: str,
        amount: int,
        hashlock: bytes,
        deadline: int,
        signer: Signer,
        preflight: bool = True,
        partition: bytes | None = None,
    ) -> tuple[str, TxReceipt]:
        """Lock ``amount`` (native coin if ``asset`` is None) for ``receiver``; return id, receipt.

        ``partition`` (32 bytes) locks units of one ERC-1400 partition; the HTLC must then be
        the sender's operator (``authorizeOperator`` / ``authorizeOperatorByPartition``) or
        hold a partition allowance of at least ``amount`` (``approveByPartition``, where the
        token has it, as our SecurityToken1400: each lock spends it, which costs less gas).

        Refused before sending when: input is invalid; the hashlock's secret is already
        public on this contract (a claim used it: a new lock could be taken at once); for a
        token, the pre-flight finds anything missing (``TransferRefused`` listing it all).
        """
        lock_hash = _require_bytes32("hashlock", hashlock)
        receiver = self._address("receiver", receiver)
        amount = _require_amount(amount)
        deadline = self._check_deadline(deadline)
        token = self._token_of(asset)
        if partition is not None:
            partition = _require_bytes32("partition", partition)
            if int(token, 16) == 0:
                raise InvalidInput("partition", "only a token lock has a partition")
        if self.revealed_secret(lock_hash) is not None:
            raise SettlementError(
                f"hashlock 0x{lock_hash.hex()} was already claimed on this HTLC: its secret "
                "is public, so a new lock under it could be claimed by anyone at once"
            )
        params = LockParams(
            lock_hash, token, signer.address, receiver, amount, deadline, partition=partition
        )
        if params.native:
            receipt = self._send(
                "lock",
                signer,
                self._fn("lock", lock_hash, receiver, deadline),
                value=amount,
            )
        else:
            checked = self._ready.pop("lock", None)
            terms = (token.lower(), signer.address, receiver, amount)
            fresh = checked is not None and time.monotonic() - checked[0] < _READY_TTL
            if fresh and checked is not None and checked[1] == terms and partition is None:
                preflight = False  # read an instant ago by ready_for_lock, in this effect
            if preflight:
                self.preflight(
                    token=token,
                    sender=signer.address,
                    receiver=receiver,
                    amount=amount,
                    partition=partition,
                ).raise_if_missing()
            fns = self
            fn = (
                fns._fn("lockToken", token, amount, lock_hash, receiver, deadline)
                if partition is None
                else fns._fn(
                    "lockPartition", token, partition, amount, lock_hash, receiver, deadline
                )
            )
            receipt = self._send("lock", signer, fn, token=token)
        lock_id = params.lock_id
        if receipt.height == SENT_HEIGHT:
            return lock_id, receipt  # its parameters come back from its event once mined
        self._locks[lock_id] = LockParams(
            lock_hash,
            token,
            signer.address,
            receiver,
            amount,
            deadline,
            receipt.height,
            receipt.tx_id,
            partition,
        )
        return lock_id, receipt

    @_fresh_after_failure
    def claim(
        self, lock_id: str, secret: bytes, signer: Signer, *, revealed: bool = False
    ) -> TxReceipt:
        """Release the lock to its fixed receiver with the 32-byte secret (anyone may send).

        ``revealed``: the secret is public already (a claim on either chain carried it), so
        a claim that fails on chain publishes nothing new: with cached gas limits
        (:meth:`with_records`) it is sent with the limit cached for its function and token
        instead of an estimate (a deadline passed by the chain's time, the kept block's
        confirmed by a fresh read, is refused here; a claim that fails on chain comes back
        from :meth:`tx_outcomes`, one out of gas as ``out_of_gas``, re-sent estimated). A
        reveal is always estimated.
        """
        raw = _require_bytes32("secret", secret)
        params = self.params(lock_id)
        if hashlib.sha256(raw).digest() != params.hashlock:
            raise SettlementError(
                f"claim of {lock_id} refused: the secret does not open its hashlock"
            )
        cached = revealed and self.cache_gas
        if cached:
            now = int(self.client.recent_now().timestamp())
            if now >= params.deadline:
                # the kept block may be stale (from before a reorg): refuse on a fresh read
                now = int(self.client.now().timestamp())
            if now >= params.deadline:
                raise SettlementError(
                    f"claim of {lock_id} refused: deadline {params.deadline} passed "
                    f"(chain time {now})"
                )
        if self.records is None:
            # (the relayer's port skips these two reads: a claim is always estimated before
            # it is sent, and the estimate refuses a settled lock or a passed deadline with
            # the same SettlementError, LockNotOpen / DeadlinePassed; nothing is sent)
            self._require_open(lock_id)
            now = int(self.client.now().timestamp())
            if now >= params.deadline:
                raise SettlementError(
                    f"claim of {lock_id} refused: deadline {params.deadline} passed "
                    f"(chain time {now})"
                )
        receiver = NATIVE if signer.address == params.receiver else params.receiver
        if params.native:
            fn = self._fn("claim", raw, params.sender, receiver, params.amount, params.deadline)
        elif params.partition is not None:
            fn = self._fn(
                "claimPartition",
                raw,
                params.token,
                params.partition,
                params.sender,
                receiver,
                params.amount,
                params.deadline,
            )
        else:
            fn = self._fn(
                "claimToken",
                raw,
                params.token,
                params.sender,
                receiver,
                params.amount,
                params.deadline,
            )
        return self._send("claim", signer, fn, token=params.token, cached=cached)

    @_fresh_after_failure
    def refund(self, lock_id: str, signer: Signer) -> TxReceipt:
        """Return the lock to its fixed sender once the deadline is reached (anyone may send)."""
        params = self.params(lock_id)
        self._require_open(lock_id)
        now = int(self.client.now().timestamp())
        if now < params.deadline:
            # the next block's timestamp must reach the deadline; refuse rather than guess
            raise SettlementError(
                f"refund of {lock_id} refused: deadline {params.deadline} not reached "
                f"(chain time {now})"
            )
        sender = NATIVE if signer.address == params.sender else params.sender
        if params.native:
            fn = self._fn(
                "refund", params.hashlock, sender, params.receiver, params.amount, params.deadline
            )
        elif params.partition is not None:
            fn = self._fn(
                "refundPartition",
                params.hashlock,
                params.token,
                params.partition,
                sender,
                params.receiver,
                params.amount,
                params.deadline,
            )
        else:
            fn = self._fn(
                "refundToken",
                params.hashlock,
                params.token,
                sender,
                params.receiver,
                params.amount,
                params.deadline,
            )
        return self._send("refund", signer, fn, token=params.token)

    def find(self, hashlock: bytes) -> Sequence[HtlcLock]:
        """Every lock created on this contract under ``hashlock``, with its current state."""
        lock_hash = _require_bytes32("hashlock", hashlock)
        topic = "0x" + lock_hash.hex()
        found: list[HtlcLock] = []
        recorded = self._recorded()
        if recorded is None:
            for params in self._scan_locks(topics=[None, topic]):
                found.append(self._as_lock(params))
            return found
        records, around = recorded
        seen: set[str] = set()
        for stored in (*records.locks_under(topic), *around.locks(lock_hash)):
            known = self._stored_params(stored)
            if known is None or known.lock_id in seen:
                continue
            seen.add(known.lock_id)
            self._locks.setdefault(known.lock_id, known)
            found.append(self._as_lock(known, records, around))
        return found

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
        """The id this contract gives a lock with exactly these parameters (pure: no read).

        The id hashes the hashlock, token, sender, receiver, amount, deadline (and the
        partition), so a look-alike with any other sender or asset has another id.
        """
        token = NATIVE if asset is None else self._token_address(asset)
        return LockParams(
            _require_bytes32("hashlock", hashlock),
            token,
            self._address("sender", sender),
            self._address("receiver", receiver),
            _require_amount(amount),
            deadline,
            partition=None if partition is None else _require_bytes32("partition", partition),
        ).lock_id

    def _token_address(self, asset: AssetRef) -> str:
        if asset.chain.kind != "evm" or asset.chain.chain_id != self.client.chain_id:
            raise InvalidInput("asset", f"must be on EVM chain {self.client.chain_id}")
        locator = asset.locator
        if not isinstance(locator, EvmContractLocator):
            raise InvalidInput("asset", "must be an EVM contract")
        return self.client.checked_address(locator.address, field_name="asset")

    def events(self, from_height: int, to_height: int) -> Iterator[ChainEvent]:
        """Lock / claim / refund events in ``[from_height, to_height]``, in chain order.

        ``Locked`` carries ``lock_id, hashlock, token (None: native), sender, receiver,
        amount, deadline``; ``Claimed`` carries ``lock_id`` and the revealed ``secret``;
        ``Refunded`` carries ``lock_id``.
        """
        entries = list(
            self.client.logs(
                address=self.address, from_block=max(from_height, 0), to_block=to_height
            )
        )
        self._prefetch_transfers(entries, max(from_height, 0), to_height)
        for entry in entries:
            event = self._decode(entry)
            if event is not None:
                yield event

    def _prefetch_transfers(
        self, entries: Sequence[Mapping[str, Any]], from_block: int, to_block: int | str
    ) -> None:
        """The token ``Transfer``s into this HTLC of every token lock among ``entries``, read
        with one ``eth_getLogs`` over the same blocks (topics ``Transfer``, any sender, this
        HTLC) instead of one receipt per lock: exactly the logs of each lock's transaction
        that :meth:`_token_transfer` looks at (a lock without one falls back to its receipt).
        """
        topic = self._topics["TokenLocked"]
        tokens: set[str] = set()
        wanted: set[tuple[str, str]] = set()
        for entry in entries:
            topics = entry["topics"]
            if not topics or "0x" + bytes(topics[0]).hex() != topic:
                continue
            key = _inclusion(entry)
            if key in self._receipt_logs:
                continue  # prefetched by an earlier read (decoded only when still wanted)
            args = self._fast_args("TokenLocked", entry)
            if args is None:
                continue
            wanted.add(key)
            tokens.add(str(args["token"]))
        if not wanted:
            return
        me = "0x" + bytes(12).hex() + self.address[2:].lower()
        found: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
        for item in self.client.logs_since(
            address=sorted(tokens),
            topics=[_TRANSFER_TOPIC, None, me],
            from_block=from_block,
            to_block=to_block,
        ):
            key = _inclusion(item)
            if key in wanted:
                found.setdefault(key, []).append(item)
        if len(self._receipt_logs) + len(found) > 4096:
            self._receipt_logs.clear()
        self._receipt_logs.update(found)

    # -- reads -----------------------------------------------------------------------------

    def shortfall(self, asset: AssetRef | None) -> tuple[int, tuple[str, ...]]:
        """How many units of ``asset`` (None: the native coin) this HTLC holds *less* than
        the sum of its open locks of it, and the ids of those open locks.

        The HTLC pools every lock of a token in one balance. A token agent's forced
        transfer (T-REX ``forcedTransfer``, a burn, a recovery) out of the HTLC takes units
        that belong to some lock, and the contract cannot tell which: the next claim or
        refund of that token would be paid from another lock's units. A positive shortfall
        means no lock of that token may be acted on until the operator has it restored.
        Units of a partition lock are not pooled with the token's plain locks: they are not
        owed to them, and they are taken out of the balance (an ERC-1400 token's
        ``balanceOf`` sums every partition; a plain lock cannot be paid from another
        partition's units, so they never cover a plain lock's shortfall).

        The locks (logs) and the balance are read at one block, the head when the check
        starts: read at "latest" each, a block arriving between them (a lock, a claim)
        would count units on one side only, showing a shortfall that is not there or hiding
        one that is.
        """
        token = NATIVE if asset is None else self._token_address(asset)
        at = self.client.head()
        # not kept between checks, even at one head: a node may serve a block's state a
        # moment before its logs, and an answer missing a new lock's log (its units in the
        # balance, not owed) would hide a shortfall from every check that reused it
        opened: dict[str, int] = {}
        parted: dict[str, int] = {}  # open partition locks: in the balance, not the pool's
        closed: set[str] = set()
        recorded = self._records_base()
        if recorded is not None:
            records, around = recorded
            short, amounts, parted_open = self._recorded_short(
                records, around, asset, token, at, around.next_from
            )
            if short[0]:
                # confirmed by a second read of everything above the records at the same
                # block: a node may answer a new block's number and state a moment before
                # its logs (a claim just mined would look like units gone missing)
                first = max(min(around.span[1] + 1 - _TAIL_OVERLAP, around.span[1]), 0)
                short, amounts, parted_open = self._recorded_short(
                    records, around, asset, token, at, first
                )
            if short[0]:
                short = self._short_by_state(short, amounts, parted_open, asset, token, at)
            return short
        for entry in self.client.logs(
            address=self.address, from_block=self.from_block, to_block=at
        ):
            event = self._decode(entry)
            if event is None:
                continue
            lock_id = str(event.args["lock_id"])
            if event.name == "Locked":
                same = str(event.args["token"] or NATIVE).lower() == token.lower()
                if same and event.args.get("partition") is None:
                    opened[lock_id] = int(str(event.args["amount"]))
                elif same:
                    parted[lock_id] = int(str(event.args["amount"]))
            else:
                closed.add(lock_id)
        return self._short_of(asset, token, opened, closed, at, parted)

    def _recorded_short(
        self,
        records: LockRecords,
        around: _Around,
        asset: AssetRef | None,
        token: str,
        at: int,
        start: int,
    ) -> tuple[tuple[int, tuple[str, ...]], Mapping[str, int], Mapping[str, int]]:
        """:meth:`shortfall` from the records, the events above them from ``start`` and the
        balance, these two read at block ``at`` in one round trip; with the amounts of the
        locks taken as open, and the partition locks of the token taken as open."""
        opened: dict[str, int] = {}
        closed: set[str] = set()
        try:
            entries, held = self.client.logs_and_balance(
                address=self.address,
                from_block=start,
                to_block=at,
                holder=self.address,
                token=None if asset is None else token,
            )
        except (TransactionReverted, PermanentError):
            if at >= start:
                raise
            # the chain is below the records (a reorg to a shorter chain)
            entries, held = [], self._held(asset, token, at)
        self._add_tail(around, entries, start, at)
        base = records.open_amounts(None if asset is None else token)
        parted: dict[str, int] = {}
        parted_base = _NO_LOCKS if asset is None else records.open_partition_amounts(token)
        tally = around.tally(token, base, parted_base, records, at)
        if tally is not None:
            open_ids = tuple(sorted(tally.open_ids))
            held -= _open_sum(tally.parted, tally.closed)
            short = (max(tally.owed - held, 0), open_ids)
            return short, tally.opened, tally.open_partition_locks()
        opened.update(base)
        parted.update(parted_base)
        for seen in around.events:
            if seen.height > at:
                continue  # read by an earlier call, above the pinned block
            lock_id = str(seen.args["lock_id"])
            if seen.name != "Locked":
                closed.add(lock_id)
                continue
            same = str(seen.args["token"] or NATIVE).lower() == token.lower()
            if same:
                amount = int(str(seen.args["amount"]))
                into = opened if seen.args.get("partition") is None else parted
                # not open in the records (from below them, or new, or closed): closed?
                if lock_id not in into and any(
                    e.name != "Locked" for e in records.history(lock_id)
                ):
                    continue
                into[lock_id] = amount
        open_ids = tuple(sorted(i for i in opened if i not in closed))
        held -= _open_sum(parted, closed)
        open_parted = {i: a for i, a in parted.items() if i not in closed}
        return (max(sum(opened[i] for i in open_ids) - held, 0), open_ids), opened, open_parted

    def _short_by_state(
        self,
        short: tuple[int, tuple[str, ...]],
        amounts: Mapping[str, int],
        parted: Mapping[str, int],
        asset: AssetRef | None,
        token: str,
        at: int,
    ) -> tuple[int, tuple[str, ...]]:
        """A shortfall found from logs, confirmed by the contract's own state at the block
        of the balance: each lock taken as open is asked ``isOpen`` at ``at``, and the
        balance read again, **from one state** (one ``eth_call`` of the reader,
        :func:`adapters.evm.multicall.one_state_read`; where a node has no such call, one
        batch and a balance read, which a node without live-state reads answers exactly).

        A node's logs may lag its state by a moment (a claim mined, its log not yet served):
        a lock the state says is closed is not owed. And a node may answer a read pinned to
        its newest block from its live state, a block ahead (anvil): the first balance may
        already lack the units of a claim mined just after ``at``, while ``isOpen`` read a
        moment later, when ``at`` is history, still finds that lock open. Read from one
        state, a lock open there has its units in the balance there. Locks are only ever
        dropped here, never added, and owed is compared with the balance of the same state,
        so a real shortfall (units moved out while their locks stay open) stays. The token's
        partition locks (``parted``) open in that state hold units no plain lock can be paid
        from: they are taken out of the balance (ERC-1400's ``balanceOf`` sums partitions)."""
        _missing, open_ids = short
        parted_ids = tuple(parted)
        calls = [(self.address, _IS_OPEN + _lock_id_bytes(i)) for i in (*open_ids, *parted_ids)]
        if asset is None:
            held_call = (BALANCE_READER, bytes(12) + bytes.fromhex(self.address[2:]))
        else:
            held_call = (token, _BALANCE_OF + abi_encode(["address"], [self.address]))
        answers = one_state_read(self.client, [*calls, held_call], hex(at))
        if answers is None:
            opens = list(self.client.batch_read(calls, block=at))
            held = self._held(asset, token, at)
        else:
            *opens, held_answer = answers
            if isinstance(held_answer, BaseException):
                raise held_answer
            if len(held_answer) < 32:
                raise PermanentError(f"balance of {token} answered {len(held_answer)} bytes")
            held = int.from_bytes(held_answer[:32], "big")
        still: list[str] = []
        parted_open: dict[str, int] = {}
        for lock_id, answer in zip((*open_ids, *parted_ids), opens, strict=True):
            if isinstance(answer, BaseException):
                raise answer
            if int.from_bytes(answer[-32:] or b"\0", "big") == 0:
                continue
            if lock_id in parted:
                parted_open[lock_id] = parted[lock_id]
            else:
                still.append(lock_id)
        held -= _open_sum(parted_open, set())
        return max(sum(amounts[i] for i in still) - held, 0), tuple(still)

    def _short_of(
        self,
        asset: AssetRef | None,
        token: str,
        opened: Mapping[str, int],
        closed: set[str],
        at: int,
        parted: Mapping[str, int],
    ) -> tuple[int, tuple[str, ...]]:
        open_ids = tuple(sorted(i for i in opened if i not in closed))
        owed = sum(opened[i] for i in open_ids)
        held = self._held(asset, token, at) - _open_sum(parted, closed)
        return max(owed - held, 0), open_ids

    def _held(self, asset: AssetRef | None, token: str, at: int) -> int:
        """This HTLC's balance of ``token`` (``asset`` None: the native coin) at ``at``."""
        if asset is None:
            return self.client.balance(self.address, block=at)
        data = _BALANCE_OF + abi_encode(["address"], [self.address])
        answer = self.client.call({"to": token, "data": "0x" + data.hex()}, block=at)
        if len(answer) < 32:
            raise PermanentError(f"balanceOf of {token} answered {len(answer)} bytes")
        return int.from_bytes(answer[:32], "big")

    def _token_contract(self, token: str) -> Contract:
        if token not in self._tokens:
            self._tokens[token] = self.client.contract(token, load_abi("Token"))
        return self._tokens[token]

    def is_open(self, lock_id: str) -> bool:
        """Whether the lock is open (locked and neither claimed nor refunded)."""
        # encoded by hand (selector computed once): the call is made for every claim and refund
        answer = self.client.call(
            {"to": self.address, "data": "0x" + (_IS_OPEN + _lock_id_bytes(lock_id)).hex()}
        )
        return int.from_bytes(answer[-32:] or b"\0", "big") != 0

    def params(self, lock_id: str) -> LockParams:
        """The parameters of lock ``lock_id``, read back from its lock event."""
        key = "0x" + _lock_id_bytes(lock_id).hex()
        if key not in self._locks:
            recorded = self._recorded()
            if recorded is None:
                for params in self._scan_locks(topics=None):
                    self._locks.setdefault(params.lock_id, params)
            else:
                records, around = recorded
                for stored in (*records.history(key), *around.events):
                    if stored.name == "Locked" and str(stored.args["lock_id"]).lower() == key:
                        known = self._stored_params(stored)
                        if known is not None:
                            self._locks.setdefault(known.lock_id, known)
        if key not in self._locks:
            raise NotFound(f"no lock {key} on HTLC {self.address}")
        return self._locks[key]

    def get(self, lock_id: str) -> HtlcLock:
        """The lock with its current state (``open``, ``claimed`` or ``refunded``)."""
        return self._as_lock(self.params(lock_id))

    def secret_of(self, lock_id: str) -> bytes | None:
        """The secret revealed by the claim of ``lock_id``, or None if it was not claimed."""
        topic = "0x" + _lock_id_bytes(lock_id).hex()
        claimed = self._event_topic("Claimed")
        for entry in self.client.logs(
            address=self.address, topics=[claimed, topic], from_block=self.from_block
        ):
            event = self._decode(entry)
            if event is not None:
                return cast(bytes, event.args["secret"])
        return None

    def revealed_secret(self, hashlock: bytes) -> bytes | None:
        """A secret for ``hashlock`` already revealed by any claim on this contract, if any."""
        lock_hash = _require_bytes32("hashlock", hashlock)
        recorded = self._recorded()
        if recorded is not None:
            records, around = recorded
            # a claim names its lock; the locks under the hashlock name the claims to read
            lock_ids = {str(e.args["lock_id"]) for e in records.locks_under("0x" + lock_hash.hex())}
            lock_ids.update(str(e.args["lock_id"]) for e in around.locks(lock_hash))
            for lock_id in sorted(lock_ids):
                seen_secret = around.secret(lock_id)
                if seen_secret is not None and hashlib.sha256(seen_secret).digest() == lock_hash:
                    return seen_secret
                for stored in records.history(lock_id):
                    if stored.name == "Claimed":
                        secret = _as_bytes(stored.args["secret"])
                        if hashlib.sha256(secret).digest() == lock_hash:
                            return secret
            return None
        claimed = self._event_topic("Claimed")
        for entry in self.client.logs(
            address=self.address, topics=[claimed], from_block=self.from_block
        ):
            event = self._decode(entry)
            if event is None:
                continue
            secret = cast(bytes, event.args["secret"])
            if hashlib.sha256(secret).digest() == lock_hash:
                return secret
        return None

    def _require_open(self, lock_id: str) -> None:
        if not self.is_open(lock_id):
            state = self._state(lock_id)
            raise SettlementError(f"lock {lock_id} is not open (it is {state})")

    def _state(self, lock_id: str) -> str:
        if self.is_open(lock_id):
            return "open"
        topic = "0x" + _lock_id_bytes(lock_id).hex()
        for name in ("Claimed", "Refunded"):
            for _ in self.client.logs(
                address=self.address,
                topics=[self._event_topic(name), topic],
                from_block=self.from_block,
            ):
                return name.lower()
        return "unknown"

    def _as_lock(
        self,
        params: LockParams,
        records: LockRecords | None = None,
        around: _Around | None = None,
    ) -> HtlcLock:
        if records is None or around is None:
            state = self._state(params.lock_id)
        elif self.is_open(params.lock_id):
            state = "open"
        else:
            names = around.closures(params.lock_id)
            names.update(e.name for e in records.history(params.lock_id))
            state = (
                "claimed"
                if "Claimed" in names
                else "refunded"
                if "Refunded" in names
                else "unknown"
            )
        return HtlcLock(
            lock_id=params.lock_id,
            asset=self._asset_ref(params.token),
            sender=params.sender,
            receiver=params.receiver,
            amount=params.amount,
            hashlock=params.hashlock,
            deadline=params.deadline,
            state=state,
            height=params.height,
        )

    # -- recorded events -----------------------------------------------------------------

    def _recorded(self, *, to_block: int | str = "latest") -> tuple[LockRecords, _Around] | None:
        """The records and the events around them (read up to ``to_block``), or None: no
        records (scan instead)."""
        base = self._records_base()
        if base is None:
            return None
        records, around = base
        at = time.monotonic()
        if to_block == "latest" and around.read_at is not None and at - around.read_at < _TAIL_TTL:
            return records, around  # read for these records a moment ago: is_open stays live
        start = around.next_from
        try:
            entries = self.client.logs_since(
                address=self.address, from_block=start, to_block=to_block
            )
        except (TransactionReverted, PermanentError):
            if self.client.head() >= start:
                raise
            entries = []  # the chain is below the records (a reorg to a shorter chain)
        self._add_tail(around, entries, start, to_block)
        if to_block == "latest":
            around.read_at = at
        return records, around

    def _add_tail(
        self,
        around: _Around,
        entries: Sequence[Mapping[str, Any]],
        from_block: int,
        to_block: int | str,
    ) -> None:
        self._prefetch_transfers(entries, from_block, to_block)
        events = [e for e in map(self._decode, entries) if e is not None]
        if around.lost(events, from_block, to_block):
            # a reorg replaced blocks read before (an orphaned claim would still count its
            # lock as closed, hiding that many units of a shortfall): the events above the
            # records are read again, from where the records end, as at a new span
            around.restart(self._below.get(around.span[0], ()))
            if around.next_from < from_block:
                self._add_tail(
                    around,
                    self.client.logs_since(
                        address=self.address, from_block=around.next_from, to_block=to_block
                    ),
                    around.next_from,
                    to_block,
                )
        for event in events:
            around.add(event)

    def _records_base(self) -> tuple[LockRecords, _Around] | None:
        """The records and the events below them (read once per record start), without
        reading what was mined above them; None: no records."""
        records = self.records
        if records is None:
            return None
        span = records.span()
        if span is None:
            return None
        first = span[0]
        around = self._around
        if around is None or around.span != span:
            below = self._below.get(first)
            if below is None:
                # once per record start: everything from the deployment block up to it
                below = tuple(self.events(self.from_block, first - 1))
                self._below = {first: below}
            around = self._around = _Around(span, below)
        return records, around

    def _stored_params(self, event: ChainEvent) -> LockParams | None:
        """The parameters of a ``Locked`` event (decoded, or as stored with hex bytes); None,
        logged, when they do not hash to the event's lock id (never trusted as given)."""
        args = event.args
        token = args.get("token")
        partition = args.get("partition")
        params = LockParams(
            _as_bytes(args["hashlock"]),
            NATIVE if token is None else str(token),
            str(args["sender"]),
            str(args["receiver"]),
            int(str(args["amount"])),
            int(str(args["deadline"])),
            event.height,
            event.tx_id,
            None if partition is None else _as_bytes(partition),
        )
        if params.lock_id != str(args.get("lock_id", "")).lower():
            log.warning("recorded lock %s does not match its parameters: ignored", args)
            return None
        return params

    def _event_topic(self, name: str) -> str:
        return self._topics[name]

    def _scan_locks(self, *, topics: list[Any] | None) -> Iterator[LockParams]:
        for name in ("Locked", "TokenLocked", "PartitionLocked"):
            wanted = [self._event_topic(name)] + (topics[1:] if topics else [])
            for entry in self.client.logs(
                address=self.address, topics=wanted, from_block=self.from_block
            ):
                event = self._decode(entry)
                if event is None:
                    continue
                params = _params_from(event)
                self._locks.setdefault(params.lock_id, params)
                yield params

    def _decode(self, entry: Mapping[str, Any]) -> ChainEvent | None:
        """The event a log of this HTLC records (None: not one of its events); each log is
        decoded once (its block hash is part of the key: a reorg's logs are others)."""
        key = (
            "0x" + bytes(entry["blockHash"]).hex() + bytes(entry["transactionHash"]).hex(),
            int(entry["logIndex"]),
        )
        if key in self._decoded:
            return self._decoded[key]
        event = self._decode_log(entry)
        if len(self._decoded) > 50_000:
            self._decoded.clear()
        self._decoded[key] = event
        return event

    def _decode_log(self, entry: Mapping[str, Any]) -> ChainEvent | None:
        topics = entry["topics"]
        topic0 = "0x" + bytes(topics[0]).hex() if topics else ""
        for name in ("Locked", "TokenLocked", "PartitionLocked", "Claimed", "Refunded"):
            if topic0 != self._topics[name]:
                continue
            args = self._fast_args(name, entry)
            if args is None:
                decoded = self._event_by_topic[topic0].process_log(entry)
                args = dict(decoded["args"])
            height = int(entry["blockNumber"])
            tx_id = "0x" + bytes(entry["transactionHash"]).hex()
            index = int(entry["logIndex"])
            if name in ("Locked", "TokenLocked", "PartitionLocked"):
                token = str(args.get("token", NATIVE))
                partition = args.get("partition")
                if name == "TokenLocked":
                    moved = self._token_transfer(entry, token)
                    if moved is None:
                        log.warning("lock in %s: no Transfer to the HTLC follows it", tx_id)
                        return None
                    args["sender"], args["amount"] = moved
                elif name == "PartitionLocked":
                    by_partition = self._partition_transfer(entry, token)
                    if by_partition is None:
                        log.warning(
                            "lock in %s: no TransferByPartition to the HTLC follows it", tx_id
                        )
                        return None
                    args["partition"], args["sender"], args["amount"] = by_partition
                    partition = args["partition"]
                    packed = int(args["receiverAndDeadline"])  # deadline << 160 | receiver
                    args["receiver"] = to_checksum_address(f"0x{packed & ((1 << 160) - 1):040x}")
                    args["deadline"] = packed >> 160
                params = LockParams(
                    bytes(args["hashlock"]),
                    token,
                    str(args["sender"]),
                    str(args["receiver"]),
                    int(args["amount"]),
                    int(args["deadline"]),
                    height,
                    tx_id,
                    None if partition is None else bytes(partition),
                )
                out: dict[str, object] = {
                    "lock_id": params.lock_id,
                    "hashlock": params.hashlock,
                    "token": None if params.native else params.token,
                    "sender": params.sender,
                    "receiver": params.receiver,
                    "amount": params.amount,
                    "deadline": params.deadline,
                    "partition": params.partition,
                }
                return ChainEvent("Locked", height, tx_id, index, out)
            lock_id = "0x" + bytes(args["id"]).hex()
            if name == "Claimed":
                payload: dict[str, object] = {"lock_id": lock_id, "secret": bytes(args["secret"])}
                return ChainEvent("Claimed", height, tx_id, index, payload)
            return ChainEvent("Refunded", height, tx_id, index, {"lock_id": lock_id})
        return None

    def _fast_args(self, name: str, entry: Mapping[str, Any]) -> dict[str, Any] | None:
        """The event's arguments decoded by eth-abi from its topics and data (as web3's
        ``process_log`` gives them: addresses checksummed, bytes32 as bytes), or None for
        web3 to decode (and refuse) a log that does not fit the event's shape."""
        shape = _EVENT_SHAPES.get(name)
        if shape is None:
            return None
        indexed, plain = shape
        topics = entry["topics"][1:]
        if len(topics) != len(indexed):
            return None
        try:
            args: dict[str, Any] = {n: bytes(t) for n, t in zip(indexed, topics, strict=True)}
            values = abi_decode([t for _, t in plain], bytes(entry["data"]))
        except Exception:
            return None
        for (field, kind), value in zip(plain, values, strict=True):
            args[field] = to_checksum_address(value) if kind == "address" else value
        return args

    def _receipt_logs_of(self, entry: Mapping[str, Any]) -> list[Any]:
        """The logs of the transaction that logged ``entry``, as mined in ``entry``'s block.

        Kept per block hash and transaction: log indexes count from the start of the block,
        so after a reorg the same transaction mined again elsewhere in a block has other
        indexes. A receipt from another block (the transaction was mined again since
        ``entry`` was read) says nothing of ``entry``'s block: no logs."""
        key = _inclusion(entry)
        logs = self._receipt_logs.get(key)
        if logs is None:
            receipt = self.client.receipt(key[1])
            if "0x" + bytes(receipt["blockHash"]).hex() != key[0]:
                return []
            logs = list(receipt["logs"])
            if len(self._receipt_logs) > 4096:
                self._receipt_logs.clear()
            self._receipt_logs[key] = logs
        return logs

    def _partition_transfer(
        self, entry: Mapping[str, Any], token: str
    ) -> tuple[bytes, str, int] | None:
        """The partition, sender and amount of a partition lock: the ``fromPartition``,
        ``from`` and ``value`` of the first ERC-1410 ``TransferByPartition(_, _, _, this HTLC,
        ...)`` logged by ``token`` after the lock's own log in the same transaction
        (``PartitionLocked`` does not repeat them; lockPartition refused any delivery other
        than the amount in the partition, and any lock of that token nested in between)."""
        me = "0x" + bytes(12).hex() + self.address[2:].lower()
        after = int(entry["logIndex"])
        for item in sorted(self._receipt_logs_of(entry), key=lambda x: int(x["logIndex"])):
            if int(item["logIndex"]) <= after or str(item["address"]).lower() != token.lower():
                continue
            topics = ["0x" + bytes(t).hex() for t in item["topics"]]
            if len(topics) != 4 or topics[0] != _TRANSFER_BY_PARTITION_TOPIC or topics[3] != me:
                continue
            data = bytes(item["data"])
            if len(data) < 64:
                continue
            sender = Web3.to_checksum_address("0x" + topics[2][-40:])
            return bytes.fromhex(topics[1][2:]), sender, int.from_bytes(data[32:64], "big")
        return None

    def _token_transfer(self, entry: Mapping[str, Any], token: str) -> tuple[str, int] | None:
        """The sender and amount of a token lock: the ``from`` and ``value`` of the first
        ``Transfer(_, this HTLC, _)`` logged by ``token`` after the lock's own log in the same
        transaction (``TokenLocked`` does not repeat them; lockToken refused any delivery
        other than the amount, and any second lock of that token nested in between)."""
        me = "0x" + bytes(12).hex() + self.address[2:].lower()
        after = int(entry["logIndex"])
        for item in sorted(self._receipt_logs_of(entry), key=lambda x: int(x["logIndex"])):
            if int(item["logIndex"]) <= after or str(item["address"]).lower() != token.lower():
                continue
            topics = ["0x" + bytes(t).hex() for t in item["topics"]]
            if len(topics) == 3 and topics[0] == _TRANSFER_TOPIC and topics[2] == me:
                sender = Web3.to_checksum_address("0x" + topics[1][-40:])
                return sender, int.from_bytes(bytes(item["data"]), "big")
        return None

    # -- pre-flight ------------------------------------------------------------------------

    def preflight(
        self,
        *,
        token: str,
        sender: str,
        receiver: str,
        amount: int,
        partition: bytes | None = None,
    ) -> Preflight:
        """Everything missing for ``sender`` to lock ``amount`` of ``token`` for ``receiver``.

        Reads only. Any ERC-20: the sender's balance and its allowance to this HTLC. T-REX
        (recognised by ``identityRegistry()`` and ``compliance()``): the token is not
        paused; no wallet involved (sender, escrow, receiver) is frozen; the sender's
        unfrozen balance covers the amount; the escrow has an identity in the identity
        registry, with a country, and is verified; the receiver is verified; the compliance
        allows sender -> escrow and escrow -> receiver (each refusing module named).
        """
        token = self._address("token", token)
        sender = self._address("sender", sender)
        receiver = self._address("receiver", receiver)
        amount = _require_amount(amount)
        self._require_code(token)
        if partition is not None:
            return self._partition_preflight(
                token, _require_bytes32("partition", partition), sender, receiver, amount
            )
        trex = self._trex_parts(token)
        restricted = None if trex is not None else self._erc1404(token)
        if trex is not None:
            standard = Standard.ERC3643
        elif restricted is not None:
            standard = Standard.ERC1404
        else:
            standard = Standard.ERC20
        missing: list[Refusal] = []

        def miss(code: ReasonCode, raw: str, detail: str) -> None:
            missing.append(
                Refusal(code=code, source_standard=standard, raw_code=raw, detail=detail)
            )

        erc20 = self._token_contract(token)
        # both in one round trip, encoded by hand (this runs before every token lock)
        answers = self.client.batch_read(
            [
                (token, _BALANCE_OF + abi_encode(["address"], [sender])),
                (token, _ALLOWANCE + abi_encode(["address", "address"], [sender, self.address])),
            ],
            batch_size=2,
        )
        for answer in answers:
            if not isinstance(answer, bytes):
                raise answer
        balance, allowance = (int.from_bytes(a[:32], "big") for a in answers)  # type: ignore[index]
        if balance < amount:
            miss(
                ReasonCode.INSUFFICIENT_BALANCE,
                "balance",
                f"sender {sender} holds {balance}, needs {amount}",
            )
        if allowance < amount:
            miss(
                ReasonCode.INSUFFICIENT_ALLOWANCE,
                "allowance",
                f"sender {sender} allows the HTLC {allowance}, needs {amount}: approve it first",
            )
        if trex is not None:
            self._trex_preflight(erc20, trex, sender, receiver, amount, balance, miss)
        if restricted is not None:
            self._erc1404_preflight(restricted, sender, receiver, amount, missing)
        return Preflight(
            token=token,
            escrow=self.address,
            sender=sender,
            receiver=receiver,
            amount=amount,
            standard=standard,
            missing=tuple(missing),
        )

    def ready_for_lock(
        self, *, token: str, sender: str, receiver: str, amount: int, approving: bool = False
    ) -> Preflight:
        """:meth:`preflight` of a plain token lock, remembered when nothing is missing for
        the :meth:`lock` of exactly these terms that follows within a moment (it does not
        read it again): a relayer's approval check and the lock's pre-flight in one read.
        ``approving``: the caller approves the HTLC before that lock (or raises), so a
        short allowance alone still counts as nothing missing."""
        found = self.preflight(token=token, sender=sender, receiver=receiver, amount=amount)
        self._ready.pop("lock", None)
        missing = [r for r in found.missing if not (approving and r.raw_code == "allowance")]
        if not missing:
            terms = (found.token.lower(), found.sender, found.receiver, found.amount)
            self._ready["lock"] = (time.monotonic(), terms)
        return found

    def _partition_allowance(self, contract: Any, partition: bytes, sender: str) -> int:
        """``allowanceByPartition(partition, sender, HTLC)`` (0 from a token without it)."""
        try:
            fn = contract.functions.allowanceByPartition(partition, sender, self.address)
            return int(self.client.read(fn))
        except PermanentError:  # a revert: not every ERC-1400 token has them
            return 0

    def _partition_preflight(
        self, token: str, partition: bytes, sender: str, receiver: str, amount: int
    ) -> Preflight:
        """ERC-1400: the sender's partition balance, this HTLC as its operator, and the token's
        ``canTransferByPartition`` for sender -> HTLC and HTLC -> receiver."""
        contract = self.client.contract(token, load_artifact("SecurityToken1400").abi)
        escrow = self.address
        read = self.client.read
        missing: list[Refusal] = []

        def miss(code: ReasonCode, raw: str, detail: str) -> None:
            missing.append(
                Refusal(code=code, source_standard=Standard.ERC1400, raw_code=raw, detail=detail)
            )

        held = int(read(contract.functions.balanceOfByPartition(partition, sender)))
        if held < amount:
            miss(
                ReasonCode.INSUFFICIENT_BALANCE,
                "partition_balance",
                f"sender {sender} holds {held} in partition 0x{partition.hex()}, needs {amount}",
            )
        operator = bool(read(contract.functions.isOperator(escrow, sender))) or bool(
            read(contract.functions.isOperatorForPartition(partition, escrow, sender))
        )
        if not operator and self._partition_allowance(contract, partition, sender) < amount:
            miss(
                ReasonCode.OPERATOR_NOT_AUTHORIZED,
                "operator",
                f"the HTLC {escrow} is not an operator of {sender} for partition "
                f"0x{partition.hex()} and its partition allowance is under {amount}: "
                "approveByPartition(partition, HTLC, amount) or "
                "authorizeOperatorByPartition(partition, HTLC) first",
            )
        for source, target, leg in (
            (sender, escrow, "sender -> HTLC"),
            (escrow, receiver, "HTLC -> receiver"),
        ):
            result = self._can_transfer_by_partition(contract, partition, source, target, amount)
            if result is None:
                # this backend cannot run a call from the coin-less escrow (py-evm charges the
                # caller for a call): check the receiver side as a transfer sender -> receiver
                result = self._can_transfer_by_partition(
                    contract, partition, sender, target, amount
                )
                if result is None:
                    raise NotFound("canTransferByPartition could not be evaluated")
            status, reason = result
            code = from_erc1400(status[0])
            text = reason.rstrip(b"\x00").decode("ascii", "replace")
            if code is ReasonCode.OK:
                continue
            if source == escrow and code is ReasonCode.INSUFFICIENT_BALANCE:
                continue  # the escrow holds the amount once the lock has run
            miss(
                code,
                text,
                f"the token refuses {leg} for {amount} in partition 0x{partition.hex()}: "
                f"0x{status.hex()} {text}",
            )
        return Preflight(
            token=token,
            escrow=escrow,
            sender=sender,
            receiver=receiver,
            amount=amount,
            standard=Standard.ERC1400,
            missing=tuple(missing),
        )

    def _can_transfer_by_partition(
        self, contract: Contract, partition: bytes, source: str, target: str, amount: int
    ) -> tuple[bytes, bytes] | None:
        """``canTransferByPartition`` called by ``source`` (the holder, so the operator rule is
        not what answers); None when this backend cannot make a call from ``source``."""
        fn_call = contract.functions.canTransferByPartition(source, target, partition, amount, b"")

        def run() -> Any:
            return fn_call.call({"from": source})

        try:
            status, reason, _ = self.client.guard("call canTransferByPartition", run)
        except EvmReverted:
            raise
        except PermanentError:
            return None
        return bytes(status), bytes(reason)

    def _erc1404(self, token: str) -> Contract | None:
        if token in self._not_1404:
            return None
        contract = self.client.contract(token, load_artifact("IERC1404").abi)
        try:
            self.client.read(contract.functions.messageForTransferRestriction(0))
        except PermanentError:  # no such view: not ERC-1404 (remembered: probes revert)
            self._not_1404.add(token)
            return None
        return contract

    def _erc1404_preflight(
        self, token: Contract, sender: str, receiver: str, amount: int, missing: list[Refusal]
    ) -> None:
        """The token's own ``detectTransferRestriction`` for both legs of the escrow."""
        escrow = self.address
        for source, target, leg in (
            (sender, escrow, "sender -> HTLC"),
            (escrow, receiver, "HTLC -> receiver"),
        ):
            detect = token.functions.detectTransferRestriction(source, target, amount)
            code = int(self.client.read(detect))
            if code == 0:
                continue
            message = str(self.client.read(token.functions.messageForTransferRestriction(code)))
            refusal = restriction_refusal(code, message)
            if source == escrow and refusal.code is ReasonCode.INSUFFICIENT_BALANCE:
                continue  # the escrow holds the amount once the lock has run
            detail = f"the token's restriction {code} ({message}) refuses {leg} for {amount}"
            missing.append(refusal.model_copy(update={"detail": detail}))

    def _trex_parts(self, token: str) -> tuple[Contract, Contract] | None:
        """A T-REX token's identity registry and compliance, read each time (its owner may
        set others); a token without them is remembered as not T-REX."""
        if token in self._not_trex:
            return None
        contract = self._token_contract(token)
        try:
            registry = str(self.client.read(contract.functions.identityRegistry()))
            compliance = str(self.client.read(contract.functions.compliance()))
        except PermanentError:  # no such view (reverts or returns nothing): not T-REX
            self._not_trex.add(token)
            return None
        return (
            self.client.contract(registry, load_abi("IdentityRegistry")),
            self.client.contract(compliance, load_abi("ModularCompliance")),
        )

    def _trex_preflight(
        self,
        token: Contract,
        parts: tuple[Contract, Contract],
        sender: str,
        receiver: str,
        amount: int,
        balance: int,
        miss: Any,
    ) -> None:
        registry, compliance = parts
        read = self.client.read
        escrow = self.address
        if read(token.functions.paused()):
            miss(ReasonCode.TOKEN_PAUSED, "paused", "the token is paused")
        for who, label, code in (
            (sender, "sender", ReasonCode.SENDER_FROZEN),
            (escrow, "HTLC escrow", ReasonCode.RECIPIENT_FROZEN),
            (receiver, "receiver", ReasonCode.RECIPIENT_FROZEN),
        ):
            if read(token.functions.isFrozen(who)):
                miss(code, "frozen", f"the {label} {who} is frozen on the token")
        frozen = int(read(token.functions.getFrozenTokens(sender)))
        if balance - frozen < amount <= balance:
            miss(
                ReasonCode.INSUFFICIENT_UNFROZEN_BALANCE,
                "frozen_tokens",
                f"sender {sender} has {frozen} of {balance} frozen; {amount} must be free",
            )
        if not read(registry.functions.contains(escrow)):
            miss(
                ReasonCode.RECIPIENT_NOT_ELIGIBLE,
                "escrow_not_registered",
                f"the HTLC {escrow} has no identity in identity registry {registry.address}: "
                "create one (create_escrow_identity), add the required claims "
                "(add_escrow_claim) and register it with a country (register_escrow_identity)",
            )
        else:
            country = int(read(registry.functions.investorCountry(escrow)))
            if country == 0 or numeric_to_alpha2(country) is None:
                miss(
                    ReasonCode.RECIPIENT_NOT_ELIGIBLE,
                    "escrow_no_country",
                    f"the HTLC {escrow} is registered without a valid country ({country})",
                )
            if not read(registry.functions.isVerified(escrow)):
                miss(
                    ReasonCode.RECIPIENT_NOT_ELIGIBLE,
                    "escrow_not_verified",
                    f"the HTLC {escrow} is registered but not verified: its identity lacks a "
                    "valid claim from a trusted issuer for a required topic",
                )
        if not read(registry.functions.isVerified(receiver)):
            miss(
                ReasonCode.RECIPIENT_NOT_ELIGIBLE,
                "receiver_not_verified",
                f"the receiver {receiver} is not verified in the identity registry: the claim "
                "would be refused",
            )
        for source, target, leg in (
            (sender, escrow, "sender -> HTLC"),
            (escrow, receiver, "HTLC -> receiver"),
        ):
            try:
                allowed = bool(read(compliance.functions.canTransfer(source, target, amount)))
            except EvmReverted:
                allowed = False
            if allowed:
                continue
            blamed = self._refusing_modules(compliance, source, target, amount)
            if not blamed:
                miss(
                    ReasonCode.TRANSFER_FAILURE,
                    "compliance",
                    f"compliance refuses {leg} for {amount}",
                )
            for name, why in blamed:
                miss(
                    from_trex_module(name),
                    name,
                    f"compliance module {name} refuses {leg} for {amount} ({why})",
                )

    def _refusing_modules(
        self, compliance: Contract, source: str, target: str, amount: int
    ) -> list[tuple[str, str]]:
        """(module name, why) for every bound module whose check refuses (or reverts)."""
        names: list[tuple[str, str]] = []
        for module_address in self.client.read(compliance.functions.getModules()):
            module = self.client.contract(str(module_address), load_abi("IModule"))
            name = str(self.client.read(module.functions.name()))
            try:
                ok = self.client.read(
                    module.functions.moduleCheck(source, target, amount, compliance.address)
                )
            except EvmReverted as exc:
                names.append((name, f"its check reverts: {exc.revert.describe()}"))
                continue
            if not ok:
                names.append((name, "its check returns false"))
        return names


def _topic_of(event: Mapping[str, Any]) -> str:
    types = ",".join(str(i["type"]) for i in event["inputs"])
    return "0x" + bytes(Web3.keccak(text=f"{event['name']}({types})")).hex()


def _as_bytes(value: object) -> bytes:
    """Bytes as decoded, or as stored (0x hex)."""
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    return bytes.fromhex(str(value).removeprefix("0x"))


def _open_sum(amounts: Mapping[str, int], closed: set[str]) -> int:
    """The units of the locks in ``amounts`` that are not in ``closed``."""
    return sum(amount for lock_id, amount in amounts.items() if lock_id not in closed)


def _lock_id_bytes(lock_id: str) -> bytes:
    if not isinstance(lock_id, str) or not lock_id.startswith("0x") or len(lock_id) != 66:
        raise InvalidInput("lock_id", "must be 0x followed by 64 hex digits", value=lock_id)
    try:
        return bytes.fromhex(lock_id[2:])
    except ValueError:
        raise InvalidInput("lock_id", "must be hexadecimal", value=lock_id) from None


def _params_from(event: ChainEvent) -> LockParams:
    args = event.args
    token = args["token"]
    return LockParams(
        cast(bytes, args["hashlock"]),
        NATIVE if token is None else str(token),
        str(args["sender"]),
        str(args["receiver"]),
        cast(int, args["amount"]),
        cast(int, args["deadline"]),
        event.height,
        event.tx_id,
        cast("bytes | None", args.get("partition")),
    )


# -- set-up helpers for regulated tokens ----------------------------------------------------


def _send_call(client: EvmClient, signer: Signer, fn_call: Any) -> TxReceipt:
    data = bytes.fromhex(str(fn_call._encode_transaction_data()).removeprefix("0x"))
    return client.transact(signer, str(fn_call.address), data)


def _key_of(address: str) -> bytes:
    return bytes(Web3.keccak(abi_encode(["address"], [address])))


def create_escrow_identity(
    client: EvmClient, *, id_factory: str, htlc: str, manager: str, salt: str, signer: Signer
) -> str:
    """Create the HTLC's ONCHAINID through an ``IdFactory`` (``signer`` owns the factory).

    The identity is linked to the HTLC's address; its management key is ``manager`` (an
    operator account), since the HTLC contract itself cannot sign claims. Returns the
    identity's address.
    """
    factory = client.contract(id_factory, load_abi("IdFactory"))
    existing = str(client.read(factory.functions.getIdentity(htlc)))
    if int(existing, 16) != 0:
        return existing
    _send_call(
        client,
        signer,
        factory.functions.createIdentityWithManagementKeys(htlc, salt, [_key_of(manager)]),
    )
    return str(client.read(factory.functions.getIdentity(htlc)))


def add_escrow_claim(
    client: EvmClient,
    *,
    identity: str,
    topic: int,
    issuer: str,
    signature: bytes,
    data: bytes,
    signer: Signer,
) -> TxReceipt:
    """Add a trusted issuer's signed claim to the HTLC's identity (``signer`` manages it)."""
    contract = client.contract(identity, load_abi("Identity"))
    return _send_call(
        client, signer, contract.functions.addClaim(topic, 1, issuer, signature, data, "")
    )


def register_escrow_identity(
    client: EvmClient,
    *,
    identity_registry: str,
    htlc: str,
    identity: str,
    country: str,
    agent: Signer,
) -> TxReceipt:
    """Register the HTLC's wallet and identity in a T-REX identity registry with a country.

    ``country`` is ISO 3166-1 alpha-2 (stored as its numeric code, as T-REX does); ``agent``
    must be an agent of the registry.
    """
    try:
        numeric = alpha2_to_numeric(country)
    except (KeyError, ValueError) as exc:
        raise InvalidInput("country", "must be an ISO 3166-1 alpha-2 code", value=country) from exc
    registry = client.contract(identity_registry, load_abi("IdentityRegistry"))
    return _send_call(client, agent, registry.functions.registerIdentity(htlc, identity, numeric))


def _inclusion(entry: Mapping[str, Any]) -> tuple[str, str]:
    """Where a log's transaction was mined: its block hash and its transaction hash (the
    same transaction mined again after a reorg is another inclusion, with other log
    indexes)."""
    return (
        "0x" + bytes(entry["blockHash"]).hex(),
        "0x" + bytes(entry["transactionHash"]).hex(),
    )
