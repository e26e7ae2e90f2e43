"""The interop suite's ERC-1400 security world: swaps of a partitioned security token.

With ``MachineConfig(security="erc1400")`` the security leg of every order is stbridge's
``SecurityToken1400`` on the security chain (:mod:`relayer.interop.world`: class A is its
default partition, class B a second one; alice holds both, the third party class B). Each
order draws (``MachineConfig.partitions``, :func:`order_partitions`) how it is settled: a
plain token lock (no partition: ``lockToken``, the HTLC pulls class-A units with
``transferFrom``), or an order of one partition (``LegOrder.partition`` class A or B: the
relayer approves the HTLC by partition and locks with ``lockPartition``, the lock id
committing to the partition), so the relayer's live read of a partition lock is exercised.

:class:`PartitionActors` is mixed into :class:`~relayer.interop.machine.InteropMachine`:

==============================  ==================================================================
rule (actor)                    what it does
==============================  ==================================================================
``partition_look_alike``        the third party locks class-B units of the token with a swap's
(third_party)                   security leg terms (hashlock, receiver, amount, deadline) through
                                ``lockPartition``: a look-alike from another partition and sender,
                                and units of the token in the HTLC that no plain lock owns
``agent_force_out_partition``   the token's controller moves class-A units out of the pooled
(token_agent)                   HTLC (``operatorTransferByPartition`` as controller: a forced
                                transfer), as T-REX's ``forcedTransfer`` does (issue 13 item 9)
``agent_restore_partition``     the controller puts them back
(token_agent)
``seller_other_partition``      the seller itself (its own platform signing with its key, beside
(counterparty)                  the relayer) locks units of the *other* class with a swap's
                                security leg terms, sender included, before the relayer's lock:
                                the only lock that differs from the leg's in its partition alone
                                (anyone else's has another sender, which the lock id refuses
                                anyway); the buyer paid for one class and must not be given the
                                other
==============================  ==================================================================

The machine's invariants cover the token as they cover the T-REX one:
``escrow_holds_its_open_locks`` and ``no_asset_stranded_in_an_escrow`` compare the HTLC's
open plain and class-A partition locks of the token with its **class-A** units
(``balanceOfByPartition``: ``balanceOf`` also counts the other partitions), and its open
class-B partition locks with its class-B units (:func:`partition_books`);
``only_the_legs_own_lock_is_recorded`` compares the relayer's record of a leg's lock with
the id the machine computes from the terms, partition included; ``supply_is_conserved``
follows the token's supply over its holders.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

from bridge.errors import BridgeError
from bridge.model import AssetRef
from relayer.interop.world import CLASS_A, CLASS_B

if TYPE_CHECKING:
    from relayer.interop.machine import MachineConfig, SwapRecord
    from relayer.interop.world import InteropWorld

__all__ = [
    "PartitionActors",
    "order_partitions",
    "partition_books",
    "partition_fields",
    "partition_held",
    "st1400_contract",
]

_ST1400_ABI: list[dict[str, Any]] = [
    {
        "name": "balanceOfByPartition",
        "type": "function",
        "stateMutability": "view",
        "inputs": [
            {"name": "partition", "type": "bytes32"},
            {"name": "holder", "type": "address"},
        ],
        "outputs": [{"name": "", "type": "uint256"}],
    },
    {
        "name": "operatorTransferByPartition",
        "type": "function",
        "stateMutability": "nonpayable",
        "inputs": [
            {"name": "partition", "type": "bytes32"},
            {"name": "from", "type": "address"},
            {"name": "to", "type": "address"},
            {"name": "value", "type": "uint256"},
            {"name": "data", "type": "bytes"},
            {"name": "operatorData", "type": "bytes"},
        ],
        "outputs": [{"name": "", "type": "bytes32"}],
    },
    {
        "name": "transferByPartition",
        "type": "function",
        "stateMutability": "nonpayable",
        "inputs": [
            {"name": "partition", "type": "bytes32"},
            {"name": "to", "type": "address"},
            {"name": "value", "type": "uint256"},
            {"name": "data", "type": "bytes"},
        ],
        "outputs": [{"name": "", "type": "bytes32"}],
    },
    {
        "name": "approveByPartition",
        "type": "function",
        "stateMutability": "nonpayable",
        "inputs": [
            {"name": "partition", "type": "bytes32"},
            {"name": "spender", "type": "address"},
            {"name": "value", "type": "uint256"},
        ],
        "outputs": [{"name": "", "type": "bool"}],
    },
]
"""The ``SecurityToken1400`` functions the actors and the books use."""


def st1400_contract(world: InteropWorld) -> Any:
    """The ERC-1400 security's contract (the functions of :data:`_ST1400_ABI`)."""
    return world.sec.contract(world.st1400.locator.address, _ST1400_ABI)  # type: ignore[union-attr]


def class_a_held(world: InteropWorld, holder: str) -> int:
    """``holder``'s class-A (default partition) units of the ERC-1400 security."""
    token = st1400_contract(world)
    return int(token.functions.balanceOfByPartition(CLASS_A, holder).call())


def order_partitions() -> st.SearchStrategy[bytes | None]:
    """An ERC-1400 order's partition: None (a plain lock of the default partition), the
    default partition by name (class A), or the second one (class B)."""
    return st.sampled_from((None, CLASS_A, CLASS_B))


def partition_fields(partition: bytes | None) -> dict[str, Any]:
    """The :class:`~relayer.service.LegOrder` fields of an order of ``partition`` (none for
    a plain order)."""
    if partition is None:
        return {}
    return {"standard": "erc1400", "partition": "0x" + partition.hex()}


def _partition_bytes(value: object) -> bytes:
    """A lock event's partition: bytes as decoded, or hex as the watcher stores it."""
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    return bytes.fromhex(str(value).removeprefix("0x"))


def partition_books(world: InteropWorld, token: str, partition: object) -> str:
    """The machine's escrow book a partition lock of ``token`` (lower case) belongs to: the
    ERC-1400 security's class-A book is its plain locks' (the token's address), class B
    and any other partition have their own (``address:partition``)."""
    raw = _partition_bytes(partition)
    if token == world.st1400.locator.address.lower() and raw == CLASS_A:  # type: ignore[union-attr]
        return token
    return f"{token}:{raw.hex()}"


def partition_held(world: InteropWorld) -> dict[tuple[str, str], int]:
    """The HTLC's units of the ERC-1400 security by book: class A (plain and class-A
    partition locks) under the token's address, class B under ``address:class B``."""
    address = world.st1400.locator.address.lower()  # type: ignore[union-attr]
    token = st1400_contract(world)
    class_b = int(token.functions.balanceOfByPartition(CLASS_B, world.sec_htlc.address).call())
    return {
        ("sec", address): class_a_held(world, world.sec_htlc.address),
        ("sec", f"{address}:{CLASS_B.hex()}"): class_b,
    }


class PartitionActors:
    """The ERC-1400 world's rules (see the module docstring)."""

    if TYPE_CHECKING:
        config: ClassVar[MachineConfig]
        world: InteropWorld
        swaps: list[SwapRecord]
        undoing: bool

        def _on(self, rule_name: str) -> bool: ...

        def _act(self, actor: str) -> bool: ...

        def _agent(self, what: str) -> None: ...

    forced_1400: int
    """Class-A units the controller has taken out of the HTLC and not put back."""

    def _partition_init(self) -> None:
        self.forced_1400 = 0

    def _erc1400(self) -> bool:
        return self.config.security == "erc1400" and bool(self.swaps)

    def draw_partition(self, data: st.DataObject) -> bytes | None:
        """The partition of the next order (drawn in the ERC-1400 world only)."""
        if self.config.security != "erc1400":
            return None
        return data.draw(self.config.partitions, label="partition")

    def security_asset(self) -> AssetRef:
        """The security of this run's orders: the T-REX token, or the ERC-1400 one."""
        return self.world.st1400 if self.config.security == "erc1400" else self.world.security

    def _send_1400(self, signer: Any, call: Any) -> None:
        data = bytes.fromhex(str(call._encode_transaction_data()).removeprefix("0x"))
        self.world.sec.transact(signer, str(call.address), data)

    # ------------------------------------------------------------------ rules
    @precondition(
        lambda self: (
            self._on("partition_look_alike") and self._act("third_party") and self._erc1400()
        )
    )
    @rule(data=st.data())
    def partition_look_alike(self, data: st.DataObject) -> None:
        """The third party locks class-B units of the ERC-1400 security with a swap's
        security leg terms (``lockPartition``): another partition, another sender."""
        swap = data.draw(st.sampled_from(self.swaps), label="swap")
        self.lock_partition_look_alike(swap)

    def lock_partition_look_alike(self, swap: SwapRecord) -> None:
        """See :meth:`partition_look_alike` (a refused lock, e.g. a duplicate, is ignored)."""
        leg = swap.terms.initiator_leg
        with contextlib.suppress(BridgeError):
            self.world.sec_htlc.lock(
                asset=self.world.st1400,
                receiver=leg.receiver,
                amount=leg.amount,
                hashlock=bytes.fromhex(swap.terms.hashlock[2:]),
                deadline=swap.terms.initiator_deadline,
                signer=self.world.third,
                partition=CLASS_B,
            )

    @precondition(
        lambda self: (
            self._on("seller_other_partition") and self._act("counterparty") and self._erc1400()
        )
    )
    @rule(data=st.data())
    def seller_other_partition(self, data: st.DataObject) -> None:
        """The seller locks units of the class its order does not sell, with the order's
        security leg terms (hashlock, receiver, amount, deadline; its own address as the
        sender): a lock that differs from the leg's in its partition alone."""
        swap = data.draw(st.sampled_from(self.swaps), label="swap")
        self.lock_other_partition(swap)

    def lock_other_partition(self, swap: SwapRecord) -> bytes:
        """See :meth:`seller_other_partition`: the partition locked (class B for a plain or
        class-A order, class A for a class-B one). The seller lets the HTLC take exactly the
        amount of that partition first (``approveByPartition``, which replaces any
        allowance of it); a refused lock (a duplicate, units short) is ignored."""
        leg = swap.terms.initiator_leg
        other = CLASS_A if leg.partition == "0x" + CLASS_B.hex() else CLASS_B
        w = self.world
        approve = st1400_contract(w).functions.approveByPartition(
            other, w.sec_htlc.address, leg.amount
        )
        with contextlib.suppress(BridgeError):
            self._send_1400(w.seller, approve)
            w.sec_htlc.lock(
                asset=w.st1400,
                receiver=leg.receiver,
                amount=leg.amount,
                hashlock=bytes.fromhex(swap.terms.hashlock[2:]),
                deadline=swap.terms.initiator_deadline,
                signer=w.seller,
                partition=other,
            )
        return other

    @precondition(
        lambda self: (
            self._on("agent_force_out_partition") and self._act("token_agent") and self._erc1400()
        )
    )
    @rule(units=st.integers(1, 50))
    def agent_force_out_partition(self, units: int) -> None:
        """The controller moves up to ``units`` class-A units out of the pooled HTLC."""
        self.force_out_partition(units)

    def force_out_partition(self, units: int) -> int:
        """See :meth:`agent_force_out_partition`; the units moved."""
        w = self.world
        moved = min(units, class_a_held(w, w.sec_htlc.address))
        if moved <= 0:
            return 0
        self._agent(f"{moved} class-A units forced out of the HTLC")
        call = st1400_contract(w).functions.operatorTransferByPartition(
            CLASS_A, w.sec_htlc.address, w.st1400_agent.address, moved, b"", b""
        )
        self._send_1400(w.st1400_agent, call)
        self.forced_1400 += moved
        return moved

    @precondition(
        lambda self: (
            self._on("agent_restore_partition") and self._act("token_agent") and self._erc1400()
        )
    )
    @rule()
    def agent_restore_partition(self) -> None:
        """The controller puts every class-A unit it took out of the HTLC back."""
        self.restore_partition()

    def restore_partition(self) -> None:
        """See :meth:`agent_restore_partition` (also the example's end: nothing marked)."""
        if not self.forced_1400:
            return
        self._agent("class-A units restored to the HTLC")
        w = self.world
        call = st1400_contract(w).functions.transferByPartition(
            CLASS_A, w.sec_htlc.address, self.forced_1400, b""
        )
        self._send_1400(w.st1400_agent, call)
        self.forced_1400 = 0

    def _partition_resync(self, gaps: dict[tuple[str, str], int]) -> None:
        """After a reorg of the security chain: the units still forced out are the gap the
        chain now shows between the HTLC's open plain locks of the token and its class-A
        units."""
        self.forced_1400 = gaps.get(
            ("sec", self.world.st1400.locator.address.lower()),  # type: ignore[union-attr]
            0,
        )
