"""A relayer order of one ERC-1400 partition settles end to end (issue 16, issue 13 item 13).

One anvil chain carries both legs: the security is our ``SecurityToken1400`` (class A its
default partition, class B a second one, the seller holding both), the cash our ERC-20
CashToken. (Anvil, not py-evm: the relayer's re-check before the claim asks the ERC-1400
token's ``canTransferByPartition`` as the HTLC, and py-evm's ``eth_call`` refuses a caller
that cannot afford the call's gas; that holds for a plain ERC-1400 leg too, which is why
the interop suite's ERC-1400 world runs on anvil.) The order's security leg names class B
(``LegOrder.partition``): the relayer locks class-B units (``lockPartition``), which the
HTLC pulls with ``operatorTransferByPartition``, so it must hold a partition allowance
(``approveByPartition``) or be the seller's partition operator. Before the fix
``relayer.evm.prepare_token_lock`` approved an ERC-20 allowance for a partition leg, which
``lockPartition`` does not use: the lock reverted and the swap never settled.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from adapters.evm.client import EvmClient
from adapters.evm.erc20 import Erc20Adapter, deploy_cash_token
from adapters.evm.erc1400 import deploy_security_token
from adapters.evm.htlc import EvmHtlc
from adapters.evm.signer import EvmSigner
from bridge.htlc import ChainTiming
from bridge.model import AssetRef, Capability, EvmContractLocator
from bridge.reasons import ReasonCode
from bridge.swap import Leg, Outcome
from relayer.evm import prepare_token_lock
from relayer.service import SwapOrder
from tests.fixtures.evm import mined_on_send
from tests.integration.test_native_funds import drive, one_chain_order, one_chain_service

ETHER = 10**18
CLASS_A = b"class-A".ljust(32, b"\x00")
CLASS_B = b"class-B".ljust(32, b"\x00")
TIMING = ChainTiming(
    deadline_unit="timestamp", block_time_min_ms=1000, block_time_max_ms=2000, finality_depth=0
)
ABI: list[dict[str, Any]] = [
    {
        "name": name,
        "type": "function",
        "stateMutability": "view",
        "inputs": [{"name": n, "type": t} for n, t in inputs],
        "outputs": [{"name": "", "type": "uint256"}],
    }
    for name, inputs in (
        ("balanceOfByPartition", (("partition", "bytes32"), ("holder", "address"))),
        (
            "allowanceByPartition",
            (("partition", "bytes32"), ("holder", "address"), ("spender", "address")),
        ),
        ("allowance", (("holder", "address"), ("spender", "address"))),
    )
]


@dataclass
class World:
    chain: EvmClient
    htlc: EvmHtlc
    security: AssetRef
    cash: AssetRef
    token: Any
    seller: EvmSigner
    buyer: EvmSigner
    operator: EvmSigner

    def units(self, partition: bytes, holder: str) -> int:
        return int(self.token.functions.balanceOfByPartition(partition, holder).call())


def _send(chain: EvmClient, signer: EvmSigner, call: Any) -> None:
    chain.transact(signer, str(call.address), bytes.fromhex(call._encode_transaction_data()[2:]))


def _full_abi() -> list[dict[str, Any]]:
    from adapters.evm.contracts import load_artifact

    return list(load_artifact("SecurityToken1400").abi)


pytestmark = pytest.mark.anvil


@pytest.fixture(scope="module")
def world(anvil_url: str) -> World:
    chain = mined_on_send(EvmClient.from_target(anvil_url))  # a tick's sends in before it ends
    seller, buyer, operator = (EvmSigner.generate() for _ in range(3))
    for signer in (seller, buyer, operator):
        chain.fund(signer.address, 10 * ETHER)
    htlc = EvmHtlc.deploy(chain, operator)
    address = deploy_security_token(
        chain, operator, name="Partitioned Fund", symbol="PFND", default_partition="class-A"
    )
    token = chain.contract(address, _full_abi())
    for who in (seller.address, buyer.address, htlc.address):
        _send(chain, operator, token.functions.setWhitelisted(who, True))
    for partition in (CLASS_A, CLASS_B):
        _send(
            chain, operator, token.functions.issueByPartition(partition, seller.address, 100, b"")
        )
    security = AssetRef(chain=chain.chain, locator=EvmContractLocator(address=address))
    cash_address = deploy_cash_token(
        chain, operator, name="Yen", symbol="JPYX", decimals=0, currency="JPY"
    )
    cash = AssetRef(chain=chain.chain, locator=EvmContractLocator(address=cash_address))
    Erc20Adapter(chain).agent_operation(
        cash, Capability.MINT, operator, to=buyer.address, amount=10_000
    )
    return World(chain, htlc, security, cash, token, seller, buyer, operator)


@pytest.fixture
def snapshot(world: World) -> Iterator[None]:
    taken = world.chain.snapshot()
    yield
    world.chain.revert(taken)


def _order(world: World, order_id: str, units: int, partition: bytes | None) -> SwapOrder:
    return one_chain_order(
        world,
        order_id,
        world.security,
        units,
        world.cash,
        7_000,
        standard="erc1400",
        partition=partition,
    )


def test_an_order_of_one_partition_settles_through_the_relayer(
    world: World, snapshot: None, tmp_path: Path
) -> None:
    """Invariant: a completed partition order moves exactly the order's units of its
    partition from the seller to the buyer (the other partition untouched) and the cash
    back; the seller's lock is the partition lock the terms name (its id commits to the
    partition), and the HTLC was let pull them by partition, not by an ERC-20 allowance."""
    service = one_chain_service(world, tmp_path)
    cash = Erc20Adapter(world.chain)
    state = service.submit(_order(world, "class-b", 40, CLASS_B))
    assert state.terms.initiator_leg.partition == "0x" + CLASS_B.hex()
    assert drive(service, state.terms.swap_id) is Outcome.COMPLETED, service.audit(
        state.terms.swap_id
    )["last_error"]
    assert world.units(CLASS_B, world.buyer.address) == 40
    assert world.units(CLASS_B, world.seller.address) == 60
    assert world.units(CLASS_A, world.seller.address) == 100  # the other class untouched
    assert world.units(CLASS_A, world.buyer.address) == 0
    assert cash.holding(world.cash, world.seller.address).balance == 7_000
    assert cash.holding(world.cash, world.buyer.address).balance == 3_000
    final = service.store.get(state.terms.swap_id)
    expected = world.htlc.lock_id_for(
        asset=world.security,
        sender=world.seller.address,
        receiver=world.buyer.address,
        amount=40,
        hashlock=bytes.fromhex(final.terms.hashlock[2:]),
        deadline=final.terms.initiator_deadline,
        partition=CLASS_B,
    )
    assert final.initiator.lock_id == expected
    # no ERC-20 allowance was given for a partition leg
    assert world.token.functions.allowance(world.seller.address, world.htlc.address).call() == 0


def test_a_partition_order_beyond_that_partitions_balance_is_refused_before_any_lock(
    world: World, snapshot: None, tmp_path: Path
) -> None:
    """The token's dry run of a partition leg asks that partition: 150 class-B units when
    the seller holds 100 of class B (and 200 in all) is refused before anything is locked."""
    service = one_chain_service(world, tmp_path)
    state = service.submit(_order(world, "class-b-too-many", 150, CLASS_B))
    assert drive(service, state.terms.swap_id) is Outcome.REFUSED
    final = service.store.get(state.terms.swap_id)
    assert ReasonCode.INSUFFICIENT_BALANCE in [r.code for r in final.refusals], final.refusals
    assert world.htlc.find(bytes.fromhex(final.terms.hashlock[2:])) == []
    assert world.units(CLASS_B, world.seller.address) == 100


def test_the_htlc_is_approved_by_partition_only_when_short(world: World, snapshot: None) -> None:
    """``prepare_token_lock`` for a partition leg: an ``approveByPartition`` of the amount
    when the partition allowance is short, nothing when it covers; never an ERC-20
    ``approve``."""
    leg = Leg(
        chain=world.chain.chain,
        asset=world.security,
        amount=30,
        sender=world.seller.address,
        receiver=world.buyer.address,
        partition="0x" + CLASS_B.hex(),
    )
    allowance = world.token.functions.allowanceByPartition
    height = world.chain.head()
    prepare_token_lock(world.chain, world.htlc, leg, world.seller)
    assert allowance(CLASS_B, world.seller.address, world.htlc.address).call() == 30
    assert allowance(CLASS_A, world.seller.address, world.htlc.address).call() == 0
    assert world.token.functions.allowance(world.seller.address, world.htlc.address).call() == 0
    sent = world.chain.head()
    assert sent > height  # the approval was sent
    prepare_token_lock(world.chain, world.htlc, leg, world.seller)
    assert world.chain.head() == sent  # covered: nothing sent again
