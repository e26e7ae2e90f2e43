"""The ibet adapters: Japanese ibet shares and straight bonds read, checked and driven.

ibet (BOOSTRY) security tokens have no ``decimals`` and no ``approve``/``allowance``;
``transferFrom`` is the issuer's forced transfer. stbridge ships its own contracts that
follow the public ibet interfaces (``IbetShare``, ``IbetStraightBond`` and the
``PersonalInfo`` register); these adapters read any token with those interfaces.

What is read, into the canonical model:

- the asset: ``decimals`` 0; ``transferable`` from the token's flag; ``active`` from its
  handling ``status`` (and not cancelled / redeemed); the instrument terms
  (:class:`~bridge.model.EquityTerms` for a share, :class:`~bridge.model.BondTerms` for a
  bond; a share's amounts are yen, ibet's only share currency); the rules as data: an
  :class:`~bridge.model.IssuerApprovalRule` while transfer approval is required, and an
  :class:`~bridge.model.AllowListRule` of the recipient (``scope="recipient"``) for the
  personal-information requirement: the accounts registered with the issuer in
  PersonalInfo, and the issuer itself (a sender need not be registered);
- a holding: ``balance`` = ``free`` = ``balanceOf``; ``locked`` per lock address
  (``lockedOf``) and ``pending`` (``pendingTransfer``) are *outside* the balance, as the
  table in :mod:`bridge.model.holding` says;
- eligibility: registered with the issuer in PersonalInfo (the issuer itself, and everyone
  when the token does not require registration, is eligible).

The dry run (:meth:`IbetAdapter.check_transfer`) reads the state at one block and applies
the token's checks in the contract's own order, so its first refusal is the revert the
chain gives; each refusal keeps the six-digit ibet code as ``raw_code``:

1. sender's free balance below the amount (``XX0401``);
2. not transferable (``XX0402``);
3. receiver is a contract other than the tradable exchange (``XX0301``), or, for an
   account, approval is required and the sender is not the exchange (``XX0201``), then the
   receiver is neither the issuer nor registered (``XX0202``).

A forced transfer (an ``operator`` other than the sender) is checked as ``transferFrom``:
the operator must be the issuer (``500001``), then the balance (``XX0601``). The handling
``status`` is not enforced by an ibet token (exchanges and escrows enforce it): a token with
status false still transfers, so the dry run allows it and the asset reads ``active=False``.

ibet's ``unlock`` lets the lock address release to *any* recipient without the
transferable or personal-information checks. :meth:`IbetAdapter.unlock` therefore enforces
them off-chain first (``enforce=True`` by default); :meth:`IbetAdapter.check_unlock` says
what it would refuse.

Agent operations (declared capabilities, issuer-signed):

- ``MINT`` (issueFrom): ``to``, ``amount``, optional ``lock_address``;
- ``BURN`` (redeemFrom): ``account``, ``amount``, optional ``lock_address``;
- ``FORCED_TRANSFER`` (transferFrom): ``sender``, ``recipient``, ``amount``;
- ``LOCKS``: ``action`` ``"lock"`` (forceLock: ``lock_address``, ``account``, ``amount``) or
  ``"unlock"`` (forceUnlock: the same and ``recipient``) or ``"change_account"``
  (forceChangeLockedAccount: ``lock_address``, ``account``, ``new_account``, ``amount``:
  a lost wallet's locked units move to its new wallet);
- ``APPROVAL_FLOW``: ``action`` ``"approve"`` / ``"cancel"`` with ``index``, or
  ``"require"`` with ``required`` (setTransferApprovalRequired);
- ``PAUSE``: ``transferable`` (setTransferable);
- ``IDENTITY_REGISTRATION``: ``wallet``, optional ``encrypted_info`` (the issuer registers
  the wallet with itself in the token's PersonalInfo; the signer must be the issuer).

Every other capability raises :class:`~bridge.errors.UnsupportedCapability`. Each has a
dry run (:meth:`IbetAdapter.check_agent_operation`): the token's checks from reads in the
contract's order (the issuer first, ``500001``; then the balance or locked amount the
operation takes, ``XX0601`` / ``XX1101`` / ``XX1102`` / ``XX1201`` / ``XX1601`` /
``XX1701``; an approval's transferable flag and application, ``XX0901`` / ``XX0902``), a
receiving contract's hook simulated, optionally the whole call as an ``eth_call``.

The list operations are all or nothing, and each has a dry run of the same kind:
``bulkTransferFrom`` (:meth:`IbetAdapter.check_bulk_forced_transfer`), ``bulkIssueFrom``
(:meth:`IbetAdapter.check_bulk_issue`: the issuer, then a total supply that would overflow
panics, ``Panic(0x11)``), ``bulkRedeemFrom`` (:meth:`IbetAdapter.check_bulk_redeem`: each
item on the free or locked units the items before it leave) and a holder's
``bulkTransfer`` (:meth:`IbetAdapter.check_bulk_transfer`: the total, then the token's list
checks ``XX0501``-``XX0504`` in its order, then each item's receiver checks).
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar, Final

from pydantic import ValidationError
from web3 import Web3

from adapters.evm.client import EvmClient, EvmReverted, RevertInfo
from adapters.evm.contracts import load_artifact
from adapters.evm.erc20 import ZERO_ADDRESS, EvmTokenAdapter, topic_address
from adapters.evm.erc1404 import agent_check
from bridge.errors import BridgeError, InvalidInput, TransferRefused
from bridge.model import (
    AgentOperationCheck,
    AllowListRule,
    Asset,
    AssetRef,
    BondTerms,
    Capability,
    Eligibility,
    EquityTerms,
    Holding,
    IdentitySource,
    InstrumentTerms,
    Investor,
    IssuerApprovalRule,
    OtherTerms,
    Refusal,
    RoleAssignment,
    Rule,
    Standard,
    TransferCheck,
    TransferIntent,
)
from bridge.ports import Signer, TxReceipt
from bridge.reasons import ReasonCode, from_ibet
from bridge.registry import AdapterSpec
from bridge.types import validate_evm_address

__all__ = [
    "IBET_BOND_MESSAGES",
    "IBET_MESSAGES",
    "OWNERSHIP_TOPIC",
    "SPEC_BOND",
    "SPEC_SHARE",
    "TRANSFER_TOPIC",
    "BulkTransferCheck",
    "IbetAdapter",
    "IbetBondAdapter",
    "IbetShareAdapter",
    "PendingTransfer",
    "TokenState",
    "deploy_ibet_bond",
    "deploy_ibet_share",
    "deploy_personal_info",
    "probe_bond",
    "probe_share",
]

R = ReasonCode

IBET_MESSAGES: Final[Mapping[str, str]] = {
    "0002": "lock amount is greater than the free balance",
    "0102": "unlock amount is greater than the locked amount",
    "0201": "transfer approval is required (the caller is not the tradable exchange)",
    "0202": "the receiver has not registered personal information with the issuer",
    "0301": "a contract receiver must be the tradable exchange",
    "0401": "the sender's free balance is insufficient",
    "0402": "the token is not transferable",
    "0601": "transfer amount is greater than the from address balance",
    "0701": "apply for transfer is invalid (approval not required, not transferable or "
    "balance too low)",
    "0702": "the receiver has not registered personal information with the issuer",
    "0801": "only the applicant or the issuer may cancel an application",
    "0802": "the application is not valid",
    "0901": "the token is not transferable",
    "0902": "the application is not valid",
    "1001": "the offering is not open",
    "1002": "the applicant has not registered personal information with the issuer",
    "1101": "redeem amount is greater than the locked amount",
    "1102": "redeem amount is greater than the free balance",
    "1201": "unlock amount is greater than the locked amount",
    "1601": "lock amount is greater than the free balance",
    "1701": "amount is greater than the locked amount",
    "0501": "bulk transfer: transfer approval is required",
    "0502": "bulk transfer: the lists' lengths differ",
    "0503": "bulk transfer: the total is greater than the free balance",
    "0504": "bulk transfer: the token is not transferable",
    "1301": "bulk issue: the lists' lengths differ",
    "1401": "bulk redeem: the lists' lengths differ",
    "1501": "bulk forced transfer: the lists' lengths differ",
}
"""What each ibet code suffix (the last four digits) means, for people (the share's
meaning where the bond's differs: see :data:`IBET_BOND_MESSAGES`)."""

IBET_BOND_MESSAGES: Final[Mapping[str, str]] = {
    "0501": "bulk transfer: the lists' lengths differ",
    "0502": "bulk transfer: the total is greater than the free balance",
    "0503": "bulk transfer: the token is not transferable",
}
"""The bond's bulkTransfer codes, numbered without the share's approval check."""

_OWNER_CODE: Final = "500001"


def _topic(signature: str) -> str:
    return Web3.keccak(text=signature).to_0x_hex()


TRANSFER_TOPIC: Final = _topic("Transfer(address,address,uint256)")
ISSUE_TOPIC: Final = _topic("Issue(address,address,address,uint256)")
LOCK_TOPIC: Final = _topic("Lock(address,address,uint256,string)")
FORCE_LOCK_TOPIC: Final = _topic("ForceLock(address,address,uint256,string)")
UNLOCK_TOPIC: Final = _topic("Unlock(address,address,address,uint256,string)")
FORCE_UNLOCK_TOPIC: Final = _topic("ForceUnlock(address,address,address,uint256,string)")
CHANGE_LOCKED_TOPIC: Final = _topic(
    "ForceChangeLockedAccount(address,address,address,uint256,string)"
)
APPLY_TOPIC: Final = _topic("ApplyForTransfer(uint256,address,address,uint256,string)")
REGISTER_TOPIC: Final = _topic("Register(address,address)")
OWNERSHIP_TOPIC: Final = _topic("OwnershipTransferred(address,address)")


@dataclass(frozen=True)
class PendingTransfer:
    """A transfer application waiting for the issuer: its index, parties and amount."""

    index: int
    sender: str
    recipient: str
    amount: int


@dataclass(frozen=True)
class TokenState:
    """The token-wide switches the transfer checks read, all at one block."""

    owner: str
    transferable: bool
    approval_required: bool
    tradable_exchange: str
    personal_info: str
    require_personal_info: bool
    status: bool


def _data_address(data: bytes, word: int) -> str:
    return validate_evm_address("0x" + data[32 * word + 12 : 32 * (word + 1)].hex())


def _parse_date(text: str) -> date | None:
    """A ``YYYYMMDD`` string as a date (None when empty or malformed)."""
    text = text.strip()
    if len(text) != 8 or not text.isdigit():
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None


def _payment_dates(text: str) -> tuple[str, ...]:
    """ibet's interest payment dates JSON (``interestPaymentDate1``..``12``) as MMDD values."""
    if not text.strip():
        return ()
    try:
        parsed = json.loads(text)
    except ValueError:
        return ()
    if not isinstance(parsed, dict):
        return ()
    found: list[tuple[int, str]] = []
    for key, value in parsed.items():
        suffix = str(key).removeprefix("interestPaymentDate")
        if suffix.isdigit() and isinstance(value, str) and value.strip():
            found.append((int(suffix), value.strip()))
    return tuple(value for _, value in sorted(found))


class IbetAdapter(EvmTokenAdapter, ABC):
    """What ibet shares and straight bonds share; subclasses set the standard and prefix."""

    prefix: ClassVar[str]
    capabilities: frozenset[Capability] = frozenset(
        {
            Capability.MINT,
            Capability.BURN,
            Capability.FORCED_TRANSFER,
            Capability.LOCKS,
            Capability.APPROVAL_FLOW,
            Capability.PAUSE,
            Capability.IDENTITY_REGISTRATION,
        }
    )

    def __init__(self, client: EvmClient) -> None:
        super().__init__(client)
        self._registry_abi = load_artifact("PersonalInfo").abi

    # -- reasons -----------------------------------------------------------------------

    def code(self, suffix: str) -> str:
        """This token's six-digit code for ``suffix`` (e.g. ``0401`` -> ``110401``)."""
        return self.prefix + suffix

    def refusal(self, raw_code: str | None, raw_message: str | None) -> Refusal:
        """Canonical refusal for a six-digit ibet code (UNKNOWN keeps the raw values)."""
        code = from_ibet(raw_code) if raw_code else R.UNKNOWN
        if raw_message is None and raw_code:
            bond = raw_code.startswith("12") and raw_code[2:] in IBET_BOND_MESSAGES
            table = IBET_BOND_MESSAGES if bond else IBET_MESSAGES
            raw_message = table.get(raw_code[2:])
        return Refusal(
            code=code,
            source_standard=self.standard,
            raw_code=raw_code,
            raw_message=raw_message,
            detail=f"ibet {raw_code}: {raw_message}" if raw_code else (raw_message or "refused"),
        )

    def refuse(self, suffix: str) -> Refusal:
        """The refusal this token gives with code suffix ``suffix``."""
        return self.refusal(self.code(suffix), None)

    def reason_of(self, revert: RevertInfo) -> ReasonCode:
        """Canonical reason of a revert whose string is a six-digit ibet code."""
        if revert.message:
            return from_ibet(revert.message)
        return R.UNKNOWN

    # -- state ---------------------------------------------------------------------------

    def state(self, address: str, block: int | str = "latest") -> TokenState:
        """The token-wide switches at ``block``."""
        c = self.token(address)
        return TokenState(
            owner=str(self.read(c.functions.owner(), block)),
            transferable=bool(self.read(c.functions.transferable(), block)),
            approval_required=bool(self.read(c.functions.transferApprovalRequired(), block)),
            tradable_exchange=str(self.read(c.functions.tradableExchange(), block)),
            personal_info=str(self.read(c.functions.personalInfoAddress(), block)),
            require_personal_info=bool(
                self.read(c.functions.requirePersonalInfoRegistered(), block)
            ),
            status=bool(self.read(c.functions.status(), block)),
        )

    def registry(self, address: str) -> Any:
        """The PersonalInfo register at ``address`` (web3 contract)."""
        return self.client.contract(address, self._registry_abi)

    def is_registered(self, state: TokenState, account: str, block: int | str = "latest") -> bool:
        """Whether the token would deliver to ``account`` (issuer, not required, registered)."""
        if account == state.owner or not state.require_personal_info:
            return True
        if state.personal_info == ZERO_ADDRESS or not self.client.code_at(state.personal_info):
            return False
        registry = self.registry(state.personal_info)
        return bool(self.read(registry.functions.isRegistered(account, state.owner), block))

    def logs(self, address: str, topics: Sequence[str], height: int) -> list[Any]:
        """Logs of ``address`` up to ``height`` whose first topic is one of ``topics``."""
        return list(self.client.logs(address=address, topics=[list(topics)], to_block=height))

    def lock_map(self, address: str, height: int) -> dict[str, set[str]]:
        """Account -> lock addresses that ever held its units (one scan of the events)."""
        found: dict[str, set[str]] = {}
        for entry in self.logs(
            address, (LOCK_TOPIC, FORCE_LOCK_TOPIC, ISSUE_TOPIC, CHANGE_LOCKED_TOPIC), height
        ):
            t = entry["topics"]
            kind = "0x" + bytes(t[0]).hex()
            if kind in (LOCK_TOPIC, FORCE_LOCK_TOPIC):
                account, lock = topic_address(t[1]), topic_address(t[2])
            elif kind == ISSUE_TOPIC:
                account, lock = topic_address(t[2]), topic_address(t[3])
            else:
                account, lock = topic_address(t[3]), topic_address(t[1])
            if lock != ZERO_ADDRESS:
                found.setdefault(account, set()).add(lock)
        return found

    def _holding_at(
        self, address: str, account: str, height: int, locks: Mapping[str, set[str]]
    ) -> Holding:
        c = self.token(address)
        balance = int(self.read(c.functions.balanceOf(account), height))
        pending = int(self.read(c.functions.pendingTransfer(account), height))
        locked: dict[str, int] = {}
        for lock in sorted(locks.get(account, ())):
            amount = int(self.read(c.functions.lockedOf(lock, account), height))
            if amount:
                locked[lock] = amount
        return Holding(
            holder=account, balance=balance, free=balance, locked=locked, pending=pending
        )

    # -- reads ---------------------------------------------------------------------------

    @abstractmethod
    def terms(self, address: str, height: int) -> InstrumentTerms | None:
        """The instrument terms of the token (per subclass)."""

    @abstractmethod
    def retired(self, address: str, height: int) -> bool:
        """True once the instrument is cancelled (share) or redeemed (bond)."""

    def registered_accounts(self, state: TokenState, height: int) -> list[str]:
        """Accounts registered with the issuer in the token's PersonalInfo (confirmed)."""
        if state.personal_info == ZERO_ADDRESS or not self.client.code_at(state.personal_info):
            return []
        owner_topic = "0x" + "00" * 12 + state.owner[2:].lower()
        seen: set[str] = set()
        for entry in self.client.logs(
            address=state.personal_info,
            topics=[REGISTER_TOPIC, None, owner_topic],
            to_block=height,
        ):
            seen.add(topic_address(entry["topics"][1]))
        registry = self.registry(state.personal_info)
        return [
            a
            for a in sorted(seen)
            if self.read(registry.functions.isRegistered(a, state.owner), height)
        ]

    def read_asset(self, ref: AssetRef) -> Asset:
        """The canonical asset: supply, switches, terms, rules and roles at one block."""
        address = self.locate(ref)
        contract = self.require_token(address)
        height = self.client.head()
        state = self.state(address, height)
        rules: list[Rule] = []
        if state.approval_required:
            rules.append(IssuerApprovalRule(source=f"{address}#transferApprovalRequired"))
        if state.require_personal_info:
            # only the receiver must be registered, and the issuer always receives
            registered = {state.owner, *self.registered_accounts(state, height)}
            rules.append(
                AllowListRule(
                    addresses=tuple(sorted(registered)),
                    scope="recipient",
                    source=f"{state.personal_info}#isRegistered(account,{state.owner})",
                )
            )
        roles = [RoleAssignment(role="issuer", holder=state.owner)]
        if state.tradable_exchange != ZERO_ADDRESS:
            roles.append(RoleAssignment(role="tradable_exchange", holder=state.tradable_exchange))
        if state.personal_info != ZERO_ADDRESS:
            roles.append(RoleAssignment(role="personal_info_register", holder=state.personal_info))
        return Asset(
            chain=ref.chain,
            locator=ref.locator,
            standard=self.standard,
            name=str(self.read(contract.functions.name(), height)),
            symbol=str(self.read(contract.functions.symbol(), height)),
            decimals=0,
            total_supply=int(self.read(contract.functions.totalSupply(), height)),
            paused=False,
            active=state.status and not self.retired(address, height),
            transferable=state.transferable,
            home_jurisdiction="JP",
            issuer=state.owner,
            terms=self.terms(address, height),
            rules=tuple(rules),
            controls=tuple(self.capabilities),
            roles=tuple(roles),
            read_at_height=height,
        )

    def holding(self, ref: AssetRef, holder: str) -> Holding:
        """One holder: free balance, locked per lock address, pending applications."""
        address = self.locate(ref)
        account = self.evm_address(holder, "holder")
        self.require_token(address)
        height = self.client.head()
        return self._holding_at(address, account, height, self.lock_map(address, height))

    def parties(self, address: str, *, from_height: int, to_height: int) -> list[str]:
        """Every account that may hold a position, from the token's events (sorted).

        ibet's constructor logs nothing, so the issuer's initial balance has no event: the
        issuer at ``to_height`` and every owner named by ``OwnershipTransferred`` are
        included too.
        """
        seen: set[str] = {str(self.read(self.token(address).functions.owner(), to_height))}
        topics = (
            OWNERSHIP_TOPIC,
            TRANSFER_TOPIC,
            ISSUE_TOPIC,
            LOCK_TOPIC,
            FORCE_LOCK_TOPIC,
            UNLOCK_TOPIC,
            FORCE_UNLOCK_TOPIC,
            CHANGE_LOCKED_TOPIC,
            APPLY_TOPIC,
        )
        for entry in self.client.logs(
            address=address, topics=[list(topics)], from_block=from_height, to_block=to_height
        ):
            t = entry["topics"]
            kind = "0x" + bytes(t[0]).hex()
            data = bytes(entry["data"])
            if kind in (TRANSFER_TOPIC, ISSUE_TOPIC):
                seen.add(topic_address(t[2]))
            elif kind == OWNERSHIP_TOPIC:
                seen.update((topic_address(t[1]), topic_address(t[2])))
            elif kind in (LOCK_TOPIC, FORCE_LOCK_TOPIC):
                seen.add(topic_address(t[1]))
            elif kind in (UNLOCK_TOPIC, FORCE_UNLOCK_TOPIC):
                seen.add(topic_address(t[1]))
                seen.add(_data_address(data, 0))
            elif kind == CHANGE_LOCKED_TOPIC:
                seen.add(topic_address(t[3]))
            elif kind == APPLY_TOPIC:
                seen.add(_data_address(data, 0))
        seen.discard(ZERO_ADDRESS)
        return sorted(seen)

    def holders(
        self,
        ref: AssetRef,
        *,
        from_height: int = 0,
        progress: Callable[[int, int], None] | None = None,
    ) -> Iterator[Holding]:
        """Every account with a non-zero position (free, locked or pending)."""
        address = self.locate(ref)
        self.require_token(address)
        height = self.client.head()
        accounts = self.parties(address, from_height=from_height, to_height=height)
        locks = self.lock_map(address, height)
        for done, account in enumerate(accounts, start=1):
            holding = self._holding_at(address, account, height, locks)
            if progress is not None:
                progress(done, len(accounts))
            if holding.balance or holding.total_locked or holding.pending:
                yield holding

    def eligibility(self, ref: AssetRef, wallet: str) -> Eligibility:
        """Eligible when the token would deliver to ``wallet`` (PersonalInfo registration)."""
        address = self.locate(ref)
        account = self.evm_address(wallet, "wallet")
        self.require_token(address)
        height = self.client.head()
        state = self.state(address, height)
        eligible = self.is_registered(state, account, height)
        investor = Investor(
            identity_ref=account,
            identity_source=IdentitySource.IBET_PERSONAL_INFO,
            wallets=(account,),
        )
        return Eligibility(
            asset=ref,
            wallet=account,
            eligible=eligible,
            investor=investor if eligible else None,
            missing=() if eligible else ("personal_info_registration",),
        )

    def pending_transfers(self, ref: AssetRef) -> list[PendingTransfer]:
        """Applications still waiting for approval (valid), oldest first."""
        address = self.locate(ref)
        contract = self.require_token(address)
        height = self.client.head()
        out: list[PendingTransfer] = []
        for entry in self.logs(address, (APPLY_TOPIC,), height):
            index = int.from_bytes(bytes(entry["topics"][1]), "big")
            sender, recipient, amount, valid = self.read(
                contract.functions.applicationsForTransfer(index), height
            )
            if valid:
                out.append(
                    PendingTransfer(
                        index=index,
                        sender=validate_evm_address(sender),
                        recipient=validate_evm_address(recipient),
                        amount=int(amount),
                    )
                )
        return out

    # -- dry runs --------------------------------------------------------------------------

    def _parties(self, intent: TransferIntent) -> tuple[str, str, str, str | None]:
        address = self.locate(intent.asset)
        sender = self.evm_address(intent.sender, "sender")
        recipient = self.evm_address(intent.recipient, "recipient")
        operator = (
            self.evm_address(intent.operator, "operator") if intent.operator is not None else None
        )
        if intent.partition is not None:
            raise InvalidInput("partition", "an ibet token has no partitions")
        return address, sender, recipient, operator

    def check_transfer(self, intent: TransferIntent) -> TransferCheck:
        """The chain's verdict on ``intent`` from reads at one block; nothing is sent.

        Refusals come in the contract's check order: the first is the revert code the chain
        gives. An ``operator`` other than the sender makes it the issuer's ``transferFrom``.
        A contract receiver runs its own ``tokenFallback`` hook, which no state read can
        predict: when every token check passes, the call is simulated (``eth_call`` at the
        same block) and a hook that reverts is an ``INVALID_RECEIVER`` refusal.
        """
        address, sender, recipient, operator = self._parties(intent)
        contract = self.require_token(address)
        height = self.client.head()
        state = self.state(address, height)
        balance = int(self.read(contract.functions.balanceOf(sender), height))
        to_contract = bool(self.client.code_at(recipient))
        refusals: list[Refusal] = []
        forced = operator is not None and operator != sender
        if forced:
            if operator != state.owner:
                refusals.append(self.refusal(_OWNER_CODE, "only the issuer may force a transfer"))
            if balance < intent.amount:
                refusals.append(self.refuse("0601"))
        else:
            if balance < intent.amount:
                refusals.append(self.refuse("0401"))
            if not state.transferable:
                refusals.append(self.refuse("0402"))
            if to_contract:
                if recipient != state.tradable_exchange:
                    refusals.append(self.refuse("0301"))
            else:
                if sender != state.tradable_exchange and state.approval_required:
                    refusals.append(self.refuse("0201"))
                if not self.is_registered(state, recipient, height):
                    refusals.append(self.refuse("0202"))
        if to_contract and not refusals:
            caller = operator if forced and operator is not None else sender
            fn = "transferFrom" if forced else "transfer"
            args: list[Any] = [recipient, intent.amount]
            if forced:
                args = [sender, *args]
            hook = self._receiver_hook(address, caller, contract.encode_abi(fn, args=args), height)
            if hook is not None:
                refusals.append(hook)
        return TransferCheck(intent=intent, allowed=not refusals, refusals=tuple(refusals))

    def _receiver_hook(self, address: str, caller: str, data: str, height: int) -> Refusal | None:
        """Simulate a transfer into a contract; the refusal if its ``tokenFallback`` reverts."""
        try:
            self.client.call({"from": caller, "to": address, "data": data}, block=height)
        except EvmReverted as exc:
            return Refusal(
                code=R.INVALID_RECEIVER,
                source_standard=self.standard,
                raw_code=exc.revert.message,
                raw_message=exc.revert.describe(),
                detail=f"the receiving contract refused the units: {exc.revert.describe()}",
            )
        return None

    def check_apply_for_transfer(self, intent: TransferIntent) -> TransferCheck:
        """Dry run of ``applyForTransfer`` (approval flow), in the contract's check order."""
        address, sender, recipient, operator = self._parties(intent)
        if operator is not None and operator != sender:
            raise InvalidInput("operator", "only the sender applies for its own transfer")
        contract = self.require_token(address)
        height = self.client.head()
        state = self.state(address, height)
        balance = int(self.read(contract.functions.balanceOf(sender), height))
        refusals: list[Refusal] = []
        if not state.approval_required or not state.transferable or balance < intent.amount:
            refusals.append(self.refuse("0701"))
        if not self.is_registered(state, recipient, height):
            refusals.append(self.refuse("0702"))
        return TransferCheck(intent=intent, allowed=not refusals, refusals=tuple(refusals))

    def check_unlock(
        self, ref: AssetRef, *, lock_address: str, account: str, recipient: str, amount: int
    ) -> TransferCheck:
        """Dry run of ``unlock`` by ``lock_address``, plus the checks ibet's unlock skips.

        The token only checks the locked amount (``XX0102``); stbridge also refuses a release
        while the token is not transferable, or to a recipient that is not registered (the
        refusals it adds carry no native code, and say so).
        """
        address = self.locate(ref)
        lock = self.evm_address(lock_address, "lock_address")
        holder = self.evm_address(account, "account")
        to = self.evm_address(recipient, "recipient")
        value = self.amount(amount)
        contract = self.require_token(address)
        height = self.client.head()
        state = self.state(address, height)
        intent = TransferIntent(asset=ref, sender=holder, recipient=to, amount=value, operator=lock)
        refusals: list[Refusal] = []
        if int(self.read(contract.functions.lockedOf(lock, holder), height)) < value:
            refusals.append(self.refuse("0102"))
        if not state.transferable:
            refusals.append(
                _policy(self.standard, R.NOT_TRANSFERABLE, "the token is not transferable")
            )
        if not self.is_registered(state, to, height):
            refusals.append(
                _policy(
                    self.standard,
                    R.RECIPIENT_NOT_ELIGIBLE,
                    "the recipient has not registered personal information with the issuer",
                )
            )
        return TransferCheck(intent=intent, allowed=not refusals, refusals=tuple(refusals))

    # -- sending ----------------------------------------------------------------------------

    def send_call(
        self, signer: Signer, address: str, data: str, what: str, *, gas: int | None = None
    ) -> TxReceipt:
        """Sign and send; a revert raises ``EvmReverted`` with its canonical reason.

        Without ``gas`` the call is estimated first (a would-be revert sends nothing); with
        ``gas`` it is mined as is, and a failure is the chain's own revert.
        """
        try:
            return self.client.transact(
                signer, address, bytes.fromhex(data.removeprefix("0x")), gas=gas
            )
        except EvmReverted as exc:
            raise EvmReverted(
                f"{what} reverted: {exc.revert.describe()}",
                revert=exc.revert,
                tx_id=exc.tx_id,
                reason=self.reason_of(exc.revert),
            ) from exc

    def transfer(
        self, intent: TransferIntent, signer: Signer, *, gas: int | None = None
    ) -> TxReceipt:
        """Send ``intent``: ``transfer`` by the sender, or the issuer's ``transferFrom``."""
        address, sender, recipient, operator = self._parties(intent)
        amount = self.amount(intent.amount)
        contract = self.require_token(address)
        if operator is not None and operator != sender:
            self.require_signer(signer, operator, "operator")
            data = contract.encode_abi("transferFrom", args=[sender, recipient, amount])
        else:
            self.require_signer(signer, sender, "sender")
            data = contract.encode_abi("transfer", args=[recipient, amount])
        return self.send_call(signer, address, data, "transfer", gas=gas)

    def apply_for_transfer(
        self, intent: TransferIntent, signer: Signer, *, data: str = "", gas: int | None = None
    ) -> tuple[int, TxReceipt]:
        """Apply for a transfer needing approval; return the application index and receipt."""
        address, sender, recipient, operator = self._parties(intent)
        if operator is not None and operator != sender:
            raise InvalidInput("operator", "only the sender applies for its own transfer")
        amount = self.amount(intent.amount)
        self.require_signer(signer, sender, "sender")
        contract = self.require_token(address)
        call = contract.encode_abi("applyForTransfer", args=[recipient, amount, data])
        receipt = self.send_call(signer, address, call, "applyForTransfer", gas=gas)
        for entry in self.client.receipt(receipt.tx_id)["logs"]:
            topics = entry["topics"]
            if topics and "0x" + bytes(topics[0]).hex() == APPLY_TOPIC:
                return int.from_bytes(bytes(topics[1]), "big"), receipt
        raise BridgeError(f"applyForTransfer {receipt.tx_id} emitted no ApplyForTransfer event")

    def cancel_transfer(
        self, ref: AssetRef, index: int, signer: Signer, *, data: str = ""
    ) -> TxReceipt:
        """Cancel application ``index`` (the applicant or the issuer signs); units return."""
        address = self.locate(ref)
        contract = self.require_token(address)
        call = contract.encode_abi("cancelTransfer", args=[self.amount(index, "index"), data])
        return self.send_call(signer, address, call, "cancelTransfer")

    def lock(
        self, ref: AssetRef, *, lock_address: str, amount: int, signer: Signer, data: str = ""
    ) -> TxReceipt:
        """The signer locks ``amount`` of its free units to ``lock_address``."""
        address = self.locate(ref)
        lock = self.evm_address(lock_address, "lock_address")
        contract = self.require_token(address)
        call = contract.encode_abi("lock", args=[lock, self.amount(amount), data])
        return self.send_call(signer, address, call, "lock")

    def unlock(
        self,
        ref: AssetRef,
        *,
        account: str,
        recipient: str,
        amount: int,
        signer: Signer,
        data: str = "",
        enforce: bool = True,
    ) -> TxReceipt:
        """The lock address (signer) releases ``amount`` of ``account``'s units to ``recipient``.

        With ``enforce`` (the default) the checks ibet's ``unlock`` skips are run first
        (:meth:`check_unlock`); a refusal raises ``TransferRefused`` and nothing is sent.
        """
        address = self.locate(ref)
        holder = self.evm_address(account, "account")
        to = self.evm_address(recipient, "recipient")
        value = self.amount(amount)
        if enforce:
            verdict = self.check_unlock(
                ref, lock_address=signer.address, account=holder, recipient=to, amount=value
            )
            policy = [r for r in verdict.refusals if r.raw_code is None]
            if policy:
                raise TransferRefused(f"unlock refused: {policy[0].detail}", refusals=tuple(policy))
        contract = self.require_token(address)
        call = contract.encode_abi("unlock", args=[holder, to, value, data])
        return self.send_call(signer, address, call, "unlock")

    # -- agent operations -----------------------------------------------------------------

    def agent_operation(
        self, ref: AssetRef, capability: Capability, signer: Signer, **params: object
    ) -> TxReceipt:
        """Run one issuer operation (see the module docstring for the parameters)."""
        address = self.locate(ref)
        if capability not in self.capabilities:
            raise self.unsupported(capability)
        contract = self.require_token(address)
        if capability is Capability.IDENTITY_REGISTRATION:
            return self._register(address, signer, params)
        fn, args = self._operation(capability, params)
        return self.send_call(signer, address, contract.encode_abi(fn, args=args), str(capability))

    def check_agent_operation(
        self,
        ref: AssetRef,
        capability: Capability,
        agent: str,
        *,
        simulate: bool = True,
        **params: object,
    ) -> AgentOperationCheck:
        """Dry-run an issuer operation signed by ``agent`` (parameters as for
        :meth:`agent_operation`); nothing is sent.

        The refusals come in the contract's order, each with the six-digit code the token
        reverts with as ``raw_code``; a forced transfer into a contract also simulates the
        receiver's hook. With ``simulate`` the call runs as an ``eth_call`` from ``agent``
        too (its raw revert on the first refusal; one the reads did not predict becomes a
        refusal of its own). Registration (``IDENTITY_REGISTRATION``) is refused, as
        :meth:`agent_operation` refuses it, unless ``agent`` is the issuer and the token
        has a register.
        """
        address = self.locate(ref)
        if capability not in self.capabilities:
            raise self.unsupported(capability)
        who = self.evm_address(agent, "agent")
        contract = self.require_token(address)
        height = self.client.head()
        state = self.state(address, height)
        if capability is Capability.IDENTITY_REGISTRATION:
            self.params(params, ("wallet",), ("encrypted_info",))
            wallet = self.evm_address(params["wallet"], "wallet")
            refusals: list[Refusal] = []
            if who != state.owner:
                refusals.append(self.refusal(_OWNER_CODE, "only the issuer registers a wallet"))
            elif state.personal_info == ZERO_ADDRESS:
                refusals.append(
                    _policy(self.standard, R.TRANSFER_FAILURE, "the token has no register")
                )
            registry = self.registry(state.personal_info)
            data = registry.encode_abi("forceRegister", args=[wallet, ""])
            return agent_check(
                self,
                ref,
                capability,
                who,
                (state.personal_info, data),
                refusals,
                params=params,
                simulate=simulate and not refusals,
                height=height,
            )
        fn, args = self._operation(capability, params)
        data = contract.encode_abi(fn, args=args)
        refusals = self._agent_refusals(address, state, who, fn, args, data, height)
        return agent_check(
            self,
            ref,
            capability,
            who,
            (address, data),
            refusals,
            params=params,
            simulate=simulate,
            height=height,
        )

    def check_bulk_forced_transfer(
        self,
        ref: AssetRef,
        agent: str,
        items: Sequence[tuple[str, str, int]],
        *,
        simulate: bool = True,
    ) -> AgentOperationCheck:
        """Dry-run ``bulkTransferFrom`` (the issuer's forced transfers, item by item as
        ``transferFrom``, all or nothing): the issuer (``500001``), then each item's
        balance after the items before it (``XX0601``); a contract receiver's hook and,
        with ``simulate``, the whole call run as an ``eth_call`` from ``agent``."""
        address = self.locate(ref)
        who = self.evm_address(agent, "agent")
        contract = self.require_token(address)
        height = self.client.head()
        state = self.state(address, height)
        moves = [
            (self.evm_address(a, "sender"), self.evm_address(b, "recipient"), self.amount(v))
            for a, b, v in items
        ]
        data = contract.encode_abi(
            "bulkTransferFrom",
            args=[[m[0] for m in moves], [m[1] for m in moves], [m[2] for m in moves]],
        )
        refusals: list[Refusal] = []
        if who != state.owner:
            refusals.append(self.refusal(_OWNER_CODE, None))
        else:
            f = contract.functions
            balances: dict[str, int] = {}
            for sender, recipient, value in moves:
                if sender not in balances:
                    balances[sender] = int(self.read(f.balanceOf(sender), height))
                if balances[sender] < value:
                    refusals.append(self.refuse("0601"))
                    break
                if self.client.code_at(recipient):
                    # a receiving contract's hook runs here: no read predicts it (nor what
                    # it does to later items), so the whole call is simulated
                    try:
                        self.client.call({"from": who, "to": address, "data": data}, block=height)
                    except EvmReverted as exc:
                        message = exc.revert.message or ""
                        if message.isdigit() and len(message) == 6:
                            refusals.append(self.refusal(message, None))
                        else:
                            hook = self._receiver_hook(address, who, data, height)
                            refusals.extend([hook] if hook is not None else [])
                    break
                balances[sender] -= value
                if recipient not in balances:
                    balances[recipient] = int(self.read(f.balanceOf(recipient), height))
                balances[recipient] += value
        params: dict[str, object] = {"items": len(moves)}
        return agent_check(
            self,
            ref,
            Capability.FORCED_TRANSFER,
            who,
            (address, data),
            refusals,
            params=params,
            simulate=simulate,
            height=height,
        )

    def check_bulk_transfer(
        self,
        ref: AssetRef,
        sender: str,
        items: Sequence[tuple[str, int]],
        *,
        simulate: bool = True,
    ) -> BulkTransferCheck:
        """Dry-run a holder's ``bulkTransfer`` (all or nothing): the total of the values
        (an overflow panics first), then the token's own checks on the whole list in its
        order (the share: approval required ``0501``, total above the free balance
        ``0503``, not transferable ``0504``; the bond numbers them ``0502``-``0503``
        without the approval check), then each item as a transfer: a contract other than
        the tradable exchange (``0301``), approval required (``0201``), an unregistered
        receiver (``0202``). A receiving contract's hook, and with ``simulate`` the whole
        call from ``sender``, run as an ``eth_call``."""
        address = self.locate(ref)
        who = self.evm_address(sender, "sender")
        contract = self.require_token(address)
        height = self.client.head()
        state = self.state(address, height)
        moves = [(self.evm_address(to, "recipient"), self.amount(v)) for to, v in items]
        data = contract.encode_abi(
            "bulkTransfer", args=[[m[0] for m in moves], [m[1] for m in moves]]
        )
        refusals: list[Refusal] = []
        total = sum(v for _, v in moves)
        if total > _UINT256_MAX:
            refusals.append(_panic(self.standard, 0x11, "the values' total overflows"))
        else:
            balance = int(self.read(contract.functions.balanceOf(who), height))
            allowed = who == state.tradable_exchange or state.transferable
            checks = [(balance >= total, "0502"), (allowed, "0503")]
            if self.prefix == "11":  # the share checks the approval flow first
                checks = [(not state.approval_required, "0501"), (balance >= total, "0503")]
                checks.append((allowed, "0504"))
            refusals.extend(self.refuse(code) for ok, code in checks if not ok)
        if not refusals:
            for recipient, _value in moves:
                if self.client.code_at(recipient):
                    if recipient != state.tradable_exchange:
                        refusals.append(self.refuse("0301"))
                        break
                    hook = self._receiver_hook(address, who, data, height)
                    refusals.extend([hook] if hook is not None else [])
                    break
                if who != state.tradable_exchange and state.approval_required:
                    refusals.append(self.refuse("0201"))
                    break
                if not self.is_registered(state, recipient, height):
                    refusals.append(self.refuse("0202"))
                    break
        if simulate:
            refusals = self._simulated(who, address, data, height, refusals)
        return BulkTransferCheck(
            asset=ref, sender=who, items=len(moves), allowed=not refusals, refusals=tuple(refusals)
        )

    def _bulk_call(
        self,
        name: str,
        ref: AssetRef,
        agent: str,
        items: Sequence[tuple[str, str | None, int]],
    ) -> tuple[str, str, Any, int, TokenState, list[tuple[str, str, int]], Any]:
        """What ``bulkIssueFrom``/``bulkRedeemFrom`` dry runs share: the token, the agent,
        the block and state they are judged at, the items as (target, lock address or the
        zero address, amount) and the call's calldata."""
        address = self.locate(ref)
        who = self.evm_address(agent, "agent")
        contract = self.require_token(address)
        height = self.client.head()
        state = self.state(address, height)
        rows = [
            (
                self.evm_address(target, "target"),
                ZERO_ADDRESS if lock is None else self.evm_address(lock, "lock_address"),
                self.amount(v),
            )
            for target, lock, v in items
        ]
        columns = [[r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]]
        return address, who, contract, height, state, rows, contract.encode_abi(name, args=columns)

    def check_bulk_issue(
        self,
        ref: AssetRef,
        agent: str,
        items: Sequence[tuple[str, str | None, int]],
        *,
        simulate: bool = True,
    ) -> AgentOperationCheck:
        """Dry-run ``bulkIssueFrom`` (the issuer's issuances, item by item as
        ``issueFrom`` -- to the free balance, or locked to a lock address -- all or
        nothing): the issuer (``500001``), then the total supply (an overflow panics)."""
        address, who, contract, height, state, rows, data = self._bulk_call(
            "bulkIssueFrom", ref, agent, items
        )
        refusals: list[Refusal] = []
        if who != state.owner:
            refusals.append(self.refusal(_OWNER_CODE, None))
        else:
            supply = int(self.read(contract.functions.totalSupply(), height))
            if supply + sum(r[2] for r in rows) > _UINT256_MAX:
                refusals.append(_panic(self.standard, 0x11, "the total supply overflows"))
        return agent_check(
            self,
            ref,
            Capability.MINT,
            who,
            (address, data),
            refusals,
            params={"items": len(rows)},
            simulate=simulate,
            height=height,
        )

    def check_bulk_redeem(
        self,
        ref: AssetRef,
        agent: str,
        items: Sequence[tuple[str, str | None, int]],
        *,
        simulate: bool = True,
    ) -> AgentOperationCheck:
        """Dry-run ``bulkRedeemFrom`` (the issuer's redemptions, item by item as
        ``redeemFrom``, all or nothing): the issuer (``500001``), then each item on what
        the items before it left: locked units (``1101``) or the free balance (``1102``)."""
        address, who, contract, height, state, rows, data = self._bulk_call(
            "bulkRedeemFrom", ref, agent, items
        )
        refusals: list[Refusal] = []
        if who != state.owner:
            refusals.append(self.refusal(_OWNER_CODE, None))
        else:
            f = contract.functions
            left: dict[tuple[str, str], int] = {}
            for target, lock, value in rows:
                key = (lock, target)
                if key not in left:
                    read = f.balanceOf(target) if lock == ZERO_ADDRESS else f.lockedOf(lock, target)
                    left[key] = int(self.read(read, height))
                if left[key] < value:
                    refusals.append(self.refuse("1102" if lock == ZERO_ADDRESS else "1101"))
                    break
                left[key] -= value
        return agent_check(
            self,
            ref,
            Capability.BURN,
            who,
            (address, data),
            refusals,
            params={"items": len(rows)},
            simulate=simulate,
            height=height,
        )

    def _simulated(
        self, caller: str, address: str, data: str, height: int, refusals: list[Refusal]
    ) -> list[Refusal]:
        """``refusals`` after running the call as an ``eth_call`` from ``caller``: the raw
        revert on the first, or a refusal of its own when the reads predicted none."""
        try:
            self.client.call({"from": caller, "to": address, "data": data}, block=height)
        except EvmReverted as exc:
            raw = exc.revert.describe()
            if refusals:
                return [refusals[0].model_copy(update={"raw_message": raw}), *refusals[1:]]
            message = exc.revert.message or ""
            if message.isdigit() and len(message) == 6:
                return [self.refusal(message, None).model_copy(update={"raw_message": raw})]
            refusal = self.refusal(None, raw)
            return [refusal.model_copy(update={"code": R.TRANSFER_FAILURE})]
        return refusals

    def _agent_refusals(
        self,
        address: str,
        state: TokenState,
        agent: str,
        fn: str,
        args: list[Any],
        data: str,
        height: int,
    ) -> list[Refusal]:
        f = self.token(address).functions
        if fn == "cancelTransfer":  # the applicant or the issuer (not onlyOwner)
            application = self._application(f, args[0], height)
            if isinstance(application, Refusal):
                return [application]
            sender, valid = application
            if agent not in (sender, state.owner):
                return [self.refuse("0801")]
            return [] if valid else [self.refuse("0802")]
        if agent != state.owner:
            return [self.refusal(_OWNER_CODE, None)]

        def free(account: str) -> int:
            return int(self.read(f.balanceOf(account), height))

        def locked(lock: str, account: str) -> int:
            return int(self.read(f.lockedOf(lock, account), height))

        if fn == "redeemFrom":
            account, lock, amount = args
            if lock != ZERO_ADDRESS:
                return [self.refuse("1101")] if locked(lock, account) < amount else []
            return [self.refuse("1102")] if free(account) < amount else []
        if fn == "transferFrom":
            sender, recipient, amount = args
            if free(sender) < amount:
                return [self.refuse("0601")]
            if self.client.code_at(recipient):
                hook = self._receiver_hook(address, agent, data, height)
                return [] if hook is None else [hook]
            return []
        if fn == "forceLock":
            lock, account, amount, _ = args
            return [self.refuse("1601")] if free(account) < amount else []
        if fn == "forceUnlock":
            lock, account, _, amount, _ = args
            return [self.refuse("1201")] if locked(lock, account) < amount else []
        if fn == "forceChangeLockedAccount":
            lock, account, _, amount, _ = args
            return [self.refuse("1701")] if locked(lock, account) < amount else []
        if fn == "approveTransfer":
            if not state.transferable:
                return [self.refuse("0901")]
            application = self._application(f, args[0], height)
            if isinstance(application, Refusal):
                return [application]
            return [] if application[1] else [self.refuse("0902")]
        return []

    def _application(self, f: Any, index: int, height: int) -> tuple[str, bool] | Refusal:
        """Transfer application ``index``: (applicant, valid), or the panic of a missing one."""
        try:
            sender, _, _, valid = self.read(f.applicationsForTransfer(index), height)
        except BridgeError:  # no such application: the array index panics
            return Refusal(
                code=R.TRANSFER_FAILURE,
                source_standard=self.standard,
                raw_code="Panic(0x32)",
                raw_message="Panic(0x32)",
                detail=f"no transfer application {index}",
            )
        return validate_evm_address(sender), bool(valid)

    def _register(self, address: str, signer: Signer, params: Mapping[str, object]) -> TxReceipt:
        self.params(params, ("wallet",), ("encrypted_info",))
        wallet = self.evm_address(params["wallet"], "wallet")
        info = params.get("encrypted_info", "")
        if not isinstance(info, str):
            raise InvalidInput("encrypted_info", "text (encrypted off-chain)", value=info)
        state = self.state(address)
        self.require_signer(signer, state.owner, "signer")
        if state.personal_info == ZERO_ADDRESS:
            raise InvalidInput("personalInfoAddress", "the token has no PersonalInfo register")
        registry = self.registry(state.personal_info)
        data = registry.encode_abi("forceRegister", args=[wallet, info])
        return self.send_call(signer, state.personal_info, data, "forceRegister")

    def _operation(
        self, capability: Capability, params: Mapping[str, object]
    ) -> tuple[str, list[Any]]:
        if capability is Capability.MINT:
            self.params(params, ("to", "amount"), ("lock_address",))
            to = self.evm_address(params["to"], "to")
            amount = self.amount(params["amount"])
            return "issueFrom", [to, self._lock_or_zero(params), amount]
        if capability is Capability.BURN:
            self.params(params, ("account", "amount"), ("lock_address",))
            account = self.evm_address(params["account"], "account")
            amount = self.amount(params["amount"])
            return "redeemFrom", [account, self._lock_or_zero(params), amount]
        if capability is Capability.FORCED_TRANSFER:
            self.params(params, ("sender", "recipient", "amount"))
            sender = self.evm_address(params["sender"], "sender")
            recipient = self.evm_address(params["recipient"], "recipient")
            return "transferFrom", [sender, recipient, self.amount(params["amount"])]
        if capability is Capability.LOCKS:
            return self._lock_operation(params)
        if capability is Capability.APPROVAL_FLOW:
            return self._approval_operation(params)
        self.params(params, ("transferable",))
        return "setTransferable", [_flag(params, "transferable")]

    def _lock_or_zero(self, params: Mapping[str, object]) -> str:
        value = params.get("lock_address")
        return ZERO_ADDRESS if value is None else self.evm_address(value, "lock_address")

    def _lock_operation(self, params: Mapping[str, object]) -> tuple[str, list[Any]]:
        action = params.get("action")
        data = _text(params, "data")
        if action == "lock":
            self.params(params, ("action", "lock_address", "account", "amount"), ("data",))
            lock = self.evm_address(params["lock_address"], "lock_address")
            account = self.evm_address(params["account"], "account")
            return "forceLock", [lock, account, self.amount(params["amount"]), data]
        if action == "unlock":
            self.params(
                params, ("action", "lock_address", "account", "recipient", "amount"), ("data",)
            )
            lock = self.evm_address(params["lock_address"], "lock_address")
            account = self.evm_address(params["account"], "account")
            recipient = self.evm_address(params["recipient"], "recipient")
            return "forceUnlock", [lock, account, recipient, self.amount(params["amount"]), data]
        if action == "change_account":
            self.params(
                params, ("action", "lock_address", "account", "new_account", "amount"), ("data",)
            )
            lock = self.evm_address(params["lock_address"], "lock_address")
            account = self.evm_address(params["account"], "account")
            new_account = self.evm_address(params["new_account"], "new_account")
            return "forceChangeLockedAccount", [
                lock,
                account,
                new_account,
                self.amount(params["amount"]),
                data,
            ]
        raise InvalidInput("action", "'lock', 'unlock' or 'change_account'", value=action)

    def _approval_operation(self, params: Mapping[str, object]) -> tuple[str, list[Any]]:
        action = params.get("action")
        if action in ("approve", "cancel"):
            self.params(params, ("action", "index"), ("data",))
            index = self.amount(params["index"], "index")
            fn = "approveTransfer" if action == "approve" else "cancelTransfer"
            return fn, [index, _text(params, "data")]
        if action == "require":
            self.params(params, ("action", "required"))
            return "setTransferApprovalRequired", [_flag(params, "required")]
        raise InvalidInput("action", "'approve', 'cancel' or 'require'", value=action)


_UINT256_MAX: Final = 2**256 - 1


@dataclass(frozen=True)
class BulkTransferCheck:
    """The verdict of a holder's ``bulkTransfer`` dry run (all or nothing; nothing sent):
    refused with the same canonical reasons as a transfer, the first carrying the
    token's code (and, simulated, its raw revert)."""

    asset: AssetRef
    sender: str
    items: int
    allowed: bool
    refusals: tuple[Refusal, ...] = ()

    @property
    def reason(self) -> ReasonCode:
        """The first refusal's canonical code (``OK`` when allowed)."""
        return self.refusals[0].code if self.refusals else R.OK


def _panic(standard: Standard, code: int, detail: str) -> Refusal:
    raw = f"Panic(0x{code:02x})"
    return Refusal(
        code=R.TRANSFER_FAILURE,
        source_standard=standard,
        raw_code=raw,
        raw_message=raw,
        detail=detail,
    )


def _policy(standard: Standard, code: ReasonCode, message: str) -> Refusal:
    return Refusal(
        code=code,
        source_standard=standard,
        raw_code=None,
        raw_message=None,
        detail=f"stbridge check (the token's unlock does not check this): {message}",
    )


def _flag(params: Mapping[str, object], name: str) -> bool:
    value = params[name]
    if not isinstance(value, bool):
        raise InvalidInput(name, "True or False", value=value)
    return value


def _text(params: Mapping[str, object], name: str) -> str:
    value = params.get(name, "")
    if not isinstance(value, str):
        raise InvalidInput(name, "text", value=value)
    return value


def _currency(text: str) -> str | None:
    """An ISO 4217 code as ibet stores it; empty means yen; anything else -> None."""
    value = text.strip().upper() or "JPY"
    try:
        BondTerms(currency=value, face_value=0)
    except ValidationError:
        return None
    return value


class IbetShareAdapter(IbetAdapter):
    """ibet shares (``IbetShare``): equity terms, revert codes 11XXXX."""

    standard = Standard.IBET_SHARE
    artifact: ClassVar[str] = "IbetShare"
    prefix: ClassVar[str] = "11"

    def terms(self, address: str, height: int) -> InstrumentTerms | None:
        """Issue price, principal value, dividend and cancellation date (yen)."""
        c = self.token(address)
        dividends, record, payment = self.read(c.functions.dividendInformation(), height)
        return EquityTerms(
            currency="JPY",
            issue_price=int(self.read(c.functions.issuePrice(), height)),
            principal_value=int(self.read(c.functions.principalValue(), height)),
            dividend_per_share=int(dividends),
            dividend_record_date=_parse_date(str(record)),
            dividend_payment_date=_parse_date(str(payment)),
            cancellation_date=_parse_date(str(self.read(c.functions.cancellationDate(), height))),
        )

    def retired(self, address: str, height: int) -> bool:
        """True once the shares are cancelled."""
        return bool(self.read(self.token(address).functions.isCanceled(), height))


class IbetBondAdapter(IbetAdapter):
    """ibet straight bonds (``IbetStraightBond``): bond terms, revert codes 12XXXX."""

    standard = Standard.IBET_BOND
    artifact: ClassVar[str] = "IbetStraightBond"
    prefix: ClassVar[str] = "12"

    def terms(self, address: str, height: int) -> InstrumentTerms | None:
        """Face value, interest rate and dates, redemption date and value, currencies.

        ibet's interest rate (percent with 4 decimal places) equals the canonical rate in
        parts per million. A face value currency that is not ISO 4217 cannot be typed: the
        terms are then kept as :class:`~bridge.model.OtherTerms` with the raw attributes.
        """
        c = self.token(address)

        def text(fn: str) -> str:
            return str(self.read(getattr(c.functions, fn)(), height))

        face_currency_raw = text("faceValueCurrency")
        face_value = int(self.read(c.functions.faceValue(), height))
        rate = int(self.read(c.functions.interestRate(), height))
        dates_raw = text("interestPaymentDate")
        redemption_raw = text("redemptionDate")
        redemption_value = int(self.read(c.functions.redemptionValue(), height))
        interest_raw = text("interestPaymentCurrency")
        redemption_currency_raw = text("redemptionValueCurrency")
        currency = _currency(face_currency_raw)
        if currency is None or rate > 10_000_000:
            return OtherTerms(
                description="ibet straight bond (terms not representable canonically)",
                attributes={
                    "faceValue": str(face_value),
                    "faceValueCurrency": face_currency_raw,
                    "interestRate": str(rate),
                    "interestPaymentDate": dates_raw,
                    "redemptionDate": redemption_raw,
                    "redemptionValue": str(redemption_value),
                    "interestPaymentCurrency": interest_raw,
                    "redemptionValueCurrency": redemption_currency_raw,
                },
            )
        return BondTerms(
            currency=currency,
            face_value=face_value,
            coupon_rate_ppm=rate,
            coupon_payment_dates=_payment_dates(dates_raw),
            maturity_date=_parse_date(redemption_raw),
            redemption_value=redemption_value,
            interest_currency=_currency(interest_raw),
            redemption_currency=_currency(redemption_currency_raw),
        )

    def retired(self, address: str, height: int) -> bool:
        """True once the bond is redeemed."""
        return bool(self.read(self.token(address).functions.isRedeemed(), height))


# -- deployment ---------------------------------------------------------------------------


def deploy_personal_info(client: EvmClient, deployer: Signer) -> str:
    """Deploy a PersonalInfo register; return its address."""
    art = load_artifact("PersonalInfo")
    return str(client.deploy(deployer, art.abi, art.bytecode).address)


def _configure(
    client: EvmClient,
    adapter: IbetAdapter,
    address: str,
    issuer: Signer,
    *,
    personal_info: str,
    transferable: bool,
) -> None:
    contract = adapter.token(address)
    calls = [contract.encode_abi("setPersonalInfoAddress", args=[personal_info])]
    if transferable:
        calls.append(contract.encode_abi("setTransferable", args=[True]))
    for call in calls:
        adapter.send_call(issuer, address, call, "configure")


def deploy_ibet_share(
    client: EvmClient,
    issuer: Signer,
    *,
    name: str,
    symbol: str,
    total_supply: int,
    personal_info: str,
    issue_price: int = 0,
    principal_value: int = 0,
    dividends: int = 0,
    dividend_record_date: str = "",
    dividend_payment_date: str = "",
    cancellation_date: str = "",
    transferable: bool = True,
) -> str:
    """Deploy an IbetShare owned by ``issuer`` (who holds the whole supply); return its address."""
    adapter = IbetShareAdapter(client)
    total = adapter.amount(total_supply, "total_supply")
    register = adapter.evm_address(personal_info, "personal_info")
    art = load_artifact("IbetShare")
    contract = client.deploy(
        issuer,
        art.abi,
        art.bytecode,
        name,
        symbol,
        adapter.amount(issue_price, "issue_price"),
        total,
        adapter.amount(dividends, "dividends"),
        dividend_record_date,
        dividend_payment_date,
        cancellation_date,
        adapter.amount(principal_value, "principal_value"),
    )
    address = str(contract.address)
    _configure(client, adapter, address, issuer, personal_info=register, transferable=transferable)
    return address


def deploy_ibet_bond(
    client: EvmClient,
    issuer: Signer,
    *,
    name: str,
    symbol: str,
    total_supply: int,
    personal_info: str,
    face_value: int,
    face_value_currency: str = "JPY",
    redemption_date: str = "",
    redemption_value: int = 0,
    redemption_value_currency: str = "JPY",
    return_date: str = "",
    return_amount: str = "",
    purpose: str = "",
    interest_rate: int = 0,
    interest_payment_dates: Sequence[str] = (),
    interest_payment_currency: str = "JPY",
    transferable: bool = True,
) -> str:
    """Deploy an IbetStraightBond owned by ``issuer``; return its address.

    ``interest_rate`` is a percent with 4 decimal places (602 = 0.0602 %);
    ``interest_payment_dates`` are MMDD strings (at most 12). The constructor takes ibet's 11
    arguments, ``return_date`` and ``return_amount`` before ``purpose``.
    """
    adapter = IbetBondAdapter(client)
    if len(interest_payment_dates) > 12:
        raise InvalidInput("interest_payment_dates", "at most 12 dates (MMDD)")
    for value in interest_payment_dates:
        if len(value) != 4 or not value.isdigit():
            raise InvalidInput("interest_payment_dates", "each date is MMDD", value=value)
    register = adapter.evm_address(personal_info, "personal_info")
    art = load_artifact("IbetStraightBond")
    contract = client.deploy(
        issuer,
        art.abi,
        art.bytecode,
        name,
        symbol,
        adapter.amount(total_supply, "total_supply"),
        adapter.amount(face_value, "face_value"),
        face_value_currency,
        redemption_date,
        adapter.amount(redemption_value, "redemption_value"),
        redemption_value_currency,
        return_date,
        return_amount,
        purpose,
    )
    address = str(contract.address)
    c = adapter.token(address)
    dates = json.dumps(
        {f"interestPaymentDate{i}": d for i, d in enumerate(interest_payment_dates, start=1)}
    )
    for call in (
        c.encode_abi("setInterestRate", args=[adapter.amount(interest_rate, "interest_rate")]),
        c.encode_abi("setInterestPaymentDate", args=[dates]),
        c.encode_abi("setInterestPaymentCurrency", args=[interest_payment_currency]),
    ):
        adapter.send_call(issuer, address, call, "configure")
    _configure(client, adapter, address, issuer, personal_info=register, transferable=transferable)
    return address


# -- detection ----------------------------------------------------------------------------


def _answers(adapter: IbetAdapter, address: str, functions: Sequence[str]) -> bool:
    try:
        contract = adapter.require_token(adapter.evm_address(address, "address"))
        for fn in functions:
            adapter.read(getattr(contract.functions, fn)())
    except BridgeError:
        return False
    return True


_SECURITY_TOKEN_CALLS: Final = (
    "personalInfoAddress",
    "transferApprovalRequired",
    "transferable",
    "tradableExchange",
)


def probe_share(client: EvmClient, address: str) -> bool:
    """True when ``address`` answers the ibet security-token and share-attribute calls."""
    return _answers(
        IbetShareAdapter(client),
        address,
        (*_SECURITY_TOKEN_CALLS, "issuePrice", "principalValue", "dividendInformation"),
    )


def probe_bond(client: EvmClient, address: str) -> bool:
    """True when ``address`` answers the ibet security-token and bond-attribute calls."""
    return _answers(
        IbetBondAdapter(client),
        address,
        (*_SECURITY_TOKEN_CALLS, "faceValue", "interestRate", "redemptionValue"),
    )


SPEC_SHARE: Final = AdapterSpec(
    standard=Standard.IBET_SHARE,
    family="evm",
    capabilities=IbetShareAdapter.capabilities,
    factory=IbetShareAdapter,
    probe=probe_share,
    summary="ibet share (transfer approval, PersonalInfo register, locks, six-digit codes)",
    priority=200,
)
"""Registry entry (entry point ``ibet_share = "adapters.evm.ibet:SPEC_SHARE"``)."""

SPEC_BOND: Final = AdapterSpec(
    standard=Standard.IBET_BOND,
    family="evm",
    capabilities=IbetBondAdapter.capabilities,
    factory=IbetBondAdapter,
    probe=probe_bond,
    summary="ibet straight bond (transfer approval, PersonalInfo register, locks, six-digit codes)",
    priority=200,
)
"""Registry entry (entry point ``ibet_bond = "adapters.evm.ibet:SPEC_BOND"``)."""
