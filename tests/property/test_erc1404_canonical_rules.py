"""Each canonical rule read from an ERC-1404 token means what the token enforces.

One RestrictedToken1404 on the session's anvil (built once, reset by snapshot per
example; reading the rules replays the token's events, which py-evm's log queries make
slow -- the adapter's own tests cover py-evm): random whitelists, lock-ups (ended,
ending soon, running), holder caps (none, below, at and above the holder count) and
pauses, then random transfers landing at chosen block times. The asset is read
(``read_asset``) and the compliance engine's token step judges each transfer
(:mod:`tests.property.engine_view`) at the block time it lands at; the adapter's dry run
judges it too. The transfer is then sent with explicit gas, so a refusal is the chain's.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from adapters.evm.client import EvmClient
from adapters.evm.erc1404 import Erc1404Adapter, deploy_restricted_token
from bridge.model import TransferIntent
from bridge.reasons import ReasonCode
from tests.fixtures.evm import EvmChains
from tests.integration.evm._contracts_support import funded_signers
from tests.property.engine_view import Side, TokenWorld, codes, token_reasons, token_world_on
from tests.property.test_trex_all_modules import _land_at

GAS = 500_000
HOLDERS = ("alice", "bob", "carol", "dave", "erin")
START = {"alice": 1_000, "bob": 500, "carol": 200}


World1404 = TokenWorld[Erc1404Adapter]
"""The token, its adapter, the issuer and five holders (alice, bob, carol hold units)."""

_BUILT: dict[int, World1404] = {}


def _build(client: EvmClient) -> World1404:
    signers = funded_signers(client, "rules1404", "issuer", *HOLDERS)
    token = deploy_restricted_token(client, signers["issuer"], name="Rules", symbol="RUL")
    adapter = Erc1404Adapter(client)
    world = World1404(client, adapter, token, adapter.ref(token), signers, GAS)
    for name in HOLDERS:
        assert world.send("issuer", "setWhitelisted", world.addr(name), True) is None
    for name, amount in START.items():
        assert world.send("issuer", "mint", world.addr(name), amount) is None
    return world


pytestmark = pytest.mark.anvil


def world_on(evm_chains: EvmChains, backend: str) -> Iterator[World1404]:
    """The ERC-1404 rules world on ``backend`` (built once per session, reset per test)."""
    yield from token_world_on(evm_chains, backend, _BUILT, _build)


@pytest.fixture
def world1404(evm_chains: EvmChains) -> Iterator[World1404]:
    """The ERC-1404 rules world on anvil."""
    yield from world_on(evm_chains, "anvil")


_EXAMPLES = {"ci": 4, "dev": 12, "thorough": 200}.get(
    os.environ.get("STBRIDGE_HYPOTHESIS_PROFILE", "dev"), 12
)
SETTINGS = settings(
    max_examples=_EXAMPLES,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    deadline=None,
)

# The canonical reasons the engine may give for each restriction code of the token.
CONSISTENT: dict[int, set[ReasonCode]] = {
    1: {ReasonCode.TOKEN_PAUSED},
    2: {ReasonCode.NOT_ON_ALLOW_LIST},
    4: {ReasonCode.NOT_ON_ALLOW_LIST},
    5: {ReasonCode.FUNDS_LOCKED},
    7: {ReasonCode.MAX_HOLDERS_REACHED},
}

transfers = st.lists(
    st.tuples(
        st.sampled_from(("alice", "alice", "bob", "carol")),
        st.sampled_from(HOLDERS),
        st.sampled_from([1, 250, 1000]),
        st.sampled_from([1, 29, 30, 31, 90, 600]),
    ),
    min_size=1,
    max_size=4,
)


@SETTINGS
@given(
    listed=st.dictionaries(st.sampled_from(HOLDERS), st.sampled_from([True, True, False])),
    lockups=st.dictionaries(st.sampled_from(HOLDERS), st.sampled_from([0, -30, 30, 90])),
    cap=st.sampled_from([None, -1, 0, 1]),
    paused=st.sampled_from([False, False, False, True]),
    moves=transfers,
)
def test_rules_mean_what_the_token_enforces(
    world1404: World1404,
    listed: dict[str, bool],
    lockups: dict[str, int],
    cap: int | None,
    paused: bool,
    moves: list[tuple[str, str, int, int]],
) -> None:
    """Invariant: for any whitelist, lock-ups, holder cap (``cap`` relative to the holder
    count; None: no cap) and pause, for every transfer of at most the sender's balance,
    the engine applying the canonical rules read from the token (AllowListRule both
    parties, LockupRule until, MaxHoldersRule, the paused state) allows exactly when the
    chain lets the transfer through, with a reason the token's restriction code can stand
    for; the adapter's dry run (the token's own view at the head) never allows what the
    chain refuses."""
    w = world1404
    with w.example():
        w.ahead()
        base = int(w.client.w3.eth.get_block("latest")["timestamp"])
        for name, ok in listed.items():
            w.send("issuer", "setWhitelisted", w.addr(name), ok)
        for name, offset in lockups.items():
            w.send("issuer", "setLockup", w.addr(name), base + offset if offset else 0)
        if cap is not None:
            w.send("issuer", "setMaxHolders", max(1, w.read("holderCount") + cap))
        if paused:
            w.send("issuer", "pause")
        asset = w.adapter.read_asset(w.ref)  # transfers change balances only, not the rules
        for sender, recipient, share, dt in moves:
            s, r = w.addr(sender), w.addr(recipient)
            balance = w.read("balanceOf", s)
            amount = balance * share // 1000
            if amount == 0:
                continue
            dry = w.adapter.check_transfer(
                TransferIntent(asset=w.ref, sender=s, recipient=r, amount=amount)
            )
            at = _land_at(w.client, dt)
            when = datetime.fromtimestamp(at, tz=UTC)
            reasons = token_reasons(
                asset,
                seller=Side(s, balance),
                buyer=Side(r, w.read("balanceOf", r)),
                quantity=amount,
                at=when,
                holder_count=w.read("holderCount"),
            )
            restriction = w.read("detectTransferRestriction", s, r, amount)  # at the head
            refused = w.send(sender, "transfer", r, amount)
            happened = refused is None
            context = (
                sender,
                recipient,
                amount,
                dt,
                [r.explanation for r in reasons],
                refused,
            )
            assert (not reasons) == happened, context
            if refused is not None and refused.revert.error_name == "TransferRestricted":
                (code,) = refused.revert.error_args
                # the client learns a mined failure's reason by replaying it on the parent
                # block, at the parent's time: a lock-up over by the landing time may
                # still show there (the verdict above is the chain's own)
                if int(str(code)) != 5 or w.read("lockupUntil", s) > at:
                    assert codes(reasons) & CONSISTENT[int(str(code))], context
            assert happened or not dry.allowed, ("false allow (dry run)", context, restriction)
            event("passed" if happened else f"refused: {min(c.value for c in codes(reasons))}")


def _judge(w: World1404, sender: str, recipient: str, amount: int) -> tuple[bool, bool]:
    """(the engine allows, the chain lets it through) for one transfer landing 1 s later."""
    s, r = w.addr(sender), w.addr(recipient)
    asset = w.adapter.read_asset(w.ref)
    at = _land_at(w.client, 1)
    reasons = token_reasons(
        asset,
        seller=Side(s, w.read("balanceOf", s)),
        buyer=Side(r, w.read("balanceOf", r)),
        quantity=amount,
        at=datetime.fromtimestamp(at, tz=UTC),
        holder_count=w.read("holderCount"),
    )
    return not reasons, w.send(sender, "transfer", r, amount) is None


def test_an_empty_whitelist_refuses_every_transfer(world1404: World1404) -> None:
    """Nobody is whitelisted: the token refuses alice -> bob, and so must the engine (an
    empty allow list lists nobody; it is not "no list")."""
    for name in HOLDERS:
        world1404.send("issuer", "setWhitelisted", world1404.addr(name), False)
    assert _judge(world1404, "alice", "bob", 10) == (False, False)


def test_a_leaving_holder_makes_room_under_a_lowered_cap(world1404: World1404) -> None:
    """Three holders, the cap lowered to two: alice's whole balance may still go to dave
    (a holder replaced, the count does not grow), part of it may not; the engine agrees."""
    w = world1404
    assert w.read("holderCount") == 3
    w.send("issuer", "setMaxHolders", 2)
    assert _judge(w, "alice", "dave", 999) == (False, False)
    assert _judge(w, "alice", "dave", 1_000) == (True, True)


@SETTINGS
@given(
    listed=st.dictionaries(st.sampled_from(HOLDERS), st.sampled_from([True, False])),
    lockups=st.dictionaries(st.sampled_from(HOLDERS), st.sampled_from([0, 30])),
    cap=st.sampled_from([None, -1, 0, 1]),
    paused=st.sampled_from([False, True, True]),
    mints=st.lists(
        st.tuples(st.sampled_from(HOLDERS), st.sampled_from([1, 250])), min_size=1, max_size=3
    ),
)
def test_mints_mean_what_the_token_enforces(
    world1404: World1404,
    listed: dict[str, bool],
    lockups: dict[str, int],
    cap: int | None,
    paused: bool,
    mints: list[tuple[str, int]],
) -> None:
    """Invariant: for any whitelist, lock-ups, holder cap and pause, the engine's token
    step on a primary trade (the issuer to a holder) allows exactly when the issuer's
    ``mint`` goes through on chain (the pause stops transfers, not issuance; a lock-up
    holds a sender's units, not a recipient's), with a reason the token's restriction
    code can stand for."""
    w = world1404
    with w.example():
        w.ahead()
        base = int(w.client.w3.eth.get_block("latest")["timestamp"])
        for name, ok in listed.items():
            w.send("issuer", "setWhitelisted", w.addr(name), ok)
        for name, offset in lockups.items():
            w.send("issuer", "setLockup", w.addr(name), base + offset if offset else 0)
        if cap is not None:
            w.send("issuer", "setMaxHolders", max(1, w.read("holderCount") + cap))
        if paused:
            w.send("issuer", "pause")
        asset = w.adapter.read_asset(w.ref)
        for holder, amount in mints:
            to = w.addr(holder)
            at = _land_at(w.client, 1)
            reasons = token_reasons(
                asset,
                seller=Side(w.addr("issuer"), 0),
                buyer=Side(to, w.read("balanceOf", to)),
                quantity=amount,
                at=datetime.fromtimestamp(at, tz=UTC),
                holder_count=w.read("holderCount"),
                kind="primary",
            )
            refused = w.send("issuer", "mint", to, amount)
            context = (holder, amount, paused, [r.explanation for r in reasons], refused)
            assert (not reasons) == (refused is None), context
            if refused is not None:
                assert refused.revert.error_name == "TransferRestricted", context
                (code,) = refused.revert.error_args
                assert codes(reasons) & CONSISTENT[int(str(code))], context
            event("minted" if refused is None else f"refused: {refused.revert.error_args}")
