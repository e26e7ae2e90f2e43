"""Agreement: the interop suite's random workload ends the same on SQLite and PostgreSQL.

The same seed drives the adversarial state machine (:mod:`relayer.interop.machine`: the real
relayer on two anvil chains, every actor, a second replica on the same store) once with a
SQLite store and once with a PostgreSQL one (a fresh schema per example). The secrets are
drawn from a per-example counter, the clocks are the chains' and the machine's lease clock,
so the only difference between the two runs is the store: every example must end with the
same swaps in the same outcome and leg phases. Runs where ``STBRIDGE_TEST_PG`` is set (CI).
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import HealthCheck, Phase, seed, settings
from hypothesis.stateful import get_state_machine_test

from relayer.interop.machine import MachineConfig, finals, machine_class, reset_stats
from relayer.interop.strategies import scenarios, trades

pytestmark = [pytest.mark.anvil, pytest.mark.postgres]


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


@pytest.mark.parametrize(
    "examples", [3, pytest.param(8, marks=pytest.mark.thorough)], ids=["ci", "thorough"]
)
def test_sqlite_and_postgres_end_every_swap_in_the_same_state(pg_dsn: str, examples: int) -> None:
    """Invariant: for one seed, the final (outcome, initiator phase, participant phase) of
    every swap of every example is the same with either store.

    It failed before ``Store.claim_swaps`` ordered swaps created at the same instant by id:
    SQLite handed them out in insertion order, PostgreSQL in another, so a fault aimed at
    "the next submission" hit a different swap on each store (seen: one swap refunded and
    the other aborted, swapped between the stores)."""
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
