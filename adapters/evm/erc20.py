"""The ERC-20 cash adapter: a stablecoin read as a canonical cash asset, checked and driven.

It reads any ERC-20 (name, symbol, decimals, supply, holders from ``Transfer`` events) and
recognises stbridge's own :file:`CashToken.sol` (``currency()`` + ``issuer()``), whose extra
features it also reads and drives: the blocklist (a :class:`~bridge.model.DenyListRule`),
the pause switch, the roles, and the issuer operations mint / burn / pause / blocklist.
A plain ERC-20 is read as a cash asset without controls; asking it for an agent operation
raises :class:`~bridge.errors.UnsupportedCapability`.

The dry run (:meth:`Erc20Adapter.check_transfer`) reads the state at one block and applies
``CashToken``'s checks in the contract's own order (spender blocked and allowance for a
``transferFrom``; then zero recipient, paused, sender blocked, recipient blocked, balance),
so its first refusal is the error the chain would raise. Every refusal keeps the native
custom-error name as ``raw_code``.

:class:`EvmTokenAdapter` holds what the ERC-1404 and ERC-1400 adapters share with this one
(locating the contract, validating input, scanning ``Transfer`` logs, sending transactions
and translating reverts into canonical reasons).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, ClassVar, Final

from web3 import Web3

from adapters.evm.batch import (
    DEFAULT_BATCH_SIZE,
    ViewCall,
    checksum_topic,
    log_topics,
    read_batch,
    values,
)
from adapters.evm.client import EvmClient, EvmReverted, RevertInfo
from adapters.evm.contracts import load_artifact
from bridge.errors import (
    BridgeError,
    InvalidInput,
    UnsupportedCapability,
    WrongStandard,
)
from bridge.model import (
    Asset,
    AssetRef,
    Capability,
    CashTerms,
    DenyListRule,
    Eligibility,
    EvmChain,
    EvmContractLocator,
    Holding,
    Refusal,
    RoleAssignment,
    Rule,
    Standard,
    TransferCheck,
    TransferIntent,
)
from bridge.ports import Signer, TxReceipt
from bridge.reasons import ReasonCode
from bridge.registry import AdapterSpec
from bridge.types import UINT256_MAX, validate_evm_address

__all__ = [
    "CASH_TOKEN_ERRORS",
    "DEMO_COINS",
    "SPEC",
    "ZERO_ADDRESS",
    "Erc20Adapter",
    "EvmTokenAdapter",
    "deploy_cash_token",
    "deploy_demo_coins",
    "hex32",
    "probe",
    "topic_address",
]

ZERO_ADDRESS: Final = "0x0000000000000000000000000000000000000000"
TRANSFER_TOPIC: Final = Web3.keccak(text="Transfer(address,address,uint256)").to_0x_hex()
BLOCKED_TOPIC: Final = Web3.keccak(text="Blocked(address)").to_0x_hex()
UNBLOCKED_TOPIC: Final = Web3.keccak(text="Unblocked(address)").to_0x_hex()
ROLE_GRANTED_TOPIC: Final = Web3.keccak(text="RoleGranted(bytes32,address,address)").to_0x_hex()
ROLE_REVOKED_TOPIC: Final = Web3.keccak(text="RoleRevoked(bytes32,address,address)").to_0x_hex()
ROLE_TOPICS: Final = (ROLE_GRANTED_TOPIC, ROLE_REVOKED_TOPIC)
BLOCK_TOPICS: Final = (BLOCKED_TOPIC, UNBLOCKED_TOPIC)

R = ReasonCode

CASH_TOKEN_ERRORS: Final[Mapping[str, ReasonCode]] = {
    "AccountBlocked": R.BLOCKLISTED_PARTY,
    "EnforcedPause": R.TOKEN_PAUSED,
    "ERC20InsufficientBalance": R.INSUFFICIENT_BALANCE,
    "ERC20InsufficientAllowance": R.INSUFFICIENT_ALLOWANCE,
    "ERC20InvalidReceiver": R.INVALID_RECEIVER,
    "ERC20InvalidSender": R.TRANSFER_FAILURE,
    "ERC20InvalidApprover": R.TRANSFER_FAILURE,
    "ERC20InvalidSpender": R.TRANSFER_FAILURE,
    "AccessControlUnauthorizedAccount": R.OPERATOR_NOT_AUTHORIZED,
    "OwnableUnauthorizedAccount": R.OPERATOR_NOT_AUTHORIZED,
}
"""CashToken's (and OpenZeppelin 5's) custom errors -> canonical reason."""


def _role_id(name: str) -> str:
    return Web3.keccak(text=name).to_0x_hex() if name else "0x" + "00" * 32


def topic_address(topic: Any) -> str:
    """The address held in the last 20 bytes of an indexed log topic (EIP-55)."""
    raw = bytes(topic)
    return validate_evm_address("0x" + raw[-20:].hex())


def hex32(value: Any) -> str:
    """A log topic / bytes32 as 0x-prefixed lower-case hex."""
    return "0x" + bytes(value).hex()


class EvmTokenAdapter:
    """Shared machinery of the EVM token adapters built on :class:`EvmClient`.

    Subclasses set ``standard``, ``artifact`` (the contract whose ABI they read with) and
    ``errors`` (native custom-error name -> canonical reason).
    """

    standard: Standard
    artifact: ClassVar[str]
    errors: ClassVar[Mapping[str, ReasonCode]] = CASH_TOKEN_ERRORS
    capabilities: frozenset[Capability] = frozenset()
    ROLE_NAMES: ClassVar[Mapping[str, str]] = {
        _role_id(""): "admin",
        _role_id("ISSUER_ROLE"): "issuer",
        _role_id("COMPLIANCE_ROLE"): "compliance",
    }

    def __init__(self, client: EvmClient) -> None:
        self.client = client
        self._abi = load_artifact(self.artifact).abi
        self._contracts: dict[str, Any] = {}
        self._views: dict[str, ViewCall] = {}
        self.batch_size = DEFAULT_BATCH_SIZE
        """``eth_call``s per JSON-RPC batch in holder scans."""

    # -- locating and validating ------------------------------------------------------

    def ref(self, address: str) -> AssetRef:
        """The asset reference of the token at ``address`` on this client's chain."""
        checked = self.evm_address(address, "address")
        return AssetRef(chain=self.client.chain, locator=EvmContractLocator(address=checked))

    def locate(self, ref: AssetRef) -> str:
        """The token address of ``ref``, refusing another chain or a non-EVM locator."""
        if not isinstance(ref.chain, EvmChain) or not isinstance(ref.locator, EvmContractLocator):
            raise InvalidInput("asset", "must be an EVM contract on an EVM chain")
        if ref.chain.chain_id != self.client.chain_id:
            raise InvalidInput(
                "asset.chain.chain_id",
                f"this client is connected to chain {self.client.chain_id}",
                value=ref.chain.chain_id,
            )
        return ref.locator.address

    @staticmethod
    def evm_address(value: object, field: str) -> str:
        """``value`` as an EIP-55 EVM address, or ``InvalidInput`` naming ``field``."""
        try:
            return validate_evm_address(value)
        except ValueError as exc:
            raise InvalidInput(field, str(exc), value=value) from None

    @staticmethod
    def amount(value: object, field: str = "amount") -> int:
        """``value`` as a uint256 integer amount, or ``InvalidInput`` naming ``field``."""
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidInput(field, "an integer amount in base units", value=value)
        if not 0 <= value <= UINT256_MAX:
            raise InvalidInput(field, "must be between 0 and 2**256-1", value=value)
        return value

    def token(self, address: str) -> Any:
        """The web3 contract for ``address`` with this adapter's ABI."""
        if address not in self._contracts:
            self._contracts[address] = self.client.contract(address, self._abi)
        return self._contracts[address]

    def read(self, fn_call: Any, block: int | str = "latest") -> Any:
        """One contract read at ``block``, errors translated."""
        return self.client.read(fn_call, block=block)

    def require_token(self, address: str) -> Any:
        """The contract at ``address`` after checking there is code there."""
        self.client.require_code(address)
        return self.token(address)

    # -- reasons --------------------------------------------------------------------------

    def refusal(self, raw_code: str | None, raw_message: str | None) -> Refusal:
        """Canonical refusal for a native custom-error name (UNKNOWN keeps the raw values)."""
        code = self.errors.get(raw_code or "", R.UNKNOWN)
        return Refusal(
            code=code,
            source_standard=self.standard,
            raw_code=raw_code,
            raw_message=raw_message,
            detail=raw_message or (raw_code or "refused"),
        )

    def reason_of(self, revert: RevertInfo) -> ReasonCode:
        """Canonical reason of a decoded revert."""
        if revert.error_name is not None:
            return self.errors.get(revert.error_name, R.UNKNOWN)
        return R.UNKNOWN

    # -- sending ----------------------------------------------------------------------------

    def send(self, signer: Signer, address: str, data: str, what: str) -> TxReceipt:
        """Estimate, sign, send and wait; a revert raises ``EvmReverted`` with its reason.

        Gas is estimated first, so a call that would revert is refused before anything is
        sent.
        """
        try:
            return self.client.transact(signer, address, bytes.fromhex(data.removeprefix("0x")))
        except EvmReverted as exc:
            reason = self.reason_of(exc.revert)
            raise EvmReverted(
                f"{what} reverted: {exc.revert.describe()}",
                revert=exc.revert,
                tx_id=exc.tx_id,
                reason=reason,
            ) from exc

    @staticmethod
    def require_signer(signer: Signer, expected: str, field: str) -> None:
        """Refuse a signer that is not ``expected`` (nothing is sent)."""
        if validate_evm_address(signer.address) != expected:
            raise InvalidInput(field, f"the signer must be {expected}", value=signer.address)

    @staticmethod
    def params(
        params: Mapping[str, object], required: Sequence[str], optional: Sequence[str] = ()
    ) -> None:
        """Refuse missing or unknown agent-operation parameters."""
        for name in required:
            if name not in params:
                raise InvalidInput(name, "required for this operation")
        for name in params:
            if name not in required and name not in optional:
                raise InvalidInput(name, "not a parameter of this operation")

    def unsupported(self, capability: Capability | str) -> UnsupportedCapability:
        """The error for an operation this adapter (or token) does not offer."""
        return UnsupportedCapability(self.standard.value, str(capability))

    def event_logs(self, address: str, topic0: Sequence[str], height: int) -> dict[str, list[Any]]:
        """Logs of ``address`` up to ``height`` whose first topic is in ``topic0``, by topic.

        One ``eth_getLogs`` scan (in bounded block ranges) serves every topic asked for.
        """
        found: dict[str, list[Any]] = {t: [] for t in topic0}
        for entry in self.client.logs(address=address, topics=[list(topic0)], to_block=height):
            found.setdefault(hex32(entry["topics"][0]), []).append(entry)
        return found

    def role_assignments(self, logs: Mapping[str, list[Any]]) -> tuple[RoleAssignment, ...]:
        """Current AccessControl role holders, replayed from RoleGranted / RoleRevoked logs.

        ``logs`` is an :meth:`event_logs` result that asked for both role topics.
        """
        roles: set[tuple[str, str]] = set()
        entries = sorted(
            [*logs[ROLE_GRANTED_TOPIC], *logs[ROLE_REVOKED_TOPIC]],
            key=lambda e: (int(e["blockNumber"]), int(e["logIndex"])),
        )
        for entry in entries:
            t = entry["topics"]
            role = self.ROLE_NAMES.get(hex32(t[1]), hex32(t[1]))
            pair = (role, topic_address(t[2]))
            if hex32(t[0]) == ROLE_GRANTED_TOPIC:
                roles.add(pair)
            else:
                roles.discard(pair)
        return tuple(RoleAssignment(role=r, holder=h) for r, h in sorted(roles))

    def erc20_basics(self, address: str, height: int) -> tuple[str, str, int, int]:
        """(name, symbol, decimals, totalSupply) at ``height``; ``WrongStandard`` if absent."""
        contract = self.require_token(address)
        try:
            return (
                str(self.read(contract.functions.name(), height)),
                str(self.read(contract.functions.symbol(), height)),
                int(self.read(contract.functions.decimals(), height)),
                int(self.read(contract.functions.totalSupply(), height)),
            )
        except BridgeError as exc:
            raise WrongStandard(f"{address} is not an ERC-20 token ({exc})") from exc

    def transfer(self, intent: TransferIntent, signer: Signer) -> TxReceipt:
        """Send ``intent``: ``transfer`` by the sender, or ``transferFrom`` by the operator."""
        address = self.locate(intent.asset)
        sender = self.evm_address(intent.sender, "sender")
        recipient = self.evm_address(intent.recipient, "recipient")
        if intent.partition is not None:
            raise InvalidInput("partition", "an ERC-20 token has no partitions")
        contract = self.token(address)
        if intent.operator is not None and intent.operator != sender:
            operator = self.evm_address(intent.operator, "operator")
            self.require_signer(signer, operator, "operator")
            data = contract.encode_abi("transferFrom", args=[sender, recipient, intent.amount])
        else:
            self.require_signer(signer, sender, "sender")
            data = contract.encode_abi("transfer", args=[recipient, intent.amount])
        return self.send(signer, address, data, "transfer")

    # -- holders --------------------------------------------------------------------------

    def transfer_parties(
        self,
        address: str,
        *,
        from_height: int = 0,
        to_height: int | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> list[str]:
        """Every address that ever received units, from ``Transfer`` logs in
        ``[from_height, to_height]`` (sorted; each distinct address checksummed once)."""
        seen: set[bytes] = set()
        for topics in log_topics(
            self.client,
            address=address,
            topics=[TRANSFER_TOPIC],
            from_block=from_height,
            to_block=self.client.head() if to_height is None else to_height,
            progress=progress,
        ):
            if len(topics) >= 3:
                seen.add(topics[2][-20:])
        seen.discard(bytes(20))
        return sorted(checksum_topic(raw) for raw in seen)

    def view(self, fn_name: str) -> ViewCall:
        """The encoded-once :class:`ViewCall` of this ABI's function ``fn_name``."""
        call = self._views.get(fn_name)
        if call is None:
            item = next(
                (i for i in self._abi if i.get("type") == "function" and i.get("name") == fn_name),
                None,
            )
            if item is None:
                raise self.unsupported(fn_name)
            inputs = ",".join(str(i["type"]) for i in item.get("inputs", ()))
            outputs = tuple(str(o["type"]) for o in item.get("outputs", ()))
            call = ViewCall(f"{fn_name}({inputs})", outputs)
            self._views[fn_name] = call
        return call

    def batch_uint(
        self,
        address: str,
        fn_name: str,
        args: Sequence[Sequence[Any]],
        *,
        block: int | str = "latest",
    ) -> list[int]:
        """``fn_name(*a)`` -> integer for each ``a`` in ``args``, read at ``block`` in
        JSON-RPC batches, each call encoded without web3's contract machinery.

        A reverted call raises its ``EvmReverted``.
        """
        call = self.view(fn_name)
        answers = read_batch(
            self.client,
            [(address, call.encode(*a)) for a in args],
            block=block,
            batch_size=self.batch_size,
        )
        return [int(v) for v in values(answers, call)]

    def balances(
        self, address: str, holders: Sequence[str], *, block: int | str = "latest"
    ) -> list[int]:
        """``balanceOf`` of each holder at ``block`` (JSON-RPC batches on a node)."""
        return self.batch_uint(address, "balanceOf", [(h,) for h in holders], block=block)


def _call_or_none(adapter: EvmTokenAdapter, fn_call: Any, block: int | str) -> Any:
    try:
        return adapter.read(fn_call, block)
    except BridgeError:
        return None


class Erc20Adapter(EvmTokenAdapter):
    """ERC-20 cash tokens; stbridge's ``CashToken`` adds blocklist, pause and issuer powers."""

    standard: Standard = Standard.ERC20
    artifact: ClassVar[str] = "CashToken"
    capabilities: frozenset[Capability] = frozenset(
        {Capability.MINT, Capability.BURN, Capability.PAUSE, Capability.BLOCKLIST}
    )

    def __init__(self, client: EvmClient) -> None:
        super().__init__(client)
        self._features: dict[str, bool] = {}

    # -- what the token offers ------------------------------------------------------------

    def is_cash_token(self, address: str) -> bool:
        """True when the contract is stbridge's CashToken (has ``currency()`` and ``issuer()``)."""
        if address not in self._features:
            contract = self.token(address)
            found = (
                _call_or_none(self, contract.functions.currency(), "latest") is not None
                and _call_or_none(self, contract.functions.issuer(), "latest") is not None
            )
            self._features[address] = found
        return self._features[address]

    def token_capabilities(self, address: str) -> frozenset[Capability]:
        """Capabilities this deployment really offers (none for a plain ERC-20)."""
        return self.capabilities if self.is_cash_token(address) else frozenset()

    # -- reads ------------------------------------------------------------------------------

    def read_asset(self, ref: AssetRef) -> Asset:
        """The canonical cash asset, read at one block."""
        address = self.locate(ref)
        height = self.client.head()
        name, symbol, decimals, supply = self.erc20_basics(address, height)
        contract = self.token(address)
        cash = self.is_cash_token(address)
        rules: tuple[Rule, ...] = ()
        roles: tuple[RoleAssignment, ...] = ()
        paused = False
        terms = None
        issuer = None
        if cash:
            currency = str(self.read(contract.functions.currency(), height))
            issuer = str(self.read(contract.functions.issuer(), height))
            paused = bool(self.read(contract.functions.paused(), height))
            logs = self.event_logs(address, (*BLOCK_TOPICS, *ROLE_TOPICS), height)
            blocked = self._blocklist(address, logs, height)
            roles = self.role_assignments(logs)
            rules = (DenyListRule(addresses=tuple(blocked), source=f"{address}#blocklist"),)
            terms = CashTerms(currency=currency)
        return Asset(
            chain=ref.chain,
            locator=ref.locator,
            standard=self.standard,
            asset_class="cash",
            name=name,
            symbol=symbol,
            decimals=decimals,
            total_supply=supply,
            paused=paused,
            transferable=not paused,
            issuer=issuer,
            terms=terms,
            rules=rules,
            controls=tuple(self.token_capabilities(address)),
            roles=roles,
            read_at_height=height,
        )

    def _blocklist(self, address: str, logs: Mapping[str, list[Any]], height: int) -> list[str]:
        blocked: set[str] = set()
        entries = sorted(
            [*logs[BLOCKED_TOPIC], *logs[UNBLOCKED_TOPIC]],
            key=lambda e: (int(e["blockNumber"]), int(e["logIndex"])),
        )
        for entry in entries:
            t = entry["topics"]
            if hex32(t[0]) == BLOCKED_TOPIC:
                blocked.add(topic_address(t[1]))
            else:
                blocked.discard(topic_address(t[1]))
        contract = self.token(address)
        return [a for a in sorted(blocked) if self.read(contract.functions.isBlocked(a), height)]

    def _blocked(self, address: str, account: str, block: int | str) -> bool:
        if not self.is_cash_token(address):
            return False
        return bool(self.read(self.token(address).functions.isBlocked(account), block))

    def holding(self, ref: AssetRef, holder: str) -> Holding:
        """One holder's balance; a blocklisted holder's whole balance counts as frozen."""
        address = self.locate(ref)
        account = self.evm_address(holder, "holder")
        height = self.client.head()
        balance = int(self.read(self.token(address).functions.balanceOf(account), height))
        frozen = balance if self._blocked(address, account, height) else 0
        return Holding(holder=account, balance=balance, free=balance - frozen, frozen=frozen)

    def holders(
        self,
        ref: AssetRef,
        *,
        from_height: int = 0,
        progress: Callable[[int, int], None] | None = None,
    ) -> Iterator[Holding]:
        """Every address with a non-zero balance, found from ``Transfer`` logs from
        ``from_height`` (the token's deployment block saves scanning older blocks).

        Balances and blocklist flags are read at one block in JSON-RPC batches (one round
        trip per :attr:`batch_size` calls on a node).
        """
        address = self.locate(ref)
        height = self.client.head()
        parties = self.transfer_parties(
            address, from_height=from_height, to_height=height, progress=progress
        )
        balances = self.balances(address, parties, block=height)
        held = [(a, b) for a, b in zip(parties, balances, strict=True) if b]
        blocked = (
            self.batch_uint(address, "isBlocked", [(a,) for a, _ in held], block=height)
            if self.is_cash_token(address)
            else [0] * len(held)
        )
        for (account, balance), flag in zip(held, blocked, strict=True):
            frozen = balance if flag else 0
            yield Holding(holder=account, balance=balance, free=balance - frozen, frozen=frozen)

    def eligibility(self, ref: AssetRef, wallet: str) -> Eligibility:
        """A wallet may hold the coin unless it is blocklisted."""
        address = self.locate(ref)
        account = self.evm_address(wallet, "wallet")
        blocked = self._blocked(address, account, "latest")
        return Eligibility(
            asset=ref,
            wallet=account,
            eligible=not blocked,
            missing=("not blocklisted",) if blocked else (),
        )

    # -- dry run -----------------------------------------------------------------------------

    def check_transfer(self, intent: TransferIntent) -> TransferCheck:
        """The chain's verdict on ``intent`` from reads at one block; nothing is sent.

        Refusals come in CashToken's check order, so the first is the error the chain raises.
        """
        address = self.locate(intent.asset)
        sender = self.evm_address(intent.sender, "sender")
        recipient = self.evm_address(intent.recipient, "recipient")
        operator = (
            self.evm_address(intent.operator, "operator") if intent.operator is not None else None
        )
        if intent.partition is not None:
            raise InvalidInput("partition", "an ERC-20 token has no partitions")
        contract = self.require_token(address)
        height = self.client.head()
        cash = self.is_cash_token(address)
        refusals: list[Refusal] = []

        def refuse(error: str, message: str) -> None:
            refusals.append(self.refusal(error, message))

        if operator is not None and operator != sender:
            if self._blocked(address, operator, height):
                refuse("AccountBlocked", f"AccountBlocked({operator}): the spender is blocked")
            allowance = int(self.read(contract.functions.allowance(sender, operator), height))
            if allowance < intent.amount:
                refuse(
                    "ERC20InsufficientAllowance",
                    f"ERC20InsufficientAllowance({operator}, {allowance}, {intent.amount})",
                )
        if recipient == ZERO_ADDRESS:
            refuse("ERC20InvalidReceiver", f"ERC20InvalidReceiver({ZERO_ADDRESS})")
        if cash and bool(self.read(contract.functions.paused(), height)):
            refuse("EnforcedPause", "EnforcedPause(): the coin is paused")
        if self._blocked(address, sender, height):
            refuse("AccountBlocked", f"AccountBlocked({sender}): the sender is blocked")
        if recipient != ZERO_ADDRESS and self._blocked(address, recipient, height):
            refuse("AccountBlocked", f"AccountBlocked({recipient}): the recipient is blocked")
        balance = int(self.read(contract.functions.balanceOf(sender), height))
        if balance < intent.amount:
            refuse(
                "ERC20InsufficientBalance",
                f"ERC20InsufficientBalance({sender}, {balance}, {intent.amount})",
            )
        return TransferCheck(intent=intent, allowed=not refusals, refusals=tuple(refusals))

    # -- sending ------------------------------------------------------------------------------

    def agent_operation(
        self, ref: AssetRef, capability: Capability, signer: Signer, **params: object
    ) -> TxReceipt:
        """Issuer operations of a CashToken.

        - ``MINT``: ``to``, ``amount``;
        - ``BURN``: ``amount`` (from the signer's own balance);
        - ``PAUSE``: ``paused`` (True pauses, False resumes);
        - ``BLOCKLIST``: ``account``, ``blocked`` (True blocks, False unblocks).
        """
        address = self.locate(ref)
        if capability not in self.capabilities:
            raise self.unsupported(capability)
        self.require_token(address)
        if not self.is_cash_token(address):
            raise self.unsupported(f"{capability} on this plain ERC-20 token")
        contract = self.token(address)
        if capability is Capability.MINT:
            self.params(params, ("to", "amount"))
            to = self.evm_address(params["to"], "to")
            data = contract.encode_abi("mint", args=[to, self.amount(params["amount"])])
        elif capability is Capability.BURN:
            self.params(params, ("amount",))
            data = contract.encode_abi("burn", args=[self.amount(params["amount"])])
        elif capability is Capability.PAUSE:
            self.params(params, ("paused",))
            flag = params["paused"]
            if not isinstance(flag, bool):
                raise InvalidInput("paused", "True or False", value=flag)
            data = contract.encode_abi("pause" if flag else "unpause", args=[])
        else:
            self.params(params, ("account", "blocked"))
            account = self.evm_address(params["account"], "account")
            flag = params["blocked"]
            if not isinstance(flag, bool):
                raise InvalidInput("blocked", "True or False", value=flag)
            data = contract.encode_abi("blockAccount" if flag else "unblockAccount", args=[account])
        return self.send(signer, address, data, str(capability))


def deploy_cash_token(
    client: EvmClient,
    issuer: Signer,
    *,
    name: str,
    symbol: str,
    decimals: int,
    currency: str,
) -> str:
    """Deploy a CashToken with ``issuer`` holding every role; return its address.

    stbridge's demo coins: ``("USD Coin", "USDX", 6, "USD")`` and ``("JPY Coin", "JPYX", 0,
    "JPY")`` (the yen has no minor unit, so one base unit is one yen).
    """
    if not 0 <= decimals <= 255:
        raise InvalidInput("decimals", "between 0 and 255", value=decimals)
    art = load_artifact("CashToken")
    contract = client.deploy(
        issuer, art.abi, art.bytecode, name, symbol, decimals, currency, issuer.address
    )
    return str(contract.address)


DEMO_COINS: Final[Mapping[str, tuple[str, str, int]]] = {
    "USD": ("USD Coin", "USDX", 6),
    "JPY": ("JPY Coin", "JPYX", 0),
}
"""stbridge's demo stablecoins: currency -> (name, symbol, decimals)."""


def deploy_demo_coins(client: EvmClient, issuer: Signer) -> dict[str, str]:
    """Deploy the USD and JPY demo coins (:data:`DEMO_COINS`); return currency -> address."""
    return {
        currency: deploy_cash_token(
            client, issuer, name=name, symbol=symbol, decimals=decimals, currency=currency
        )
        for currency, (name, symbol, decimals) in DEMO_COINS.items()
    }


def probe(client: EvmClient, address: str) -> bool:
    """True when ``address`` answers the ERC-20 metadata and supply calls.

    A chain that cannot be reached raises its ``TransientError`` instead of answering False.
    """
    try:
        adapter = Erc20Adapter(client)
        contract = adapter.require_token(adapter.evm_address(address, "address"))
        for fn in (contract.functions.decimals(), contract.functions.totalSupply()):
            adapter.read(fn)
    except BridgeError as exc:
        if exc.transient:
            raise
        return False
    return True


SPEC: Final = AdapterSpec(
    standard=Standard.ERC20,
    family="evm",
    capabilities=Erc20Adapter.capabilities,
    factory=Erc20Adapter,
    probe=probe,
    summary="ERC-20 cash token (stbridge CashToken: blocklist, pause, issuer mint/burn)",
    priority=900,
)
"""Registry entry (entry point ``erc20 = "adapters.evm.erc20:SPEC"``)."""
