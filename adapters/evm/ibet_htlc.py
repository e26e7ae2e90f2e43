"""Hash-time-locked settlement of ibet shares and bonds: :class:`IbetHtlc` over ``IbetHTLC.sol``.

ibet tokens have no ``approve``/``transferFrom``; their escrow primitive is the lock book. A
lock here is two transactions by the seller: the token's ``lock(htlc, amount, data)`` (the
HTLC becomes the lock address of those units) and ``IbetHTLC.lock(...)`` (which commits them
to one swap). A claim (anyone may send it) unlocks the units to the fixed receiver with the
32-byte secret, a refund after the deadline unlocks them back to the seller. The lock id is
``keccak256(abi.encode(hashlock, token, sender, receiver, amount, deadline))``.

ibet's ``unlock`` skips the token's transferable and personal-info checks, so a relayer must
run the token's own transfer check (``adapters.evm.ibet`` dry run) before locking and before
claiming; :meth:`IbetHtlc.preflight` reports what is missing before anything is sent.

Each lock sits in a numbered slot of its seller's (``IbetLocked`` names it): the lock takes
the seller's lowest slot holding no open lock (:meth:`IbetHtlc.lock` reads ``freeSlot`` for
the hint), so a settled lock's word is written over rather than a fresh one (see the
contract's notice). Claim and refund find the slot in the lock's event; a lock's state is
``isOpen(sender, slot, id)``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from web3.contract import Contract

from adapters.evm.client import EvmClient, EvmReverted
from adapters.evm.contracts import artifact_for_chain, load_artifact
from bridge.errors import (
    InvalidInput,
    NotFound,
    SettlementError,
    TransactionReverted,
    TransferRefused,
)
from bridge.model import AssetRef, EvmContractLocator, Refusal
from bridge.ports import ChainEvent, HtlcLock, Signer, TxReceipt
from bridge.reasons import ReasonCode, from_ibet

__all__ = ["IbetHtlc"]

_LOCK_NOTE = "stbridge-htlc"


class IbetHtlc:
    """One deployed ``IbetHTLC`` on one EVM chain, as a :class:`bridge.ports.HtlcPort`."""

    def __init__(self, client: EvmClient, address: str, *, from_block: int = 0) -> None:
        self.client = client
        self.address = client.require_code(address)
        self.from_block = from_block
        self.contract: Contract = client.contract(self.address, load_artifact("IbetHTLC").abi)
        self._token_abi = load_artifact("IbetShare").abi

    @classmethod
    def deploy(cls, client: EvmClient, signer: Signer) -> IbetHtlc:
        """Deploy a fresh ``IbetHTLC`` (built for Berlin, as ibet's contracts are; a chain
        that cannot run it is refused in one line) paid by ``signer``."""
        artifact = artifact_for_chain("IbetHTLC", client)
        receipt = client.transact(signer, None, bytes.fromhex(artifact.bytecode[2:]))
        address = client.receipt(receipt.tx_id)["contractAddress"]
        if not address:
            raise NotFound(f"deployment {receipt.tx_id} created no contract")
        return cls(client, str(address), from_block=receipt.height)

    # -- helpers ---------------------------------------------------------------------
    def _token(self, asset: AssetRef | None) -> str:
        if asset is None or not isinstance(asset.locator, EvmContractLocator):
            raise InvalidInput("asset", "an ibet lock needs the ibet token's contract address")
        return self.client.require_code(asset.locator.address)

    def _send(self, what: str, signer: Signer, fn_call: Any) -> TxReceipt:
        data = bytes.fromhex(str(fn_call._encode_transaction_data()).removeprefix("0x"))
        try:
            return self.client.transact(signer, str(fn_call.address), data)
        except EvmReverted as exc:
            name = exc.revert.error_name
            if name is not None:
                raise SettlementError(
                    f"{what} refused by the HTLC: {exc.revert.describe()}"
                ) from exc
            message = exc.revert.message or ""
            reason = from_ibet(message) if message else ReasonCode.UNKNOWN
            raise TransactionReverted(
                f"{what} reverted in the ibet token: {exc.revert.describe()}",
                raw_message=message,
                tx_id=exc.tx_id,
                reason=None if reason is ReasonCode.UNKNOWN else reason,
            ) from exc

    @staticmethod
    def _hashlock(value: object) -> bytes:
        if not isinstance(value, bytes) or len(value) != 32:
            raise InvalidInput("hashlock", "must be exactly 32 bytes (sha256 of the secret)")
        return value

    # -- pre-flight ------------------------------------------------------------------
    def preflight(self, *, token: str, sender: str, amount: int) -> tuple[Refusal, ...]:
        """What is missing for ``sender`` to lock ``amount`` of ``token`` here (reads only)."""
        contract = self.client.contract(token, self._token_abi)
        balance = int(self.client.read(contract.functions.balanceOf(sender)))
        free_locked = int(
            self.client.read(contract.functions.lockedOf(self.address, sender))
        ) - int(self.client.read(self.contract.functions.committed(token, sender)))
        if balance + free_locked < amount:
            return (
                Refusal(
                    code=ReasonCode.INSUFFICIENT_BALANCE,
                    detail=f"{sender} holds {balance} free and {free_locked} uncommitted "
                    f"locked units of {token}, needs {amount}",
                ),
            )
        return ()

    # -- HtlcPort ----------------------------------------------------------------------
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
        """Lock ``amount`` units to the HTLC (token.lock) and commit them to this swap."""
        token = self._token(asset)
        lock_hash = self._hashlock(hashlock)
        receiver = self.client.checked_address(receiver, field_name="receiver")
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            raise InvalidInput("amount", "must be a positive integer", value=amount)
        missing = self.preflight(token=token, sender=signer.address, amount=amount)
        if missing:
            raise TransferRefused(missing[0].detail, refusals=missing)
        contract = self.client.contract(token, self._token_abi)
        uncommitted = int(
            self.client.read(contract.functions.lockedOf(self.address, signer.address))
        ) - int(self.client.read(self.contract.functions.committed(token, signer.address)))
        if uncommitted < amount:
            self._send(
                "ibet lock",
                signer,
                contract.functions.lock(self.address, amount - uncommitted, _LOCK_NOTE),
            )
        hint = int(self.client.read(self.contract.functions.freeSlot(signer.address, 0)))
        receipt = self._send(
            "lock",
            signer,
            self.contract.functions.lock(token, amount, lock_hash, receiver, deadline, hint),
        )
        lock_id = self._lock_id(lock_hash, token, signer.address, receiver, amount, deadline)
        return lock_id, receipt

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
        """The id the contract computes for a lock with exactly these parameters."""
        if partition is not None:
            raise InvalidInput("partition", "an ibet lock has no partition")
        return self._lock_id(
            self._hashlock(hashlock), self._token(asset), sender, receiver, amount, deadline
        )

    def _lock_id(
        self, hashlock: bytes, token: str, sender: str, receiver: str, amount: int, deadline: int
    ) -> str:
        raw = self.client.read(
            self.contract.functions.lockId(hashlock, token, sender, receiver, amount, deadline)
        )
        return "0x" + bytes(raw).hex()

    def _params(self, lock_id: str) -> HtlcLock:
        return self._located(lock_id)[0]

    def _located(self, lock_id: str) -> tuple[HtlcLock, int]:
        """Lock ``lock_id`` and its slot: the open one if two locks share the id (identical
        terms in two slots), else the latest."""
        found: tuple[HtlcLock, int] | None = None
        for lock, slot in self._entries(None):
            if lock.lock_id == lock_id and (found is None or found[0].state != "open"):
                found = (lock, slot)
        if found is None:
            raise NotFound(f"no ibet lock {lock_id} on HTLC {self.address}")
        return found

    def claim(self, lock_id: str, secret: bytes, signer: Signer) -> TxReceipt:
        """Unlock the units to the fixed receiver with the 32-byte secret."""
        if not isinstance(secret, bytes) or len(secret) != 32:
            raise InvalidInput("secret", "must be exactly 32 bytes")
        lock, slot = self._located(lock_id)
        if hashlib.sha256(secret).digest() != lock.hashlock:
            raise SettlementError(f"claim of {lock_id} refused: the secret does not open it")
        token = self._token(lock.asset)
        fn = self.contract.functions.claim(
            secret, token, lock.sender, lock.receiver, lock.amount, lock.deadline, slot
        )
        return self._send("claim", signer, fn)

    def refund(self, lock_id: str, signer: Signer) -> TxReceipt:
        """Unlock the units back to the fixed sender once the deadline is reached."""
        lock, slot = self._located(lock_id)
        token = self._token(lock.asset)
        fn = self.contract.functions.refund(
            lock.hashlock, token, lock.sender, lock.receiver, lock.amount, lock.deadline, slot
        )
        return self._send("refund", signer, fn)

    def find(self, hashlock: bytes) -> Sequence[HtlcLock]:
        """Every lock under ``hashlock``, with its current state."""
        return list(self._scan(self._hashlock(hashlock)))

    def _scan(self, hashlock: bytes | None) -> Iterator[HtlcLock]:
        for lock, _ in self._entries(hashlock):
            yield lock

    def _entries(self, hashlock: bytes | None) -> Iterator[tuple[HtlcLock, int]]:
        """Every ``IbetLocked`` (under ``hashlock``, or all) with its slot, in chain order."""
        topic0 = self._topic("IbetLocked")
        topics: list[Any] = [topic0, None, "0x" + hashlock.hex()] if hashlock else [topic0]
        for entry in self.client.logs(
            address=self.address, topics=topics, from_block=self.from_block
        ):
            args = dict(self.contract.events.IbetLocked().process_log(entry)["args"])
            lock_id = "0x" + bytes(args["id"]).hex()
            sender, slot = str(args["sender"]), int(args["slot"])
            yield (
                HtlcLock(
                    lock_id=lock_id,
                    asset=AssetRef(
                        chain=self.client.chain,
                        locator=EvmContractLocator(address=str(args["token"])),
                    ),
                    sender=str(args["sender"]),
                    receiver=str(args["receiver"]),
                    amount=int(args["amount"]),
                    hashlock=bytes(args["hashlock"]),
                    deadline=int(args["deadline"]),
                    state=self._state(lock_id, sender, slot),
                    height=int(entry["blockNumber"]),
                ),
                slot,
            )

    def _state(self, lock_id: str, sender: str, slot: int) -> str:
        is_open = self.contract.functions.isOpen(sender, slot, bytes.fromhex(lock_id[2:]))
        if bool(self.client.read(is_open)):
            return "open"
        claimed = list(
            self.client.logs(
                address=self.address,
                topics=[self._topic("Claimed"), lock_id],
                from_block=self.from_block,
            )
        )
        return "claimed" if claimed else "refunded"

    def secret_of(self, lock_id: str) -> bytes | None:
        """The secret revealed by the claim of ``lock_id`` (None if not claimed)."""
        for entry in self.client.logs(
            address=self.address,
            topics=[self._topic("Claimed"), lock_id],
            from_block=self.from_block,
        ):
            return bytes(self.contract.events.Claimed().process_log(entry)["args"]["secret"])
        return None

    def events(self, from_height: int, to_height: int) -> Iterator[ChainEvent]:
        """Lock / claim / refund events in ``[from_height, to_height]``, in the shape of
        :meth:`EvmHtlc.events`: ``Locked`` carries ``lock_id, hashlock, token, sender,
        receiver, amount, deadline``; ``Claimed`` ``lock_id`` and ``secret``; ``Refunded``
        ``lock_id``."""
        names = {self._topic(n): n for n in ("IbetLocked", "Claimed", "Refunded")}
        for entry in self.client.logs(
            address=self.address, from_block=max(from_height, 0), to_block=to_height
        ):
            topic = "0x" + bytes(entry["topics"][0]).hex()
            name = names.get(topic)
            if name is None:
                continue
            raw = dict(getattr(self.contract.events, name)().process_log(entry)["args"])
            args: dict[str, object] = {"lock_id": "0x" + bytes(raw["id"]).hex()}
            if name == "IbetLocked":
                name = "Locked"
                args.update(
                    hashlock=bytes(raw["hashlock"]),
                    token=str(raw["token"]),
                    sender=str(raw["sender"]),
                    receiver=str(raw["receiver"]),
                    amount=int(raw["amount"]),
                    deadline=int(raw["deadline"]),
                )
            elif name == "Claimed":
                args["secret"] = bytes(raw["secret"])
            yield ChainEvent(
                name=name,
                height=int(entry["blockNumber"]),
                tx_id="0x" + bytes(entry["transactionHash"]).hex(),
                index=int(entry["logIndex"]),
                args=args,
            )

    def _topic(self, name: str) -> str:
        event: Mapping[str, Any] = next(
            e for e in self.contract.abi if e.get("type") == "event" and e.get("name") == name
        )
        signature = f"{name}({','.join(i['type'] for i in event['inputs'])})"
        return "0x" + self.client.w3.keccak(text=signature).hex().removeprefix("0x")
