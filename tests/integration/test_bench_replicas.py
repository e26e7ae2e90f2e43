"""``stbridge bench relayer --replicas``: relayer replicas, each its own process, on one
PostgreSQL store and two anvil chains; the work divides and every swap takes effect exactly
once on both chains (read from the HTLCs' events and the receivers' balances)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from relayer.bench import app
from relayer.bench_plot import relayer_figure

pytestmark = [pytest.mark.anvil, pytest.mark.postgres, pytest.mark.timeout(600)]

runner = CliRunner()


def _bench(*args: str) -> dict[str, Any]:
    result = runner.invoke(app, ["relayer", "--chains", "anvil", *args, "--json"])
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def _check_run(run: dict[str, Any], swaps: int) -> None:
    assert run["errors"] == []
    assert run["completed"] == swaps
    assert run["outcomes"] == {"completed": swaps}
    check = run["exactly_once"]
    assert check["ok"] is True, check["problems"]
    for leg in ("security", "cash"):
        assert check[leg] == {
            "locks": swaps,
            "claims": swaps,
            "refunds": 0,
            "swaps_locked_twice": 0,
        }
    delivered = check["delivered"]
    assert delivered["units"] == delivered["expected_units"] == sum(1 + n % 7 for n in range(swaps))
    assert delivered["wei"] == delivered["expected_wei"]
    # every replica reported; together they acted on every swap
    assert [r["replica"] for r in run["per_replica"]] == list(range(run["replicas"]))
    assert sum(r["swaps_acted_on"] for r in run["per_replica"]) >= swaps
    for stage in ("compliance", "initiator_lock", "participant_lock", "reveal", "settle"):
        assert run["stages"][stage]["count"] == swaps, stage
    assert run["transactions_sent"]["security"] >= 2 * swaps  # lock, claim


def test_two_replicas_share_the_swaps_and_settle_each_exactly_once(pg_dsn: str) -> None:
    """Two replica processes on one store: each leases its half of the book (so both act),
    and on both chains every swap is locked once and claimed once, nothing refunded."""
    document = _bench("--swaps", "4", "--replicas", "2", "--pg-dsn", pg_dsn)
    assert document["all_exactly_once"] is True
    [run] = document["runs"]
    _check_run(run, 4)
    assert all(r["swaps_acted_on"] >= 1 for r in run["per_replica"]), run["per_replica"]
    conditions = document["conditions"]
    assert conditions["store"].startswith("PostgreSQL")
    assert conditions["cores"] == os.cpu_count()
    assert conditions["confirmations"] == 0


def test_the_check_reports_a_double_effect(pg_dsn: str) -> None:
    """The exactly-once check reads the chains, not the store: an extra lock of a swap's
    hashlock, sent behind the relayer's back after the run, is reported as a problem."""
    from relayer import bench_replicas

    caught: list[dict[str, Any]] = []
    real = bench_replicas._exactly_once

    def with_a_second_lock(
        world: Any, clients: Any, ids: Any, submitter: Any, receivers: Any
    ) -> dict[str, Any]:
        from adapters.evm.htlc import EvmHtlc
        from adapters.evm.signer import EvmSigner

        terms = submitter.store.get(ids[0]).terms
        cash = clients["cash"]
        htlc = EvmHtlc(cash, world.htlcs[1], from_block=world.htlc_blocks[1])
        call = htlc._fn(  # the cash leg's hashlock locked again, straight to the contract
            "lock", bytes.fromhex(terms.hashlock[2:]), receivers[1], terms.participant_deadline
        )
        data = bytes.fromhex(call._encode_transaction_data()[2:])
        cash.transact(EvmSigner(world.buyer_keys[0]), htlc.address, data, value=1)
        caught.append(real(world, clients, ids, submitter, receivers))
        return caught[-1]

    bench_replicas._exactly_once = with_a_second_lock  # type: ignore[assignment]
    try:
        document = bench_replicas.run_replicas_bench(2, (1,), pg_dsn, Console(quiet=True))
    finally:
        bench_replicas._exactly_once = real  # type: ignore[assignment]
    assert document["all_exactly_once"] is False
    check = caught[0]
    assert check["cash"]["swaps_locked_twice"] == 1
    assert check["cash"]["locks"] == 3  # two swaps, one locked twice
    assert check["security"]["swaps_locked_twice"] == 0
    assert "cash: 1 swaps locked or claimed more than once" in check["problems"]


@pytest.mark.thorough
def test_one_two_and_four_replicas_with_a_figure(pg_dsn: str, tmp_path: Path) -> None:
    """1, 2 and 4 replicas over 40 swaps: every run settles every swap exactly once, and
    the figure plots throughput against the replica count."""
    figure = tmp_path / "replicas.png"
    document = _bench(
        "--swaps", "40", "--replicas", "1,2,4", "--pg-dsn", pg_dsn, "--plot", str(figure)
    )
    assert document["all_exactly_once"] is True
    assert [r["replicas"] for r in document["runs"]] == [1, 2, 4]
    for run in document["runs"]:
        _check_run(run, 40)
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    drawn = relayer_figure(document)
    assert [x for x, _ in drawn.throughput] == [1, 2, 4]
    assert "replicas: 1,2,4" in drawn.title
