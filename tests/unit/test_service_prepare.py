"""A relayer loads its token adapters at start (``RelayerService.prepare``), not in the
first swap's tick; a broken adapter plugin is named at start and the built-in ones serve."""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from bridge.htlc import RelayerBudget
from relayer.sealing import SealingKey
from relayer.service import ComplianceResult, RelayerService
from relayer.store import SqliteStore

ROOT = Path(__file__).resolve().parents[2]


def _service(tmp_path: Path) -> RelayerService:
    return RelayerService(
        store=SqliteStore(tmp_path / "relayer.sqlite3"),
        chains={},
        compliance=lambda order, at: ComplianceResult(True, (), {}),
        sealing_key=SealingKey.generate(),
        budget=RelayerBudget(reaction_s=30, compliance_recheck_s=10, margin_s=60),
        wall_clock=time.time,
    )


def test_prepare_loads_every_installed_token_adapter_before_any_tick() -> None:
    """In a fresh process the adapter modules are not loaded by building a relayer, and are
    loaded (every standard named) once ``prepare`` returns."""
    program = (
        "import sys, tempfile, time, pathlib\n"
        "sys.path.insert(0, '.')\n"
        "from tests.unit.test_service_prepare import _service\n"
        "service = _service(pathlib.Path(tempfile.mkdtemp()))\n"
        "print('before', 'adapters.evm.erc3643' in sys.modules)\n"
        "print('standards', ','.join(service.prepare()))\n"
        "print('after', 'adapters.evm.erc3643' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", program], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split("\n")
    assert out[0] == "before False"
    standards = out[1].removeprefix("standards ").split(",")
    assert {"erc20", "erc1400", "erc1404", "erc3643", "ibet_share", "asa"} <= set(standards)
    assert out[2] == "after True"


def test_a_broken_adapter_plugin_is_named_at_start_and_the_built_in_ones_serve(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        name, value = "bad-plugin", "nowhere.module:SPEC"

        def load(self) -> Any:
            raise ImportError("No module named 'nowhere'")

    import bridge.registry

    monkeypatch.setattr(bridge.registry, "entry_points", lambda group: [Broken()])
    with caplog.at_level(logging.WARNING, logger="relayer.service"):
        standards = _service(tmp_path).prepare()
    assert "bad-plugin" in caplog.text
    assert "built-in adapters serve" in caplog.text
    assert {"erc20", "erc3643", "erc1400"} <= set(standards)
