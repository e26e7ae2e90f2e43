"""A cross-border DvP end to end on the embedded chains, driven by the relayer service.

A Japanese real-estate security token (ERC-3643 on the real T-REX contracts, py-evm) is
sold against a USD stablecoin ASA (embedded go-algorand ledger). The compliance engine
checks the trade on the rules in specs/jurisdictions; the token's own rules are dry-run
through the HTLC escrow. Each scenario ends atomically: both legs move, or none does.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.algorand.asa import AsaAdapter
from adapters.algorand.chain import AlgodChain
from adapters.evm.erc3643 import Erc3643Adapter
from bridge.model import Capability
from bridge.reasons import ReasonCode
from bridge.swap import LegPhase, Outcome
from relayer.embedded import World, build_world, demo_order


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    built = build_world(tmp_path_factory.mktemp("cross-border"))
    yield built
    built.service.store.close()


def drive(world: World, swap_id: str, ticks: int = 12) -> Outcome:
    for _ in range(ticks):
        world.service.tick()
        outcome = world.service.store.get(swap_id).outcome
        if outcome is not Outcome.OPEN:
            return outcome
    return world.service.store.get(swap_id).outcome


def test_eligible_buyer_settles_both_legs(world: World) -> None:
    before = (world.token_balance("alice"), world.token_balance("bob"))
    usd_before = (world.usd_balance("alice"), world.usd_balance("bob"))
    order = demo_order(world, "xb-settle", units=250, usd_cents=25_000_000)
    swap_id = world.service.submit(order).terms.swap_id
    assert drive(world, swap_id) is Outcome.COMPLETED
    assert world.token_balance("alice") == before[0] - 250
    assert world.token_balance("bob") == before[1] + 250
    assert world.usd_balance("alice") == usd_before[0] + 25_000_000
    assert world.usd_balance("bob") == usd_before[1] - 25_000_000
    audit = world.service.audit(swap_id)
    assert audit["decision"]["allowed"] is True
    assert set(audit["decision"]["decision"]["jurisdictions"]) >= {"JP", "SG"}


def test_ineligible_buyer_is_refused_with_reasons_and_nothing_locks(world: World) -> None:
    """carol is a US resident: the token's CountryAllowModule (JP, SG) refuses her."""
    order = demo_order(world, "xb-refused", buyer="carol", units=10, usd_cents=1_000)
    swap_id = world.service.submit(order).terms.swap_id
    assert drive(world, swap_id) is Outcome.REFUSED
    state = world.service.store.get(swap_id)
    codes = {r.code for r in state.refusals}
    assert ReasonCode.COUNTRY_RESTRICTED in codes
    hashlock = bytes.fromhex(state.terms.hashlock[2:])
    assert world.evm_htlc.find(hashlock) == []
    assert world.algo_htlc.find(hashlock) == []


def test_participant_never_locks_initiator_refunded_at_deadline(world: World) -> None:
    bob_key = world.service.chains["algorand"].signers
    world.service.chains["algorand"].signers = {}  # the buyer's key is not here: no cash lock
    try:
        alice_before = world.token_balance("alice")
        order = demo_order(world, "xb-no-cash", units=100, usd_cents=10_000_000)
        swap_id = world.service.submit(order).terms.swap_id
        drive(world, swap_id, ticks=3)
        state = world.service.store.get(swap_id)
        assert state.initiator.phase is LegPhase.LOCKED
        assert world.token_balance("alice") == alice_before - 100
        world.jump(2 * 3600)
        assert drive(world, swap_id) is Outcome.REFUNDED
        assert world.token_balance("alice") == alice_before
    finally:
        world.service.chains["algorand"].signers = bob_key


def test_buyer_frozen_before_the_claim_refunds_both(world: World) -> None:
    """The re-check before revealing the secret finds the buyer frozen: no claim, and both
    locks go back to their senders after their deadlines (never half-settled)."""
    alice_before, bob_usd_before = world.token_balance("alice"), world.usd_balance("bob")
    order = demo_order(world, "xb-frozen", units=50, usd_cents=5_000_000)
    service = world.service
    swap_id = service.submit(order).terms.swap_id
    adapter = Erc3643Adapter(world.evm)
    bob = world.trex.investor("bob").address
    # let both locks land, then freeze the buyer before the re-check runs
    for _ in range(6):
        service.observe(swap_id)
        state = service.store.get(swap_id)
        if state.participant.phase is LegPhase.LOCKED:
            break
        service.run_effects(swap_id)
    adapter.agent_operation(
        world.token_ref, Capability.ADDRESS_FREEZE, world.trex.agent, address=bob, frozen=True
    )
    try:
        drive(world, swap_id, ticks=3)
        state = service.store.get(swap_id)
        assert state.recheck == "failed", (state.initiator, state.participant, state.refusals)
        assert not state.secret_public
        world.jump(2 * 3600)
        assert drive(world, swap_id) is Outcome.REFUNDED
        assert world.token_balance("alice") == alice_before
        assert world.usd_balance("bob") == bob_usd_before
    finally:
        adapter.agent_operation(
            world.token_ref, Capability.ADDRESS_FREEZE, world.trex.agent, address=bob, frozen=False
        )


def test_world_directory_holds_the_store(world: World) -> None:
    assert Path(world.workdir, "relayer.sqlite3").exists()


def test_a_decoy_escrow_from_another_template_is_not_the_cash_leg(world: World) -> None:
    """Hostile counterparty (specs/protocol/threats.md): before the relayer locks the buyer's
    cash, the buyer funds an escrow built from our *regulated* template for the plain USD
    ASA, naming an application of its own and itself as the asset's "creator" (its claim
    would close the units back to it). Hashlock, receiver, amount, deadline and asset id
    are the leg's; the escrow address is not the one our plain-ASA template gives the
    agreed terms. The relayer ignores it, locks the real escrow, and the seller is paid."""
    from algosdk import transaction

    from adapters.algorand.htlc import HtlcKind, HtlcTerms, lock_transactions
    from bridge.swap import Role

    service = world.service
    order = demo_order(world, "xb-decoy", units=20, usd_cents=2_000_000)
    state = service.submit(order)
    terms = state.terms
    bob = world.algo_accounts["bob"]
    usd_id = world.usd_ref.locator.asset_id  # type: ignore[union-attr]
    decoy = HtlcTerms(
        kind=HtlcKind.REGULATED,
        hashlock=bytes.fromhex(terms.hashlock[2:]),
        sender=bob.address,
        receiver=terms.participant_leg.receiver,
        amount=terms.participant_leg.amount,
        deadline=terms.participant_deadline,
        fee_cap=world.algo_htlc.fee_cap,
        asset_id=usd_id,
        app_id=424_242,
        creator=bob.address,
    )
    sp = world.algod.suggested_params()
    sp.flat_fee = True
    sp.fee = 3_000
    group = lock_transactions(decoy, sp)[:2]  # the deposit (with the lock note), the opt-in
    group.append(
        (transaction.AssetTransferTxn(bob.address, sp, decoy.escrow, decoy.amount, usd_id), False)
    )
    world.algo_htlc.send_group(group, decoy, signer=bob, what="decoy")
    alice_usd, bob_usd = world.usd_balance("alice"), world.usd_balance("bob")
    assert drive(world, terms.swap_id) is Outcome.COMPLETED
    final = service.store.get(terms.swap_id)
    assert final.participant.lock_id == service.expected_lock_id(final, Role.PARTICIPANT)
    assert final.participant.lock_id != decoy.escrow
    assert world.usd_balance("alice") == alice_usd + decoy.amount  # the seller is paid
    assert world.usd_balance("bob") == bob_usd - decoy.amount  # from the real lock
    held = AsaAdapter(AlgodChain(world.algod)).holding(world.usd_ref, decoy.escrow)
    assert held.balance == decoy.amount  # the decoy was never claimed


def test_a_partly_clawed_back_cash_escrow_is_still_refunded(world: World) -> None:
    """Token agent: the re-check refuses the reveal (the buyer is frozen on the security),
    and the stablecoin issuer claws part of the buyer's cash back out of its escrow. The
    escrow now reads "underfunded", but what is left is the buyer's: at the deadline the
    relayer refunds it (and the seller's security), and the swap ends refunded."""
    service = world.service
    alice_before, bob_usd_before = world.token_balance("alice"), world.usd_balance("bob")
    order = demo_order(world, "xb-clawback", units=30, usd_cents=3_000_000)
    swap_id = service.submit(order).terms.swap_id
    adapter = Erc3643Adapter(world.evm)
    bob = world.trex.investor("bob").address
    for _ in range(6):
        service.poll_chains()
        if service.observe(swap_id).participant.phase is LegPhase.LOCKED:
            break
        service.run_effects(swap_id)
    adapter.agent_operation(
        world.token_ref, Capability.ADDRESS_FREEZE, world.trex.agent, address=bob, frozen=True
    )
    try:
        drive(world, swap_id, ticks=3)
        state = service.store.get(swap_id)
        assert state.recheck == "failed"
        escrow = state.participant.lock_id
        assert escrow is not None
        AsaAdapter(AlgodChain(world.algod)).agent_operation(
            world.usd_ref,
            Capability.CLAWBACK,
            world.algo_issuer,
            sender=escrow,
            recipient=world.algo_issuer.address,
            amount=1_000_000,
        )
        assert world.algo_htlc.get(escrow).state == "underfunded"
        world.jump(2 * 3600)
        assert drive(world, swap_id) is Outcome.REFUNDED
        assert world.token_balance("alice") == alice_before
        assert world.usd_balance("bob") == bob_usd_before - 1_000_000  # the rest came back
    finally:
        adapter.agent_operation(
            world.token_ref, Capability.ADDRESS_FREEZE, world.trex.agent, address=bob, frozen=False
        )


def test_deadlines_at_risk_counts_rounds_at_the_fastest_block_time(world: World) -> None:
    """Slow or fast chain: a round deadline may arrive as soon as rounds x the fastest block
    time. A locked cash leg whose deadline is within that is at risk, although at the
    slowest block time it would not be (the metric must not under-report)."""
    from relayer.embedded import ALGO_TIMING

    service = world.service
    swap_id = service.submit(
        demo_order(world, "xb-at-risk", units=5, usd_cents=5_000)
    ).terms.swap_id
    for _ in range(6):
        service.poll_chains()
        if service.observe(swap_id).participant.phase is LegPhase.LOCKED:
            break
        service.run_effects(swap_id)
    state = service.store.get(swap_id)
    assert state.participant.phase is LegPhase.LOCKED
    rounds = state.terms.participant_deadline - world.ledger.last_round
    soonest = rounds * ALGO_TIMING.block_time_min_ms // 1000
    assert soonest + 1 < rounds * ALGO_TIMING.block_time_max_ms // 1000
    assert service.deadlines_at_risk(within_s=soonest + 1) >= 1
    world.jump(2 * 3600)
    drive(world, swap_id)


def test_units_forced_out_of_the_pooled_htlc_stop_the_token_until_restored(world: World) -> None:
    """Token agent: after both locks, the T-REX agent force-transfers 10 of the seller's 40
    locked units out of the HTLC (which pools every lock of the token). A claim now would
    be paid from another lock's units, and revealing the secret would pay the seller cash
    for a security the buyer cannot fully get. The relayer detects that the HTLC holds less
    than its open locks, holds the secret, refunds nothing of that token, and says so
    (metric, status document, log naming the locks); the buyer's cash goes back at its
    deadline. Once the agent restores the units, the security is refunded to the seller."""
    service = world.service
    alice_before, bob_usd_before = world.token_balance("alice"), world.usd_balance("bob")
    swap_id = service.submit(
        demo_order(world, "xb-forced", units=40, usd_cents=40_000)
    ).terms.swap_id
    for _ in range(6):
        service.poll_chains()
        if service.observe(swap_id).participant.phase is LegPhase.LOCKED:
            break
        service.run_effects(swap_id)
    adapter = Erc3643Adapter(world.evm)
    jp_holder = world.trex.investor("alice").address
    adapter.agent_operation(
        world.token_ref,
        Capability.FORCED_TRANSFER,
        world.trex.agent,
        sender=world.evm_htlc.address,
        recipient=jp_holder,
        amount=10,
    )
    drive(world, swap_id, ticks=3)
    state = service.store.get(swap_id)
    assert not state.secret_public
    world.jump(2 * 3600)
    drive(world, swap_id, ticks=4)
    state = service.store.get(swap_id)
    assert state.participant.phase is LegPhase.REFUNDED  # the buyer's cash came back
    assert world.usd_balance("bob") == bob_usd_before
    assert state.initiator.phase is not LegPhase.REFUNDED  # nothing of the token moved
    assert "holds 10 units" in service.store.document(swap_id, "escrow_shortfall")
    sample = service.metrics.registry.get_sample_value(
        "stbridge_escrow_shortfall", {"chain": "evm", "asset": world.trex.token}
    )
    assert sample == 10.0
    adapter.agent_operation(  # the agent restores the units to the HTLC
        world.token_ref,
        Capability.FORCED_TRANSFER,
        world.trex.agent,
        sender=jp_holder,
        recipient=world.evm_htlc.address,
        amount=10,
    )
    assert drive(world, swap_id) is Outcome.REFUNDED
    assert world.token_balance("alice") == alice_before


def test_kyc_must_be_valid_until_the_buyer_can_last_claim(world: World) -> None:
    """Counterparty / token agent: the buyer's KYC is valid today and lapses before the
    security's deadline (the last moment the buyer's claim can land). Valid now, the trade
    is allowed and both legs lock; the re-check before the reveal applies the law at that
    deadline too, refuses (KYC expired then), and the secret is not revealed."""
    from datetime import UTC, datetime

    service = world.service
    today = datetime.fromtimestamp(service.wall_clock(), UTC).date()
    order = demo_order(world, "xb-kyc-lapses", units=7, usd_cents=7_000)
    assert order.trade is not None
    buyer = order.trade.buyer.model_copy(
        update={"kyc": order.trade.buyer.kyc.model_copy(update={"expires_on": today})}
    )
    order = order.model_copy(
        update={
            "settlement_window_s": 3 * 24 * 3600,
            "trade": order.trade.model_copy(update={"buyer": buyer}),
        }
    )
    swap_id = service.submit(order).terms.swap_id
    drive(world, swap_id, ticks=4)
    state = service.store.get(swap_id)
    assert state.decision == "allowed"
    assert state.participant.phase is LegPhase.LOCKED
    assert state.recheck == "failed", state.refusals
    assert any("KYC" in r.code for r in state.refusals), state.refusals
    assert not state.secret_public


def test_a_claim_the_token_refuses_is_retried_with_back_off_and_counted(world: World) -> None:
    """Token agent: the secret is out (the seller has the cash) when the T-REX agent freezes
    the buyer, so the buyer's claim of the security is refused by the token. The claim
    must keep being retried (rule 4: never refunded), but after a back-off, counted and
    explained (the swap's last_error), not about eight times a second; once the agent
    lifts the freeze it lands."""
    service = world.service
    swap_id = service.submit(
        demo_order(world, "xb-claim-refused", units=3, usd_cents=300)
    ).terms.swap_id
    for _ in range(8):
        service.poll_chains()
        if service.observe(swap_id).secret_public:
            break
        service.run_effects(swap_id)
    assert service.store.get(swap_id).secret_public
    adapter = Erc3643Adapter(world.evm)
    bob = world.trex.investor("bob").address
    adapter.agent_operation(
        world.token_ref, Capability.ADDRESS_FREEZE, world.trex.agent, address=bob, frozen=True
    )
    clock = [1_000_000.0]
    before = service.retry_clock
    service.retry_clock = lambda: clock[0]
    try:
        for _ in range(4):
            service.tick()
        failed = [e for e in service.store.input_log(swap_id) if e["input"]["kind"] == "tx_failed"]
        assert len(failed) == 1, len(failed)  # one attempt, then the back-off
        assert "claim" in service.store.document(swap_id, "last_error")
        from fastapi.testclient import TestClient

        from relayer.api import create_app

        token = "status-token-0123456789"
        api = TestClient(
            create_app(service, token=token), headers={"Authorization": f"Bearer {token}"}
        )
        shown = api.get(f"/swaps/{swap_id}").json()
        assert "claim of the initiator leg refused" in shown["last_error"]["reason"]
        refusals = service.metrics.registry.get_sample_value(
            "stbridge_tx_refusals_total", {"action": "claim"}
        )
        assert refusals == 1.0
        assert service.store.get(swap_id).initiator.phase is not LegPhase.REFUNDED
    finally:
        adapter.agent_operation(
            world.token_ref, Capability.ADDRESS_FREEZE, world.trex.agent, address=bob, frozen=False
        )
    clock[0] += 3_600
    try:
        assert drive(world, swap_id) is Outcome.COMPLETED
    finally:
        service.retry_clock = before


def _leave_algos(world: World, label: str, total: int) -> None:
    """Make ``label``'s Algorand account hold exactly ``total`` microalgos (it pays the rest,
    less the fee, to the stablecoin's issuer)."""
    from algosdk import transaction

    signer = world.algo_accounts[label]
    sp = world.ledger.suggested_params()
    sp.flat_fee, sp.fee = True, 1_000
    held = world.ledger.balance(signer.address)
    pay = transaction.PaymentTxn(
        signer.address, sp, world.algo_issuer.address, held - total - 1_000
    )  # type: ignore[no-untyped-call]
    world.ledger.submit([signer.sign(pay)])
    assert world.ledger.balance(signer.address) == total


def test_a_buyer_short_of_algos_is_refused_before_the_seller_locks(world: World) -> None:
    """Invariant: in the embedded (demo) relayer, a buyer whose algos cannot pay for the cash
    lock (escrow deposit and fees above its own minimum balance) is refused before the
    seller's security is locked, naming the field; nothing is locked on either chain."""
    bob = world.algo_accounts["bob"].address
    ledger, evm = world.ledger.snapshot(), world.evm.snapshot()
    try:
        _leave_algos(world, "bob", world.ledger.min_balance(bob) + 1_000)
        alice_before = world.token_balance("alice")
        order = demo_order(world, "xb-no-algos", units=5, usd_cents=500)
        swap_id = world.service.submit(order).terms.swap_id
        assert drive(world, swap_id) is Outcome.REFUSED
        state = world.service.store.get(swap_id)
        assert [r.raw_code for r in state.refusals] == ["SENDER_ALGOS"], state.refusals
        assert state.refusals[0].code is ReasonCode.INSUFFICIENT_BALANCE
        assert "cash.sender" in state.refusals[0].detail
        hashlock = bytes.fromhex(state.terms.hashlock[2:])
        assert world.evm_htlc.find(hashlock) == []
        assert world.algo_htlc.find(hashlock) == []
        assert world.token_balance("alice") == alice_before
    finally:
        world.ledger.restore(ledger)
        world.evm.revert(evm)


def test_the_algorand_funds_check_keeps_the_senders_minimum_balance(world: World) -> None:
    """Invariant: the lock's cost (deposit and fees) must fit above the sender's own minimum
    balance (the evaluator refuses a payment that leaves less): one microalgo short of it
    is refused, exactly enough passes."""
    funds = world.service.chains["algorand"].funds
    assert funds is not None
    bob = world.algo_accounts["bob"].address
    seller = world.algo_accounts["alice"].address
    terms = world.algo_htlc.terms_for(
        asset=world.usd_ref, sender=bob, receiver=seller, amount=500, hashlock=bytes(32),
        deadline=2**32,
    )  # fmt: skip
    need = terms.deposit + 4 * 1_000
    snapshot = world.ledger.snapshot()
    try:
        _leave_algos(world, "bob", world.ledger.min_balance(bob) + need - 1)
        short = funds("cash", world.usd_ref, bob, 500)
        assert [r.raw_code for r in short] == ["SENDER_ALGOS"]
        world.ledger.fund(bob, 1)
        assert funds("cash", world.usd_ref, bob, 500) == ()
    finally:
        world.ledger.restore(snapshot)
