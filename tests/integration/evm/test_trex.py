"""ERC-3643 acceptance on real T-REX contracts, py-evm and anvil.

- the demo token (CountryAllowModule JP/SG + MaxBalanceModule) lists both rules with their
  parameters; a transfer to a US investor is refused for the country, one over the cap for
  the balance -- by the dry run and by the chain;
- every supported module is read with its parameters; an unknown one becomes opaque;
- eligibility names what is missing; holdings split free/frozen; a reverted agent
  operation is a clear ``TransactionReverted``.
"""

from __future__ import annotations

import pytest

from adapters.evm.erc3643 import Erc3643Adapter
from adapters.evm.trex_deploy import ModuleConfig
from bridge.errors import TransactionReverted
from bridge.model import (
    AllowListRule,
    Capability,
    CountryAllowRule,
    CountryDenyRule,
    IssuerApprovalRule,
    MaxBalanceRule,
    OpaqueRule,
    RequiredClaimsRule,
    SupplyCapRule,
    VolumeLimitRule,
)
from bridge.reasons import ReasonCode
from bridge.types import alpha2_to_numeric
from tests.fixtures.evm import EvmTestChain

GAS = 900_000


def _adapter(chain: EvmTestChain) -> Erc3643Adapter:
    return Erc3643Adapter(chain.client)


def _outcome(adapter: Erc3643Adapter, chain: EvmTestChain, frm: str, to: str, amount: int) -> bool:
    suite = chain.suite
    intent = adapter.intent(
        adapter.ref(suite.token), suite.investor(frm).address, suite.investor(to).address, amount
    )
    try:
        adapter.transfer(intent, suite.investor(frm).signer, gas=GAS)
    except TransactionReverted as exc:
        raw = exc.raw_message
    else:
        return True
    assert raw == "Transfer not possible"
    return False


def test_demo_asset_lists_both_rules_with_parameters(evm_chain: EvmTestChain) -> None:
    """CountryAllow(JP, SG) and MaxBalance(1,000,000 per identity) are read from chain."""
    adapter = _adapter(evm_chain)
    asset = adapter.read_asset(adapter.ref(evm_chain.suite.token))
    allow = [r for r in asset.rules if isinstance(r, CountryAllowRule)]
    cap = [r for r in asset.rules if isinstance(r, MaxBalanceRule)]
    assert [r.countries for r in allow] == [("JP", "SG")]
    assert [(r.limit, r.per) for r in cap] == [(1_000_000, "identity")]
    assert allow[0].source is not None
    assert evm_chain.suite.modules["CountryAllowModule"] in allow[0].source
    required = [r for r in asset.rules if isinstance(r, RequiredClaimsRule)]
    assert required[0].topics == (1,)
    assert required[0].trusted_issuers == (evm_chain.suite.claim_issuer,)
    assert asset.total_supply == 800_000
    assert asset.name == "Tokyo Office Trust"
    assert {r.holder for r in asset.roles if r.role == "agent"} == {evm_chain.suite.agent.address}


def test_us_investor_refused_for_country(evm_chain: EvmTestChain) -> None:
    """alice (JP) -> carol (US, KYC'd, registered): COUNTRY_RESTRICTED, and the chain reverts."""
    adapter = _adapter(evm_chain)
    suite = evm_chain.suite
    ref = adapter.ref(suite.token)
    check = adapter.check_transfer(
        adapter.intent(ref, suite.investor("alice").address, suite.investor("carol").address, 10)
    )
    assert not check.allowed
    assert check.reason is ReasonCode.COUNTRY_RESTRICTED
    assert check.refusals[0].raw_message == "Transfer not possible"
    assert check.refusals[0].raw_code == "CountryAllowModule"
    assert not _outcome(adapter, evm_chain, "alice", "carol", 10)


def test_over_the_cap_refused_for_max_balance(evm_chain: EvmTestChain) -> None:
    """With the cap at 500,000, alice -> bob (300,000) of 250,000 breaks it: both refuse."""
    evm_chain.deployer.configure_module(
        evm_chain.suite, "MaxBalanceModule", "setMaxBalance", (500_000,)
    )
    adapter = _adapter(evm_chain)
    suite = evm_chain.suite
    ref = adapter.ref(suite.token)
    alice, bob = suite.investor("alice").address, suite.investor("bob").address
    over = adapter.check_transfer(adapter.intent(ref, alice, bob, 250_000))
    assert over.reason is ReasonCode.MAX_BALANCE_EXCEEDED
    assert [r.code for r in over.refusals] == [ReasonCode.MAX_BALANCE_EXCEEDED]
    assert not _outcome(adapter, evm_chain, "alice", "bob", 250_000)
    at_cap = adapter.check_transfer(adapter.intent(ref, alice, bob, 200_000))
    assert at_cap.allowed
    assert _outcome(adapter, evm_chain, "alice", "bob", 200_000)
    rules = adapter.read_asset(ref).rules
    assert [r.limit for r in rules if isinstance(r, MaxBalanceRule)] == [500_000]


def test_every_module_is_read_with_its_parameters(evm_chain: EvmTestChain) -> None:
    """Seven interpreted modules with parameters, and an unknown one kept as opaque."""
    d, suite = evm_chain.deployer, evm_chain.suite
    alice = suite.investor("alice").address
    d.add_module(
        suite,
        ModuleConfig(
            "CountryRestrictModule",
            (("batchRestrictCountries", ([alpha2_to_numeric("US"), alpha2_to_numeric("KP")],)),),
        ),
    )
    d.add_module(suite, ModuleConfig("TransferRestrictModule", (("allowUser", (alice,)),)))
    d.add_module(suite, ModuleConfig("SupplyLimitModule", (("setSupplyLimit", (5_000_000,)),)))
    d.add_module(
        suite,
        ModuleConfig(
            "TimeTransfersLimitsModule",
            (
                ("setTimeTransferLimit", ((86_400, 50_000),)),
                ("setTimeTransferLimit", ((3_600, 10_000),)),
            ),
        ),
    )
    d.add_module(suite, ModuleConfig("ConditionalTransferModule"))
    exchange = suite.investor("bob").identity
    assert exchange is not None
    monthly = d.add_module(
        suite,
        ModuleConfig("ExchangeMonthlyLimitsModule", (("setExchangeMonthlyLimit", (exchange, 7)),)),
    )
    d.send(d.contract("ExchangeMonthlyLimitsModule", monthly).functions.addExchangeID(exchange))
    adapter = _adapter(evm_chain)
    rules = adapter.read_asset(adapter.ref(suite.token)).rules
    kinds = {type(r) for r in rules}
    assert {CountryAllowRule, MaxBalanceRule, CountryDenyRule, AllowListRule} <= kinds
    assert [r.countries for r in rules if isinstance(r, CountryDenyRule)] == [("KP", "US")]
    # TransferRestrictModule passes a transfer when either party is listed
    assert [(r.addresses, r.scope) for r in rules if isinstance(r, AllowListRule)] == [
        ((alice,), "either")
    ]
    assert [r.limit for r in rules if isinstance(r, SupplyCapRule)] == [5_000_000]
    volume = sorted(
        (r.window_seconds, r.amount, r.window, r.per, r.agents_exempt, r.into)
        for r in rules
        if isinstance(r, VolumeLimitRule)
    )
    assert volume == [
        (3_600, 10_000, "fixed", "identity", True, None),
        (86_400, 50_000, "fixed", "identity", True, None),
        (30 * 86_400, 7, "fixed", "identity", True, exchange),
    ]
    assert len([r for r in rules if isinstance(r, IssuerApprovalRule)]) == 1
    assert not [r for r in rules if isinstance(r, OpaqueRule)]


def test_conditional_transfer_needs_then_consumes_an_approval(evm_chain: EvmTestChain) -> None:
    """ConditionalTransferModule: refused (ISSUER_APPROVAL_REQUIRED) until approved."""
    d, suite = evm_chain.deployer, evm_chain.suite
    d.add_module(suite, ModuleConfig("ConditionalTransferModule"))
    adapter = _adapter(evm_chain)
    ref = adapter.ref(suite.token)
    alice, bob = suite.investor("alice").address, suite.investor("bob").address
    before = adapter.check_transfer(adapter.intent(ref, alice, bob, 5))
    assert before.reason is ReasonCode.ISSUER_APPROVAL_REQUIRED
    assert not _outcome(adapter, evm_chain, "alice", "bob", 5)
    d.configure_module(suite, "ConditionalTransferModule", "approveTransfer", (alice, bob, 5))
    assert adapter.check_transfer(adapter.intent(ref, alice, bob, 5)).allowed
    assert _outcome(adapter, evm_chain, "alice", "bob", 5)
    again = adapter.check_transfer(adapter.intent(ref, alice, bob, 5))
    assert again.reason is ReasonCode.ISSUER_APPROVAL_REQUIRED  # the approval was consumed


def test_eligibility_names_what_is_missing(evm_chain: EvmTestChain) -> None:
    """Eligible JP investor with claims; no-KYC investor misses kyc; stranger is unregistered."""
    adapter = _adapter(evm_chain)
    suite = evm_chain.suite
    ref = adapter.ref(suite.token)
    alice = adapter.eligibility(ref, suite.investor("alice").address)
    assert alice.eligible
    assert alice.investor is not None
    assert alice.investor.country == "JP"
    assert {c.type.value for c in alice.investor.claims} >= {"kyc", "accredited", "jurisdiction"}
    frank = adapter.eligibility(ref, suite.investor("frank").address)
    assert not frank.eligible
    assert frank.missing == ("kyc (topic 1)",)
    mallory = adapter.eligibility(ref, suite.investor("mallory").address)
    assert mallory.missing == ("identity_registration",)
    check = adapter.check_transfer(
        adapter.intent(ref, suite.investor("alice").address, suite.investor("frank").address, 1)
    )
    assert check.reason is ReasonCode.RECIPIENT_NOT_ELIGIBLE
    assert "kyc (topic 1)" in check.refusals[0].detail


def test_holdings_split_free_and_frozen(evm_chain: EvmTestChain) -> None:
    """Partial freeze moves units to frozen; an address freeze freezes the whole balance."""
    adapter = _adapter(evm_chain)
    suite = evm_chain.suite
    ref = adapter.ref(suite.token)
    alice, bob = suite.investor("alice").address, suite.investor("bob").address
    adapter.agent_operation(
        ref, Capability.PARTIAL_FREEZE, suite.agent, address=alice, amount=150_000, gas=GAS
    )
    adapter.agent_operation(
        ref, Capability.ADDRESS_FREEZE, suite.agent, address=bob, frozen=True, gas=GAS
    )
    held = {h.holder: h for h in adapter.holders(ref)}
    assert (held[alice].free, held[alice].frozen) == (250_000, 150_000)
    assert (held[bob].free, held[bob].frozen) == (0, 300_000)
    over = adapter.check_transfer(adapter.intent(ref, alice, bob, 250_001))
    assert [r.code for r in over.refusals][:2] == [
        ReasonCode.RECIPIENT_FROZEN,
        ReasonCode.INSUFFICIENT_UNFROZEN_BALANCE,
    ]


def test_reverted_agent_operation_is_one_clear_error(evm_chain: EvmTestChain) -> None:
    """Minting to an unverified wallet: TransactionReverted carrying T-REX's message."""
    adapter = _adapter(evm_chain)
    suite = evm_chain.suite
    ref = adapter.ref(suite.token)
    head = evm_chain.client.head()
    with pytest.raises(TransactionReverted) as info:
        adapter.agent_operation(
            ref, Capability.MINT, suite.agent, to=suite.investor("mallory").address, amount=1
        )
    assert info.value.raw_message == "Identity is not verified."
    assert "\n" not in str(info.value)
    assert evm_chain.client.head() == head  # estimated first: nothing was sent


def test_sender_without_identity_is_refused(evm_chain: EvmTestChain) -> None:
    """A holder deleted from the registry cannot send: MaxBalanceModule's hook needs its
    identity ("identity not found"); the dry run says SENDER_NOT_ELIGIBLE."""
    suite, deployer = evm_chain.suite, evm_chain.deployer
    registry = deployer.contract("IdentityRegistry", suite.identity_registry)
    alice = suite.investor("alice")
    deployer.send(registry.functions.deleteIdentity(alice.address), suite.agent)
    adapter = _adapter(evm_chain)
    intent = adapter.intent(
        adapter.ref(suite.token), alice.address, suite.investor("bob").address, 5
    )
    check = adapter.check_transfer(intent)
    assert [r.code for r in check.refusals] == [ReasonCode.SENDER_NOT_ELIGIBLE]
    assert check.refusals[0].raw_message == "identity not found"
    with pytest.raises(TransactionReverted) as info:
        adapter.transfer(intent, alice.signer, gas=GAS)
    assert info.value.raw_message == "identity not found"
