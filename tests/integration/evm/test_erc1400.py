"""SecurityToken1400 (our ERC-1400 token) and its adapter, on py-evm and on anvil.

Deployed once per backend on the session chains: default partition ``unrestricted``, a
second partition ``reg-s``; alice holds 1,000 unrestricted + 300 reg-s, bob 500
unrestricted; alice, bob and carol are whitelisted; the issuer owns the token and is its
controller; a prospectus is attached. The chain is reset between tests.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.evm.client import EvmClient, EvmReverted
from adapters.evm.erc20 import ZERO_ADDRESS
from adapters.evm.erc1400 import (
    SPEC,
    Erc1400Adapter,
    deploy_security_token,
    partition_id,
    probe,
)
from bridge.errors import InvalidInput, UnsupportedCapability
from bridge.model import (
    AllowListRule,
    Capability,
    Document,
    RoleAssignment,
    Standard,
    TransferIntent,
)
from bridge.reasons import ReasonCode
from bridge.registry import Registry
from tests.fixtures.evm import EvmChains
from tests.integration.evm._contracts_support import (
    RAW_GAS,
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
UNRESTRICTED = partition_id("unrestricted")
REG_S = partition_id("reg-s")
BOGUS = partition_id("bogus")
PROSPECTUS = b"Tokyo Tower REIT prospectus v1"


class Env(TokenEnv):
    """The token, its adapter and five funded accounts on one backend."""

    def __init__(self, client: EvmClient) -> None:
        self.client = client
        self.s = funded_signers(client, "erc1400", *NAMES)
        self.adapter = Erc1400Adapter(client)
        self.token = deploy_security_token(
            client, self.s["issuer"], name="Tokyo Tower REIT", symbol="TTR"
        )
        self.ref = self.adapter.ref(self.token)
        self.contract = self.adapter.token(self.token)
        for who in ("alice", "bob", "carol"):
            self.op(Capability.WHITELIST, account=self.addr(who), whitelisted=True)
        self.op(Capability.MINT, to=self.addr("alice"), amount=1_000)
        self.op(Capability.MINT, to=self.addr("alice"), amount=300, partition=REG_S)
        self.op(Capability.MINT, to=self.addr("bob"), amount=500)
        self.prospectus_hash = "0x" + hashlib.sha256(PROSPECTUS).hexdigest()
        self.op(
            Capability.DOCUMENTS,
            name="prospectus",
            uri="https://example.org/ttr/prospectus.pdf",
            hash=self.prospectus_hash,
        )

    def intent(
        self,
        sender: str,
        recipient: str,
        amount: int,
        partition: str | None = None,
        operator: str | None = None,
    ) -> TransferIntent:
        return TransferIntent(
            asset=self.ref,
            sender=self.addr(sender),
            recipient=self.addr(recipient),
            amount=amount,
            partition=partition,
            operator=self.addr(operator) if operator else None,
        )


@pytest.fixture
def env(
    evm_backend: str, evm_chains: EvmChains, contracts_cache: dict[tuple[str, str], Any]
) -> Iterator[Env]:
    yield from deployed_once(evm_chains, evm_backend, contracts_cache, "erc1400", Env)


def test_reads_rules_documents_roles_and_controls(env: Env) -> None:
    asset = env.adapter.read_asset(env.ref)
    assert asset.standard is Standard.ERC1400
    assert (asset.symbol, asset.decimals, asset.total_supply) == ("TTR", 0, 1_800)
    whitelist = tuple(sorted(env.addr(n) for n in ("alice", "bob", "carol")))
    assert asset.rules == (AllowListRule(addresses=whitelist, source=f"{env.token}#whitelist"),)
    (doc,) = asset.documents
    assert doc.name == "prospectus"
    assert doc.uri == "https://example.org/ttr/prospectus.pdf"
    assert doc.hash == env.prospectus_hash[2:]
    assert doc.hash_alg == "sha256"
    assert doc.last_modified is not None
    assert RoleAssignment(role="owner", holder=env.addr("issuer")) in asset.roles
    assert RoleAssignment(role="controller", holder=env.addr("issuer")) in asset.roles
    assert set(asset.controls) == set(env.adapter.capabilities)
    assert Document.model_validate_json(doc.model_dump_json()) == doc


def test_holdings_split_by_partition(env: Env) -> None:
    alice = env.adapter.holding(env.ref, env.addr("alice"))
    assert alice.balance == 1_300
    assert alice.by_partition == {UNRESTRICTED: 1_000, REG_S: 300}
    held = {h.holder: h.by_partition for h in env.adapter.holders(env.ref)}
    assert held == {
        env.addr("alice"): {UNRESTRICTED: 1_000, REG_S: 300},
        env.addr("bob"): {UNRESTRICTED: 500},
    }
    supply_reg_s = env.adapter.read(env.contract.functions.totalSupplyByPartition(REG_S))
    assert supply_reg_s == 300


CASES = [
    # (setup, sender, recipient, amount, partition, operator, status, canonical)
    ("", "alice", "carol", 10, None, None, 0x51, ReasonCode.OK),
    ("", "alice", "carol", 300, REG_S, None, 0x51, ReasonCode.OK),
    ("", "bob", "carol", 1, REG_S, None, 0x52, ReasonCode.PARTITION_ERROR),
    ("", "alice", "carol", 301, REG_S, None, 0x52, ReasonCode.INSUFFICIENT_BALANCE),
    ("", "carol", "alice", 1, None, None, 0x52, ReasonCode.INSUFFICIENT_BALANCE),
    ("pause", "alice", "carol", 1, None, None, 0x54, ReasonCode.TOKEN_PAUSED),
    ("", "alice", "mallory", 1, None, None, 0x57, ReasonCode.RECIPIENT_NOT_ELIGIBLE),
    ("", "alice", ZERO_ADDRESS, 1, None, None, 0x57, ReasonCode.INVALID_RECEIVER),
    ("unlist_alice", "alice", "bob", 1, None, None, 0x56, ReasonCode.SENDER_NOT_ELIGIBLE),
    ("lock_alice", "alice", "bob", 1, REG_S, None, 0x55, ReasonCode.FUNDS_LOCKED),
    ("", "alice", "bob", 1, REG_S, "carol", 0x58, ReasonCode.OPERATOR_NOT_AUTHORIZED),
    ("operator_reg_s", "alice", "bob", 5, REG_S, "carol", 0x51, ReasonCode.OK),
    (
        "operator_reg_s",
        "alice",
        "bob",
        5,
        UNRESTRICTED,
        "carol",
        0x58,
        ReasonCode.OPERATOR_NOT_AUTHORIZED,
    ),
    ("", "alice", "bob", 5, None, "carol", 0x53, ReasonCode.INSUFFICIENT_ALLOWANCE),
    ("approve_carol", "alice", "bob", 5, None, "carol", 0x51, ReasonCode.OK),
    ("", "alice", "bob", 5, REG_S, "issuer", 0x51, ReasonCode.OK),
    ("pause+unlist_alice", "alice", "mallory", 5, None, None, 0x54, ReasonCode.TOKEN_PAUSED),
]


def _setup(env: Env, setup: str) -> None:
    for part in filter(None, setup.split("+")):
        if part == "pause":
            env.op(Capability.PAUSE, paused=True)
        elif part == "unlist_alice":
            env.op(Capability.WHITELIST, account=env.addr("alice"), whitelisted=False)
        elif part == "lock_alice":
            env.op(Capability.LOCKS, account=env.addr("alice"), until=env.chain_time() + TEN_DAYS)
        elif part == "operator_reg_s":
            fn = "authorizeOperatorByPartition"
            assert (
                send_raw(env.client, env.s["alice"], env.contract, fn, REG_S, env.addr("carol"))
                is None
            )
        elif part == "approve_carol":
            assert (
                send_raw(env.client, env.s["alice"], env.contract, "approve", env.addr("carol"), 5)
                is None
            )


def _send_for_real(env: Env, intent: TransferIntent, signer: str) -> Any:
    """The chain's answer to the intent, sent with fixed gas (status 0 on refusal)."""
    c = env.contract
    part = None if intent.partition is None else bytes.fromhex(intent.partition[2:])
    operator = intent.operator or intent.sender
    if part is None and operator == intent.sender:
        return send_raw(env.client, env.s[signer], c, "transfer", intent.recipient, intent.amount)
    if part is None:
        return send_raw(
            env.client,
            env.s[signer],
            c,
            "transferFrom",
            intent.sender,
            intent.recipient,
            intent.amount,
        )
    if operator == intent.sender:
        return send_raw(
            env.client,
            env.s[signer],
            c,
            "transferByPartition",
            part,
            intent.recipient,
            intent.amount,
            b"",
        )
    return send_raw(
        env.client,
        env.s[signer],
        c,
        "operatorTransferByPartition",
        part,
        intent.sender,
        intent.recipient,
        intent.amount,
        b"",
        b"",
    )


@pytest.mark.parametrize(
    ("setup", "sender", "recipient", "amount", "partition", "operator", "status", "expected"), CASES
)
def test_dry_run_status_and_reason_match_the_chain(
    env: Env,
    setup: str,
    sender: str,
    recipient: str,
    amount: int,
    partition: str | None,
    operator: str | None,
    status: int,
    expected: ReasonCode,
) -> None:
    _setup(env, setup)
    intent = env.intent(sender, recipient, amount, partition, operator)
    check = env.adapter.check_transfer(intent)
    assert check.reason is expected
    if status != 0x51:
        assert check.refusals[0].raw_code == f"0x{status:02x}"
        assert check.refusals[0].raw_message
    revert = _send_for_real(env, intent, operator or sender)
    assert (revert is None) == check.allowed
    if revert is not None:
        assert revert.error_name == "TransferRefused"
        assert revert.error_args[0] == bytes([status])
        assert env.adapter.reason_of(revert) is expected


def test_adapter_transfer_by_partition_and_refusal(env: Env) -> None:
    env.adapter.transfer(env.intent("alice", "carol", 100, REG_S), env.s["alice"])
    assert env.adapter.holding(env.ref, env.addr("carol")).by_partition == {REG_S: 100}
    head = env.client.head()
    with pytest.raises(EvmReverted) as info:
        env.adapter.transfer(env.intent("bob", "carol", 1, REG_S), env.s["bob"])
    assert info.value.reason is ReasonCode.PARTITION_ERROR
    assert env.client.head() == head
    with pytest.raises(InvalidInput, match="operator"):
        env.adapter.transfer(env.intent("alice", "bob", 1, REG_S, "carol"), env.s["alice"])


def test_canTransfer_uses_the_interface_shape(env: Env) -> None:
    fn = env.contract.functions.canTransfer(env.addr("mallory"), 1, b"")
    ok, status, reason = fn.call({"from": env.addr("alice")})
    assert (ok, status) == (False, b"\x57")
    assert reason.rstrip(b"\0") == b"RECEIVER_NOT_WHITELISTED"
    fn = env.contract.functions.canTransfer(env.addr("bob"), 1, b"")
    assert tuple(fn.call({"from": env.addr("alice")})[:2]) == (True, b"\x51")


def test_controller_transfer_and_redeem_bypass_the_validator(env: Env) -> None:
    env.op(Capability.WHITELIST, account=env.addr("alice"), whitelisted=False)
    env.op(Capability.PAUSE, paused=True)
    env.op(
        Capability.FORCED_TRANSFER,
        sender=env.addr("alice"),
        recipient=env.addr("carol"),
        amount=1_200,
    )
    assert env.adapter.holding(env.ref, env.addr("alice")).by_partition == {REG_S: 100}
    assert env.adapter.holding(env.ref, env.addr("carol")).by_partition == {
        UNRESTRICTED: 1_000,
        REG_S: 200,
    }
    env.op(Capability.BURN, account=env.addr("carol"), amount=1_100)
    assert env.adapter.holding(env.ref, env.addr("carol")).by_partition == {REG_S: 100}
    assert env.adapter.read_asset(env.ref).total_supply == 700
    with pytest.raises(EvmReverted) as info:
        env.op(Capability.BURN, account=env.addr("carol"), amount=101)
    assert info.value.reason is ReasonCode.INSUFFICIENT_BALANCE


def test_controller_transfer_is_logged_for_a_forced_move_only(env: Env) -> None:
    """A controller moving a holder's units with ``operatorTransferByPartition`` logs
    ``ControllerTransfer`` when the holder did not authorise it (a forced transfer), and not
    once the holder authorised it as its operator for that partition (the holder's own
    decision; the token then checks that operator with one storage read)."""
    topic = bytes(
        env.client.w3.keccak(text="ControllerTransfer(address,address,address,uint256,bytes,bytes)")
    )

    def move_by_issuer() -> list[Any]:
        data = env.contract.encode_abi(
            "operatorTransferByPartition",
            args=[REG_S, env.addr("alice"), env.addr("carol"), 10, b"", b""],
        )
        sent = env.client.transact(
            env.s["issuer"], str(env.contract.address), bytes.fromhex(data[2:]), gas=RAW_GAS
        )
        logs = env.client.receipt(sent.tx_id)["logs"]
        return [x for x in logs if bytes(x["topics"][0]) == topic]

    forced = move_by_issuer()
    assert len(forced) == 1
    assert send_raw(
        env.client, env.s["alice"], env.contract, "authorizeOperatorByPartition",
        REG_S, env.addr("issuer"),
    ) is None  # fmt: skip
    assert move_by_issuer() == []  # authorised by the holder: not a forced transfer
    assert env.adapter.holding(env.ref, env.addr("carol")).by_partition == {REG_S: 20}


def test_renounced_control_drops_controller_powers(env: Env) -> None:
    assert send_raw(env.client, env.s["issuer"], env.contract, "renounceControl") is None
    asset = env.adapter.read_asset(env.ref)
    assert Capability.FORCED_TRANSFER not in asset.controls
    assert not [r for r in asset.roles if r.role == "controller"]
    with pytest.raises(EvmReverted) as info:
        env.op(
            Capability.FORCED_TRANSFER,
            sender=env.addr("alice"),
            recipient=env.addr("bob"),
            amount=1,
        )
    assert info.value.reason is ReasonCode.OPERATOR_NOT_AUTHORIZED


def test_documents_update_and_remove(env: Env) -> None:
    env.op(Capability.DOCUMENTS, name="terms", uri="ipfs://terms", hash=None)
    env.op(Capability.DOCUMENTS, name="prospectus", uri="https://example.org/v2", hash=None)
    docs = {d.name: d for d in env.adapter.read_asset(env.ref).documents}
    assert docs["prospectus"].uri == "https://example.org/v2"
    assert docs["prospectus"].hash is None
    assert docs["terms"].uri == "ipfs://terms"
    env.adapter.remove_document(env.ref, "prospectus", env.s["issuer"])
    assert [d.name for d in env.adapter.read_asset(env.ref).documents] == ["terms"]
    with pytest.raises(EvmReverted):
        env.adapter.remove_document(env.ref, "prospectus", env.s["issuer"])
    with pytest.raises(EvmReverted) as info:
        env.op(Capability.DOCUMENTS, signer="mallory", name="x", uri="y", hash=None)
    assert info.value.reason is ReasonCode.OPERATOR_NOT_AUTHORIZED


def test_bad_input_is_refused_before_sending(env: Env) -> None:
    head = env.client.head()
    with pytest.raises(InvalidInput, match="partition"):
        env.adapter.check_transfer(env.intent("alice", "bob", 1, "reg-s"))
    with pytest.raises(InvalidInput, match="partition"):
        env.op(Capability.MINT, to=env.addr("bob"), amount=1, partition="0x12")
    with pytest.raises(InvalidInput, match="partition"):
        partition_id("x" * 33)
    with pytest.raises(InvalidInput, match="hash"):
        env.op(Capability.DOCUMENTS, name="a", uri="b", hash="abc")
    with pytest.raises(UnsupportedCapability):
        env.op(Capability.ADDRESS_FREEZE)
    assert env.client.head() == head
    assert probe(env.client, env.token)
    assert SPEC.standard is Standard.ERC1400


def test_probes_tell_our_three_standards_apart(env: Env) -> None:
    """Auto-detection order (most specific first) picks the right adapter for each token."""
    from adapters.evm import erc20, erc1404

    issuer = env.s["issuer"]
    cash = erc20.deploy_cash_token(
        env.client, issuer, name="USD Coin", symbol="USDX", decimals=6, currency="USD"
    )
    restricted = erc1404.deploy_restricted_token(env.client, issuer, name="R", symbol="R")
    registry = Registry([erc20.SPEC, erc1404.SPEC, SPEC])
    specs = registry.for_family("evm")
    assert [s.standard for s in specs] == [Standard.ERC1400, Standard.ERC1404, Standard.ERC20]

    def detected(address: str) -> Standard:
        return next(
            s.standard for s in specs if s.probe is not None and s.probe(env.client, address)
        )

    assert detected(env.token) is Standard.ERC1400
    assert detected(restricted) is Standard.ERC1404
    assert detected(cash) is Standard.ERC20
    assert not erc1404.probe(env.client, env.token)
    assert not probe(env.client, restricted)


ACTORS = ("alice", "bob", "carol", "mallory")
PARTS = (None, UNRESTRICTED, REG_S, BOGUS)
SIZES = ("all", "all+1", "half", "one", "zero")
step = st.one_of(
    st.tuples(
        st.just("transfer"),
        st.sampled_from(ACTORS),
        st.sampled_from(ACTORS),
        st.sampled_from(PARTS),
        st.sampled_from(SIZES),
        st.sampled_from((None, "carol", "issuer")),
    ),
    st.tuples(st.just("whitelist"), st.sampled_from(ACTORS), st.booleans()),
    st.tuples(st.just("lock"), st.sampled_from(ACTORS), st.booleans()),
    st.tuples(st.just("pause"), st.booleans()),
    st.tuples(
        st.just("force"), st.sampled_from(ACTORS), st.sampled_from(ACTORS), st.sampled_from(SIZES)
    ),
    st.tuples(st.just("operator"), st.sampled_from(ACTORS), st.sampled_from(PARTS[1:])),
    st.tuples(st.just("approve"), st.sampled_from(ACTORS), st.sampled_from((0, 1, 10**6))),
)


def _assert_partitions_add_up(env: Env, who: str) -> None:
    """balanceOf(who) == sum of balanceOfByPartition over partitionsOf(who), read directly."""
    c, account = env.contract, env.addr(who)
    parts = env.adapter.read(c.functions.partitionsOf(account))
    by_part = [int(env.adapter.read(c.functions.balanceOfByPartition(p, account))) for p in parts]
    assert all(by_part), "a listed partition must hold units"
    assert sum(by_part) == env.adapter.read(c.functions.balanceOf(account))


def _amount(balance: int, size: str) -> int:
    return {"all": balance, "all+1": balance + 1, "half": balance // 2, "one": 1, "zero": 0}[size]


def _partition_balance(env: Env, who: str, partition: str | None) -> int:
    part = UNRESTRICTED if partition is None else partition
    return int(env.adapter.read(env.contract.functions.balanceOfByPartition(part, env.addr(who))))


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=st.lists(step, min_size=1, max_size=10))
def test_prediction_equals_reality_and_partitions_add_up(
    env: Env, steps: list[tuple[Any, ...]]
) -> None:
    """For any sequence of whitelist, lock-up, pause, operator and controller changes and
    transfers (plain, by partition, by operator or spender, in partitions held or not), the
    dry run allows a transfer exactly when the chain accepts it with the same ERC-1400 status
    and canonical reason; and after every step each holder's partition balances add up to
    ``balanceOf`` and all balances add up to ``totalSupply``."""
    issuer, c = env.s["issuer"], env.contract
    with reset(env.client):
        for action in steps:
            kind = action[0]
            if kind == "whitelist":
                send_raw(env.client, issuer, c, "setWhitelisted", env.addr(action[1]), action[2])
            elif kind == "lock":
                until = env.chain_time() + TEN_DAYS if action[2] else 0
                send_raw(env.client, issuer, c, "setLockup", env.addr(action[1]), until)
            elif kind == "pause":
                send_raw(env.client, issuer, c, "pause" if action[1] else "unpause")
            elif kind == "force":
                _, sender, recipient, size = action
                balance = env.adapter.holding(env.ref, env.addr(sender)).balance
                send_raw(
                    env.client,
                    issuer,
                    c,
                    "controllerTransfer",
                    env.addr(sender),
                    env.addr(recipient),
                    _amount(balance, size),
                    b"",
                    b"",
                )
            elif kind == "operator":
                part = bytes.fromhex(action[2][2:])
                send_raw(
                    env.client,
                    env.s[action[1]],
                    c,
                    "authorizeOperatorByPartition",
                    part,
                    env.addr("carol"),
                )
            elif kind == "transfer":
                _, sender, recipient, partition, size, operator = action
                amount = _amount(_partition_balance(env, sender, partition), size)
                intent = env.intent(sender, recipient, amount, partition, operator)
                check = env.adapter.check_transfer(intent)
                revert = _send_for_real(env, intent, operator or sender)
                assert check.allowed == (revert is None), (check, revert)
                if revert is not None:
                    assert revert.error_args[0] == bytes.fromhex(
                        str(check.refusals[0].raw_code)[2:]
                    )
                    assert env.adapter.reason_of(revert) is check.reason
            elif kind == "approve":
                send_raw(env.client, env.s[action[1]], c, "approve", env.addr("carol"), action[2])
            for who in ACTORS:
                _assert_partitions_add_up(env, who)
        total = 0
        for who in ACTORS:
            holding = env.adapter.holding(env.ref, env.addr(who))
            assert sum(holding.by_partition.values()) == holding.balance
            total += holding.balance
        assert env.adapter.read(c.functions.totalSupply()) == total
