"""Stateful property test of HTLC.sol on a real py-evm chain, against a plain Python model.

Random sequences of locks (native coin, an ERC-20, two partitions of an ERC-1400), re-sent
locks, claims with the right or a wrong secret, refunds, jumps in time, and a third party
(``mallory``) calling every public function of the contract with every argument shape: the
parameters of a real lock with the token swapped for the zero address, an address without
code, the HTLC itself, a precompile or the other token, the partition swapped, the secret
wrong, the receiver or sender left zero (which stands for the caller). Everything is sent as
raw transactions with fixed gas, so the contract alone decides; the model predicts every
outcome and every balance, and the contract's holdings are checked against the locks the
contract itself reports open.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from adapters.evm.client import EvmClient, EvmReverted
from adapters.evm.contracts import artifact_for_chain
from adapters.evm.htlc import NATIVE, EvmHtlc, LockParams
from adapters.evm.signer import EvmSigner

GAS = 400_000
PARTIES = ("alice", "bob", "carol")
STRANGER = "mallory"
MAX_LOCK = 366 * 24 * 3600
DEFAULT = b"unrestricted".ljust(32, b"\x00")
OTHER = b"class-B".ljust(32, b"\x00")
PARTITIONS = (DEFAULT, OTHER)
KINDS = ("native", "erc20", "partition")
# what a third party may put where a token goes
TOKEN_SHAPES = ("same", "zero", "no-code", "htlc", "sha256", "identity", "erc20", "erc1400")


@dataclass
class World:
    """One py-evm chain with an HTLC, an ERC-20, an ERC-1400, funded parties and a relayer."""

    client: EvmClient
    htlc: EvmHtlc
    token: Any
    st1400: Any
    parties: dict[str, EvmSigner]
    relayer: EvmSigner


@cache
def world(fork: str | None = None) -> World:
    """The world on py-evm's default VM (the Cancun build) or at ``fork`` (its build)."""
    client = EvmClient.embedded(fork)
    parties = {name: EvmSigner.from_seed(f"htlc-state:{name}") for name in (*PARTIES, STRANGER)}
    relayer = EvmSigner.from_seed("htlc-state:relayer")
    for signer in (*parties.values(), relayer):
        client.fund(signer.address, 10**22)
    htlc = EvmHtlc.deploy(client, relayer)
    artifact = artifact_for_chain("FeeToken", client)
    token = client.deploy(relayer, artifact.abi, artifact.bytecode, 0)
    art1400 = artifact_for_chain("SecurityToken1400", client)
    st1400 = client.deploy(
        relayer, art1400.abi, art1400.bytecode, "Fund", "FND", 0, DEFAULT, relayer.address
    )
    _call(client, relayer, st1400.functions.setWhitelisted(htlc.address, True))
    for name in PARTIES:
        signer = parties[name]
        _call(client, relayer, token.functions.mint(signer.address, 10**30))
        _call(client, signer, token.functions.approve(htlc.address, 2**256 - 1))
        _call(client, relayer, st1400.functions.setWhitelisted(signer.address, True))
        for partition in PARTITIONS:
            issue = st1400.functions.issueByPartition(partition, signer.address, 10**30, b"")
            _call(client, relayer, issue)
        _call(client, signer, st1400.functions.authorizeOperator(htlc.address))
    return World(client, htlc, token, st1400, parties, relayer)


def _call(client: EvmClient, signer: EvmSigner, fn_call: Any, value: int = 0) -> tuple[bool, int]:
    """Send with fixed gas; (succeeded, fee paid) - a mined failure costs gas too."""
    data = bytes.fromhex(str(fn_call._encode_transaction_data())[2:])
    failed_tx: str | None = None
    try:
        receipt = client.transact(signer, str(fn_call.address), data, value=value, gas=GAS)
    except EvmReverted as exc:
        failed_tx = exc.tx_id
    if failed_tx is None:
        return True, receipt.fee_paid
    raw = client.receipt(failed_tx)
    return False, int(raw["gasUsed"]) * int(raw["effectiveGasPrice"])


def _kind(params: LockParams) -> str:
    if params.native:
        return "native"
    return "erc20" if params.partition is None else "partition"


@dataclass
class ModelLock:
    params: LockParams
    secret: bytes
    state: str = "open"

    @property
    def kind(self) -> str:
        return _kind(self.params)


class HtlcMachine(RuleBasedStateMachine):
    """The contract against the model: who holds what, and which locks are open."""

    locks = Bundle("locks")
    fork: str | None = None

    def __init__(self) -> None:
        super().__init__()
        self.w = world(self.fork)
        self.snapshot = self.w.client.snapshot()
        self.model: dict[str, ModelLock] = {}
        self.counter = 0
        self.coin = {n: self.w.client.balance(s.address) for n, s in self.w.parties.items()}
        self.units = {n: self._holding(s.address) for n, s in self.w.parties.items()}

    # ---- reads -------------------------------------------------------------------------

    def _view(self, fn_call: Any) -> Any:
        # eth_call from a funded account: py-evm checks the caller can pay the call's gas
        return fn_call.call({"from": self.w.relayer.address})

    def _holding(self, address: str) -> dict[str, int]:
        """Every asset ``address`` holds: the coin aside, the ERC-20 and each partition."""
        out = {"erc20": int(self._view(self.w.token.functions.balanceOf(address)))}
        for partition in PARTITIONS:
            fn = self.w.st1400.functions.balanceOfByPartition(partition, address)
            out[partition.hex()] = int(self._view(fn))
        return out

    @staticmethod
    def _asset(params: LockParams) -> str:
        if params.native:
            return "coin"
        return "erc20" if params.partition is None else params.partition.hex()

    def teardown(self) -> None:
        self.w.client.revert(self.snapshot)

    def _next_ts(self) -> int:
        return int(self.w.client.w3.eth.get_block("pending")["timestamp"])

    def _secret(self) -> bytes:
        self.counter += 1
        return hashlib.sha256(b"state-secret:%d" % self.counter).digest()

    def _name(self, address: str) -> str:
        return next(n for n, s in self.w.parties.items() if s.address == address)

    def _pay(self, lock: LockParams, to: str) -> None:
        name = self._name(to)
        asset = self._asset(lock)
        if asset == "coin":
            self.coin[name] += lock.amount
        else:
            self.units[name][asset] += lock.amount

    def _lock_call(self, p: LockParams) -> Any:
        fns = self.w.htlc.contract.functions
        if p.native:
            return fns.lock(p.hashlock, p.receiver, p.deadline)
        if p.partition is None:
            return fns.lockToken(p.token, p.amount, p.hashlock, p.receiver, p.deadline)
        return fns.lockPartition(p.token, p.partition, p.amount, p.hashlock, p.receiver, p.deadline)

    def _settle_call(self, kind: str, action: str, first: bytes, p: LockParams) -> Any:
        """The claim (``first`` = secret) or refund (``first`` = hashlock) of ``kind``."""
        fns = self.w.htlc.contract.functions
        rest = (p.sender, p.receiver, p.amount, p.deadline)
        if kind == "native":
            return (fns.claim if action == "claim" else fns.refund)(first, *rest)
        if kind == "erc20":
            fn = fns.claimToken if action == "claim" else fns.refundToken
            return fn(first, p.token, *rest)
        fn = fns.claimPartition if action == "claim" else fns.refundPartition
        return fn(first, p.token, p.partition or DEFAULT, *rest)

    def _expect_settle(self, kind: str, action: str, p: LockParams) -> ModelLock | None:
        """The open model lock a settle call of ``kind`` with parameters ``p`` must close."""
        hit = self.model.get(p.lock_id)
        if hit is None or hit.state != "open" or hit.kind != kind:
            return None
        now = self._next_ts()
        if (action == "claim") != (now < p.deadline):
            return None
        return hit

    def _settle(
        self, signer: EvmSigner, kind: str, action: str, secret: bytes, shaped: LockParams
    ) -> bool:
        """Send a claim (with ``secret``) or refund through ``kind``'s function with the
        parameters ``shaped`` (a zero receiver / sender stands for the caller), predict its
        outcome from the model, and book the payment."""

        def caller_if_zero(address: str) -> str:
            return signer.address if int(address, 16) == 0 else address

        target = LockParams(
            hashlib.sha256(secret).digest() if action == "claim" else shaped.hashlock,
            shaped.token,
            caller_if_zero(shaped.sender),
            caller_if_zero(shaped.receiver),
            shaped.amount,
            shaped.deadline,
            partition=shaped.partition,
        )
        expected = self._expect_settle(kind, action, target)
        first = secret if action == "claim" else shaped.hashlock
        ok, fee = _call(self.w.client, signer, self._settle_call(kind, action, first, shaped))
        if signer.address != self.w.relayer.address:
            self.coin[self._name(signer.address)] -= fee
        assert ok == (expected is not None), (kind, action, shaped, expected)
        if expected is not None:
            expected.state = "claimed" if action == "claim" else "refunded"
            payee = expected.params.receiver if action == "claim" else expected.params.sender
            self._pay(expected.params, payee)
        return ok

    # ---- rules -------------------------------------------------------------------------

    @initialize()
    def start(self) -> None:
        assert self.w.client.balance(self.w.htlc.address) == 0

    @rule(
        target=locks,
        sender=st.sampled_from(PARTIES),
        receiver=st.sampled_from(PARTIES),
        kind=st.sampled_from(KINDS),
        partition=st.sampled_from(PARTITIONS),
        amount=st.integers(1, 10**18),
        ttl=st.integers(1, 7200),
    )
    def lock(
        self, sender: str, receiver: str, kind: str, partition: bytes, amount: int, ttl: int
    ) -> str:
        signer = self.w.parties[sender]
        secret = self._secret()
        hashlock = hashlib.sha256(secret).digest()
        deadline = self._next_ts() + ttl
        to = self.w.parties[receiver].address
        token = {"native": NATIVE, "erc20": self.w.token.address}.get(kind, self.w.st1400.address)
        part = partition if kind == "partition" else None
        params = LockParams(hashlock, token, signer.address, to, amount, deadline, partition=part)
        value = amount if kind == "native" else 0
        ok, fee = _call(self.w.client, signer, self._lock_call(params), value=value)
        assert ok
        self.coin[sender] -= fee + value
        if kind != "native":
            self.units[sender][self._asset(params)] -= amount
        self.model[params.lock_id] = ModelLock(params, secret)
        return params.lock_id

    @rule(lock_id=locks)
    def lock_again(self, lock_id: str) -> None:
        """Re-sending a lock's exact parameters: refused while it is open."""
        entry = self.model[lock_id]
        p = entry.params
        sender = self._name(p.sender)
        next_ts = self._next_ts()
        value = p.amount if p.native else 0
        ok, fee = _call(self.w.client, self.w.parties[sender], self._lock_call(p), value=value)
        expected = entry.state != "open" and next_ts < p.deadline <= next_ts + MAX_LOCK
        assert ok == expected, (entry.state, next_ts, p.deadline)
        event(f"re-lock {'accepted' if ok else 'refused'}")
        self.coin[sender] -= fee
        if ok:
            entry.state = "open"
            self.coin[sender] -= value
            if not p.native:
                self.units[sender][self._asset(p)] -= p.amount

    @rule(lock_id=locks, right_secret=st.booleans())
    def claim(self, lock_id: str, right_secret: bool) -> None:
        entry = self.model[lock_id]
        secret = entry.secret if right_secret else self._secret()
        ok = self._settle(self.w.relayer, entry.kind, "claim", secret, entry.params)
        event(f"claim {'paid' if ok else 'refused'}")

    @rule(lock_id=locks)
    def refund(self, lock_id: str) -> None:
        entry = self.model[lock_id]
        ok = self._settle(self.w.relayer, entry.kind, "refund", b"", entry.params)
        event(f"refund {'paid' if ok else 'refused'}")

    @rule(
        lock_id=locks,
        family=st.sampled_from(KINDS),
        action=st.sampled_from(("claim", "refund")),
        token=st.sampled_from(TOKEN_SHAPES),
        partition=st.sampled_from(("same", "default", "other")),
        right_secret=st.booleans(),
        blank_party=st.booleans(),
    )
    def stranger_settles(
        self,
        lock_id: str,
        family: str,
        action: str,
        token: str,
        partition: str,
        right_secret: bool,
        blank_party: bool,
    ) -> None:
        """A third party claims or refunds through any function, with any argument shape
        built from a real lock's parameters: the token and partition swapped, the secret
        wrong, the receiver (claim) or sender (refund) left zero, meaning the caller."""
        entry = self.model[lock_id]
        p = entry.params
        mallory = self.w.parties[STRANGER]
        address = {
            "same": p.token,
            "zero": NATIVE,
            "no-code": mallory.address,
            "htlc": self.w.htlc.address,
            "sha256": "0x" + "00" * 19 + "02",
            "identity": "0x" + "00" * 19 + "04",
            "erc20": self.w.token.address,
            "erc1400": self.w.st1400.address,
        }[token]
        part = {"same": p.partition or DEFAULT, "default": DEFAULT, "other": OTHER}[partition]
        sender, receiver = p.sender, p.receiver
        if blank_party and action == "claim":
            receiver = NATIVE
        if blank_party and action == "refund":
            sender = NATIVE
        shaped = LockParams(
            p.hashlock,
            NATIVE if family == "native" else address,
            sender,
            receiver,
            p.amount,
            p.deadline,
            partition=part if family == "partition" else None,
        )
        secret = entry.secret if right_secret else self._secret()
        ok = self._settle(mallory, family, action, secret, shaped)
        event(f"stranger {family} {action} token={token}: {'paid' if ok else 'refused'}")

    @rule(
        family=st.sampled_from(("erc20", "partition")),
        token=st.sampled_from(TOKEN_SHAPES[1:]),
        partition=st.sampled_from(PARTITIONS),
        receiver=st.sampled_from(PARTIES),
        amount=st.integers(0, 10**6),
        ttl=st.integers(-10, 7200),
    )
    def stranger_locks(
        self, family: str, token: str, partition: bytes, receiver: str, amount: int, ttl: int
    ) -> None:
        """A third party with no tokens tries token and partition locks with any token:
        none can succeed (nothing is delivered), and none may change any balance."""
        mallory = self.w.parties[STRANGER]
        address = {
            "zero": NATIVE,
            "no-code": mallory.address,
            "htlc": self.w.htlc.address,
            "sha256": "0x" + "00" * 19 + "02",
            "identity": "0x" + "00" * 19 + "04",
            "erc20": self.w.token.address,
            "erc1400": self.w.st1400.address,
        }[token]
        params = LockParams(
            self._secret(),
            address,
            mallory.address,
            self.w.parties[receiver].address,
            amount,
            max(self._next_ts() + ttl, 0),
            partition=partition if family == "partition" else None,
        )
        ok, fee = _call(self.w.client, mallory, self._lock_call(params))
        self.coin[STRANGER] -= fee
        assert not ok, (family, token, amount)

    @rule(
        receiver=st.sampled_from(PARTIES),
        amount=st.integers(1, 10**18),
        ttl=st.integers(1, 7200),
        target=locks,
    )
    def stranger_locks_coin(self, receiver: str, amount: int, ttl: int) -> str:
        """A third party's own native lock is an ordinary lock (mallory is its sender)."""
        mallory = self.w.parties[STRANGER]
        secret = self._secret()
        params = LockParams(
            hashlib.sha256(secret).digest(),
            NATIVE,
            mallory.address,
            self.w.parties[receiver].address,
            amount,
            self._next_ts() + ttl,
        )
        ok, fee = _call(self.w.client, mallory, self._lock_call(params), value=amount)
        assert ok
        self.coin[STRANGER] -= fee + amount
        self.model[params.lock_id] = ModelLock(params, secret)
        return params.lock_id

    @rule(seconds=st.integers(1, 5400))
    def wait(self, seconds: int) -> None:
        # jump from the pending block's timestamp (py-evm refuses to travel backwards)
        tester = self.w.client.w3.provider.ethereum_tester  # type: ignore[attr-defined]
        tester.time_travel(self._next_ts() + seconds)

    # ---- invariants --------------------------------------------------------------------

    @invariant()
    def escrow_holds_exactly_its_open_locks(self) -> None:
        """Per asset, the HTLC holds the sum of the locks the *contract* reports open, and
        the contract reports open exactly the locks the model has open."""
        held = {"coin": self.w.client.balance(self.w.htlc.address)}
        held.update(self._holding(self.w.htlc.address))
        owed = dict.fromkeys(held, 0)
        for lock_id, entry in self.model.items():
            key = bytes.fromhex(lock_id[2:])
            is_open = bool(self._view(self.w.htlc.contract.functions.isOpen(key)))
            if is_open:
                owed[self._asset(entry.params)] += entry.params.amount
            assert is_open == (entry.state == "open"), (lock_id, entry.state)
        assert held == owed

    @invariant()
    def parties_hold_what_the_model_says(self) -> None:
        for name, signer in self.w.parties.items():
            assert self.w.client.balance(signer.address) == self.coin[name]
            assert self._holding(signer.address) == self.units[name]


@pytest.fixture(scope="module", params=[None, "berlin"], ids=["cancun-build", "berlin-build"])
def built_world(request: pytest.FixtureRequest) -> World:
    """Build the chain before hypothesis runs (py-evm adjusts the recursion limit once):
    py-evm's default VM with the Cancun build (transient marks), and a Berlin VM with the
    pre-Cancun build (storage guard)."""
    return world(request.param)


def test_htlc_contract_against_model(built_world: World) -> None:
    """Invariant: after any sequence of locks (coin, ERC-20, ERC-1400 partitions), re-sent
    locks, claims (right or wrong secret, sent by a third party), refunds, time jumps, and a
    third party calling every public function with every argument shape (token = 0, an
    address without code, a precompile, the HTLC, the other token; partition swapped; zero
    receiver or sender), the HTLC's balance of every asset equals the sum of the locks the
    contract itself reports open; every party holds exactly what the model predicts (paid
    only as the fixed receiver on claim or the fixed sender on refund); a lock is claimable
    only while open, before its deadline, with its secret and through its own kind's
    function; refundable only while open and at or after its deadline; and a lock's
    parameters cannot be locked again while it is open."""
    assert built_world.client.balance(built_world.htlc.address) == 0
    fork = built_world.client.evm_version
    machine = type(
        "HtlcMachineAt" + fork.title(), (HtlcMachine,), {"fork": None if fork == "prague" else fork}
    )
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=min(settings().max_examples, 15 if fork == "prague" else 8),
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
