"""Each canonical rule read from an ERC-1400 token means what the token enforces, and the
adapter's dry run (partitions, operators, allowances) is the chain's verdict.

One SecurityToken1400 on the session's anvil (built once, reset by snapshot per example;
reading the rules replays the token's events, which py-evm's log queries make slow): an
owner, a controller, an operator of bob's (every partition), an operator of alice's
``reg-s`` partition, holders with units in the default partition and in ``reg-s``.
Random whitelists, lock-ups and pauses, then random transfers landing at chosen block
times.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from adapters.evm.client import EvmClient
from adapters.evm.erc1400 import Erc1400Adapter, deploy_security_token, partition_id
from bridge.model import TransferIntent
from bridge.reasons import ReasonCode
from tests.fixtures.evm import EvmChains
from tests.integration.evm._contracts_support import funded_signers
from tests.property.engine_view import Side, TokenWorld, codes, token_reasons, token_world_on
from tests.property.test_trex_all_modules import _land_at

GAS = 600_000
DEFAULT = partition_id("unrestricted")
REG_S = partition_id("reg-s")
HOLDERS = ("alice", "bob", "carol", "dave")
NAMES = ("owner", "controller", "operator", *HOLDERS)


World1400 = TokenWorld[Erc1400Adapter]
"""The token, its adapter and its accounts on one backend."""

_BUILT: dict[int, World1400] = {}


def _build(client: EvmClient) -> World1400:
    signers = funded_signers(client, "rules1400", *NAMES)
    token = deploy_security_token(
        client,
        signers["owner"],
        name="Rules 1400",
        symbol="R14",
        controllers=(signers["controller"].address,),
    )
    adapter = Erc1400Adapter(client)
    w = World1400(client, adapter, token, adapter.ref(token), signers, GAS)
    for name in HOLDERS:
        assert w.send("owner", "setWhitelisted", w.addr(name), True) is None
    for name, partition, amount in (
        ("alice", DEFAULT, 1_000),
        ("alice", REG_S, 300),
        ("bob", DEFAULT, 500),
        ("carol", REG_S, 200),
    ):
        p = bytes.fromhex(partition[2:])
        assert w.send("owner", "issueByPartition", p, w.addr(name), amount, b"") is None
    assert w.send("bob", "authorizeOperator", w.addr("operator")) is None
    reg_s = bytes.fromhex(REG_S[2:])
    assert w.send("alice", "authorizeOperatorByPartition", reg_s, w.addr("operator")) is None
    return w


def world_on(evm_chains: EvmChains, backend: str) -> Iterator[World1400]:
    """The ERC-1400 world on ``backend`` (built once per session, reset per test)."""
    yield from token_world_on(evm_chains, backend, _BUILT, _build)


pytestmark = pytest.mark.anvil


@pytest.fixture
def world1400(evm_chains: EvmChains) -> Iterator[World1400]:
    """The ERC-1400 world on anvil."""
    yield from world_on(evm_chains, "anvil")


_EXAMPLES = {"ci": 4, "dev": 12, "thorough": 200}.get(
    os.environ.get("STBRIDGE_HYPOTHESIS_PROFILE", "dev"), 12
)
SETTINGS = settings(
    max_examples=_EXAMPLES,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    deadline=None,
)

# The canonical reasons the engine may give for each refusal of the token (by reason).
CONSISTENT: dict[str, set[ReasonCode]] = {
    "TRANSFERS_PAUSED": {ReasonCode.TOKEN_PAUSED},
    "SENDER_NOT_WHITELISTED": {ReasonCode.NOT_ON_ALLOW_LIST},
    "RECEIVER_NOT_WHITELISTED": {ReasonCode.NOT_ON_ALLOW_LIST},
    "SENDER_LOCKED_UP": {ReasonCode.FUNDS_LOCKED},
}


@dataclass(frozen=True)
class Move:
    """``share`` per mille of the sender's units in ``partition`` (None: a plain ERC-20
    transfer of the default partition) plus ``extra``, sent by ``by`` (None: the sender
    itself; an operator, the controller or a stranger otherwise; for a plain transfer an
    allowance of ``allowance`` per mille is given first), landing ``dt`` seconds later."""

    sender: str
    recipient: str
    partition: str | None
    share: int
    extra: int
    by: str | None
    allowance: int
    dt: int


moves = st.builds(
    Move,
    sender=st.sampled_from(("alice", "alice", "bob", "carol")),
    recipient=st.sampled_from(HOLDERS),
    partition=st.sampled_from([None, None, DEFAULT, REG_S]),
    share=st.sampled_from([1, 500, 1000]),
    extra=st.sampled_from([0, 0, 0, 1]),
    by=st.sampled_from([None, None, None, "operator", "controller", "dave"]),
    allowance=st.sampled_from([0, 1000, 1000]),
    dt=st.sampled_from([1, 29, 30, 31, 90]),
)


def _units(w: World1400, who: str, partition: str | None) -> int:
    p = bytes.fromhex((partition or DEFAULT)[2:])
    return w.read("balanceOfByPartition", p, who)


@SETTINGS
@given(
    listed=st.dictionaries(st.sampled_from(HOLDERS), st.sampled_from([True, True, False])),
    lockups=st.dictionaries(st.sampled_from(HOLDERS), st.sampled_from([0, -30, 30, 90])),
    paused=st.sampled_from([False, False, False, True]),
    steps=st.lists(moves, min_size=1, max_size=4),
)
def test_rules_and_dry_run_mean_what_the_token_enforces(
    world1400: World1400,
    listed: dict[str, bool],
    lockups: dict[str, int],
    paused: bool,
    steps: list[Move],
) -> None:
    """Invariant: for any whitelist, lock-ups and pause, for every transfer (plain,
    by partition, by an operator of every partition or of one, by a controller, by a
    stranger, through an allowance):

    - the adapter's dry run (the token's own check at the head, asked as the operator)
      says *allowed* exactly when the chain lets the transfer through -- unless a lock-up
      ends between the head and the landing block, when it may only refuse -- and its
      refusal is the token's status and reason;
    - for a transfer by the holder itself of at most its units in the partition, the
      engine applying the canonical rules read from the token (AllowListRule both
      parties, LockupRule until, the paused state) at the landing time allows exactly
      when the chain does, with a reason the token's refusal can stand for."""
    w = world1400
    with w.example():
        base = int(w.client.w3.eth.get_block("latest")["timestamp"])
        for name, ok in listed.items():
            w.send("owner", "setWhitelisted", w.addr(name), ok)
        for name, offset in lockups.items():
            w.send("owner", "setLockup", w.addr(name), base + offset if offset else 0)
        if paused:
            w.send("owner", "pause")
        asset = w.adapter.read_asset(w.ref)  # transfers change balances only, not the rules
        for m in steps:
            s, r = w.addr(m.sender), w.addr(m.recipient)
            units = _units(w, s, m.partition)
            amount = units * m.share // 1000 + m.extra
            if amount == 0:
                continue
            by = w.addr(m.by) if m.by is not None else None
            if by is not None and m.partition is None:
                w.send(m.sender, "approve", by, amount * m.allowance // 1000)
            intent = TransferIntent(
                asset=w.ref,
                sender=s,
                recipient=r,
                amount=amount,
                operator=by,
                partition=m.partition,
            )
            dry = w.adapter.check_transfer(intent)
            head_time = int(w.client.w3.eth.get_block("latest")["timestamp"])
            at = _land_at(w.client, m.dt)
            balance = w.read("balanceOf", s)
            reasons = token_reasons(
                asset,
                seller=Side(s, balance),
                buyer=Side(r, w.read("balanceOf", r)),
                quantity=min(amount, balance),
                at=datetime.fromtimestamp(at, tz=UTC),
            )
            signer = m.by or m.sender
            if m.partition is None:
                refused = (
                    w.send(signer, "transfer", r, amount)
                    if by is None
                    else w.send(signer, "transferFrom", s, r, amount)
                )
            else:
                p = bytes.fromhex(m.partition[2:])
                refused = (
                    w.send(signer, "transferByPartition", p, r, amount, b"")
                    if by is None
                    else w.send(signer, "operatorTransferByPartition", p, s, r, amount, b"", b"")
                )
            happened = refused is None
            token_reason = token_status = ""
            if refused is not None:
                assert refused.revert.error_name == "TransferRefused", refused
                status, raw_reason = refused.revert.error_args
                token_reason = bytes(raw_reason).rstrip(b"\0").decode()  # type: ignore[call-overload]
                token_status = f"0x{bytes(status)[0]:02x}"  # type: ignore[call-overload]
            ctx = (m, amount, dry.refusals, token_reason, [x.explanation for x in reasons])
            lock_ends = base + 30 if head_time < base + 30 <= at else None
            lock_ends = lock_ends or (base + 90 if head_time < base + 90 <= at else None)
            if lock_ends is None or dry.allowed:
                assert dry.allowed == happened, ctx
                if not happened:
                    assert dry.refusals[0].raw_message == token_reason, ctx
                    assert dry.refusals[0].raw_code == token_status, ctx
            assert happened or not dry.allowed, ("false allow", ctx)
            if by is None and amount <= units:
                assert (not reasons) == happened, ctx
                if not happened:
                    assert codes(reasons) & CONSISTENT[token_reason], ctx
            event("passed" if happened else f"refused: {token_reason}")


@SETTINGS
@given(
    listed=st.dictionaries(st.sampled_from(HOLDERS), st.sampled_from([True, False])),
    lockups=st.dictionaries(st.sampled_from(HOLDERS), st.sampled_from([0, 30])),
    paused=st.sampled_from([False, True, True]),
    mints=st.lists(
        st.tuples(st.sampled_from(HOLDERS), st.sampled_from([None, DEFAULT, REG_S]), st.just(100)),
        min_size=1,
        max_size=3,
    ),
)
def test_issuances_mean_what_the_token_enforces(
    world1400: World1400,
    listed: dict[str, bool],
    lockups: dict[str, int],
    paused: bool,
    mints: list[tuple[str, str | None, int]],
) -> None:
    """Invariant: for any whitelist, lock-ups and pause, the engine's token step on a
    primary trade (the owner to a holder) allows exactly when the owner's ``issue`` /
    ``issueByPartition`` goes through on chain (the pause stops transfers and
    redemptions, not issuance; a lock-up holds a sender's units, not a recipient's),
    with a reason the token's refusal can stand for."""
    w = world1400
    with w.example():
        base = int(w.client.w3.eth.get_block("latest")["timestamp"])
        for name, ok in listed.items():
            w.send("owner", "setWhitelisted", w.addr(name), ok)
        for name, offset in lockups.items():
            w.send("owner", "setLockup", w.addr(name), base + offset if offset else 0)
        if paused:
            w.send("owner", "pause")
        asset = w.adapter.read_asset(w.ref)
        for holder, partition, amount in mints:
            to = w.addr(holder)
            at = _land_at(w.client, 1)
            reasons = token_reasons(
                asset,
                seller=Side(w.addr("owner"), 0),
                buyer=Side(to, w.read("balanceOf", to)),
                quantity=amount,
                at=datetime.fromtimestamp(at, tz=UTC),
                kind="primary",
            )
            if partition is None:
                refused = w.send("owner", "issue", to, amount, b"")
            else:
                p = bytes.fromhex(partition[2:])
                refused = w.send("owner", "issueByPartition", p, to, amount, b"")
            context = (holder, partition, paused, [r.explanation for r in reasons], refused)
            assert (not reasons) == (refused is None), context
            if refused is not None:
                assert refused.revert.error_name == "TransferRefused", context
                _status, raw_reason = refused.revert.error_args
                token_reason = bytes(raw_reason).rstrip(b"\0").decode()  # type: ignore[call-overload]
                assert codes(reasons) & CONSISTENT[token_reason], context
            event("issued" if refused is None else "refused")
