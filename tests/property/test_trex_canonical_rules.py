"""Each canonical rule read from a T-REX 4.1.6 module means what the module enforces.

On the all-modules suite (see ``test_trex_all_modules``), random changes to each module's
state are followed by random transfers; the verdict of the canonical rule the adapter
read (``read_asset``) -- as the compliance engine applies it -- is compared with the
module's own: its ``moduleCheck`` for the state rules, the real transaction for the time
windows and the transfer fee. On anvil (reading the rules replays module events, which
py-evm's log queries make slow; the dry-run property covers py-evm).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.evm.erc3643 import Erc3643Adapter
from bridge.compliance.model import Party
from bridge.errors import TransactionReverted
from bridge.model import (
    AllowListRule,
    Asset,
    CountryAllowRule,
    CountryDenyRule,
    MaxBalanceRule,
    Rule,
    Standard,
    SupplyCapRule,
    TransferFeeRule,
    VolumeLimitRule,
)
from tests.property.engine_view import party_reasons
from tests.property.test_trex_all_modules import (
    GAS,
    AllModules,
    _call_module,
    _land_at,
    anvil_all_modules,  # noqa: F401  (the fixture)
)

pytestmark = pytest.mark.anvil

LABELS = ("alice", "bob", "carol", "dave", "erin", "fees", "frank")
_EXAMPLES = {"ci": 3, "dev": 8, "thorough": 150}.get(
    os.environ.get("STBRIDGE_HYPOTHESIS_PROFILE", "dev"), 8
)
SETTINGS = settings(
    max_examples=_EXAMPLES,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    deadline=None,
)


def _rules(rules: tuple[Rule, ...], env: AllModules, name: str) -> list[Rule]:
    address = env.module(name)
    return [r for r in rules if r.source is not None and r.source.startswith(address)]


_LIST_MODULES = (
    "TransferRestrictModule",
    "TokenListingRestrictionsModule",
    "CountryAllowModule",
    "CountryRestrictModule",
    "MaxBalanceModule",
    "SupplyLimitModule",
)


def _read_rules(
    adapter: Erc3643Adapter, env: AllModules, names: tuple[str, ...]
) -> tuple[Rule, ...]:
    """The canonical rules the adapter reads for the named modules (the same reading
    ``read_asset`` does for every module; only these, to keep the test cheap on py-evm)."""
    return tuple(
        rule
        for name in names
        for rule in adapter._module_rules(env.module(name), env.suite.compliance)
    )


def _module_check(env: AllModules, name: str, sender: str, recipient: str, amount: int) -> bool:
    module = env.deployer.contract(name, env.module(name))
    return bool(
        module.functions.moduleCheck(sender, recipient, amount, env.suite.compliance).call()
    )


def _parties(env: AllModules, label: str) -> list[str]:
    investor = env.suite.investor(label)
    return [investor.address] + ([investor.identity] if investor.identity else [])


@SETTINGS
@given(
    allowed=st.sets(st.sampled_from(LABELS)),
    listed=st.dictionaries(st.sampled_from(LABELS[:6]), st.booleans()),
    pairs=st.lists(st.tuples(st.sampled_from(LABELS), st.sampled_from(LABELS)), max_size=6),
)
def test_list_rules_mean_what_the_modules_check(
    anvil_all_modules: AllModules,  # noqa: F811
    allowed: set[str],
    listed: dict[str, bool],
    pairs: list[tuple[str, str]],
) -> None:
    """Invariant: for any allow list of TransferRestrictModule and any token listings
    (by wallet or by identity) of TokenListingRestrictions, for any pair of parties, the
    canonical AllowListRule's verdict (scope ``either`` resp. ``recipient``) equals the
    module's ``moduleCheck``; so do CountryAllow/CountryDeny and MaxBalance (per identity)
    and SupplyCap (on an issuance)."""
    env = anvil_all_modules
    client, suite, d = env.client, env.suite, env.deployer
    snapshot = client.snapshot()
    try:
        everyone = [suite.investor(label).address for label in LABELS]
        _call_module(env, "TransferRestrictModule", "batchDisallowUsers", (everyone,))
        chosen = [suite.investor(label).address for label in sorted(allowed)]
        if chosen:
            _call_module(env, "TransferRestrictModule", "batchAllowUsers", (chosen,))
        listing = d.contract(
            "TokenListingRestrictionsModule", env.module("TokenListingRestrictionsModule")
        )
        for label, by_identity in listed.items():
            investor = suite.investor(label)
            status = listing.functions.getInvestorListingStatus
            for who in _parties(env, label):
                if status(suite.token, who).call():
                    kind = int(who != investor.address)
                    d.send(listing.functions.unlistToken(suite.token, kind), investor.signer)
            d.send(listing.functions.listToken(suite.token, int(by_identity)), investor.signer)
        adapter = Erc3643Adapter(client)
        rules = _read_rules(adapter, env, _LIST_MODULES)
        (restrict,) = _rules(rules, env, "TransferRestrictModule")
        (listed_rule,) = _rules(rules, env, "TokenListingRestrictionsModule")
        (country_allow,) = _rules(rules, env, "CountryAllowModule")
        (country_deny,) = _rules(rules, env, "CountryRestrictModule")
        (max_balance,) = _rules(rules, env, "MaxBalanceModule")
        (supply,) = _rules(rules, env, "SupplyLimitModule")
        assert isinstance(restrict, AllowListRule)
        assert restrict.scope == "either"
        assert isinstance(listed_rule, AllowListRule)
        assert listed_rule.scope == "recipient"
        assert isinstance(country_allow, CountryAllowRule)
        assert isinstance(country_deny, CountryDenyRule)
        assert isinstance(max_balance, MaxBalanceRule)
        assert max_balance.per == "identity"
        assert isinstance(supply, SupplyCapRule)
        token = d.contract("Token", suite.token)
        for sender_label, recipient_label in pairs:
            sender, recipient = suite.investor(sender_label), suite.investor(recipient_label)
            s, r = sender.address, recipient.address
            assert restrict.permits([s], [r]) == _module_check(
                env, "TransferRestrictModule", s, r, 1
            ), (sender_label, recipient_label, allowed)
            assert listed_rule.permits([s], _parties(env, recipient_label)) == _module_check(
                env, "TokenListingRestrictionsModule", s, r, 1
            ), (recipient_label, listed)
            if not recipient.registered:
                continue  # the country and balance modules are asked about identities only
            assert (recipient.country in country_allow.countries) == _module_check(
                env, "CountryAllowModule", s, r, 1
            )
            assert (recipient.country not in country_deny.countries) == _module_check(
                env, "CountryRestrictModule", s, r, 1
            )
            held = sum(
                int(token.functions.balanceOf(other.address).call())
                for other in suite.investors.values()
                if other.identity == recipient.identity and other.registered
            )
            for amount in (1, max_balance.limit - held, max_balance.limit - held + 1):
                if amount < 0:
                    continue
                assert (held + amount <= max_balance.limit) == _module_check(
                    env, "MaxBalanceModule", s, r, amount
                ), (recipient_label, held, amount)
            supply_now = int(token.functions.totalSupply().call())
            zero = "0x" + "00" * 20
            for amount in (supply.limit - supply_now, supply.limit - supply_now + 1):
                assert (supply_now + amount <= supply.limit) == _module_check(
                    env, "SupplyLimitModule", zero, r, amount
                )
    finally:
        client.revert(snapshot)


@SETTINGS
@given(
    moves=st.lists(
        st.tuples(
            st.sampled_from(["bob", "dave", "erin"]),
            st.sampled_from([1, 10_000, 40_000, 60_000, 149_999]),
            st.sampled_from([1, 30, 59, 60, 61, 120, 601]),
        ),
        min_size=2,
        max_size=6,
    ),
    rate=st.sampled_from([0, 1, 100, 2_500]),
)
def test_windows_and_fees_mean_what_the_token_does(
    anvil_all_modules: AllModules,  # noqa: F811
    moves: list[tuple[str, int, int]],
    rate: int,
) -> None:
    """Invariant: alice sends random amounts at random block times to bob, dave or erin
    (the exchange). Each canonical VolumeLimitRule (fixed windows per identity started by
    the first transfer; the exchange's only counting transfers into it), judged on alice's
    past successful transfers at the landing block's time, allows exactly when the token
    lets the transfer through -- and so does the engine, judging the trade on the
    parties as the adapter reads them (``read_party``: alice's identity and its outflows
    from the chain, each with its recipient's identity, the recipient's identity for the
    exchange's limit); and a transfer that goes through delivers the canonical
    TransferFeeRule's net amount to the recipient and its fee to the collector."""
    env = anvil_all_modules
    client, suite, d = env.client, env.suite, env.deployer
    snapshot = client.snapshot()
    try:
        if client.backend == "pyevm":
            client._tester.time_travel(int(client.now().timestamp()) + 86_400)
        alice = suite.investor("alice")
        _call_module(env, "TransferFeesModule", "setFee", (rate, suite.investor("fees").address))
        _call_module(env, "MaxBalanceModule", "setMaxBalance", (10**12,))
        for label in ("bob", "dave", "erin"):
            _call_module(
                env, "TransferRestrictModule", "allowUser", (suite.investor(label).address,)
            )
        adapter = Erc3643Adapter(client)
        rules = _read_rules(
            adapter,
            env,
            (
                "TimeTransfersLimitsModule",
                "TimeExchangeLimitsModule",
                "ExchangeMonthlyLimitsModule",
                "TransferFeesModule",
            ),
        )
        limits = [r for r in rules if isinstance(r, VolumeLimitRule)]
        (fee_rule,) = [r for r in rules if isinstance(r, TransferFeeRule)]
        assert fee_rule.rate_bps == rate
        assert {r.into for r in limits} == {None, suite.investor("erin").identity}
        ref = adapter.ref(suite.token)
        limited = Asset(
            chain=ref.chain,
            locator=ref.locator,
            standard=Standard.ERC3643,
            name="All Modules",
            symbol="ALLM",
            decimals=0,
            total_supply=10**12,
            rules=tuple(limits),
        )
        history: list[tuple[datetime, int, str]] = []  # alice's identity's outflows
        token = d.contract("Token", suite.token)
        for label, amount, dt in moves:
            recipient = suite.investor(label)
            _call_module(
                env,
                "ConditionalTransferModule",
                "approveTransfer",
                (alice.address, recipient.address, amount),
            )
            at = _land_at(client, dt)
            when = datetime.fromtimestamp(at, tz=UTC)
            balance = int(token.functions.balanceOf(alice.address).call())
            canonical = amount <= balance and all(
                rule.allows(
                    amount,
                    [(t, a) for t, a, into in history if rule.into in (None, into)],
                    when,
                )
                for rule in limits
                if rule.into in (None, recipient.identity)
            )
            if amount <= balance:  # the engine, on the parties as the adapter reads them
                seller = adapter.read_party(
                    ref, alice.address, Party(name="alice", residence="JP", balance=balance)
                )
                buyer = adapter.read_party(
                    ref, recipient.address, Party(name=label, residence="JP"), outflows=False
                )
                judged = party_reasons(
                    limited, seller=seller, buyer=buyer, quantity=amount, at=when
                )
                assert (not judged) == canonical, (label, amount, dt, seller.outflows, judged)
            before = {
                who: int(token.functions.balanceOf(who).call())
                for who in (recipient.address, fee_rule.collector)
            }
            fn = token.functions.transfer(recipient.address, amount)
            try:
                client.transact(
                    alice.signer,
                    suite.token,
                    bytes.fromhex(str(fn._encode_transaction_data())[2:]),
                    gas=GAS,
                )
                happened = True
            except TransactionReverted:
                happened = False
            assert canonical == happened, (label, amount, dt, history)
            if happened:
                history.append((when, amount, str(recipient.identity)))
                fee = fee_rule.fee(amount, sender=alice.address, recipient=recipient.address)
                after = {
                    who: int(token.functions.balanceOf(who).call())
                    for who in (recipient.address, fee_rule.collector)
                }
                assert after[recipient.address] - before[recipient.address] == (
                    fee_rule.net_amount(amount, sender=alice.address, recipient=recipient.address)
                )
                assert after[fee_rule.collector] - before[fee_rule.collector] == fee
    finally:
        client.revert(snapshot)
