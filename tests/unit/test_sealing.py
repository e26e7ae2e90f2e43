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


def test_the_sealed_form_is_standard_aes_gcm_both_ways() -> None:
    """Secrets sealed before (pycryptodome, one cipher per call) open now, and what is sealed
    now opens with an independent AES-GCM: stores on disk keep their sealed rows."""
    import base64

    from Crypto.Cipher import AES

    raw = bytes(range(100, 132))
    key = SealingKey(raw)
    nonce = bytes(range(12))
    reference = AES.new(raw, AES.MODE_GCM, nonce=nonce)
    reference.update(b"swap-1")
    body, tag = reference.encrypt_and_digest(SECRET)
    older = f"v1:{base64.b64encode(nonce).decode()}:{base64.b64encode(body + tag).decode()}"
    assert key.unseal(older, swap_id="swap-1") == SECRET

    _, nonce_b64, payload_b64 = key.seal(SECRET, swap_id="swap-1").split(":")
    payload = base64.b64decode(payload_b64)
    check = AES.new(raw, AES.MODE_GCM, nonce=base64.b64decode(nonce_b64))
    check.update(b"swap-1")
    assert check.decrypt_and_verify(payload[:-16], payload[-16:]) == SECRET


@pytest.mark.parametrize("sealed", ["v1:AAAA:AAAA", "v1:!!:??", "v2:a:b", "v1:a", ""])
def test_a_malformed_sealed_secret_is_refused_as_not_opening(sealed: str) -> None:
    with pytest.raises(SettlementError, match="does not open"):
        SealingKey.generate().unseal(sealed, swap_id="swap-1")
