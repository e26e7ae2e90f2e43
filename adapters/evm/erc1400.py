"""The ERC-1400 adapter: a partitioned security token read, checked and driven.

Built for stbridge's ``SecurityToken1400`` (ERC-1410 partitions, ERC-1594 issuance and
transfer checks, ERC-1643 documents, ERC-1644 controller powers, a validator with
whitelist, lock-up per holder and pause) and readable for other ERC-1400 tokens through
the same functions.

Reads: the asset with its whitelist (:class:`~bridge.model.AllowListRule`) and running
lock-ups (:class:`~bridge.model.LockupRule`), its ERC-1643 documents, the owner and the
controllers as roles; holdings with the balance split by partition (``by_partition``, hex
bytes32 keys, adding up to ``balanceOf``), the whole balance counted as frozen while the
holder cannot send; eligibility from the whitelist. ERC-1643 does not say how a document
hash is computed: stbridge writes SHA-256 digests, so a non-zero hash is reported as
``sha256``.

Dry run: the token's own check at one block, called from the operator's address as the
contract expects - ``canTransferByPartition`` for a transfer by partition (or of the
default partition), ``canTransferFrom`` for an ERC-20 ``transferFrom`` by a spender. The
refusal keeps the ERC-1400 status byte as ``raw_code`` (``"0x57"``) and the bytes32 reason
text as ``raw_message``; the canonical code comes from the reason when the token is ours
(:data:`SECURITY_TOKEN_REASONS`), otherwise from the status byte
(:func:`bridge.reasons.from_erc1400`, ERC-1400 meanings).

Sending (:meth:`Erc1400Adapter.transfer`): ``transfer`` / ``transferFrom`` without a
partition, ``transferByPartition`` / ``operatorTransferByPartition`` with one.

Agent operations (declared capabilities):

- ``MINT``: ``to``, ``amount``, optional ``partition`` (issueByPartition; owner);
- ``BURN``: ``account``, ``amount`` (controllerRedeem; controller);
- ``FORCED_TRANSFER``: ``sender``, ``recipient``, ``amount`` (controllerTransfer);
- ``PARTITIONS``: ``partition``, ``sender``, ``recipient``, ``amount``
  (operatorTransferByPartition by a controller or operator);
- ``PAUSE``: ``paused``; ``WHITELIST``: ``account``, ``whitelisted``;
  ``LOCKS``: ``account``, ``until``; ``DOCUMENTS``: ``name``, ``uri``, ``hash`` (owner).

Each has a dry run (:meth:`Erc1400Adapter.check_agent_operation`): the contract's checks
from reads, in its order (owner or controller first; an issuance's issuable flag,
recipient and whitelist; a controller's recipient and the holder's whole balance; an
operator transfer by partition through the token's own ``canTransferByPartition`` asked
as the agent), optionally confirmed by an ``eth_call`` from the agent.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar, Final

from web3 import Web3

from adapters.evm.batch import read_batch, require_answers, values
from adapters.evm.client import EvmClient, EvmReverted, RevertInfo
from adapters.evm.contracts import load_artifact
from adapters.evm.erc20 import CASH_TOKEN_ERRORS
from adapters.evm.erc1404 import (
    LOCKUP_TOPIC,
    WHITELIST_TOPIC,
    ValidatorReads,
    agent_check,
    flag_param,
    unix_time_param,
)
from bridge.errors import BridgeError, InvalidInput
from bridge.model import (
    AgentOperationCheck,
    AllowListRule,
    Asset,
    AssetRef,
    Capability,
    Document,
    Holding,
    LockupRule,
    Refusal,
    RoleAssignment,
    Rule,
    Standard,
    TransferCheck,
    TransferIntent,
)
from bridge.ports import Signer, TxReceipt
from bridge.reasons import ReasonCode, from_erc1400
from bridge.registry import AdapterSpec

__all__ = [
    "SECURITY_TOKEN_ERRORS",
    "SECURITY_TOKEN_REASONS",
    "SPEC",
    "Erc1400Adapter",
    "bytes32_text",
    "deploy_security_token",
    "partition_id",
    "probe",
    "status_refusal",
]

R = ReasonCode

SECURITY_TOKEN_REASONS: Final[Mapping[str, ReasonCode]] = {
    "SUCCESS": R.OK,
    "TRANSFERS_PAUSED": R.TOKEN_PAUSED,
    "ALLOWANCE_EXCEEDED": R.INSUFFICIENT_ALLOWANCE,
    "OPERATOR_NOT_AUTHORIZED": R.OPERATOR_NOT_AUTHORIZED,
    "RECEIVER_ZERO_ADDRESS": R.INVALID_RECEIVER,
    "SENDER_NOT_WHITELISTED": R.SENDER_NOT_ELIGIBLE,
    "RECEIVER_NOT_WHITELISTED": R.RECIPIENT_NOT_ELIGIBLE,
    "SENDER_LOCKED_UP": R.FUNDS_LOCKED,
    "WRONG_PARTITION": R.PARTITION_ERROR,
    "INSUFFICIENT_BALANCE": R.INSUFFICIENT_BALANCE,
}
"""``SecurityToken1400``'s bytes32 reasons -> canonical reason (more precise than the byte)."""

SECURITY_TOKEN_ERRORS: Final[Mapping[str, ReasonCode]] = {
    **CASH_TOKEN_ERRORS,
    "NotController": R.OPERATOR_NOT_AUTHORIZED,
    "IssuanceFinished": R.SUPPLY_CAP_EXCEEDED,
}
"""Custom errors other than ``TransferRefused(status, reason)`` -> canonical reason."""

OWNERSHIP_TOPIC: Final = Web3.keccak(text="OwnershipTransferred(address,address)").to_0x_hex()
_HEX32 = re.compile(r"^0x[0-9a-fA-F]{64}$")
_STATUS = re.compile(r"^0x[0-9a-fA-F]{2}$")


def partition_id(name: str) -> str:
    """The bytes32 id (0x hex) of a partition named by ASCII text, right-padded with zeros."""
    raw = name.encode("ascii", errors="strict") if name.isascii() else b""
    if not raw or len(raw) > 32:
        raise InvalidInput("partition", "1 to 32 ASCII characters", value=name)
    return "0x" + raw.ljust(32, b"\0").hex()


def bytes32_text(value: bytes) -> str:
    """A bytes32 as text when it is printable ASCII padded with zeros, else as 0x hex."""
    stripped = bytes(value).rstrip(b"\0")
    if stripped and all(32 <= b < 127 for b in stripped):
        return stripped.decode("ascii")
    return "0x" + bytes(value).hex()


def status_refusal(status: int, reason: bytes | str) -> Refusal:
    """Canonical refusal for an ERC-1400 status byte and its bytes32 reason (pure).

    The reason decides when it is one of ``SecurityToken1400``'s (it is more precise than
    the byte: ``WRONG_PARTITION`` and ``INSUFFICIENT_BALANCE`` share 0x52); otherwise the
    byte does, with the ERC-1400 meanings (:func:`bridge.reasons.from_erc1400`).
    """
    text = reason if isinstance(reason, str) else bytes32_text(reason)
    code = SECURITY_TOKEN_REASONS.get(text) or from_erc1400(status)
    return Refusal(
        code=code,
        source_standard=Standard.ERC1400,
        raw_code=f"0x{status:02x}",
        raw_message=text,
        detail=f"ERC-1400 status 0x{status:02x}: {text}",
    )


def _partition_bytes(value: object, field: str = "partition") -> bytes:
    if not isinstance(value, str) or not _HEX32.match(value):
        raise InvalidInput(field, "a bytes32 partition id: 0x + 64 hex digits", value=value)
    return bytes.fromhex(value[2:])


class Erc1400Adapter(ValidatorReads):
    """ERC-1400 partitioned security tokens (stbridge's ``SecurityToken1400``)."""

    standard: Standard = Standard.ERC1400
    artifact: ClassVar[str] = "SecurityToken1400"
    errors: ClassVar[Mapping[str, ReasonCode]] = SECURITY_TOKEN_ERRORS
    capabilities: frozenset[Capability] = frozenset(
        {
            Capability.MINT,
            Capability.BURN,
            Capability.FORCED_TRANSFER,
            Capability.PARTITIONS,
            Capability.PAUSE,
            Capability.WHITELIST,
            Capability.LOCKS,
            Capability.DOCUMENTS,
        }
    )
    CONTROLLER_POWERS: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.BURN, Capability.FORCED_TRANSFER}
    )

    # -- reasons -------------------------------------------------------------------------

    def refusal(self, raw_code: str | None, raw_message: str | None) -> Refusal:
        """Canonical refusal: a ``0x5X`` ``raw_code`` is an ERC-1400 status with its reason
        text; anything else is a custom-error name (see :class:`EvmTokenAdapter`)."""
        if raw_code is not None and _STATUS.match(raw_code):
            return status_refusal(int(raw_code, 16), raw_message or "")
        return super().refusal(raw_code, raw_message)

    def reason_of(self, revert: RevertInfo) -> ReasonCode:
        """Canonical reason of a revert; ``TransferRefused(status, reason)`` is decoded."""
        if revert.error_name == "TransferRefused" and len(revert.error_args) == 2:
            status, reason = revert.error_args
            if isinstance(reason, bytes):
                return status_refusal(_byte(status), reason).code
        return super().reason_of(revert)

    # -- reads ---------------------------------------------------------------------------

    def default_partition(self, address: str) -> str:
        """The partition plain ERC-20 transfers draw from (0x hex)."""
        return "0x" + bytes(self.read(self.token(address).functions.defaultPartition())).hex()

    def documents(self, address: str, height: int | str = "latest") -> tuple[Document, ...]:
        """The token's ERC-1643 documents, in ``getAllDocuments`` order."""
        contract = self.token(address)
        out: list[Document] = []
        for raw_name in self.read(contract.functions.getAllDocuments(), height):
            uri, digest, modified = self.read(contract.functions.getDocument(raw_name), height)
            has_hash = any(bytes(digest))
            out.append(
                Document(
                    name=bytes32_text(bytes(raw_name)),
                    uri=str(uri),
                    hash=bytes(digest).hex() if has_hash else None,
                    hash_alg="sha256" if has_hash else None,
                    last_modified=datetime.fromtimestamp(int(modified), tz=UTC),
                )
            )
        return tuple(out)

    def read_asset(self, ref: AssetRef) -> Asset:
        """The canonical asset: rules, documents, owner and controllers, controls."""
        address = self.locate(ref)
        height = self.client.head()
        name, symbol, decimals, supply = self.erc20_basics(address, height)
        contract = self.token(address)
        paused = bool(self.read(contract.functions.paused(), height))
        logs = self.event_logs(address, (WHITELIST_TOPIC, LOCKUP_TOPIC), height)
        source = f"{address}#{{}}"
        rules: list[Rule] = [
            AllowListRule(
                addresses=tuple(self.whitelist_from_logs(address, logs, height)),
                source=source.format("whitelist"),
            )
        ]
        for account, until in self.lockups_from_logs(address, logs, height).items():
            rules.append(
                LockupRule(
                    until=datetime.fromtimestamp(until, tz=UTC),
                    holder=account,
                    source=source.format("lockupUntil"),
                )
            )
        owner = str(self.read(contract.functions.owner(), height))
        controllers = [str(c) for c in self.read(contract.functions.controllers(), height)]
        roles = [RoleAssignment(role="owner", holder=owner)]
        roles += [RoleAssignment(role="controller", holder=c) for c in controllers]
        controls = set(self.capabilities)
        if not bool(self.read(contract.functions.isControllable(), height)):
            controls -= self.CONTROLLER_POWERS
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
            issuer=owner,
            documents=self.documents(address, height),
            rules=tuple(rules),
            controls=tuple(controls),
            roles=tuple(roles),
            read_at_height=height,
        )

    def _holding_at(self, address: str, account: str, height: int) -> Holding:
        contract = self.token(address)
        balance = int(self.read(contract.functions.balanceOf(account), height))
        parts: dict[str, int] = {}
        for raw in self.read(contract.functions.partitionsOf(account), height):
            amount = int(self.read(contract.functions.balanceOfByPartition(raw, account), height))
            if amount:
                parts["0x" + bytes(raw).hex()] = amount
        frozen = balance if balance and self.cannot_send(address, account, height) else 0
        return Holding(
            holder=account,
            balance=balance,
            free=balance - frozen,
            frozen=frozen,
            by_partition=parts,
        )

    def holding(self, ref: AssetRef, holder: str) -> Holding:
        """One holder's position, split by partition."""
        address = self.locate(ref)
        account = self.evm_address(holder, "holder")
        return self._holding_at(address, account, self.client.head())

    def holders(
        self,
        ref: AssetRef,
        *,
        from_height: int = 0,
        progress: Callable[[int, int], None] | None = None,
    ) -> Iterator[Holding]:
        """Every address with a non-zero balance (from ``Transfer`` logs from
        ``from_height``), by partition.

        Three passes of JSON-RPC batches at one block, each call encoded once: balances;
        then the partitions, whitelist flag and lock-up of each holder; then each holder's
        balance in each of its partitions. The block's timestamp is read once.
        """
        address = self.locate(ref)
        height = self.client.head()
        parties = self.transfer_parties(
            address, from_height=from_height, to_height=height, progress=progress
        )
        balances = self.balances(address, parties, block=height)
        held = [(a, b) for a, b in zip(parties, balances, strict=True) if b]
        if not held:
            return
        partitions_of, listed, until = (
            self.view(name) for name in ("partitionsOf", "isWhitelisted", "lockupUntil")
        )
        calls = [
            (address, fn.encode(account))
            for account, _ in held
            for fn in (partitions_of, listed, until)
        ]
        answers = require_answers(
            read_batch(self.client, calls, block=height, batch_size=self.batch_size)
        )
        by_partition = self.view("balanceOfByPartition")
        pairs: list[tuple[int, bytes]] = []
        for i in range(len(held)):
            pairs.extend((i, bytes(raw)) for raw in partitions_of.decode(answers[3 * i]))
        amounts = values(
            read_batch(
                self.client,
                [(address, by_partition.encode(raw, held[i][0])) for i, raw in pairs],
                block=height,
                batch_size=self.batch_size,
            ),
            by_partition,
        )
        parts: list[dict[str, int]] = [{} for _ in held]
        for (i, raw), amount in zip(pairs, amounts, strict=True):
            if amount:
                parts[i]["0x" + raw.hex()] = int(amount)
        now = self.block_timestamp(height)
        for i, (account, balance) in enumerate(held):
            ok = listed.decode(answers[3 * i + 1])
            end = until.decode(answers[3 * i + 2])
            frozen = balance if not ok or end > now else 0
            yield Holding(
                holder=account,
                balance=balance,
                free=balance - frozen,
                frozen=frozen,
                by_partition=parts[i],
            )

    # -- dry run --------------------------------------------------------------------------

    def check_transfer(self, intent: TransferIntent) -> TransferCheck:
        """The token's own ERC-1400 verdict at one block, asked as the operator; nothing sent."""
        address = self.locate(intent.asset)
        sender = self.evm_address(intent.sender, "sender")
        recipient = self.evm_address(intent.recipient, "recipient")
        operator = (
            self.evm_address(intent.operator, "operator") if intent.operator is not None else sender
        )
        contract = self.require_token(address)
        height = self.client.head()
        if intent.partition is None and operator != sender:
            fn = contract.functions.canTransferFrom(sender, recipient, intent.amount, b"")
            _, status, reason = self._call_as(fn, operator, height)
        else:
            partition = (
                _partition_bytes(intent.partition)
                if intent.partition is not None
                else bytes.fromhex(self.default_partition(address)[2:])
            )
            fn = contract.functions.canTransferByPartition(
                sender, recipient, partition, intent.amount, b""
            )
            status, reason, _ = self._call_as(fn, operator, height)
        code = _byte(status)
        if code == 0x51:
            return TransferCheck(intent=intent, allowed=True)
        refusal = status_refusal(code, bytes(reason))
        return TransferCheck(intent=intent, allowed=False, refusals=(refusal,))

    def _call_as(self, fn_call: Any, caller: str, height: int) -> Any:
        return self.client.guard(
            f"call {getattr(fn_call, 'fn_name', 'check')}",
            lambda: fn_call.call({"from": caller}, block_identifier=height),
        )

    # -- sending ------------------------------------------------------------------------------

    def transfer(self, intent: TransferIntent, signer: Signer) -> TxReceipt:
        """Send ``intent`` with the ERC-20 or ERC-1410 function that matches its shape."""
        address = self.locate(intent.asset)
        sender = self.evm_address(intent.sender, "sender")
        recipient = self.evm_address(intent.recipient, "recipient")
        operator = (
            self.evm_address(intent.operator, "operator") if intent.operator is not None else sender
        )
        self.require_signer(signer, operator, "operator" if operator != sender else "sender")
        contract = self.token(address)
        amount = intent.amount
        if intent.partition is None:
            if operator == sender:
                data = contract.encode_abi("transfer", args=[recipient, amount])
            else:
                data = contract.encode_abi("transferFrom", args=[sender, recipient, amount])
        else:
            part = _partition_bytes(intent.partition)
            if operator == sender:
                data = contract.encode_abi(
                    "transferByPartition", args=[part, recipient, amount, b""]
                )
            else:
                data = contract.encode_abi(
                    "operatorTransferByPartition",
                    args=[part, sender, recipient, amount, b"", b""],
                )
        return self.send(signer, address, data, "transfer")

    # -- agent operations -----------------------------------------------------------------

    def agent_operation(
        self, ref: AssetRef, capability: Capability, signer: Signer, **params: object
    ) -> TxReceipt:
        """Run one owner / controller operation (see the module docstring for parameters)."""
        address = self.locate(ref)
        if capability not in self.capabilities:
            raise self.unsupported(capability)
        contract = self.require_token(address)
        fn, args = self._operation(address, capability, params)
        return self.send(signer, address, contract.encode_abi(fn, args=args), str(capability))

    def _operation(
        self, address: str, capability: Capability, params: Mapping[str, object]
    ) -> tuple[str, list[Any]]:
        addr = self.evm_address
        if capability is Capability.MINT:
            self.params(params, ("to", "amount"), ("partition",))
            to, amount = addr(params["to"], "to"), self.amount(params["amount"])
            raw = params.get("partition") or self.default_partition(address)
            return "issueByPartition", [_partition_bytes(raw), to, amount, b""]
        if capability is Capability.BURN:
            self.params(params, ("account", "amount"))
            account, amount = addr(params["account"], "account"), self.amount(params["amount"])
            return "controllerRedeem", [account, amount, b"", b""]
        if capability is Capability.FORCED_TRANSFER:
            self.params(params, ("sender", "recipient", "amount"))
            sender, recipient = (
                addr(params["sender"], "sender"),
                addr(params["recipient"], "recipient"),
            )
            return "controllerTransfer", [
                sender,
                recipient,
                self.amount(params["amount"]),
                b"",
                b"",
            ]
        if capability is Capability.PARTITIONS:
            self.params(params, ("partition", "sender", "recipient", "amount"))
            part = _partition_bytes(params["partition"])
            sender, recipient = (
                addr(params["sender"], "sender"),
                addr(params["recipient"], "recipient"),
            )
            amount = self.amount(params["amount"])
            return "operatorTransferByPartition", [part, sender, recipient, amount, b"", b""]
        if capability is Capability.PAUSE:
            self.params(params, ("paused",))
            return ("pause" if flag_param(params, "paused") else "unpause"), []
        if capability is Capability.WHITELIST:
            self.params(params, ("account", "whitelisted"))
            account = addr(params["account"], "account")
            return "setWhitelisted", [account, flag_param(params, "whitelisted")]
        if capability is Capability.LOCKS:
            self.params(params, ("account", "until"))
            return "setLockup", [
                addr(params["account"], "account"),
                unix_time_param(params["until"]),
            ]
        self.params(params, ("name", "uri", "hash"))
        name = _partition_bytes(partition_id(str(params["name"])), "name")
        uri = params["uri"]
        if not isinstance(uri, str):
            raise InvalidInput("uri", "a string", value=uri)
        digest = params["hash"]
        if digest is None:
            return "setDocument", [name, uri, b"\0" * 32]
        return "setDocument", [name, uri, _partition_bytes(digest, "hash")]

    def check_agent_operation(
        self,
        ref: AssetRef,
        capability: Capability,
        agent: str,
        *,
        simulate: bool = True,
        **params: object,
    ) -> AgentOperationCheck:
        """Dry-run an owner / controller operation signed by ``agent`` (parameters as for
        :meth:`agent_operation`); nothing is sent.

        From reads, in ``SecurityToken1400``'s order: a mint needs the owner
        (``OwnableUnauthorizedAccount``), issuance not finished, a non-zero whitelisted
        recipient (not stopped by the pause); a burn and a forced transfer need a
        controller while the token is controllable (``NotController``), a forced transfer
        a non-zero recipient, both the holder's whole balance (partitions drained in
        order, the validator bypassed); an operator transfer by partition is the token's
        own ``canTransferByPartition`` asked as the agent; the other operations need the
        owner. With ``simulate`` the call also runs as an ``eth_call`` from ``agent``.
        """
        address = self.locate(ref)
        if capability not in self.capabilities:
            raise self.unsupported(capability)
        who = self.evm_address(agent, "agent")
        contract = self.require_token(address)
        fn, args = self._operation(address, capability, params)
        height = self.client.head()
        refusals = self._agent_refusals(address, capability, who, args, height)
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
        self, address: str, capability: Capability, agent: str, args: list[Any], height: int
    ) -> list[Refusal]:
        f = self.token(address).functions

        def custom(name: str, shown: str, code: ReasonCode, detail: str) -> list[Refusal]:
            return [
                Refusal(
                    code=code,
                    source_standard=self.standard,
                    raw_code=name,
                    raw_message=f"{name}({shown})",
                    detail=detail,
                )
            ]

        def status(byte: int, reason: str) -> list[Refusal]:
            return [status_refusal(byte, reason)]

        if capability in self.CONTROLLER_POWERS:
            controllable = bool(self.read(f.isControllable(), height))
            listed = {str(c) for c in self.read(f.controllers(), height)}
            if not controllable or agent not in listed:
                return custom(
                    "NotController", agent, R.OPERATOR_NOT_AUTHORIZED, f"{agent} is no controller"
                )
            if capability is Capability.FORCED_TRANSFER:
                holder, to, amount = args[0], args[1], int(args[2])
                if int(to, 16) == 0:
                    return status(0x57, "RECEIVER_ZERO_ADDRESS")
            else:
                holder, amount = args[0], int(args[1])
            if int(self.read(f.balanceOf(holder), height)) < amount:
                return status(0x52, "INSUFFICIENT_BALANCE")
            return []
        if capability is Capability.PARTITIONS:
            partition, sender, recipient, amount = args[:4]
            fn = f.canTransferByPartition(sender, recipient, partition, amount, b"")
            code, reason, _ = self._call_as(fn, agent, height)
            byte = _byte(code)
            return [] if byte == 0x51 else status(byte, bytes32_text(bytes(reason)))
        owner = str(self.read(f.owner(), height))
        if agent != owner:
            return custom(
                "OwnableUnauthorizedAccount", agent, R.OPERATOR_NOT_AUTHORIZED, "not the owner"
            )
        if capability is Capability.MINT:
            holder = args[1]
            if not self.read(f.isIssuable(), height):
                return custom("IssuanceFinished", "", R.SUPPLY_CAP_EXCEEDED, "issuance finished")
            if int(holder, 16) == 0:
                return status(0x57, "RECEIVER_ZERO_ADDRESS")
            if not self.read(f.isWhitelisted(holder), height):
                return status(0x57, "RECEIVER_NOT_WHITELISTED")
        return []

    def remove_document(self, ref: AssetRef, name: str, signer: Signer) -> TxReceipt:
        """Remove the ERC-1643 document ``name`` (owner)."""
        address = self.locate(ref)
        raw = _partition_bytes(partition_id(name), "name")
        data = self.token(address).encode_abi("removeDocument", args=[raw])
        return self.send(signer, address, data, "removeDocument")


def _byte(value: object) -> int:
    if isinstance(value, bytes | bytearray):
        return value[0] if value else 0
    if isinstance(value, int):
        return value
    raise InvalidInput("status", "an ERC-1400 status byte", value=value)


def deploy_security_token(
    client: EvmClient,
    owner: Signer,
    *,
    name: str,
    symbol: str,
    decimals: int = 0,
    default_partition: str = "unrestricted",
    controllers: tuple[str, ...] | None = None,
) -> str:
    """Deploy a SecurityToken1400 owned by ``owner``; controllers default to the owner.

    Returns the token address. ``default_partition`` is the ASCII name of the partition that
    ERC-20 transfers use.
    """
    if not 0 <= decimals <= 255:
        raise InvalidInput("decimals", "between 0 and 255", value=decimals)
    art = load_artifact("SecurityToken1400")
    partition = _partition_bytes(partition_id(default_partition), "default_partition")
    contract = client.deploy(
        owner, art.abi, art.bytecode, name, symbol, decimals, partition, owner.address
    )
    if controllers is None:
        chosen = [owner.address]
    else:
        chosen = [Erc1400Adapter.evm_address(c, "controllers") for c in controllers]
    data = bytes.fromhex(contract.encode_abi("setControllers", args=[chosen])[2:])
    try:
        client.transact(owner, str(contract.address), data)
    except EvmReverted as exc:
        raise BridgeError(f"setting the controllers failed: {exc}") from exc
    return str(contract.address)


def probe(client: EvmClient, address: str) -> bool:
    """True when ``address`` answers ``partitionsOf`` and ``balanceOfByPartition``.

    A chain that cannot be reached raises its ``TransientError`` instead of answering False.
    """
    try:
        adapter = Erc1400Adapter(client)
        contract = adapter.require_token(adapter.evm_address(address, "address"))
        zero = "0x" + "00" * 20
        adapter.read(contract.functions.partitionsOf(zero))
        adapter.read(contract.functions.balanceOfByPartition(b"\0" * 32, zero))
    except BridgeError as exc:
        if exc.transient:
            raise
        return False
    return True


SPEC: Final = AdapterSpec(
    standard=Standard.ERC1400,
    family="evm",
    capabilities=Erc1400Adapter.capabilities,
    factory=Erc1400Adapter,
    probe=probe,
    summary="ERC-1400 security token (partitions, documents, controllers, validator)",
    priority=200,
)
"""Registry entry (entry point ``erc1400 = "adapters.evm.erc1400:SPEC"``)."""
