"""Agreement: the interop suite's random workload ends the same on SQLite and PostgreSQL.

The same seed drives the adversarial state machine (:mod:`relayer.interop.machine`: the real
relayer on two anvil chains, every actor, a second replica on the same store) once with a
SQLite store and once with a PostgreSQL one (a fresh schema per example). The secrets are
drawn from a per-example counter, the clocks are the chains' and the machine's lease clock,
so the only difference between the two runs is the store: every example must end with the
same swaps in the same outcome and leg phases. Runs where ``STBRIDGE_TEST_PG`` is set (CI).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, Phase, seed, settings
from hypothesis.stateful import get_state_machine_test

from relayer.interop.machine import MachineConfig, finals, machine_class, reset_stats
from relayer.interop.strategies import scenarios, trades
from relayer.store import Store
from tests.integration.test_store import Clock, make_store, swap_terms  # noqa: F401 (fixture)

STORE_RULES = frozenset(
    {
        "submit",
        "tick",
        "replica_tick",
        "lease_expires",
        "takeover_mid_effect",
        "drop_submissions",
        "crash_restart",
        "pass_time",
        "counterparty_lock",
        "look_alike",
    }
)
"""The rules that exercise the store (leases, fencing, journal, restarts) and move swaps."""


def _run(config: MachineConfig, examples: int) -> list[list[tuple[str, str, str]]]:
    reset_stats()
    test = get_state_machine_test(
        machine_class(config),
        settings=settings(
            max_examples=examples,
            stateful_step_count=10,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        ),
    )
    seed(20_261_203)(test)()
    return [list(example) for example in finals()]


def test_swaps_created_at_the_same_instant_are_handed_out_in_id_order(
    make_store: Callable[[Clock], Store],  # noqa: F811
) -> None:
    """The regression the agreement run found: ``claim_swaps`` orders swaps created at the
    same instant by their id, on either store (before, SQLite handed them out in insertion
    order and PostgreSQL in its own: a fault or a budget that reaches "the first swap" hit
    a different swap on each). Failed before on SQLite."""
    store = make_store(Clock())  # a fixed clock: every swap is created at the same instant
    for n in (3, 1, 2):
        store.create(swap_terms(n))
    ids = store.claim_swaps("relayer-a", lease_seconds=30, limit=10)
    assert ids == sorted(ids)
    assert len(ids) == 3


@pytest.mark.anvil
@pytest.mark.postgres
@pytest.mark.parametrize(
    "examples", [2, pytest.param(8, marks=pytest.mark.thorough)], ids=["ci", "thorough"]
)
def test_sqlite_and_postgres_end_every_swap_in_the_same_state(pg_dsn: str, examples: int) -> None:
    """Invariant: for one seed, the final (outcome, initiator phase, participant phase) of
    every swap of every example is the same with either store.

    An earlier build of the machine (3 examples) failed before ``Store.claim_swaps`` ordered
    swaps created at the same instant by id: SQLite handed them out in insertion order,
    PostgreSQL in another, so a fault aimed at "the next submission" hit a different swap on
    each store (one swap refunded and the other aborted, swapped between the stores). The
    machine's rules have changed since and this seed no longer reaches that tie; the plain
    regression test above keeps it."""
    sqlite = MachineConfig(
        name="agreement",
        sec_backend="anvil",
        scenario=scenarios(),
        trade=trades(extra_window_s=(0, 120)),
        max_swaps=2,
        rules=STORE_RULES,
    )
    postgres = replace(sqlite, store="postgres", pg_dsn=pg_dsn)
    on_sqlite = _run(sqlite, examples)
    on_postgres = _run(postgres, examples)
    assert any(on_sqlite), "no example submitted a swap: nothing was compared"
    assert on_sqlite == on_postgres
