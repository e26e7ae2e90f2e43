"""A token leg's sender must be able to pay the gas of its approval and lock (issue 14).

Both legs are ERC-20 tokens (our CashToken) on one EVM chain, py-evm and anvil. The buyer
holds the cash token but no native coin: the approval of the HTLC and the lock it needs
cannot be sent. Before the fix only a native leg's coin was checked, so the seller's
security was locked first and then waited, for nothing, for its deadline. Now the swap is
refused before anything is locked, naming the field; a buyer with a little gas money
settles.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from adapters.evm.batch import ViewCall
from adapters.evm.client import EvmClient
from adapters.evm.erc20 import Erc20Adapter, deploy_cash_token
from adapters.evm.htlc import EvmHtlc
from adapters.evm.signer import EvmSigner
from bridge.errors import ApprovalPending
from bridge.model import AssetRef, Capability, EvmContractLocator, TransferIntent
from bridge.reasons import ReasonCode
from bridge.swap import Leg, Outcome
from relayer.dry_runs import GasBook, evm_funds_check, evm_token_lock_gas
from relayer.evm import prepare_token_lock
from relayer.service import RelayerService, SwapOrder
from tests.fixtures.evm import mined_on_send
from tests.integration.test_native_funds import drive, one_chain_order, one_chain_service

ETHER = 10**18


@dataclass
class World:
    chain: EvmClient
    htlc: EvmHtlc
    security: AssetRef
    cash: AssetRef
    seller: EvmSigner
    buyer: EvmSigner
    operator: EvmSigner


@pytest.fixture(scope="module", params=["pyevm", pytest.param("anvil", marks=pytest.mark.anvil)])
def world(request: pytest.FixtureRequest) -> World:
    if request.param == "pyevm":
        chain = EvmClient.embedded()
    else:
        chain = mined_on_send(EvmClient.from_target(request.getfixturevalue("anvil_url")))
    seller, buyer, operator = EvmSigner.generate(), EvmSigner.generate(), EvmSigner.generate()
    for signer in (seller, operator):
        chain.fund(signer.address, 10 * ETHER)
    htlc = EvmHtlc.deploy(chain, operator)
    erc20 = Erc20Adapter(chain)
    refs = []
    for symbol, holder in (("TOU", seller), ("JPYX", buyer)):
        address = deploy_cash_token(
            chain, seller, name=symbol, symbol=symbol, decimals=0, currency="JPY"
        )
        ref = AssetRef(chain=chain.chain, locator=EvmContractLocator(address=address))
        erc20.agent_operation(ref, Capability.MINT, seller, to=holder.address, amount=1_000_000)
        refs.append(ref)
    return World(chain, htlc, refs[0], refs[1], seller, buyer, operator)


@pytest.fixture
def snapshot(world: World) -> Iterator[None]:
    taken = world.chain.snapshot()
    yield
    world.chain.revert(taken)


def _buyers_cash_leg(world: World) -> Leg:
    """The buyer's leg of 5,000 units of the cash token to the seller."""
    return Leg(
        chain=world.chain.chain,
        asset=world.cash,
        amount=5_000,
        sender=world.buyer.address,
        receiver=world.seller.address,
    )


def _order(world: World, order_id: str) -> SwapOrder:
    return one_chain_order(world, order_id, world.security, 100, world.cash, 5_000)


def test_a_buyer_with_the_token_but_no_gas_is_refused_before_the_seller_locks(
    world: World, snapshot: None, tmp_path: Path
) -> None:
    """Invariant: when the cash leg's sender holds the token but not the native coin for
    the gas of its approval and lock, the swap is refused before any lock, naming the
    field; the seller's units never leave the seller."""
    assert world.chain.balance(world.buyer.address) == 0
    service = one_chain_service(world, tmp_path)
    state = service.submit(_order(world, "no-gas"))
    assert drive(service, state.terms.swap_id) is Outcome.REFUSED
    final = service.store.get(state.terms.swap_id)
    assert [r.code for r in final.refusals] == [ReasonCode.INSUFFICIENT_BALANCE], final.refusals
    detail = final.refusals[0].detail
    assert "cash.sender" in detail
    assert world.buyer.address in detail
    assert world.htlc.find(bytes.fromhex(state.terms.hashlock[2:])) == []
    assert Erc20Adapter(world.chain).holding(world.security, world.seller.address).balance == (
        1_000_000
    )
    # the bound is within reach: 0.1 ether pays for the approval and the lock (the thorough
    # control below settles the swap with it)
    world.chain.fund(world.buyer.address, ETHER // 10)
    funds = service.chains["evm"].funds
    assert funds is not None
    assert funds("cash", world.cash, world.buyer.address, 5_000) == ()


@pytest.mark.thorough  # two swaps' worth of ticks on two backends; the bound is checked above
def test_a_buyer_with_a_little_gas_money_settles(
    world: World, snapshot: None, tmp_path: Path
) -> None:
    """Control: the same trade with 0.1 ether for the buyer's gas (the check's bound is
    not out of reach) completes: the approval and the lock it asked gas for were sent."""
    world.chain.fund(world.buyer.address, ETHER // 10)
    service = one_chain_service(world, tmp_path)
    state = service.submit(_order(world, "some-gas"))
    assert drive(service, state.terms.swap_id) is Outcome.COMPLETED
    erc20 = Erc20Adapter(world.chain)
    assert erc20.holding(world.cash, world.seller.address).balance == 5_000
    assert erc20.holding(world.security, world.buyer.address).balance == 100


_APPROVE = ViewCall("approve(address,uint256)", ("bool",))
_ALLOWANCE = ViewCall("allowance(address,address)")


def _estimates(chain: EvmClient) -> int:
    return chain.stats.by_method.get("eth_estimateGas", 0)


def test_the_funds_check_estimates_a_token_once_per_function(world: World, snapshot: None) -> None:
    """Invariant: the funds check of many locks of one token asks the node for one estimate
    per token function (the approval and the transfer), not one per check, and refuses or
    allows each check as the first did."""
    world.chain.fund(world.buyer.address, ETHER // 10)
    funds = evm_funds_check(world.chain, world.htlc.address)
    before = _estimates(world.chain)
    for amount in (5_000, 4_000, 3_000, 2_000, 1_000):
        assert funds("cash", world.cash, world.buyer.address, amount) == ()
    assert _estimates(world.chain) - before == 2


def test_a_kept_estimate_still_bounds_a_lock_into_an_empty_slot(
    world: World, snapshot: None
) -> None:
    """Invariant: the lock gas the funds check takes from its kept estimates is never below
    the bound a fresh estimate gives, also when the estimate was kept while the HTLC held
    the token (its balance slot changed, 5,000 gas) and the lock now fills an empty slot
    (22,100 gas). Without the storage margin the kept bound was below the fresh one. (The
    HTLC is approved: the approval's own floor would hide the lock's part.)"""
    world.chain.fund(world.buyer.address, ETHER // 10)
    erc20 = Erc20Adapter(world.chain)
    token = world.cash.locator.address
    world.chain.transact(world.buyer, token, _APPROVE.encode(world.htlc.address, 10**6))
    book = GasBook()
    before_gift = world.chain.snapshot()
    gift = TransferIntent(
        asset=world.cash, sender=world.buyer.address, recipient=world.htlc.address, amount=1
    )
    erc20.transfer(gift, world.buyer)  # the HTLC now holds the cash token: a cheaper hop
    args = (world.chain, world.htlc.address, token, world.buyer.address)
    evm_token_lock_gas(*args, 5_000, book=book)  # estimated and kept here
    world.chain.revert(before_gift)  # the HTLC's slot is empty again
    assert erc20.holding(world.cash, world.htlc.address).balance == 0
    fresh, _ = evm_token_lock_gas(*args, 5_000)
    again, _ = evm_token_lock_gas(*args, 5_000, book=book)
    assert book.estimates == 1  # the transfer, once: the second look took the kept one
    assert again >= fresh, (again, fresh)


def test_approvals_are_estimated_once_and_sent_within_the_funds_checks_bound(
    world: World, snapshot: None
) -> None:
    """Invariant: the relayer estimates a token's approval of the HTLC once; each approval
    after it is sent with the kept limit, and that limit is what the funds check counts
    for the approval (so the check never allows an approval the sender cannot pay)."""
    world.chain.fund(world.buyer.address, ETHER // 10)
    token = world.cash.locator.address
    kept: dict[str, int] = {}
    before = _estimates(world.chain)
    for amount in (5_000, 6_000, 7_000):  # each above the last allowance: each approves
        leg = Leg(
            chain=world.chain.chain,
            asset=world.cash,
            amount=amount,
            sender=world.buyer.address,
            receiver=world.seller.address,
        )
        prepare_token_lock(world.chain, world.htlc, leg, world.buyer, approve_gas=kept)
        data = _ALLOWANCE.encode(world.buyer.address, world.htlc.address)
        allowance = world.chain.call({"to": token, "data": "0x" + data.hex()})
        assert int.from_bytes(allowance[:32], "big") == amount
    assert _estimates(world.chain) - before == 1
    (limit,) = kept.values()
    book = GasBook()
    args = (world.chain, world.htlc.address, token, world.buyer.address)
    with_approval, what = evm_token_lock_gas(*args, 8_000, book=book)  # allowance 7,000
    assert "approval" in what
    lock_only, what = evm_token_lock_gas(*args, 7_000, book=book)
    assert "approval" not in what
    assert with_approval - lock_only >= limit


def test_a_lock_after_the_relayers_approval_does_not_read_its_preflight_again(
    world: World, snapshot: None
) -> None:
    """Invariant: the relayer's pre-flight read before a token lock (with the allowance it
    then approves) is the lock's own: the lock that follows sends without reading the
    token and the HTLC again. Before, an allowance found short (every lock of a seller
    who approves per lock) made the lock repeat the whole pre-flight (on py-evm a fifth
    of an embedded bench's time)."""
    import hashlib

    world.chain.fund(world.buyer.address, ETHER // 10)
    leg = _buyers_cash_leg(world)
    prepare_token_lock(world.chain, world.htlc, leg, world.buyer, approve_gas={})
    calls = world.chain.stats.by_method.get("eth_call", 0)
    world.htlc.lock(
        asset=world.cash,
        receiver=world.seller.address,
        amount=5_000,
        hashlock=hashlib.sha256(b"\x01" * 32).digest(),
        deadline=int(world.chain.now().timestamp()) + 3_600,
        signer=world.buyer,
    )
    assert world.chain.stats.by_method.get("eth_call", 0) == calls


def test_the_funds_check_counts_the_relayers_kept_gas_limits_and_estimates_nothing(
    world: World, snapshot: None, tmp_path: Path
) -> None:
    """Invariant: once the relayer sends a token's approval and lock on kept gas limits
    (the approval estimated once per token, the lock's limit kept by the HTLC port the
    relayer sends through), its funds check counts exactly those limits and asks the node
    for no estimate: the gas it bounds is the gas the sends will carry. Before, the check
    estimated the token's approval and transfer anew (an ``eth_estimateGas`` re-runs a
    T-REX transfer about eight times on py-evm)."""
    import hashlib

    world.chain.fund(world.buyer.address, ETHER // 10)
    service = one_chain_service(world, tmp_path)
    rt = service.chains["evm"]
    assert rt.prepare_lock is not None
    assert rt.funds is not None
    token = world.cash.locator.address
    leg = _buyers_cash_leg(world)
    try:
        rt.prepare_lock(leg, world.buyer)  # the approval: estimated once, its limit kept
    except ApprovalPending:  # anvil mines it a moment later: the lock's estimate needs it
        allowance_of = _ALLOWANCE.encode(world.buyer.address, world.htlc.address)
        for _ in range(200):
            answer = world.chain.call({"to": token, "data": "0x" + allowance_of.hex()})
            if int.from_bytes(answer[:32], "big") >= 5_000:
                break
            time.sleep(0.05)
    rt.htlc.lock(  # the lock: estimated once by the port, its limit kept
        asset=world.cash,
        receiver=world.seller.address,
        amount=5_000,
        hashlock=hashlib.sha256(b"\x02" * 32).digest(),
        deadline=int(world.chain.now().timestamp()) + 3_600,
        signer=world.buyer,
    )
    (approve_limit,) = rt.prepare_lock.approve_gas.values()  # type: ignore[attr-defined]
    lock_limit = rt.htlc.kept_gas("lockToken", token)  # type: ignore[attr-defined]
    assert lock_limit is not None
    before = _estimates(world.chain)
    assert rt.funds("cash", world.cash, world.buyer.address, 6_000) == ()
    assert _estimates(world.chain) == before
    limits = rt.funds.limits  # type: ignore[attr-defined]
    gas, what = evm_token_lock_gas(
        world.chain, world.htlc.address, token, world.buyer.address, 6_000, limits=limits
    )
    assert "approval" in what  # the allowance was spent by the lock
    assert gas == approve_limit + lock_limit
    assert _estimates(world.chain) == before


# -- swaps in flight: the funds check sets aside what the sender's other swaps will spend --

IN_FLIGHT = 2
"""The buyer below is funded for this many concurrent locks (and half of another)."""


def _steady_fees(chain: EvmClient) -> None:
    """Mine empty blocks until the base fee is at its floor: the fee per gas the funds check
    prices gas at (twice the base fee plus a 1 gwei tip) then stays within a few wei of the
    tip while the swaps run (a falling base fee would make one more lock affordable)."""
    chain.mine(200)


def _submit_wave(service: RelayerService, world: World, tag: str, count: int) -> list[str]:
    return [service.submit(_order(world, f"{tag}-{i}")).terms.swap_id for i in range(count)]


def _refused_for_funds(service: RelayerService, swap_id: str) -> str:
    """The detail of the one refusal of ``swap_id`` (it must be INSUFFICIENT_BALANCE)."""
    state = service.store.get(swap_id)
    assert state.outcome is Outcome.REFUSED, (state.decision, state.refusals)
    assert [r.code for r in state.refusals] == [ReasonCode.INSUFFICIENT_BALANCE], state.refusals
    return state.refusals[0].detail


def test_concurrent_orders_of_one_buyer_are_admitted_only_as_far_as_its_gas_goes(
    world: World, snapshot: None, tmp_path: Path
) -> None:
    """Invariant: a sender funded for the native coin of exactly ``k`` locks (plus half of
    another) has ``k`` of ``k + 1`` concurrent orders admitted and the last one refused
    before anything of it is locked, with a reason naming ``cash.sender`` and the rule (its
    other swaps in flight hold the rest). The reservations are in the store: a relayer
    restarted on it after admitting ``k`` refuses the next one all the same. Before the
    fix every order was checked against the balance alone and all ``k + 1`` were admitted
    (the last buyer lock would then fail at the chain)."""
    _steady_fees(world.chain)
    world.chain.fund(world.buyer.address, 10**12)  # enough for py-evm to estimate with
    gas, what = evm_token_lock_gas(
        world.chain, world.htlc.address, world.cash.locator.address, world.buyer.address, 5_000,
        book=GasBook(),
    )  # fmt: skip
    assert "approval" in what  # the buyer has approved nothing: every lock approves first
    per_lock = gas * world.chain.fee_per_gas()
    world.chain.fund(world.buyer.address, IN_FLIGHT * per_lock + per_lock // 2 - 10**12)
    service = one_chain_service(world, tmp_path)
    admitted = _submit_wave(service, world, "gas", IN_FLIGHT)
    service.tick()  # both checked and admitted; no buyer lock yet (the seller locks first)
    for swap_id in admitted:
        state = service.store.get(swap_id)
        assert state.decision == "allowed", state.refusals
    # a restart: the reservations are read from the store, not from the process
    again = one_chain_service(world, tmp_path)
    extra = again.submit(_order(world, "gas-extra")).terms.swap_id
    again.observe(extra)  # the new order alone (a tick would send the admitted buyer locks
    again.run_effects(extra)  # first, which py-evm cannot estimate on a tight gas budget)
    detail = _refused_for_funds(again, extra)
    assert f"cash.sender {world.buyer.address}" in detail
    assert f"{IN_FLIGHT} other swaps in flight" in detail
    state = again.store.get(extra)
    assert world.htlc.find(bytes.fromhex(state.terms.hashlock[2:])) == []


def test_concurrent_orders_of_one_buyer_are_admitted_only_as_far_as_its_tokens_go(
    world: World, snapshot: None, tmp_path: Path
) -> None:
    """Invariant: a sender holding the token amount of exactly ``k`` orders (and gas for
    many) has ``k`` of ``k + 1`` concurrent orders admitted and the last refused, naming
    ``cash.sender`` and the amount its other swaps in flight hold. Before the fix the
    token's dry run saw each order's amount alone and admitted all ``k + 1``."""
    _steady_fees(world.chain)
    world.chain.fund(world.buyer.address, ETHER)
    keep = IN_FLIGHT * 5_000 + 2_500
    _keep_tokens(world, keep)
    service = one_chain_service(world, tmp_path)
    ids = _submit_wave(service, world, "tokens", IN_FLIGHT + 1)
    service.tick()
    for swap_id in ids[:IN_FLIGHT]:
        state = service.store.get(swap_id)
        assert state.decision == "allowed", state.refusals
    detail = _refused_for_funds(service, ids[-1])
    assert f"cash.sender {world.buyer.address} holds {keep}" in detail
    assert f"{IN_FLIGHT} other swaps in flight hold {IN_FLIGHT * 5_000}" in detail


def _keep_tokens(world: World, keep: int) -> None:
    """Leave the buyer exactly ``keep`` units of the cash token (the rest to the operator)."""
    erc20 = Erc20Adapter(world.chain)
    held = erc20.holding(world.cash, world.buyer.address).balance
    intent = TransferIntent(
        asset=world.cash,
        sender=world.buyer.address,
        recipient=world.operator.address,
        amount=held - keep,
    )
    erc20.transfer(intent, world.buyer)


@pytest.mark.thorough  # settles two swaps on two backends; the reservation is checked above
def test_a_reservation_is_released_when_its_swap_ends(
    world: World, snapshot: None, tmp_path: Path
) -> None:
    """Invariant (liveness): once the admitted swaps have settled, nothing of theirs is
    held back. The buyer holds the tokens of ``k`` orders and a half; after its ``k`` swaps
    completed it holds the half, and given another half its next order is admitted (with
    the settled swaps still reserved it would need ``k + 1`` amounts). (Tokens, not gas:
    py-evm asks a sender to afford a whole block's gas before it estimates a lock, more
    than a tight gas budget holds.)"""
    world.chain.fund(world.buyer.address, ETHER)
    _keep_tokens(world, IN_FLIGHT * 5_000 + 2_500)
    service = one_chain_service(world, tmp_path)
    for swap_id in _submit_wave(service, world, "done", IN_FLIGHT):
        assert drive(service, swap_id) is Outcome.COMPLETED
    erc20 = Erc20Adapter(world.chain)
    assert erc20.holding(world.cash, world.buyer.address).balance == 2_500
    erc20.agent_operation(
        world.cash, Capability.MINT, world.seller, to=world.buyer.address, amount=2_500
    )
    state = service.submit(_order(world, "done-next"))
    service.tick()
    assert service.store.get(state.terms.swap_id).decision == "allowed"
