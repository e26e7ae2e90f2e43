"""RestrictedToken1404 (our ERC-1404 token) and its adapter, on py-evm and on anvil.

The token is deployed once per backend on the session chains (holder cap 3; alice, bob and
carol whitelisted; alice holds 1,000 and bob 500) and the chain is reset between tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.evm.client import EvmClient, EvmReverted
from adapters.evm.erc20 import ZERO_ADDRESS, deploy_cash_token
from adapters.evm.erc1404 import (
    RESTRICTED_TOKEN_CODES,
    RESTRICTED_TOKEN_MESSAGES,
    SPEC,
    Erc1404Adapter,
    deploy_restricted_token,
    probe,
)
from bridge.errors import InvalidInput, UnsupportedCapability
from bridge.model import (
    AllowListRule,
    Capability,
    IdentitySource,
    LockupRule,
    MaxHoldersRule,
    Standard,
    TransferIntent,
)
from bridge.reasons import ReasonCode
from tests.fixtures.evm import EvmChains
from tests.integration.evm._contracts_support import (
    TEN_DAYS,
    TokenEnv,
    contracts_cache,
    deployed_once,
    funded_signers,
    reset,
    send_raw,
)

__all__ = ["contracts_cache"]  # the session fixture, imported so pytest finds it

NAMES = ("issuer", "alice", "bob", "carol", "mallory")


class Env(TokenEnv):
    """The token, its adapter and five funded accounts on one backend."""

    def __init__(self, client: EvmClient) -> None:
        self.client = client
        self.s = funded_signers(client, "erc1404", *NAMES)
        self.adapter = Erc1404Adapter(client)
        self.token = deploy_restricted_token(
            client, self.s["issuer"], name="Acme Shares", symbol="ACME", max_holders=3
        )
        self.ref = self.adapter.ref(self.token)
        self.contract = self.adapter.token(self.token)
        for who in ("alice", "bob", "carol"):
            self.op(Capability.WHITELIST, account=self.addr(who), whitelisted=True)
        self.op(Capability.MINT, to=self.addr("alice"), amount=1_000)
        self.op(Capability.MINT, to=self.addr("bob"), amount=500)

    def intent(self, sender: str, recipient: str, amount: int) -> TransferIntent:
        return TransferIntent(
            asset=self.ref, sender=self.addr(sender), recipient=self.addr(recipient), amount=amount
        )


@pytest.fixture
def env(
    evm_backend: str, evm_chains: EvmChains, contracts_cache: dict[tuple[str, str], Any]
) -> Iterator[Env]:
    yield from deployed_once(evm_chains, evm_backend, contracts_cache, "erc1404", Env)


def test_reads_the_restrictions_as_rules(env: Env) -> None:
    until = env.chain_time() + TEN_DAYS
    env.op(Capability.LOCKS, account=env.addr("bob"), until=until)
    env.op(Capability.LOCKS, account=env.addr("carol"), until=1)  # already over
    asset = env.adapter.read_asset(env.ref)
    assert asset.standard is Standard.ERC1404
    assert (asset.name, asset.symbol, asset.decimals, asset.total_supply) == (
        "Acme Shares",
        "ACME",
        0,
        1_500,
    )
    whitelist = tuple(sorted(env.addr(n) for n in ("alice", "bob", "carol")))
    assert AllowListRule(addresses=whitelist, source=f"{env.token}#whitelist") in asset.rules
    assert (
        MaxHoldersRule(limit=3, replacement="always", source=f"{env.token}#maxHolders")
        in asset.rules
    )
    lockups = [r for r in asset.rules if isinstance(r, LockupRule)]
    assert lockups == [
        LockupRule(
            until=datetime.fromtimestamp(until, tz=UTC),
            holder=env.addr("bob"),
            source=f"{env.token}#lockupUntil",
        )
    ]
    assert set(asset.controls) == set(env.adapter.capabilities)


def test_whitelist_removal_shows_in_rules_eligibility_and_holding(env: Env) -> None:
    env.op(Capability.WHITELIST, account=env.addr("bob"), whitelisted=False)
    asset = env.adapter.read_asset(env.ref)
    allow = next(r for r in asset.rules if isinstance(r, AllowListRule))
    assert env.addr("bob") not in allow.addresses
    elig = env.adapter.eligibility(env.ref, env.addr("bob"))
    assert not elig.eligible
    assert elig.missing == ("whitelist",)
    ok = env.adapter.eligibility(env.ref, env.addr("alice"))
    assert ok.eligible
    assert ok.investor is not None
    assert ok.investor.identity_source is IdentitySource.CONTRACT_WHITELIST
    holding = env.adapter.holding(env.ref, env.addr("bob"))
    assert (holding.balance, holding.free, holding.frozen) == (500, 0, 500)


@pytest.mark.parametrize(
    ("setup", "sender", "recipient", "amount", "code"),
    [
        ("", "alice", "carol", 10, 0),
        ("pause", "alice", "carol", 10, 1),
        ("", "mallory", "carol", 0, 2),
        ("", "alice", ZERO_ADDRESS, 10, 3),
        ("", "alice", "mallory", 10, 4),
        ("lock_alice", "alice", "carol", 10, 5),
        ("", "alice", "carol", 1_001, 6),
        ("cap_2", "alice", "carol", 10, 7),
        ("cap_2", "alice", "carol", 1_000, 0),
        ("pause+lock_alice", "alice", "mallory", 10, 1),
        ("lock_alice", "alice", "mallory", 10_000, 4),
    ],
)
def test_dry_run_keeps_the_native_code_and_matches_the_chain(
    env: Env, setup: str, sender: str, recipient: str, amount: int, code: int
) -> None:
    for part in filter(None, setup.split("+")):
        if part == "pause":
            env.op(Capability.PAUSE, paused=True)
        elif part == "lock_alice":
            env.op(Capability.LOCKS, account=env.addr("alice"), until=env.chain_time() + TEN_DAYS)
        elif part == "cap_2":
            env.adapter.set_max_holders(env.ref, 2, env.s["issuer"])
    check = env.adapter.check_transfer(env.intent(sender, recipient, amount))
    assert check.reason is RESTRICTED_TOKEN_CODES[code]
    if code:
        assert check.refusals[0].raw_code == str(code)
        assert check.refusals[0].raw_message
        assert check.refusals[0].source_standard is Standard.ERC1404
    if sender not in env.s:
        return
    revert = send_raw(
        env.client, env.s[sender], env.contract, "transfer", env.addr(recipient), amount
    )
    if code == 0:
        assert revert is None
    else:
        assert revert is not None
        assert revert.error_name == "TransferRestricted"
        assert revert.error_args == (code,)
        assert env.adapter.reason_of(revert) is check.reason


def test_messages_are_the_conventional_texts(env: Env) -> None:
    read = env.adapter.read
    messages = {
        code: read(env.contract.functions.messageForTransferRestriction(code)) for code in range(9)
    }
    assert messages[0] == "SUCCESS"
    assert messages[4] == "ILLEGAL_TRANSFER_RECEIVING_ACCOUNT_NOT_WHITELISTED"
    assert messages[7] == "ILLEGAL_TRANSFER_MAXIMUM_NUMBER_OF_SHAREHOLDERS_REACHED"
    assert messages[8] == "UNKNOWN_RESTRICTION"
    assert len(set(messages.values())) == 9
    assert {c: m for c, m in messages.items() if c < 8} == dict(RESTRICTED_TOKEN_MESSAGES)


def test_lockup_ends_with_chain_time(env: Env) -> None:
    env.op(Capability.LOCKS, account=env.addr("alice"), until=env.chain_time() + 3600)
    assert env.adapter.check_transfer(env.intent("alice", "bob", 1)).reason is R_LOCKED
    with pytest.raises(EvmReverted) as info:
        env.adapter.transfer(env.intent("alice", "bob", 1), env.s["alice"])
    assert info.value.reason is R_LOCKED
    env.client.increase_time(7200)
    assert env.adapter.check_transfer(env.intent("alice", "bob", 1)).allowed
    env.adapter.transfer(env.intent("alice", "bob", 1), env.s["alice"])
    assert env.adapter.holding(env.ref, env.addr("bob")).balance == 501
    assert not [r for r in env.adapter.read_asset(env.ref).rules if isinstance(r, LockupRule)]


R_LOCKED = ReasonCode.FUNDS_LOCKED


def test_mint_respects_whitelist_and_cap_burn_redeems(env: Env) -> None:
    with pytest.raises(EvmReverted) as info:
        env.op(Capability.MINT, to=env.addr("mallory"), amount=1)
    assert info.value.reason is ReasonCode.RECIPIENT_NOT_ELIGIBLE
    env.adapter.set_max_holders(env.ref, 2, env.s["issuer"])
    with pytest.raises(EvmReverted) as info:
        env.op(Capability.MINT, to=env.addr("carol"), amount=1)
    assert info.value.reason is ReasonCode.MAX_HOLDERS_REACHED
    env.op(Capability.BURN, account=env.addr("bob"), amount=500)
    env.op(Capability.MINT, to=env.addr("carol"), amount=7)
    held = {h.holder: h.balance for h in env.adapter.holders(env.ref)}
    assert held == {env.addr("alice"): 1_000, env.addr("carol"): 7}
    assert env.adapter.read(env.contract.functions.holderCount()) == 2


def test_operations_refuse_bad_input_and_missing_roles(env: Env) -> None:
    head = env.client.head()
    with pytest.raises(UnsupportedCapability):
        env.op(Capability.FORCED_TRANSFER)
    with pytest.raises(InvalidInput, match="until"):
        env.op(Capability.LOCKS, account=env.addr("alice"), until=datetime(2030, 1, 1))
    with pytest.raises(InvalidInput, match="whitelisted"):
        env.op(Capability.WHITELIST, account=env.addr("alice"), whitelisted="yes")
    with pytest.raises(InvalidInput, match="partition"):
        env.adapter.check_transfer(
            env.intent("alice", "bob", 1).model_copy(update={"partition": "0x" + "00" * 32})
        )
    assert env.client.head() == head
    with pytest.raises(EvmReverted) as info:
        env.op(
            Capability.WHITELIST, signer="mallory", account=env.addr("mallory"), whitelisted=True
        )
    assert info.value.reason is ReasonCode.OPERATOR_NOT_AUTHORIZED
    assert not env.adapter.eligibility(env.ref, env.addr("mallory")).eligible


def test_datetime_lockups_and_probe(env: Env) -> None:
    until = datetime.now(tz=UTC) + timedelta(days=400)
    env.op(Capability.LOCKS, account=env.addr("bob"), until=until)
    assert env.adapter.read(env.contract.functions.lockupUntil(env.addr("bob"))) == int(
        until.timestamp()
    )
    env.op(Capability.LOCKS, account=env.addr("bob"), until=None)
    assert env.adapter.read(env.contract.functions.lockupUntil(env.addr("bob"))) == 0
    assert probe(env.client, env.token)
    cash = deploy_cash_token(
        env.client, env.s["issuer"], name="C", symbol="C", decimals=2, currency="EUR"
    )
    assert not probe(env.client, cash)
    assert SPEC.standard is Standard.ERC1404


ACTORS = ("alice", "bob", "carol", "mallory")
SIZES = ("all", "all+1", "half", "one", "zero")
step = st.one_of(
    st.tuples(
        st.just("transfer"),
        st.sampled_from(ACTORS),
        st.sampled_from(ACTORS),
        st.sampled_from(SIZES),
    ),
    st.tuples(st.just("whitelist"), st.sampled_from(ACTORS), st.booleans()),
    st.tuples(st.just("lock"), st.sampled_from(ACTORS), st.booleans()),
    st.tuples(st.just("pause"), st.booleans()),
    st.tuples(st.just("cap"), st.integers(min_value=0, max_value=4)),
)


def _amount(balance: int, size: str) -> int:
    return {"all": balance, "all+1": balance + 1, "half": balance // 2, "one": 1, "zero": 0}[size]


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=st.lists(step, min_size=1, max_size=12))
def test_prediction_equals_reality(env: Env, steps: list[tuple[Any, ...]]) -> None:
    """For any sequence of whitelist, lock-up, pause and holder-cap changes and transfers among
    four accounts, the dry run allows a transfer exactly when the chain accepts it, a refusal's
    native code equals the code in the chain's ``TransferRestricted`` revert, and the token's
    holder count always equals the number of accounts with a non-zero balance."""
    issuer = env.s["issuer"]
    with reset(env.client):
        for action in steps:
            kind = action[0]
            if kind == "whitelist":
                send_raw(
                    env.client,
                    issuer,
                    env.contract,
                    "setWhitelisted",
                    env.addr(action[1]),
                    action[2],
                )
            elif kind == "lock":
                until = env.chain_time() + TEN_DAYS if action[2] else 0
                send_raw(env.client, issuer, env.contract, "setLockup", env.addr(action[1]), until)
            elif kind == "pause":
                send_raw(env.client, issuer, env.contract, "pause" if action[1] else "unpause")
            elif kind == "cap":
                send_raw(env.client, issuer, env.contract, "setMaxHolders", action[1])
            else:
                _, sender, recipient, size = action
                balance = env.adapter.holding(env.ref, env.addr(sender)).balance
                amount = _amount(balance, size)
                check = env.adapter.check_transfer(env.intent(sender, recipient, amount))
                revert = send_raw(
                    env.client, env.s[sender], env.contract, "transfer", env.addr(recipient), amount
                )
                assert check.allowed == (revert is None), (check, revert)
                if revert is not None:
                    assert revert.error_args == (int(str(check.refusals[0].raw_code)),)
                    assert env.adapter.reason_of(revert) is check.reason
            nonzero = [a for a in ACTORS if env.adapter.holding(env.ref, env.addr(a)).balance]
            assert env.adapter.read(env.contract.functions.holderCount()) == len(nonzero)
