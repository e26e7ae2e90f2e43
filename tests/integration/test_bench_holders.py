"""``stbridge bench holders``: real holder scans on anvil, reported, never asserted as timings."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from bridge.cli import main

pytestmark = [pytest.mark.anvil, pytest.mark.timeout(600)]


def _bench(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, object]]:
    code = main(["bench", "holders", *args, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out) if code == 0 else {}


def test_erc20_and_erc1400_holders_all_read_in_few_requests(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Each token gets exactly ``size`` holders and the scan reads every one of them, in a
    handful of JSON-RPC requests (logs from the deployment block, balances in batches): the
    requests per holder reported are the requests counted over the holders read."""
    code, numbers = _bench(capsys, "--size", "40", "--standard", "erc20", "--standard", "erc1400")
    assert code == 0
    conditions = numbers["conditions"]
    assert isinstance(conditions, dict)
    assert conditions["backend"] == "anvil"
    assert conditions["log_scan_from"] == "deployment block"
    results = numbers["results"]
    assert isinstance(results, list)
    assert [r["standard"] for r in results] == ["erc20", "erc1400"]
    for row in results:
        assert row["holders"] == 40
        assert "error" not in row
        # ERC-20: logs, balances; ERC-1400: logs, balances, partitions+flags, by partition,
        # the block's timestamp; plus the head
        assert 1 <= row["rpc_requests"] <= 8
        assert row["requests_per_holder"] == round(row["rpc_requests"] / 40, 4)


def test_plot_is_refused_clearly_before_anything_runs(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--plot`` must name a PNG in an existing folder, and matplotlib (an optional extra)
    must be installed: otherwise exit 3 naming ``--plot`` and the rule, with nothing run."""
    assert main(["bench", "holders", "--plot", str(tmp_path / "out.txt")]) == 3
    assert "--plot: must name a .png file" in capsys.readouterr().err
    assert main(["bench", "holders", "--plot", str(tmp_path / "no" / "out.png")]) == 3
    assert "--plot: its folder must exist" in capsys.readouterr().err
    real = importlib.util.find_spec
    monkeypatch.setattr(  # matplotlib absent, as on an install without the extra
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "matplotlib" else real(name, *a),
    )
    assert main(["bench", "holders", "--plot", str(tmp_path / "out.png")]) == 3
    err = capsys.readouterr().err
    assert "needs matplotlib" in err
    assert "stbridge[plot]" in err
    assert not (tmp_path / "out.png").exists()


@pytest.mark.thorough
def test_every_standard_with_a_figure(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """All three standards (T-REX's wallets registered to one identity) read every holder,
    and the figure is written (matplotlib: the plot extra, installed with dev)."""
    figure = tmp_path / "holders.png"
    code, numbers = _bench(capsys, "--size", "120", "--plot", str(figure))
    assert code == 0
    results = numbers["results"]
    assert isinstance(results, list)
    assert [r["standard"] for r in results] == ["erc3643", "erc20", "erc1400"]
    assert all(r["holders"] == 120 for r in results)
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_readme_block_parses(capsys: pytest.CaptureFixture[str]) -> None:
    """Every ``stbridge bench holders`` line of the README parses (its options exist): each
    runs with ``--help`` appended, which click answers only after parsing the line."""
    import re
    import shlex

    text = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    block = re.search(r"readme-test: bench_holders.*?```sh\n(.*?)```", text, re.DOTALL)
    assert block is not None
    lines = [ln.split("#")[0].strip() for ln in block.group(1).splitlines()]
    commands = [shlex.split(ln) for ln in lines if ln]
    assert len(commands) == 3
    for words in commands:
        assert words[:3] == ["stbridge", "bench", "holders"]
        assert main([*words[1:], "--help"]) == 0, words
        assert "Usage: stbridge bench holders" in capsys.readouterr().out
