"""The API's edges towards callers it does not trust (issue 13, item 11).

A relayer with a real SQLite store and no chains: what matters here is what an
unauthenticated caller can make the server do or say.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bridge.htlc import RelayerBudget
from relayer.api import create_app
from relayer.sealing import SealingKey
from relayer.service import ComplianceResult, RelayerService
from relayer.store import SqliteStore

TOKEN = "auth-token-0123456789"


def _service(path: Path) -> RelayerService:
    return RelayerService(
        store=SqliteStore(path),
        chains={},
        compliance=lambda order: ComplianceResult(True),
        sealing_key=SealingKey.generate(),
        budget=RelayerBudget(reaction_s=1, compliance_recheck_s=1, margin_s=1),
        wall_clock=time.time,
    )


@pytest.mark.parametrize(
    "credential",
    [
        "tökén-0123456789abcdef".encode("latin-1"),  # Latin-1 bytes, decoded as such by ASGI
        "トークン-0123456789".encode(),  # UTF-8 bytes of a Japanese token
        b"\xff\xfe\x00\x01-0123456789abcd",
    ],
)
def test_a_non_ascii_bearer_token_is_401_not_500(tmp_path: Path, credential: bytes) -> None:
    """A caller sending a token with non-ASCII bytes is refused like any wrong token."""
    client = TestClient(create_app(_service(tmp_path / "r.sqlite3"), token=TOKEN))
    answer = client.get("/swaps", headers={"Authorization": b"Bearer " + credential})
    assert answer.status_code == 401, answer.text
    assert answer.headers["www-authenticate"] == "Bearer"


def test_a_non_ascii_configured_token_still_accepts_itself(tmp_path: Path) -> None:
    """The comparison is on bytes: a configured non-ASCII token works when sent as UTF-8."""
    token = "jeton-sécurisé-0123456789"
    client = TestClient(create_app(_service(tmp_path / "r.sqlite3"), token=token))
    good = {"Authorization": b"Bearer " + token.encode()}
    assert client.get("/swaps", headers=good).status_code == 200
    assert client.get("/swaps", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 401


def test_readyz_does_not_tell_an_anonymous_caller_why_the_store_failed(tmp_path: Path) -> None:
    """A broken store answers 503 without its error text (paths, SQL, DSN host names)."""
    path = tmp_path / "relayer.sqlite3"
    client = TestClient(create_app(_service(path), token=TOKEN))
    assert client.get("/readyz").json() == {"status": "ready"}
    with sqlite3.connect(path) as other:  # a real fault: the table is gone under the daemon
        other.execute("DROP TABLE swaps")
    answer = client.get("/readyz")
    assert answer.status_code == 503
    assert str(tmp_path) not in answer.text
    assert "swaps" not in answer.text
    assert answer.json()["status"] == "not ready"
