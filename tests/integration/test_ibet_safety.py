"""ibet legs against a hostile look-alike and a token agent (issue 14), through the relayer.

One py-evm chain carries an ibet share (our contract, the public ibet interfaces) settled
through ``IbetHTLC`` and the seller's lock book, and a JPY ERC-20 through ``HTLC.sol``; the
relayer's runtime is the daemon's (:func:`relayer.evm.evm_runtime` + :func:`relayer.ibet.
with_ibet`). Two attacks on the moment the seller reveals the secret:

- a third party (mallory) opens a look-alike ibet lock first: same receiver, amount and
  token as the security leg, under her own hashlock. The pre-reveal check of ibet's
  ``unlock`` judged the first open lock that looked like the leg (hers, whole), not the
  leg's own lock (short), and the secret was revealed;
- the issuer's ``forceUnlock`` takes units out of the seller's lock book while IbetHTLC
  still counts them committed to open locks. ibet keeps the units in its lock book, so the
  pooled-escrow check of ``HTLC.sol`` never looked; the secret was revealed.

In both the secret must stay unrevealed, and the legs go back to their senders.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from adapters.evm.client import EvmClient
from adapters.evm.erc20 import Erc20Adapter, deploy_cash_token
from adapters.evm.htlc import EvmHtlc
from adapters.evm.ibet import IbetShareAdapter, deploy_ibet_share, deploy_personal_info
from adapters.evm.ibet_htlc import IbetHtlc
from adapters.evm.signer import EvmSigner
from bridge.htlc import ChainTiming, RelayerBudget
from bridge.model import AssetRef, Capability, EvmContractLocator, TransferIntent
from bridge.reasons import ReasonCode
from bridge.swap import LegPhase, Outcome
from relayer.evm import evm_runtime
from relayer.ibet import with_ibet
from relayer.sealing import SealingKey
from relayer.service import ComplianceResult, LegOrder, RelayerService, SwapOrder
from relayer.store import SqliteStore

ETHER = 10**18
TIMING = ChainTiming(
    deadline_unit="timestamp", block_time_min_ms=1000, block_time_max_ms=2000, finality_depth=0
)


@dataclass
class World:
    chain: EvmClient
    htlc: EvmHtlc
    ibet_htlc: IbetHtlc
    share: AssetRef
    jpy: AssetRef
    issuer: EvmSigner
    seller: EvmSigner
    buyer: EvmSigner
    mallory: EvmSigner
    operator: EvmSigner


@pytest.fixture(scope="module")
def world() -> World:
    chain = EvmClient.embedded()
    issuer, seller, buyer, mallory, operator = (EvmSigner.generate() for _ in range(5))
    for signer in (issuer, seller, buyer, mallory, operator):
        chain.fund(signer.address, 10 * ETHER)
    registry = deploy_personal_info(chain, issuer)
    address = deploy_ibet_share(
        chain, issuer, name="Kyoto Holdings Share", symbol="KHS", total_supply=1_000,
        personal_info=registry,
    )  # fmt: skip
    share = AssetRef(chain=chain.chain, locator=EvmContractLocator(address=address))
    ibet = IbetShareAdapter(chain)
    for who, units in ((seller, 100), (mallory, 20), (buyer, 0)):
        ibet.agent_operation(share, Capability.IDENTITY_REGISTRATION, issuer, wallet=who.address)
        if units:
            intent = TransferIntent(
                asset=share, sender=issuer.address, recipient=who.address, amount=units
            )
            ibet.transfer(intent, issuer)
    jpy_address = deploy_cash_token(
        chain, issuer, name="JPY Coin", symbol="JPYX", decimals=0, currency="JPY"
    )
    jpy = AssetRef(chain=chain.chain, locator=EvmContractLocator(address=jpy_address))
    Erc20Adapter(chain).agent_operation(
        jpy, Capability.MINT, issuer, to=buyer.address, amount=10**6
    )
    htlc, ibet_htlc = EvmHtlc.deploy(chain, operator), IbetHtlc.deploy(chain, operator)
    return World(chain, htlc, ibet_htlc, share, jpy, issuer, seller, buyer, mallory, operator)


@pytest.fixture
def snapshot(world: World) -> Iterator[None]:
    taken = world.chain.snapshot()
    yield
    world.chain.revert(taken)


def _service(world: World, tmp_path: Path) -> RelayerService:
    runtime = evm_runtime(
        name="evm",
        client=world.chain,
        htlc=world.htlc,
        timing=TIMING,
        confirmations=0,
        signers=[world.seller, world.buyer],
        operator=world.operator,
    )
    return RelayerService(
        store=SqliteStore(tmp_path / "relayer.sqlite3", clock=time.time),
        chains={"evm": with_ibet(runtime, world.chain, world.ibet_htlc)},
        compliance=lambda order, at: ComplianceResult(True, (), {"rules": "test"}),
        sealing_key=SealingKey.generate(),
        budget=RelayerBudget(reaction_s=30, compliance_recheck_s=10, margin_s=30),
        wall_clock=lambda: float(int(world.chain.now().timestamp())),
    )


def _order(world: World, order_id: str) -> SwapOrder:
    return SwapOrder(
        order_id=order_id,
        security=LegOrder(
            chain="evm", asset=world.share, amount=10, sender=world.seller.address,
            receiver=world.buyer.address,
        ),
        cash=LegOrder(
            chain="evm", asset=world.jpy, amount=10_000, sender=world.buyer.address,
            receiver=world.seller.address,
        ),
        settlement_window_s=3600,
    )  # fmt: skip


def _lock_both(service: RelayerService, swap_id: str) -> None:
    """Run the swap until both legs are locked, stopping before the claim."""
    for _ in range(8):
        service.poll_chains()
        if service.observe(swap_id).participant.phase is LegPhase.LOCKED:
            return
        service.run_effects(swap_id)
    raise AssertionError(service.store.get(swap_id))


def _drive(service: RelayerService, swap_id: str, ticks: int = 4) -> Outcome:
    for _ in range(ticks):
        service.tick()
        if service.store.get(swap_id).outcome is not Outcome.OPEN:
            break
    return service.store.get(swap_id).outcome


def _force_unlock(world: World, units: int) -> None:
    """The issuer takes ``units`` of the seller's units locked to IbetHTLC out (to itself)."""
    IbetShareAdapter(world.chain).agent_operation(
        world.share, Capability.LOCKS, world.issuer, action="unlock",
        lock_address=world.ibet_htlc.address, account=world.seller.address,
        recipient=world.issuer.address, amount=units,
    )  # fmt: skip


def _look_alike(world: World, sender: EvmSigner, receiver: str, label: bytes) -> None:
    """An open ibet lock of 10 units of the share to ``receiver`` under another hashlock."""
    world.ibet_htlc.lock(
        asset=world.share, receiver=receiver, amount=10,
        hashlock=hashlib.sha256(label).digest(),
        deadline=int(world.chain.now().timestamp()) + 7200, signer=sender,
    )  # fmt: skip


def _refusals(service: RelayerService, swap_id: str) -> list[dict[str, object]]:
    recheck = json.loads(service.store.document(swap_id, "recheck"))
    return list(recheck["refusals"])


def test_the_release_is_judged_for_the_legs_own_lock_not_a_look_alike(
    world: World, snapshot: None, tmp_path: Path
) -> None:
    """Invariant: the pre-reveal check of ibet's ``unlock`` runs for the lock whose id the
    relayer recomputes from the terms. mallory's earlier look-alike (same receiver, amount
    and token; whole) is not judged in its place: the leg's own lock, 5 units short after a
    ``forceUnlock``, refuses the reveal (the token's locked-amount code)."""
    service = _service(world, tmp_path)
    _look_alike(world, world.mallory, world.buyer.address, b"mallory")
    swap_id = service.submit(_order(world, "look-alike")).terms.swap_id
    _lock_both(service, swap_id)
    _force_unlock(world, 5)
    _drive(service, swap_id)
    state = service.store.get(swap_id)
    assert not state.secret_public, "the secret was revealed against a short lock"
    assert state.recheck == "failed"
    refusals = _refusals(service, swap_id)
    assert any(r["code"] == ReasonCode.INSUFFICIENT_BALANCE.value for r in refusals), refusals
    assert any(str(r.get("raw_code", "")).endswith("0102") for r in refusals), refusals
    assert Erc20Adapter(world.chain).holding(world.jpy, world.seller.address).balance == 0


def test_a_lock_book_short_of_its_open_locks_refuses_the_reveal_and_refunds(
    world: World, snapshot: None, tmp_path: Path
) -> None:
    """Invariant: before the reveal, the seller's units locked to IbetHTLC must cover every
    open lock IbetHTLC committed them to. The issuer's ``forceUnlock`` of 10 of the 20 (the
    swap's lock and another trade's) leaves the swap's own lock payable on its own, yet the
    book is short: the secret is not revealed, and at the deadlines the buyer's JPY and the
    seller's units go back."""
    service = _service(world, tmp_path)
    _look_alike(world, world.seller, world.mallory.address, b"another trade")
    swap_id = service.submit(_order(world, "book-short")).terms.swap_id
    _lock_both(service, swap_id)
    _force_unlock(world, 10)
    _drive(service, swap_id)
    state = service.store.get(swap_id)
    assert not state.secret_public, "the secret was revealed against a short lock book"
    assert state.recheck == "failed"
    assert [r["raw_code"] for r in _refusals(service, swap_id)] == ["IBET_ESCROW_SHORT"]
    world.chain.increase_time(3 * 3600)
    assert _drive(service, swap_id, ticks=8) is Outcome.REFUNDED
    erc20, ibet = Erc20Adapter(world.chain), IbetShareAdapter(world.chain)
    assert erc20.holding(world.jpy, world.buyer.address).balance == 10**6
    assert ibet.holding(world.share, world.buyer.address).balance == 0
    # the swap's 10 back to the seller; the other trade's 10 are the ones the issuer took
    assert ibet.holding(world.share, world.seller.address).balance == 90


def test_an_ibet_leg_counts_the_gas_of_its_lock_and_commit(
    world: World, snapshot: None, tmp_path: Path
) -> None:
    """Invariant: the funds check of an ibet leg asks for the gas of the token's lock and
    IbetHTLC's commit (no ERC-20 approval): a seller without native coin is refused naming
    the field; with 0.1 ether it passes."""
    funds = _service(world, tmp_path).chains["evm"].funds
    assert funds is not None
    poor = EvmSigner.generate()
    refused = funds("security", world.share, poor.address, 10)
    assert [r.code for r in refused] == [ReasonCode.INSUFFICIENT_BALANCE]
    assert "security.sender" in refused[0].detail
    assert "ibet lock" in refused[0].detail
    world.chain.fund(poor.address, ETHER // 10)
    assert funds("security", world.share, poor.address, 10) == ()
