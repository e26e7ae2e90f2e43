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
    """Fault 6: the binary's folder ``/tmp/jig`` is fixed, so two unlocked processes read
    each other's state. Two processes run the same scenario with different seeds at the
    same time; each must end with exactly its own expected balances, units and round.
    Without the file lock one process evaluates against the other's accounts and gets
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
