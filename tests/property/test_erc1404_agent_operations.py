"""ERC-1404 agent-operation dry runs agree with the chain (py-evm).

Random mints, burns, pauses, whitelist and lock-up changes on RestrictedToken1404 -- by
the issuer or by a holder without the roles -- mixed with what changes their outcome
(recipients taken off the whitelist, holder caps, pauses).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bridge.model import Capability
from tests.fixtures.evm import EvmChains
from tests.property.test_erc1404_canonical_rules import HOLDERS, World1404, world_on

_EXAMPLES = {"ci": 3, "dev": 10, "thorough": 150}.get(
    os.environ.get("STBRIDGE_HYPOTHESIS_PROFILE", "dev"), 10
)


@pytest.fixture
def pyevm1404(evm_chains: EvmChains) -> Iterator[World1404]:
    """The ERC-1404 rules world on py-evm."""
    yield from world_on(evm_chains, "pyevm")


signers = st.sampled_from(("issuer", "issuer", "issuer", "bob"))
operations = st.one_of(
    st.tuples(
        st.just(Capability.MINT),
        signers,
        st.sampled_from(HOLDERS),
        st.sampled_from([0, 1, 100]),
    ),
    st.tuples(
        st.just(Capability.BURN),
        signers,
        st.sampled_from(HOLDERS),
        st.sampled_from([0, 1, 200, 201, 1_000]),
    ),
    st.tuples(st.just(Capability.PAUSE), signers, st.booleans(), st.none()),
    st.tuples(st.just(Capability.WHITELIST), signers, st.sampled_from(HOLDERS), st.booleans()),
    st.tuples(st.just(Capability.LOCKS), signers, st.sampled_from(HOLDERS), st.none()),
)
context = st.tuples(
    st.dictionaries(st.sampled_from(HOLDERS), st.booleans(), max_size=2),
    st.sampled_from([0, 0, 3, 4]),
    st.booleans(),
)


def _params(w: World1404, op: tuple[Capability, str, object, object]) -> dict[str, object]:
    capability, _, a, b = op
    if capability is Capability.MINT:
        return {"to": w.addr(str(a)), "amount": b}
    if capability is Capability.BURN:
        return {"account": w.addr(str(a)), "amount": b}
    if capability is Capability.PAUSE:
        return {"paused": a}
    if capability is Capability.WHITELIST:
        return {"account": w.addr(str(a)), "whitelisted": b}
    return {"account": w.addr(str(a)), "until": 1}


@settings(
    max_examples=_EXAMPLES,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    deadline=None,
)
@given(setup=context, ops=st.lists(operations, min_size=2, max_size=6))
def test_agent_operation_dry_runs_agree_with_the_chain(
    pyevm1404: World1404,
    setup: tuple[dict[str, bool], int, bool],
    ops: list[tuple[Capability, str, object, object]],
) -> None:
    """Invariant: for any mint, burn, pause, whitelist or lock-up change by the issuer or
    by an account without the role, after any whitelist changes, holder cap and pause,
    the reads-only and the simulated dry runs both say *allowed* exactly when the signed
    operation succeeds on chain; a refusal names the custom error the token reverted
    with, the simulated one carries its raw revert, and both give the same reason."""
    w = pyevm1404
    with w.example():
        listed, cap, paused = setup
        for name, ok in listed.items():
            w.send("issuer", "setWhitelisted", w.addr(name), ok)
        if cap:
            w.send("issuer", "setMaxHolders", cap)
        if paused:
            w.send("issuer", "pause")
        for op in ops:
            capability, signer = op[0], op[1]
            params = _params(w, op)
            agent = w.addr(signer)
            reads = w.adapter.check_agent_operation(
                w.ref, capability, agent, simulate=False, **params
            )
            simulated = w.adapter.check_agent_operation(w.ref, capability, agent, **params)
            fn, args = w.adapter._operation(capability, params)
            refused = w.send(signer, fn, *args)
            happened = refused is None
            ctx = (op, reads.refusals, refused)
            assert reads.allowed == happened, ctx
            assert simulated.allowed == happened, ctx
            if refused is not None:
                assert reads.refusals[0].raw_code == refused.revert.error_name, ctx
                assert simulated.refusals[0].raw_message == refused.revert.describe(), ctx
                assert simulated.reason is reads.reason, ctx
            event(f"{capability.value}: {'done' if happened else reads.reason.value}")
