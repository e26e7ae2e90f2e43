"""Stateful property test of HTLC.sol on a real py-evm chain, against a plain Python model.

Random sequences of locks (native coin and an ERC-20), re-sent locks, claims with the right
or a wrong secret, refunds and jumps in time are sent as raw transactions with fixed gas,
so the contract alone decides; the model predicts every outcome and every balance.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest
from hypothesis import event, settings
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
from adapters.evm.contracts import load_artifact
from adapters.evm.htlc import NATIVE, EvmHtlc, LockParams
from adapters.evm.signer import EvmSigner

GAS = 300_000
PARTIES = ("alice", "bob", "carol")
MAX_LOCK = 366 * 24 * 3600


@dataclass
class World:
    """One py-evm chain with an HTLC, an ERC-20, three funded parties and a relayer."""

    client: EvmClient
    htlc: EvmHtlc
    token: Any
    parties: dict[str, EvmSigner]
    relayer: EvmSigner


@cache
def world() -> World:
    client = EvmClient.embedded()
    parties = {name: EvmSigner.from_seed(f"htlc-state:{name}") for name in PARTIES}
    relayer = EvmSigner.from_seed("htlc-state:relayer")
    for signer in (*parties.values(), relayer):
        client.fund(signer.address, 10**22)
    htlc = EvmHtlc.deploy(client, relayer)
    artifact = load_artifact("FeeToken")
    token = client.deploy(relayer, artifact.abi, artifact.bytecode, 0)
    for signer in parties.values():
        _call(client, relayer, token.functions.mint(signer.address, 10**30))
        _call(client, signer, token.functions.approve(htlc.address, 2**256 - 1))
    return World(client, htlc, token, parties, relayer)


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


@dataclass
class ModelLock:
    params: LockParams
    secret: bytes
    state: str = "open"


class HtlcMachine(RuleBasedStateMachine):
    """The contract against the model: who holds what, and which locks are open."""

    locks = Bundle("locks")

    def __init__(self) -> None:
        super().__init__()
        self.w = world()
        self.snapshot = self.w.client.snapshot()
        self.model: dict[str, ModelLock] = {}
        self.counter = 0
        self.coin = {n: self.w.client.balance(s.address) for n, s in self.w.parties.items()}
        self.units = {n: self._units(s.address) for n, s in self.w.parties.items()}

    def _view(self, fn_call: Any) -> Any:
        # eth_call from a funded account: py-evm checks the caller can pay the call's gas
        return fn_call.call({"from": self.w.relayer.address})

    def _units(self, address: str) -> int:
        return int(self._view(self.w.token.functions.balanceOf(address)))

    def teardown(self) -> None:
        self.w.client.revert(self.snapshot)

    def _next_ts(self) -> int:
        return int(self.w.client.w3.eth.get_block("pending")["timestamp"])

    def _secret(self) -> bytes:
        self.counter += 1
        return hashlib.sha256(b"state-secret:%d" % self.counter).digest()

    def _pay(self, lock: LockParams, to: str) -> None:
        name = next(n for n, s in self.w.parties.items() if s.address == to)
        if lock.native:
            self.coin[name] += lock.amount
        else:
            self.units[name] += lock.amount

    @initialize()
    def start(self) -> None:
        assert self.w.client.balance(self.w.htlc.address) == 0

    @rule(
        target=locks,
        sender=st.sampled_from(PARTIES),
        receiver=st.sampled_from(PARTIES),
        native=st.booleans(),
        amount=st.integers(1, 10**18),
        ttl=st.integers(1, 7200),
    )
    def lock(self, sender: str, receiver: str, native: bool, amount: int, ttl: int) -> str:
        signer = self.w.parties[sender]
        secret = self._secret()
        hashlock = hashlib.sha256(secret).digest()
        deadline = self._next_ts() + ttl
        to = self.w.parties[receiver].address
        fns = self.w.htlc.contract.functions
        if native:
            ok, fee = _call(self.w.client, signer, fns.lock(hashlock, to, deadline), value=amount)
            token = NATIVE
        else:
            token = self.w.token.address
            ok, fee = _call(
                self.w.client, signer, fns.lockToken(token, amount, hashlock, to, deadline)
            )
        assert ok
        params = LockParams(hashlock, token, signer.address, to, amount, deadline)
        self.coin[sender] -= fee + (amount if native else 0)
        if not native:
            self.units[sender] -= amount
        self.model[params.lock_id] = ModelLock(params, secret)
        return params.lock_id

    @rule(lock_id=locks)
    def lock_again(self, lock_id: str) -> None:
        """Re-sending a lock's exact parameters: refused while it is open."""
        entry = self.model[lock_id]
        p = entry.params
        sender = next(n for n, s in self.w.parties.items() if s.address == p.sender)
        fns = self.w.htlc.contract.functions
        next_ts = self._next_ts()
        if p.native:
            call = fns.lock(p.hashlock, p.receiver, p.deadline)
            ok, fee = _call(self.w.client, self.w.parties[sender], call, value=p.amount)
        else:
            call = fns.lockToken(p.token, p.amount, p.hashlock, p.receiver, p.deadline)
            ok, fee = _call(self.w.client, self.w.parties[sender], call)
        expected = entry.state != "open" and next_ts < p.deadline <= next_ts + MAX_LOCK
        assert ok == expected, (entry.state, next_ts, p.deadline)
        event(f"re-lock {'accepted' if ok else 'refused'}")
        self.coin[sender] -= fee
        if ok:
            entry.state = "open"
            if p.native:
                self.coin[sender] -= p.amount
            else:
                self.units[sender] -= p.amount

    @rule(lock_id=locks, right_secret=st.booleans())
    def claim(self, lock_id: str, right_secret: bool) -> None:
        entry = self.model[lock_id]
        p = entry.params
        secret = entry.secret if right_secret else self._secret()
        fns = self.w.htlc.contract.functions
        if p.native:
            call = fns.claim(secret, p.sender, p.receiver, p.amount, p.deadline)
        else:
            call = fns.claimToken(secret, p.token, p.sender, p.receiver, p.amount, p.deadline)
        next_ts = self._next_ts()
        ok, _ = _call(self.w.client, self.w.relayer, call)
        expected = entry.state == "open" and right_secret and next_ts < p.deadline
        assert ok == expected, (entry.state, right_secret, next_ts, p.deadline)
        event(f"claim {'paid' if ok else 'refused'}")
        if ok:
            entry.state = "claimed"
            self._pay(p, p.receiver)

    @rule(lock_id=locks)
    def refund(self, lock_id: str) -> None:
        entry = self.model[lock_id]
        p = entry.params
        fns = self.w.htlc.contract.functions
        if p.native:
            call = fns.refund(p.hashlock, p.sender, p.receiver, p.amount, p.deadline)
        else:
            call = fns.refundToken(p.hashlock, p.token, p.sender, p.receiver, p.amount, p.deadline)
        next_ts = self._next_ts()
        ok, _ = _call(self.w.client, self.w.relayer, call)
        expected = entry.state == "open" and next_ts >= p.deadline
        assert ok == expected, (entry.state, next_ts, p.deadline)
        event(f"refund {'paid' if ok else 'refused'}")
        if ok:
            entry.state = "refunded"
            self._pay(p, p.sender)

    @rule(seconds=st.integers(1, 5400))
    def wait(self, seconds: int) -> None:
        # jump from the pending block's timestamp (py-evm refuses to travel backwards)
        tester = self.w.client.w3.provider.ethereum_tester  # type: ignore[attr-defined]
        tester.time_travel(self._next_ts() + seconds)

    @invariant()
    def escrow_holds_exactly_the_open_locks(self) -> None:
        open_coin = sum(
            e.params.amount for e in self.model.values() if e.state == "open" and e.params.native
        )
        open_units = sum(
            e.params.amount
            for e in self.model.values()
            if e.state == "open" and not e.params.native
        )
        assert self.w.client.balance(self.w.htlc.address) == open_coin
        assert self._units(self.w.htlc.address) == open_units

    @invariant()
    def parties_hold_what_the_model_says(self) -> None:
        for name, signer in self.w.parties.items():
            assert self.w.client.balance(signer.address) == self.coin[name]
            assert self._units(signer.address) == self.units[name]

    @invariant()
    def open_flags_match(self) -> None:
        for lock_id, entry in self.model.items():
            is_open = self._view(self.w.htlc.contract.functions.isOpen(bytes.fromhex(lock_id[2:])))
            assert is_open == (entry.state == "open")


@pytest.fixture(scope="module")
def built_world() -> World:
    """Build the chain before hypothesis runs (py-evm adjusts the recursion limit once)."""
    return world()


def test_htlc_contract_against_model(built_world: World) -> None:
    """Invariant: after any sequence of locks, re-sent locks, claims (right or wrong secret,
    sent by a third party), refunds and time jumps, the escrow holds exactly the sum of the
    open locks of each asset; every party holds exactly what the model predicts (paid only
    as the fixed receiver on claim or the fixed sender on refund); a lock is claimable only
    while open, before its deadline and with its secret; refundable only while open and at
    or after its deadline; and a lock's parameters cannot be locked again while it is open."""
    assert built_world.client.balance(built_world.htlc.address) == 0
    run_state_machine_as_test(
        HtlcMachine,
        settings=settings(
            max_examples=min(settings().max_examples, 15),
            stateful_step_count=20,
            deadline=None,
        ),
    )
