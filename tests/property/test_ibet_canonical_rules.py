"""Each canonical rule read from an ibet share or straight bond means what the token
enforces.

The ibet test world (:mod:`tests.fixtures.ibet`) on the session's anvil (reading the
rules replays the PersonalInfo register's events, which py-evm's log queries make slow;
the adapters' own prediction tests cover py-evm), reset by snapshot per example: random
switches (transferable, transfer approval, the personal-information requirement),
registrations, and units given to an unregistered holder, then random transfers between
the issuer, registered and unregistered accounts. The handling ``status`` is left alone:
the token does not enforce it, the engine refuses a token whose status is off (a
deliberate difference, documented in :mod:`adapters.evm.ibet`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from adapters.evm.client import EvmReverted
from bridge.model import AllowListRule, Asset, IssuerApprovalRule, TransferIntent
from bridge.reasons import ReasonCode
from tests.fixtures.ibet import GAS, IbetWorld, ibet_world
from tests.property.engine_view import Side, codes, token_reasons

pytestmark = pytest.mark.anvil

PARTIES = ("issuer", "alice", "bob", "carol", "mallory", "outsider")

_EXAMPLES = {"ci": 4, "dev": 12, "thorough": 200}.get(
    os.environ.get("STBRIDGE_HYPOTHESIS_PROFILE", "dev"), 12
)
SETTINGS = settings(
    max_examples=_EXAMPLES,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    deadline=None,
)

# The canonical reasons the engine may give for each of the token's refusals (by suffix).
CONSISTENT: dict[str, set[ReasonCode]] = {
    "0402": {ReasonCode.NOT_TRANSFERABLE},
    "0201": {ReasonCode.ISSUER_APPROVAL_REQUIRED},
    "0202": {ReasonCode.NOT_ON_ALLOW_LIST},
}


@pytest.fixture
def anvil_ibet(request: pytest.FixtureRequest) -> Iterator[IbetWorld]:
    """The ibet world on anvil (built once per session, reverted after the test)."""
    yield from ibet_world("anvil", request)


def _send(world: IbetWorld, kind: str, signer: str, fn: str, *args: object) -> str | None:
    """Send with explicit gas; the revert message (the six-digit code) if refused."""
    adapter, address = world.adapter(kind), world.token(kind)
    data = adapter.token(address).encode_abi(fn, args=list(args))
    try:
        adapter.send_call(world.signers[signer], address, data, fn, gas=GAS)
    except EvmReverted as exc:
        return exc.revert.message or ""
    return None


def _balance(world: IbetWorld, kind: str, who: str) -> int:
    token = world.adapter(kind).token(world.token(kind))
    return int(token.functions.balanceOf(world.addr(who)).call())


def _judge(
    world: IbetWorld, asset: Asset, kind: str, sender: str, recipient: str, amount: int
) -> tuple[list[str], str | None]:
    """The engine's token reasons (their codes) and the chain's refusal for one transfer."""
    at = world.client.now()
    reasons = token_reasons(
        asset,
        seller=Side(world.addr(sender), _balance(world, kind, sender)),
        buyer=Side(world.addr(recipient), _balance(world, kind, recipient)),
        quantity=amount,
        at=datetime.fromtimestamp(int(at.timestamp()) + 1, tz=UTC),
    )
    refused = _send(world, kind, sender, "transfer", world.addr(recipient), amount)
    return sorted(c.value for c in codes(reasons)), refused


@SETTINGS
@given(
    kind=st.sampled_from(("share", "bond")),
    transferable=st.sampled_from([True, True, False]),
    approval=st.sampled_from([False, False, True]),
    required=st.sampled_from([True, True, False]),
    registered=st.lists(st.sampled_from(("mallory", "outsider", "issuer")), max_size=2),
    to_mallory=st.sampled_from([0, 30]),
    moves=st.lists(
        st.tuples(
            st.sampled_from(("alice", "bob", "mallory", "issuer")),
            st.sampled_from(PARTIES),
            st.sampled_from([1, 250, 1000]),
        ),
        min_size=1,
        max_size=4,
    ),
)
def test_rules_mean_what_the_token_enforces(
    anvil_ibet: IbetWorld,
    kind: str,
    transferable: bool,
    approval: bool,
    required: bool,
    registered: list[str],
    to_mallory: int,
    moves: list[tuple[str, str, int]],
) -> None:
    """Invariant: for any switches and registrations, for every transfer by a holder to
    an account (issuer, registered or not) of at most its free balance, the engine
    applying the canonical rules read from the token -- the personal-information
    requirement as an allow list of the recipient (the issuer always passes), the
    approval requirement as IssuerApprovalRule, ``transferable`` -- allows exactly when
    the chain lets the transfer through, with a reason the token's code can stand for."""
    w = anvil_ibet
    snapshot = w.client.snapshot()
    try:
        issuer = w.signers["issuer"]
        registry = w.adapter(kind).registry(w.registry)
        for name in registered:
            data = registry.encode_abi("register", args=[issuer.address, f"enc:{name}"])
            w.adapter(kind).send_call(w.signers[name], w.registry, data, "register")
        if to_mallory:
            zero = "0x" + "00" * 20
            _send(w, kind, "issuer", "issueFrom", w.addr("mallory"), zero, to_mallory)
        _send(w, kind, "issuer", "setTransferable", transferable)
        _send(w, kind, "issuer", "setTransferApprovalRequired", approval)
        _send(w, kind, "issuer", "setRequirePersonalInfoRegistered", required)
        asset = w.adapter(kind).read_asset(w.ref(kind))
        assert any(isinstance(r, IssuerApprovalRule) for r in asset.rules) == approval
        assert any(isinstance(r, AllowListRule) for r in asset.rules) == required
        for sender, recipient, share in moves:
            amount = _balance(w, kind, sender) * share // 1000
            if amount == 0:
                continue
            dry = w.adapter(kind).check_transfer(
                TransferIntent(
                    asset=w.ref(kind),
                    sender=w.addr(sender),
                    recipient=w.addr(recipient),
                    amount=amount,
                )
            )
            found, refused = _judge(w, asset, kind, sender, recipient, amount)
            ctx = (kind, sender, recipient, amount, found, refused)
            assert (not found) == (refused is None), ctx
            assert dry.allowed == (refused is None), ctx
            if refused is not None:
                wanted = {c.value for c in CONSISTENT[refused[2:]]}
                assert wanted & set(found), ctx
            event("passed" if refused is None else f"refused {refused[2:]}: {found}")
    finally:
        w.client.revert(snapshot)


def test_only_the_recipient_must_be_registered(anvil_ibet: IbetWorld) -> None:
    """mallory never registered but holds units (issued to her): she may send to alice,
    and anyone may send to the issuer; the token allows both, so must the engine."""
    w = anvil_ibet
    zero = "0x" + "00" * 20
    assert _send(w, "share", "issuer", "issueFrom", w.addr("mallory"), zero, 10) is None
    asset = w.adapter("share").read_asset(w.ref("share"))
    assert _judge(w, asset, "share", "mallory", "alice", 5) == ([], None)
    assert _judge(w, asset, "share", "alice", "issuer", 5) == ([], None)
    assert _judge(w, asset, "share", "alice", "mallory", 5) == (["NOT_ON_ALLOW_LIST"], "110202")
