"""The daemon's move settings and its test-only move kill point (pure; the daemon process
itself is in ``tests/integration/test_move_daemon.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.errors import ConfigError, InvalidInput
from relayer.daemon import _crash_plan
from relayer.move_daemon import move_kill_point
from relayer.settings import load_settings

ADMIN = "A" * 58


def settings_file(tmp_path: Path, moves: str) -> Path:
    path = tmp_path / "relayer.toml"
    path.write_text(
        f"""
store = "{tmp_path / "r.sqlite3"}"
[[chains]]
name = "ibet"
kind = "evm"
endpoint = "http://127.0.0.1:8545"
[moves]
{moves}
"""
    )
    return path


def test_the_moves_section_is_validated_naming_the_field(tmp_path: Path) -> None:
    good = (
        f'home_chain = "ibet"\ntoken = "0x{"11" * 20}"\nissuer = "0x{"22" * 20}"\n'
        f'mirror_chain = "algo"\nasset_id = 7\napp_id = 6\nadmin = "{ADMIN}"'
    )
    settings = load_settings(settings_file(tmp_path, good))
    assert settings.moves is not None
    assert (settings.moves.asset_id, settings.moves.app_id) == (7, 6)
    with pytest.raises(ConfigError, match=r"moves\.token"):
        load_settings(settings_file(tmp_path, good.replace("0x" + "11" * 20, "0x12")))
    with pytest.raises(ConfigError, match=r"moves\.asset_id"):
        load_settings(settings_file(tmp_path, good.replace("asset_id = 7", "asset_id = 0")))


def test_the_move_kill_point_is_test_only_and_well_formed() -> None:
    armed = {"STBRIDGE_FAULT_KILL": "move:mint:sent", "STBRIDGE_TEST_MODE": "1"}
    assert move_kill_point(armed) == "mint:sent"
    assert move_kill_point({"STBRIDGE_FAULT_KILL": "move:mint:sent"}) is None
    assert move_kill_point({"STBRIDGE_FAULT_KILL": "send:1", "STBRIDGE_TEST_MODE": "1"}) is None
    with pytest.raises(InvalidInput, match="STBRIDGE_FAULT_KILL"):
        move_kill_point({"STBRIDGE_FAULT_KILL": "move:mint", "STBRIDGE_TEST_MODE": "1"})


def test_the_daemon_refuses_a_move_kill_point_outside_test_mode(tmp_path: Path) -> None:
    from relayer.settings import RelayerSettings

    settings = RelayerSettings(store=str(tmp_path / "r.sqlite3"))
    with pytest.raises(ConfigError, match="STBRIDGE_TEST_MODE"):
        _crash_plan(settings, {"STBRIDGE_FAULT_KILL": "move:mint:sent"})
    assert (
        _crash_plan(settings, {"STBRIDGE_FAULT_KILL": "move:mint:sent", "STBRIDGE_TEST_MODE": "1"})
        is None
    )
