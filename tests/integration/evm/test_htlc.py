"""HTLC.sol and EvmHtlc on real chains (py-evm and anvil): lock, claim, refund and every refusal.

Each refusal is shown twice where it matters: through the adapter (which refuses before
sending) and by sending the raw call with fixed gas, so the contract itself is seen to
enforce the rule (a buggy adapter cannot hide a permissive contract).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import pytest
from web3.contract import Contract
from web3.types import RPCEndpoint

from adapters.evm.abi import load_abi
from adapters.evm.client import EvmClient, EvmReverted, RevertInfo
from adapters.evm.contracts import artifact_for_chain, load_artifact
from adapters.evm.htlc import (
    NATIVE,
    EvmHtlc,
    LockParams,
    add_escrow_claim,
    create_escrow_identity,
    register_escrow_identity,
)
from adapters.evm.signer import EvmSigner
from bridge.errors import (
    ConfigError,
    InvalidInput,
    SettlementError,
    TransactionReverted,
    TransferRefused,
)
from bridge.htlc import Secret
from bridge.model import AssetRef, EvmContractLocator
from bridge.ports import HtlcPort
from bridge.reasons import ReasonCode
from tests.fixtures.evm import (
    EvmTestChain,
    across_forks,
    across_forks_thorough,
    start_anvil,
    stop_process,
)

ONE_ETH = 10**18
HOUR = 3600
RAW_GAS = 300_000
MAX_LOCK_SECONDS = 366 * 24 * 3600


@dataclass
class Env:
    """One chain with a fresh HTLC, three funded parties and a seeded secret source."""

    chain: EvmTestChain
    htlc: EvmHtlc
    alice: EvmSigner
    bob: EvmSigner
    carol: EvmSigner
    counter: list[int]

    @property
    def client(self) -> EvmClient:
        return self.chain.client

    def secret(self) -> Secret:
        self.counter[0] += 1
        return Secret.generate(lambda n: hashlib.sha256(b"seed%d" % self.counter[0]).digest()[:n])

    def now(self) -> int:
        return int(self.client.now().timestamp())

    def asset(self, token: str) -> AssetRef:
        return AssetRef(chain=self.client.chain, locator=EvmContractLocator(address=token))

    @property
    def transient(self) -> bool:
        """Whether the chain has transient storage (the HTLC's per-token marks); before
        Cancun its build uses the storage guard instead."""
        return self.client.evm_version in ("cancun", "prague")

    def deploy(self, name: str, *args: Any) -> Contract:
        artifact = artifact_for_chain(name, self.client)
        return self.client.deploy(self.alice, artifact.abi, artifact.bytecode, *args)

    def send(self, signer: EvmSigner, fn_call: Any) -> None:
        data = bytes.fromhex(str(fn_call._encode_transaction_data())[2:])
        self.client.transact(signer, str(fn_call.address), data)

    def raw(self, signer: EvmSigner, data: bytes, *, value: int = 0) -> RevertInfo | None:
        """Send raw calldata to the HTLC with fixed gas; the revert, or None on success."""
        try:
            self.client.transact(signer, self.htlc.address, data, value=value, gas=RAW_GAS)
        except EvmReverted as exc:
            return exc.revert
        return None

    def calldata(self, fn: str, *args: Any) -> bytes:
        return bytes.fromhex(self.htlc.contract.encode_abi(fn, args=list(args))[2:])


@pytest.fixture
def env(evm_chain: EvmTestChain) -> Env:
    alice = evm_chain.funded_signer("htlc-alice")
    bob = evm_chain.funded_signer("htlc-bob")
    carol = evm_chain.funded_signer("htlc-carol")
    htlc = EvmHtlc.deploy(evm_chain.client, alice)
    return Env(evm_chain, htlc, alice, bob, carol, [0])


def _native_lock(env: Env, secret: Secret, *, amount: int = ONE_ETH, ttl: int = HOUR) -> str:
    deadline = env.now() + ttl
    lock_id, _ = env.htlc.lock(
        asset=None,
        receiver=env.bob.address,
        amount=amount,
        hashlock=secret.hashlock,
        deadline=deadline,
        signer=env.alice,
    )
    return lock_id


# ---------------------------------------------------------------- native coin


@across_forks
def test_native_lock_then_claim_pays_receiver_and_reveals_secret(env: Env) -> None:
    secret = env.secret()
    start = env.client.head()
    lock_id = _native_lock(env, secret)
    assert env.client.balance(env.htlc.address) == ONE_ETH
    assert env.htlc.get(lock_id).state == "open"

    bob_before = env.client.balance(env.bob.address)
    receipt = env.htlc.claim(lock_id, secret.reveal(), env.bob)

    assert env.client.balance(env.bob.address) == bob_before + ONE_ETH - receipt.fee_paid
    assert env.client.balance(env.htlc.address) == 0
    assert env.htlc.get(lock_id).state == "claimed"
    assert env.htlc.secret_of(lock_id) == secret.reveal()
    names = [(e.name, e.args.get("lock_id")) for e in env.htlc.events(start, env.client.head())]
    assert names == [("Locked", lock_id), ("Claimed", lock_id)]
    claimed = next(e for e in env.htlc.events(start, env.client.head()) if e.name == "Claimed")
    assert hashlib.sha256(claimed.args["secret"]).digest() == secret.hashlock  # type: ignore[arg-type]


@across_forks
def test_third_party_claim_still_pays_the_fixed_receiver(env: Env) -> None:
    secret = env.secret()
    lock_id = _native_lock(env, secret)
    bob_before = env.client.balance(env.bob.address)
    carol_before = env.client.balance(env.carol.address)

    receipt = env.htlc.claim(lock_id, secret.reveal(), env.carol)

    assert env.client.balance(env.bob.address) == bob_before + ONE_ETH
    assert env.client.balance(env.carol.address) == carol_before - receipt.fee_paid
    # carol cannot name herself as receiver: the commitment does not match
    other = env.secret()
    lock2 = _native_lock(env, other)
    params = env.htlc.params(lock2)
    data = env.calldata(
        "claim", other.reveal(), params.sender, env.carol.address, params.amount, params.deadline
    )
    revert = env.raw(env.carol, data)
    assert revert is not None
    assert revert.error_name == "LockNotOpen"


@across_forks
def test_refund_only_after_deadline_then_no_claim(env: Env) -> None:
    secret = env.secret()
    lock_id = _native_lock(env, secret)
    params = env.htlc.params(lock_id)

    with pytest.raises(SettlementError, match="not reached"):
        env.htlc.refund(lock_id, env.alice)
    early = env.calldata(
        "refund", params.hashlock, params.sender, params.receiver, params.amount, params.deadline
    )
    revert = env.raw(env.carol, early)
    assert revert is not None
    assert revert.error_name == "DeadlineNotReached"

    env.client.increase_time(HOUR + 10)
    alice_before = env.client.balance(env.alice.address)
    receipt = env.htlc.refund(lock_id, env.carol)  # anyone may refund; the sender is paid
    assert env.client.balance(env.alice.address) == alice_before + ONE_ETH
    assert receipt.success
    assert env.htlc.get(lock_id).state == "refunded"

    with pytest.raises(SettlementError):
        env.htlc.claim(lock_id, secret.reveal(), env.bob)
    late_claim = env.calldata(
        "claim", secret.reveal(), params.sender, params.receiver, params.amount, params.deadline
    )
    revert = env.raw(env.bob, late_claim)
    assert revert is not None
    assert revert.error_name == "DeadlinePassed"
    with pytest.raises(SettlementError, match="not open"):
        env.htlc.refund(lock_id, env.alice)
    again = env.raw(env.alice, early)
    assert again is not None
    assert again.error_name == "LockNotOpen"


@across_forks_thorough
def test_no_refund_after_claim(env: Env) -> None:
    secret = env.secret()
    lock_id = _native_lock(env, secret)
    params = env.htlc.params(lock_id)
    env.htlc.claim(lock_id, secret.reveal(), env.bob)
    env.client.increase_time(HOUR + 10)

    with pytest.raises(SettlementError, match="claimed"):
        env.htlc.refund(lock_id, env.alice)
    data = env.calldata(
        "refund", params.hashlock, params.sender, params.receiver, params.amount, params.deadline
    )
    revert = env.raw(env.alice, data)
    assert revert is not None
    assert revert.error_name == "LockNotOpen"
    assert env.client.balance(env.htlc.address) == 0


def _not_closed(env: Env, lock_id: str, revert: RevertInfo | None, held: int) -> None:
    """The stranger's call was refused and changed nothing: the lock is open, the coin held."""
    assert revert is not None, "a stranger closed a native lock through a token function"
    assert env.htlc.is_open(lock_id)
    assert env.client.balance(env.htlc.address) == held


@across_forks
@pytest.mark.parametrize("token", ["zero", "no-code"])
def test_stranger_cannot_close_a_native_lock_through_the_token_functions(
    env: Env, token: str
) -> None:
    """Issue 13 item 2, as the third party: claimToken / refundToken naming the native lock's
    parameters with token = 0 (or any address without code) must not close it. Before the
    fix token = 0 gave the native lock's own id, the `transfer` to an address without code
    "succeeded", the lock closed and the coin stayed in the contract for ever."""
    address = NATIVE if token == "zero" else env.carol.address
    secret = env.secret()
    lock_id = _native_lock(env, secret)
    p = env.htlc.params(lock_id)
    held = env.client.balance(env.htlc.address)
    assert held == ONE_ETH

    # before the deadline, with the public secret (e.g. front-running the reveal)
    claim = env.calldata(
        "claimToken", secret.reveal(), address, p.sender, p.receiver, p.amount, p.deadline
    )
    _not_closed(env, lock_id, env.raw(env.carol, claim), held)
    bob_before = env.client.balance(env.bob.address)
    env.htlc.claim(lock_id, secret.reveal(), env.carol)  # the real claim still pays bob
    assert env.client.balance(env.bob.address) == bob_before + ONE_ETH
    assert env.client.balance(env.htlc.address) == 0

    # after the deadline, with no secret at all
    other = env.secret()
    lock2 = _native_lock(env, other)
    q = env.htlc.params(lock2)
    env.client.increase_time(HOUR + 10)
    refund = env.calldata(
        "refundToken", q.hashlock, address, q.sender, q.receiver, q.amount, q.deadline
    )
    _not_closed(env, lock2, env.raw(env.carol, refund), ONE_ETH)
    alice_before = env.client.balance(env.alice.address)
    env.htlc.refund(lock2, env.carol)  # the real refund still pays alice
    assert env.client.balance(env.alice.address) == alice_before + ONE_ETH
    assert env.client.balance(env.htlc.address) == 0


@across_forks
def test_wrong_secret_refused(env: Env) -> None:
    secret, wrong = env.secret(), env.secret()
    lock_id = _native_lock(env, secret)
    params = env.htlc.params(lock_id)
    with pytest.raises(SettlementError, match="does not open"):
        env.htlc.claim(lock_id, wrong.reveal(), env.bob)
    data = env.calldata(
        "claim", wrong.reveal(), params.sender, params.receiver, params.amount, params.deadline
    )
    revert = env.raw(env.bob, data)
    assert revert is not None
    assert revert.error_name == "LockNotOpen"
    assert env.htlc.is_open(lock_id)


@across_forks_thorough
@pytest.mark.parametrize("size", [31, 33])
def test_secret_of_other_length_refused(env: Env, size: int) -> None:
    secret = env.secret()
    lock_id = _native_lock(env, secret)
    params = env.htlc.params(lock_id)
    with pytest.raises(InvalidInput, match="exactly 32 bytes"):
        env.htlc.claim(lock_id, secret.reveal()[:size] + b"\x01" * (size - 32), env.bob)

    good = env.calldata(
        "claim", secret.reveal(), params.sender, params.receiver, params.amount, params.deadline
    )
    # the secret field shortened to 31 bytes or widened to 33, the rest unchanged
    field = good[4:36]
    odd = field[:31] if size == 31 else field + b"\x07"
    revert = env.raw(env.bob, good[:4] + odd + good[36:])
    assert revert is not None
    # shifted fields: the ABI decoder reverts before the body runs (no data)
    assert revert.data == b""
    if size == 33:
        # the 33rd byte appended after well-formed arguments: the explicit length rule
        revert = env.raw(env.bob, good + b"\x07")
        assert revert is not None
        assert revert.error_name == "BadCalldataLength"
        assert revert.error_args == (165, 164)
    env.htlc.claim(lock_id, secret.reveal(), env.bob)  # the 32-byte secret still works
    assert env.htlc.get(lock_id).state == "claimed"


@across_forks_thorough
def test_hashlock_of_short_preimage_can_never_be_claimed(env: Env) -> None:
    """A 31-byte preimage would open sha256 on a chain hashing raw input; never here."""
    short = b"\x11" * 31
    deadline = env.now() + HOUR
    lock_id, _ = env.htlc.lock(
        asset=None,
        receiver=env.bob.address,
        amount=ONE_ETH,
        hashlock=hashlib.sha256(short).digest(),
        deadline=deadline,
        signer=env.alice,
    )
    for padded in (short + b"\x00", b"\x00" + short):
        data = env.calldata("claim", padded, env.alice.address, env.bob.address, ONE_ETH, deadline)
        revert = env.raw(env.bob, data)
        assert revert is not None
        assert revert.error_name == "LockNotOpen"
    assert env.htlc.is_open(lock_id)


@across_forks
def test_duplicate_lock_refused(env: Env) -> None:
    secret = env.secret()
    deadline = env.now() + HOUR
    kwargs: dict[str, Any] = {
        "asset": None,
        "receiver": env.bob.address,
        "amount": ONE_ETH,
        "hashlock": secret.hashlock,
        "deadline": deadline,
        "signer": env.alice,
    }
    env.htlc.lock(**kwargs)
    with pytest.raises(SettlementError, match="already open"):
        env.htlc.lock(**kwargs)
    data = env.calldata("lock", secret.hashlock, env.bob.address, deadline)
    revert = env.raw(env.alice, data, value=ONE_ETH)
    assert revert is not None
    assert revert.error_name == "LockExists"
    assert env.client.balance(env.htlc.address) == ONE_ETH


@across_forks_thorough
def test_relock_of_a_revealed_hashlock_refused_by_adapter(env: Env) -> None:
    secret = env.secret()
    lock_id = _native_lock(env, secret)
    env.htlc.claim(lock_id, secret.reveal(), env.bob)
    with pytest.raises(SettlementError, match="public"):
        _native_lock(env, secret, ttl=2 * HOUR)


@across_forks_thorough
def test_bad_lock_input_refused_before_sending(env: Env) -> None:
    secret = env.secret()
    nonce = env.client.w3.eth.get_transaction_count(env.alice.address)  # type: ignore[arg-type]
    cases: list[tuple[dict[str, Any], str]] = [
        ({"amount": 0}, "amount"),
        ({"amount": 1.5}, "amount"),
        ({"deadline": env.now() - 1}, "deadline"),
        ({"deadline": (env.now() + HOUR) * 1000}, "deadline"),
        ({"hashlock": secret.hashlock[:31]}, "hashlock"),
        ({"receiver": "0x1234"}, "receiver"),
    ]
    for override, field in cases:
        kwargs: dict[str, Any] = {
            "asset": None,
            "receiver": env.bob.address,
            "amount": ONE_ETH,
            "hashlock": secret.hashlock,
            "deadline": env.now() + HOUR,
            "signer": env.alice,
            **override,
        }
        with pytest.raises(InvalidInput) as info:
            env.htlc.lock(**kwargs)
        assert info.value.field == field
    assert env.client.w3.eth.get_transaction_count(env.alice.address) == nonce  # type: ignore[arg-type]


@across_forks_thorough
def test_find_by_hashlock_lists_every_lock_with_state(env: Env) -> None:
    secret = env.secret()
    first = _native_lock(env, secret)
    second = _native_lock(env, secret, amount=2 * ONE_ETH)
    env.htlc.claim(first, secret.reveal(), env.bob)
    found = {lock.lock_id: lock for lock in env.htlc.find(secret.hashlock)}
    assert set(found) == {first, second}
    assert found[first].state == "claimed"
    assert found[second].state == "open"
    assert found[second].amount == 2 * ONE_ETH
    assert found[second].sender == env.alice.address
    assert found[second].asset is None
    assert env.htlc.find(env.secret().hashlock) == []


# ---------------------------------------------------------------- ERC-20


def _cash(env: Env, holder: EvmSigner, amount: int) -> Contract:
    token = env.deploy("CashToken", "Digital Dollar", "USDX", 6, "USD", env.alice.address)
    env.send(env.alice, token.functions.mint(holder.address, amount))
    return token


@across_forks
def test_erc20_lock_claim_and_refund(env: Env) -> None:
    token = _cash(env, env.alice, 5_000_000)
    asset = env.asset(token.address)
    env.send(env.alice, token.functions.approve(env.htlc.address, 3_000_000))

    secret = env.secret()
    ready = env.htlc.preflight(
        token=token.address, sender=env.alice.address, receiver=env.bob.address, amount=1_000_000
    )
    assert ready.ok, ready.describe()
    lock_id, _ = env.htlc.lock(
        asset=asset,
        receiver=env.bob.address,
        amount=1_000_000,
        hashlock=secret.hashlock,
        deadline=env.now() + HOUR,
        signer=env.alice,
    )
    assert env.client.read(token.functions.balanceOf(env.htlc.address)) == 1_000_000
    assert env.htlc.get(lock_id).asset == asset
    env.htlc.claim(lock_id, secret.reveal(), env.carol)
    assert env.client.read(token.functions.balanceOf(env.bob.address)) == 1_000_000
    assert env.htlc.secret_of(lock_id) == secret.reveal()

    other = env.secret()
    lock2, _ = env.htlc.lock(
        asset=asset,
        receiver=env.bob.address,
        amount=2_000_000,
        hashlock=other.hashlock,
        deadline=env.now() + HOUR,
        signer=env.alice,
    )
    with pytest.raises(SettlementError):
        env.htlc.refund(lock2, env.alice)
    env.client.increase_time(HOUR + 10)
    env.htlc.refund(lock2, env.alice)
    assert env.client.read(token.functions.balanceOf(env.alice.address)) == 4_000_000
    assert env.client.read(token.functions.balanceOf(env.htlc.address)) == 0
    with pytest.raises(SettlementError):
        env.htlc.claim(lock2, other.reveal(), env.bob)


@across_forks_thorough
def test_erc20_preflight_names_what_is_missing_and_nothing_is_sent(env: Env) -> None:
    token = _cash(env, env.alice, 500)
    report = env.htlc.preflight(
        token=token.address, sender=env.alice.address, receiver=env.bob.address, amount=1_000
    )
    codes = {r.code for r in report.missing}
    assert codes == {ReasonCode.INSUFFICIENT_BALANCE, ReasonCode.INSUFFICIENT_ALLOWANCE}
    nonce = env.client.w3.eth.get_transaction_count(env.alice.address)  # type: ignore[arg-type]
    with pytest.raises(TransferRefused) as info:
        env.htlc.lock(
            asset=env.asset(token.address),
            receiver=env.bob.address,
            amount=1_000,
            hashlock=env.secret().hashlock,
            deadline=env.now() + HOUR,
            signer=env.alice,
        )
    assert len(info.value.refusals) == 2
    assert env.client.w3.eth.get_transaction_count(env.alice.address) == nonce  # type: ignore[arg-type]


@across_forks
def test_fee_on_transfer_token_refused(env: Env) -> None:
    token = env.deploy("FeeToken", 100)  # keeps 1 % of every transfer
    env.send(env.alice, token.functions.mint(env.alice.address, 10_000))
    env.send(env.alice, token.functions.approve(env.htlc.address, 10_000))
    secret = env.secret()
    with pytest.raises(SettlementError, match="fee on transfer"):
        env.htlc.lock(
            asset=env.asset(token.address),
            receiver=env.bob.address,
            amount=10_000,
            hashlock=secret.hashlock,
            deadline=env.now() + HOUR,
            signer=env.alice,
        )
    data = env.calldata(
        "lockToken", token.address, 10_000, secret.hashlock, env.bob.address, env.now() + HOUR
    )
    revert = env.raw(env.alice, data)
    assert revert is not None
    assert revert.error_name == "AmountNotReceived"
    assert revert.error_args == (10_000, 9_900)
    assert env.client.read(token.functions.balanceOf(env.alice.address)) == 10_000
    # the same contract with no fee is accepted: the refusal is about the fee alone
    plain = env.deploy("FeeToken", 0)
    env.send(env.alice, plain.functions.mint(env.alice.address, 10_000))
    env.send(env.alice, plain.functions.approve(env.htlc.address, 10_000))
    env.htlc.lock(
        asset=env.asset(plain.address),
        receiver=env.bob.address,
        amount=10_000,
        hashlock=secret.hashlock,
        deadline=env.now() + HOUR,
        signer=env.alice,
    )


def _next_block_at(env: Env, timestamp: int) -> None:
    """Mine the next transaction in a block stamped ``timestamp``."""
    if env.client.backend == "pyevm":
        env.client.w3.provider.ethereum_tester.time_travel(timestamp)  # type: ignore[attr-defined]
    else:
        env.client.w3.provider.make_request(RPCEndpoint("evm_setNextBlockTimestamp"), [timestamp])


@across_forks
def test_a_failed_transaction_is_explained_at_its_own_block_time(env: Env) -> None:
    """A claim with a wrong secret mined exactly at the deadline fails on the deadline
    (``DeadlinePassed``); the reason is learnt by replaying the transaction, and a replay at
    the parent block's time (before the deadline) would name another rule (``LockNotOpen``).
    The replay runs with the failing block's own number and timestamp."""
    secret = env.secret()
    lock_id = _native_lock(env, secret)
    params = env.htlc.params(lock_id)
    wrong = hashlib.sha256(b"not the secret").digest()
    _next_block_at(env, params.deadline)
    data = env.calldata("claim", wrong, params.sender, params.receiver, ONE_ETH, params.deadline)
    revert = env.raw(env.carol, data)
    assert revert is not None
    assert revert.error_name == "DeadlinePassed", revert.describe()
    assert revert.error_args == (params.deadline, params.deadline)


@across_forks
@pytest.mark.parametrize("kind", ["native", "erc20"])
def test_lock_rules_are_the_contracts_own(env: Env, kind: str) -> None:
    """Every rule of lock / lockToken, sent raw: the named error, and the deadline's edges.

    Both functions test all their rules in one comparison and name the failing one only on
    refusal, so each rule and each edge (deadline = now, now + 1, now + 366 days, and one
    second more) is shown here against the block's own timestamp.
    """
    token = _cash(env, env.alice, 1_000_000)
    env.send(env.alice, token.functions.approve(env.htlc.address, 1_000_000))
    hashlock = env.secret().hashlock
    bob = env.bob.address
    clock = [env.now() + 100]

    def send(amount: int, receiver: str, deadline: int, asset: str = token.address) -> Any:
        clock[0] += 10
        _next_block_at(env, clock[0])
        if kind == "native":
            data = env.calldata("lock", hashlock, receiver, deadline)
            return env.raw(env.alice, data, value=amount)
        data = env.calldata("lockToken", asset, amount, hashlock, receiver, deadline)
        return env.raw(env.alice, data)

    def refused(revert: Any, name: str) -> None:
        assert revert is not None
        assert revert.error_name == name, revert.describe()

    refused(send(0, bob, clock[0] + HOUR), "ZeroAmount")
    refused(send(0, NATIVE, clock[0] + HOUR), "ZeroAmount")  # amount is checked first
    refused(send(10, NATIVE, clock[0] + HOUR), "ZeroReceiver")
    refused(send(10, bob, clock[0] - HOUR), "BadDeadline")
    refused(send(10, bob, clock[0] + 2 * MAX_LOCK_SECONDS), "BadDeadline")
    # the edges, each decided at the timestamp of the block the lock is mined in
    assert send(10, bob, clock[0] + 10) is not None  # deadline = now
    assert send(11, bob, clock[0] + 11) is None  # now + 1
    assert send(12, bob, clock[0] + 10 + MAX_LOCK_SECONDS) is None  # now + 366 days
    assert send(13, bob, clock[0] + 11 + MAX_LOCK_SECONDS) is not None  # one second more

    deadline = clock[0] + HOUR
    assert send(14, bob, deadline) is None
    asset = NATIVE if kind == "native" else token.address
    lock_id = LockParams(hashlock, asset, env.alice.address, bob, 14, deadline).lock_id
    assert env.htlc.is_open(lock_id)
    again = send(14, bob, deadline)
    refused(again, "LockExists")
    assert again.error_args == (bytes.fromhex(lock_id[2:]),)
    held = (
        env.client.balance(env.htlc.address)
        if kind == "native"
        else env.client.read(token.functions.balanceOf(env.htlc.address))
    )
    assert held == 11 + 12 + 14
    if kind == "native":
        return
    refused(send(10, bob, deadline, NATIVE), "ZeroToken")
    refused(send(0, bob, deadline, NATIVE), "ZeroToken")  # the token is checked first
    # an address without code answers no balance: refused by name, nothing locked
    no_code = send(10, bob, deadline, env.carol.address)
    refused(no_code, "TokenWithoutCode")
    assert no_code.error_args == (env.carol.address.lower(),)
    # the token's own refusal comes back as it is (here: allowance spent)
    denied = send(10**6, bob, deadline)
    assert denied is not None
    assert (
        denied.data[:4]
        == bytes(env.client.w3.keccak(text="ERC20InsufficientAllowance(address,uint256,uint256)"))[
            :4
        ]
    )


@across_forks_thorough
def test_secret_recovered_from_claim_receipt_log(env: Env) -> None:
    """The secret is in the Claimed event's data: a watcher needs only the receipt."""
    secret = env.secret()
    lock_id = _native_lock(env, secret)
    receipt = env.htlc.claim(lock_id, secret.reveal(), env.bob)
    raw = env.client.receipt(receipt.tx_id)
    claimed_topic = env.htlc._event_topic("Claimed")
    logs = [log for log in raw["logs"] if "0x" + bytes(log["topics"][0]).hex() == claimed_topic]
    assert len(logs) == 1
    assert "0x" + bytes(logs[0]["topics"][1]).hex() == lock_id
    assert bytes(logs[0]["data"]) == secret.reveal()


# ---------------------------------------------------------------- ERC-3643 (T-REX)


def _make_escrow_eligible(env: Env, country: str) -> None:
    chain = env.chain
    suite = chain.suite
    owner = chain.deployer.owner
    identity = create_escrow_identity(
        env.client,
        id_factory=suite.id_factory,
        htlc=env.htlc.address,
        manager=owner.address,
        salt=f"htlc-{env.htlc.address}",
        signer=owner,
    )
    for topic in suite.required_topics:
        add_escrow_claim(
            env.client,
            identity=identity,
            topic=topic,
            issuer=suite.claim_issuer,
            signature=chain.deployer.sign_claim(suite, identity, topic, b""),
            data=b"",
            signer=owner,
        )
    register_escrow_identity(
        env.client,
        identity_registry=suite.identity_registry,
        htlc=env.htlc.address,
        identity=identity,
        country=country,
        agent=suite.agent,
    )


@across_forks_thorough
@pytest.mark.usefixtures("trex_suite")
def test_trex_preflight_then_setup_then_lock_and_claim(env: Env) -> None:
    suite = env.chain.suite
    alice, bob = suite.investor("alice"), suite.investor("bob")
    token = env.client.contract(suite.token, load_abi("Token"))
    asset = env.asset(suite.token)
    env.send(alice.signer, token.functions.approve(env.htlc.address, 1_000))
    secret = env.secret()

    report = env.htlc.preflight(
        token=suite.token, sender=alice.address, receiver=bob.address, amount=1_000
    )
    raw_codes = {r.raw_code for r in report.missing}
    assert "escrow_not_registered" in raw_codes
    assert all(
        r.code is ReasonCode.RECIPIENT_NOT_ELIGIBLE
        for r in report.missing
        if r.raw_code == "escrow_not_registered"
    )
    # the escrow has no identity, hence no country and no balance record either: the two
    # modules refuse the seller -> HTLC leg for that reason, and only that leg
    assert raw_codes == {"escrow_not_registered", "CountryAllowModule", "MaxBalanceModule"}
    for refusal in report.missing:
        if refusal.raw_code != "escrow_not_registered":
            assert "sender -> HTLC" in refusal.detail
    with pytest.raises(TransferRefused, match="identity registry"):
        env.htlc.lock(
            asset=asset,
            receiver=bob.address,
            amount=1_000,
            hashlock=secret.hashlock,
            deadline=env.now() + HOUR,
            signer=alice.signer,
        )
    # without the pre-flight the token itself refuses, and nothing moves
    with pytest.raises(TransactionReverted) as info:
        env.htlc.lock(
            asset=asset,
            receiver=bob.address,
            amount=1_000,
            hashlock=secret.hashlock,
            deadline=env.now() + HOUR,
            signer=alice.signer,
            preflight=False,
        )
    assert info.value.reason is ReasonCode.TRANSFER_FAILURE  # "Transfer not possible"

    _make_escrow_eligible(env, "JP")
    report = env.htlc.preflight(
        token=suite.token, sender=alice.address, receiver=bob.address, amount=1_000
    )
    assert report.ok, report.describe()
    alice_before = int(env.client.read(token.functions.balanceOf(alice.address)))
    bob_before = int(env.client.read(token.functions.balanceOf(bob.address)))
    lock_id, _ = env.htlc.lock(
        asset=asset,
        receiver=bob.address,
        amount=1_000,
        hashlock=secret.hashlock,
        deadline=env.now() + HOUR,
        signer=alice.signer,
    )
    assert env.client.read(token.functions.balanceOf(env.htlc.address)) == 1_000
    env.htlc.claim(lock_id, secret.reveal(), env.carol)
    assert env.client.read(token.functions.balanceOf(bob.address)) == bob_before + 1_000
    assert env.client.read(token.functions.balanceOf(alice.address)) == alice_before - 1_000


@across_forks_thorough
@pytest.mark.usefixtures("trex_suite")
def test_trex_preflight_reports_ineligible_receiver_and_frozen_escrow(env: Env) -> None:
    suite = env.chain.suite
    alice, carol = suite.investor("alice"), suite.investor("carol")
    token = env.client.contract(suite.token, load_abi("Token"))
    _make_escrow_eligible(env, "JP")
    env.send(alice.signer, token.functions.approve(env.htlc.address, 1_000))
    env.send(suite.agent, token.functions.setAddressFrozen(env.htlc.address, True))

    report = env.htlc.preflight(
        token=suite.token, sender=alice.address, receiver=carol.address, amount=1_000
    )
    by_raw = {r.raw_code: r.code for r in report.missing}
    assert by_raw["frozen"] is ReasonCode.RECIPIENT_FROZEN
    # carol is registered in the US, which the token's CountryAllowModule does not allow
    assert by_raw["CountryAllowModule"] is ReasonCode.COUNTRY_RESTRICTED
    assert "escrow_not_registered" not in by_raw


@across_forks_thorough
@pytest.mark.usefixtures("trex_suite")
def test_trex_claim_refused_by_a_freeze_leaves_the_refund_path(env: Env) -> None:
    """A buyer frozen after the lock: the claim is refused by the token, never half-settled,
    and the seller gets the tokens back after the deadline."""
    suite = env.chain.suite
    alice, bob = suite.investor("alice"), suite.investor("bob")
    token = env.client.contract(suite.token, load_abi("Token"))
    _make_escrow_eligible(env, "JP")
    env.send(alice.signer, token.functions.approve(env.htlc.address, 700))
    alice_before = int(env.client.read(token.functions.balanceOf(alice.address)))
    secret = env.secret()
    lock_id, _ = env.htlc.lock(
        asset=env.asset(suite.token),
        receiver=bob.address,
        amount=700,
        hashlock=secret.hashlock,
        deadline=env.now() + HOUR,
        signer=alice.signer,
    )
    env.send(suite.agent, token.functions.setAddressFrozen(bob.address, True))

    with pytest.raises(TransactionReverted) as info:
        env.htlc.claim(lock_id, secret.reveal(), bob.signer)
    assert info.value.raw_message == "wallet is frozen"
    assert env.htlc.get(lock_id).state == "open"
    assert env.htlc.secret_of(lock_id) is None  # a refused claim reveals nothing on chain

    env.client.increase_time(HOUR + 10)
    env.htlc.refund(lock_id, env.carol)
    assert env.client.read(token.functions.balanceOf(alice.address)) == alice_before
    assert env.client.read(token.functions.balanceOf(env.htlc.address)) == 0


@across_forks_thorough
def test_erc1404_preflight_until_the_escrow_is_whitelisted(env: Env) -> None:
    restricted = env.deploy(
        "RestrictedToken1404", "Restricted Fund", "RFND", 0, 0, env.alice.address
    )
    for who in (env.alice.address, env.bob.address):
        env.send(env.alice, restricted.functions.setWhitelisted(who, True))
    env.send(env.alice, restricted.functions.mint(env.alice.address, 1_000))
    env.send(env.alice, restricted.functions.approve(env.htlc.address, 400))

    report = env.htlc.preflight(
        token=restricted.address, sender=env.alice.address, receiver=env.bob.address, amount=400
    )
    by_message = {r.raw_message: r for r in report.missing}
    assert set(by_message) == {
        "ILLEGAL_TRANSFER_RECEIVING_ACCOUNT_NOT_WHITELISTED",
        "ILLEGAL_TRANSFER_SENDING_ACCOUNT_NOT_WHITELISTED",
    }
    receiving = by_message["ILLEGAL_TRANSFER_RECEIVING_ACCOUNT_NOT_WHITELISTED"]
    sending = by_message["ILLEGAL_TRANSFER_SENDING_ACCOUNT_NOT_WHITELISTED"]
    assert (receiving.raw_code, receiving.code) == ("4", ReasonCode.RECIPIENT_NOT_ELIGIBLE)
    assert (sending.raw_code, sending.code) == ("2", ReasonCode.SENDER_NOT_ELIGIBLE)
    assert "sender -> HTLC" in receiving.detail
    assert "HTLC -> receiver" in sending.detail

    env.send(env.alice, restricted.functions.setWhitelisted(env.htlc.address, True))
    ready = env.htlc.preflight(
        token=restricted.address, sender=env.alice.address, receiver=env.bob.address, amount=400
    )
    assert ready.ok, ready.describe()
    secret = env.secret()
    lock_id, _ = env.htlc.lock(
        asset=env.asset(restricted.address),
        receiver=env.bob.address,
        amount=400,
        hashlock=secret.hashlock,
        deadline=env.now() + HOUR,
        signer=env.alice,
    )
    env.htlc.claim(lock_id, secret.reveal(), env.bob)
    assert env.client.read(restricted.functions.balanceOf(env.bob.address)) == 400


@across_forks_thorough
def test_port_contract_and_python_agree_on_lock_ids(env: Env) -> None:
    assert isinstance(env.htlc, HtlcPort)
    secret = env.secret()
    lock_id = _native_lock(env, secret)
    params = env.htlc.params(lock_id)
    on_chain = env.client.read(
        env.htlc.contract.functions.lockId(
            params.hashlock,
            params.token,
            params.sender,
            params.receiver,
            params.amount,
            params.deadline,
        )
    )
    assert "0x" + bytes(on_chain).hex() == lock_id
    assert env.client.read(env.htlc.contract.functions.isOpen(bytes.fromhex(lock_id[2:])))
    # a second port on the same contract finds the lock from events alone
    fresh = EvmHtlc(env.client, env.htlc.address, from_block=env.htlc.from_block)
    assert fresh.params(lock_id) == params
    with pytest.raises(InvalidInput, match="lock_id"):
        fresh.params("0x1234")


@across_forks
def test_erc1400_partition_lock_claim_and_refund_after_preflight(env: Env) -> None:
    partition = b"locked-class-A".ljust(32, b"\x00")
    default = b"unrestricted".ljust(32, b"\x00")
    token = env.deploy(
        "SecurityToken1400", "Partitioned Fund", "PFND", 0, default, env.alice.address
    )
    for who in (env.alice.address, env.bob.address):
        env.send(env.alice, token.functions.setWhitelisted(who, True))
    env.send(env.alice, token.functions.issueByPartition(partition, env.alice.address, 1_000, b""))
    env.send(env.alice, token.functions.issueByPartition(default, env.alice.address, 50, b""))

    def preflight(receiver: str = env.bob.address) -> set[ReasonCode]:
        report = env.htlc.preflight(
            token=token.address,
            sender=env.alice.address,
            receiver=receiver,
            amount=600,
            partition=partition,
        )
        return {r.code for r in report.missing}

    # the escrow's own side (sender-not-whitelisted on HTLC -> receiver) is seen where the
    # backend can run a call from the coin-less escrow (anvil), not on py-evm
    escrow_sends = {ReasonCode.SENDER_NOT_ELIGIBLE}
    first = preflight()
    assert {ReasonCode.OPERATOR_NOT_AUTHORIZED, ReasonCode.RECIPIENT_NOT_ELIGIBLE} <= first
    assert first - {ReasonCode.OPERATOR_NOT_AUTHORIZED, ReasonCode.RECIPIENT_NOT_ELIGIBLE} <= (
        escrow_sends
    )
    env.send(env.alice, token.functions.authorizeOperatorByPartition(partition, env.htlc.address))
    second = preflight()
    assert ReasonCode.RECIPIENT_NOT_ELIGIBLE in second
    assert second - {ReasonCode.RECIPIENT_NOT_ELIGIBLE} <= escrow_sends
    env.send(env.alice, token.functions.setWhitelisted(env.htlc.address, True))
    assert preflight() == set()
    assert preflight(env.carol.address) == {ReasonCode.RECIPIENT_NOT_ELIGIBLE}

    def by_partition(who: str, which: bytes = partition) -> int:
        return int(env.client.read(token.functions.balanceOfByPartition(which, who)))

    secret = env.secret()
    lock_id, _ = env.htlc.lock(
        asset=env.asset(token.address),
        receiver=env.bob.address,
        amount=600,
        hashlock=secret.hashlock,
        deadline=env.now() + HOUR,
        signer=env.alice,
        partition=partition,
    )
    params = env.htlc.params(lock_id)
    assert params.partition == partition
    on_chain = env.client.read(
        env.htlc.contract.functions.partitionLockId(
            params.hashlock,
            params.token,
            partition,
            params.sender,
            params.receiver,
            params.amount,
            params.deadline,
        )
    )
    assert "0x" + bytes(on_chain).hex() == lock_id
    assert by_partition(env.htlc.address) == 600
    assert by_partition(env.alice.address, default) == 50  # other partitions untouched
    env.htlc.claim(lock_id, secret.reveal(), env.carol)
    assert by_partition(env.bob.address) == 600
    assert by_partition(env.htlc.address) == 0
    assert env.htlc.secret_of(lock_id) == secret.reveal()

    other = env.secret()
    lock2, _ = env.htlc.lock(
        asset=env.asset(token.address),
        receiver=env.bob.address,
        amount=400,
        hashlock=other.hashlock,
        deadline=env.now() + HOUR,
        signer=env.alice,
        partition=partition,
    )
    with pytest.raises(SettlementError, match="not reached"):
        env.htlc.refund(lock2, env.alice)
    env.client.increase_time(HOUR + 10)
    env.htlc.refund(lock2, env.carol)
    assert by_partition(env.alice.address) == 400
    assert [lock.state for lock in env.htlc.find(other.hashlock)] == ["refunded"]


def test_erc1400_partition_lock_spends_a_partition_allowance(env: Env) -> None:
    """A partition allowance of exactly the amount, and no operator, is what lockPartition
    needs: the pre-flight accepts it; the lock spends it to zero (the holder's decision: no
    ``ControllerTransfer``); a second port finds the lock from the events alone
    (``PartitionLocked``'s packed receiver and deadline; the partition, sender and amount
    from the token's ``TransferByPartition``); a second lock with the allowance spent is
    refused by the token, and so is a zero-value move by a spender holding none."""
    partition = b"class-A".ljust(32, b"\x00")
    token = env.deploy("SecurityToken1400", "Fund", "FND", 0, partition, env.alice.address)
    for who in (env.alice.address, env.bob.address, env.htlc.address):
        env.send(env.alice, token.functions.setWhitelisted(who, True))
    env.send(env.alice, token.functions.issueByPartition(partition, env.alice.address, 1_000, b""))

    def missing() -> set[ReasonCode]:
        found = env.htlc.preflight(
            token=token.address,
            sender=env.alice.address,
            receiver=env.bob.address,
            amount=600,
            partition=partition,
        )
        return {r.code for r in found.missing}

    def allowance() -> int:
        return int(
            env.client.read(
                token.functions.allowanceByPartition(partition, env.alice.address, env.htlc.address)
            )
        )

    assert ReasonCode.OPERATOR_NOT_AUTHORIZED in missing()
    env.send(env.alice, token.functions.approveByPartition(partition, env.htlc.address, 599))
    assert ReasonCode.OPERATOR_NOT_AUTHORIZED in missing()  # short of the amount
    env.send(env.alice, token.functions.approveByPartition(partition, env.htlc.address, 600))
    assert missing() == set()
    secret = env.secret()
    deadline = env.now() + HOUR
    lock_id, receipt = env.htlc.lock(
        asset=env.asset(token.address),
        receiver=env.bob.address,
        amount=600,
        hashlock=secret.hashlock,
        deadline=deadline,
        signer=env.alice,
        partition=partition,
    )
    assert allowance() == 0
    controller = bytes(
        env.client.w3.keccak(text="ControllerTransfer(address,address,address,uint256,bytes,bytes)")
    )
    logs = env.client.receipt(receipt.tx_id)["logs"]
    assert all(bytes(item["topics"][0]) != controller for item in logs)
    fresh = EvmHtlc(env.client, env.htlc.address, from_block=env.htlc.from_block)
    found = fresh.params(lock_id)
    assert found == env.htlc.params(lock_id)
    assert (found.receiver, found.deadline) == (env.bob.address, deadline)
    assert (found.partition, found.sender, found.amount) == (partition, env.alice.address, 600)
    assert int(env.client.read(token.functions.balanceOfByPartition(partition, env.htlc.address)))
    refused = bytes(env.client.w3.keccak(text="TransferRefused(bytes1,bytes32)"))[:4].hex()
    again = env.calldata(
        "lockPartition", token.address, partition, 600, env.secret().hashlock,
        env.bob.address, deadline,
    )  # fmt: skip
    revert = env.raw(env.alice, again)
    assert revert is not None
    assert refused in (revert.selector or "") + revert.data.hex()
    with pytest.raises(TransactionReverted):
        env.send(
            env.carol,
            token.functions.operatorTransferByPartition(
                partition, env.alice.address, env.carol.address, 0, b"", b""
            ),
        )


# ---------------------------------------------------------------- reentrancy


@across_forks
def test_token_calling_back_cannot_nest_a_lock_inside_a_lock(env: Env) -> None:
    """A token that calls back after moving the tokens nests a second lock of itself inside
    the first. With transient marks the nested lock finds the balance the first one expects
    and goes through, so the first lock measures both deliveries (1,500 for 1,000) and
    refuses: the whole transaction reverts and nothing is locked. Before Cancun the storage
    guard refuses the nested lock itself (``Reentered``, swallowed by the token) and the
    outer lock holds exactly its own 1,000. Either way no delivery is counted twice."""
    token = env.deploy("ReentrantToken")
    env.send(env.alice, token.functions.mint(env.alice.address, 1_000))
    env.send(env.alice, token.functions.mint(token.address, 500))
    env.send(env.alice, token.functions.approveFromSelf(env.htlc.address, 500))
    env.send(env.alice, token.functions.approve(env.htlc.address, 1_000))
    deadline = env.now() + HOUR
    nested = env.calldata(
        "lockToken", token.address, 500, env.secret().hashlock, env.bob.address, deadline
    )
    env.send(env.alice, token.functions.arm(env.htlc.address, nested))

    secret = env.secret()

    def lock() -> None:
        env.htlc.lock(
            asset=env.asset(token.address),
            receiver=env.bob.address,
            amount=1_000,
            hashlock=secret.hashlock,
            deadline=deadline,
            signer=env.alice,
        )

    if env.transient:
        with pytest.raises(SettlementError, match=r"AmountNotReceived\(1000, 1500\)"):
            lock()
        assert env.client.read(token.functions.balanceOf(env.htlc.address)) == 0
        assert env.client.read(token.functions.balanceOf(env.alice.address)) == 1_000
        assert env.htlc.find(secret.hashlock) == []
        return
    lock()
    assert env.client.read(token.functions.attempted())
    assert env.client.read(token.functions.balanceOf(env.htlc.address)) == 1_000
    assert env.client.read(token.functions.balanceOf(token.address)) == 500
    ((only, held),) = [(lk.amount, lk.state) for lk in env.htlc.find(secret.hashlock)]
    assert (only, held) == (1_000, "open")


@across_forks
def test_two_locks_of_one_token_in_one_transaction(env: Env) -> None:
    """A wallet that batches two locks of one token in one transaction gets both: the
    reentrancy mark expects exactly the balance the first lock left, and each lock's sender
    and amount are read back from its own Transfer log. With transient marks a transfer to
    the HTLC between the two makes the second refuse (``Reentered``) and the whole batch
    revert; before Cancun the storage guard is released after each lock, so the second lock
    measures only its own delivery and both go through (the gift stays a gift)."""
    token = env.deploy("FeeToken", 0)
    batch = env.deploy("BatchLocker")
    env.send(env.alice, token.functions.mint(batch.address, 1_000))
    first, second = env.secret(), env.secret()
    deadline = env.now() + HOUR
    env.send(
        env.alice,
        batch.functions.lockTwice(
            env.htlc.address, token.address, 300, 200,
            first.hashlock, second.hashlock, env.bob.address, deadline,
        ),
    )  # fmt: skip
    assert env.client.read(token.functions.balanceOf(env.htlc.address)) == 500
    (one,) = env.htlc.find(first.hashlock)
    (two,) = env.htlc.find(second.hashlock)
    assert (one.sender, one.amount, one.state) == (batch.address, 300, "open")
    assert (two.sender, two.amount, two.state) == (batch.address, 200, "open")
    env.htlc.claim(two.lock_id, second.reveal(), env.carol)  # the decoded parameters are right
    assert env.client.read(token.functions.balanceOf(env.bob.address)) == 200

    third, fourth = env.secret(), env.secret()
    gift_lock = batch.functions.lockGiftLock(
        env.htlc.address, token.address, 100, 1, 100,
        third.hashlock, fourth.hashlock, env.bob.address, deadline,
    )  # fmt: skip
    if not env.transient:
        env.send(env.alice, gift_lock)
        assert [lk.amount for lk in env.htlc.find(fourth.hashlock)] == [100]
        assert env.client.read(token.functions.balanceOf(env.htlc.address)) == 300 + 100 + 1 + 100
        return
    with pytest.raises(EvmReverted) as refused:
        env.send(env.alice, gift_lock)
    reentered = "0x" + bytes(env.client.w3.keccak(text="Reentered()"))[:4].hex()
    assert refused.value.revert.selector == reentered
    assert env.htlc.find(third.hashlock) == []


@across_forks
def test_receiver_calling_back_on_payment_cannot_claim_twice(env: Env) -> None:
    receiver = env.deploy("ReentrantReceiver")
    secret = env.secret()
    deadline = env.now() + HOUR
    lock_id, _ = env.htlc.lock(
        asset=None,
        receiver=receiver.address,
        amount=ONE_ETH,
        hashlock=secret.hashlock,
        deadline=deadline,
        signer=env.alice,
    )
    # a second lock to the same receiver, so the escrow holds enough for a double payout
    _, _ = env.htlc.lock(
        asset=None,
        receiver=receiver.address,
        amount=ONE_ETH,
        hashlock=env.secret().hashlock,
        deadline=deadline,
        signer=env.alice,
    )
    again = env.calldata(
        "claim", secret.reveal(), env.alice.address, receiver.address, ONE_ETH, deadline
    )
    env.send(env.alice, receiver.functions.arm(env.htlc.address, again))

    env.htlc.claim(lock_id, secret.reveal(), env.carol)

    assert env.client.read(receiver.functions.attempted())
    assert not env.client.read(receiver.functions.attackSucceeded())
    assert env.client.read(receiver.functions.received()) == ONE_ETH
    assert env.client.balance(env.htlc.address) == ONE_ETH
    assert env.htlc.get(lock_id).state == "claimed"


# ---------------------------------------------------------------- EVM targets


@pytest.mark.anvil
def test_a_chain_that_cannot_run_a_build_refuses_it_in_one_line() -> None:
    """Issue 19: a configured evm_version the node lacks is refused; an HTLC whose code the
    chain cannot run (Cancun's TLOAD on Shanghai) is refused before it is used."""
    proc, url = start_anvil("--hardfork", "shanghai")
    try:
        with pytest.raises(ConfigError) as too_new:
            _ = EvmClient.connect(url, evm_version="cancun").evm_version
        assert "\n" not in str(too_new.value)
        assert "set evm_version = 'shanghai'" in str(too_new.value)

        client = EvmClient.connect(url)
        assert client.evm_version == "shanghai"
        deployer = EvmSigner.from_seed("targets:deployer")
        client.fund(deployer.address, 10**19)
        cancun = load_artifact("HTLC", "cancun")
        wrong = client.deploy(deployer, cancun.abi, cancun.bytecode)  # PUSH0 runs here
        with pytest.raises(ConfigError) as refused:
            EvmHtlc(client, wrong.address)
        assert "\n" not in str(refused.value)
        assert "shanghai" in str(refused.value)
        assert "transient-storage" in str(refused.value)
        right = EvmHtlc.deploy(client, deployer)  # picks the shanghai build
        assert client.code_at(right.address).hex() == load_artifact(
            "HTLC", "shanghai"
        ).deployed_bytecode.removeprefix("0x")
        other = artifact_for_chain("CashToken", client)
        assert other.evm_version == "shanghai"  # the default (Cancun) build uses MCOPY
        stranger_code = client.deploy(
            deployer, other.abi, other.bytecode, "X", "X", 6, "USD", deployer.address
        )
        with pytest.raises(ConfigError, match="none of our HTLC builds"):
            EvmHtlc(client, stranger_code.address)
    finally:
        stop_process(proc)


@across_forks_thorough
def test_a_partition_lock_is_never_the_lock_of_a_plain_leg(env: Env) -> None:
    """Counterparty: the seller locks the agreed ERC-1400 token, receiver, amount, hashlock
    and deadline, but from another partition (a cheaper class). The relayer recognises a
    leg's lock only by the id our HTLC gives exactly the agreed terms, and that id commits
    to the partition: the id the port computes for the partition lock is the contract's,
    and it is neither the plain leg's id nor another partition's."""
    partition = b"class-B-cheap".ljust(32, b"\x00")
    agreed = b"class-A".ljust(32, b"\x00")
    token = env.deploy(
        "SecurityToken1400", "Partitioned Fund", "PFND", 0, agreed, env.alice.address
    )
    for who in (env.alice.address, env.bob.address, env.htlc.address):
        env.send(env.alice, token.functions.setWhitelisted(who, True))
    env.send(env.alice, token.functions.issueByPartition(partition, env.alice.address, 100, b""))
    env.send(env.alice, token.functions.authorizeOperatorByPartition(partition, env.htlc.address))
    secret = env.secret()
    deadline = env.now() + HOUR
    terms: dict[str, Any] = {
        "asset": env.asset(token.address),
        "sender": env.alice.address,
        "receiver": env.bob.address,
        "amount": 60,
        "hashlock": secret.hashlock,
        "deadline": deadline,
    }
    lock_id, _ = env.htlc.lock(
        asset=terms["asset"],
        receiver=env.bob.address,
        amount=60,
        hashlock=secret.hashlock,
        deadline=deadline,
        signer=env.alice,
        partition=partition,
    )
    assert env.htlc.lock_id_for(**terms, partition=partition) == lock_id
    assert env.htlc.lock_id_for(**terms) != lock_id  # a plain leg of that token
    assert env.htlc.lock_id_for(**terms, partition=agreed) != lock_id  # the agreed class


@across_forks
def test_escrow_shortfall_reads_the_locks_and_the_balance_at_one_block(env: Env) -> None:
    """The pooled-escrow check compares the open locks (from the logs) with the escrow's
    balance: both are read at one block. Here a claim is mined between the two reads (as a
    new block can arrive at any moment): read at "latest" the balance would already miss
    the claimed coin while the logs still showed the lock open, a false shortfall (and a
    new lock landing there would mask a real one)."""
    secret = env.secret()
    lock_id = _native_lock(env, secret)
    params = env.htlc.params(lock_id)
    claim = env.calldata(
        "claim", secret.reveal(), params.sender, params.receiver, ONE_ETH, params.deadline
    )
    client = env.client
    original = client._get_logs
    mined: list[str] = []

    def logs_then_a_block(query: dict[str, Any]) -> list[Any]:
        answer = original(query)
        if not mined:
            mined.append(client.transact(env.carol, env.htlc.address, claim, gas=RAW_GAS).tx_id)
        return answer

    client._get_logs = logs_then_a_block  # type: ignore[method-assign]
    try:
        missing, open_ids = env.htlc.shortfall(None)
    finally:
        client._get_logs = original  # type: ignore[method-assign]
    assert mined, "the claim was mined between the reads"
    assert (missing, open_ids) == (0, (lock_id,))
    assert env.htlc.get(lock_id).state == "claimed"
    assert env.htlc.shortfall(None) == (0, ())


def _mine_together(client: EvmClient, signed: list[bytes]) -> None:
    """Send ``signed`` in order and mine them in one block (automine off meanwhile)."""
    if client.backend == "pyevm":
        client._tester.disable_auto_mine_transactions()
        try:
            for raw in signed:
                client.submit(raw)
            client._tester.mine_blocks(1)
        finally:
            client._tester.enable_auto_mine_transactions()
        return
    client._rpc("evm_setAutomine", [False])
    try:
        for raw in signed:
            client.submit(raw)
        client._rpc("evm_mine", [])
    finally:
        client._rpc("evm_setAutomine", [True])


def test_a_token_lock_mined_again_lower_in_a_block_after_a_reorg_is_still_seen(env: Env) -> None:
    """A reorg removes a token lock's block and the same signed transaction is mined again
    after another transaction's logs (a relayer re-sends its own bytes; the interop run on
    ``867683a``, seed 706: an HTLC holding 157 units more than its open locks). The lock's
    log indexes are block-wide: read before the reorg, the lock's ``Transfer`` sat at a
    lower index than the lock log now does. The event scan must find the lock, with its
    sender and amount, from the logs of the block it is in now."""
    token = _cash(env, env.alice, 5_000_000)
    env.send(env.alice, token.functions.mint(env.carol.address, 1_000))
    asset = env.asset(token.address)
    env.send(env.alice, token.functions.approve(env.htlc.address, 3_000_000))
    client = env.client
    before = client.snapshot()
    sent: list[bytes] = []
    submit = client.submit

    def kept(signed: bytes) -> str:
        sent.append(signed)
        return submit(signed)

    client.submit = kept  # type: ignore[method-assign]
    try:
        lock_id, _ = env.htlc.lock(
            asset=asset,
            receiver=env.bob.address,
            amount=1_000_000,
            hashlock=env.secret().hashlock,
            deadline=env.now() + HOUR,
            signer=env.alice,
        )
    finally:
        client.submit = submit  # type: ignore[method-assign]
    assert len(sent) == 1
    first = [e for e in env.htlc.events(0, client.head()) if e.name == "Locked"]
    assert [(e.args["lock_id"], e.args["amount"]) for e in first] == [(lock_id, 1_000_000)]

    client.revert(before)  # the reorg: the lock's block is gone
    transfer = token.functions.transfer(env.bob.address, 10).build_transaction(
        {"from": env.carol.address}
    )
    tx = client.build_tx(env.carol.address, token.address, bytes.fromhex(transfer["data"][2:]))
    _mine_together(client, [env.carol.sign(tx), sent[0]])  # a Transfer log comes first now

    again = [e for e in env.htlc.events(0, client.head()) if e.name == "Locked"]
    assert [(e.args["lock_id"], e.args["sender"], e.args["amount"]) for e in again] == [
        (lock_id, env.alice.address, 1_000_000)
    ]
    assert again[0].height == first[0].height
    assert env.htlc.shortfall(asset) == (0, (lock_id,))
