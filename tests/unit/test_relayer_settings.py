"""The relayer settings: TOML file plus STBRIDGE_* environment, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.errors import ConfigError
from relayer.settings import load_settings

GOOD = """
store = "relayer.sqlite3"
replica_id = "r1"

[api]
port = 9000

[[chains]]
name = "evm-local"
kind = "evm"
endpoint = "embedded"
confirmations = 2

[[chains]]
name = "algo"
kind = "algorand"
endpoint = "embedded"
confirmations = 0
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "relayer.toml"
    path.write_text(text)
    return path


def test_file_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings(write(tmp_path, GOOD))
    assert settings.api.port == 9000
    assert settings.chain("algo").confirmations == 0
    monkeypatch.setenv("STBRIDGE_REPLICA_ID", "r2")
    monkeypatch.setenv("STBRIDGE_API__PORT", "9100")
    settings = load_settings(write(tmp_path, GOOD))
    assert settings.replica_id == "r2"
    assert settings.api.port == 9100


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD.replace('kind = "evm"', 'kind = "solana"'), "chains[0].kind"),
        (GOOD.replace("port = 9000", "port = 70000"), "api.port"),
        (GOOD.replace('name = "algo"', 'name = "evm-local"'), "names must be unique"),
        (GOOD + "\ncolour = 1\n", "colour"),
        ("store = [", "not valid TOML"),
    ],
)
def test_bad_files_are_refused_naming_the_place(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert str(path) in str(info.value)
    assert message in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such settings file"):
        load_settings(tmp_path / "absent.toml")
    with pytest.raises(ConfigError, match="no chain named"):
        load_settings(write(tmp_path, GOOD)).chain("nope")


def test_a_bad_environment_override_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The error points at what the operator must fix: the variable, not the good file."""
    monkeypatch.setenv("STBRIDGE_API__PORT", "seventy")
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, GOOD))
    assert "environment variable STBRIDGE_API__PORT" in str(info.value)
    assert str(tmp_path) not in str(info.value)
    assert info.value.exit_code == 3


def test_a_configuration_without_chains_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"chains: at least one \[\[chains\]\]"):
        load_settings(write(tmp_path, 'store = "x.sqlite3"\n'))


def test_log_level_is_a_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings(write(tmp_path, GOOD)).log_level == "INFO"
    monkeypatch.setenv("STBRIDGE_LOG_LEVEL", "DEBUG")
    assert load_settings(write(tmp_path, GOOD)).log_level == "DEBUG"
    monkeypatch.setenv("STBRIDGE_LOG_LEVEL", "LOUD")
    with pytest.raises(ConfigError, match="STBRIDGE_LOG_LEVEL"):
        load_settings(write(tmp_path, GOOD))
