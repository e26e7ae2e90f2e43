"""``POST /swaps`` refuses an order without the data compliance needs (issue 14).

The order's JSON Schema (``specs/schemas/swap-order.schema.json``) marks ``trade`` required:
an order without it cannot be judged and was refused only later, by the compliance engine
(``INFORMATION_MISSING``), after the swap had been created. The API refuses it when it comes
in, with a 422 problem naming the field, as ``stbridge swap submit`` does for a file.

A relayer with a real SQLite store and one embedded py-evm chain (so an order with a trade
is accepted and the refusal is about the trade alone).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from adapters.evm.client import EvmClient
from adapters.evm.htlc import EvmHtlc
from adapters.evm.signer import EvmSigner
from bridge.htlc import ChainTiming, RelayerBudget
from bridge.model import AssetRef, EvmContractLocator
from relayer.api import create_app
from relayer.evm import evm_runtime
from relayer.orders import TRADE_REQUIRED, static_examples, swap_order_schema
from relayer.sealing import SealingKey
from relayer.service import ComplianceResult, RelayerService
from relayer.store import SqliteStore

TOKEN = "submit-token-0123456789"
TIMING = ChainTiming(deadline_unit="timestamp", block_time_min_ms=1000, block_time_max_ms=2000)


@pytest.fixture(scope="module")
def chain() -> tuple[EvmClient, EvmHtlc, EvmSigner]:
    client = EvmClient.embedded()
    operator = EvmSigner.generate()
    client.fund(operator.address, 10**18)
    return client, EvmHtlc.deploy(client, operator), operator


def _api(tmp_path: Path, chain: tuple[EvmClient, EvmHtlc, EvmSigner]) -> tuple[TestClient, Any]:
    client, htlc, operator = chain
    service = RelayerService(
        store=SqliteStore(tmp_path / "relayer.sqlite3"),
        chains={
            "evm": evm_runtime(
                name="evm",
                client=client,
                htlc=htlc,
                timing=TIMING,
                confirmations=0,
                signers=[operator],
                operator=operator,
            )
        },
        compliance=lambda order, at: ComplianceResult(True),
        sealing_key=SealingKey.generate(),
        budget=RelayerBudget(reaction_s=1, compliance_recheck_s=1, margin_s=1),
        wall_clock=time.time,
    )
    api = TestClient(create_app(service, token=TOKEN), headers={"Authorization": f"Bearer {TOKEN}"})
    return api, service


def _body(chain: tuple[EvmClient, EvmHtlc, EvmSigner], order_id: str) -> dict[str, Any]:
    """An example order (``specs/examples/orders/``) moved onto the test chain (its assets
    point at a contract there; the swap is never ticked, only submitted)."""
    client = chain[0]
    body: dict[str, Any] = static_examples()["erc1404-jp-to-sg-for-jpy-on-evm"].model_dump(
        mode="json"
    )
    body["order_id"] = order_id
    ref = AssetRef(chain=client.chain, locator=EvmContractLocator(address=chain[1].address))
    for leg in ("security", "cash"):
        body[leg]["chain"] = "evm"
        body[leg]["asset"] = ref.model_dump(mode="json")
    return body


@pytest.mark.parametrize("how", ["missing", "null"])
def test_an_order_without_a_trade_is_refused_at_submit(
    tmp_path: Path, chain: tuple[EvmClient, EvmHtlc, EvmSigner], how: str
) -> None:
    """Invariant: an order without ``trade`` (absent or null) is a 422 problem whose
    ``field`` is ``trade``, and no swap is created; the same order with its trade is
    accepted (the refusal is about the trade alone)."""
    api, service = _api(tmp_path, chain)
    body = _body(chain, f"no-trade-{how}")
    trade = body.pop("trade")
    if how == "null":
        body["trade"] = None
    answer = api.post("/swaps", json=body)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["field"] == "trade", problem
    assert "trade" in problem["detail"]
    assert problem["rule"] == TRADE_REQUIRED  # the same rule as `stbridge swap submit`
    assert service.store.list_ids(limit=10) == []
    body["trade"] = trade
    accepted = api.post("/swaps", json=body)
    assert accepted.status_code == 201, accepted.text


def test_openapi_marks_what_the_order_schema_requires(
    tmp_path: Path, chain: tuple[EvmClient, EvmHtlc, EvmSigner]
) -> None:
    """The request body of ``POST /swaps`` requires what ``swap-order.schema.json``
    requires (``trade`` included): the API documents the rule it enforces."""
    api, _ = _api(tmp_path, chain)
    spec = api.get("/openapi.json").json()
    ref = spec["paths"]["/swaps"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    name = ref["$ref"].rsplit("/", 1)[-1]
    required = set(spec["components"]["schemas"][name]["required"])
    assert required == set(swap_order_schema()["required"]), sorted(required)


@pytest.mark.parametrize(
    ("standard", "partition", "status"),
    [
        ("erc1400", "0x" + "ab" * 32, 201),
        ("erc1400", "class-B", 422),  # not a bytes32 id
        ("erc1404", "0x" + "ab" * 32, 422),  # a standard without partitions
    ],
)
def test_an_orders_partition_goes_through_the_api_or_is_refused_naming_the_field(
    tmp_path: Path,
    chain: tuple[EvmClient, EvmHtlc, EvmSigner],
    standard: str,
    partition: str,
    status: int,
) -> None:
    """``security.partition`` (issue 16): an ERC-1400 leg's bytes32 partition is taken
    into the swap's terms; a malformed one, or one on a standard without partitions, is a
    422 problem whose ``field`` is ``security.partition``, and no swap is created."""
    api, service = _api(tmp_path, chain)
    body = _body(chain, f"partition-{standard}-{status}")
    body["security"] = {**body["security"], "standard": standard, "partition": partition}
    answer = api.post("/swaps", json=body)
    assert answer.status_code == status, answer.text
    if status == 201:
        (swap_id,) = service.store.list_ids(limit=10)
        assert service.store.get(swap_id).terms.initiator_leg.partition == partition
        return
    assert answer.json()["field"] == "security.partition", answer.json()
    assert service.store.list_ids(limit=10) == []
