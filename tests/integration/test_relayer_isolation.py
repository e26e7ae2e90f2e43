"""One failing swap never stalls the others (issue 13, item 12).

Actor: the operator's own bugs and a counterparty whose order trips them. An exception
raised while one swap is observed or acted on is caught for that swap alone: the other
swaps of the tick go on, the failing one is retried with a capped exponential back-off
(kept in its ``last_error`` document, so a restart keeps it), counted in
``stbridge_swap_errors_total`` and shown with its reason in the swap's audit record.

On the two real EVM chains of ``test_relayer_service`` (py-evm and anvil).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from bridge.errors import NotFound
from bridge.model import Refusal
from bridge.reasons import ReasonCode
from bridge.swap import LegPhase, Outcome
from relayer.service import ComplianceResult, SwapOrder
from tests.integration.test_relayer_service import (  # noqa: F401 (fixtures)
    World,
    _now,
    order,
    run,
    service,
    snapshots,
    token_balance,
    world,
)


class RetryClock:
    """The clock the service times its retries with, moved by the test."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_one_swap_raising_does_not_stall_the_others(
    world: World,  # noqa: F811
    tmp_path: Path,
    snapshots: None,  # noqa: F811
) -> None:
    clock = RetryClock()
    svc = service(world, tmp_path)
    svc.retry_clock = clock
    calls: dict[str, int] = {}
    broken = {"poison-1"}

    def compliance(o: SwapOrder, at: object) -> ComplianceResult:
        calls[o.order_id] = calls.get(o.order_id, 0) + 1
        if o.order_id in broken:
            raise ValueError(f"rule table has no entry for order {o.order_id}")
        return ComplianceResult(True, (), {"rules": "test"})

    svc.compliance = compliance
    poison = svc.submit(order(world, "poison-1")).terms.swap_id  # older: first in each tick
    good = svc.submit(order(world, "good-1")).terms.swap_id
    buyer_before = token_balance(world, world.buyer_on_sec.address)

    run(svc, good, ticks=8)  # no tick raises
    assert svc.store.get(good).outcome is Outcome.COMPLETED
    assert token_balance(world, world.buyer_on_sec.address) - buyer_before == 100
    # the failing swap was tried once, then held back: the clock did not move
    assert calls["poison-1"] == 1
    assert svc.store.get(poison).outcome is Outcome.OPEN
    error = json.loads(svc.store.document(poison, "last_error"))
    assert error["error"] == "ValueError"
    assert "no entry for order poison-1" in error["reason"]
    assert error["attempts"] == 1
    assert error["retry_at"] > clock.now
    assert svc.audit(poison)["last_error"] == error
    assert _errors(svc) == 1.0

    # its back-off passes: retried, fails again, waits twice as long
    clock.now = error["retry_at"]
    svc.tick()
    assert calls["poison-1"] == 2
    second = json.loads(svc.store.document(poison, "last_error"))
    assert second["attempts"] == 2
    assert second["retry_at"] - clock.now == 2 * (error["retry_at"] - error["at"])
    assert _errors(svc) == 2.0

    # a restarted relayer (same store) keeps the back-off
    svc.store.close()
    again = service(world, tmp_path, key=svc._key)
    again.retry_clock, again.compliance = clock, compliance
    again.tick()
    assert calls["poison-1"] == 2

    # the fault is fixed: the swap goes on from where it stopped and its error is cleared
    broken.clear()
    clock.now = second["retry_at"]
    run(again, poison, ticks=8)
    assert again.store.get(poison).outcome is Outcome.COMPLETED
    try:
        again.store.document(poison, "last_error")
        cleared = False
    except NotFound:
        cleared = True
    assert cleared
    assert again.audit(poison)["last_error"] is None


def _errors(svc: object) -> float:
    from relayer.service import RelayerService

    assert isinstance(svc, RelayerService)
    value = svc.metrics.registry.get_sample_value(
        "stbridge_swap_errors_total", {"error": "ValueError"}
    )
    return 0.0 if value is None else value


def test_a_lock_the_chain_no_longer_shows_is_never_refunded_as_done(
    world: World,  # noqa: F811
    tmp_path: Path,
    snapshots: None,  # noqa: F811
) -> None:
    """Issue 13, item 6: "not found" is never "done". The buyer's cash lock on anvil is
    observed, the re-check fails (the buyer's KYC lapsed), then a reorg deeper than the
    confirmation depth removes the lock. At the deadline the refund finds no lock: the
    effect stays pending, the swap shows the reason and is retried with back-off, instead
    of the refund being recorded as made."""
    clock = RetryClock()
    svc = service(world, tmp_path)
    svc.retry_clock = clock
    checks: list[str] = []

    def kyc_lapses_after_the_locks(o: SwapOrder, at: datetime) -> ComplianceResult:
        checks.append(o.order_id)
        if len(checks) == 1:
            return ComplianceResult(True, (), {"rules": "test"})
        refusal = Refusal(code=ReasonCode.KYC_EXPIRED, detail="the buyer's KYC lapsed")
        return ComplianceResult(False, (refusal,))

    svc.compliance = kyc_lapses_after_the_locks
    swap_id = svc.submit(order(world, "vanished-1")).terms.swap_id
    svc.tick()  # compliance; the security lock on py-evm
    before_cash_lock = world.cash.snapshot()
    svc.tick()  # the security lock is observed; the cash lock is sent on anvil
    svc.tick()  # the cash lock is observed; the re-check fails
    state = svc.store.get(swap_id)
    assert state.recheck == "failed"
    assert state.participant.phase is LegPhase.LOCKED
    world.cash.revert(before_cash_lock)  # a deep reorg: the lock is gone
    world.cash.increase_time(state.terms.participant_deadline - _now(world.cash) + 1)
    world.cash.mine()
    svc.tick()  # the refund of the cash leg finds no lock
    state = svc.store.get(swap_id)
    assert state.participant.phase is LegPhase.REFUND_SENT
    pending = [p.effect.kind for p in svc.store.pending_effects(swap_id)]
    assert "submit_refund" in pending  # not taken as done
    error = json.loads(svc.store.document(swap_id, "last_error"))
    assert "no participant lock found to refund" in error["reason"]
    svc.tick()  # held back: the retry clock has not moved
    assert json.loads(svc.store.document(swap_id, "last_error"))["attempts"] == 1
    clock.now = error["retry_at"]
    svc.tick()
    assert json.loads(svc.store.document(swap_id, "last_error"))["attempts"] == 2
    assert "submit_refund" in [p.effect.kind for p in svc.store.pending_effects(swap_id)]
