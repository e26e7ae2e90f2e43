"""``stbridge bench``: each benchmark runs from the CLI and reports what it measured."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adapters.evm.htlc_gas import OPERATIONS
from relayer.bench import app
from relayer.bench_plot import relayer_figure

runner = CliRunner()


def test_bench_compliance_reports_decisions() -> None:
    result = runner.invoke(app, ["compliance", "--seconds", "0.2", "--json"])
    assert result.exit_code == 0, result.output
    numbers = json.loads(result.stdout)
    for mode in ("single", "batch"):  # the median pass of each, per CPU-second and wall
        assert numbers[mode]["decisions"] == numbers[mode]["passes"] * numbers["mix"]["trades"]
        assert numbers[mode]["decisions_per_cpu_second"] > 0
        low, high = numbers[mode]["cpu_range"]
        assert low <= numbers[mode]["decisions_per_cpu_second"] <= high
    assert sum(numbers["outcomes"].values()) == numbers["mix"]["trades"]  # one pass's verdicts
    assert numbers["jurisdictions"] >= 7


def test_bench_gas_per_target_and_token_kind_with_boltz_quoted() -> None:
    result = runner.invoke(app, ["gas", "--target", "berlin", "--target", "cancun", "--json"])
    assert result.exit_code == 0, result.output
    numbers = json.loads(result.stdout)
    assert numbers["boltz_v6"]["quoted"] is True
    assert "quoted, not measured" in numbers["boltz_v6"]["conditions"]
    assert set(numbers["boltz_v6"]["figures"]) == set(OPERATIONS)
    assert list(numbers["targets"]) == ["berlin", "cancun"]
    for row in numbers["targets"].values():
        assert list(row["kinds"]) == [
            "native", "erc20", "erc3643 (T-REX)", "erc1400 partition", "ibet"
        ]  # fmt: skip
        for ops in row["kinds"].values():
            assert list(ops) == ["lock", "claim", "refund", "direct transfer"]
            for used in ops.values():
                assert 21_000 <= used < 400_000
    boltz = numbers["boltz_v6"]
    assert "minus the direct transfer" in boltz["comparison"]
    for row in numbers["targets"].values():
        above = []
        for kind, ops in row["kinds"].items():
            boltz_kind = "native" if kind == "native" else "erc20"
            for op in ("lock", "claim", "refund"):
                overhead = ops[op] - ops["direct transfer"]
                assert row["overhead"][kind][op] == overhead
                margin = overhead - boltz["overhead"][f"{boltz_kind} {op}"]
                assert row["margin"][kind][op] == margin
                if margin > 0:
                    above.append(f"{kind} {op}")
        assert row["above_boltz"] == above
        assert row["at_or_below_boltz"] is (not above)
    cancun = numbers["targets"]["cancun"]
    for kind in ("native", "erc20"):  # the kinds Boltz was measured on
        assert all(m <= 0 for m in cancun["margin"][kind].values()), cancun["margin"]
    for kind, ops in cancun["margin"].items():  # every claim and refund, every kind
        assert ops["claim"] <= 0, (kind, ops)
        assert ops["refund"] <= 0, (kind, ops)
    # the partition and ibet locks at or below Boltz; T-REX's, still above, at most where
    # adapters/evm/htlc_gas.py says it stands (issue 19): a change that makes one dearer
    # fails here
    assert cancun["margin"]["erc1400 partition"]["lock"] <= 0, cancun["margin"]
    assert cancun["margin"]["erc3643 (T-REX)"]["lock"] <= 5_920, cancun["margin"]
    assert cancun["margin"]["ibet"]["lock"] <= 0, cancun["margin"]
    for row in numbers["targets"].values():  # a lock in a fresh slot: the word is created
        assert row["ibet first lock"] >= row["kinds"]["ibet"]["lock"] + 15_000
    refused = runner.invoke(app, ["gas", "--target", "istanbul"])
    assert refused.exit_code != 0
    assert "--target" in refused.output


def test_bench_relayer_settles_every_wave_times_its_stages_and_draws_it(tmp_path: Path) -> None:
    """Two waves (1, then 2 swaps) on one embedded world: every swap completes, each wave's
    stage timings count that wave's swaps only, and ``--plot`` draws throughput against
    concurrency and the time per stage, titled with the conditions of the run."""
    figure = tmp_path / "relayer.png"
    result = runner.invoke(app, ["relayer", "--swaps", "1,2", "--plot", str(figure), "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    runs = document["runs"]
    assert [r["swaps"] for r in runs] == [1, 2]
    for run in runs:
        n = run["swaps"]
        assert run["completed"] == n
        assert run["outcomes"] == {"completed": n}
        for stage in ("compliance", "initiator_lock", "participant_lock", "reveal", "settle"):
            assert run["stages"][stage]["count"] == n, (n, stage)
        # the wave's cash locks in one round, its cash claims in another (each round one
        # run of the evaluator), and one simulation per revealing claim
        assert run["algorand_rounds_per_swap"] == round(2 / n, 2)
        assert run["algorand_evaluations_per_swap"] == round((2 + n) / n, 2)
        assert run["conditions_detail"]["concurrency"] == n
        funding = run["funding"]  # from the counts: each open ASA lock's deposit and fees
        assert funding["buyer_microalgos_per_lock"] == 208_000 + 4 * 1_000
        assert funding["buyer_microalgos_needed"] == n * funding["buyer_microalgos_per_lock"]
        assert funding["seller_gas_per_swap"] > 0
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    drawn = relayer_figure(document)
    assert [x for x, _ in drawn.throughput] == [1, 2]
    assert [y for _, y in drawn.throughput] == [r["swaps_per_minute"] for r in runs]
    assert set(drawn.stages) == {"1 swap", "2 swaps"}
    for words in ("backend: embedded", "block time:", "confirmations: 0", "concurrency: 1,2",
                  f"cores: {os.cpu_count()}", "store: SQLite"):  # fmt: skip
        assert words in drawn.title, (words, drawn.title)


def test_bench_refuses_a_bad_swap_count() -> None:
    result = runner.invoke(app, ["relayer", "--swaps", "0"])
    assert result.exit_code != 0
    assert "--swaps" in result.output


def test_bench_relayer_refuses_bad_chains_and_options(tmp_path: Path) -> None:
    for args, hint in (
        (["--chains", "ganache"], "--chains"),
        (["--block-time", "1"], "--block-time"),  # anvil only
        (["--swaps", "1001"], "--swaps"),  # the embedded seller holds 1,000 units
        (["--swaps", "600,401"], "--swaps"),  # ... in all the waves together
        (["--swaps", "10,x"], "--swaps"),
        (["--swaps", "10,10"], "--swaps"),
        (["--replicas", "1,2"], "--replicas"),  # anvil only
        (["--chains", "anvil", "--replicas", "0,2", "--pg-dsn", "postgresql://x"], "--replicas"),
        (["--chains", "anvil", "--replicas", "1,2", "--swaps", "5,6"], "--swaps"),
        (["--plot", str(tmp_path / "out.txt")], "--plot"),
        (["--chains", "anvil", "--heads", "sometimes"], "--heads"),
    ):
        refused = runner.invoke(app, ["relayer", *args])
        assert refused.exit_code != 0, args
        said = refused.output + str(refused.exception or "")  # InvalidInput: exit 3 in main
        assert hint in said, (args, said)
    missing = runner.invoke(  # no DSN: the replicas need a shared PostgreSQL store
        app, ["relayer", "--chains", "anvil", "--replicas", "1,2"], env={"STBRIDGE_TEST_PG": ""}
    )
    assert missing.exit_code != 0
    assert "--pg-dsn" in missing.output, missing.output


@pytest.mark.thorough
def test_bench_relayer_on_two_anvil_chains_reports_cpu_requests_and_blocks() -> None:
    """Two anvil processes (started and stopped by the bench): every swap completes, and
    the report carries the relayer's CPU and memory, RPC requests per swap for each leg
    (with the methods) and each leg's lock and claim in blocks from submission."""
    result = runner.invoke(app, ["relayer", "--chains", "anvil", "--swaps", "2", "--json"])
    assert result.exit_code == 0, result.output
    numbers = json.loads(result.stdout)
    assert numbers["outcomes"] == {"completed": 2}
    assert numbers["cpu_ms_per_swap"] > 0
    assert numbers["peak_rss_mb"] > 0
    assert set(numbers["legs"]) == {"security", "cash"}
    for leg in ("security", "cash"):
        assert numbers["legs"][leg]["requests_per_swap"] > 0
        assert numbers["requests_by_method"][leg]["eth_sendRawTransaction"] == 2  # lock, claim
    for event in ("initiator locked", "initiator claimed", "participant locked"):
        assert numbers["blocks"][event]["count"] == 2
        assert numbers["blocks"][event]["max"] >= 1
    assert "anvil" in numbers["conditions"]


def test_readme_relayer_block_parses(capsys: pytest.CaptureFixture[str]) -> None:
    """Every ``stbridge bench relayer`` line of the README parses (its options exist): each
    runs with ``--help`` appended, which click answers only after parsing the line."""
    import re
    import shlex

    from bridge.cli import main

    text = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    block = re.search(r"readme-test: bench_relayer.*?```sh\n(.*?)```", text, re.DOTALL)
    assert block is not None
    lines = [ln.split("#")[0].strip() for ln in block.group(1).splitlines()]
    commands = [shlex.split(ln) for ln in lines if ln]
    assert len(commands) == 3
    for words in commands:
        assert words[:3] == ["stbridge", "bench", "relayer"]
        assert main([*words[1:], "--help"]) == 0, words
        assert "Usage: stbridge bench relayer" in capsys.readouterr().out
