"""The interop suite's ERC-1400 security world: swaps of a partitioned security token.

With ``MachineConfig(security="erc1400")`` the security leg of every order is stbridge's
``SecurityToken1400`` on the security chain (:mod:`relayer.interop.world`: class A is its
default partition and alice's units, class B the third party's). The relayer settles it as
it settles any order today: a plain token lock (``lockToken``: the HTLC pulls class-A units
with ``transferFrom``), claimed and refunded by ``transfer`` from the default partition. An
order carries no partition (``LegOrder`` has none), so a relayer swap never makes a
partition lock; partition locks in the HTLC are other people's.

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
==============================  ==================================================================

The machine's invariants cover the token as they cover the T-REX one:
``escrow_holds_its_open_locks`` and ``no_asset_stranded_in_an_escrow`` compare the HTLC's
open plain locks of the token with its **class-A** units (``balanceOfByPartition``: what
can pay a plain lock; ``balanceOf`` also counts the partition locks' units), and
``supply_is_conserved`` follows the token's supply over its holders.
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

__all__ = ["PartitionActors", "st1400_contract"]

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
]
"""The three ``SecurityToken1400`` functions the actors and the books use."""


def st1400_contract(world: InteropWorld) -> Any:
    """The ERC-1400 security's contract (the functions of :data:`_ST1400_ABI`)."""
    return world.sec.contract(world.st1400.locator.address, _ST1400_ABI)  # type: ignore[union-attr]


def class_a_held(world: InteropWorld, holder: str) -> int:
    """``holder``'s class-A (default partition) units of the ERC-1400 security."""
    token = st1400_contract(world)
    return int(token.functions.balanceOfByPartition(CLASS_A, holder).call())


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
