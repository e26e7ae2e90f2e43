"""CashToken (our ERC-20 stablecoin) and its adapter, on py-evm and on anvil.

Deploys the USD coin (6 decimals) and the JPY coin (0 decimals) once per backend on the
session chains and resets the chain by snapshot between tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.evm.client import EvmClient, EvmReverted
from adapters.evm.erc20 import SPEC, ZERO_ADDRESS, Erc20Adapter, deploy_demo_coins, probe
from adapters.evm.signer import EvmSigner
from bridge.errors import InvalidInput, NotFound, UnsupportedCapability, WrongStandard
from bridge.model import (
    AssetRef,
    Capability,
    CashTerms,
    DenyListRule,
    EvmChain,
    EvmContractLocator,
    RoleAssignment,
    Standard,
    TransferIntent,
)
from bridge.ports import TxReceipt
from bridge.reasons import ReasonCode
from tests.fixtures.evm import EvmChains
from tests.integration.evm._contracts_support import (
    contracts_cache,
    deployed_once,
    funded_signers,
    reset,
    send_raw,
)

__all__ = ["contracts_cache"]  # the session fixture, imported so pytest finds it

NAMES = ("issuer", "alice", "bob", "carol", "mallory")


class Env:
    """One chain with both coins deployed, the issuer and four other funded accounts."""

    def __init__(self, client: EvmClient) -> None:
        self.client = client
        self.s = funded_signers(self.client, "cash", *NAMES)
        self.adapter = Erc20Adapter(self.client)
        coins = deploy_demo_coins(self.client, self.s["issuer"])
        self.usd, self.jpy = coins["USD"], coins["JPY"]
        self.usd_ref = self.adapter.ref(self.usd)
        self.jpy_ref = self.adapter.ref(self.jpy)
        for who in ("alice", "bob"):
            self.op(Capability.MINT, to=self.addr(who), amount=1_000_000_000)

    def addr(self, name: str) -> str:
        return self.s[name].address

    def op(
        self, cap: Capability, signer: str = "issuer", ref: AssetRef | None = None, **p: Any
    ) -> TxReceipt:
        return self.adapter.agent_operation(ref or self.usd_ref, cap, self.s[signer], **p)

    def intent(self, sender: str, recipient: str, amount: int, **kw: Any) -> TransferIntent:
        return TransferIntent(
            asset=self.usd_ref,
            sender=self.addr(sender) if sender in self.s else sender,
            recipient=self.addr(recipient) if recipient in self.s else recipient,
            amount=amount,
            **kw,
        )


@pytest.fixture
def env(
    evm_backend: str, evm_chains: EvmChains, contracts_cache: dict[tuple[str, str], Any]
) -> Iterator[Env]:
    yield from deployed_once(evm_chains, evm_backend, contracts_cache, "cash", Env)


def test_reads_the_usd_coin_as_a_cash_asset(env: Env) -> None:
    asset = env.adapter.read_asset(env.usd_ref)
    assert asset.standard is Standard.ERC20
    assert asset.asset_class == "cash"
    assert (asset.name, asset.symbol, asset.decimals) == ("USD Coin", "USDX", 6)
    assert asset.terms == CashTerms(currency="USD")
    assert asset.total_supply == 2_000_000_000
    assert asset.issuer == env.addr("issuer")
    assert not asset.paused
    assert asset.rules == (DenyListRule(addresses=(), source=f"{env.usd}#blocklist"),)
    assert set(asset.controls) == {
        Capability.MINT,
        Capability.BURN,
        Capability.PAUSE,
        Capability.BLOCKLIST,
    }
    assert RoleAssignment(role="issuer", holder=env.addr("issuer")) in asset.roles
    assert asset.read_at_height is not None


def test_reads_the_jpy_coin_with_zero_decimals(env: Env) -> None:
    asset = env.adapter.read_asset(env.jpy_ref)
    assert (asset.symbol, asset.decimals, asset.total_supply) == ("JPYX", 0, 0)
    assert asset.terms == CashTerms(currency="JPY")


def test_holders_follow_transfers_and_burns(env: Env) -> None:
    env.adapter.transfer(env.intent("alice", "carol", 250), env.s["alice"])
    env.adapter.transfer(env.intent("bob", "issuer", 1_000_000_000), env.s["bob"])
    env.op(Capability.BURN, amount=1_000_000_000)
    held = {h.holder: h.balance for h in env.adapter.holders(env.usd_ref)}
    assert held == {env.addr("alice"): 999_999_750, env.addr("carol"): 250}
    assert env.adapter.read_asset(env.usd_ref).total_supply == 1_000_000_000


def test_blocklist_is_a_deny_list_rule_and_freezes_the_holding(env: Env) -> None:
    env.op(Capability.BLOCKLIST, account=env.addr("alice"), blocked=True)
    env.op(Capability.BLOCKLIST, account=env.addr("mallory"), blocked=True)
    env.op(Capability.BLOCKLIST, account=env.addr("mallory"), blocked=False)
    asset = env.adapter.read_asset(env.usd_ref)
    assert asset.rules[0] == DenyListRule(
        addresses=(env.addr("alice"),), source=f"{env.usd}#blocklist"
    )
    holding = env.adapter.holding(env.usd_ref, env.addr("alice"))
    assert (holding.balance, holding.free, holding.frozen) == (1_000_000_000, 0, 1_000_000_000)
    elig = env.adapter.eligibility(env.usd_ref, env.addr("alice"))
    assert not elig.eligible
    assert elig.missing
    assert env.adapter.eligibility(env.usd_ref, env.addr("mallory")).eligible


@pytest.mark.parametrize(
    ("setup", "sender", "recipient", "amount", "expected"),
    [
        ("none", "alice", "carol", 10, ReasonCode.OK),
        ("none", "carol", "alice", 1, ReasonCode.INSUFFICIENT_BALANCE),
        ("block_alice", "alice", "carol", 10, ReasonCode.BLOCKLISTED_PARTY),
        ("block_carol", "alice", "carol", 10, ReasonCode.BLOCKLISTED_PARTY),
        ("pause", "alice", "carol", 10, ReasonCode.TOKEN_PAUSED),
        ("pause+block_alice", "alice", "carol", 10, ReasonCode.TOKEN_PAUSED),
        ("block_alice+block_carol", "alice", "carol", 10**10, ReasonCode.BLOCKLISTED_PARTY),
        ("none", "alice", ZERO_ADDRESS, 10, ReasonCode.INVALID_RECEIVER),
    ],
)
def test_dry_run_predicts_what_the_chain_does(
    env: Env, setup: str, sender: str, recipient: str, amount: int, expected: ReasonCode
) -> None:
    for part in setup.split("+"):
        if part.startswith("block_"):
            env.op(Capability.BLOCKLIST, account=env.addr(part[6:]), blocked=True)
        elif part == "pause":
            env.op(Capability.PAUSE, paused=True)
    intent = env.intent(sender, recipient, amount)
    check = env.adapter.check_transfer(intent)
    assert check.reason is expected
    before = env.client.head()
    if expected is ReasonCode.OK:
        env.adapter.transfer(intent, env.s[sender])
        assert env.adapter.holding(env.usd_ref, env.addr(sender)).balance == 1_000_000_000 - amount
    else:
        with pytest.raises(EvmReverted) as info:
            env.adapter.transfer(intent, env.s[sender])
        assert info.value.reason is expected
        assert info.value.revert.error_name == check.refusals[0].raw_code
        assert env.client.head() == before, "a refused transfer must not be sent"


def test_transfer_from_checks_spender_and_allowance(env: Env) -> None:
    usd = env.adapter.token(env.usd)
    assert send_raw(env.client, env.s["alice"], usd, "approve", env.addr("bob"), 100) is None
    over = env.intent("alice", "carol", 101, operator=env.addr("bob"))
    assert env.adapter.check_transfer(over).reason is ReasonCode.INSUFFICIENT_ALLOWANCE
    with pytest.raises(EvmReverted) as info:
        env.adapter.transfer(over, env.s["bob"])
    assert info.value.reason is ReasonCode.INSUFFICIENT_ALLOWANCE
    ok = env.intent("alice", "carol", 100, operator=env.addr("bob"))
    assert env.adapter.check_transfer(ok).allowed
    env.adapter.transfer(ok, env.s["bob"])
    assert env.adapter.holding(env.usd_ref, env.addr("carol")).balance == 100
    env.op(Capability.BLOCKLIST, account=env.addr("bob"), blocked=True)
    assert send_raw(env.client, env.s["alice"], usd, "approve", env.addr("bob"), 5) is None
    spender_blocked = env.intent("alice", "carol", 5, operator=env.addr("bob"))
    check = env.adapter.check_transfer(spender_blocked)
    assert check.reason is ReasonCode.BLOCKLISTED_PARTY
    revert = send_raw(
        env.client, env.s["bob"], usd, "transferFrom", env.addr("alice"), env.addr("carol"), 5
    )
    assert revert is not None
    assert revert.error_name == "AccountBlocked"


def test_pause_stops_mint_and_unpause_resumes(env: Env) -> None:
    env.op(Capability.PAUSE, paused=True)
    assert env.adapter.read_asset(env.usd_ref).paused
    with pytest.raises(EvmReverted) as info:
        env.op(Capability.MINT, to=env.addr("carol"), amount=1)
    assert info.value.reason is ReasonCode.TOKEN_PAUSED
    env.op(Capability.PAUSE, paused=False)
    env.op(Capability.MINT, to=env.addr("carol"), amount=1)
    assert env.adapter.holding(env.usd_ref, env.addr("carol")).balance == 1


def test_agent_operations_need_the_role(env: Env) -> None:
    with pytest.raises(EvmReverted) as info:
        env.op(Capability.MINT, signer="mallory", to=env.addr("mallory"), amount=10**9)
    assert info.value.reason is ReasonCode.OPERATOR_NOT_AUTHORIZED
    assert env.adapter.holding(env.usd_ref, env.addr("mallory")).balance == 0


def test_undeclared_capability_and_bad_parameters_are_refused(env: Env) -> None:
    head = env.client.head()
    with pytest.raises(UnsupportedCapability):
        env.op(Capability.FORCED_TRANSFER, frm=env.addr("alice"))
    with pytest.raises(InvalidInput, match="amount"):
        env.op(Capability.MINT, to=env.addr("carol"))
    with pytest.raises(InvalidInput, match="amount"):
        env.op(Capability.MINT, to=env.addr("carol"), amount=-1)
    with pytest.raises(InvalidInput, match="amount"):
        env.op(Capability.MINT, to=env.addr("carol"), amount=1.5)
    with pytest.raises(InvalidInput, match="to"):
        env.op(Capability.MINT, to="0x1234", amount=1)
    with pytest.raises(InvalidInput, match="colour"):
        env.op(Capability.PAUSE, paused=True, colour="red")
    with pytest.raises(InvalidInput, match="sender"):
        env.adapter.transfer(env.intent("alice", "carol", 1), env.s["bob"])
    assert env.client.head() == head, "nothing may be sent on bad input"


def test_bad_targets_are_named(env: Env) -> None:
    empty = EvmSigner.from_seed("nobody").address
    with pytest.raises(NotFound):
        env.adapter.read_asset(env.adapter.ref(empty))
    other_chain = AssetRef(
        chain=EvmChain(chain_id=999), locator=EvmContractLocator(address=env.usd)
    )
    with pytest.raises(InvalidInput, match="chain"):
        env.adapter.read_asset(other_chain)
    algorand = "VCMJKWOY5P5P7SKMZFFOCEROPJCZOTIJMNIYNUCKH7LRO45JMJP6UYBIJA"
    with pytest.raises(InvalidInput, match="recipient"):
        env.adapter.check_transfer(env.intent("alice", algorand, 1))
    assert probe(env.client, env.usd)
    assert not probe(env.client, empty)
    assert SPEC.standard is Standard.ERC20
    assert SPEC.factory is Erc20Adapter


def test_a_contract_that_is_not_erc20_is_the_wrong_standard(env: Env) -> None:
    from adapters.evm.contracts import load_artifact

    htlc = load_artifact("HTLC")
    deployed = env.client.deploy(env.s["issuer"], htlc.abi, htlc.bytecode)
    with pytest.raises(WrongStandard):
        env.adapter.read_asset(env.adapter.ref(str(deployed.address)))
    assert not probe(env.client, str(deployed.address))


def test_a_plain_erc20_is_read_without_controls(env: Env) -> None:
    from adapters.evm.contracts import load_artifact

    plain = load_artifact("FeeToken")  # with a zero fee it is a plain OpenZeppelin ERC-20
    token = env.client.deploy(env.s["issuer"], plain.abi, plain.bytecode, 0)
    address = str(token.address)
    minted = token.encode_abi("mint", args=[env.addr("alice"), 70])
    env.client.transact(env.s["issuer"], address, bytes.fromhex(minted[2:]))
    ref = env.adapter.ref(address)
    asset = env.adapter.read_asset(ref)
    assert (asset.symbol, asset.decimals, asset.total_supply) == ("FEE", 18, 70)
    assert asset.asset_class == "cash"
    assert (asset.terms, asset.rules, asset.controls) == (None, (), ())
    assert [h.balance for h in env.adapter.holders(ref)] == [70]
    head = env.client.head()
    with pytest.raises(UnsupportedCapability):
        env.adapter.agent_operation(
            ref, Capability.MINT, env.s["issuer"], to=env.addr("bob"), amount=1
        )
    assert env.client.head() == head
    over = TransferIntent(asset=ref, sender=env.addr("alice"), recipient=env.addr("bob"), amount=71)
    assert env.adapter.check_transfer(over).reason is ReasonCode.INSUFFICIENT_BALANCE
    ok = over.model_copy(update={"amount": 70})
    assert env.adapter.check_transfer(ok).allowed
    env.adapter.transfer(ok, env.s["alice"])
    assert env.adapter.holding(ref, env.addr("bob")).balance == 70


ACTORS = ("alice", "bob", "carol")


def sized(balance: int, size: str) -> int:
    """An amount relative to the sender's balance, so boundaries are hit often."""
    return {
        "all": balance,
        "all+1": balance + 1,
        "half": balance // 2,
        "one": 1,
        "zero": 0,
        "huge": 2**255,
    }[size]


step = st.one_of(
    st.tuples(
        st.just("transfer"),
        st.sampled_from(ACTORS),
        st.sampled_from(ACTORS),
        st.sampled_from(("all", "all+1", "half", "one", "zero", "huge")),
    ),
    st.tuples(st.just("block"), st.sampled_from(ACTORS), st.booleans()),
    st.tuples(st.just("pause"), st.booleans()),
)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=st.lists(step, min_size=1, max_size=12))
def test_prediction_equals_reality(env: Env, steps: list[tuple[Any, ...]]) -> None:
    """For any sequence of blocklist changes, pauses and transfers among three accounts, the
    dry run allows a transfer exactly when the chain accepts it, and when both refuse, the
    dry run's first canonical reason equals the reason decoded from the chain's revert."""
    usd = env.adapter.token(env.usd)
    with reset(env.client):
        for action in steps:
            if action[0] == "block":
                fn = "blockAccount" if action[2] else "unblockAccount"
                assert send_raw(env.client, env.s["issuer"], usd, fn, env.addr(action[1])) is None
            elif action[0] == "pause":
                send_raw(env.client, env.s["issuer"], usd, "pause" if action[1] else "unpause")
            else:
                _, sender, recipient, size = action
                amount = sized(env.adapter.holding(env.usd_ref, env.addr(sender)).balance, size)
                check = env.adapter.check_transfer(env.intent(sender, recipient, amount))
                revert = send_raw(
                    env.client, env.s[sender], usd, "transfer", env.addr(recipient), amount
                )
                assert check.allowed == (revert is None), (check, revert)
                if revert is not None:
                    assert check.reason is env.adapter.reason_of(revert)
                    assert check.refusals[0].raw_code == revert.error_name
