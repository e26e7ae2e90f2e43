"""Regulated-ASA agent-operation dry runs agree with the compliance application, on the
embedded Algorand ledger (the real go-algorand evaluator).

Random forced transfers (clawback), mints out of the reserve, burns back into it, freezes,
whitelist removals and pauses -- by the admin or by an investor -- mixed with what changes
their outcome (receivers taken off the whitelist, caps, allowed countries).
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from adapters.algorand.ledger import Snapshot
from bridge.errors import TransactionReverted
from bridge.model import Capability
from tests.fixtures.algorand_assets import RegulatedWorld
from tests.property.test_regulated_asa_canonical_rules import (
    NAMES,
    regulated_rules,  # noqa: F401  (the module fixture)
)

pytestmark = [pytest.mark.timeout(900), pytest.mark.thorough]

_EXAMPLES = {"ci": 3, "dev": 8, "thorough": 100}.get(
    os.environ.get("STBRIDGE_HYPOTHESIS_PROFILE", "dev"), 8
)
signers = st.sampled_from(("admin", "admin", "admin", "alice"))
parties = st.sampled_from((*NAMES, "stranger", "late"))
amounts = st.sampled_from([0, 1, 500, 1_000, 1_001])
operations = st.one_of(
    st.tuples(
        st.sampled_from([Capability.FORCED_TRANSFER, Capability.CLAWBACK]),
        signers,
        parties,
        parties,
        amounts,
    ),
    st.tuples(st.just(Capability.MINT), signers, st.none(), parties, amounts),
    st.tuples(st.just(Capability.BURN), signers, parties, st.none(), amounts),
    st.tuples(st.just(Capability.ADDRESS_FREEZE), signers, parties, st.none(), st.none()),
    st.tuples(st.just(Capability.WHITELIST), signers, parties, st.none(), st.none()),
    st.tuples(st.just(Capability.PAUSE), signers, st.none(), st.none(), st.none()),
)


def _params(world: RegulatedWorld, op: tuple[object, ...]) -> dict[str, object]:
    capability, _, a, b, amount = op

    def who(name: object) -> str:
        return world[str(name)].address

    if capability in (Capability.FORCED_TRANSFER, Capability.CLAWBACK):
        return {"sender": who(a), "recipient": who(b), "amount": amount}
    if capability is Capability.MINT:
        return {"recipient": who(b), "amount": amount}
    if capability is Capability.BURN:
        return {"holder": who(a), "amount": amount}
    if capability is Capability.ADDRESS_FREEZE:
        return {"holder": who(a), "frozen": True}
    if capability is Capability.WHITELIST:
        return {"holder": who(a), "remove": True}
    return {"paused": True}


@settings(
    max_examples=_EXAMPLES,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    deadline=None,
)
@given(
    caps=st.tuples(
        st.sampled_from([0, 2]), st.sampled_from([0, 1_200]), st.sampled_from([(), ("JP",)])
    ),
    ops=st.lists(operations, min_size=2, max_size=5),
)
def test_agent_operation_dry_runs_agree_with_the_application(
    regulated_rules: tuple[RegulatedWorld, Snapshot],  # noqa: F811
    caps: tuple[int, int, tuple[str, ...]],
    ops: list[tuple[object, ...]],
) -> None:
    """Invariant: for any admin operation (or the same by an investor), after any caps and
    allowed countries, the dry run says *allowed* exactly when the application accepts
    the call, and a refusal names the application's own error."""
    world, snapshot = regulated_rules
    world.ledger.restore(snapshot)
    adapter, ref = world.adapter, world.ref
    max_holders, max_balance, countries = caps
    adapter.set_rules(
        ref, world.issuer, max_holders=max_holders, max_balance=max_balance, countries=countries
    )
    for op in ops:
        capability, signer_name = op[0], op[1]
        assert isinstance(capability, Capability)
        signer = world.issuer if signer_name == "admin" else world[str(signer_name)]
        params = _params(world, op)
        check = adapter.check_agent_operation(ref, capability, signer.address, **params)
        try:
            adapter.agent_operation(ref, capability, signer, **params)
            refused = None
        except TransactionReverted as exc:
            refused = adapter.refusal_for(exc.raw_message or "", sender=signer.address)
        ctx = (op, check.refusals, refused)
        assert check.allowed == (refused is None), ctx
        if refused is not None:
            assert check.refusals[0].raw_code == refused.raw_code, ctx
            assert check.reason is refused.code, ctx
        event(f"{capability.value}: {'done' if refused is None else refused.raw_code}")
