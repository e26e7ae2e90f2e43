"""The move executor: lock-and-mint moves of one ibet security to a regulated-ASA mirror, run
by the relayer with the home register authoritative (as ibet's own WST bridge does).

A *move out* locks the holder's ibet units to the bridge's lock address (the issuer's
account: ``lock`` signed by the holder when the relayer holds the holder's key, otherwise the
issuer's ``forceLock``), waits until the lock is ``home_finality`` blocks deep, then mints the
same quantity of the mirror ASA to the receiver. A *move back* burns mirror units (the
compliance application's admin ``burn``), waits ``mirror_finality`` rounds, then ``unlock``s
the same quantity on ibet to the receiver. A mirror transfer moves no ibet units; the
executor writes it back to the home register with ``forceChangeLockedAccount``: the locked
units follow the mirror's holders, so the issuer's register of holders stays complete.

Crash safety (the guarantees the swap relayer gives, defended against the operator's own
crashes and restarts):

- every transaction is signed, and its bytes and id are written to the journal
  (:mod:`relayer.move_journal`) *before* it is sent; a restart re-sends the same bytes (the
  chain takes them once: EVM nonce, Algorand transaction id and lease);
- a journalled step is resolved from chain state before anything new is signed: a receipt
  (EVM) or the confirmed round (Algorand; a scan of the rounds of the transaction's validity
  window for its note when algod no longer knows it). Only a step that provably cannot land
  any more (``expired``) is signed anew. So a mint or a release is never sent twice;
- the target leg is built only on a source leg ``finality`` blocks deep, read from the
  chain; the mirror is read at its last committed round (Algorand is final on commit);
- before each mint the executor checks the mirror's supply plus the mint against what is
  locked on the home chain (the mirror never outgrows its backing).

Refusals happen before anything is locked or burnt: a bad quantity (positive, and exactly
representable on the other side: :func:`bridge.translate.move.to_mirror_units`), more than
the holder's free units, a receiver not eligible on the receiving side (the mirror's
whitelist, KYC, country and opt-in; ibet's PersonalInfo registration), and, with a
``compliance`` hook (the daemon's: the compliance engine), a receiving investor the law
refuses: the move's trade (holder as seller, receiver as buyer) is judged under the law of
the security's home and of the receiver's residence, the target side's jurisdiction. The
engine is asked when the move is planned and again just before the source leg is signed
(the law or the investor's facts may have changed meanwhile); a refusal then journals the
move ``refused`` with nothing locked or burnt.

Several replicas (one PostgreSQL store): :meth:`MoveExecutor.run_claimed` runs only the
moves this replica holds a lease on (:meth:`relayer.move_journal.MoveJournal.claim`), and
every journal write is fenced by the lease's epoch, so a replica that lost a move's lease
journals (and therefore sends) nothing more for it.

``crash`` (tests only) is called at each journalled point (``"<kind>:journaled"`` after the
bytes are written, ``"<kind>:sent"`` after they were sent and before the journal says so);
raising there is a crash of the relayer at that instant.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from algosdk import transaction

from adapters.algorand.addresses import key_from_address
from adapters.algorand.chain import AlgodChain
from adapters.algorand.regulated import RegulatedAsaAdapter, encode_arg
from adapters.algorand.regulated_abi import box_key, selector
from adapters.evm.client import EvmClient
from adapters.evm.ibet import IbetAdapter
from bridge.compliance.model import Decision, Trade
from bridge.errors import (
    BridgeError,
    Conflict,
    InvalidInput,
    NotFound,
    PermanentError,
    TransactionReverted,
)
from bridge.model import AssetRef
from bridge.ports import Signer
from bridge.translate.move import MoveRefused, MoveRequest, to_mirror_units
from relayer.move_journal import MoveJournal, MoveRow, StepRow
from relayer.store import LeaseLost, Store

__all__ = [
    "AsaMirror",
    "IbetHome",
    "MoveCompliance",
    "MoveExecutor",
    "MovePair",
    "MoveSupplyBreach",
]

log = logging.getLogger(__name__)

MARKER = "stbridge-move"
"""Prefix of the data (ibet) and note (Algorand) every move transaction carries."""

_DONE = ("done", "refused", "failed", "refunded")

MoveCompliance = Callable[[Trade, datetime], Decision]
"""The compliance engine's judgement of a move's trade at a moment (``Engine.evaluate``)."""


class MoveSupplyBreach(PermanentError):
    """A mint would take the mirror's supply beyond what is locked on the home chain: the
    executor stops and sends nothing (an operator must look)."""


@dataclass(frozen=True)
class Resolution:
    """Where a journalled transaction stands on its chain."""

    status: str  # confirmed | failed | pending | expired
    height: int | None = None
    detail: str | None = None


# ---------------------------------------------------------------------------------- home
@dataclass
class IbetHome:
    """The home side: an ibet share or bond on an EVM chain.

    ``issuer`` owns the token and is the bridge's lock address (it unlocks and writes back);
    ``holders`` are the holder keys the relayer holds (their moves lock with ``lock``; others
    with the issuer's ``forceLock``).
    """

    client: EvmClient
    adapter: IbetAdapter
    token: str
    issuer: Signer
    holders: Mapping[str, Signer] = field(default_factory=dict)
    finality: int | None = None

    @property
    def lock_address(self) -> str:
        """Where moved units are locked (the issuer's account)."""
        return self.issuer.address

    @property
    def ref(self) -> AssetRef:
        """The home token's reference."""
        return self.adapter.ref(self.token)

    def depth(self) -> int:
        """Blocks a lock must be deep before the mirror acts on it."""
        return self.client.finality_depth() if self.finality is None else self.finality

    def head(self) -> int:
        """The home chain's head."""
        return self.client.head()

    def _contract(self) -> Any:
        return self.adapter.token(self.token)

    def free(self, account: str) -> int:
        """``account``'s free units."""
        return int(self.client.read(self._contract().functions.balanceOf(account)))

    def locked(self, account: str) -> int:
        """``account``'s units locked to the bridge."""
        fn = self._contract().functions.lockedOf(self.lock_address, account)
        return int(self.client.read(fn))

    def decimals(self) -> int:
        """ibet tokens have no decimals."""
        return 0

    def sign(self, signer: Signer, fn: str, args: list[Any]) -> tuple[bytes, str, dict[str, Any]]:
        """Sign a call to the token (estimated first: a would-be revert sends nothing)."""
        from web3 import Web3

        data = self._contract().encode_abi(fn, args=args)
        tx = self.client.build_tx(signer.address, self.token, bytes.fromhex(data[2:]))
        raw = signer.sign(tx)
        meta = {"fn": fn, "nonce": int(tx["nonce"]), "sender": signer.address}
        return raw, Web3.keccak(raw).to_0x_hex(), meta

    def build(
        self, kind: str, move: MoveRow | None, **params: Any
    ) -> tuple[Signer, str, list[Any]]:
        """The signer, function and arguments of a home step."""
        tag = f"{MARKER}:{move.move_id if move else params.get('tag')}:{kind}"
        if kind == "lock":
            assert move is not None
            holder = move.request.holder
            amount = move.home_amount
            signer = self.holders.get(holder)
            if signer is not None:
                return signer, "lock", [self.lock_address, amount, tag]
            return self.issuer, "forceLock", [self.lock_address, holder, amount, tag]
        if kind in ("release", "refund"):
            assert move is not None
            account = move.home_account if kind == "release" else move.request.holder
            recipient = move.request.receiver if kind == "release" else move.request.holder
            return self.issuer, "unlock", [account, recipient, move.home_amount, tag]
        if kind == "write_back":
            return (
                self.issuer,
                "forceChangeLockedAccount",
                [self.lock_address, params["source"], params["target"], params["amount"], tag],
            )
        raise InvalidInput("kind", "lock, release, refund or write_back", value=kind)

    def submit(self, step: StepRow) -> None:
        """Send (or re-send) the journalled bytes."""
        self.client.submit(step.signed_tx)

    def resolve(self, step: StepRow) -> Resolution:
        """The step's receipt, or whether its nonce went to another transaction."""
        try:
            receipt = self.client.receipt(step.tx_id)
        except BridgeError:
            receipt = None
        if receipt is not None and receipt.get("blockNumber") is not None:
            height = int(receipt["blockNumber"])
            if int(receipt["status"]) == 1:
                return Resolution("confirmed", height)
            return Resolution("failed", height, "the transaction reverted")
        sender_nonce = int(
            self.client.guard(
                "eth_getTransactionCount",
                lambda: self.client.w3.eth.get_transaction_count(step.meta["sender"], "latest"),
            )
        )
        if sender_nonce > int(step.meta["nonce"]):
            return Resolution("expired", detail="its nonce was used by another transaction")
        return Resolution("pending")


# -------------------------------------------------------------------------------- mirror
@dataclass
class AsaMirror:
    """The mirror: a regulated ASA on Algorand, ``admin`` its compliance application's
    admin (mints and burns); the issuer's reserve holds the unissued units."""

    chain: AlgodChain
    adapter: RegulatedAsaAdapter
    ref: AssetRef
    admin: Signer
    finality: int | None = None

    def depth(self) -> int:
        """Rounds a burn must be deep before the home chain acts on it."""
        return self.chain.finality_depth() if self.finality is None else self.finality

    def head(self) -> int:
        """The last committed round."""
        return self.chain.head()

    def decimals(self) -> int:
        """The mirror ASA's decimals."""
        return self.adapter.info(self.ref).decimals

    def balance(self, account: str) -> int:
        """``account``'s mirror units."""
        return self.adapter.holding(self.ref, account).balance

    def balances(self) -> dict[str, int]:
        """Every mirror holder (whitelisted, non-zero), by address."""
        return {h.holder: h.balance for h in self.adapter.holders(self.ref)}

    def supply(self) -> int:
        """Mirror units outside the reserve."""
        info = self.adapter.info(self.ref)
        reserve = (
            0 if info.reserve is None else self.chain.holding(info.reserve, info.asset_id).amount
        )
        return info.total - reserve

    def sign(self, kind: str, move: MoveRow) -> tuple[bytes, str, dict[str, Any]]:
        """Sign a mint (to the receiver) or a burn (from the mirror holder) through the
        compliance application, with the move's note and a lease on (move, kind)."""
        info = self.adapter.info(self.ref)
        app_id = self.adapter.app_id_of(self.ref, info)
        if info.reserve is None:
            raise NotFound(f"asset {info.asset_id} has no reserve: it cannot mint or burn")
        account = move.request.receiver if kind == "mint" else move.request.holder
        args = [
            selector(kind),
            key_from_address(account, "account"),
            encode_arg("uint64", move.mirror_amount, "amount"),
        ]
        sp = self.chain.suggested_params()
        sp.flat_fee = True
        sp.fee = max(int(sp.min_fee or 1000), 1000) * 2
        note = f"{MARKER}:{move.move_id}:{kind}".encode()
        others = [a for a in dict.fromkeys([account, info.reserve]) if a != self.admin.address]
        txn = transaction.ApplicationNoOpTxn(  # type: ignore[no-untyped-call]
            self.admin.address,
            sp,
            app_id,
            app_args=args,
            accounts=others,
            foreign_assets=[info.asset_id],
            boxes=[(app_id, box_key(account))] if kind == "mint" else None,
            note=note,
            lease=hashlib.sha256(note).digest(),
        )
        raw = self.admin.sign(txn)
        meta = {
            "first_valid": int(txn.first_valid_round),
            "last_valid": int(txn.last_valid_round),
            "note": note.decode(),
        }
        return raw, str(txn.get_txid()), meta  # type: ignore[no-untyped-call]

    def submit(self, step: StepRow) -> None:
        """Send (or re-send) the journalled bytes; a copy already on chain is fine."""
        try:
            self.chain.submit(step.signed_tx)
        except BridgeError as exc:
            text = str(exc).lower()
            if "already in ledger" not in text and "lease" not in text:
                raise

    def resolve(self, step: StepRow) -> Resolution:
        """Confirmed round from algod; else a scan of the validity window for the note."""
        try:
            info = self.chain.pending_info(step.tx_id)
        except NotFound:
            info = {}
        if info.get("pool-error"):
            return Resolution("failed", detail=str(info["pool-error"]))
        if int(info.get("confirmed-round") or 0):
            return Resolution("confirmed", int(info["confirmed-round"]))
        head = self.head()
        first, last = int(step.meta["first_valid"]), int(step.meta["last_valid"])
        note = str(step.meta["note"]).encode()
        for round_ in range(max(first, 1), min(last, head) + 1):
            for entry in self.chain.block_msgpack(round_).get("txns", []) or []:
                if entry.get("txn", {}).get("note") == note:
                    return Resolution("confirmed", round_)
        if head > last:
            return Resolution("expired", detail="its validity window is over")
        return Resolution("pending")


# ---------------------------------------------------------------------------------- pair
@dataclass
class MovePair:
    """One home security and its mirror."""

    home: IbetHome
    mirror: AsaMirror

    @property
    def id(self) -> str:
        """``<home CAIP-2>/<token>-><mirror CAIP-2>/<asset id>``."""
        mirror = self.mirror.ref.locator
        asset = getattr(mirror, "asset_id", "?")
        return (
            f"{self.home.ref.chain.caip2}/{self.home.token}->{self.mirror.ref.chain.caip2}/{asset}"
        )


# ------------------------------------------------------------------------------ executor
class MoveExecutor:
    """Runs the moves of one pair from the journal in ``store`` (see the module docstring)."""

    def __init__(
        self,
        store: Store,
        pair: MovePair,
        *,
        crash: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.time,
        compliance: MoveCompliance | None = None,
    ) -> None:
        self.journal = MoveJournal(store, clock=clock)
        self.pair = pair
        self._crash = crash or (lambda point: None)
        self._clock = clock
        self.compliance = compliance
        """Judges each move's trade before anything is locked (None: not checked)."""

    # -- planning -------------------------------------------------------------------------
    def plan(self, request: MoveRequest, *, home_account: str | None = None) -> MoveRow:
        """Check ``request`` and journal it (idempotent on ``move_id``); ``MoveRefused``
        (journalled as ``refused``) when a check fails. Nothing is sent."""
        pid = self.pair.id
        try:
            known = self.journal.move(request.move_id)
        except NotFound:
            known = None
        if known is not None:
            if known.request != request or known.pair != pid:
                raise Conflict(
                    f"move {request.move_id} exists with another request", fields=("move_id",)
                )
            return known
        links = self.journal.links(pid)
        account = home_account or (
            request.holder if request.direction == "out" else links.get(request.holder, "")
        )
        try:
            home_amount, mirror_amount = self._quantities(request)
            self._check(request, home_amount, mirror_amount, account, links)
        except MoveRefused as refused:
            self.journal.create(
                pid, request, home_account=account or "-", stage="refused",
                home_amount=0, mirror_amount=0, reason=str(refused),
            )  # fmt: skip
            raise
        if request.direction == "out":
            try:
                self.journal.link(pid, request.receiver, account)
            except ValueError:
                taken = MoveRefused(
                    "receiver",
                    f"stands for {links.get(request.receiver)} on the home register, not for "
                    f"{account} (one mirror account per register account)",
                    value=request.receiver,
                )
                self.journal.create(
                    pid, request, home_account=account, stage="refused",
                    home_amount=0, mirror_amount=0, reason=str(taken),
                )  # fmt: skip
                raise taken from None
        row, _ = self.journal.create(
            pid, request, home_account=account, stage="requested",
            home_amount=home_amount, mirror_amount=mirror_amount,
        )  # fmt: skip
        return row

    def link(self, mirror_account: str, home_account: str) -> None:
        """Record that ``mirror_account`` stands for ``home_account`` on the home register
        (a move out links its receiver; a mirror account that received units by transfer
        needs a link before its units can be written back to someone on the register)."""
        from bridge.types import validate_algorand_address, validate_evm_address

        try:
            mirror_account = validate_algorand_address(mirror_account)
        except ValueError as exc:
            raise InvalidInput("mirror_account", str(exc), value=mirror_account) from None
        try:
            home_account = validate_evm_address(home_account)
        except ValueError as exc:
            raise InvalidInput("home_account", str(exc), value=home_account) from None
        try:
            self.journal.link(self.pair.id, mirror_account, home_account)
        except ValueError as exc:
            raise Conflict(str(exc), fields=("mirror_account",)) from None

    def _quantities(self, request: MoveRequest) -> tuple[int, int]:
        if request.amount <= 0:
            raise MoveRefused("amount", "must be positive (move.amount)", value=request.amount)
        hd, md = self.pair.home.decimals(), self.pair.mirror.decimals()
        if request.direction == "out":
            return request.amount, to_mirror_units(request.amount, hd, md)
        return to_mirror_units(request.amount, md, hd), request.amount

    def _promised(self, request: MoveRequest) -> int:
        """Units of this holder that open moves in the same direction will take."""
        return sum(
            m.request.amount
            for m in self.journal.moves(self.pair.id, open_only=True)
            if m.request.direction == request.direction
            and m.request.holder == request.holder
            and m.stage in ("requested", "source_sent")
        )

    def _check(
        self,
        request: MoveRequest,
        home_amount: int,
        mirror_amount: int,
        account: str,
        links: Mapping[str, str],
    ) -> None:
        home, mirror = self.pair.home, self.pair.mirror
        if request.direction == "out":
            if not request.holder.startswith("0x") or request.receiver.startswith("0x"):
                raise MoveRefused(
                    "receiver", "a move out goes from an ibet account to an Algorand account"
                )
            movable = home.free(request.holder)
            eligibility = mirror.adapter.eligibility(mirror.ref, request.receiver)
        else:
            if request.holder.startswith("0x") or not request.receiver.startswith("0x"):
                raise MoveRefused(
                    "receiver", "a move back goes from an Algorand account to an ibet account"
                )
            if not account:
                raise MoveRefused(
                    "holder", "the mirror account has no home-register account linked"
                )
            movable = mirror.balance(request.holder)
            eligibility = home.adapter.eligibility(home.ref, request.receiver)
        if request.amount + self._promised(request) > movable:
            raise MoveRefused(
                "amount",
                f"more than the holder's movable units ({movable}); frozen, locked and pending "
                "units stay where they are (move.free_units)",
                value=request.amount,
            )
        if not eligibility.eligible:
            raise MoveRefused(
                "receiver",
                f"not eligible on the receiving side ({', '.join(eligibility.missing)}) "
                "(token.required_claims)",
                value=request.receiver,
            )
        self._judge(request, home_amount)

    def _judge(self, request: MoveRequest, home_amount: int) -> None:
        """The compliance engine's verdict on the move's trade; ``MoveRefused`` unless it
        allows it (no hook: nothing to judge)."""
        if self.compliance is None:
            return
        trade = request.trade
        if trade is None:
            raise MoveRefused(
                "trade",
                "required: this relayer checks the receiving investor with the compliance "
                "engine (the move as a trade: holder as seller, receiver as buyer)",
            )
        for field_name, party, account in (
            ("trade.buyer.wallet", trade.buyer, request.receiver),
            ("trade.seller.wallet", trade.seller, request.holder),
        ):
            if party.wallet is not None and party.wallet.lower() != account.lower():
                raise MoveRefused(field_name, f"must be the move's account {account}")
        if trade.quantity != home_amount:
            raise MoveRefused(
                "trade.quantity",
                f"must be the move's quantity in home base units ({home_amount})",
                value=trade.quantity,
            )
        decision = self.compliance(trade, datetime.fromtimestamp(self._clock(), UTC))
        if decision.outcome != "allow":
            reasons = "; ".join(
                f"{r.code} {r.rule_id} ({r.jurisdiction or r.origin}): {r.explanation}"
                for r in decision.reasons
            )
            raise MoveRefused(
                "receiver",
                f"refused by the compliance engine ({decision.outcome}) under "
                f"{', '.join(decision.jurisdictions) or 'the token'}: {reasons}",
                value=request.receiver,
            )

    # -- running --------------------------------------------------------------------------
    def run(self, move_id: str) -> MoveRow:
        """Drive one move as far as the chains allow now (idempotent; call again later)."""
        move = self.journal.move(move_id)
        if move.stage in _DONE:
            return move
        out = move.request.direction == "out"
        source_kind, target_kind = ("lock", "mint") if out else ("burn", "release")
        if move.stage == "requested" and not self.journal.steps(move_id, source_kind):
            try:  # nothing is locked or burnt yet: the law is asked again first
                self._judge(move.request, move.home_amount)
            except MoveRefused as refused:
                self.journal.set_stage(move_id, "refused", str(refused))
                return self.journal.move(move_id)
        # until it is final, the source leg is read from the chain again (a reorg may have
        # taken it out of its block, or put it in another)
        final = move.stage in ("source_final", "target_sent")
        source = self._step(move, source_kind, recheck=not final)
        if source.status == "failed":
            self.journal.set_stage(move_id, "failed", f"{source_kind} failed: {source.detail}")
            return self.journal.move(move_id)
        if source.status != "confirmed" or source.height is None:
            self.journal.set_stage(move_id, "source_sent")
            return self.journal.move(move_id)
        side: IbetHome | AsaMirror = self.pair.home if out else self.pair.mirror
        if side.head() < source.height + side.depth():
            self.journal.set_stage(move_id, "source_seen")
            return self.journal.move(move_id)
        if self.journal.move(move_id).stage in ("requested", "source_sent", "source_seen"):
            self.journal.set_stage(move_id, "source_final")
        if not out:
            self.write_back()  # the register must show the burnt units where release takes them
        target = self._step(move, target_kind)
        if target.status == "confirmed":
            self.journal.set_stage(move_id, "done")
        elif target.status == "failed" and out:
            # the mint was refused on chain (e.g. the receiver lost eligibility meanwhile):
            # the locked units go back to the holder
            refund = self._step(move, "refund")
            if refund.status == "confirmed":
                self.journal.set_stage(move_id, "refunded", f"mint failed: {target.detail}")
        elif target.status == "failed":
            self.journal.set_stage(move_id, "failed", f"release failed: {target.detail}")
        else:
            self.journal.set_stage(move_id, "target_sent")
        return self.journal.move(move_id)

    def run_claimed(self, owner: str, *, lease_seconds: float) -> list[MoveRow]:
        """Run the open moves of the pair whose lease ``owner`` holds or can take (one
        replica of several), each fenced by its lease; then write mirror transfers back.
        A move another replica took over meanwhile (``LeaseLost``) or whose chain failed
        is left for a later tick; the others go on."""
        rows: list[MoveRow] = []
        for move_id in self.journal.claim(self.pair.id, owner, lease_seconds=lease_seconds):
            try:
                rows.append(self.run(move_id))
            except LeaseLost as exc:
                log.warning("move %s: %s", move_id, exc)
            except MoveSupplyBreach:
                log.exception("move %s: stopped, nothing sent (an operator must look)", move_id)
            except BridgeError as exc:
                log.warning("move %s: %s; retried next tick", move_id, exc)
        self.write_back()
        return rows

    def run_leased(self, move_id: str, owner: str, *, lease_seconds: float) -> MoveRow:
        """Run one move under its lease for ``owner`` (an operator's manual run beside
        running replicas): ``Conflict`` naming ``move_id`` while another replica holds the
        lease; a closed move is returned as it is."""
        move = self.journal.move(move_id)
        if move.stage in _DONE:
            return move
        if not self.journal.claim_one(move_id, owner, lease_seconds=lease_seconds):
            holder, epoch = self.journal.lease(move_id)
            raise Conflict(
                f"move {move_id}: its lease is held by {holder} (epoch {epoch}); that replica "
                "runs it, or run it again once the lease has expired",
                fields=("move_id",),
            )
        return self.run(move_id)

    def run_all(self) -> list[MoveRow]:
        """Run every open move of the pair, then write mirror transfers back."""
        rows = [self.run(m.move_id) for m in self.journal.moves(self.pair.id, open_only=True)]
        self.write_back()
        return rows

    def _chain(self, kind: str) -> IbetHome | AsaMirror:
        return self.pair.mirror if kind in ("mint", "burn") else self.pair.home

    def _step(self, move: MoveRow, kind: str, *, recheck: bool = False) -> Resolution:
        """Resolve the journalled step ``kind`` from chain state; sign, journal and send a
        new attempt only when there is none or the last one can never land. ``recheck``:
        a confirmed step is read from the chain again (it is not final yet)."""
        chain = self._chain(kind)
        steps = self.journal.steps(move.move_id, kind)
        last = steps[-1] if steps else None
        if last is not None and last.status == "confirmed" and recheck:
            found = chain.resolve(last)
            if found.status == "confirmed":
                if found.height != last.height:
                    self.journal.set_step(last, "confirmed", found.height)
                return found
            log.warning("move %s: %s %s left its block (reorg)", move.move_id, kind, last.tx_id)
            last = self.journal.set_step(last, "sent")
        if last is not None and last.status in ("confirmed", "failed"):
            return Resolution(last.status, last.height)
        if last is not None and last.status in ("signed", "sent"):
            found = self._resolve(chain, last)
            if found.status != "expired":
                return found
        if kind == "mint":
            self._check_backing(move)
        try:
            if isinstance(chain, AsaMirror):
                raw, tx_id, meta = chain.sign(kind, move)
            else:
                signer, fn, args = chain.build(kind, move)
                raw, tx_id, meta = chain.sign(signer, fn, args)
        except TransactionReverted as exc:  # the estimate says it would revert: nothing sent
            return Resolution("failed", detail=str(exc))
        step = self.journal.add_step(
            move.move_id, kind, chain=_chain_name(chain), signed_tx=raw, tx_id=tx_id, meta=meta
        )
        return self._send(chain, step)

    def _send(self, chain: IbetHome | AsaMirror, step: StepRow) -> Resolution:
        point = f"{step.kind}:journaled"
        self._crash(point)
        try:
            chain.submit(step)
        except TransactionReverted as exc:
            self.journal.set_step(step, "failed")
            return Resolution("failed", detail=str(exc))
        self._crash(f"{step.kind}:sent")
        step = self.journal.set_step(step, "sent")
        return self._resolve(chain, step)

    def _resolve(self, chain: IbetHome | AsaMirror, step: StepRow) -> Resolution:
        found = chain.resolve(step)
        if found.status == "pending":  # not on chain yet: the same bytes again
            try:
                chain.submit(step)
            except TransactionReverted as exc:
                self.journal.set_step(step, "failed")
                return Resolution("failed", detail=str(exc))
            found = chain.resolve(step)
        if found.status in ("confirmed", "failed", "expired"):
            self.journal.set_step(step, found.status, found.height)  # type: ignore[arg-type]
        return found

    def _check_backing(self, move: MoveRow) -> None:
        """The mirror's supply plus this mint, in home units, must not exceed what is locked."""
        home, mirror = self.pair.home, self.pair.mirror
        accounts = self._home_accounts()
        locked = sum(home.locked(a) for a in accounts)
        burnt_unreleased = sum(
            m.home_amount
            for m in self.journal.moves(self.pair.id, open_only=True)
            if m.request.direction == "back"
            and any(s.status == "confirmed" for s in self.journal.steps(m.move_id, "burn"))
        )
        after = to_mirror_units(
            mirror.supply() + move.mirror_amount, mirror.decimals(), home.decimals()
        )
        if after + burnt_unreleased > locked:
            raise MoveSupplyBreach(
                f"minting {move.mirror_amount} for {move.move_id} would put {after} home units on "
                f"the mirror against {locked - burnt_unreleased} locked"
            )

    def _home_accounts(self) -> set[str]:
        accounts = set(self.journal.links(self.pair.id).values())
        accounts |= {
            m.request.holder
            for m in self.journal.moves(self.pair.id)
            if m.request.direction == "out"
        }
        accounts |= {
            m.home_account
            for m in self.journal.moves(self.pair.id)
            if m.home_account.startswith("0x")
        }
        return accounts

    # -- the home register follows the mirror ------------------------------------------
    def register_targets(self) -> tuple[dict[str, int], dict[str, int], list[str]]:
        """(what each home account should have locked, what it has, unlinked mirror holders).

        Should: the mirror balances of the mirror accounts linked to it (home units), plus
        its units locked by moves out not minted yet, plus units burnt by moves back not
        released yet (the release takes them from that account)."""
        home, mirror = self.pair.home, self.pair.mirror
        links = self.journal.links(self.pair.id)
        hd, md = home.decimals(), mirror.decimals()
        should: dict[str, int] = {}
        unlinked: list[str] = []
        for holder, units in mirror.balances().items():
            account = links.get(holder)
            if account is None:
                unlinked.append(holder)
                continue
            should[account] = should.get(account, 0) + to_mirror_units(units, md, hd)
        for m in self.journal.moves(self.pair.id, open_only=True):
            if m.request.direction == "out":
                locked = self.journal.steps(m.move_id, "lock")
                minted = self.journal.steps(m.move_id, "mint")
                if any(s.status == "confirmed" for s in locked) and not any(
                    s.status == "confirmed" for s in minted
                ):
                    should[m.request.holder] = should.get(m.request.holder, 0) + m.home_amount
            else:
                burnt = any(s.status == "confirmed" for s in self.journal.steps(m.move_id, "burn"))
                released = any(
                    s.status == "confirmed" for s in self.journal.steps(m.move_id, "release")
                )
                if burnt and not released:
                    should[m.home_account] = should.get(m.home_account, 0) + m.home_amount
        has = {a: home.locked(a) for a in self._home_accounts() | set(should)}
        return should, has, sorted(unlinked)

    def write_back(self) -> list[StepRow]:
        """Move locked units on the home register from accounts that have more than their
        mirror holders hold to those that have less (``forceChangeLockedAccount``)."""
        tag = f"write-back:{self.pair.id}"
        pending = [s for s in self.journal.steps(tag) if s.status in ("signed", "sent")]
        for step in pending:  # settle what an earlier run sent before reading the register
            if self._resolve(self.pair.home, step).status == "pending":
                return []
        should, has, _ = self.register_targets()
        surplus = {
            a: has.get(a, 0) - should.get(a, 0) for a in has if has.get(a, 0) > should.get(a, 0)
        }
        deficit = {a: should[a] - has.get(a, 0) for a in should if should[a] > has.get(a, 0)}
        sent: list[StepRow] = []
        for target, need in sorted(deficit.items()):
            for source in sorted(surplus):
                if need == 0:
                    break
                amount = min(need, surplus[source])
                if amount == 0:
                    continue
                signer, fn, args = self.pair.home.build(
                    "write_back", None, source=source, target=target, amount=amount, tag=tag
                )
                raw, tx_id, meta = self.pair.home.sign(signer, fn, args)
                meta.update({"from": source, "to": target, "amount": amount})
                step = self.journal.add_step(
                    tag, "write_back", chain="home", signed_tx=raw, tx_id=tx_id, meta=meta
                )
                found = self._send(self.pair.home, step)
                if found.status != "confirmed":
                    return sent  # settle it on the next run before computing again
                sent.append(step)
                surplus[source] -= amount
                need -= amount
        return sent

    # -- status ---------------------------------------------------------------------------
    def status(self, move_id: str) -> dict[str, Any]:
        """One move with every journalled transaction (its audit record)."""
        move = self.journal.move(move_id)
        return {**move.view(), "steps": [s.view() for s in self.journal.steps(move_id)]}

    def summary(self) -> dict[str, Any]:
        """The pair: moves by stage, supply on both sides, whether the register follows."""
        mirror = self.pair.mirror
        should, has, unlinked = self.register_targets()
        behind = {a: has.get(a, 0) - should.get(a, 0) for a in set(should) | set(has)}
        stages: dict[str, int] = {}
        for m in self.journal.moves(self.pair.id):
            stages[m.stage] = stages.get(m.stage, 0) + 1
        return {
            "pair": self.pair.id,
            "moves": stages,
            "locked": sum(has.values()),
            "mirror_supply": mirror.supply(),
            "register_follows_mirror": not any(behind.values()) and not unlinked,
            "register_differences": {a: d for a, d in sorted(behind.items()) if d},
            "unlinked_mirror_holders": unlinked,
        }

    def moves(self) -> Iterator[MoveRow]:
        """Every move of the pair."""
        yield from self.journal.moves(self.pair.id)


def _chain_name(chain: IbetHome | AsaMirror) -> str:
    return "home" if isinstance(chain, IbetHome) else "mirror"
