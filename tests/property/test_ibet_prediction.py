"""Prediction equals reality for the ibet adapters (share and straight bond), on both backends.

Random sequences of issuer switches (transferable, transfer approval, handling status,
personal-info registration) and holder actions (transfers to registered, unregistered and
contract receivers, forced transfers, transfer applications, locks and unlocks) run against
the real contracts; before each action the adapter's dry run predicts the verdict, and the
transaction is then sent with explicit gas so a refusal is a mined, failed transaction.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from adapters.evm.client import EvmReverted
from bridge.model import TransferCheck
from bridge.reasons import ReasonCode, from_ibet
from tests.fixtures.ibet import GAS, IbetWorld, ibet_world

PARTIES = ("issuer", "alice", "bob", "carol", "mallory")
RECEIVERS = (*PARTIES, "registry")
SIX_DIGITS = re.compile(r"\d{6}")
SENDERS = ("alice", "alice", "bob", "bob", "issuer", "carol", "mallory")  # mostly holders
AMOUNTS = st.one_of(
    st.integers(min_value=0, max_value=60), st.integers(min_value=0, max_value=1_200)
)


@pytest.fixture
def world(evm_backend: str, request: pytest.FixtureRequest) -> Iterator[IbetWorld]:
    """The ibet world on this backend, reverted after the test."""
    yield from ibet_world(evm_backend, request)


@dataclass(frozen=True)
class Step:
    """One action of a random sequence."""

    action: str
    sender: str = "alice"
    recipient: str = "bob"
    amount: int = 0
    flag: bool = False
    operator: str = "issuer"


STARTS = st.builds(
    Step, action=st.sampled_from(["transferable", "approval", "status"]), flag=st.booleans()
)
"""Switches set before the steps, so refusals of every kind come up in short sequences."""

LAST = st.builds(
    Step,
    action=st.just("transfer"),
    sender=st.sampled_from(["alice", "bob"]),
    recipient=st.sampled_from(RECEIVERS),
    amount=st.integers(min_value=0, max_value=60),
)
"""Every sequence ends with a holder's small transfer, checked under the switches drawn."""

STEPS = st.one_of(
    st.builds(
        Step,
        action=st.sampled_from(["transferable", "approval", "status"]),
        flag=st.booleans(),
    ),
    st.builds(Step, action=st.just("register"), sender=st.sampled_from(["mallory", "carol"])),
    st.builds(
        Step,
        action=st.sampled_from(["transfer", "transfer", "apply", "lock"]),
        sender=st.sampled_from(SENDERS),
        recipient=st.sampled_from(RECEIVERS),
        amount=AMOUNTS,
    ),
    st.builds(
        Step,
        action=st.just("forced"),
        sender=st.sampled_from(SENDERS),
        recipient=st.sampled_from(RECEIVERS),
        amount=AMOUNTS,
        operator=st.sampled_from(["issuer", "outsider"]),
    ),
    st.builds(
        Step,
        action=st.just("unlock"),
        sender=st.sampled_from(PARTIES),
        recipient=st.sampled_from(RECEIVERS),
        amount=st.integers(min_value=0, max_value=400),
    ),
)


def _attempt(send: Callable[[], object]) -> EvmReverted | None:
    """Run ``send``; the revert it raised, or None when the chain accepted it."""
    try:
        send()
    except EvmReverted as exc:
        return exc
    return None


class Run:
    """One example: performs steps and checks each prediction against the chain."""

    def __init__(self, world: IbetWorld, kind: str) -> None:
        self.world = world
        self.kind = kind
        self.adapter = world.adapter(kind)
        self.ref = world.ref(kind)
        self.address = world.token(kind)

    def position(self, who: str) -> tuple[int, int, int]:
        """(free, locked to ``locker``, pending) of ``who``, by direct reads.

        ``holding()`` would scan the lock events each time; the sequences lock to ``locker``
        only, and the final supply check goes through ``holders()``.
        """
        c, locker = self.adapter.token(self.address), self.world.addr("locker")
        return (
            int(self.adapter.read(c.functions.balanceOf(who))),
            int(self.adapter.read(c.functions.lockedOf(locker, who))),
            int(self.adapter.read(c.functions.pendingTransfer(who))),
        )

    def addr(self, name: str) -> str:
        return self.world.registry if name == "registry" else self.world.addr(name)

    def settle(self, verdict: TransferCheck, send: Callable[[], object]) -> bool:
        """Send; assert the outcome and the revert code match the prediction."""
        head = self.world.client.head()
        refused = _attempt(send)
        event(f"{verdict.reason.value} ({refused.revert.message if refused else 'accepted'})")
        if refused is None:
            assert verdict.allowed, f"predicted {verdict.refusals}, chain accepted"
            return True
        message = refused.revert.message
        assert self.world.client.head() == head + 1, "the refusal was a mined transaction"
        assert not verdict.allowed, f"predicted allowed, chain said {message}"
        first = verdict.refusals[0]
        assert first.raw_code == message
        if message is not None and SIX_DIGITS.fullmatch(message):
            assert first.code is from_ibet(message)
        else:  # the receiving contract's hook reverted, not the token
            assert first.code is ReasonCode.INVALID_RECEIVER
        return False

    def transfer(self, step: Step, forced: bool) -> None:
        w, a = self.world, self.adapter
        intent = w.intent(
            self.kind,
            step.sender,
            self.addr(step.recipient),
            step.amount,
            operator=step.operator if forced else None,
        )
        parties = {intent.sender, intent.recipient}
        before = {p: self.position(p) for p in parties}
        head = w.client.head()
        verdict = a.check_transfer(intent)
        assert w.client.head() == head, "a dry run sends nothing"
        signer = w.signers[step.operator if forced else step.sender]
        moved = self.settle(verdict, lambda: a.transfer(intent, signer, gas=GAS))
        after = {p: self.position(p) for p in parties}
        if moved and intent.sender != intent.recipient:
            assert after[intent.sender][0] == before[intent.sender][0] - step.amount
            assert after[intent.recipient][0] == before[intent.recipient][0] + step.amount
        else:
            assert after == before

    def apply(self, step: Step) -> None:
        a = self.adapter
        intent = self.world.intent(self.kind, step.sender, self.addr(step.recipient), step.amount)
        before = self.position(intent.sender)
        verdict = a.check_apply_for_transfer(intent)
        signer = self.world.signers[step.sender]
        applied = self.settle(verdict, lambda: a.apply_for_transfer(intent, signer, gas=GAS))
        after = self.position(intent.sender)
        if applied:
            assert after == (before[0] - step.amount, before[1], before[2] + step.amount)
        else:
            assert after == before

    def lock(self, step: Step) -> None:
        a, w = self.adapter, self.world
        before = self.position(w.addr(step.sender))
        predicted = before[0] >= step.amount
        refused = _attempt(
            lambda: a.lock(
                self.ref,
                lock_address=w.addr("locker"),
                amount=step.amount,
                signer=w.signers[step.sender],
            )
        )
        if refused is not None:
            assert not predicted
            assert refused.revert.message == a.code("0002")
            return
        assert predicted
        after = self.position(w.addr(step.sender))
        assert after == (before[0] - step.amount, before[1] + step.amount, before[2])

    def unlock(self, step: Step) -> None:
        a, w = self.adapter, self.world
        account, recipient = w.addr(step.sender), self.addr(step.recipient)
        verdict = a.check_unlock(
            self.ref,
            lock_address=w.addr("locker"),
            account=account,
            recipient=recipient,
            amount=step.amount,
        )
        native = [r for r in verdict.refusals if r.raw_code is not None]
        head = w.client.head()
        refused = _attempt(
            lambda: a.unlock(
                self.ref,
                account=account,
                recipient=recipient,
                amount=step.amount,
                signer=w.signers["locker"],
                enforce=False,
            )
        )
        if refused is not None:
            message = refused.revert.message
            assert native, f"predicted unlock allowed, chain said {message}"
            assert native[0].raw_code == message
            return
        assert not native
        assert w.client.head() > head

    def run(self, step: Step) -> None:
        w = self.world
        if step.action in ("transferable", "approval", "status"):
            fn = {
                "transferable": "setTransferable",
                "approval": "setTransferApprovalRequired",
                "status": "setStatus",
            }[step.action]
            w.call(self.kind, "issuer", fn, step.flag)
        elif step.action == "register":
            registry = self.adapter.registry(w.registry)
            data = registry.encode_abi("register", args=[w.addr("issuer"), "x"])
            self.adapter.send_call(w.signers[step.sender], w.registry, data, "register")
        elif step.action in ("transfer", "forced"):
            self.transfer(step, forced=step.action == "forced")
        elif step.action == "apply":
            self.apply(step)
        elif step.action == "lock":
            self.lock(step)
        else:
            self.unlock(step)

    def supply_is_conserved(self) -> None:
        holdings = list(self.adapter.holders(self.ref))
        total = sum(h.balance + h.total_locked + h.pending for h in holdings)
        assert total == self.adapter.read_asset(self.ref).total_supply


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    kind=st.sampled_from(["share", "bond"]),
    start=st.lists(STARTS, max_size=3, unique_by=lambda s: s.action),
    steps=st.lists(STEPS, max_size=6),
    last=LAST,
)
def test_dry_run_verdict_and_reason_equal_the_chain(
    world: IbetWorld, kind: str, start: list[Step], steps: list[Step], last: Step
) -> None:
    """Invariant: for any sequence of ibet actions, every dry run equals reality.

    Before each transfer, forced transfer, transfer application and unlock, the adapter's
    verdict (allowed or not) equals whether the chain accepted the transaction; a refused
    one's first refusal carries exactly the six-digit code the chain reverted with, and its
    canonical code is that code's mapping; balances (free, locked, pending) move exactly by
    the amount when accepted and not at all when refused; a dry run sends nothing; and after
    the sequence the total supply equals the sum of every holder's free, locked and pending
    units.
    """
    snapshot = world.client.snapshot()
    try:
        run = Run(world, kind)
        for step in [*start, *steps, last]:
            run.run(step)
        run.supply_is_conserved()
    finally:
        world.client.revert(snapshot)
