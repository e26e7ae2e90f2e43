"""API fuzzing: schemathesis generates requests from the served OpenAPI; none may be a 5xx.

The relayer here has a real SQLite store and no chains, so every order is refused with a
4xx naming the field (unknown chain, bad address, ...); the point is that no input, however
malformed, makes the server fail.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from bridge.htlc import RelayerBudget
from relayer.api import create_app
from relayer.sealing import SealingKey
from relayer.service import ComplianceResult, RelayerService
from relayer.store import SqliteStore

TOKEN = "fuzz-token-0123456789"


def _app() -> Any:
    store = SqliteStore(Path(tempfile.mkdtemp(prefix="stbridge-fuzz-")) / "relayer.sqlite3")
    service = RelayerService(
        store=store,
        chains={},
        compliance=lambda order, at: ComplianceResult(True),
        sealing_key=SealingKey.generate(),
        budget=RelayerBudget(reaction_s=1, compliance_recheck_s=1, margin_s=1),
        wall_clock=time.time,
    )
    return create_app(service, token=TOKEN)


schema = schemathesis.openapi.from_asgi("/openapi.json", _app())


@schema.parametrize()
@settings(
    max_examples=settings.default.max_examples,
    suppress_health_check=list(HealthCheck),
    deadline=None,
)
def test_no_input_makes_the_api_fail(case: Any) -> None:
    """Invariant: every generated request (valid or not) gets an answer below 500."""
    case.call_and_validate(
        headers={"Authorization": f"Bearer {TOKEN}"}, checks=[not_a_server_error]
    )


def test_regression_huge_offset_is_a_4xx_not_a_crash() -> None:
    """Found by the fuzzer: an offset past SQLite's integer range gave a 500."""
    from fastapi.testclient import TestClient

    client = TestClient(_app(), headers={"Authorization": f"Bearer {TOKEN}"})
    answer = client.get("/swaps", params={"offset": 2**63, "outcome": "aborted"})
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["loc"] == ["query", "offset"]
    assert answer.json()["field"] == "offset"
