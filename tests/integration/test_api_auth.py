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


PROBLEM_KEYS = {"type", "title", "status", "detail"}


def _problem(answer: object, status: int) -> dict[str, object]:
    """The answer is an RFC 9457 problem with ``status``."""
    assert answer.status_code == status, answer.text  # type: ignore[attr-defined]
    assert answer.headers["content-type"] == "application/problem+json"  # type: ignore[attr-defined]
    body: dict[str, object] = answer.json()  # type: ignore[attr-defined]
    assert body.keys() >= PROBLEM_KEYS
    assert body["status"] == status
    return body


def test_every_error_is_a_problem_document(tmp_path: Path) -> None:
    """401, 404, 422 (model validation and our own rules) all answer in one shape."""
    client = TestClient(create_app(_service(tmp_path / "r.sqlite3"), token=TOKEN))
    body = _problem(client.get("/swaps"), 401)
    assert body["title"] == "Unauthorized"
    authed = TestClient(
        create_app(_service(tmp_path / "s.sqlite3"), token=TOKEN),
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    body = _problem(authed.get("/swaps/0x" + "00" * 32), 404)
    assert body["instance"] == "/swaps/0x" + "00" * 32
    body = _problem(authed.get("/swaps", params={"limit": 0}), 422)
    assert body["field"] == "limit"
    assert body["errors"][0]["loc"] == ["query", "limit"]  # type: ignore[index]
    body = _problem(authed.post("/swaps", json={"order_id": "x"}), 422)
    assert str(body["field"]) in {"security", "cash", "settlement_window_s"}
    body = _problem(authed.get("/no-such-route"), 404)


def test_openapi_types_the_error_answers(tmp_path: Path) -> None:
    spec = TestClient(create_app(_service(tmp_path / "r.sqlite3"), token=TOKEN)).get(
        "/openapi.json"
    )
    paths = spec.json()["paths"]
    expected = {
        ("/swaps", "post"): {"401", "409", "422"},
        ("/swaps", "get"): {"401", "422"},
        ("/swaps/{swap_id}", "get"): {"401", "404"},
        ("/swaps/{swap_id}/cancel", "post"): {"401", "404", "409"},
        ("/swaps/{swap_id}/audit", "get"): {"401", "404"},
        ("/metrics", "get"): {"401"},
    }
    for (path, method), codes in expected.items():
        responses = paths[path][method]["responses"]
        assert codes <= responses.keys(), (path, method)
        for code in codes:
            content = responses[code]["content"]["application/problem+json"]
            assert content["schema"]["$ref"].endswith("/Problem"), (path, method, code)


def test_docs_are_served_without_a_cdn(tmp_path: Path) -> None:
    """The reference page works with no network: no script, style or font from elsewhere."""
    page = TestClient(create_app(_service(tmp_path / "r.sqlite3"), token=TOKEN)).get("/docs")
    assert page.status_code == 200
    assert "POST /swaps" in page.text
    assert "Authorization: Bearer" in page.text
    assert "http://" not in page.text
    assert "https://" not in page.text
    assert "<script" not in page.text
