"""Swap secrets are sealed with AES-GCM bound to their swap, and never shown."""

from __future__ import annotations

import pytest

from bridge.errors import ConfigError, SettlementError
from relayer.sealing import SealingKey, key_from_env

SECRET = bytes(range(32))


def test_seal_round_trip_and_no_clear_text() -> None:
    key = SealingKey.generate()
    sealed = key.seal(SECRET, swap_id="swap-1")
    assert SECRET.hex() not in sealed
    assert key.unseal(sealed, swap_id="swap-1") == SECRET
    assert key.seal(SECRET, swap_id="swap-1") != sealed  # fresh nonce each time


def test_wrong_swap_wrong_key_or_tampering_is_refused() -> None:
    key = SealingKey.generate()
    sealed = key.seal(SECRET, swap_id="swap-1")
    with pytest.raises(SettlementError, match="does not open"):
        key.unseal(sealed, swap_id="swap-2")
    with pytest.raises(SettlementError):
        SealingKey.generate().unseal(sealed, swap_id="swap-1")
    version, nonce, payload = sealed.split(":")
    flipped = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1]
    with pytest.raises(SettlementError):
        key.unseal(":".join((version, nonce, flipped)), swap_id="swap-1")


def test_key_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = "11" * 32
    monkeypatch.setenv("STBRIDGE_SECRET_KEY", raw)
    key = key_from_env()
    assert raw not in repr(key)
    assert raw not in str(key)
    monkeypatch.setenv("STBRIDGE_SECRET_KEY", "zz")
    with pytest.raises(ConfigError, match="64 hex digits"):
        key_from_env()
    monkeypatch.delenv("STBRIDGE_SECRET_KEY")
    with pytest.raises(ConfigError, match="not set"):
        key_from_env()
