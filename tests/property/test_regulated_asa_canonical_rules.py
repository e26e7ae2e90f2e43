"""Each canonical rule read from the regulated ASA means what its compliance application
enforces, on the embedded Algorand ledger (the real go-algorand evaluator).

The regulated bond world (:mod:`tests.fixtures.algorand_assets`), built once per module
and restored per example: random whitelist entries (KYC valid, lapsed or lapsing exactly
now; lock-ups running or over; countries), the rules (holder cap, balance cap, allowed
countries) and the pause, then random transfers. The asset is read (``read_asset``),
each party's KYC claim and country come from the adapter's ``eligibility``, and the
compliance engine's token step judges the transfer at the application's ``now`` (the
latest block's timestamp); then the transfer is sent.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from adapters.algorand.ledger import EmbeddedLedger, Snapshot
from bridge.errors import TransactionReverted
from bridge.model import Capability, ClaimType, InvestorClass, TransferIntent
from bridge.reasons import ReasonCode
from tests.fixtures.algorand_assets import KYC_YEAR, RegulatedWorld, build_regulated_world
from tests.property.engine_view import Side, codes, token_reasons

pytestmark = [pytest.mark.timeout(900), pytest.mark.thorough]
# thorough: building the regulated world costs about 30 s on the embedded ledger; the
# engine's side of these semantics is unit-tested in tests/unit/compliance
# (test_token_rule_semantics.py), the application's in test_algorand_prediction.

NAMES = ("alice", "bob", "carol", "kr")
COUNTRY = {"alice": "JP", "bob": "SG", "carol": "JP", "kr": "KR"}

_EXAMPLES = {"ci": 3, "dev": 10, "thorough": 150}.get(
    os.environ.get("STBRIDGE_HYPOTHESIS_PROFILE", "dev"), 10
)

# The canonical reasons the engine may give for each error of the application.
CONSISTENT: dict[str, set[ReasonCode]] = {
    "PAUSED": {ReasonCode.TOKEN_PAUSED},
    "SENDER_NOT_WHITELISTED": {ReasonCode.NOT_ON_ALLOW_LIST},
    "SENDER_KYC_EXPIRED": {ReasonCode.SENDER_NOT_ELIGIBLE},
    "LOCKED": {ReasonCode.FUNDS_LOCKED},
    "RECEIVER_NOT_WHITELISTED": {ReasonCode.NOT_ON_ALLOW_LIST},
    "RECEIVER_KYC_EXPIRED": {ReasonCode.RECIPIENT_NOT_ELIGIBLE},
    "COUNTRY_NOT_ALLOWED": {ReasonCode.COUNTRY_RESTRICTED},
    "MAX_BALANCE": {ReasonCode.MAX_BALANCE_EXCEEDED},
    "MAX_HOLDERS": {ReasonCode.MAX_HOLDERS_REACHED},
}


@pytest.fixture(scope="module")
def regulated_rules(
    embedded_ledger: EmbeddedLedger, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RegulatedWorld, Snapshot]]:
    """The regulated bond (alice 1,000 JP, bob 500 SG, carol JP, kr KR; every one opted
    in and whitelisted), restored after the module."""
    before = embedded_ledger.snapshot()
    world = build_regulated_world(embedded_ledger, Path(tmp_path_factory.mktemp("arc3")))
    try:
        yield _Quiet((world, world.ledger.snapshot()))
    finally:
        embedded_ledger.restore(before)


def _whitelist(world: RegulatedWorld, name: str, kyc: int, lock: int) -> None:
    world.adapter.agent_operation(
        world.ref,
        Capability.WHITELIST,
        world.issuer,
        holder=world[name].address,
        country=COUNTRY[name],
        investor_class=InvestorClass.PROFESSIONAL,
        kyc_expiry=kyc,
        lockup_end=lock,
    )


def _side(world: RegulatedWorld, name: str) -> Side:
    """A party as the adapter reads it: balance, country and KYC claim (if whitelisted)."""
    wallet = world[name].address
    eligibility = world.adapter.eligibility(world.ref, wallet)
    kyc = None
    if eligibility.investor is not None:
        (claim,) = [c for c in eligibility.investor.claims if c.type is ClaimType.KYC]
        kyc = claim.valid_until
    return Side(
        wallet,
        world.adapter.holding(world.ref, wallet).balance,
        residence=COUNTRY[name],
        kyc_until=kyc or datetime(1970, 1, 1, tzinfo=UTC),
    )


def _judge(
    world: RegulatedWorld, sender: str, recipient: str, amount: int
) -> tuple[set[str], str | None]:
    """The engine's token reasons (codes) and the application's error for one transfer."""
    adapter, ref = world.adapter, world.ref
    asset = adapter.read_asset(ref)
    state = adapter.app_state(world.deployed.app_id or 0)
    reasons = token_reasons(
        asset,
        seller=_side(world, sender),
        buyer=_side(world, recipient),
        quantity=amount,
        at=datetime.fromtimestamp(world.chain.now(), tz=UTC),
        holder_count=state.holders,
    )
    intent = TransferIntent(
        asset=ref, sender=world[sender].address, recipient=world[recipient].address, amount=amount
    )
    try:
        adapter.transfer(intent, world[sender])
    except TransactionReverted as exc:
        return {c.value for c in codes(reasons)}, adapter.refusal_for(
            exc.raw_message or "", sender=world[sender].address
        ).raw_code or "?"
    return {c.value for c in codes(reasons)}, None


def test_the_sender_needs_valid_kyc_too(regulated_rules: tuple[RegulatedWorld, Snapshot]) -> None:
    """alice's KYC has lapsed: the application refuses her transfer to bob
    (SENDER_KYC_EXPIRED); the engine must refuse it too."""
    world, snapshot = regulated_rules
    world.ledger.restore(snapshot)
    _whitelist(world, "alice", 1, 0)
    found, refused = _judge(world, "alice", "bob", 10)
    assert refused == "SENDER_KYC_EXPIRED"
    assert found, "the engine allowed a transfer the application refuses"


def test_kyc_lapses_at_its_expiry(regulated_rules: tuple[RegulatedWorld, Snapshot]) -> None:
    """KYC is valid while now < expiry: once the latest block's time is bob's expiry, the
    application refuses alice -> bob (RECEIVER_KYC_EXPIRED); the engine must refuse too."""
    world, snapshot = regulated_rules
    world.ledger.restore(snapshot)
    expiry = world.ledger.latest_timestamp + 86_400
    _whitelist(world, "bob", expiry, 0)
    world.ledger.jump_time(expiry - world.ledger.latest_timestamp)
    assert world.chain.now() == expiry
    found, refused = _judge(world, "alice", "bob", 10)
    assert refused == "RECEIVER_KYC_EXPIRED"
    assert found, "the engine allowed a transfer the application refuses"


class _Quiet(tuple):  # type: ignore[type-arg]
    """The module's world with a short repr (hypothesis prints its arguments)."""

    def __repr__(self) -> str:
        return "<regulated world>"


@settings(
    max_examples=_EXAMPLES,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    deadline=None,
)
@given(
    entries=st.dictionaries(
        st.sampled_from(NAMES),
        st.tuples(st.sampled_from([KYC_YEAR, KYC_YEAR, 0, -1]), st.sampled_from([0, 0, 60])),
        max_size=2,
    ),
    caps=st.tuples(
        st.sampled_from([0, 0, 1, 2, 3]),
        st.sampled_from([0, 0, 600, 1_200]),
        st.sampled_from([(), ("JP", "SG"), ("JP",)]),
    ),
    paused=st.sampled_from([False, False, False, True]),
    moves=st.lists(
        st.tuples(
            st.sampled_from(("alice", "alice", "bob")),
            st.sampled_from(NAMES),
            st.sampled_from([1, 250, 1000]),
        ),
        min_size=1,
        max_size=3,
    ),
)
def test_rules_mean_what_the_application_enforces(
    regulated_rules: tuple[RegulatedWorld, Snapshot],
    entries: dict[str, tuple[int, int]],
    caps: tuple[int, int, tuple[str, ...]],
    paused: bool,
    moves: list[tuple[str, str, int]],
) -> None:
    """Invariant: for any whitelist entries (KYC valid, lapsed, lapsing now; lock-ups),
    holder and balance caps, allowed countries and pause, for every transfer of at most
    the sender's balance between opted-in, unfrozen investors, the engine applying the
    canonical rules read from the application (AllowListRule both parties,
    RequiredClaimsRule KYC of both parties, CountryAllowRule, MaxHoldersRule,
    MaxBalanceRule per wallet, LockupRule, the paused state) allows exactly when the
    application accepts the transfer, with a reason its error can stand for."""
    world, snapshot = regulated_rules
    world.ledger.restore(snapshot)
    now = world.ledger.latest_timestamp
    for name, (kyc, lock) in entries.items():
        _whitelist(world, name, now + kyc if kyc >= 0 else 1, now + lock if lock else 0)
    max_holders, max_balance, countries = caps
    world.adapter.set_rules(
        world.ref,
        world.issuer,
        max_holders=max_holders,
        max_balance=max_balance,
        countries=countries,
    )
    if paused:
        world.adapter.agent_operation(world.ref, Capability.PAUSE, world.issuer, paused=True)
    for sender, recipient, share in moves:
        amount = world.adapter.holding(world.ref, world[sender].address).balance * share // 1000
        if amount == 0:
            continue
        found, refused = _judge(world, sender, recipient, amount)
        ctx = (sender, recipient, amount, found, refused, entries, caps)
        assert (not found) == (refused is None), ctx
        if refused is not None:
            assert {c.value for c in CONSISTENT[refused]} & found, ctx
        event("passed" if refused is None else f"refused {refused}")
