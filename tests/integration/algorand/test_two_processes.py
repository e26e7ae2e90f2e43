"""Fault 6: two processes using embedded ledgers at once do not corrupt each other."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(180)

_ROOT = Path(__file__).resolve().parents[3]


def test_two_processes_at_once_each_see_only_their_own_ledger() -> None:
    """Fault 6: the binary's folder ``/tmp/jig`` is fixed, so two processes sharing it read
    each other's state. Two processes run the same scenario with different seeds at the
    same time; each must end with exactly its own expected balances, units and round.
    Sharing one folder, one process evaluates against the other's accounts and gets
    "overspend"/missing-account errors or wrong balances, failing the assertions.
    """
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.integration.algorand.two_process_scenario", str(seed)],
            cwd=_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for seed in (3, 7)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=170)
        assert proc.returncode == 0, err.decode()[-2000:]
        results.append(json.loads(out.decode().strip().splitlines()[-1]))
    for seed, result in zip((3, 7), results, strict=True):
        assert result["seed"] == seed
        assert result["bob"] == result["bob_expected"]
        assert result["alice"] == result["alice_expected"]
        assert result["units"] == seed
        assert result["total"] == 10_000 + seed
        assert result["round"] == 12


def test_two_ledgers_evaluate_at_the_same_time_in_two_processes(tmp_path: Path) -> None:
    """Each embedded ledger has its own folder and no machine-wide lock: while one process
    is inside an evaluation (its folder written, the evaluator not yet run), another process
    evaluates whole groups on its own ledger, and both end with exactly their own state.

    With the former shared ``/tmp/jig`` and its machine-wide lock the second process could
    not evaluate (it waits for the lock; the first gives up waiting for it), and without
    the lock it would overwrite the first one's files.
    """
    procs = {
        role: subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.integration.algorand.concurrent_scenario",
                role,
                str(tmp_path),
                str(seed),
            ],
            cwd=_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for role, seed in (("hold", 5), ("run", 9))
    }
    answers: dict[str, tuple[int, bytes, bytes]] = {}
    try:
        for role, proc in procs.items():
            out, err = proc.communicate(timeout=170)
            answers[role] = (proc.returncode, out, err)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    for role, (code, out, err) in answers.items():
        assert code == 0, f"{role}: {err.decode()[-2000:]}"
        result = json.loads(out.decode().strip().splitlines()[-1])
        assert result["alice"] == result["alice_expected"], role
        assert result["bob"] == result["bob_expected"], role
    assert (tmp_path / "held").exists()
    assert (tmp_path / "done").exists()
