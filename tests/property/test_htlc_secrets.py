"""Properties of swap secrets and hashlocks (bridge.htlc)."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge.errors import InvalidInput
from bridge.htlc import Secret, hashlock, verify_secret

secrets32 = st.binary(min_size=32, max_size=32)


@given(value=secrets32)
def test_hashlock_is_sha256_and_secret_never_shown(value: bytes) -> None:
    """Invariant: for every 32-byte secret, hashlock(secret) == sha256(secret), the secret
    opens its own hashlock, and no text form of the Secret (repr, str, format, inside a
    container) contains its bytes in hex."""
    secret = Secret(value)
    assert hashlock(value) == hashlib.sha256(value).digest() == secret.hashlock
    assert verify_secret(secret, secret.hashlock)
    for text in (repr(secret), str(secret), format(secret, ""), repr([secret]), f"{secret!s}"):
        assert value.hex() not in text
        assert value.hex().upper() not in text
    assert secret.reveal() == value


@given(value=st.binary(max_size=80).filter(lambda b: len(b) != 32))
def test_any_other_length_is_refused_without_echo(value: bytes) -> None:
    """Invariant: a secret of any length but 32 is refused with InvalidInput naming the
    field, and the error text does not contain the offered bytes."""
    with pytest.raises(InvalidInput) as refused:
        hashlock(value)
    assert refused.value.field == "secret"
    if len(value) >= 4:
        assert value.hex() not in str(refused.value)


@given(a=secrets32, b=secrets32)
def test_distinct_secrets_do_not_open_each_other(a: bytes, b: bytes) -> None:
    """Invariant: a secret opens another secret's hashlock only if they are equal."""
    assert verify_secret(a, hashlock(b)) == (a == b)
