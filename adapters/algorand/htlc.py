"""The Algorand side of hash-time-locked settlement: :class:`AlgorandHtlc`.

Design: one logic-signature escrow per lock (the classic template approach)
    Each lock is its own account: the address of a small TEAL program
    (``adapters/algorand/teal/htlc_{algo,asa,regulated}.teal``) whose fixed-width
    constants are the lock's hashlock, receiver, sender, deadline round, amount, fee cap,
    and for ASAs the asset (and for the regulated ASA its compliance application and the
    asset's creator). The assembled template ships beside the source; a lock's program is
    the template with its values written over the constants (no assembler at run time), so
    the escrow address *is* a commitment to every parameter. The lock id is that address.

    Why not one application holding every lock in boxes: the escrow here needs no
    deployment, no admin, no upgrade path and no shared state that a bug or an issuer
    action could touch for every swap at once (a clawback or freeze of one escrow hits one
    swap); a counterparty audits a lock by recomputing the address from the terms and
    reading its balance, as decred's ``auditcontract`` does. The price, paid only for the
    regulated ASA: every escrow is a new holder that the compliance application must admit
    (:func:`admit_escrow`, one admin call and one whitelist box per swap, which
    :func:`release_escrow` deletes after settlement), and it counts towards ``max_holders``
    while funded. Duplicate locks cannot be refused on chain (anyone can pay an address);
    :meth:`AlgorandHtlc.lock` refuses to fund an escrow that already holds anything, and a
    second funding is harmless: on claim the receiver gets exactly ``amount`` and the
    surplus algos go back to the sender (surplus units of an ASA close out to the receiver;
    of the regulated ASA to the asset's creator, the only account a frozen holding may close
    to, from which the issuer returns them by forced transfer); on refund everything goes to
    the sender.

What the program enforces (each transaction of the escrow is checked by it)
    - claim: the escrow pays exactly ``amount`` to the fixed receiver (ALGO, ASA, or the
      regulated ASA's ``transfer(receiver, amount)`` method), closes its asset holding and
      its account (algos to the sender), only while ``txn LastValid < deadline`` (so it
      lands in a round before the deadline), and only with argument 0 of exactly 32 bytes
      whose SHA-256 is the hashlock. Anyone may send it; it still pays the receiver.
    - refund: everything to the fixed sender, only with ``txn FirstValid >= deadline`` (a
      logic signature cannot read the round; the ledger refuses a transaction before its
      first valid round). Claim and refund windows never overlap, as on the EVM HTLC.
    - guards: ``RekeyTo`` zero on every transaction; fee at most the fee cap on every
      transaction (and 0 on the opt-in, so repeating it costs the escrow nothing); exact
      group size and shape; close-to only the sender (algos), the receiver or the sender
      (standard ASA), the creator or, refunding an emptied escrow, the sender (regulated ASA,
      zero units: its holding is frozen); ``AssetSender`` zero (no
      clawback by the escrow); the application call only to the bound app, NoOp, method
      ``transfer`` with the fixed party and amount.
    - after a claim or a refund the account is closed: no claim after refund, no refund
      after claim, no second claim.

Regulatory overrides (regulated ASA)
    The compliance application's rules bind the escrow like any holder: a pause, a frozen
    flag or an expired KYC of the escrow or of the paying-out party blocks a claim or a
    refund until the issuer lifts it, and the issuer may move the units out by forced
    transfer. After such an override emptied the escrow, a refund from the deadline on
    closes the empty holding and the account to the sender (two transactions); closing a
    frozen holding to anyone but the creator moves zero units, so that shape can never
    carry units anywhere. The pre-flight reports every such condition before a lock.
    A standard ASA's refund closes the holding to the sender, who must then be opted in.

Funding (one atomic group signed by the sender)
    The escrow is funded with its minimum balance (0.1 ALGO, plus 0.1 per asset holding)
    plus one fee cap per settlement transaction, so what it closes to the sender is always
    at least 0.1 ALGO: the close can never fail, whatever the sender did to its account,
    and so the sender cannot block the receiver's claim. For ALGO the amount is added.
    Fees of the lock group are the sender's; the escrow's own opt-in (fee 0) is paid by
    pooling.

Costs (measured on the embedded go-algorand evaluator, minimum fee 1 000 microalgos)
    ========== ================= ============== ======================== ============
    kind       lock fees         escrow deposit claim / refund fees      back to the
               (sender)          (min balance)  (paid from the deposit)  sender
    ========== ================= ============== ======================== ============
    ALGO       1 000             104 000 (0.1)  1 000 (1 txn)            103 000
    ASA        3 000             208 000 (0.2)  2 000 (2 txns)           206 000
    regulated  4 000             212 000 (0.2)  4 000 (3 txns)           208 000
    ========== ================= ============== ======================== ============

    The regulated ASA adds :func:`admit_escrow` per lock (an admin app call, 1 000, and a
    whitelist box whose 24 100 microalgos the application account holds until
    :func:`release_escrow`). A claim lands in the round after the lock at the earliest; a
    refund in the deadline round at the earliest.

The secret is learnable from the claim transaction: it is argument 0 of the logic
signature of each escrow transaction of the claim (:meth:`AlgorandHtlc.secret_from_claim`,
and ``Claimed`` events from :meth:`AlgorandHtlc.events`). Locks are found on chain by the
note of their funding payment, ``stbridge-htlc/v1:`` followed by the escrow program, which
a reader checks against the receiving address before believing it.

Pipelined (:meth:`AlgorandHtlc.with_pipelining`, the relayer's port): lock, claim and refund
submit their group and return at once, with a receipt at :data:`SENT_HEIGHT` naming the
group's first transaction; the relayer confirms it through its watcher or
:meth:`AlgorandHtlc.tx_outcomes`. The port's :attr:`AlgorandHtlc.client` holds its sends
for one tick (:meth:`AlgodChain.hold_sends`: on the embedded ledger the tick's groups are
queued in its pool and evaluated as one round at the flush; against a real algod nothing is
held). A claim that would reveal the secret (not ``revealed``) sent while held is
simulated first and queued only if it passes: a queued group can be read from the pool
before it is evaluated, and a claim that would fail must never publish the secret (a node
that does not hold evaluates the group when it takes it, and refuses it unpublished). The
signed-group journal is the same in both modes: a kept group is sent again as it was
(and, when the node says it has it already and it is still waiting in the pool, it is in
flight: nothing new is built), and a new group is built only once the kept one is
confirmed or can never land (refused by the evaluator, or its validity window over).

Every call goes through py-algorand-sdk's ``AlgodClient`` (the embedded ledger's or a
real algod), via :class:`~adapters.algorand.chain.AlgodChain`. Refusals are
:mod:`bridge.errors`: ``InvalidInput`` before anything is sent, ``SettlementError`` for a
protocol violation (wrong secret, deadline, settled lock, escrow logic refusal),
``TransactionReverted`` with the canonical reason when the compliance application or the
protocol refuses, ``TransferRefused`` from the pre-flight.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import logging
import struct
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from importlib.resources import files
from typing import Any, Final

import msgpack
from algosdk import encoding, logic, transaction
from Crypto.Hash import SHA512

from adapters.algorand.addresses import address_from_key, checked_address, key_from_address
from adapters.algorand.chain import AlgodChain, TxOutcome, check_amount, check_asset_id
from adapters.algorand.regulated_abi import (
    AppState,
    WhitelistEntry,
    box_key,
    refusal_from_rejection,
    selector,
)
from bridge import journal
from bridge.errors import (
    BridgeError,
    InvalidInput,
    NotFound,
    SettlementError,
    TransactionReverted,
    TransferRefused,
)
from bridge.htlc import SECRET_BYTES
from bridge.model import AlgorandAsaLocator, AssetRef, Capability, InvestorClass, Refusal, Standard
from bridge.ports import ChainEvent, HtlcLock, Signer, TxReceipt
from bridge.reasons import ReasonCode, from_algorand

__all__ = [
    "DEFAULT_FEE_CAP",
    "LOCK_NOTE_PREFIX",
    "MAX_LOCK_ROUNDS",
    "MIN_BALANCE",
    "SENT_HEIGHT",
    "AlgorandHtlc",
    "HtlcKind",
    "HtlcTerms",
    "Preflight",
    "admit_escrow",
    "escrow_program",
    "lock_transactions",
    "release_escrow",
    "replace_params",
    "settle_transactions",
    "template",
    "template_slots",
]

log = logging.getLogger(__name__)

R = ReasonCode
MIN_BALANCE: Final = 100_000
"""Minimum balance of an account, and the increase per asset holding (microalgos)."""
MIN_FEE: Final = 1_000
DEFAULT_FEE_CAP: Final = 4_000
"""Default highest fee of one escrow transaction (the regulated claim's app call pays
2 000 for itself and its inner transfer)."""
LOCK_NOTE_PREFIX: Final = b"stbridge-htlc/v1:"
"""Note prefix of a lock's funding payment; the escrow program follows it."""
MAX_LOCK_ROUNDS: Final = 12_000_000
"""Longest lock accepted, in rounds (about a year at 2.6 s a round): a larger deadline is
almost surely a timestamp given where a round was meant."""
MAX_VALIDITY: Final = 1_000
"""Longest validity window of a transaction (rounds)."""
SENT_HEIGHT: Final = -1
"""The ``height`` of the receipt a pipelined port returns for a group it has sent but not
seen confirmed (:meth:`AlgorandHtlc.with_pipelining`)."""
_ZERO_KEY: Final = bytes(32)
_TXID_LEN: Final = 52  # base32 transaction id, the journal's envelope prefix
_BYTECBLOCK: Final = 0x26
_PAY: Final = "pay"
_AXFER: Final = "axfer"
_APPL: Final = "appl"


class HtlcKind(StrEnum):
    """What an escrow holds: algos, a plain ASA, or the stbridge regulated ASA."""

    ALGO = "algo"
    ASA = "asa"
    REGULATED = "regulated"


_FIELDS: Final[dict[HtlcKind, tuple[str, ...]]] = {
    HtlcKind.ALGO: ("hashlock", "receiver", "sender", "deadline", "amount", "fee_cap"),
    HtlcKind.ASA: ("hashlock", "receiver", "sender", "deadline", "amount", "fee_cap", "asset_id"),
    HtlcKind.REGULATED: (
        "hashlock",
        "receiver",
        "sender",
        "deadline",
        "amount",
        "fee_cap",
        "asset_id",
        "app_id",
        "creator",
    ),
}
_ADDRESS_FIELDS: Final = frozenset({"receiver", "sender", "creator"})
_GROUP_SIZE: Final = {HtlcKind.ALGO: 1, HtlcKind.ASA: 2, HtlcKind.REGULATED: 3}
_HOLDINGS: Final = {HtlcKind.ALGO: 0, HtlcKind.ASA: 1, HtlcKind.REGULATED: 1}


# --------------------------------------------------------------------------- templates


@lru_cache(maxsize=3)
def template(kind: HtlcKind) -> bytes:
    """The assembled template of ``kind`` (every constant zero-filled), as shipped."""
    return files("adapters.algorand.teal").joinpath(f"htlc_{kind.value}.bin").read_bytes()


def _varuint(data: bytes, offset: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if offset >= len(data):
            raise ValueError("truncated varuint")
        byte = data[offset]
        offset += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, offset
        shift += 7
        if shift > 63:
            raise ValueError("varuint too long")


def template_slots(program: bytes) -> list[tuple[int, int]]:
    """``(offset, width)`` of each constant of the program's leading ``bytecblock``."""
    _, offset = _varuint(program, 0)  # version
    if offset >= len(program) or program[offset] != _BYTECBLOCK:
        raise ValueError("the program does not open with a bytecblock")
    count, offset = _varuint(program, offset + 1)
    slots: list[tuple[int, int]] = []
    for _ in range(count):
        width, offset = _varuint(program, offset)
        if offset + width > len(program):
            raise ValueError("truncated bytecblock")
        slots.append((offset, width))
        offset += width
    return slots


def _check_key32(field_name: str, value: object) -> bytes:
    if not isinstance(value, bytes | bytearray):
        raise InvalidInput(field_name, "must be bytes", value=type(value).__name__)
    raw = bytes(value)
    if len(raw) != SECRET_BYTES:
        raise InvalidInput(field_name, f"must be exactly {SECRET_BYTES} bytes, got {len(raw)}")
    return raw


@dataclass(frozen=True, slots=True)
class HtlcTerms:
    """Everything one escrow commits to. Validated on construction (``InvalidInput``).

    ``asset_id`` is 0 for ALGO; ``app_id`` and ``creator`` are set only for the regulated
    ASA. ``deadline`` is a round: claims land in rounds before it, refunds from it on.
    """

    kind: HtlcKind
    hashlock: bytes
    sender: str
    receiver: str
    amount: int
    deadline: int
    fee_cap: int = DEFAULT_FEE_CAP
    asset_id: int = 0
    app_id: int = 0
    creator: str | None = None

    def __post_init__(self) -> None:
        _check_key32("hashlock", self.hashlock)
        checked_address(self.sender, "sender")
        checked_address(self.receiver, "receiver")
        if self.sender == self.receiver:
            raise InvalidInput("receiver", "must differ from the sender", value=self.receiver)
        if check_amount(self.amount) == 0:
            raise InvalidInput("amount", "must be positive", value=self.amount)
        if check_amount(self.deadline, "deadline") < 2:
            raise InvalidInput("deadline", "a round after the first", value=self.deadline)
        if check_amount(self.fee_cap, "fee_cap") < MIN_FEE * (
            2 if self.kind is HtlcKind.REGULATED else 1
        ):
            raise InvalidInput("fee_cap", "must cover the minimum fee", value=self.fee_cap)
        if self.kind is HtlcKind.ALGO:
            if self.asset_id or self.app_id or self.creator:
                raise InvalidInput("asset_id", "an ALGO lock has no asset, app or creator")
        else:
            check_asset_id(self.asset_id)
        if self.kind is HtlcKind.REGULATED:
            check_asset_id(self.app_id, "app_id")
            checked_address(self.creator, "creator")
        elif self.app_id or self.creator:
            raise InvalidInput("app_id", "only a regulated-ASA lock has an app and a creator")

    # ---- the program ----------------------------------------------------------------
    def _value(self, name: str) -> bytes:
        value = getattr(self, name)
        if name in _ADDRESS_FIELDS:
            return key_from_address(value, name)
        if name == "hashlock":
            return bytes(value)
        return struct.pack(">Q", int(value))

    @property
    def program(self) -> bytes:
        """The escrow's logic-signature program (the template with these values)."""
        return escrow_program(self)

    @property
    def escrow(self) -> str:
        """The escrow's address (the lock id): the hash of :attr:`program`."""
        return str(logic.address(self.program))  # type: ignore[no-untyped-call]

    @property
    def group_size(self) -> int:
        """Transactions of the escrow in a claim or a refund."""
        return _GROUP_SIZE[self.kind]

    @property
    def deposit(self) -> int:
        """Microalgos funded besides the amount: minimum balance plus the fee budget.

        What is left of it after the settlement fees (at least 0.1 ALGO) goes back to the
        sender when the escrow closes.
        """
        return MIN_BALANCE * (1 + _HOLDINGS[self.kind]) + self.group_size * self.fee_cap

    @classmethod
    def from_program(cls, program: bytes) -> HtlcTerms | None:
        """The terms of an escrow program built from one of our templates, else None."""
        for kind in HtlcKind:
            blank = template(kind)
            if len(program) != len(blank):
                continue
            try:
                slots = template_slots(program)
            except ValueError:
                continue
            if slots != template_slots(blank):
                continue
            zeroed = bytearray(program)
            for offset, width in slots:
                zeroed[offset : offset + width] = bytes(width)
            if bytes(zeroed) != blank:
                continue
            values: dict[str, Any] = {}
            for name, (offset, width) in zip(_FIELDS[kind], slots, strict=True):
                raw = program[offset : offset + width]
                if name in _ADDRESS_FIELDS:
                    values[name] = address_from_key(raw)
                elif name == "hashlock":
                    values[name] = raw
                else:
                    values[name] = struct.unpack(">Q", raw)[0]
            try:
                return cls(kind=kind, **values)
            except InvalidInput:
                return None
        return None


def escrow_program(terms: HtlcTerms) -> bytes:
    """The template of ``terms.kind`` with ``terms``' values over its constants."""
    blank = template(terms.kind)
    program = bytearray(blank)
    slots = template_slots(blank)
    names = _FIELDS[terms.kind]
    if len(slots) != len(names):
        raise BridgeError(f"htlc_{terms.kind.value}.bin does not match its field list")
    for name, (offset, width) in zip(names, slots, strict=True):
        value = terms._value(name)
        if len(value) != width:
            raise BridgeError(f"htlc_{terms.kind.value}.bin: {name} is not {width} bytes")
        program[offset : offset + width] = value
    return bytes(program)


# --------------------------------------------------------------------------- pre-flight


@dataclass(frozen=True, slots=True)
class Preflight:
    """What a lock would need that is not in place yet (``missing`` empty: ready)."""

    terms: HtlcTerms
    missing: tuple[Refusal, ...]

    @property
    def ok(self) -> bool:
        """True when nothing is missing."""
        return not self.missing

    @property
    def codes(self) -> tuple[ReasonCode, ...]:
        """The canonical codes of the missing items, in the order found."""
        return tuple(r.code for r in self.missing)

    def describe(self) -> str:
        """One line per missing item, for a person."""
        if self.ok:
            return "ready: nothing missing"
        return "\n".join(f"{r.code.value}: {r.detail}" for r in self.missing)

    def raise_if_missing(self) -> None:
        """Raise ``TransferRefused`` carrying every missing item, unless nothing is missing."""
        if not self.ok:
            raise TransferRefused(
                f"escrow pre-flight failed for {self.terms.escrow}: {self.describe()}",
                refusals=self.missing,
            )


# --------------------------------------------------------------------------- set-up helpers


def admit_escrow(
    adapter: Any,
    ref: AssetRef,
    escrow: str,
    admin: Signer,
    *,
    country: str,
    kyc_expiry: int,
    investor_class: InvestorClass = InvestorClass.INSTITUTIONAL,
) -> TxReceipt:
    """Whitelist ``escrow`` in the regulated ASA's compliance application (admin signs).

    ``adapter`` is a :class:`~adapters.algorand.regulated.RegulatedAsaAdapter`; the entry
    gets ``country`` (it must be an allowed country, since the escrow receives units),
    ``kyc_expiry`` (Unix seconds; set it past the lock's deadline) and no lock-up.
    """
    return adapter.agent_operation(  # type: ignore[no-any-return]
        ref,
        Capability.WHITELIST,
        admin,
        holder=checked_address(escrow, "escrow"),
        country=country,
        investor_class=investor_class,
        kyc_expiry=kyc_expiry,
        lockup_end=0,
    )


def release_escrow(adapter: Any, ref: AssetRef, escrow: str, admin: Signer) -> TxReceipt:
    """Delete a settled escrow's whitelist entry (the application refuses while it holds
    units); the box's minimum balance returns to the application account."""
    return adapter.agent_operation(  # type: ignore[no-any-return]
        ref, Capability.WHITELIST, admin, holder=checked_address(escrow, "escrow"), remove=True
    )


# --------------------------------------------------------------------------- the port


@dataclass(slots=True)
class _Settlement:
    state: str
    height: int
    tx_id: str
    secret: bytes | None = None


@dataclass(slots=True)
class _Known:
    terms: HtlcTerms
    height: int = 0
    tx_id: str = ""
    settlement: _Settlement | None = None


@dataclass(slots=True)
class _ScanState:
    scanned_to: int = 0
    events: dict[int, list[ChainEvent]] = field(default_factory=dict)


class AlgorandHtlc:
    """:class:`bridge.ports.HtlcPort` over per-lock logic-signature escrows.

    ``chain`` is an :class:`AlgodChain` or any py-algorand-sdk ``AlgodClient`` (a real algod
    or :class:`~adapters.algorand.algod.EmbeddedAlgodClient`). ``from_round`` is where
    scans for locks start; ``fee_cap`` is the per-transaction fee cap new locks commit to.
    ``regulated`` (a ``RegulatedAsaAdapter``) is needed for locks of the regulated ASA.
    """

    def __init__(
        self,
        chain: Any,
        *,
        from_round: int = 1,
        fee_cap: int = DEFAULT_FEE_CAP,
        regulated: Any | None = None,
    ) -> None:
        self.chain: AlgodChain = chain if isinstance(chain, AlgodChain) else AlgodChain(chain)
        self.from_round = max(1, from_round)
        self.fee_cap = check_amount(fee_cap, "fee_cap")
        self.regulated = regulated
        self._known: dict[str, _Known] = {}
        self._scan = _ScanState(scanned_to=self.from_round - 1)
        self.pipelined = False
        """Whether lock, claim and refund return once sent (:meth:`with_pipelining`)."""

    @property
    def client(self) -> AlgodChain:
        """The chain client this port sends through (the relayer holds its sends per tick)."""
        return self.chain

    def with_pipelining(self) -> AlgorandHtlc:
        """This HTLC sending without waiting (a copy sharing the chain client and what it
        learned of the locks; this object is left as it is): lock, claim and refund return
        a receipt at :data:`SENT_HEIGHT` once the node took the group, and
        :meth:`tx_outcomes` tells what became of it."""
        piped = copy.copy(self)
        piped.pipelined = True
        return piped

    def tx_outcomes(self, tx_ids: Sequence[str]) -> dict[str, TxOutcome]:
        """What became of groups this port sent, by their first transaction id:
        ``pending``, ``mined`` (with its round), ``failed`` (the pool refused it, with the
        node's reason) or ``dropped`` (the node does not know it: it is sent again)."""
        return self.chain.outcomes(tx_ids)

    # ------------------------------------------------------------------ terms
    def terms_for(
        self,
        *,
        asset: AssetRef | None,
        sender: str,
        receiver: str,
        amount: int,
        hashlock: bytes,
        deadline: int,
    ) -> HtlcTerms:
        """The terms (and so the escrow address) a lock with these parameters gets."""
        if asset is None:
            return HtlcTerms(
                HtlcKind.ALGO, _check_key32("hashlock", hashlock), sender, receiver, amount,
                deadline, self.fee_cap,
            )  # fmt: skip
        locator = asset.locator
        if not isinstance(locator, AlgorandAsaLocator):
            raise InvalidInput("asset", "an Algorand lock needs an ASA locator (or None: ALGO)")
        if locator.app_id is None:
            return HtlcTerms(
                HtlcKind.ASA, _check_key32("hashlock", hashlock), sender, receiver, amount,
                deadline, self.fee_cap, asset_id=locator.asset_id,
            )  # fmt: skip
        params = self.chain.asset_params(locator.asset_id)
        return HtlcTerms(
            HtlcKind.REGULATED,
            _check_key32("hashlock", hashlock),
            sender,
            receiver,
            amount,
            deadline,
            self.fee_cap,
            asset_id=locator.asset_id,
            app_id=locator.app_id,
            creator=str(params.get("creator", "")),
        )

    def register(self, terms: HtlcTerms) -> str:
        """Remember ``terms`` (learned off chain) so its lock id can be used; return the id."""
        self._known.setdefault(terms.escrow, _Known(terms))
        return terms.escrow

    def terms_of(self, lock_id: str) -> HtlcTerms:
        """The terms of lock ``lock_id`` (known locally, or found on chain by its note)."""
        lock_id = checked_address(lock_id, "lock_id")
        if lock_id not in self._known:
            self._sync()
        if lock_id not in self._known:
            raise NotFound(f"no stbridge HTLC lock {lock_id} on this chain")
        return self._known[lock_id].terms

    # ------------------------------------------------------------------ pre-flight
    def preflight(self, terms: HtlcTerms) -> Preflight:
        """Everything missing for this lock to be funded now and claimable, each item with
        its canonical code; reads only. For the regulated ASA: the escrow's admission (its
        whitelist entry, frozen flag, KYC, country, lock-up), the pause, the receiver's and
        the sender's eligibility and opt-in, balances and the holder / balance limits."""
        missing: list[Refusal] = []
        standard = Standard.REGULATED_ASA if terms.kind is HtlcKind.REGULATED else Standard.ASA

        def miss(code: ReasonCode, raw: str, detail: str) -> None:
            missing.append(
                Refusal(code=code, source_standard=standard, raw_code=raw, detail=detail)
            )

        escrow = terms.escrow
        algos = self.chain.spendable_algos(terms.sender)  # above its own minimum balance
        need = terms.deposit + (terms.amount if terms.kind is HtlcKind.ALGO else 0) + 4 * MIN_FEE
        if algos < need:
            miss(
                R.INSUFFICIENT_BALANCE,
                "SENDER_ALGOS",
                f"sender {terms.sender} holds {algos} microalgos above its minimum balance; "
                f"the lock needs {need}",
            )
        if self._funded(terms):
            miss(R.TRANSFER_FAILURE, "ESCROW_FUNDED", f"escrow {escrow} is already funded")
        if terms.kind is HtlcKind.ALGO:
            if terms.amount < MIN_BALANCE and self.chain.algo_balance(terms.receiver) == 0:
                miss(
                    R.INVALID_RECEIVER,
                    "RECEIVER_BELOW_MIN_BALANCE",
                    f"receiver {terms.receiver} is empty and {terms.amount} microalgos is "
                    f"below the {MIN_BALANCE} minimum balance",
                )
            return Preflight(terms, tuple(missing))
        params = self.chain.asset_params(terms.asset_id)
        snd = self.chain.holding(terms.sender, terms.asset_id)
        rcv = self.chain.holding(terms.receiver, terms.asset_id)
        if not rcv.opted_in:
            miss(
                R.RECIPIENT_NOT_OPTED_IN,
                "RECEIVER_NOT_OPTED_IN",
                f"receiver {terms.receiver} has not opted in to asset {terms.asset_id}",
            )
        if not snd.opted_in or snd.amount < terms.amount:
            miss(
                R.INSUFFICIENT_BALANCE,
                "INSUFFICIENT_BALANCE",
                f"sender {terms.sender} holds {snd.amount} of asset {terms.asset_id}, "
                f"needs {terms.amount}",
            )
        if terms.kind is HtlcKind.ASA:
            if params.get("default-frozen"):
                miss(
                    R.TRANSFER_FAILURE,
                    "DEFAULT_FROZEN",
                    f"asset {terms.asset_id} is default-frozen: the escrow's holding would "
                    "start frozen (use the regulated-ASA lock if it is one)",
                )
            if snd.frozen:
                miss(R.SENDER_FROZEN, "SENDER_FROZEN", f"sender {terms.sender} is frozen")
            if rcv.frozen:
                miss(R.RECIPIENT_FROZEN, "RECEIVER_FROZEN", f"receiver {terms.receiver} is frozen")
            return Preflight(terms, tuple(missing))
        self._regulated_preflight(terms, miss)
        return Preflight(terms, tuple(missing))

    def _regulated_preflight(self, terms: HtlcTerms, miss: Any) -> None:
        app = self.chain.app_params(terms.app_id)
        state = AppState.from_algod(app.get("global-state", []))
        now = self.chain.now()
        if state.asset_id != terms.asset_id:
            miss(
                R.TOKEN_DEACTIVATED,
                "NOT_BOUND",
                f"application {terms.app_id} is bound to asset {state.asset_id}, "
                f"not {terms.asset_id}",
            )
        if state.paused:
            miss(R.TOKEN_PAUSED, "PAUSED", f"application {terms.app_id} is paused")
        parties = (
            ("escrow", terms.escrow, True),
            ("receiver", terms.receiver, True),
            ("sender", terms.sender, False),
        )
        entries: dict[str, WhitelistEntry | None] = {}
        for role, address, receives in parties:
            raw = self.chain.box(terms.app_id, box_key(address))
            entry = None if raw is None else WhitelistEntry.decode(raw)
            entries[role] = entry
            if entry is None:
                hint = " (set-up: admit_escrow)" if role == "escrow" else ""
                code = R.RECIPIENT_NOT_ELIGIBLE if receives else R.SENDER_NOT_ELIGIBLE
                miss(code, f"{role.upper()}_NOT_WHITELISTED", f"{role} {address} is not "
                     f"whitelisted in application {terms.app_id}{hint}")  # fmt: skip
                continue
            if entry.frozen:
                code = R.RECIPIENT_FROZEN if receives else R.SENDER_FROZEN
                miss(code, f"{role.upper()}_FROZEN", f"{role} {address} is frozen")
            if not entry.kyc_valid(now):
                miss(R.KYC_EXPIRED, f"{role.upper()}_KYC_EXPIRED", f"{role} {address}: KYC "
                     f"expired at {entry.kyc_expiry} (now {now})")  # fmt: skip
            if receives and state.countries and entry.country not in state.countries:
                miss(R.COUNTRY_RESTRICTED, f"{role.upper()}_COUNTRY", f"{role} {address}: "
                     f"country {entry.country} is not in {','.join(state.countries)}")  # fmt: skip
            if role != "receiver" and entry.locked(now):
                miss(R.FUNDS_LOCKED, f"{role.upper()}_LOCKED", f"{role} {address}: units "
                     f"locked until {entry.lockup_end} (now {now})")  # fmt: skip
        rcv = self.chain.holding(terms.receiver, terms.asset_id)
        if state.max_balance:
            for role, held in (("escrow", 0), ("receiver", rcv.amount)):
                if held + terms.amount > state.max_balance:
                    miss(R.MAX_BALANCE_EXCEEDED, "MAX_BALANCE", f"{role} would hold "
                         f"{held + terms.amount} > max balance {state.max_balance}")  # fmt: skip
        if state.max_holders:
            snd = self.chain.holding(terms.sender, terms.asset_id)
            sender_leaves = snd.amount == terms.amount
            after = state.holders + 1 - int(sender_leaves)
            if after > state.max_holders:
                miss(R.MAX_HOLDERS_REACHED, "MAX_HOLDERS", f"the escrow would be holder "
                     f"{after} of at most {state.max_holders}")  # fmt: skip

    # ------------------------------------------------------------------ HtlcPort
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
        """Fund a new escrow for these terms in one atomic group signed by ``signer``
        (the sender); return the lock id (the escrow address) and the receipt.

        Refused before sending: bad input (``InvalidInput``), a deadline not at least two
        rounds ahead or an escrow already funded (``SettlementError``), a pre-flight that
        finds something missing (``TransferRefused`` carrying every missing item).
        """
        terms = self.terms_for(
            asset=asset,
            sender=signer.address,
            receiver=receiver,
            amount=amount,
            hashlock=hashlock,
            deadline=deadline,
        )
        head = self.chain.head()
        if terms.deadline < head + 2:
            raise SettlementError(
                f"deadline round {terms.deadline} leaves no round to claim in (head is {head})"
            )
        if terms.deadline > head + MAX_LOCK_ROUNDS:
            raise InvalidInput(
                "deadline",
                f"must be a round at most {MAX_LOCK_ROUNDS} after the head ({head}); "
                "a timestamp is not a round",
                value=terms.deadline,
            )
        if self._funded(terms):
            raise SettlementError(f"escrow {terms.escrow} is already funded: duplicate lock")
        self.preflight(terms).raise_if_missing()
        sp = self._params()
        txns = lock_transactions(terms, sp)
        receipt = self._send(txns, terms, signer=signer, secret=None, what="lock")
        if not self.pipelined:
            self._known[terms.escrow] = _Known(terms, receipt.height, receipt.tx_id)
        # (a pipelined lock is known from its block once it lands: until then, and if it
        # never does, find() must not show it)
        return terms.escrow, receipt

    def claim(
        self, lock_id: str, secret: bytes, signer: Signer, *, revealed: bool = False
    ) -> TxReceipt:
        """Release the lock to its receiver with the 32-byte secret (anyone may call;
        ``signer`` is not used: the escrow pays its own capped fees).

        Pipelined, a claim whose secret is not public yet (``revealed`` False) is simulated
        first and sent only if it passes; ``revealed`` (the secret is on chain already)
        sends it at once."""
        raw = _check_key32("secret", secret)
        terms = self.terms_of(lock_id)
        if hashlib.sha256(raw).digest() != terms.hashlock:
            raise SettlementError(f"the secret does not open lock {terms.escrow} (wrong secret)")
        self._require_open(terms)
        sp = self._params()
        first = int(sp.first)
        if first + 1 > terms.deadline - 1:
            raise SettlementError(
                f"lock {terms.escrow}: deadline round {terms.deadline} reached (next round "
                f"{first + 1}): it can only be refunded"
            )
        txns = settle_transactions(
            terms, sp, claim=True, first=first, last=min(first + MAX_VALIDITY, terms.deadline - 1)
        )
        return self._send(
            txns, terms, signer=None, secret=raw, what="claim", check_first=not revealed
        )

    def refund(self, lock_id: str, signer: Signer) -> TxReceipt:
        """Return the lock to its sender from the deadline round on (anyone may call).

        Also recovers the deposit of an escrow that is no longer fully funded (an issuer's
        forced transfer emptied it, or a partial funding): whatever it holds goes back.
        """
        terms = self.terms_of(lock_id)
        state = self._as_lock(self._known.setdefault(terms.escrow, _Known(terms))).state
        if state in ("claimed", "refunded") or self.chain.algo_balance(terms.escrow) == 0:
            raise SettlementError(f"lock {terms.escrow} is not open (it is {state})")
        sp = self._params()
        next_round = int(sp.first) + 1
        if next_round < terms.deadline:
            raise SettlementError(
                f"lock {terms.escrow}: deadline round {terms.deadline} not reached (next "
                f"round {next_round}): it can only be claimed"
            )
        holding = None
        if terms.kind is not HtlcKind.ALGO:
            holding = self.chain.holding(terms.escrow, terms.asset_id)
        txns = settle_transactions(
            terms,
            sp,
            claim=False,
            first=max(terms.deadline, int(sp.first)),
            last=max(terms.deadline, int(sp.first)) + MAX_VALIDITY,
            algos_only=holding is not None and not holding.opted_in,
            emptied=holding is not None and holding.opted_in and holding.amount == 0,
        )
        return self._send(txns, terms, signer=None, secret=None, what="refund")

    def find(self, hashlock: bytes) -> Sequence[HtlcLock]:
        """Every lock on chain (from ``from_round``) under ``hashlock``, with its state."""
        wanted = _check_key32("hashlock", hashlock)
        self._sync()
        return [self._as_lock(k) for k in self._known.values() if k.terms.hashlock == wanted]

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
        """The escrow address of exactly these terms: our template for the asset's kind
        (ALGO, ASA, or the regulated ASA with its real app and creator read from chain)
        with every value written in, hashed. Any other template, app, creator, sender or
        fee cap gives another address."""
        if partition is not None:
            raise InvalidInput("partition", "an Algorand lock has no partition")
        return self.terms_for(
            asset=asset,
            sender=sender,
            receiver=receiver,
            amount=amount,
            hashlock=hashlock,
            deadline=deadline,
        ).escrow

    def get(self, lock_id: str) -> HtlcLock:
        """Lock ``lock_id`` with its current state."""
        terms = self.terms_of(lock_id)
        if not self._known[terms.escrow].height:
            self._sync()  # a pipelined lock's round is learned from its block
        return self._as_lock(self._known[terms.escrow])

    def events(self, from_height: int, to_height: int) -> Iterator[ChainEvent]:
        """``Locked`` / ``Claimed`` / ``Refunded`` events in ``[from_height, to_height]``.

        ``Locked`` carries ``lock_id, hashlock, asset_id (None: ALGO), app_id, sender,
        receiver, amount, deadline``; ``Claimed`` ``lock_id`` and the revealed ``secret``;
        ``Refunded`` ``lock_id``. Rounds are final when committed, so decoded rounds are
        cached.
        """
        for round_ in range(max(1, from_height), to_height + 1):
            yield from self._round_events(round_)

    def secret_from_claim(self, tx_id: str) -> bytes:
        """The secret revealed by claim transaction ``tx_id`` (any escrow transaction of it).

        Checked: the transaction is signed by one of our escrow programs, is a claim, and
        its argument hashes to the escrow's hashlock. ``NotFound`` / ``SettlementError``
        otherwise.
        """
        try:
            info = self.chain.pending_info(tx_id)
        except NotFound:
            # a real algod forgets confirmed transactions: look in the scanned blocks
            self._sync()
            for events in self._scan.events.values():
                for event in events:
                    secret = event.args.get("secret")
                    if event.tx_id == tx_id and isinstance(secret, bytes):
                        return secret
            raise
        signed = info.get("txn", {})
        lsig = signed.get("lsig") or {}
        program = base64.b64decode(lsig.get("l", ""))
        terms = HtlcTerms.from_program(program) if program else None
        if terms is None:
            raise SettlementError(f"transaction {tx_id} is not signed by an stbridge HTLC escrow")
        args = [base64.b64decode(a) for a in lsig.get("arg", [])]
        if not args or len(args[0]) != SECRET_BYTES:
            raise SettlementError(f"transaction {tx_id} is not a claim (no 32-byte argument)")
        if hashlib.sha256(args[0]).digest() != terms.hashlock:
            raise SettlementError(f"transaction {tx_id}: its argument does not open the lock")
        return args[0]

    def revealed_secret(self, hashlock: bytes) -> bytes | None:
        """A secret for ``hashlock`` revealed by any claim seen on chain, if any."""
        wanted = _check_key32("hashlock", hashlock)
        self._sync()
        for known in self._known.values():
            if known.terms.hashlock == wanted and known.settlement and known.settlement.secret:
                return known.settlement.secret
        return None

    # ------------------------------------------------------------------ internals
    def _params(self) -> transaction.SuggestedParams:
        sp = self.chain.suggested_params()
        sp.flat_fee = True
        return sp

    def _funded(self, terms: HtlcTerms) -> bool:
        if self.chain.algo_balance(terms.escrow) > 0:
            return True
        return terms.kind is not HtlcKind.ALGO and (
            self.chain.holding(terms.escrow, terms.asset_id).amount > 0
        )

    def _require_open(self, terms: HtlcTerms) -> None:
        lock = self._as_lock(self._known.setdefault(terms.escrow, _Known(terms)))
        if lock.state != "open":
            raise SettlementError(f"lock {terms.escrow} is not open (it is {lock.state})")

    def _as_lock(self, known: _Known) -> HtlcLock:
        terms = known.terms
        asset: AssetRef | None = None
        if terms.kind is not HtlcKind.ALGO:
            asset = AssetRef(
                chain=self.chain.chain,
                locator=AlgorandAsaLocator(asset_id=terms.asset_id, app_id=terms.app_id or None),
            )
        return HtlcLock(
            lock_id=terms.escrow,
            asset=asset,
            sender=terms.sender,
            receiver=terms.receiver,
            amount=terms.amount,
            hashlock=terms.hashlock,
            deadline=terms.deadline,
            state=self._state(known),
            height=known.height,
        )

    def _state(self, known: _Known) -> str:
        """``open`` (funded with the amount and the whole deposit: claimable, and the claim
        cannot be blocked), ``claimed``, ``refunded``, ``underfunded`` (something there,
        not enough: a counterparty must not rely on it) or ``unknown``."""
        terms = known.terms
        algos = self.chain.algo_balance(terms.escrow)
        if terms.kind is HtlcKind.ALGO:
            held = algos
            funded = algos >= terms.amount + terms.deposit
        else:
            held = self.chain.holding(terms.escrow, terms.asset_id).amount
            # the whole deposit is what guarantees the claim's close-out cannot fail
            funded = held >= terms.amount and algos >= terms.deposit
        if funded:
            return "open"
        self._sync()
        known = self._known.get(terms.escrow, known)
        if known.settlement is not None:
            return known.settlement.state
        return "underfunded" if held else "unknown"

    def send_group(
        self,
        txns: list[tuple[Any, bool]],
        terms: HtlcTerms,
        *,
        signer: Signer | None = None,
        secret: bytes | None = None,
        what: str = "group",
    ) -> TxReceipt:
        """Sign and submit one group built by :func:`lock_transactions` /
        :func:`settle_transactions` (possibly altered by the caller); wait for it.

        The escrow's transactions are signed by its program with ``secret`` (any bytes) as
        argument 0 when given, the others by ``signer``. No check is made here: this is
        the raw path (tests use it to show what the chain itself refuses). A refusal by
        the escrow program is ``SettlementError``; others ``TransactionReverted``.
        """
        return self._send(txns, terms, signer=signer, secret=secret, what=what)

    def _send(
        self,
        txns: list[tuple[Any, bool]],
        terms: HtlcTerms,
        *,
        signer: Signer | None,
        secret: bytes | None,
        what: str,
        check_first: bool = False,
    ) -> TxReceipt:
        """Sign, keep (journal) and submit one group; wait for it, or (pipelined) return a
        receipt at :data:`SENT_HEIGHT`. A kept group of the same key is sent again as it
        was unless it is confirmed (module docstring). ``check_first``: a pipelined new
        group is simulated before it is kept and sent (a revealing claim)."""
        unsigned = [t for t, _ in txns]
        if len(unsigned) > 1:
            transaction.assign_group_id(unsigned)  # type: ignore[no-untyped-call]
        lsig = transaction.LogicSigAccount(terms.program, [secret] if secret is not None else None)
        blobs: list[bytes] = []
        for txn, by_escrow in txns:
            if by_escrow:
                stx = transaction.LogicSigTransaction(txn, lsig)
                blobs.append(base64.b64decode(encoding.msgpack_encode(stx)))  # type: ignore[no-untyped-call]
            else:
                if signer is None:
                    raise InvalidInput("signer", f"the {what} needs the sender's signer")
                blobs.append(signer.sign(txn))
        first_id = str(unsigned[0].get_txid())
        key = f"algorand:{self.chain.chain.genesis_hash}:{what}:{terms.escrow}"
        kept = journal.stored(key)
        if kept is not None:
            kept_id, kept_group = kept[:_TXID_LEN].decode(), kept[_TXID_LEN:]
            if self._confirmed(kept_id):
                journal.forget(key)  # on chain already: the caller wants a new group
            else:
                try:
                    self.chain.submit(kept_group)  # the same signed group again
                    return self._landing(kept_id)
                except TransactionReverted as exc:
                    if self._waiting(kept_id):
                        # the node has it in its pool already ("already in ledger" for a
                        # pending group): in flight, it may still land; nothing new
                        log.info("kept %s group %s is in the pool already", what, kept_id)
                        return self._landing(kept_id)
                    # its validity window is over or it conflicts: it can never land
                    log.warning(
                        "kept %s group %s cannot land (%s); building a new one", what, kept_id, exc
                    )
                    journal.forget(key)
        if check_first and self.pipelined and self.chain.sends_held:
            # held, the pool evaluates it only at the flush, while anyone can read it
            # queued: it is evaluated first (a node that is not held evaluates at the send)
            try:
                self.chain.simulate(b"".join(blobs))
            except TransactionReverted as exc:
                raise _translate(what, terms, exc) from exc
        envelope = journal.keep(key, first_id.encode() + b"".join(blobs))
        first_id, group = envelope[:_TXID_LEN].decode(), envelope[_TXID_LEN:]
        try:
            self.chain.submit(group)
            return self._landing(first_id)
        except TransactionReverted as exc:
            raise _translate(what, terms, exc) from exc

    def _landing(self, tx_id: str) -> TxReceipt:
        """The receipt of a group just submitted: at :data:`SENT_HEIGHT` when pipelined,
        else once it is confirmed (``TransactionReverted`` if the pool refused it)."""
        if self.pipelined:
            log.info("HTLC group %s sent", tx_id)
            return TxReceipt(tx_id=tx_id, height=SENT_HEIGHT, success=True)
        return self.chain.wait(tx_id)

    def _waiting(self, tx_id: str) -> bool:
        """Whether ``tx_id`` waits in the node's pool (known, not confirmed, not refused)."""
        try:
            info = self.chain.pending_info(tx_id)
        except NotFound:
            return False
        return not info.get("pool-error") and not int(info.get("confirmed-round", 0) or 0)

    def _confirmed(self, tx_id: str) -> bool:
        try:
            info = self.chain.pending_info(tx_id)
        except NotFound:
            return False
        return int(info.get("confirmed-round", 0) or 0) > 0

    def _sync(self) -> None:
        head = self.chain.head()
        for round_ in range(self._scan.scanned_to + 1, head + 1):
            self._round_events(round_)
            self._scan.scanned_to = round_

    def _round_events(self, round_: int) -> list[ChainEvent]:
        cached = self._scan.events.get(round_)
        if cached is not None:
            return cached
        block = self.chain.block_msgpack(round_)
        events = list(self._decode_block(round_, block))
        self._scan.events[round_] = events
        for event in events:
            self._apply(event)
        return events

    def _apply(self, event: ChainEvent) -> None:
        lock_id = str(event.args["lock_id"])
        program = event.args.get("program")
        terms = HtlcTerms.from_program(program) if isinstance(program, bytes) else None
        if terms is None:
            return
        known = self._known.setdefault(lock_id, _Known(terms))
        if event.name == "Locked":
            if not known.height:
                known.height, known.tx_id = event.height, event.tx_id
            return
        secret = event.args.get("secret")
        known.settlement = _Settlement(
            event.name.lower(),
            event.height,
            event.tx_id,
            secret if isinstance(secret, bytes) else None,
        )

    def _decode_block(self, round_: int, block: Mapping[str, Any]) -> Iterator[ChainEvent]:
        entries = list(block.get("txns") or [])
        seen_groups: set[tuple[bytes, str]] = set()
        for index, entry in enumerate(entries):
            txn = entry.get("txn", {})
            kind = _text(txn.get("type"))
            note = bytes(txn.get("note", b""))
            if kind == _PAY and note.startswith(LOCK_NOTE_PREFIX):
                terms = HtlcTerms.from_program(note[len(LOCK_NOTE_PREFIX) :])
                receiver = txn.get("rcv")
                if terms is not None and receiver == key_from_address(terms.escrow):
                    yield ChainEvent(
                        "Locked",
                        round_,
                        _tx_id(txn, block, entry),
                        index,
                        {
                            "lock_id": terms.escrow,
                            "hashlock": terms.hashlock,
                            "asset_id": terms.asset_id or None,
                            "app_id": terms.app_id or None,
                            "sender": terms.sender,
                            "receiver": terms.receiver,
                            "amount": terms.amount,
                            "deadline": terms.deadline,
                            "program": terms.program,
                        },
                    )
                continue
            lsig = entry.get("lsig")
            if not isinstance(lsig, Mapping) or not lsig.get("l"):
                continue
            program = bytes(lsig["l"])
            terms = HtlcTerms.from_program(program)
            if terms is None:
                continue
            escrow = terms.escrow
            group_key = (bytes(txn.get("grp", b"")) or _tx_id(txn, block, entry).encode(), escrow)
            if group_key in seen_groups:
                continue
            settled = _settlement_kind(terms, txn)
            if settled is None:
                continue  # the escrow's opt-in
            seen_groups.add(group_key)
            args: dict[str, object] = {"lock_id": escrow, "program": program}
            if settled == "Claimed":
                lsig_args = list(lsig.get("arg") or [])
                args["secret"] = bytes(lsig_args[0]) if lsig_args else b""
            yield ChainEvent(settled, round_, _tx_id(txn, block, entry), index, args)


# --------------------------------------------------------------------------- transactions


def lock_transactions(terms: HtlcTerms, sp: transaction.SuggestedParams) -> list[tuple[Any, bool]]:
    """The funding group: ``[(txn, signed_by_escrow)]`` (group id not yet assigned)."""
    escrow = terms.escrow
    note = LOCK_NOTE_PREFIX + terms.program
    if terms.kind is HtlcKind.ALGO:
        fund = transaction.PaymentTxn(  # type: ignore[no-untyped-call]
            terms.sender, _fee(sp, 1), escrow, terms.amount + terms.deposit, note=note
        )
        return [(fund, False)]
    fund = transaction.PaymentTxn(  # type: ignore[no-untyped-call]
        terms.sender, _fee(sp, 2), escrow, terms.deposit, note=note
    )
    opt_in = transaction.AssetTransferTxn(  # type: ignore[no-untyped-call]
        escrow, _fee(sp, 0), escrow, 0, terms.asset_id
    )
    move: Any
    if terms.kind is HtlcKind.ASA:
        move = transaction.AssetTransferTxn(  # type: ignore[no-untyped-call]
            terms.sender, _fee(sp, 1), escrow, terms.amount, terms.asset_id
        )
    else:
        move = transaction.ApplicationNoOpTxn(  # type: ignore[no-untyped-call]
            terms.sender,
            _fee(sp, 2),
            terms.app_id,
            app_args=[
                selector("transfer"),
                key_from_address(escrow),
                struct.pack(">Q", terms.amount),
            ],
            accounts=[escrow],
            foreign_assets=[terms.asset_id],
            boxes=[(terms.app_id, box_key(terms.sender)), (terms.app_id, box_key(escrow))],
        )
    return [(fund, False), (opt_in, True), (move, False)]


def settle_transactions(
    terms: HtlcTerms,
    sp: transaction.SuggestedParams,
    *,
    claim: bool,
    first: int,
    last: int,
    fee: int | None = None,
    algos_only: bool = False,
    emptied: bool = False,
) -> list[tuple[Any, bool]]:
    """The escrow's claim (``claim=True``) or refund group, valid in ``[first, last]``.

    ``fee`` overrides each transaction's fee (otherwise the network's minimum fee, twice
    for the regulated app call, which pays for its inner transfer). ``algos_only`` builds
    the refund that only closes the account (an ASA escrow that never opted in);
    ``emptied`` the regulated refund of an escrow an issuer's forced transfer emptied
    (close the empty holding and the account).
    """
    params = replace_params(sp, first=first, last=last)
    escrow = terms.escrow
    party = terms.receiver if claim else terms.sender

    def fee_of(units: int) -> transaction.SuggestedParams:
        if fee is None:
            return _fee(params, units)
        fixed = _fee(params, 0)
        fixed.fee = fee
        return fixed

    close = transaction.PaymentTxn(  # type: ignore[no-untyped-call]
        escrow,
        fee_of(1),
        terms.receiver if (claim and terms.kind is HtlcKind.ALGO) else terms.sender,
        terms.amount if (claim and terms.kind is HtlcKind.ALGO) else 0,
        close_remainder_to=terms.sender,
    )
    if terms.kind is HtlcKind.ALGO or algos_only:
        return [(close, True)]
    if terms.kind is HtlcKind.ASA:
        move = transaction.AssetTransferTxn(  # type: ignore[no-untyped-call]
            escrow,
            fee_of(1),
            party,
            terms.amount if claim else 0,
            terms.asset_id,
            close_assets_to=party,
        )
        return [(move, True), (close, True)]
    if emptied:
        shut_empty = transaction.AssetTransferTxn(  # type: ignore[no-untyped-call]
            escrow, fee_of(1), terms.sender, 0, terms.asset_id, close_assets_to=terms.sender
        )
        return [(shut_empty, True), (close, True)]
    creator = terms.creator
    assert creator is not None
    call = transaction.ApplicationNoOpTxn(  # type: ignore[no-untyped-call]
        escrow,
        fee_of(2),
        terms.app_id,
        app_args=[selector("transfer"), key_from_address(party), struct.pack(">Q", terms.amount)],
        accounts=[party],
        foreign_assets=[terms.asset_id],
        boxes=[(terms.app_id, box_key(escrow)), (terms.app_id, box_key(party))],
    )
    shut = transaction.AssetTransferTxn(  # type: ignore[no-untyped-call]
        escrow, fee_of(1), creator, 0, terms.asset_id, close_assets_to=creator
    )
    return [(call, True), (shut, True), (close, True)]


def replace_params(
    sp: transaction.SuggestedParams, *, first: int, last: int
) -> transaction.SuggestedParams:
    """A copy of ``sp`` valid in rounds ``[first, last]`` with a flat fee."""
    return transaction.SuggestedParams(  # type: ignore[no-untyped-call]
        fee=sp.fee,
        first=first,
        last=last,
        gh=sp.gh,
        gen=sp.gen,
        flat_fee=True,
        min_fee=sp.min_fee,
    )


def _fee(sp: transaction.SuggestedParams, units: int) -> transaction.SuggestedParams:
    """A copy of ``sp`` with a flat fee of ``units`` minimum fees (the network's minimum,
    at least 1 000 microalgos)."""
    params = replace_params(sp, first=int(sp.first), last=int(sp.last))
    params.fee = units * max(MIN_FEE, int(sp.min_fee or 0))
    return params


# --------------------------------------------------------------------------- decoding helpers


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("ascii", errors="replace")
    return str(value or "")


def _settlement_kind(terms: HtlcTerms, txn: Mapping[str, Any]) -> str | None:
    """``Claimed`` / ``Refunded`` for an escrow transaction of a settlement, None for the
    opt-in."""
    kind = _text(txn.get("type"))
    receiver = key_from_address(terms.receiver)
    if kind == _PAY:
        return "Claimed" if txn.get("rcv") == receiver else "Refunded"
    if kind == _AXFER:
        target = txn.get("arcv")
        if target == key_from_address(terms.escrow) and not txn.get("aclose"):
            return None
        if terms.kind is HtlcKind.REGULATED:
            # the close-out of a settlement (the app call decides), or the refund of an
            # emptied escrow (closed to the sender)
            return "Refunded" if txn.get("aclose") == key_from_address(terms.sender) else None
        return "Claimed" if target == receiver else "Refunded"
    if kind == _APPL:
        args = list(txn.get("apaa") or [])
        return "Claimed" if len(args) > 1 and args[1] == receiver else "Refunded"
    return None


def _canonical(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _canonical(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value


def _tx_id(txn: Mapping[str, Any], block: Mapping[str, Any], entry: Mapping[str, Any]) -> str:
    """A block entry's transaction id: the genesis fields the block strips put back, then
    SHA-512/256 of ``"TX"`` + the canonical msgpack encoding."""
    full = dict(txn)
    if block.get("gh") is not None:
        full["gh"] = bytes(block["gh"])
    if entry.get("hgi") and block.get("gen"):
        full["gen"] = _text(block["gen"])
    packed = msgpack.packb(_canonical(full), use_bin_type=True)
    digest = SHA512.new(b"TX" + packed, truncate="256").digest()
    return base64.b32encode(digest).decode().rstrip("=")


def _translate(what: str, terms: HtlcTerms, exc: TransactionReverted) -> BridgeError:
    message = exc.raw_message or str(exc)
    if "rejected by logic" in message:
        why = message[message.index("rejected by logic") :].splitlines()[0][:200]
        return SettlementError(
            f"{what} of lock {terms.escrow}: the escrow program refused it ({why})",
            reason=from_algorand(message),
        )
    if terms.kind is HtlcKind.REGULATED and "logic eval error" in message:
        refusal = refusal_from_rejection(message, app_id=terms.app_id)
        return TransactionReverted(
            f"{what} of lock {terms.escrow}: {refusal.code.value}: {refusal.detail}",
            raw_message=message,
            tx_id=exc.tx_id,
            reason=refusal.code,
        )
    return TransactionReverted(
        f"{what} of lock {terms.escrow}: {message[:300]}",
        raw_message=message,
        tx_id=exc.tx_id,
        reason=exc.reason or from_algorand(message),
    )
