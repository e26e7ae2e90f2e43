"""ibet settlement through the lock book, and an ibet bond against a JPY stablecoin.

Chain A carries an ibet straight bond (our contract, public ibet interfaces), chain B
(anvil, 31343) our JPY ERC-20 stablecoin. ``IbetHTLC`` is the bond's lock address: the
seller locks units to it, the swap commits them, a claim unlocks them to the buyer, a refund
back to the seller.

Chain A runs at every EVM target of :data:`tests.fixtures.evm.FORKS`, on py-evm (that VM)
and on anvil (``--hardfork``, chain id 31342); the cross-border settlement runs with chain A
on Berlin, the EVM of ibet's Quorum network.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from adapters.evm.client import EvmClient
from adapters.evm.erc20 import Erc20Adapter, deploy_cash_token
from adapters.evm.htlc import EvmHtlc
from adapters.evm.ibet import IbetBondAdapter, deploy_ibet_bond, deploy_personal_info
from adapters.evm.ibet_htlc import IbetHtlc
from adapters.evm.signer import EvmSigner
from bridge.errors import SettlementError, TransferRefused
from bridge.htlc import ChainTiming, RelayerBudget
from bridge.model import AssetRef, Capability, EvmContractLocator, TransferIntent
from bridge.swap import Outcome
from relayer.evm import evm_runtime
from relayer.sealing import SealingKey
from relayer.service import ChainRuntime, ComplianceResult, LegOrder, RelayerService, SwapOrder
from relayer.store import SqliteStore
from tests.fixtures.evm import FORKS, start_anvil, stop_process

ETHER = 10**18
TIMING = ChainTiming(
    deadline_unit="timestamp", block_time_min_ms=1000, block_time_max_ms=2000, timestamp_drift_s=5
)


@dataclass
class Bonds:
    a: EvmClient
    b: EvmClient
    bond: AssetRef
    jpy: AssetRef
    ibet_htlc: IbetHtlc
    cash_htlc: EvmHtlc
    issuer: EvmSigner
    seller: EvmSigner
    buyer_a: EvmSigner
    buyer_b: EvmSigner
    seller_b: str
    operator_a: EvmSigner
    operator_b: EvmSigner


CHAIN_A = [
    *(pytest.param(("pyevm", fork), id=f"pyevm-{fork}") for fork in FORKS),
    *(pytest.param(("anvil", fork), id=f"anvil-{fork}", marks=pytest.mark.anvil) for fork in FORKS),
]
"""Chain A's backend and EVM target, for the IbetHTLC tests."""

CHAIN_A_BERLIN_IN_MAKE_TEST = [
    pytest.param(
        param.values[0],
        id=param.id,
        marks=[*param.marks, *(() if param.values[0][1] == "berlin" else (pytest.mark.thorough,))],
    )
    for param in CHAIN_A
]
""":data:`CHAIN_A` with every target but Berlin (ibet's) under ``make test-thorough`` only."""


@pytest.fixture(scope="module")
def bonds(request: pytest.FixtureRequest) -> Iterator[Bonds]:
    backend, fork = request.param
    procs = []
    if backend == "anvil":
        proc_a, url_a = start_anvil("--chain-id", "31342", "--hardfork", fork)
        procs.append(proc_a)
    proc_b, url_b = start_anvil("--chain-id", "31343")
    procs.append(proc_b)
    try:
        a = EvmClient.embedded(fork) if backend == "pyevm" else EvmClient.from_target(url_a)
        b = EvmClient.from_target(url_b)
        assert a.evm_version == fork
        keys = {n: EvmSigner.generate() for n in ("issuer", "seller", "buyer_a", "op_a")}
        keys_b = {n: EvmSigner.generate() for n in ("jpy_issuer", "buyer_b", "op_b")}
        for signer in keys.values():
            a.fund(signer.address, 10 * ETHER)
        for signer in keys_b.values():
            b.fund(signer.address, 10 * ETHER)
        registry = deploy_personal_info(a, keys["issuer"])
        bond_address = deploy_ibet_bond(
            a, keys["issuer"], name="Osaka Green Bond", symbol="OGB", total_supply=10_000,
            personal_info=registry, face_value=1_000_000,
        )  # fmt: skip
        bond = AssetRef(chain=a.chain, locator=EvmContractLocator(address=bond_address))
        adapter = IbetBondAdapter(a)
        for wallet in (keys["seller"].address, keys["buyer_a"].address):
            adapter.agent_operation(
                bond, Capability.IDENTITY_REGISTRATION, keys["issuer"], wallet=wallet
            )
        adapter.transfer(
            TransferIntent(
                asset=bond,
                sender=keys["issuer"].address,
                recipient=keys["seller"].address,
                amount=1_000,
            ),
            keys["issuer"],
        )
        jpy_address = deploy_cash_token(
            b, keys_b["jpy_issuer"], name="JPY Coin", symbol="JPYX", decimals=0, currency="JPY"
        )
        jpy = AssetRef(chain=b.chain, locator=EvmContractLocator(address=jpy_address))
        Erc20Adapter(b).agent_operation(
            jpy, Capability.MINT, keys_b["jpy_issuer"], to=keys_b["buyer_b"].address,
            amount=10**9,
        )  # fmt: skip
        yield Bonds(
            a=a,
            b=b,
            bond=bond,
            jpy=jpy,
            ibet_htlc=IbetHtlc.deploy(a, keys["op_a"]),
            cash_htlc=EvmHtlc.deploy(b, keys_b["op_b"]),
            issuer=keys["issuer"],
            seller=keys["seller"],
            buyer_a=keys["buyer_a"],
            buyer_b=keys_b["buyer_b"],
            seller_b=EvmSigner.generate().address,
            operator_a=keys["op_a"],
            operator_b=keys_b["op_b"],
        )
    finally:
        for proc in procs:
            stop_process(proc)


@pytest.fixture
def snapshots(bonds: Bonds) -> Iterator[None]:
    sa, sb = bonds.a.snapshot(), bonds.b.snapshot()
    yield
    bonds.a.revert(sa)
    bonds.b.revert(sb)


def bond_balance(bonds: Bonds, who: str) -> int:
    return IbetBondAdapter(bonds.a).holding(bonds.bond, who).balance


def now(client: EvmClient) -> int:
    return int(client.now().timestamp())


@pytest.mark.parametrize("bonds", CHAIN_A, indirect=True)
def test_claim_unlocks_to_the_receiver_and_reveals_the_secret(
    bonds: Bonds, snapshots: None
) -> None:
    secret = secrets.token_bytes(32)
    hashlock = hashlib.sha256(secret).digest()
    lock_id, _ = bonds.ibet_htlc.lock(
        asset=bonds.bond, receiver=bonds.buyer_a.address, amount=100, hashlock=hashlock,
        deadline=now(bonds.a) + 600, signer=bonds.seller,
    )  # fmt: skip
    assert bond_balance(bonds, bonds.seller.address) == 900
    with pytest.raises(SettlementError, match="does not open"):
        bonds.ibet_htlc.claim(lock_id, secrets.token_bytes(32), bonds.operator_a)
    bonds.ibet_htlc.claim(lock_id, secret, bonds.operator_a)  # a third party sends the claim
    assert bond_balance(bonds, bonds.buyer_a.address) == 100
    assert bonds.ibet_htlc.secret_of(lock_id) == secret
    assert [lock.state for lock in bonds.ibet_htlc.find(hashlock)] == ["claimed"]
    with pytest.raises(SettlementError):
        bonds.ibet_htlc.refund(lock_id, bonds.operator_a)


@pytest.mark.parametrize("bonds", CHAIN_A, indirect=True)
def test_refund_only_after_the_deadline(bonds: Bonds, snapshots: None) -> None:
    hashlock = hashlib.sha256(secrets.token_bytes(32)).digest()
    lock_id, _ = bonds.ibet_htlc.lock(
        asset=bonds.bond, receiver=bonds.buyer_a.address, amount=50, hashlock=hashlock,
        deadline=now(bonds.a) + 600, signer=bonds.seller,
    )  # fmt: skip
    with pytest.raises(SettlementError, match="DeadlineNotReached"):
        bonds.ibet_htlc.refund(lock_id, bonds.operator_a)
    bonds.a.increase_time(700)
    bonds.a.mine()
    bonds.ibet_htlc.refund(lock_id, bonds.operator_a)
    assert bond_balance(bonds, bonds.seller.address) == 1_000
    assert [lock.state for lock in bonds.ibet_htlc.find(hashlock)] == ["refunded"]


@pytest.mark.parametrize("bonds", CHAIN_A, indirect=True)
def test_locked_units_back_one_swap_only(bonds: Bonds, snapshots: None) -> None:
    """Units locked to the HTLC but committed to an open swap cannot back a second one."""
    deadline = now(bonds.a) + 600
    first = hashlib.sha256(b"\x01" * 32).digest()
    bonds.ibet_htlc.lock(
        asset=bonds.bond, receiver=bonds.buyer_a.address, amount=1_000, hashlock=first,
        deadline=deadline, signer=bonds.seller,
    )  # fmt: skip
    with pytest.raises(TransferRefused, match="needs 10"):
        bonds.ibet_htlc.lock(
            asset=bonds.bond, receiver=bonds.buyer_a.address, amount=10,
            hashlock=hashlib.sha256(b"\x02" * 32).digest(), deadline=deadline,
            signer=bonds.seller,
        )  # fmt: skip


@pytest.mark.parametrize("bonds", CHAIN_A_BERLIN_IN_MAKE_TEST, indirect=True)
def test_a_settled_lock_s_slot_is_written_over_and_never_settled_again(
    bonds: Bonds, snapshots: None
) -> None:
    """A seller's next lock takes the slot of its settled one (a non-zero word written over:
    the commit costs at least 15,000 gas less than a fresh slot's), the open lock's slot is
    skipped, and the settled lock cannot be claimed or refunded again through its old slot
    (its word is now the new lock's id)."""
    deadline = now(bonds.a) + 600
    fns = bonds.ibet_htlc.contract.functions
    seller = bonds.seller.address

    def lock(secret: bytes, amount: int) -> tuple[str, int, int]:
        lock_id, receipt = bonds.ibet_htlc.lock(
            asset=bonds.bond, receiver=bonds.buyer_a.address, amount=amount,
            hashlock=hashlib.sha256(secret).digest(), deadline=deadline, signer=bonds.seller,
        )  # fmt: skip
        _, slot = bonds.ibet_htlc._located(lock_id)
        return lock_id, slot, int(bonds.a.receipt(receipt.tx_id)["gasUsed"])

    open_id, open_slot, _ = lock(b"\x01" * 32, 10)
    first_id, first_slot, fresh = lock(b"\x02" * 32, 20)
    assert (open_slot, first_slot) == (0, 1)
    bonds.ibet_htlc.claim(first_id, b"\x02" * 32, bonds.operator_a)
    assert int(bonds.a.read(fns.freeSlot(seller, 0))) == 1
    second_id, second_slot, reused = lock(b"\x03" * 32, 20)
    assert second_slot == 1
    assert reused <= fresh - 15_000, (fresh, reused)
    assert bool(bonds.a.read(fns.isOpen(seller, 1, bytes.fromhex(second_id[2:]))))
    assert not bool(bonds.a.read(fns.isOpen(seller, 1, bytes.fromhex(first_id[2:]))))
    assert bool(bonds.a.read(fns.isOpen(seller, 0, bytes.fromhex(open_id[2:]))))
    with pytest.raises(SettlementError, match="LockNotOpen"):
        bonds.ibet_htlc.claim(first_id, b"\x02" * 32, bonds.operator_a)
    bonds.a.increase_time(700)
    bonds.a.mine()
    with pytest.raises(SettlementError, match="LockNotOpen"):
        bonds.ibet_htlc.refund(first_id, bonds.operator_a)
    bonds.ibet_htlc.refund(second_id, bonds.operator_a)
    bonds.ibet_htlc.refund(open_id, bonds.operator_a)
    assert bond_balance(bonds, seller) == 1_000 - 20  # the claimed 20 went to the buyer
    assert int(bonds.a.read(fns.committed(bonds.bond.locator.address, seller))) == 0


def ibet_runtime(bonds: Bonds) -> ChainRuntime:
    adapter = IbetBondAdapter(bonds.a)
    return ChainRuntime(
        name="bond",
        chain=bonds.a.chain,
        htlc=bonds.ibet_htlc,
        now=lambda: now(bonds.a),
        head=bonds.a.head,
        timing=TIMING,
        confirmations=0,
        signers={bonds.seller.address: bonds.seller},
        operator=bonds.operator_a,
        dry_run=adapter.check_transfer,  # ibet's unlock skips these checks: run them here
        block_hash=bonds.a.block_hash,
    )


@pytest.mark.anvil
@pytest.mark.parametrize(
    "bonds", [pytest.param(("anvil", "berlin"), id="anvil-berlin")], indirect=True
)
def test_ibet_bond_against_jpy_stablecoin_on_a_second_chain(
    bonds: Bonds, snapshots: None, tmp_path: Path
) -> None:
    """Issue 8's second end to end: an ibet bond (chain A) against a JPY ERC-20 (chain B)
    settles through the relayer; then a buyer who never pays: the seller is refunded."""
    service = RelayerService(
        store=SqliteStore(tmp_path / "relayer.sqlite3"),
        chains={
            "bond": ibet_runtime(bonds),
            "cash": evm_runtime(
                name="cash",
                client=bonds.b,
                htlc=bonds.cash_htlc,
                timing=TIMING,
                confirmations=0,
                signers=[bonds.buyer_b],
                operator=bonds.operator_b,
            ),
        },
        compliance=lambda order, at: ComplianceResult(True, (), {"rules": "test"}),
        sealing_key=SealingKey.generate(),
        budget=RelayerBudget(reaction_s=30, compliance_recheck_s=10, margin_s=30),
        wall_clock=lambda: float(max(now(bonds.a), now(bonds.b), int(time.time()))),
    )

    def order(order_id: str, units: int) -> SwapOrder:
        return SwapOrder(
            order_id=order_id,
            security=LegOrder(
                chain="bond", asset=bonds.bond, amount=units, sender=bonds.seller.address,
                receiver=bonds.buyer_a.address,
            ),
            cash=LegOrder(
                chain="cash", asset=bonds.jpy, amount=units * 1_000_000,
                sender=bonds.buyer_b.address, receiver=bonds.seller_b,
            ),
            settlement_window_s=3600,
        )  # fmt: skip

    def drive(swap_id: str) -> Outcome:
        for _ in range(12):
            service.tick()
            outcome = service.store.get(swap_id).outcome
            if outcome is not Outcome.OPEN:
                return outcome
        return service.store.get(swap_id).outcome

    settled = service.submit(order("bond-1", 200)).terms.swap_id
    assert drive(settled) is Outcome.COMPLETED
    assert bond_balance(bonds, bonds.buyer_a.address) == 200
    assert Erc20Adapter(bonds.b).holding(bonds.jpy, bonds.seller_b).balance == 200_000_000

    service.chains["cash"].signers = {}  # the buyer's key is not here: no payment
    stalled = service.submit(order("bond-2", 100)).terms.swap_id
    drive(stalled)
    assert bond_balance(bonds, bonds.seller.address) == 700
    for client in (bonds.a, bonds.b):
        client.increase_time(2 * 3600)
        client.mine()
    assert drive(stalled) is Outcome.REFUNDED
    assert bond_balance(bonds, bonds.seller.address) == 800
