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
from pathlib import Path

from bridge.errors import NotFound
from bridge.swap import Outcome
from relayer.service import ComplianceResult, SwapOrder
from tests.integration.test_relayer_service import (  # noqa: F401 (fixtures)
    World,
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

    def compliance(o: SwapOrder) -> ComplianceResult:
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
