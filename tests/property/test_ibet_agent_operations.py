"""ibet issuer-operation dry runs agree with the chain (share and bond, py-evm).

Random issuances and redemptions (free or locked units), forced transfers (to accounts
and to a contract without ``tokenFallback``), forced locks, unlocks and locked-account
changes, approvals and cancellations of transfer applications, the transferable and
approval switches and registrations -- by the issuer or by an account that is not it --
mixed with what changes their outcome (an application pending, units locked, the token
not transferable).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from adapters.evm.client import EvmReverted
from adapters.evm.ibet import BulkTransferCheck
from adapters.evm.signer import EvmSigner
from bridge.errors import InvalidInput
from bridge.model import AgentOperationCheck, Capability
from tests.fixtures.ibet import GAS, IbetWorld, ibet_world

_EXAMPLES = {"ci": 2, "dev": 10, "thorough": 150}.get(
    os.environ.get("STBRIDGE_HYPOTHESIS_PROFILE", "dev"), 10
)
ZERO = "0x" + "00" * 20
BIG = 2**255
_SETTINGS = settings(
    max_examples=_EXAMPLES,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    deadline=None,
)


@pytest.fixture
def pyevm_ibet(request: pytest.FixtureRequest) -> Iterator[IbetWorld]:
    """The ibet world on py-evm (built once per session, reverted after the test)."""
    yield from ibet_world("pyevm", request)


@contextmanager
def _reverted(w: IbetWorld) -> Iterator[IbetWorld]:
    """One example on ``w``; the chain is put back as it was after it (snapshot, revert)."""
    snapshot = w.client.snapshot()
    try:
        yield w
    finally:
        w.client.revert(snapshot)


kinds = st.sampled_from(("share", "bond"))
signers = st.sampled_from(("issuer", "issuer", "issuer", "alice", "outsider"))
holders = st.sampled_from(("alice", "bob", "carol", "mallory"))
amounts = st.sampled_from([0, 1, 40, 500, 1_001])
operations = st.one_of(
    st.builds(
        lambda s, to, a, lock: (Capability.MINT, s, {"to": to, "amount": a, "lock": lock}),
        signers,
        holders,
        amounts,
        st.booleans(),
    ),
    st.builds(
        lambda s, who, a, lock: (Capability.BURN, s, {"account": who, "amount": a, "lock": lock}),
        signers,
        holders,
        amounts,
        st.booleans(),
    ),
    st.builds(
        lambda s, frm, to, a: (
            Capability.FORCED_TRANSFER,
            s,
            {"sender": frm, "recipient": to, "amount": a},
        ),
        signers,
        holders,
        st.sampled_from(("bob", "mallory", "registry")),
        amounts,
    ),
    st.builds(
        lambda s, action, who, a: (
            Capability.LOCKS,
            s,
            {"action": action, "account": who, "amount": a},
        ),
        signers,
        st.sampled_from(("lock", "unlock", "change_account")),
        holders,
        amounts,
    ),
    st.builds(
        lambda s, action, i: (Capability.APPROVAL_FLOW, s, {"action": action, "index": i}),
        signers,
        st.sampled_from(("approve", "cancel", "require")),
        st.sampled_from([0, 0, 1]),
    ),
    st.builds(
        lambda s, flag: (Capability.PAUSE, s, {"transferable": flag}), signers, st.booleans()
    ),
    st.builds(lambda s: (Capability.IDENTITY_REGISTRATION, s, {}), signers),
)
context = st.tuples(st.booleans(), st.booleans(), st.sampled_from([0, 30]))


def _bulk_items(*columns: st.SearchStrategy[Any]) -> st.SearchStrategy[list[tuple[Any, ...]]]:
    """The rows of one bulk call: one to four, each a value of every column."""
    return st.lists(st.tuples(*columns), min_size=1, max_size=4)


def _params(w: IbetWorld, capability: Capability, raw: dict[str, object]) -> dict[str, object]:
    locker = w.addr("locker")
    if capability is Capability.MINT:
        out = {"to": w.addr(str(raw["to"])), "amount": raw["amount"]}
        return out | ({"lock_address": locker} if raw["lock"] else {})
    if capability is Capability.BURN:
        out = {"account": w.addr(str(raw["account"])), "amount": raw["amount"]}
        return out | ({"lock_address": locker} if raw["lock"] else {})
    if capability is Capability.FORCED_TRANSFER:
        to = w.registry if raw["recipient"] == "registry" else w.addr(str(raw["recipient"]))
        return {"sender": w.addr(str(raw["sender"])), "recipient": to, "amount": raw["amount"]}
    if capability is Capability.LOCKS:
        account = w.addr(str(raw["account"]))
        out = {"action": raw["action"], "lock_address": locker, "account": account}
        out["amount"] = raw["amount"]
        if raw["action"] == "unlock":
            out["recipient"] = w.addr("bob")
        elif raw["action"] == "change_account":
            out["new_account"] = w.addr("carol")
        return out
    if capability is Capability.APPROVAL_FLOW:
        if raw["action"] == "require":
            return {"action": "require", "required": True}
        return dict(raw)
    if capability is Capability.PAUSE:
        return dict(raw)
    return {"wallet": EvmSigner.from_seed("ibet-rules:new-wallet").address}


def _send(
    w: IbetWorld, kind: str, signer: str, fn: str, args: list[object], *, gas: int
) -> str | None:
    """Send ``fn(*args)`` to the ``kind`` token for real (explicit gas, so a refusal is the
    chain's own revert); the revert, described, if refused."""
    adapter, address = w.adapter(kind), w.token(kind)
    data = adapter.token(address).encode_abi(fn, args=args)
    try:
        adapter.send_call(w.signers[signer], address, data, fn, gas=gas)
    except EvmReverted as exc:
        return exc.revert.describe()
    return None


def _on_chain(
    w: IbetWorld, kind: str, capability: Capability, signer: str, params: dict[str, object]
) -> str | None:
    """Run the operation for real (explicit gas); the revert message if refused."""
    adapter = w.adapter(kind)
    if capability is Capability.IDENTITY_REGISTRATION:
        try:
            adapter.agent_operation(w.ref(kind), capability, w.signers[signer], **params)
        except InvalidInput as exc:
            return str(exc)
        return None
    fn, args = adapter._operation(capability, params)
    return _send(w, kind, signer, fn, args, gas=GAS)


def _assert_agree(
    reads: AgentOperationCheck | BulkTransferCheck,
    simulated: AgentOperationCheck | BulkTransferCheck,
    refused: str | None,
    ctx: object,
    *,
    raw: bool = True,
    same_reason: bool = True,
) -> None:
    """Both dry runs say *allowed* exactly when the chain accepted; a refusal carries the
    code (or panic, or the receiver's revert) the token gave and the simulated one its raw
    revert (``raw``), and both the same canonical reason (``same_reason``)."""
    assert reads.allowed == (refused is None), ctx
    assert simulated.allowed == (refused is None), ctx
    if refused is None:
        return
    if raw:
        first = reads.refusals[0]
        assert refused in (first.raw_code, first.raw_message), ctx
        assert simulated.refusals[0].raw_message == refused, ctx
    if same_reason:
        assert simulated.reason is reads.reason, ctx


@_SETTINGS
@given(
    kind=kinds,
    setup=context,
    ops=st.lists(operations, min_size=2, max_size=6),
)
def test_issuer_operation_dry_runs_agree_with_the_chain(
    pyevm_ibet: IbetWorld,
    kind: str,
    setup: tuple[bool, bool, int],
    ops: list[tuple[Capability, str, dict[str, object]]],
) -> None:
    """Invariant: for any issuer operation (or the same by an account that is not the
    issuer), after an application is pending or not, units are locked or not and the
    token is transferable or not, the reads-only and the simulated dry runs both say
    *allowed* exactly when the operation succeeds on chain; a refusal carries the
    six-digit code (or panic) the token reverted with, the simulated one its raw revert,
    and both give the same canonical reason."""
    with _reverted(pyevm_ibet) as w:
        applied, transferable, locked = setup
        adapter, ref = w.adapter(kind), w.ref(kind)
        if applied:
            w.call(kind, "issuer", "setTransferApprovalRequired", True)
            w.call(kind, "alice", "applyForTransfer", w.addr("bob"), 10, "")
            w.call(kind, "issuer", "setTransferApprovalRequired", False)
        if locked:
            w.call(kind, "alice", "lock", w.addr("locker"), locked, "")
        if not transferable:
            w.call(kind, "issuer", "setTransferable", False)
        for capability, signer, raw in ops:
            params = _params(w, capability, raw)
            agent = w.addr(signer)
            reads = adapter.check_agent_operation(ref, capability, agent, simulate=False, **params)
            simulated = adapter.check_agent_operation(ref, capability, agent, **params)
            refused = _on_chain(w, kind, capability, signer, params)
            ctx = (kind, capability, signer, params, reads.refusals, refused)
            # a registration's refusal is the adapter's InvalidInput: no revert to compare
            raw_codes = capability is not Capability.IDENTITY_REGISTRATION
            _assert_agree(reads, simulated, refused, ctx, raw=raw_codes)
            event(f"{capability.value}: {'done' if refused is None else reads.reason.value}")


@_SETTINGS
@given(
    kind=kinds,
    signer=signers,
    items=_bulk_items(
        st.sampled_from(("alice", "bob", "carol")),
        st.sampled_from(("alice", "bob", "carol", "mallory", "registry")),
        st.sampled_from([0, 1, 400, 500, 600, 1_000]),
    ),
)
def test_bulk_forced_transfer_dry_run_agrees_with_the_chain(
    pyevm_ibet: IbetWorld, kind: str, signer: str, items: list[tuple[str, str, int]]
) -> None:
    """Invariant: for any list of forced transfers (each item judged on the balances the
    items before it leave, all or nothing), by the issuer or not, the reads-only and the
    simulated dry runs of ``bulkTransferFrom`` say *allowed* exactly when the chain
    accepts it, and a refusal carries the code (or the receiver's revert) it gave."""
    with _reverted(pyevm_ibet) as w:
        adapter, ref = w.adapter(kind), w.ref(kind)
        moves = [(w.addr(a), w.registry if b == "registry" else w.addr(b), v) for a, b, v in items]
        agent = w.addr(signer)
        reads = adapter.check_bulk_forced_transfer(ref, agent, moves, simulate=False)
        simulated = adapter.check_bulk_forced_transfer(ref, agent, moves)
        args: list[object] = [[m[0] for m in moves], [m[1] for m in moves], [m[2] for m in moves]]
        refused = _send(w, kind, signer, "bulkTransferFrom", args, gas=GAS * 2)
        ctx = (kind, signer, items, reads.refusals, refused)
        _assert_agree(reads, simulated, refused, ctx, same_reason=False)
        event("done" if refused is None else f"refused {reads.reason.value}")


@_SETTINGS
@given(
    kind=kinds,
    sender=st.sampled_from(("alice", "alice", "bob", "carol")),
    setup=st.tuples(
        st.sampled_from([False, False, True]),
        st.sampled_from([True, True, False]),
        st.sampled_from([None, None, "registry", "alice"]),
    ),
    items=_bulk_items(
        st.sampled_from(("alice", "bob", "bob", "carol", "mallory", "registry")),
        st.sampled_from([0, 1, 100, 300, 500, 1_000, BIG]),
    ),
)
def test_bulk_transfer_dry_run_agrees_with_the_chain(
    pyevm_ibet: IbetWorld,
    kind: str,
    sender: str,
    setup: tuple[bool, bool, str | None],
    items: list[tuple[str, int]],
) -> None:
    """Invariant: for any holder's ``bulkTransfer`` list (the total checked against its free
    balance first, an overflowing total panicking; then each item as a transfer, all or
    nothing), with transfer approval required or not, the token transferable or not and
    a tradable exchange (a contract without ``tokenFallback``, or a holder) or none, the
    reads-only and the simulated dry runs say *allowed* exactly when the chain accepts
    it, with the code (or panic, or the receiver's revert) the token gave."""
    with _reverted(pyevm_ibet) as w:
        approval, transferable, exchange = setup
        adapter, ref = w.adapter(kind), w.ref(kind)
        if approval:
            w.call(kind, "issuer", "setTransferApprovalRequired", True)
        if not transferable:
            w.call(kind, "issuer", "setTransferable", False)
        if exchange is not None:
            target = w.registry if exchange == "registry" else w.addr(exchange)
            w.call(kind, "issuer", "setTradableExchange", target)
        moves = [(w.registry if to == "registry" else w.addr(to), v) for to, v in items]
        who = w.addr(sender)
        reads = adapter.check_bulk_transfer(ref, who, moves, simulate=False)
        simulated = adapter.check_bulk_transfer(ref, who, moves)
        args: list[object] = [[m[0] for m in moves], [m[1] for m in moves]]
        refused = _send(w, kind, sender, "bulkTransfer", args, gas=GAS * 2)
        _assert_agree(reads, simulated, refused, (kind, sender, setup, items, reads.refusals))
        event("done" if refused is None else f"refused {reads.reason.value}")


@_SETTINGS
@given(
    kind=kinds,
    signer=signers,
    redeem=st.booleans(),
    locked=st.sampled_from([0, 30]),
    items=_bulk_items(
        st.sampled_from(("alice", "bob", "carol")),
        st.booleans(),
        st.sampled_from([0, 1, 20, 400, 600, 1_000, BIG]),
    ),
)
def test_bulk_issue_and_redeem_dry_runs_agree_with_the_chain(
    pyevm_ibet: IbetWorld,
    kind: str,
    signer: str,
    redeem: bool,
    locked: int,
    items: list[tuple[str, bool, int]],
) -> None:
    """Invariant: for any list of issuances (``bulkIssueFrom``: a total supply that would
    overflow panics) or redemptions (``bulkRedeemFrom``: each item judged on the free or
    locked units the items before it leave), free or locked to the lock address, by the
    issuer or not, all or nothing, the reads-only and the simulated dry runs say
    *allowed* exactly when the chain accepts the call, with the code (or panic) the token
    gave and the same canonical reason."""
    with _reverted(pyevm_ibet) as w:
        adapter, ref = w.adapter(kind), w.ref(kind)
        locker = w.addr("locker")
        if locked:
            w.call(kind, "alice", "lock", locker, locked, "")
        rows = [(w.addr(t), locker if lock else None, v) for t, lock, v in items]
        agent = w.addr(signer)
        check = adapter.check_bulk_redeem if redeem else adapter.check_bulk_issue
        reads = check(ref, agent, rows, simulate=False)
        simulated = check(ref, agent, rows)
        fn = "bulkRedeemFrom" if redeem else "bulkIssueFrom"
        args: list[object] = [
            [r[0] for r in rows],
            [r[1] or ZERO for r in rows],
            [r[2] for r in rows],
        ]
        refused = _send(w, kind, signer, fn, args, gas=GAS * 2)
        _assert_agree(reads, simulated, refused, (kind, signer, fn, items, reads.refusals))
        event(f"{fn}: {'done' if refused is None else reads.reason.value}")
