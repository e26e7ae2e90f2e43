"""The I/O half shared by the Algorand adapters: typed reads and submission over algod.

:class:`AlgodChain` wraps any py-algorand-sdk ``AlgodClient`` — a real algod over HTTP or
the embedded ledger's client — so the adapters have one code path for both. It is the
adapter boundary for the SDK: ``AlgodHTTPError`` and network errors never leave it; they
become ``NotFound`` (404), ``ChainUnavailable`` (unreachable, 5xx), ``TransactionReverted``
(a rejected transaction, with the evaluator's message) or ``ChainTimeout``.

Algorand has immediate finality, so :meth:`finality_depth` is 0.

Held sends (the relayer's batch per tick, :mod:`relayer.pipeline`): :meth:`AlgodChain.hold_sends`
asks the client to hold its sends in a pool until :meth:`AlgodChain.flush_sends`; only the
embedded ledger's client can (:meth:`EmbeddedAlgodClient.hold_sends`: the queued groups are
evaluated as one round at the flush); against a real algod it answers False and every
send goes out as before. :meth:`AlgodChain.outcomes` tells what became of sent
transactions (:class:`TxOutcome`), for a port that does not wait for them.
"""

from __future__ import annotations

import base64
import time
import urllib.error
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from algosdk import encoding
from algosdk.error import AlgodHTTPError, AlgodResponseError
from algosdk.transaction import SuggestedParams

from adapters.algorand.addresses import address_from_key, checked_address
from bridge.errors import (
    BridgeError,
    ChainTimeout,
    ChainUnavailable,
    InvalidInput,
    NotFound,
    TransactionReverted,
)
from bridge.model import AlgorandChain
from bridge.ports import TxReceipt
from bridge.reasons import from_algorand
from bridge.types import UINT64_MAX

__all__ = ["AlgodChain", "AssetHolding", "TxOutcome", "check_amount", "check_asset_id"]

T = TypeVar("T")


def check_asset_id(value: object, field: str = "asset_id") -> int:
    """An asset id is an int in 1..2**64-1; anything else is ``InvalidInput``."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= UINT64_MAX:
        raise InvalidInput(field, "an asset id is an integer from 1 to 2**64-1", value=value)
    return value


def check_amount(value: object, field: str = "amount") -> int:
    """An ASA amount is an int in 0..2**64-1 (base units); anything else is ``InvalidInput``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(field, "an amount is an integer in base units", value=value)
    if not 0 <= value <= UINT64_MAX:
        raise InvalidInput(field, "an ASA amount fits a uint64 (0 to 2**64-1)", value=value)
    return value


@dataclass(frozen=True, slots=True)
class AssetHolding:
    """An account's holding of one ASA (``opted_in`` False means no holding record)."""

    amount: int
    frozen: bool
    opted_in: bool


@dataclass(frozen=True, slots=True)
class TxOutcome:
    """What became of a sent transaction: ``pending`` (in the node's pool), ``mined`` (at
    ``height``), ``failed`` (the pool refused it; ``reason`` is the node's ``pool-error``) or
    ``dropped`` (the node does not know it)."""

    tx_id: str
    status: str
    height: int = -1
    reason: str = ""


class AlgodChain:
    """Typed reads and transaction submission over a py-algorand-sdk ``AlgodClient``."""

    def __init__(self, algod: Any, *, network: str | None = None) -> None:
        self.algod = algod
        self._network = network
        self._chain: AlgorandChain | None = None
        self.calls = 0
        self._held_ids: list[str] | None = None  # None: sends not held (hold_sends)
        self._refusals: list[Any] = []
        self.max_held_s: float | None = None
        """How long held sends may wait before a batcher evaluates them early
        (``relayer.pipeline.SendBatches.due``); None: only at the flush, since every
        evaluation of the pool is one run of the evaluator whatever it holds."""

    # ---- held sends (the embedded pool) ----------------------------------------------
    def hold_sends(self) -> bool:
        """Hold :meth:`submit`'s groups in the client's pool until :meth:`flush_sends`;
        False (nothing held, sends go out one by one) when the client cannot (a real
        algod: only the embedded ledger's client has a pool to hold them in)."""
        hold = getattr(self.algod, "hold_sends", None)
        if not callable(hold) or not hold():
            return False
        if self._held_ids is None:
            self._held_ids = []
        return True

    @property
    def sends_held(self) -> bool:
        """Whether this chain's sends are held in the client's pool (:meth:`hold_sends`)."""
        return self._held_ids is not None

    @property
    def held_sends(self) -> tuple[str, ...]:
        """First transaction ids of the groups sent through this chain while held, since
        :meth:`hold_sends` (in the order they were sent)."""
        return tuple(self._held_ids or ())

    @property
    def held_age(self) -> float:
        """Seconds the oldest queued group has waited (0.0: nothing queued)."""
        if self._held_ids is None:
            return 0.0
        return float(getattr(self.algod, "held_age", 0.0))

    def drain_sends(self) -> None:
        """Evaluate what the pool holds now (one round) and keep holding; the refusals are
        kept for :meth:`flush_sends`."""
        if self._held_ids is None:
            return
        drain = self.algod.drain_sends
        self._refusals.extend(self._call("evaluate the held sends", drain))

    def flush_sends(self) -> list[Any]:
        """Evaluate what the pool holds (one round) and stop holding; every group the pool
        refused since :meth:`hold_sends` (``adapters.algorand.algod.PoolRefusal``: its first
        id, and the refusal as ``TransactionReverted``)."""
        if self._held_ids is None:
            return []
        try:
            self._refusals.extend(self._call("evaluate the held sends", self.algod.flush_sends))
        finally:
            self._held_ids = None
        refused, self._refusals = self._refusals, []
        return refused

    def outcomes(self, tx_ids: Sequence[str]) -> dict[str, TxOutcome]:
        """What became of each transaction (one pending-info read each)."""
        found: dict[str, TxOutcome] = {}
        for tx_id in tx_ids:
            try:
                info = self.pending_info(tx_id)
            except NotFound:
                found[tx_id] = TxOutcome(tx_id, "dropped")
                continue
            confirmed = int(info.get("confirmed-round") or 0)
            if confirmed:
                found[tx_id] = TxOutcome(tx_id, "mined", confirmed)
            elif info.get("pool-error"):
                found[tx_id] = TxOutcome(tx_id, "failed", reason=str(info["pool-error"]))
            else:
                found[tx_id] = TxOutcome(tx_id, "pending")
        return found

    def simulate(self, signed: bytes) -> None:
        """Evaluate one signed group without sending it (algod's simulate); raise
        ``TransactionReverted`` with the evaluator's message if it would fail."""
        parts = [
            encoding.msgpack_decode(base64.b64encode(part).decode())  # type: ignore[no-untyped-call]
            for part in _split(signed)
        ]
        answer = self._call("simulate", lambda: self.algod.simulate_raw_transactions(parts))
        groups = answer.get("txn-groups", []) if isinstance(answer, dict) else []
        failure = str(groups[0].get("failure-message", "")) if groups else "no simulation result"
        if failure:
            raise TransactionReverted(
                f"simulate: {failure}", raw_message=failure, reason=from_algorand(failure)
            )

    # ---- boundary ----------------------------------------------------------------
    def _call(self, what: str, fn: Callable[[], T]) -> T:
        self.calls += 1
        try:
            return fn()
        except AlgodHTTPError as exc:
            code = getattr(exc, "code", None)
            if code == 404:
                raise NotFound(f"{what}: not found") from exc
            if code is not None and code >= 500:
                raise ChainUnavailable(f"{what}: algod error {code}: {exc}") from exc
            raise TransactionReverted(
                f"{what}: {exc}", raw_message=str(exc), reason=from_algorand(str(exc))
            ) from exc
        except AlgodResponseError as exc:
            raise ChainUnavailable(f"{what}: unreadable algod answer: {exc}") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise ChainUnavailable(f"{what}: algod unreachable: {exc}") from exc
        except BridgeError:
            raise
        except (KeyError, ValueError, TypeError) as exc:
            raise ChainUnavailable(f"{what}: unexpected algod answer: {exc!r}") from exc

    # ---- ChainClient ---------------------------------------------------------------
    @property
    def chain(self) -> AlgorandChain:
        """This network, identified by its genesis hash."""
        if self._chain is None:
            params = self.suggested_params()
            self._chain = AlgorandChain(
                genesis_hash=str(params.gh), network=self._network or str(params.gen or "")
            )
        return self._chain

    def head(self) -> int:
        """The last committed round."""
        status = self._call("status", lambda: self.algod.status())
        return int(status["last-round"])

    def finality_depth(self) -> int:
        """Algorand blocks are final when committed."""
        return 0

    def now(self) -> int:
        """Timestamp (Unix seconds) of the last committed block: what the next block's
        ``global LatestTimestamp`` reads."""
        head = self.head()
        block = self._call(f"block {head}", lambda: self.algod.block_info(head))
        return int(block["block"].get("ts", 0))

    def suggested_params(self) -> SuggestedParams:
        """Fee and validity window for a new transaction."""
        params: SuggestedParams = self._call(
            "suggested params", lambda: self.algod.suggested_params()
        )
        return params

    def submit(self, signed: bytes) -> str:
        """Send signed transaction bytes (one or a whole group, concatenated); return the
        first transaction id."""
        txid = self._call(
            "send transaction",
            lambda: self.algod.send_raw_transaction(base64.b64encode(signed).decode()),
        )
        if self._held_ids is not None:
            self._held_ids.append(str(txid))
        return str(txid)

    def submit_group(self, signed: Sequence[Any]) -> list[str]:
        """Send SDK ``SignedTransaction`` objects as one group; return their ids."""
        raw = b"".join(base64.b64decode(encoding.msgpack_encode(s)) for s in signed)  # type: ignore[no-untyped-call]
        self.submit(raw)
        return [str(s.get_txid()) for s in signed]

    def wait(self, tx_id: str, *, timeout: float = 30.0) -> TxReceipt:
        """Wait for ``tx_id`` to be confirmed; ``TransactionReverted`` if the pool dropped it."""
        deadline = time.monotonic() + timeout
        while True:
            info = self._call(
                f"pending transaction {tx_id}",
                lambda: self.algod.pending_transaction_info(tx_id),
            )
            if info.get("pool-error"):
                raise TransactionReverted(
                    f"transaction {tx_id} rejected: {info['pool-error']}",
                    raw_message=str(info["pool-error"]),
                    tx_id=tx_id,
                    reason=from_algorand(str(info["pool-error"])),
                )
            confirmed = int(info.get("confirmed-round") or 0)
            if confirmed:
                fee = int(info.get("txn", {}).get("txn", {}).get("fee", 0))
                return TxReceipt(tx_id=tx_id, height=confirmed, success=True, fee_paid=fee)
            if self._held_ids is not None and tx_id in self._pooled():
                self.drain_sends()  # waited for while held: evaluate the pool now
                continue
            if time.monotonic() >= deadline:
                raise ChainTimeout(f"transaction {tx_id} not confirmed within {timeout}s")
            self._wait_next_block(self.head())

    def _pooled(self) -> tuple[str, ...]:
        held = getattr(self.algod, "held_sends", ())
        return tuple(held) if isinstance(held, tuple | list) else ()

    def _wait_next_block(self, last: int) -> None:
        self._call("status after block", lambda: self.algod.status_after_block(last))

    def pending_info(self, tx_id: str) -> dict[str, Any]:
        """algod's pending-transaction record (confirmed round, created ids, logs...)."""
        info: dict[str, Any] = self._call(
            f"pending transaction {tx_id}", lambda: self.algod.pending_transaction_info(tx_id)
        )
        return info

    # ---- reads -----------------------------------------------------------------------
    def asset_params(self, asset_id: int) -> dict[str, Any]:
        """The asset's parameters as algod returns them (``params`` object)."""
        check_asset_id(asset_id)
        info = self._call(f"asset {asset_id}", lambda: self.algod.asset_info(asset_id))
        params = info.get("params")
        if not isinstance(params, dict) or info.get("deleted"):
            raise NotFound(f"asset {asset_id}: not found")
        return params

    def holding(self, address: str, asset_id: int) -> AssetHolding:
        """``address``'s holding of ``asset_id`` (not opted in -> amount 0, opted_in False)."""
        address = checked_address(address)
        try:
            info = self._call(
                f"holding of {address} in {asset_id}",
                lambda: self.algod.account_asset_info(address, asset_id),
            )
        except NotFound:
            return AssetHolding(amount=0, frozen=False, opted_in=False)
        held = info.get("asset-holding")
        if not isinstance(held, dict):
            return AssetHolding(amount=0, frozen=False, opted_in=False)
        return AssetHolding(
            amount=int(held.get("amount", 0)), frozen=bool(held.get("is-frozen")), opted_in=True
        )

    def algo_balance(self, address: str) -> int:
        """The account's balance in microAlgos."""
        address = checked_address(address)
        info = self._call(f"account {address}", lambda: self.algod.account_info(address))
        return int(info.get("amount", 0))

    def spendable_algos(self, address: str) -> int:
        """The account's microAlgos above its minimum balance (what it can pay out)."""
        address = checked_address(address)
        info = self._call(f"account {address}", lambda: self.algod.account_info(address))
        return max(int(info.get("amount", 0)) - int(info.get("min-balance", 0)), 0)

    def app_params(self, app_id: int) -> dict[str, Any]:
        """The application's ``params`` object (creator, global state, programs...)."""
        check_asset_id(app_id, "app_id")
        info = self._call(f"application {app_id}", lambda: self.algod.application_info(app_id))
        params = info.get("params")
        if not isinstance(params, dict):
            raise NotFound(f"application {app_id}: not found")
        return params

    def box(self, app_id: int, name: bytes) -> bytes | None:
        """A box's value, or None when the box does not exist."""
        try:
            info = self._call(
                f"box of {app_id}", lambda: self.algod.application_box_by_name(app_id, name)
            )
        except NotFound:
            return None
        return base64.b64decode(info.get("value", ""))

    def block_msgpack(self, round_: int) -> dict[str, Any]:
        """The block at ``round_`` decoded from algod's msgpack form (raw byte values)."""
        import msgpack

        raw = self._call(
            f"block {round_}",
            lambda: self.algod.block_info(round_, response_format="msgpack"),
        )
        decoded = (
            msgpack.unpackb(raw, raw=False, strict_map_key=False) if isinstance(raw, bytes) else raw
        )
        block = decoded.get("block", decoded) if isinstance(decoded, dict) else {}
        return block if isinstance(block, dict) else {}

    def asset_receivers(self, asset_id: int, *, from_height: int = 0) -> set[str]:
        """Addresses that received (or closed to) ``asset_id`` in blocks from ``from_height``."""
        found: set[str] = set()
        for round_ in range(max(from_height, 1), self.head() + 1):
            for entry in self.block_msgpack(round_).get("txns", []) or []:
                _walk_axfers(entry, asset_id, found)
        return found

    def box_names(self, app_id: int) -> list[bytes]:
        """Names of every box of the application."""
        info = self._call(f"boxes of {app_id}", lambda: self.algod.application_boxes(app_id))
        return [base64.b64decode(b["name"]) for b in info.get("boxes", [])]


def _split(signed: bytes) -> list[bytes]:
    """Concatenated msgpack signed transactions, each on its own."""
    import msgpack

    unpacker = msgpack.Unpacker(raw=True, strict_map_key=False)
    unpacker.feed(signed)
    parts: list[bytes] = []
    start = 0
    for _ in unpacker:
        end = unpacker.tell()
        parts.append(signed[start:end])
        start = end
    return parts


def _walk_axfers(entry: Any, asset_id: int, out: set[str]) -> None:
    """Collect receivers / close-to / clawback sources of ``asset_id`` transfers in a block
    entry, inner transactions included. Addresses come as raw 32 bytes (algod's msgpack)
    or base32 text (JSON-shaped answers)."""
    if not isinstance(entry, dict):
        return
    txn = entry.get("txn", {})
    is_axfer = isinstance(txn, dict) and txn.get("type") in ("axfer", b"axfer")
    if is_axfer and int(txn.get("xaid", 0)) == asset_id:
        for key in ("arcv", "aclose", "asnd"):
            value = txn.get(key)
            if isinstance(value, bytes) and len(value) == 32:
                out.add(address_from_key(value))
            elif isinstance(value, str) and len(value) == 58:
                out.add(value)
    delta = entry.get("dt")
    for inner in delta.get("itx", []) if isinstance(delta, dict) else []:
        _walk_axfers(inner, asset_id, out)
