"""The adapter conformance suite: one base class every token adapter subclasses.

How to subclass (EVM, Algorand, any standard)::

    from tests.conformance.base import AdapterConformance, ConformanceEnv

    class TestMyStandard(AdapterConformance):
        @pytest.fixture
        def conformance_env(self, some_chain_fixture) -> ConformanceEnv:
            ...deploy or reuse a token, reset by snapshot...
            return ConformanceEnv(
                adapter=adapter,                 # a bridge.ports.TokenPort
                ref=asset_ref,                   # the token's AssetRef
                agent=agent_signer,              # may run the agent operations
                holders=(alice, bob),            # >= 2 eligible signers, alice holds > 0,
                                                 # both funded for fees
                ineligible="0x...",             # a wallet that may not receive the token
                make_ineligible=fn,              # fn(address): make a wallet ineligible
                freeze=fn,                       # fn(address): freeze (or lock) a wallet
                agent_cases={Capability.MINT: lambda: {"to": bob.address, "amount": 5}},
                non_agent=some_signer,           # funded, holds no agent role
            )

The fixture must hand out a fresh state for each test (snapshot/revert or a new ledger),
because tests send transactions. ``agent_cases`` gives, for every *declared* capability,
a function returning the keyword parameters of one successful ``agent_operation`` (it may
prepare state first, e.g. add a key); a test fails if a declared capability has no case.
Set ``supply_is_sum_of_holdings = False`` on the env when the standard does not promise
that holdings add up to the total supply.

What is checked:

1. reading: ``read_asset`` gives a valid :class:`Asset` of the adapter's standard that
   survives a JSON round trip unchanged;
2. holders: ``holders()`` agrees with ``holding()`` per holder, and (where the standard says
   so) the holdings add up to ``total_supply``;
3. dry run equals reality, for an allowed transfer, a transfer to an ineligible wallet, a
   transfer to a wallet made ineligible, a frozen sender, and an over-balance amount;
4. agent operations: every declared capability succeeds with its case; every undeclared
   capability raises ``UnsupportedCapability`` and sends nothing; an agent operation signed
   by a non-agent raises ``TransactionReverted``;
5. bad input: a malformed address or a negative amount raises ``InvalidInput`` naming the
   field, and nothing is sent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from bridge.errors import InvalidInput, TransactionReverted, UnsupportedCapability
from bridge.model import Asset, AssetRef, Capability, TransferCheck, TransferIntent
from bridge.ports import Signer, TokenPort

__all__ = ["AdapterConformance", "ConformanceEnv"]


@dataclass
class ConformanceEnv:
    """What a subclass hands to the conformance tests (see the module docstring)."""

    adapter: TokenPort
    ref: AssetRef
    agent: Signer
    holders: Sequence[Signer]
    ineligible: str
    make_ineligible: Callable[[str], None]
    freeze: Callable[[str], None]
    agent_cases: Mapping[Capability, Callable[[], dict[str, object]]]
    non_agent: Signer
    head: Callable[[], int]
    supply_is_sum_of_holdings: bool = True
    send: Callable[[TransferIntent, Signer], object] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def intent(self, sender: str, recipient: str, amount: int) -> TransferIntent:
        """A transfer intent on this env's asset."""
        return TransferIntent(asset=self.ref, sender=sender, recipient=recipient, amount=amount)

    def really_transfer(self, intent: TransferIntent, signer: Signer) -> bool:
        """Send for real; True if the chain accepted it, False if it refused/reverted."""
        sender = self.send or self.adapter.transfer
        try:
            sender(intent, signer)
        except TransactionReverted:
            return False
        return True


class AdapterConformance:
    """Base class of the conformance suite; subclasses provide ``conformance_env``."""

    # -- helpers -------------------------------------------------------------------------

    @staticmethod
    def _dry_run_matches_reality(
        env: ConformanceEnv, intent: TransferIntent, signer: Signer
    ) -> TransferCheck:
        before = {
            who: env.adapter.holding(env.ref, who).balance
            for who in {intent.sender, intent.recipient}
        }
        head = env.head()
        verdict = env.adapter.check_transfer(intent)
        assert env.head() == head, "a dry run must not send anything"
        happened = env.really_transfer(intent, signer)
        assert verdict.allowed == happened, (
            f"dry run said allowed={verdict.allowed} ({verdict.reason}), chain said {happened}"
        )
        after = {who: env.adapter.holding(env.ref, who).balance for who in before}
        if happened and intent.sender != intent.recipient:
            assert after[intent.sender] == before[intent.sender] - intent.amount
            assert after[intent.recipient] == before[intent.recipient] + intent.amount
        else:
            assert after == before
        return verdict

    # -- 1. reading ----------------------------------------------------------------------

    def test_read_asset_is_valid_and_round_trips(self, conformance_env: ConformanceEnv) -> None:
        """The asset validates, is of the adapter's standard, and survives JSON unchanged."""
        env = conformance_env
        asset = env.adapter.read_asset(env.ref)
        assert isinstance(asset, Asset)
        assert asset.standard == env.adapter.standard
        assert asset.ref == env.ref
        assert Asset.model_validate_json(asset.model_dump_json()) == asset
        assert set(asset.controls) == set(env.adapter.capabilities)

    # -- 2. holders ----------------------------------------------------------------------

    def test_holders_agree_with_holding_and_supply(self, conformance_env: ConformanceEnv) -> None:
        """holders() == holding() per holder; holdings add up to the supply if promised."""
        env = conformance_env
        holdings = list(env.adapter.holders(env.ref))
        assert holdings, "the env promises at least one holder with a balance"
        assert len({h.holder for h in holdings}) == len(holdings)
        for h in holdings:
            assert h.balance > 0
            assert env.adapter.holding(env.ref, h.holder) == h
        if env.supply_is_sum_of_holdings:
            asset = env.adapter.read_asset(env.ref)
            assert sum(h.balance for h in holdings) == asset.total_supply

    # -- 3. dry run equals reality --------------------------------------------------------

    def test_allowed_transfer_dry_run_matches_chain(self, conformance_env: ConformanceEnv) -> None:
        """A small transfer between two eligible holders: allowed, and it goes through."""
        env = conformance_env
        alice, bob = env.holders[0], env.holders[1]
        verdict = self._dry_run_matches_reality(
            env, env.intent(alice.address, bob.address, 1), alice
        )
        assert verdict.allowed

    def test_transfer_to_ineligible_is_refused_both_ways(
        self, conformance_env: ConformanceEnv
    ) -> None:
        """To a wallet that may not hold the token: refused by the dry run and by the chain."""
        env = conformance_env
        alice = env.holders[0]
        verdict = self._dry_run_matches_reality(
            env, env.intent(alice.address, env.ineligible, 1), alice
        )
        assert not verdict.allowed

    def test_wallet_made_ineligible_is_refused(self, conformance_env: ConformanceEnv) -> None:
        """After make_ineligible(bob), a transfer to bob is refused by both."""
        env = conformance_env
        alice, bob = env.holders[0], env.holders[1]
        env.make_ineligible(bob.address)
        verdict = self._dry_run_matches_reality(
            env, env.intent(alice.address, bob.address, 1), alice
        )
        assert not verdict.allowed

    def test_frozen_sender_is_refused(self, conformance_env: ConformanceEnv) -> None:
        """A frozen (or fully locked) sender cannot send."""
        env = conformance_env
        alice, bob = env.holders[0], env.holders[1]
        env.freeze(alice.address)
        verdict = self._dry_run_matches_reality(
            env, env.intent(alice.address, bob.address, 1), alice
        )
        assert not verdict.allowed

    def test_over_balance_is_refused(self, conformance_env: ConformanceEnv) -> None:
        """More than the sender holds: refused by both."""
        env = conformance_env
        alice, bob = env.holders[0], env.holders[1]
        balance = env.adapter.holding(env.ref, alice.address).balance
        verdict = self._dry_run_matches_reality(
            env, env.intent(alice.address, bob.address, balance + 1), alice
        )
        assert not verdict.allowed

    # -- 4. agent operations ---------------------------------------------------------------

    def test_declared_capabilities_each_have_a_working_case(
        self, conformance_env: ConformanceEnv
    ) -> None:
        """Every declared capability runs successfully with the env's case."""
        env = conformance_env
        missing = set(env.adapter.capabilities) - set(env.agent_cases)
        assert not missing, f"declared capabilities without a conformance case: {missing}"
        for capability in sorted(env.adapter.capabilities):
            params = env.agent_cases[capability]()
            receipt = env.adapter.agent_operation(env.ref, capability, env.agent, **params)
            assert getattr(receipt, "success", True), capability

    def test_undeclared_capabilities_raise_and_send_nothing(
        self, conformance_env: ConformanceEnv
    ) -> None:
        """Each capability not declared raises UnsupportedCapability; nothing is sent."""
        env = conformance_env
        head = env.head()
        undeclared = [c for c in Capability if c not in env.adapter.capabilities]
        for capability in undeclared:
            with pytest.raises(UnsupportedCapability):
                env.adapter.agent_operation(env.ref, capability, env.agent)
        assert env.head() == head

    def test_agent_operation_by_non_agent_reverts(self, conformance_env: ConformanceEnv) -> None:
        """A declared operation signed by a wallet without the role is a TransactionReverted."""
        env = conformance_env
        capability = sorted(env.adapter.capabilities)[0]
        params = env.agent_cases[capability]()
        with pytest.raises(TransactionReverted):
            env.adapter.agent_operation(env.ref, capability, env.non_agent, **params)

    # -- 5. bad input ------------------------------------------------------------------------

    def test_bad_input_is_invalid_input_and_sends_nothing(
        self, conformance_env: ConformanceEnv
    ) -> None:
        """Malformed address / negative amount -> InvalidInput naming the field; no tx."""
        env = conformance_env
        alice = env.holders[0]
        cases = {c: dict(env.agent_cases[c]()) for c in sorted(env.adapter.capabilities)}
        head = env.head()  # cases may prepare state: count from here
        with pytest.raises(InvalidInput) as info:
            env.adapter.holding(env.ref, "0xnot-an-address")
        assert info.value.field
        with_amount = [c for c, params in cases.items() if "amount" in params]
        for capability in with_amount[:1]:
            params = dict(cases[capability])
            params["amount"] = -1
            with pytest.raises(InvalidInput) as info:
                env.adapter.agent_operation(env.ref, capability, env.agent, **params)
            assert info.value.field == "amount"
            params["amount"] = 1
            for key, value in params.items():
                if isinstance(value, str) and value.startswith("0x"):
                    bad = dict(params)
                    bad[key] = value[:-2]
                    with pytest.raises(InvalidInput) as info:
                        env.adapter.agent_operation(env.ref, capability, env.agent, **bad)
                    assert info.value.field == key
        with pytest.raises(InvalidInput):
            env.adapter.eligibility(env.ref, alice.address[:-1])
        assert env.head() == head
