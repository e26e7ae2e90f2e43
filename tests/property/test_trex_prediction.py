"""Prediction equals reality for the ERC-3643 adapter, on py-evm and on anvil.

Random sequences of operations run on the real T-REX demo suite (CountryAllowModule JP/SG,
MaxBalanceModule): transfers between random investors -- eligible (JP, SG), registered in a
country the token does not allow (US), registered without KYC, never registered -- mixed
with agent actions that freeze and unfreeze wallets, freeze part of a balance, pause and
unpause the token, lower or raise the max balance, and delete a holder from the identity
registry (so senders without an identity occur too).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.evm.erc3643 import Erc3643Adapter
from bridge.errors import TransactionReverted
from bridge.model import Capability
from bridge.reasons import ReasonCode
from tests.fixtures.evm import EvmTestChain
from tests.property.trex_steps import Freeze, MaxBalance, PartialFreeze, Pause

GAS = 900_000
LABELS = ("alice", "bob", "carol", "dave", "erin", "frank", "mallory")
HOLDERS = ("alice", "bob", "dave", "erin")

# What the first canonical reason may be, given the string T-REX reverted with.
CONSISTENT: dict[str, set[ReasonCode]] = {
    "Pausable: paused": {ReasonCode.TOKEN_PAUSED},
    "wallet is frozen": {ReasonCode.SENDER_FROZEN, ReasonCode.RECIPIENT_FROZEN},
    "Insufficient Balance": {
        ReasonCode.INSUFFICIENT_BALANCE,
        ReasonCode.INSUFFICIENT_UNFROZEN_BALANCE,
    },
    "Transfer not possible": {
        ReasonCode.RECIPIENT_NOT_ELIGIBLE,
        ReasonCode.ACCREDITATION_REQUIRED,
        ReasonCode.COUNTRY_RESTRICTED,
        ReasonCode.MAX_BALANCE_EXCEEDED,
    },
    "invalid argument - no value transfer": {ReasonCode.TRANSFER_FAILURE},
    "identity not found": {ReasonCode.SENDER_NOT_ELIGIBLE},
}


@dataclass(frozen=True)
class Transfer:
    """sender -> recipient of ``share`` (per mille) of the sender's balance, plus ``extra``."""

    sender: str
    recipient: str
    share: int
    extra: int


@dataclass(frozen=True)
class Unregister:
    """The agent deletes a wallet from the identity registry."""

    label: str


transfers = st.builds(
    Transfer,
    sender=st.sampled_from(HOLDERS),
    recipient=st.sampled_from(LABELS),
    share=st.sampled_from([1, 10, 500, 999, 1000]),
    extra=st.sampled_from([0, 0, 0, 1, 7]),
)
actions = st.one_of(
    transfers,
    transfers,
    transfers,
    st.builds(Freeze, st.sampled_from(LABELS), st.booleans()),
    st.builds(PartialFreeze, st.sampled_from(HOLDERS), st.sampled_from([1, 250, 1000])),
    st.builds(Pause, st.booleans()),
    st.builds(Unregister, st.sampled_from(HOLDERS)),
    st.builds(MaxBalance, st.sampled_from([150_000, 320_000, 450_000, 1_000_000])),
)


def _run(chain: EvmTestChain, adapter: Erc3643Adapter, step: object) -> None:
    suite = chain.suite
    ref = adapter.ref(suite.token)
    agent = suite.agent
    if isinstance(step, Freeze):
        adapter.agent_operation(
            ref,
            Capability.ADDRESS_FREEZE,
            agent,
            address=suite.investor(step.label).address,
            frozen=step.frozen,
            gas=GAS,
        )
    elif isinstance(step, PartialFreeze):
        who = suite.investor(step.label).address
        free = adapter.holding(ref, who).free
        amount = free * step.share // 1000
        if amount:
            adapter.agent_operation(
                ref, Capability.PARTIAL_FREEZE, agent, address=who, amount=amount, gas=GAS
            )
    elif isinstance(step, Pause):
        if bool(adapter.token(ref).functions.paused().call()) != step.paused:
            adapter.agent_operation(ref, Capability.PAUSE, agent, paused=step.paused, gas=GAS)
    elif isinstance(step, Unregister):
        who = suite.investor(step.label).address
        if adapter.eligibility(ref, who).missing != ("identity_registration",):
            registry = chain.deployer.contract("IdentityRegistry", suite.identity_registry)
            chain.deployer.send(registry.functions.deleteIdentity(who), agent)
    elif isinstance(step, MaxBalance):
        chain.deployer.configure_module(suite, "MaxBalanceModule", "setMaxBalance", (step.limit,))
    elif isinstance(step, Transfer):
        _check_transfer(chain, adapter, step)


def _check_transfer(chain: EvmTestChain, adapter: Erc3643Adapter, step: Transfer) -> None:
    suite = chain.suite
    ref = adapter.ref(suite.token)
    sender = suite.investor(step.sender)
    recipient = suite.investor(step.recipient)
    balance = adapter.holding(ref, sender.address).balance
    amount = balance * step.share // 1000 + step.extra
    intent = adapter.intent(ref, sender.address, recipient.address, amount)
    head = chain.client.head()
    verdict = adapter.check_transfer(intent, simulate=False)  # reads only
    assert chain.client.head() == head
    try:
        adapter.transfer(intent, sender.signer, gas=GAS)
        happened, raw = True, None
    except TransactionReverted as exc:
        happened, raw = False, exc.raw_message
    assert verdict.allowed == happened, (step, amount, verdict.refusals, raw)
    if not happened:
        assert raw in CONSISTENT, raw
        assert verdict.reason in CONSISTENT[raw], (step, verdict.refusals, raw)


@settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    deadline=None,
)
@given(steps=st.lists(actions, min_size=1, max_size=6))
def test_prediction_equals_reality(evm_chain: EvmTestChain, steps: list[object]) -> None:
    """Invariant: for every transfer in any sequence of transfers and agent actions, the
    adapter's dry run (computed from reads only) says *allowed* exactly when the real
    transaction succeeds, and when it is refused, its first canonical reason is the one the
    revert string T-REX really produced stands for (paused, frozen, insufficient balance,
    behind "Transfer not possible" an identity or compliance-module reason, an empty
    transfer, or a sender without an identity).

    Each example starts from the same chain state (snapshot, revert)."""
    client = evm_chain.client
    adapter = Erc3643Adapter(client)
    snapshot = client.snapshot()
    try:
        for step in steps:
            _run(evm_chain, adapter, step)
    finally:
        client.revert(snapshot)


@pytest.mark.parametrize(
    ("recipient", "reason"),
    [
        ("carol", ReasonCode.COUNTRY_RESTRICTED),
        ("frank", ReasonCode.RECIPIENT_NOT_ELIGIBLE),
        ("mallory", ReasonCode.RECIPIENT_NOT_ELIGIBLE),
    ],
)
def test_each_ineligible_kind_has_its_reason(
    evm_chain: EvmTestChain, recipient: str, reason: ReasonCode
) -> None:
    """Regression anchors for the property: one refused transfer per kind of investor."""
    adapter = Erc3643Adapter(evm_chain.client)
    _check_transfer(evm_chain, adapter, Transfer("alice", recipient, 10, 0))
    ref = adapter.ref(evm_chain.suite.token)
    intent = adapter.intent(
        ref,
        evm_chain.suite.investor("alice").address,
        evm_chain.suite.investor(recipient).address,
        1,
    )
    assert adapter.check_transfer(intent).reason is reason


def test_zero_amount_transfer_regression(evm_chain: EvmTestChain) -> None:
    """Found by the property: T-REX's compliance refuses a transfer of 0 after every check
    ("invalid argument - no value transfer"); the dry run must say so too."""
    adapter = Erc3643Adapter(evm_chain.client)
    _check_transfer(evm_chain, adapter, Transfer("erin", "dave", 500, 0))  # erin holds 0
    ref = adapter.ref(evm_chain.suite.token)
    intent = adapter.intent(
        ref, evm_chain.suite.investor("erin").address, evm_chain.suite.investor("dave").address, 0
    )
    check = adapter.check_transfer(intent)
    assert check.reason is ReasonCode.TRANSFER_FAILURE
    assert check.refusals[0].raw_message == "invalid argument - no value transfer"


def test_escrow_hop_is_simulated_from_the_htlc(evm_chain: EvmTestChain) -> None:
    """The escrow -> buyer hop: the HTLC (a contract, holding the tokens under alice's
    identity) is the sender. The simulated dry run runs the transfer as an ``eth_call``
    from the HTLC's address on both backends: allowed to bob, refused to carol (US) with
    the token's own raw revert; the chain agrees (the transfers are then made from a
    wallet of the same identity, since a contract cannot sign)."""
    from adapters.evm.htlc import EvmHtlc

    client, suite, d = evm_chain.client, evm_chain.suite, evm_chain.deployer
    htlc = EvmHtlc.deploy(client, suite.owner)
    alice = suite.investor("alice")
    registry = d.contract("IdentityRegistry", suite.identity_registry)
    d.send(registry.functions.registerIdentity(htlc.address, alice.identity, 392), suite.agent)
    d.send(d.contract("Token", suite.token).functions.transfer(htlc.address, 10), alice.signer)
    adapter = Erc3643Adapter(client)
    ref = adapter.ref(suite.token)
    bob, carol = suite.investor("bob").address, suite.investor("carol").address
    to_bob = adapter.check_transfer(adapter.intent(ref, htlc.address, bob, 10), simulate=True)
    assert to_bob.allowed, to_bob.refusals
    to_carol = adapter.check_transfer(adapter.intent(ref, htlc.address, carol, 10))
    assert to_carol.reason is ReasonCode.COUNTRY_RESTRICTED
    assert to_carol.refusals[0].raw_message == "Transfer not possible"
    # the simulation alone decides too: a revert the reads did not predict is a refusal
    too_much = adapter.check_transfer(adapter.intent(ref, htlc.address, bob, 11))
    assert too_much.reason is ReasonCode.INSUFFICIENT_BALANCE
    assert too_much.refusals[0].raw_message == "Insufficient Balance"
