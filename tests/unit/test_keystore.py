"""Encrypted keystores for EVM and Algorand relayer accounts."""

from __future__ import annotations

import secrets
import stat
from pathlib import Path

import pytest
from algosdk import account

from bridge.errors import ConfigError, InvalidInput
from relayer.keystore import load_signer, password_from_env, write_keystore


@pytest.mark.parametrize("kind", ["evm", "algorand"])
def test_round_trip_and_no_key_in_clear(tmp_path: Path, kind: str) -> None:
    key = secrets.token_bytes(32)
    path = tmp_path / f"{kind}.json"
    address = write_keystore(path, kind=kind, key=key, password="correct horse", iterations=2**10)  # type: ignore[arg-type]
    text = path.read_text()
    assert key.hex() not in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    signer = load_signer(path, "correct horse")
    assert signer.address == address
    assert key.hex() not in repr(signer)
    if kind == "algorand":
        assert account.address_from_private_key(signer._AlgorandSigner__key) == address  # type: ignore[attr-defined]


def test_wrong_password_and_bad_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "k.json"
    write_keystore(
        path, kind="evm", key=secrets.token_bytes(32), password="correct horse", iterations=2**10
    )
    with pytest.raises(ConfigError, match="wrong password"):
        load_signer(path, "wrong horse")
    with pytest.raises(ConfigError, match="no such keystore"):
        load_signer(tmp_path / "none.json", "x")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ConfigError, match="invalid JSON"):
        load_signer(tmp_path / "bad.json", "x")
    with pytest.raises(InvalidInput, match="at least 8"):
        write_keystore(path, kind="evm", key=secrets.token_bytes(32), password="short")
    monkeypatch.delenv("STBRIDGE_KEYSTORE_PASSWORD", raising=False)
    with pytest.raises(ConfigError, match="not set"):
        password_from_env("STBRIDGE_KEYSTORE_PASSWORD")
