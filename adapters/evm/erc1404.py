"""The ERC-1404 adapter: a restricted ERC-20 security token read, checked and driven.

The dry run asks the token itself: ``detectTransferRestriction(from, to, value)`` at one
block, then ``messageForTransferRestriction(code)``; the refusal keeps the number as
``raw_code`` and the text as ``raw_message``. ERC-1404 codes are issuer-defined, so the
canonical reason comes from the code table of stbridge's own ``RestrictedToken1404``
(:data:`RESTRICTED_TOKEN_CODES`) when code and message are that contract's pair, and from
the message text otherwise (:func:`bridge.reasons.from_erc1404_message`): see
:func:`restriction_refusal`, the pure half of this adapter.

For ``RestrictedToken1404`` (recognised by its ``holderCount()``) the adapter also reads
the restrictions as data: the whitelist (:class:`~bridge.model.AllowListRule`), the holder
cap (:class:`~bridge.model.MaxHoldersRule`) and every lock-up still running
(:class:`~bridge.model.LockupRule` per holder), replayed from the token's events and
confirmed by view calls. Eligibility is whitelist membership. A holder that cannot send
(locked up or off the whitelist) has its whole balance counted as frozen, as the holding
table in :mod:`bridge.model.holding` says for ERC-1404.

Agent operations (declared capabilities): ``MINT`` (to, amount), ``BURN`` (account,
amount), ``PAUSE`` (paused), ``WHITELIST`` (account, whitelisted), ``LOCKS`` (account,
until: an aware datetime, a unix time, or None to clear the lock-up). Each has a dry run
(:meth:`Erc1404Adapter.check_agent_operation`): the contract's checks from reads, in its
order (the role, then for a mint the recipient, the whitelist and the holder cap, for a
burn the balance, for a pause the current state), optionally confirmed by an
``eth_call`` from the agent (:func:`agent_check`, shared with the other EVM adapters).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar, Final

from web3 import Web3

from adapters.evm.client import EvmClient, EvmReverted, RevertInfo
from adapters.evm.contracts import load_artifact
from adapters.evm.erc20 import CASH_TOKEN_ERRORS, ROLE_TOPICS, EvmTokenAdapter, topic_address
from bridge.errors import BridgeError, InvalidInput
from bridge.model import (
    AgentOperationCheck,
    AllowListRule,
    Asset,
    AssetRef,
    Capability,
    Eligibility,
    Holding,
    IdentitySource,
    Investor,
    LockupRule,
    MaxHoldersRule,
    Refusal,
    RoleAssignment,
    Rule,
    Standard,
    TransferCheck,
    TransferIntent,
)
from bridge.ports import Signer, TxReceipt
from bridge.reasons import ReasonCode, from_erc1404_message
from bridge.registry import AdapterSpec

__all__ = [
    "RESTRICTED_TOKEN_CODES",
    "RESTRICTED_TOKEN_MESSAGES",
    "SPEC",
    "Erc1404Adapter",
    "ValidatorReads",
    "agent_check",
    "deploy_restricted_token",
    "flag_param",
    "probe",
    "restriction_refusal",
    "unix_time_param",
]

R = ReasonCode

RESTRICTED_TOKEN_CODES: Final[Mapping[int, ReasonCode]] = {
    0: R.OK,
    1: R.TOKEN_PAUSED,
    2: R.SENDER_NOT_ELIGIBLE,
    3: R.INVALID_RECEIVER,
    4: R.RECIPIENT_NOT_ELIGIBLE,
    5: R.FUNDS_LOCKED,
    6: R.INSUFFICIENT_BALANCE,
    7: R.MAX_HOLDERS_REACHED,
}
"""``RestrictedToken1404``'s stable restriction codes -> canonical reason (check order)."""

RESTRICTED_TOKEN_MESSAGES: Final[Mapping[int, str]] = {
    0: "SUCCESS",
    1: "ALL_TRANSFERS_PAUSED",
    2: "ILLEGAL_TRANSFER_SENDING_ACCOUNT_NOT_WHITELISTED",
    3: "DO_NOT_SEND_TO_EMPTY_ADDRESS",
    4: "ILLEGAL_TRANSFER_RECEIVING_ACCOUNT_NOT_WHITELISTED",
    5: "SENDER_TOKENS_TIME_LOCKED",
    6: "INSUFFICIENT_BALANCE",
    7: "ILLEGAL_TRANSFER_MAXIMUM_NUMBER_OF_SHAREHOLDERS_REACHED",
}
"""``messageForTransferRestriction`` of ``RestrictedToken1404`` (a test checks the chain)."""


def restriction_refusal(code: int, message: str) -> Refusal:
    """Canonical refusal for ERC-1404 restriction ``code`` and its ``message`` (pure).

    When the pair is ``RestrictedToken1404``'s own, its code table decides; for any other
    ERC-1404 token codes are issuer-defined, so the message text decides
    (:func:`bridge.reasons.from_erc1404_message`; unknown texts give ``UNKNOWN``).
    """
    if RESTRICTED_TOKEN_MESSAGES.get(code) == message:
        canonical = RESTRICTED_TOKEN_CODES[code]
    else:
        canonical = from_erc1404_message(message)
    return Refusal(
        code=canonical,
        source_standard=Standard.ERC1404,
        raw_code=str(code),
        raw_message=message,
        detail=f"ERC-1404 restriction {code}: {message}",
    )


RESTRICTED_TOKEN_ERRORS: Final[Mapping[str, ReasonCode]] = {
    **CASH_TOKEN_ERRORS,
    "ExpectedPause": R.TRANSFER_FAILURE,
}
"""Custom errors of ``RestrictedToken1404`` other than ``TransferRestricted(code)``
(``ExpectedPause``: unpausing a token that is not paused)."""

ISSUER_ROLE: Final = Web3.keccak(text="ISSUER_ROLE")
COMPLIANCE_ROLE: Final = Web3.keccak(text="COMPLIANCE_ROLE")


def agent_check(
    adapter: EvmTokenAdapter,
    ref: AssetRef,
    capability: Capability,
    agent: str,
    call: tuple[str, str],
    refusals: list[Refusal],
    *,
    params: Mapping[str, object],
    simulate: bool,
    height: int,
) -> AgentOperationCheck:
    """The verdict of an agent operation's dry run (shared by the EVM adapters).

    ``refusals`` are the ones the reads predict, in the contract's order; ``call`` is the
    operation as ``(target address, calldata)``. With ``simulate`` it also runs as an
    ``eth_call`` from ``agent`` at ``height``: the raw revert goes on the first predicted
    refusal, and a revert the reads did not predict becomes a refusal of its own.
    """
    out = list(refusals)
    if simulate:
        target, data = call
        try:
            adapter.client.call({"from": agent, "to": target, "data": data}, block=height)
        except EvmReverted as exc:
            raw = exc.revert.describe()
            if out:
                out[0] = out[0].model_copy(update={"raw_message": raw})
            else:
                refusal = adapter.refusal(exc.revert.error_name, raw)
                code = adapter.reason_of(exc.revert)
                out.append(refusal.model_copy(update={"code": code}))
    shown = {k: v for k, v in params.items() if isinstance(v, str | int | bool)}
    return AgentOperationCheck(
        asset=ref,
        operation=capability,
        agent=agent,
        params=shown,
        allowed=not out,
        refusals=tuple(out),
    )


WHITELIST_TOPIC: Final = Web3.keccak(text="WhitelistUpdated(address,bool)").to_0x_hex()
LOCKUP_TOPIC: Final = Web3.keccak(text="LockupSet(address,uint64)").to_0x_hex()


class ValidatorReads(EvmTokenAdapter):
    """Reads shared by tokens with a whitelist and per-holder lock-ups (ERC-1404, ERC-1400).

    Both of stbridge's contracts emit ``WhitelistUpdated(address,bool)`` and
    ``LockupSet(address,uint64)`` and answer ``isWhitelisted`` / ``lockupUntil``.
    """

    def whitelist_from_logs(
        self, address: str, logs: Mapping[str, list[Any]], height: int
    ) -> list[str]:
        listed: set[str] = set()
        for entry in logs[WHITELIST_TOPIC]:
            account = topic_address(entry["topics"][1])
            if int.from_bytes(bytes(entry["data"])[-32:], "big"):
                listed.add(account)
            else:
                listed.discard(account)
        contract = self.token(address)
        return [a for a in sorted(listed) if self.read(contract.functions.isWhitelisted(a), height)]

    def lockups_from_logs(
        self, address: str, logs: Mapping[str, list[Any]], height: int
    ) -> dict[str, int]:
        """Holders whose lock-up still runs at ``height`` -> unix end time."""
        accounts = {topic_address(e["topics"][1]) for e in logs[LOCKUP_TOPIC]}
        now = self.block_timestamp(height)
        contract = self.token(address)
        out: dict[str, int] = {}
        for account in sorted(accounts):
            until = int(self.read(contract.functions.lockupUntil(account), height))
            if until > now:
                out[account] = until
        return out

    def block_timestamp(self, height: int) -> int:
        block = self.client.guard("get block", lambda: self.client.w3.eth.get_block(height))
        return int(block["timestamp"])

    def cannot_send(self, address: str, account: str, height: int) -> bool:
        """True while ``account`` is off the whitelist or inside its lock-up."""
        contract = self.token(address)
        listed = bool(self.read(contract.functions.isWhitelisted(account), height))
        until = int(self.read(contract.functions.lockupUntil(account), height))
        return not listed or until > self.block_timestamp(height)

    def eligibility(self, ref: AssetRef, wallet: str) -> Eligibility:
        """A wallet is eligible when the token's whitelist lists it."""
        address = self.locate(ref)
        account = self.evm_address(wallet, "wallet")
        listed = bool(self.read(self.token(address).functions.isWhitelisted(account)))
        investor = Investor(
            identity_ref=account,
            identity_source=IdentitySource.CONTRACT_WHITELIST,
            wallets=(account,),
        )
        return Eligibility(
            asset=ref,
            wallet=account,
            eligible=listed,
            investor=investor if listed else None,
            missing=() if listed else ("whitelist",),
        )


class Erc1404Adapter(ValidatorReads):
    """ERC-1404 restricted tokens; stbridge's ``RestrictedToken1404`` is read in full."""

    standard: Standard = Standard.ERC1404
    artifact: ClassVar[str] = "RestrictedToken1404"
    errors: ClassVar[Mapping[str, ReasonCode]] = RESTRICTED_TOKEN_ERRORS
    capabilities: frozenset[Capability] = frozenset(
        {
            Capability.MINT,
            Capability.BURN,
            Capability.PAUSE,
            Capability.WHITELIST,
            Capability.LOCKS,
        }
    )

    def __init__(self, client: EvmClient) -> None:
        super().__init__(client)
        self._ours: dict[str, bool] = {}

    def is_restricted_token(self, address: str) -> bool:
        """True for stbridge's RestrictedToken1404 (answers ``holderCount()``)."""
        if address not in self._ours:
            try:
                self.read(self.token(address).functions.holderCount())
                self._ours[address] = True
            except BridgeError:
                self._ours[address] = False
        return self._ours[address]

    # -- reasons -----------------------------------------------------------------------

    def refusal(self, raw_code: str | None, raw_message: str | None) -> Refusal:
        """Canonical refusal: a numeric ``raw_code`` is an ERC-1404 restriction code with its
        message; anything else is a custom-error name (see :class:`EvmTokenAdapter`)."""
        if raw_code is not None and raw_code.isdigit():
            return restriction_refusal(int(raw_code), raw_message or "")
        return super().refusal(raw_code, raw_message)

    def reason_of(self, revert: RevertInfo) -> ReasonCode:
        """Canonical reason of a revert; ``TransferRestricted(code)`` maps through the table."""
        if revert.error_name == "TransferRestricted" and revert.error_args:
            return RESTRICTED_TOKEN_CODES.get(int(str(revert.error_args[0])), R.UNKNOWN)
        return super().reason_of(revert)

    # -- reads ---------------------------------------------------------------------------

    def read_asset(self, ref: AssetRef) -> Asset:
        """The canonical asset with its whitelist, holder cap and running lock-ups."""
        address = self.locate(ref)
        height = self.client.head()
        name, symbol, decimals, supply = self.erc20_basics(address, height)
        ours = self.is_restricted_token(address)
        rules: list[Rule] = []
        paused = False
        roles: tuple[RoleAssignment, ...] = ()
        if ours:
            contract = self.token(address)
            paused = bool(self.read(contract.functions.paused(), height))
            source = f"{address}#{{}}"
            logs = self.event_logs(address, (WHITELIST_TOPIC, LOCKUP_TOPIC, *ROLE_TOPICS), height)
            rules.append(
                AllowListRule(
                    addresses=tuple(self.whitelist_from_logs(address, logs, height)),
                    source=source.format("whitelist"),
                )
            )
            cap = int(self.read(contract.functions.maxHolders(), height))
            if cap:
                rules.append(
                    MaxHoldersRule(
                        limit=cap, replacement="always", source=source.format("maxHolders")
                    )
                )
            for account, until in self.lockups_from_logs(address, logs, height).items():
                rules.append(
                    LockupRule(
                        until=datetime.fromtimestamp(until, tz=UTC),
                        holder=account,
                        source=source.format("lockupUntil"),
                    )
                )
            roles = self.role_assignments(logs)
        return Asset(
            chain=ref.chain,
            locator=ref.locator,
            standard=self.standard,
            name=name,
            symbol=symbol,
            decimals=decimals,
            total_supply=supply,
            paused=paused,
            transferable=not paused,
            rules=tuple(rules),
            controls=tuple(self.capabilities if ours else ()),
            roles=roles,
            read_at_height=height,
        )

    def _holding_at(self, address: str, account: str, balance: int, height: int) -> Holding:
        frozen = 0
        if (
            balance
            and self.is_restricted_token(address)
            and self.cannot_send(address, account, height)
        ):
            frozen = balance
        return Holding(holder=account, balance=balance, free=balance - frozen, frozen=frozen)

    def holding(self, ref: AssetRef, holder: str) -> Holding:
        """One holder's balance; all of it frozen while the holder cannot send."""
        address = self.locate(ref)
        account = self.evm_address(holder, "holder")
        height = self.client.head()
        balance = int(self.read(self.token(address).functions.balanceOf(account), height))
        return self._holding_at(address, account, balance, height)

    def holders(
        self,
        ref: AssetRef,
        *,
        from_height: int = 0,
        progress: Callable[[int, int], None] | None = None,
    ) -> Iterator[Holding]:
        """Every address with a non-zero balance, found from ``Transfer`` logs in batches."""
        address = self.locate(ref)
        height = self.client.head()
        parties = self.transfer_parties(
            address, from_height=from_height, to_height=height, progress=progress
        )
        balances = self.balances(address, parties, block=height)
        held = [(a, b) for a, b in zip(parties, balances, strict=True) if b]
        if not self.is_restricted_token(address):
            for account, balance in held:
                yield Holding(holder=account, balance=balance, free=balance)
            return
        listed = self.batch_uint(address, "isWhitelisted", [(a,) for a, _ in held], block=height)
        until = self.batch_uint(address, "lockupUntil", [(a,) for a, _ in held], block=height)
        now = self.block_timestamp(height)
        for (account, balance), ok, end in zip(held, listed, until, strict=True):
            frozen = balance if not ok or end > now else 0
            yield Holding(holder=account, balance=balance, free=balance - frozen, frozen=frozen)

    # -- dry run --------------------------------------------------------------------------

    def check_transfer(self, intent: TransferIntent) -> TransferCheck:
        """The token's own verdict (``detectTransferRestriction``) at one block; nothing is sent.

        A ``transferFrom`` (operator other than the sender) first checks the allowance, as the
        contract does.
        """
        address = self.locate(intent.asset)
        sender = self.evm_address(intent.sender, "sender")
        recipient = self.evm_address(intent.recipient, "recipient")
        if intent.partition is not None:
            raise InvalidInput("partition", "an ERC-1404 token has no partitions")
        contract = self.require_token(address)
        height = self.client.head()
        refusals: list[Refusal] = []
        if intent.operator is not None:
            operator = self.evm_address(intent.operator, "operator")
            if operator != sender:
                allowance = int(self.read(contract.functions.allowance(sender, operator), height))
                if allowance < intent.amount:
                    refusals.append(
                        self.refusal(
                            "ERC20InsufficientAllowance",
                            f"ERC20InsufficientAllowance({operator}, {allowance}, {intent.amount})",
                        )
                    )
        code = int(
            self.read(
                contract.functions.detectTransferRestriction(sender, recipient, intent.amount),
                height,
            )
        )
        if code != 0:
            message = str(self.read(contract.functions.messageForTransferRestriction(code), height))
            refusals.append(restriction_refusal(code, message))
        return TransferCheck(intent=intent, allowed=not refusals, refusals=tuple(refusals))

    # -- agent operations -----------------------------------------------------------------

    def agent_operation(
        self, ref: AssetRef, capability: Capability, signer: Signer, **params: object
    ) -> TxReceipt:
        """Run one issuer / compliance operation (see the module docstring for parameters)."""
        address = self.locate(ref)
        if capability not in self.capabilities:
            raise self.unsupported(capability)
        self.require_token(address)
        if not self.is_restricted_token(address):
            raise self.unsupported(f"{capability} on this ERC-1404 deployment")
        contract = self.token(address)
        fn, args = self._operation(capability, params)
        return self.send(signer, address, contract.encode_abi(fn, args=args), str(capability))

    def _operation(
        self, capability: Capability, params: Mapping[str, object]
    ) -> tuple[str, list[Any]]:
        if capability is Capability.MINT:
            self.params(params, ("to", "amount"))
            return "mint", [self.evm_address(params["to"], "to"), self.amount(params["amount"])]
        if capability is Capability.BURN:
            self.params(params, ("account", "amount"))
            account = self.evm_address(params["account"], "account")
            return "burn", [account, self.amount(params["amount"])]
        if capability is Capability.PAUSE:
            self.params(params, ("paused",))
            return ("pause" if flag_param(params, "paused") else "unpause"), []
        if capability is Capability.WHITELIST:
            self.params(params, ("account", "whitelisted"))
            account = self.evm_address(params["account"], "account")
            return "setWhitelisted", [account, flag_param(params, "whitelisted")]
        self.params(params, ("account", "until"))
        account = self.evm_address(params["account"], "account")
        return "setLockup", [account, unix_time_param(params["until"])]

    def check_agent_operation(
        self,
        ref: AssetRef,
        capability: Capability,
        agent: str,
        *,
        simulate: bool = True,
        **params: object,
    ) -> AgentOperationCheck:
        """Dry-run an agent operation signed by ``agent`` (parameters as for
        :meth:`agent_operation`); nothing is sent.

        From reads, in ``RestrictedToken1404``'s order: the role (``ISSUER_ROLE`` for mint
        and burn, ``COMPLIANCE_ROLE`` for the others); a mint's recipient (not zero,
        whitelisted, within the holder cap: ``TransferRestricted(3/4/7)``, neither stopped
        by the pause nor by a lock-up); a burn's balance; a pause of a paused token or an
        unpause of a running one. With ``simulate`` the call also runs as an ``eth_call``
        from ``agent`` (see :func:`agent_check`).
        """
        address = self.locate(ref)
        if capability not in self.capabilities:
            raise self.unsupported(capability)
        who = self.evm_address(agent, "agent")
        contract = self.require_token(address)
        if not self.is_restricted_token(address):
            raise self.unsupported(f"{capability} on this ERC-1404 deployment")
        fn, args = self._operation(capability, params)
        height = self.client.head()
        refusals = self._agent_refusals(address, capability, who, fn, args, height)
        return agent_check(
            self,
            ref,
            capability,
            who,
            (address, contract.encode_abi(fn, args=args)),
            refusals,
            params=params,
            simulate=simulate,
            height=height,
        )

    def _agent_refusals(
        self,
        address: str,
        capability: Capability,
        agent: str,
        fn: str,
        args: list[Any],
        height: int,
    ) -> list[Refusal]:
        f = self.token(address).functions

        def refuse(name: str, shown: str, code: ReasonCode, detail: str) -> list[Refusal]:
            refusal = Refusal(
                code=code,
                source_standard=self.standard,
                raw_code=name,
                raw_message=f"{name}({shown})",
                detail=detail,
            )
            return [refusal]

        role = ISSUER_ROLE if capability in (Capability.MINT, Capability.BURN) else COMPLIANCE_ROLE
        if not self.read(f.hasRole(role, agent), height):
            return refuse(
                "AccessControlUnauthorizedAccount",
                f"{agent}, 0x{bytes(role).hex()}",
                R.OPERATOR_NOT_AUTHORIZED,
                f"{agent} lacks the role {fn} needs",
            )
        if capability is Capability.MINT:
            to, amount = args
            restriction = 0
            if int(to, 16) == 0:
                restriction = 3
            elif not self.read(f.isWhitelisted(to), height):
                restriction = 4
            else:
                cap = int(self.read(f.maxHolders(), height))
                count = int(self.read(f.holderCount(), height))
                held = int(self.read(f.balanceOf(to), height))
                if cap and amount and not held and count >= cap:
                    restriction = 7
            if restriction:
                return refuse(
                    "TransferRestricted",
                    str(restriction),
                    RESTRICTED_TOKEN_CODES[restriction],
                    f"mint refused: {RESTRICTED_TOKEN_MESSAGES[restriction]}",
                )
        elif capability is Capability.BURN:
            account, amount = args
            balance = int(self.read(f.balanceOf(account), height))
            if int(account, 16) == 0:
                return refuse(
                    "ERC20InvalidSender", account, R.TRANSFER_FAILURE, "burn from the zero address"
                )
            if balance < amount:
                return refuse(
                    "ERC20InsufficientBalance",
                    f"{account}, {balance}, {amount}",
                    R.INSUFFICIENT_BALANCE,
                    f"{account} holds {balance}, asked {amount}",
                )
        elif capability is Capability.PAUSE:
            paused = bool(self.read(f.paused(), height))
            if fn == "pause" and paused:
                return refuse("EnforcedPause", "", R.TOKEN_PAUSED, "the token is paused already")
            if fn == "unpause" and not paused:
                return refuse("ExpectedPause", "", R.TRANSFER_FAILURE, "the token is not paused")
        return []

    def set_max_holders(self, ref: AssetRef, limit: int, signer: Signer) -> TxReceipt:
        """Set the holder cap (0 removes it); needs the compliance role."""
        address = self.locate(ref)
        data = self.token(address).encode_abi("setMaxHolders", args=[self.amount(limit, "limit")])
        return self.send(signer, address, data, "setMaxHolders")


def flag_param(params: Mapping[str, object], name: str) -> bool:
    """The boolean parameter ``name``, or ``InvalidInput``."""
    value = params[name]
    if not isinstance(value, bool):
        raise InvalidInput(name, "True or False", value=value)
    return value


def unix_time_param(value: object) -> int:
    """``until`` as unix seconds: an aware datetime, an int, or None (0: no lock-up)."""
    if value is None:
        return 0
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise InvalidInput("until", "a timezone-aware datetime", value=value)
        value = int(value.timestamp())
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**64:
        raise InvalidInput("until", "an aware datetime, a unix time (uint64) or None", value=value)
    return value


def deploy_restricted_token(
    client: EvmClient,
    issuer: Signer,
    *,
    name: str,
    symbol: str,
    decimals: int = 0,
    max_holders: int = 0,
) -> str:
    """Deploy a RestrictedToken1404 with ``issuer`` holding every role; return its address."""
    if not 0 <= decimals <= 255:
        raise InvalidInput("decimals", "between 0 and 255", value=decimals)
    if max_holders < 0:
        raise InvalidInput("max_holders", "0 (no cap) or a positive count", value=max_holders)
    art = load_artifact("RestrictedToken1404")
    contract = client.deploy(
        issuer, art.abi, art.bytecode, name, symbol, decimals, max_holders, issuer.address
    )
    return str(contract.address)


def probe(client: EvmClient, address: str) -> bool:
    """True when ``address`` answers ``messageForTransferRestriction(0)`` and ERC-20 calls.

    A chain that cannot be reached raises its ``TransientError`` instead of answering False.
    """
    try:
        adapter = Erc1404Adapter(client)
        contract = adapter.require_token(adapter.evm_address(address, "address"))
        adapter.read(contract.functions.messageForTransferRestriction(0))
        adapter.read(contract.functions.totalSupply())
    except BridgeError as exc:
        if exc.transient:
            raise
        return False
    return True


SPEC: Final = AdapterSpec(
    standard=Standard.ERC1404,
    family="evm",
    capabilities=Erc1404Adapter.capabilities,
    factory=Erc1404Adapter,
    probe=probe,
    summary="ERC-1404 restricted token (whitelist, lock-up per holder, holder cap, pause)",
    priority=300,
)
"""Registry entry (entry point ``erc1404 = "adapters.evm.erc1404:SPEC"``)."""
