"""ERC-1400 agent-operation dry runs agree with the chain (py-evm).

Random issuances, controller redemptions and transfers, operator transfers by partition,
pauses, whitelist, lock-up and document changes on SecurityToken1400 -- by the owner, the
controller, bob's operator, a holder or a stranger -- mixed with what changes their
outcome (issuance finished, control renounced, holders off the whitelist or locked up,
the token paused).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from adapters.evm.erc1400 import status_refusal
from bridge.model import Capability
from tests.fixtures.evm import EvmChains
from tests.property.test_erc1400_canonical_rules import (
    DEFAULT,
    HOLDERS,
    REG_S,
    World1400,
    world_on,
)

_EXAMPLES = {"ci": 2, "dev": 10, "thorough": 150}.get(
    os.environ.get("STBRIDGE_HYPOTHESIS_PROFILE", "dev"), 10
)
ZERO = "0x" + "00" * 20
FAR = 2**40


@pytest.fixture
def pyevm1400(evm_chains: EvmChains) -> Iterator[World1400]:
    """The ERC-1400 world on py-evm."""
    yield from world_on(evm_chains, "pyevm")


signers = st.sampled_from(("right", "right", "right", "owner", "controller", "operator", "dave"))
"""Who signs: ``right`` is the account the operation needs (the owner, the controller,
for a partition transfer bob's operator); the others may lack the power."""
RIGHT = {
    Capability.BURN: "controller",
    Capability.FORCED_TRANSFER: "controller",
    Capability.PARTITIONS: "operator",
}
parties = st.sampled_from((*HOLDERS, "zero"))
amounts = st.sampled_from([0, 1, 300, 500, 1_300, 1_301])
operations = st.one_of(
    st.tuples(st.just(Capability.MINT), signers, parties, amounts, st.sampled_from([None, REG_S])),
    st.tuples(st.just(Capability.BURN), signers, parties, amounts, st.none()),
    st.tuples(st.just(Capability.FORCED_TRANSFER), signers, parties, amounts, parties),
    st.tuples(
        st.just(Capability.PARTITIONS),
        signers,
        st.sampled_from(("alice", "bob", "carol")),
        amounts,
        st.tuples(st.sampled_from([DEFAULT, REG_S]), parties),
    ),
    st.tuples(st.just(Capability.PAUSE), signers, st.booleans(), st.none(), st.none()),
    st.tuples(st.just(Capability.WHITELIST), signers, parties, st.booleans(), st.none()),
    st.tuples(st.just(Capability.LOCKS), signers, parties, st.none(), st.none()),
    st.tuples(st.just(Capability.DOCUMENTS), signers, st.none(), st.none(), st.none()),
)
context = st.tuples(
    st.dictionaries(st.sampled_from(HOLDERS), st.booleans(), max_size=2),
    st.dictionaries(st.sampled_from(HOLDERS), st.sampled_from([0, FAR]), max_size=2),
    st.sampled_from([None, None, "finishIssuance", "renounceControl", "pause"]),
)


def _params(w: World1400, op: tuple[object, ...]) -> dict[str, object]:
    capability, _, a, b, c = op

    def who(name: object) -> str:
        return ZERO if name == "zero" else w.addr(str(name))

    if capability is Capability.MINT:
        return {"to": who(a), "amount": b} | ({"partition": c} if c else {})
    if capability is Capability.BURN:
        return {"account": who(a), "amount": b}
    if capability is Capability.FORCED_TRANSFER:
        return {"sender": who(a), "recipient": who(c), "amount": b}
    if capability is Capability.PARTITIONS:
        partition, recipient = c  # type: ignore[misc]
        return {"partition": partition, "sender": who(a), "recipient": who(recipient), "amount": b}
    if capability is Capability.PAUSE:
        return {"paused": a}
    if capability is Capability.WHITELIST:
        return {"account": who(a), "whitelisted": b}
    if capability is Capability.LOCKS:
        return {"account": who(a), "until": FAR}
    return {"name": "prospectus", "uri": "https://example.org/p.pdf", "hash": None}


@settings(
    max_examples=_EXAMPLES,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    deadline=None,
)
@given(setup=context, ops=st.lists(operations, min_size=2, max_size=6))
def test_agent_operation_dry_runs_agree_with_the_chain(
    pyevm1400: World1400,
    setup: tuple[dict[str, bool], dict[str, int], str | None],
    ops: list[tuple[object, ...]],
) -> None:
    """Invariant: for any owner, controller or operator operation (or the same by an
    account without the power), after any whitelist and lock-up changes, finished
    issuance, renounced control or pause, the reads-only and the simulated dry runs both
    say *allowed* exactly when the signed operation succeeds on chain; a refusal names
    what the token reverted with (its custom error, or its ERC-1400 status and reason),
    the simulated one carries the raw revert, and both give the same reason."""
    w = pyevm1400
    with w.example():
        listed, lockups, switch = setup
        for name, ok in listed.items():
            w.send("owner", "setWhitelisted", w.addr(name), ok)
        for name, until in lockups.items():
            w.send("owner", "setLockup", w.addr(name), until)
        if switch is not None:
            w.send("owner", switch)
        for op in ops:
            capability, signer = op[0], str(op[1])
            assert isinstance(capability, Capability)
            if signer == "right":
                signer = RIGHT.get(capability, "owner")
            params = _params(w, op)
            agent = w.addr(signer)
            reads = w.adapter.check_agent_operation(
                w.ref, capability, agent, simulate=False, **params
            )
            simulated = w.adapter.check_agent_operation(w.ref, capability, agent, **params)
            fn, args = w.adapter._operation(w.token, capability, params)
            refused = w.send(signer, fn, *args)
            happened = refused is None
            ctx = (op, reads.refusals, refused)
            assert reads.allowed == happened, ctx
            assert simulated.allowed == happened, ctx
            if refused is not None:
                first = reads.refusals[0]
                if refused.revert.error_name == "TransferRefused":
                    status, reason = refused.revert.error_args
                    token = status_refusal(bytes(status)[0], bytes(reason))  # type: ignore[call-overload]
                    assert (first.raw_code, first.raw_message) == (
                        token.raw_code,
                        token.raw_message,
                    ), ctx
                else:
                    assert first.raw_code == refused.revert.error_name, ctx
                assert simulated.refusals[0].raw_message == refused.revert.describe(), ctx
                assert simulated.reason is reads.reason, ctx
            event(f"{capability.value}: {'done' if happened else reads.reason.value}")
