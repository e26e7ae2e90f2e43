"""Agent-operation dry runs agree with the chain, on the all-modules T-REX suite.

Random mints, burns, forced transfers and recoveries -- by the agent or by an account that
is not one -- mixed with what changes their outcome (claim revocations, wallets moved to
another identity, fee changes, maximum balances, the token made an agent of its identity
registry or not, the new wallet made a key of the lost wallet's identity or not).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from eth_abi.abi import encode as abi_encode
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from web3 import Web3

from adapters.evm.erc3643 import Erc3643Adapter
from adapters.evm.signer import EvmSigner
from bridge.errors import TransactionReverted
from bridge.model import Capability
from tests.property.test_trex_all_modules import (
    GAS,
    HOLDERS,
    LABELS,
    AllModules,
    MaxBalance,
    Reassign,
    Revoke,
    SetFee,
    _call_module,
    _run,
    all_modules,  # noqa: F401  (the fixture)
)


@dataclass(frozen=True)
class Mint:
    to: str
    amount: int
    approved: bool
    by_agent: bool


@dataclass(frozen=True)
class Burn:
    holder: str
    share: int
    by_agent: bool


@dataclass(frozen=True)
class Forced:
    sender: str
    recipient: str
    share: int
    by_agent: bool


@dataclass(frozen=True)
class Recover:
    lost: str
    key_added: bool
    registry_agent: bool


by_agent = st.sampled_from([True, True, True, False])
operations = st.one_of(
    st.builds(
        Mint,
        st.sampled_from(LABELS),
        st.sampled_from([0, 1, 50_000, 500_000]),
        st.sampled_from([True, True, False]),
        by_agent,
    ),
    st.builds(Burn, st.sampled_from(LABELS), st.sampled_from([0, 500, 1000, 1001]), by_agent),
    st.builds(
        Forced,
        st.sampled_from(HOLDERS),
        st.sampled_from(LABELS),
        st.sampled_from([0, 100, 1000, 1001]),
        by_agent,
    ),
    st.builds(Recover, st.sampled_from(HOLDERS), st.booleans(), st.booleans()),
)
context = st.one_of(
    st.builds(Revoke, st.sampled_from(("fees", "bob", "dave"))),
    st.builds(Reassign, st.sampled_from(HOLDERS), st.sampled_from(HOLDERS)),
    st.builds(SetFee, st.sampled_from([0, 100, 5_000]), st.sampled_from(("fees", "dave"))),
    st.builds(MaxBalance, st.sampled_from([120_000, 1_000_000])),
)


def _operate(env: AllModules, adapter: Erc3643Adapter, op: object) -> str:
    suite, d = env.suite, env.deployer
    ref = adapter.ref(suite.token)
    token = d.contract("Token", suite.token)
    signer = suite.agent
    params: dict[str, object]
    if isinstance(op, Mint):
        to = suite.investor(op.to).address
        capability, params = Capability.MINT, {"to": to, "amount": op.amount}
        if op.approved:
            zero = "0x" + "00" * 20
            _call_module(env, "ConditionalTransferModule", "approveTransfer", (zero, to, op.amount))
    elif isinstance(op, Burn):
        holder = suite.investor(op.holder).address
        amount = int(token.functions.balanceOf(holder).call()) * op.share // 1000 + op.share // 1001
        capability, params = Capability.BURN, {"holder": holder, "amount": amount}
    elif isinstance(op, Forced):
        sender = suite.investor(op.sender).address
        amount = int(token.functions.balanceOf(sender).call()) * op.share // 1000 + op.share // 1001
        recipient = suite.investor(op.recipient).address
        capability = Capability.FORCED_TRANSFER
        params = {"sender": sender, "recipient": recipient, "amount": amount}
    else:
        assert isinstance(op, Recover)
        lost = suite.investor(op.lost)
        identity = str(
            d.contract("IdentityRegistry", suite.identity_registry)
            .functions.identity(lost.address)
            .call()
        )
        new = EvmSigner.generate()
        d.fund(new.address)
        if op.key_added and int(identity, 16) != 0:
            key = bytes(Web3.keccak(abi_encode(["address"], [new.address])))
            d.send(d.contract("Identity", identity).functions.addKey(key, 1, 1), lost.signer)
        registry = d.contract("IdentityRegistry", suite.identity_registry)
        is_agent = bool(registry.functions.isAgent(suite.token).call())
        if op.registry_agent and not is_agent:
            d.send(registry.functions.addAgent(suite.token))
        capability = Capability.RECOVERY
        params = {"lost_wallet": lost.address, "new_wallet": new.address, "identity": identity}
    if not getattr(op, "by_agent", True):
        signer = env.operator
    reads = adapter.check_agent_operation(ref, capability, signer.address, simulate=False, **params)
    simulated = adapter.check_agent_operation(ref, capability, signer.address, **params)
    try:
        adapter.agent_operation(ref, capability, signer, gas=GAS, **params)
        happened, raw = True, None
    except TransactionReverted as exc:
        happened, raw = False, exc.raw_message
    ctx = (op, params, reads.refusals, raw)
    assert reads.allowed == happened, ctx
    assert simulated.allowed == happened, ctx
    if not happened:
        assert reads.refusals[0].raw_message == raw, ctx
        assert simulated.refusals[0].raw_message == raw, ctx
        assert simulated.reason is reads.reason, ctx
    return f"{capability.value} {'done' if happened else 'refused: ' + reads.reason.value}"


_EXAMPLES = {"ci": 2, "dev": 8, "thorough": 150}.get(
    os.environ.get("STBRIDGE_HYPOTHESIS_PROFILE", "dev"), 8
)


@settings(
    max_examples=_EXAMPLES,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    deadline=None,
)
@given(
    setup=st.lists(context, max_size=3),
    ops=st.lists(operations, min_size=2, max_size=5),
)
def test_agent_operation_dry_runs_agree_with_the_chain(
    all_modules: AllModules,  # noqa: F811
    setup: list[object],
    ops: list[object],
) -> None:
    """Invariant: for any mint, burn, forced transfer or recovery after any of the state
    changes above, the reads-only and the simulated dry runs both say *allowed* exactly
    when the signed operation succeeds, and a refusal carries the raw revert the token
    really produced, with the same canonical reason in both modes."""
    env = all_modules
    adapter = Erc3643Adapter(env.client)
    snapshot = env.client.snapshot()
    try:
        for step in setup:
            _run(env, adapter, step)
        for op in ops:
            event(_operate(env, adapter, op))
    finally:
        env.client.revert(snapshot)
