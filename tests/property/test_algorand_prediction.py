"""Prediction equals reality on Algorand: the adapters' dry runs against the real evaluator.

Random sequences of transfers and agent actions run on the embedded go-algorand ledger;
before each transfer the adapter predicts the verdict from reads only, then the transfer
is sent for real and the two are compared.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from adapters.algorand.asa import AsaAdapter
from adapters.algorand.ledger import EmbeddedLedger, Snapshot
from adapters.algorand.signer import AlgorandSigner
from bridge.errors import TransactionReverted
from bridge.model import AssetRef, Capability, InvestorClass, TransferIntent
from bridge.ports import Signer
from tests.fixtures.algorand_assets import (
    KYC_YEAR,
    RegulatedWorld,
    StablecoinWorld,
    build_regulated_world,
    build_stablecoin_world,
)

pytestmark = pytest.mark.timeout(900)

DAY = 86_400
MAX_HOLDERS = 3
MAX_BALANCE = 1_050


@pytest.fixture(scope="module")
def regulated(
    embedded_ledger: EmbeddedLedger, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RegulatedWorld, Snapshot]]:
    """The regulated bond with caps, plus ``dan`` (US, empty), ``expired`` (KYC lapsed) and
    ``locked`` (holds 100 in a one-day lock-up). Restored after the module."""
    before = embedded_ledger.snapshot()
    world = build_regulated_world(
        embedded_ledger,
        Path(tmp_path_factory.mktemp("arc3")),
        max_holders=MAX_HOLDERS,
        max_balance=MAX_BALANCE,
    )
    adapter, ref, issuer = world.adapter, world.ref, world.issuer
    now = world.chain.now()
    extra = {"dan": ("US", now + KYC_YEAR, 0), "expired": ("JP", 1, 0), "locked": ("SG", 0, 0)}
    for name, (country, kyc, lock) in extra.items():
        signer = world.investors[name] = _fresh(world)
        adapter.opt_in(ref, signer)
        _whitelist(world, name, country, kyc or now + KYC_YEAR, lock)
    adapter.agent_operation(
        ref, Capability.MINT, issuer, recipient=world["locked"].address, amount=100
    )
    _whitelist(world, "locked", "SG", now + KYC_YEAR, now + DAY)
    try:
        yield world, world.ledger.snapshot()
    finally:
        embedded_ledger.restore(before)


def _fresh(world: RegulatedWorld) -> AlgorandSigner:
    signer = AlgorandSigner.generate()
    world.ledger.fund(signer.address, 20_000_000)
    return signer


def _whitelist(world: RegulatedWorld, name: str, country: str, kyc: int, lock: int) -> None:
    world.adapter.agent_operation(
        world.ref,
        Capability.WHITELIST,
        world.issuer,
        holder=world[name].address,
        country=country,
        investor_class=InvestorClass.RETAIL,
        kyc_expiry=kyc,
        lockup_end=lock,
    )


def _compare(adapter: AsaAdapter, ref: AssetRef, intent: TransferIntent, signer: Signer) -> None:
    """Dry run, then send; the verdict and the canonical reason must agree."""
    before = {w: adapter.holding(ref, w).balance for w in {intent.sender, intent.recipient}}
    verdict = adapter.check_transfer(intent)
    event(f"{adapter.standard.value}: {verdict.reason.value}")
    if not verdict.allowed:
        with pytest.raises(TransactionReverted) as refused:
            adapter.transfer(intent, signer)
        assert verdict.reason == refused.value.reason, refused.value.raw_message
        assert {w: adapter.holding(ref, w).balance for w in before} == before
        return
    adapter.transfer(intent, signer), f"dry run refused ({verdict.reason}), chain accepted"
    if intent.sender != intent.recipient:
        assert adapter.holding(ref, intent.sender).balance == before[intent.sender] - intent.amount
        assert (
            adapter.holding(ref, intent.recipient).balance
            == before[intent.recipient] + intent.amount
        )


NAMES = ("alice", "bob", "carol", "dan", "kr", "stranger", "late", "expired", "locked")
SENDERS = st.sampled_from(("alice", "alice", "bob", "bob", "locked", *NAMES))
AMOUNT_KINDS = ("zero", "one", "some", "all", "over", "max")
AMOUNT = st.tuples(st.sampled_from(AMOUNT_KINDS), st.integers(min_value=0, max_value=1_500))
ACTION = st.one_of(
    st.none(),
    st.tuples(st.just("pause"), st.booleans()),
    st.tuples(st.just("freeze"), st.sampled_from(("alice", "bob", "carol")), st.booleans()),
    st.tuples(st.just("expire_kyc"), st.sampled_from(("alice", "bob", "carol", "dan"))),
    st.tuples(st.just("jump"), st.sampled_from((DAY + 60, 400 * DAY))),
)
STEP = st.tuples(ACTION, SENDERS, st.sampled_from(NAMES), AMOUNT)
"""One step: an optional agent action or time jump, then a transfer."""


def _amount(kind: str, other: int, balance: int) -> int:
    """A transfer amount relative to the sender's balance (so edges are hit often)."""
    return {
        "zero": 0,
        "one": 1,
        "some": other,
        "all": balance,
        "over": balance + 1,
        "max": 2**64 - 1,
    }[kind]


def _act(world: RegulatedWorld, action: tuple[object, ...] | None) -> None:
    adapter, ref, issuer = world.adapter, world.ref, world.issuer
    if action is None:
        return
    kind = action[0]
    if kind == "pause":
        adapter.agent_operation(ref, Capability.PAUSE, issuer, paused=action[1])
    elif kind == "freeze":
        adapter.agent_operation(
            ref,
            Capability.ADDRESS_FREEZE,
            issuer,
            holder=world[str(action[1])].address,
            frozen=action[2],
        )
    elif kind == "expire_kyc":
        entry = adapter.entry(world.deployed.app_id or 0, world[str(action[1])].address)
        assert entry is not None
        _whitelist(world, str(action[1]), entry.country, 1, entry.lockup_end)
    elif kind == "jump":
        assert isinstance(action[1], int)
        world.ledger.jump_time(action[1])


@given(steps=st.lists(STEP, min_size=1, max_size=5))
def test_regulated_dry_run_equals_chain(
    regulated: tuple[RegulatedWorld, Snapshot],
    steps: list[tuple[tuple[object, ...] | None, str, str, tuple[str, int]]],
) -> None:
    """Invariant: for every transfer in any sequence of transfers and agent actions (pause,
    freeze, KYC expiry, time jumps past lock-ups and KYC), the regulated-ASA adapter's dry
    run gives the verdict the compliance application gives, with the same canonical reason
    (whitelisted, not whitelisted, KYC expired, country, lock-up, max balance, max holders,
    not opted in, frozen, paused); a refused transfer moves nothing, an accepted one moves
    exactly the amount; and the app's live holder count equals the number of investors
    holding units."""
    world, snapshot = regulated
    world.ledger.restore(snapshot)
    adapter, ref = world.adapter, world.ref
    for action, sender, receiver, (kind, other) in steps:
        _act(world, action)
        balance = adapter.holding(ref, world[sender].address).balance
        intent = TransferIntent(
            asset=ref,
            sender=world[sender].address,
            recipient=world[receiver].address,
            amount=_amount(kind, other, balance),
        )
        _compare(adapter, ref, intent, world[sender])
    state = adapter.app_state(world.deployed.app_id or 0)
    holding_units = [n for n in NAMES if adapter.holding(ref, world[n].address).balance > 0]
    assert state.holders == len(holding_units)


@pytest.fixture(scope="module")
def stablecoin(
    embedded_ledger: EmbeddedLedger, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[StablecoinWorld, Snapshot]]:
    """USD stablecoin world (alice, bob hold; carol opted in; dave not). Restored after."""
    before = embedded_ledger.snapshot()
    world = build_stablecoin_world(embedded_ledger, Path(tmp_path_factory.mktemp("arc3")))
    try:
        yield world, world.ledger.snapshot()
    finally:
        embedded_ledger.restore(before)


CASH_NAMES = ("alice", "bob", "carol", "dave")
CASH_STEP = st.tuples(
    st.one_of(
        st.none(),
        st.tuples(st.sampled_from(("alice", "bob", "carol")), st.booleans()),
    ),
    st.sampled_from(("alice", "alice", "bob", *CASH_NAMES)),
    st.sampled_from(CASH_NAMES),
    st.tuples(st.sampled_from(AMOUNT_KINDS), st.integers(min_value=0, max_value=200_000)),
)
"""One step: an optional issuer freeze or unfreeze, then a transfer."""


@given(steps=st.lists(CASH_STEP, min_size=1, max_size=5))
def test_stablecoin_dry_run_equals_chain(
    stablecoin: tuple[StablecoinWorld, Snapshot],
    steps: list[tuple[tuple[str, bool] | None, str, str, tuple[str, int]]],
) -> None:
    """Invariant: for every transfer in any sequence of transfers and issuer freezes of a
    plain ASA, the adapter's dry run gives the evaluator's verdict with the same canonical
    reason (not opted in, frozen sender or receiver, insufficient balance), and balances
    move exactly when the transfer is accepted."""
    world, snapshot = stablecoin
    world.ledger.restore(snapshot)
    adapter, ref = world.adapter, world.usd_ref
    for freeze, sender, receiver, (kind, other) in steps:
        if freeze is not None:
            adapter.agent_operation(
                ref,
                Capability.ADDRESS_FREEZE,
                world.issuer,
                holder=world[freeze[0]].address,
                frozen=freeze[1],
            )
        balance = adapter.holding(ref, world[sender].address).balance
        intent = TransferIntent(
            asset=ref,
            sender=world[sender].address,
            recipient=world[receiver].address,
            amount=_amount(kind, other, balance),
        )
        _compare(adapter, ref, intent, world[sender])
