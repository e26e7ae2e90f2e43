"""``stbridge interop-test``: the command runs the suite, reports, and replays a failure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bridge.cli import main
from relayer.interop.names import ACTORS

pytestmark = pytest.mark.anvil


def test_help_explains_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["interop-test", "--help"]) == 0
    output = capsys.readouterr().out
    for option in (
        "--profile",
        "--seed",
        "--minutes",
        "--report",
        "--replay",
        "--actors",
        "--chains",
        "--security",
        "--adapters",
    ):
        assert option in output
    assert "evm-algorand" in output
    assert "erc1400" in output


def test_an_unknown_chain_pair_is_refused_naming_the_field(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["interop-test", "--chains", "evm-solana"]) == 3
    assert "chains" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args",
    [["--security", "erc3643"], ["--security", "erc1400", "--sec-backend", "pyevm"]],
)
def test_an_unknown_security_or_erc1400_on_pyevm_is_refused_naming_the_field(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["interop-test", *args]) == 3
    assert "security" in capsys.readouterr().err


def test_a_short_run_of_the_erc1400_world_passes_and_says_so(tmp_path: Path) -> None:
    """``--adapters erc1400,erc20`` (the same as ``--security erc1400``; ci profile, seed 1,
    the relayer and the parties' actors):
    the orders are of the partitioned ERC-1400 security (plain or of one class), its actors
    run beside the others, the real relayer keeps every invariant, and the report says
    which security the orders were of."""
    out = tmp_path / "report.json"
    code = main(
        [
            "interop-test",
            "--adapters",
            "erc1400,erc20",
            "--seed",
            "1",
            "--actors",
            "relayer,counterparty,third_party,token_agent",
            "--report",
            str(out),
        ]
    )
    body = json.loads(out.read_text())
    assert code == 0, body["failures"]
    assert body["security"] == "erc1400"
    assert body["chains"] == "evm-evm"
    assert body["rules"].get("submit", 0) >= 1
    assert body["relayer_ticks"] > 0
    assert {"partition_look_alike", "seller_other_partition"} <= set(body["rules"])


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--adapters", "erc1400"], "two adapters"),
        (["--adapters", "ibet_share,erc20"], "erc3643, erc1400"),
        (["--adapters", "erc3643,algorand"], "erc20, asa"),
        (["--adapters", "erc1400,erc20", "--security", "trex"], "--security erc1400"),
        (["--adapters", "erc3643,asa", "--chains", "evm-evm"], "--chains evm-algorand"),
    ],
)
def test_adapters_the_suite_cannot_drive_or_that_contradict_an_option_are_refused(
    args: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--adapters`` names the security's adapter, then the cash's: fewer, unknown ones,
    or one that contradicts ``--security`` / ``--chains`` given beside it are refused
    before anything starts, naming the field and the rule."""
    assert main(["interop-test", *args]) == 3
    err = capsys.readouterr().err
    assert "adapters" in err
    assert says in err


def test_bad_actor_is_refused_naming_the_field(tmp_path: Path) -> None:
    assert main(["interop-test", "--actors", "wizard"]) == 3


def test_a_short_run_writes_a_report(tmp_path: Path) -> None:
    """A ci run restricted to the chains and the relayer on a fixed seed: it passes on the
    real code and its JSON report counts examples, steps and invariants."""
    out = tmp_path / "report.json"
    code = main(["interop-test", "--seed", "3", "--actors", "chains,relayer", "--report", str(out)])
    body = json.loads(out.read_text())
    assert code == 0, body["failures"]
    assert body["passed"] is True
    assert body["seed"] == 3
    assert body["examples"] >= 1
    assert body["invariants_checked"] > body["examples"]
    replayed = main(["interop-test", "--replay", str(out)])
    assert replayed == 0  # no failure recorded: nothing reproduces


@pytest.mark.thorough
def test_a_short_run_with_the_cash_on_algorand_passes_on_the_real_relayer(tmp_path: Path) -> None:
    """The ci profile with the cash leg on the embedded Algorand ledger and every actor (the
    decoy escrows, the issuer's clawback and the restart past the look-back among them):
    the real relayer keeps every invariant, and the report says where the legs ran."""
    out = tmp_path / "report.json"
    code = main(["interop-test", "--adapters", "erc3643,asa", "--seed", "5", "--report", str(out)])
    body = json.loads(out.read_text())
    assert code == 0, body["failures"]
    assert body["chains"] == "evm-algorand"
    assert body["security"] == "trex"
    assert body["examples"] >= 1
    assert body["relayer_ticks"] > 0


def test_a_replayed_failure_that_no_longer_happens_exits_zero(tmp_path: Path) -> None:
    """``--replay`` exits 1 only while a recorded failure still reproduces. The report of
    the 30-minute run on 459e07d (seed 1103, a nonce gap since fixed) replays clean on the
    fixed relayer: hypothesis says the blob did not reproduce, which is the failure fixed,
    not a new one (before, the replay reported it as a failure and exited 1)."""
    report = tmp_path / "report.json"
    body = {
        "profile": "thorough",
        "seed": 1100,
        "actors": list(ACTORS),
        "sec_backend": "anvil",
        "chains": "evm-evm",
        "security": "trex",
        "hypothesis": "6.170.27",
        "failures": [
            {
                "seed": 1103,
                "invariant": "every_swap_reaches_a_final_state",
                "reproduce_failure": {"version": "6.170.27", "blob": _SEED_1103_BLOB},
            }
        ],
    }
    report.write_text(json.dumps(body), encoding="utf-8")
    out = tmp_path / "replay.json"
    assert main(["interop-test", "--replay", str(report), "--report", str(out)]) == 0
    assert json.loads(out.read_text())["failures"] == []


_SEED_1103_BLOB = (
    "AXicfVJLTsNADPVLotBPWgoVUJLSBgo7Fkic4M2WW3AN7sACNtyAFWIBCLGmHIQj5AbYk6SNStQZacZjP/v5M8KY"
    "oe6YCQMKOxzpmeqtGnHyoa9MHB5d8OvkB8I9EOCBCIewx0BUnKiLakOBX2Kbu1SLWc9K0BQ8BEfQgGjg7K4FXQR7"
    "hEenPNdjE1wJpZo7nKmH4nNoARE4lVZ4jQ81LTx8vy7fLpfvxdfzU/F5/3JzfSecW4A5o/98Wi1PzJobU23WNCPh"
    "GGaKwf4GbzNL8x2oRxc8NTnZnmNkhEfWO/NIwMWa12gz4QXYgU0gX4dqiVT1MrAEpRxZqMOArydlT7gQ1XQ9xfH2"
    "rGJmvHVSOAQaqc9969ikdTorH1/D2M9dqYcNcDV2rDqEsjDL0j7XTGgpWxusZj8D/4tUvMIfs5o7rw=="
)
