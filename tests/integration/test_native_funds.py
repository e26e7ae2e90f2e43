"""The cash side's native coin is checked before the seller locks (issue 14).

One anvil chain carries both legs: the security is our ERC-20 token, the cash the chain's
native coin. A buyer who holds less than the amount plus the lock's fees is refused before
anything is locked, with a reason naming the field; a buyer who holds enough settles. The
token legs' balances were already checked by the tokens' dry runs; the native leg had no
check, so the seller's units were locked and then waited for a payment that could not come.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pytest

from adapters.evm.client import EvmClient
from adapters.evm.erc20 import Erc20Adapter, deploy_cash_token
from adapters.evm.htlc import EvmHtlc
from adapters.evm.signer import EvmSigner
from bridge.htlc import ChainTiming, RelayerBudget
from bridge.model import AssetRef, Capability, EvmContractLocator
from bridge.reasons import ReasonCode
from bridge.swap import Outcome
from relayer.evm import evm_runtime
from relayer.sealing import SealingKey
from relayer.service import ComplianceResult, LegOrder, RelayerService, SwapOrder
from relayer.store import SqliteStore
from tests.fixtures.evm import mined_on_send

ETHER = 10**18
TIMING = ChainTiming(
    deadline_unit="timestamp", block_time_min_ms=1000, block_time_max_ms=2000, finality_depth=0
)


@dataclass
class World:
    chain: EvmClient
    htlc: EvmHtlc
    token: AssetRef
    seller: EvmSigner
    buyer: EvmSigner
    operator: EvmSigner


pytestmark = pytest.mark.anvil


@pytest.fixture(scope="module")
def world(anvil_url: str) -> World:
    chain = mined_on_send(EvmClient.from_target(anvil_url))  # a tick's sends in before it ends
    seller, buyer, operator = EvmSigner.generate(), EvmSigner.generate(), EvmSigner.generate()
    for signer in (seller, operator):
        chain.fund(signer.address, 10 * ETHER)
    chain.fund(buyer.address, 2 * ETHER)
    htlc = EvmHtlc.deploy(chain, operator)
    address = deploy_cash_token(
        chain, seller, name="Tokyo Office Units", symbol="TOU", decimals=0, currency="JPY"
    )
    token = AssetRef(chain=chain.chain, locator=EvmContractLocator(address=address))
    Erc20Adapter(chain).agent_operation(
        token, Capability.MINT, seller, to=seller.address, amount=1_000
    )
    return World(chain, htlc, token, seller, buyer, operator)


@pytest.fixture
def snapshot(world: World) -> Iterator[None]:
    taken = world.chain.snapshot()
    yield
    world.chain.revert(taken)


class OneChainWorld(Protocol):
    """What :func:`one_chain_service` needs of a test's world (this file's and
    test_token_funds.py's)."""

    chain: EvmClient
    htlc: EvmHtlc
    seller: EvmSigner
    buyer: EvmSigner
    operator: EvmSigner


def one_chain_service(world: OneChainWorld, tmp_path: Path) -> RelayerService:
    """A relayer on the world's one chain, holding the seller's and buyer's keys, with a
    compliance that allows (the funds checks are under test, not the law)."""
    return RelayerService(
        store=SqliteStore(tmp_path / "relayer.sqlite3", clock=time.time),
        chains={
            "evm": evm_runtime(
                name="evm",
                client=world.chain,
                htlc=world.htlc,
                timing=TIMING,
                confirmations=0,
                signers=[world.seller, world.buyer],
                operator=world.operator,
            )
        },
        compliance=lambda order, at: ComplianceResult(True, (), {"rules": "test"}),
        sealing_key=SealingKey.generate(),
        budget=RelayerBudget(reaction_s=30, compliance_recheck_s=10, margin_s=30),
        wall_clock=lambda: float(int(world.chain.now().timestamp())),
    )


def one_chain_order(
    world: OneChainWorld,
    order_id: str,
    security: AssetRef,
    units: int,
    cash: AssetRef | None,
    cash_amount: int,
    *,
    standard: str | None = None,
    partition: bytes | None = None,
) -> SwapOrder:
    """An order on the world's one chain: ``units`` of ``security`` (of ``standard``, of
    ``partition``) from the seller to the buyer against ``cash_amount`` of ``cash`` (None:
    the native coin) back."""
    return SwapOrder(
        order_id=order_id,
        security=LegOrder(
            chain="evm",
            asset=security,
            standard=standard,
            amount=units,
            sender=world.seller.address,
            receiver=world.buyer.address,
            partition=None if partition is None else "0x" + partition.hex(),
        ),
        cash=LegOrder(
            chain="evm",
            asset=cash,
            amount=cash_amount,
            sender=world.buyer.address,
            receiver=world.seller.address,
        ),
        settlement_window_s=3600,
    )


def _order(world: World, order_id: str, wei: int) -> SwapOrder:
    return one_chain_order(world, order_id, world.token, 100, None, wei)


def drive(service: RelayerService, swap_id: str, *, ticks: int = 10) -> Outcome:
    """Tick ``service`` until the swap is final, at most ``ticks`` times; its outcome."""
    for _ in range(ticks):
        service.tick()
        outcome = service.store.get(swap_id).outcome
        if outcome is not Outcome.OPEN:
            return outcome
    return service.store.get(swap_id).outcome


def test_a_buyer_short_of_native_coin_is_refused_before_the_seller_locks(
    world: World, snapshot: None, tmp_path: Path
) -> None:
    """Invariant: when the cash leg's sender holds less native coin than its amount plus
    the lock's fees, the swap is refused before any lock, naming the field; the seller's
    units never leave the seller."""
    service = one_chain_service(world, tmp_path)
    balance = world.chain.balance(world.buyer.address)
    state = service.submit(_order(world, "short", balance))  # all of it: nothing for fees
    assert drive(service, state.terms.swap_id) is Outcome.REFUSED
    final = service.store.get(state.terms.swap_id)
    assert [r.code for r in final.refusals] == [ReasonCode.INSUFFICIENT_BALANCE]
    detail = final.refusals[0].detail
    assert "cash.amount" in detail
    assert world.buyer.address in detail
    assert world.htlc.find(bytes.fromhex(state.terms.hashlock[2:])) == []
    holding = Erc20Adapter(world.chain).holding(world.token, world.seller.address)
    assert holding.balance == 1_000


@pytest.mark.thorough
def test_a_buyer_with_enough_native_coin_settles(
    world: World, snapshot: None, tmp_path: Path
) -> None:
    """Control: the same trade for one ether (amount plus fees covered) completes."""
    service = one_chain_service(world, tmp_path)
    state = service.submit(_order(world, "enough", ETHER))
    assert drive(service, state.terms.swap_id) is Outcome.COMPLETED
