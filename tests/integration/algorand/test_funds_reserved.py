"""Concurrent orders of one Algorand sender are admitted only as far as its microalgos go.

Each open ASA lock ties up its escrow's deposit (the escrow's minimum balance with the
asset, and its settlement fees) and the lock's own fees, paid from the sender's microalgos
above its minimum balance. The funds check saw each order alone: a buyer funded for ``k``
locks had every one of ``k + 1`` concurrent orders admitted, and the last lock failed at
the ledger after the seller had locked. Now what the sender's other swaps in flight will
spend is set aside first.

One embedded ledger carries both legs (a JPY stablecoin sold against a USD one), so the
relayer is driven on one chain; the law is not under test (allowed).
"""

from __future__ import annotations

import time
from pathlib import Path

from algosdk import transaction

from adapters.algorand.algod import EmbeddedAlgodClient
from adapters.algorand.htlc import MIN_FEE, AlgorandHtlc
from adapters.algorand.ledger import EmbeddedLedger
from adapters.algorand.signer import AlgorandSigner
from bridge.model import Capability
from bridge.reasons import ReasonCode
from bridge.swap import Outcome
from relayer.dry_runs import algorand_dry_run, algorand_funds_check
from relayer.embedded import ALGO_TIMING, BUDGET
from relayer.sealing import SealingKey
from relayer.service import ChainRuntime, ComplianceResult, LegOrder, RelayerService, SwapOrder
from relayer.store import SqliteStore
from tests.fixtures.algorand_assets import StablecoinWorld, build_stablecoin_world

IN_FLIGHT = 3


def _service(world: StablecoinWorld, htlc: AlgorandHtlc, path: Path) -> RelayerService:
    ledger = world.ledger
    alice, bob, carol = world["alice"], world["bob"], world["carol"]
    return RelayerService(
        store=SqliteStore(path / "relayer.sqlite3", clock=time.time),
        chains={
            "algorand": ChainRuntime(
                name="algorand",
                chain=world.chain.chain,
                htlc=htlc,
                now=lambda: ledger.last_round,
                head=lambda: ledger.last_round,
                timing=ALGO_TIMING,
                confirmations=0,
                signers={alice.address: alice, bob.address: bob},
                operator=carol,
                dry_run=algorand_dry_run(world.chain),
                funds=algorand_funds_check(htlc),  # as the daemon wires it
                escrow_per_lock=True,
            )
        },
        compliance=lambda order, at: ComplianceResult(True, (), {"rules": "test"}),
        sealing_key=SealingKey.generate(),
        budget=BUDGET,
        wall_clock=time.time,
    )


def _order(world: StablecoinWorld, order_id: str) -> SwapOrder:
    alice, bob = world["alice"].address, world["bob"].address
    return SwapOrder(
        order_id=order_id,
        security=LegOrder(
            chain="algorand", asset=world.jpy_ref, amount=10, sender=alice, receiver=bob
        ),
        cash=LegOrder(chain="algorand", asset=world.usd_ref, amount=10, sender=bob, receiver=alice),
        settlement_window_s=3600,
    )


def _leave_spendable(world: StablecoinWorld, signer: AlgorandSigner, spendable: int) -> None:
    """Make ``signer`` hold exactly ``spendable`` microalgos above its minimum balance."""
    chain, ledger = world.chain, world.ledger
    sp = ledger.suggested_params()
    sp.flat_fee, sp.fee = True, MIN_FEE
    extra = chain.spendable_algos(signer.address) - spendable - MIN_FEE
    pay = transaction.PaymentTxn(signer.address, sp, world.issuer.address, extra)  # type: ignore[no-untyped-call]
    ledger.submit([signer.sign(pay)])
    assert chain.spendable_algos(signer.address) == spendable


def test_concurrent_asa_locks_of_one_buyer_are_admitted_only_as_far_as_its_algos_go(
    algo_ledger: EmbeddedLedger, tmp_path: Path
) -> None:
    """Invariant: a buyer whose microalgos above its minimum balance pay for exactly ``k``
    ASA locks (deposit and fees each) and half of another has ``k`` of ``k + 1``
    concurrent orders admitted and the last refused before anything of it is locked, with
    a reason naming ``cash.sender`` and its swaps in flight. Before the fix all ``k + 1``
    were admitted."""
    world = build_stablecoin_world(algo_ledger, tmp_path / "ipfs")
    alice, bob = world["alice"], world["bob"]
    for signer in (alice, bob):
        world.adapter.opt_in(world.jpy_ref, signer)
    world.adapter.agent_operation(
        world.jpy_ref, Capability.MINT, world.issuer, recipient=alice.address, amount=1_000
    )
    htlc = AlgorandHtlc(EmbeddedAlgodClient(algo_ledger, wait_timeout=0.0))
    terms = htlc.terms_for(
        asset=world.usd_ref, sender=bob.address, receiver=alice.address, amount=10,
        hashlock=bytes(32), deadline=2**32,
    )  # fmt: skip
    per_lock = terms.deposit + 4 * MIN_FEE  # the HTLC's pre-flight: deposit and fees
    _leave_spendable(world, bob, IN_FLIGHT * per_lock + per_lock // 2)
    service = _service(world, htlc, tmp_path)
    ids = [service.submit(_order(world, f"algos-{i}")).terms.swap_id for i in range(IN_FLIGHT + 1)]
    service.tick()  # every order checked; the buyer locks only after the seller's lock
    for swap_id in ids[:IN_FLIGHT]:
        state = service.store.get(swap_id)
        assert state.decision == "allowed", state.refusals
    last = service.store.get(ids[-1])
    assert last.outcome is Outcome.REFUSED, (last.decision, last.refusals)
    assert [r.code for r in last.refusals] == [ReasonCode.INSUFFICIENT_BALANCE], last.refusals
    detail = last.refusals[0].detail
    assert detail.startswith(f"cash.sender {bob.address}")
    assert f"{IN_FLIGHT} other swaps in flight" in detail
    assert htlc.find(bytes.fromhex(last.terms.hashlock[2:])) == []
    service.store.close()
