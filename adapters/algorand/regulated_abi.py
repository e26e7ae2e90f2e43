"""The pure half of the regulated-ASA adapter: ABI, box layout, global state, reasons.

Everything here is a function of bytes and numbers read from the chain; nothing talks to
a node. The standard itself is written down in ``specs/regulated-asa.md``; this module is
its executable form:

- :data:`METHODS` — the ARC-4 method signatures (selectors via :func:`selector`);
- :class:`WhitelistEntry` — the 20-byte box value, ``encode``/``decode``;
- :class:`AppState` — the application's global state, decoded from algod's JSON;
- :data:`ERROR_REASONS` — every error name the program can stop with, and its canonical
  reason code; :func:`refusal_from_rejection` turns an evaluator message into a
  :class:`~bridge.model.Refusal` (by the pc of the ``err`` opcode, see
  ``adapters/algorand/teal/regulated_asa_errors.json``);
- :func:`predict_transfer` — the transfer check order, evaluated on read values: the
  dry run the adapter gives before anything is sent.
"""

from __future__ import annotations

import base64
import re
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from algosdk import abi

from adapters.algorand.addresses import address_from_key, key_from_address
from adapters.algorand.teal import error_map
from bridge.errors import InvalidInput
from bridge.model import InvestorClass, Refusal, Standard
from bridge.reasons import ReasonCode, from_algorand

__all__ = [
    "BOX_PREFIX",
    "ERROR_REASONS",
    "EVENT_TRANSFER",
    "INVESTOR_CLASS_CODES",
    "METHODS",
    "AppState",
    "PartyView",
    "WhitelistEntry",
    "box_key",
    "encode_countries",
    "predict_transfer",
    "refusal_from_rejection",
    "selector",
]

R = ReasonCode

METHODS: Final[dict[str, str]] = {
    "bind": "bind(uint64)void",
    "transfer": "transfer(address,uint64)void",
    "whitelist_set": "whitelist_set(address,byte[2],uint8,uint64,uint64)void",
    "whitelist_remove": "whitelist_remove(address)void",
    "set_frozen": "set_frozen(address,bool)void",
    "forced_transfer": "forced_transfer(address,address,uint64)void",
    "mint": "mint(address,uint64)void",
    "burn": "burn(address,uint64)void",
    "pause": "pause()void",
    "unpause": "unpause()void",
    "set_rules": "set_rules(uint64,uint64,byte[])void",
    "set_admin": "set_admin(address)void",
}
"""ARC-4 signatures of the compliance application's methods, by short name."""

EVENT_TRANSFER: Final = "Transfer(address,address,uint64)"
BOX_PREFIX: Final = b"wl"
BOX_VALUE_SIZE: Final = 20
GLOBAL_INTS: Final = 5
GLOBAL_BYTES: Final = 2
FLAG_FROZEN: Final = 0x01

ERROR_REASONS: Final[dict[str, ReasonCode]] = {
    "BAD_CALL": R.TRANSFER_FAILURE,
    "BAD_ARG": R.TRANSFER_FAILURE,
    "NOT_ADMIN": R.OPERATOR_NOT_AUTHORIZED,
    "NOT_BOUND": R.TOKEN_DEACTIVATED,
    "ALREADY_BOUND": R.TRANSFER_FAILURE,
    "BAD_ASSET": R.TRANSFER_FAILURE,
    "PAUSED": R.TOKEN_PAUSED,
    "SENDER_NOT_WHITELISTED": R.SENDER_NOT_ELIGIBLE,
    "SENDER_FROZEN": R.SENDER_FROZEN,
    "SENDER_KYC_EXPIRED": R.KYC_EXPIRED,
    "LOCKED": R.FUNDS_LOCKED,
    "RECEIVER_NOT_WHITELISTED": R.RECIPIENT_NOT_ELIGIBLE,
    "RECEIVER_FROZEN": R.RECIPIENT_FROZEN,
    "RECEIVER_KYC_EXPIRED": R.KYC_EXPIRED,
    "COUNTRY_NOT_ALLOWED": R.COUNTRY_RESTRICTED,
    "RECEIVER_NOT_OPTED_IN": R.RECIPIENT_NOT_OPTED_IN,
    "INSUFFICIENT_BALANCE": R.INSUFFICIENT_BALANCE,
    "MAX_BALANCE": R.MAX_BALANCE_EXCEEDED,
    "MAX_HOLDERS": R.MAX_HOLDERS_REACHED,
    "NOT_WHITELISTED": R.RECIPIENT_NOT_ELIGIBLE,
    "HOLDS_UNITS": R.TRANSFER_FAILURE,
}
"""Error name (logged as ``ERR:<name>``) -> canonical reason code."""

INVESTOR_CLASS_CODES: Final[dict[int, InvestorClass]] = {
    0: InvestorClass.RETAIL,
    1: InvestorClass.PROFESSIONAL,
    2: InvestorClass.ELIGIBLE_COUNTERPARTY,
    3: InvestorClass.ACCREDITED,
    4: InvestorClass.QUALIFIED_PURCHASER,
    5: InvestorClass.QUALIFIED_INSTITUTIONAL,
    6: InvestorClass.INSTITUTIONAL,
    7: InvestorClass.SPECIFIED,
    8: InvestorClass.QUALIFIED,
    9: InvestorClass.HIGH_NET_WORTH,
    10: InvestorClass.SOPHISTICATED,
    11: InvestorClass.AFFILIATE,
}
"""The box's investor-class byte -> canonical class."""
_CLASS_BYTES: Final = {cls: code for code, cls in INVESTOR_CLASS_CODES.items()}


def selector(name: str) -> bytes:
    """4-byte ARC-4 selector of the method ``name`` (a key of :data:`METHODS`)."""
    return bytes(abi.Method.from_signature(METHODS[name]).get_selector())


def box_key(address: str) -> bytes:
    """Whitelist box name of an account: ``b"wl"`` + its 32-byte public key."""
    return BOX_PREFIX + key_from_address(address)


@dataclass(frozen=True, slots=True)
class WhitelistEntry:
    """One investor's whitelist record (the box value)."""

    country: str
    investor_class: InvestorClass
    kyc_expiry: int
    lockup_end: int
    frozen: bool = False

    def encode(self) -> bytes:
        """The 20-byte box value."""
        return (
            self.country.encode("ascii")
            + bytes([_CLASS_BYTES[self.investor_class], FLAG_FROZEN if self.frozen else 0])
            + struct.pack(">QQ", self.kyc_expiry, self.lockup_end)
        )

    @classmethod
    def decode(cls, value: bytes) -> WhitelistEntry:
        """Parse a box value; a malformed one is ``InvalidInput`` naming the byte."""
        if len(value) != BOX_VALUE_SIZE:
            raise InvalidInput("box", f"a whitelist entry is {BOX_VALUE_SIZE} bytes", value=value)
        country = value[0:2].decode("ascii", errors="replace")
        klass = INVESTOR_CLASS_CODES.get(value[2])
        if klass is None:
            raise InvalidInput("box[2]", "unknown investor class code", value=value[2])
        kyc, lock = struct.unpack(">QQ", value[4:20])
        return cls(country, klass, kyc, lock, bool(value[3] & FLAG_FROZEN))

    def kyc_valid(self, now: int) -> bool:
        """KYC holds while ``now < kyc_expiry``."""
        return now < self.kyc_expiry

    def locked(self, now: int) -> bool:
        """Units are locked while ``now < lockup_end``."""
        return now < self.lockup_end


def encode_countries(countries: Sequence[str]) -> bytes:
    """The ``countries`` rule as stored: alpha-2 codes concatenated (empty = no rule)."""
    for code in countries:
        if not re.fullmatch(r"[A-Z]{2}", code):
            raise InvalidInput("countries", "each entry is an upper-case alpha-2 code", value=code)
    return "".join(countries).encode("ascii")


@dataclass(frozen=True, slots=True)
class AppState:
    """The compliance application's global state."""

    admin: str
    asset_id: int
    paused: bool
    max_holders: int
    max_balance: int
    holders: int
    countries: tuple[str, ...]

    @classmethod
    def from_algod(cls, global_state: Sequence[Mapping[str, Any]]) -> AppState:
        """Decode algod's ``params.global-state`` list (base64 keys, typed values)."""
        values: dict[str, bytes | int] = {}
        for item in global_state:
            key = base64.b64decode(item["key"]).decode("ascii", errors="replace")
            value = item["value"]
            if value.get("type") == 1:
                values[key] = base64.b64decode(value.get("bytes", ""))
            else:
                values[key] = int(value.get("uint", 0))
        admin_raw = values.get("admin", b"")
        countries_raw = values.get("countries", b"")
        if not isinstance(admin_raw, bytes) or len(admin_raw) != 32:
            raise InvalidInput("app.admin", "the application has no 32-byte admin key")
        if not isinstance(countries_raw, bytes):
            countries_raw = b""
        countries = tuple(
            countries_raw[i : i + 2].decode("ascii", errors="replace")
            for i in range(0, len(countries_raw) - 1, 2)
        )

        def _int(name: str) -> int:
            value = values.get(name, 0)
            return value if isinstance(value, int) else 0

        return cls(
            admin=address_from_key(admin_raw),
            asset_id=_int("asset"),
            paused=bool(_int("paused")),
            max_holders=_int("max_holders"),
            max_balance=_int("max_balance"),
            holders=_int("holders"),
            countries=countries,
        )


@dataclass(frozen=True, slots=True)
class PartyView:
    """What the dry run needs to know about one side of a transfer."""

    address: str
    entry: WhitelistEntry | None
    opted_in: bool
    balance: int


def predict_transfer(
    state: AppState,
    *,
    now: int,
    sender: PartyView,
    receiver: PartyView,
    amount: int,
    reserve: str | None,
) -> tuple[ReasonCode, str | None]:
    """The verdict ``transfer(receiver, amount)`` called by ``sender`` gets, in check order.

    Returns ``(OK, None)`` or ``(canonical code, error name)``. The order is the program's
    (specs/regulated-asa.md, "Transfer check order").
    """
    checks: list[tuple[bool, str]] = [
        (state.paused, "PAUSED"),
        (sender.entry is None, "SENDER_NOT_WHITELISTED"),
    ]
    for failed, name in checks:
        if failed:
            return ERROR_REASONS[name], name
    assert sender.entry is not None
    if sender.entry.frozen:
        return R.SENDER_FROZEN, "SENDER_FROZEN"
    if not sender.entry.kyc_valid(now):
        return R.KYC_EXPIRED, "SENDER_KYC_EXPIRED"
    if sender.entry.locked(now):
        return R.FUNDS_LOCKED, "LOCKED"
    rec = receiver.entry
    if rec is None:
        return R.RECIPIENT_NOT_ELIGIBLE, "RECEIVER_NOT_WHITELISTED"
    if rec.frozen:
        return R.RECIPIENT_FROZEN, "RECEIVER_FROZEN"
    if not rec.kyc_valid(now):
        return R.KYC_EXPIRED, "RECEIVER_KYC_EXPIRED"
    if state.countries and rec.country not in state.countries:
        return R.COUNTRY_RESTRICTED, "COUNTRY_NOT_ALLOWED"
    if not receiver.opted_in:
        return R.RECIPIENT_NOT_OPTED_IN, "RECEIVER_NOT_OPTED_IN"
    if sender.balance < amount:
        return R.INSUFFICIENT_BALANCE, "INSUFFICIENT_BALANCE"
    distinct = sender.address != receiver.address
    if state.max_balance and distinct and receiver.balance + amount > state.max_balance:
        return R.MAX_BALANCE_EXCEEDED, "MAX_BALANCE"
    new_receiver = receiver.balance == 0 and amount > 0 and distinct and receiver.address != reserve
    sender_leaves = (
        sender.balance == amount and amount > 0 and distinct and sender.address != reserve
    )
    grown = state.holders + int(new_receiver)
    holders_after = grown - int(sender_leaves and grown > 0)
    if new_receiver and state.max_holders and holders_after > state.max_holders:
        return R.MAX_HOLDERS_REACHED, "MAX_HOLDERS"
    return R.OK, None


_PC = re.compile(r"pc=(\d+)")
_LOGGED = re.compile(r"ERR:([A-Z_]+)")


def refusal_from_rejection(message: str, *, app_id: int | None = None) -> Refusal:
    """Canonical refusal for an evaluator / algod rejection of a call to the application.

    An ``err`` at a pc listed in the error map (or a logged ``ERR:<name>``, as simulate
    returns it) gives the program's own reason; anything else (an inner transaction's
    failure, fees, opt-in) goes through the generic Algorand table.
    """
    name: str | None = None
    if "err opcode executed" in message:
        pcs = _PC.findall(message)
        if pcs:
            name = error_map().get(int(pcs[-1]))
    if name is None:
        logged = _LOGGED.search(message)
        if logged and logged.group(1) in ERROR_REASONS:
            name = logged.group(1)
    if name is not None:
        return Refusal(
            code=ERROR_REASONS[name],
            source_standard=Standard.REGULATED_ASA,
            raw_code=name,
            raw_message=message[:2000],
            detail=f"compliance application{'' if app_id is None else f' {app_id}'}: {name}",
        )
    return Refusal(
        code=from_algorand(message),
        source_standard=Standard.REGULATED_ASA,
        raw_message=message[:2000],
        detail=message.splitlines()[0][:300] if message else "rejected",
    )
