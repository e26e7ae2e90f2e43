"""The two embedded HTTP servers on the wire: the algod-shaped one and the EVM JSON-RPC one.

Both are built on :mod:`adapters.http_common` (one server lifecycle, one way of writing an
answer); these tests pin what a client sees of each: status, ``Content-Type``,
``Content-Length``, ``Server`` and the body, for answers and for refusals, and the
lifecycle (``start`` twice is one thread, ``stop`` closes the port, the ``with`` block).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import httpx
import msgpack
import pytest

from adapters.algorand.http_server import AlgodHttpServer
from adapters.algorand.ledger import GENESIS_ID, EmbeddedLedger
from adapters.evm.rpc_server import EvmRpcServer
from adapters.http_common import LocalHttpServer, send_payload

TOKEN = "a" * 64


def _refused(url: str) -> bool:
    """True when nothing listens at ``url`` any more."""
    try:
        httpx.get(url, timeout=2)
    except httpx.ConnectError:
        return True
    return False


def _assert_framed(response: httpx.Response, status: int, kind: str) -> None:
    assert response.status_code == status
    assert response.headers["Content-Type"] == kind
    assert int(response.headers["Content-Length"]) == len(response.content)


@pytest.fixture(scope="module")
def evm_server() -> Iterator[EvmRpcServer]:
    """One served py-evm chain for the module's wire checks (no state is changed)."""
    with EvmRpcServer() as server:
        yield server


def test_evm_rpc_server_answers_on_the_wire(evm_server: EvmRpcServer) -> None:
    """Invariant: a POST gets HTTP 200 with a JSON-RPC answer (a parse error too), a GET
    gets 405 with a JSON message; every answer is framed by its Content-Type and length."""
    url = evm_server.url
    assert url == f"http://127.0.0.1:{evm_server.port}"
    got = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"})
    _assert_framed(got, 200, "application/json")
    assert got.headers["Server"].startswith("stbridge-embedded-evm")
    assert got.json()["result"] == hex(int(evm_server.tester.backend.chain.chain_id))
    bad = httpx.post(url, content=b"\xff{")
    _assert_framed(bad, 200, "application/json")
    assert bad.json() == {
        "jsonrpc": "2.0",
        "id": None,
        "error": {"code": -32700, "message": "parse error: not JSON"},
    }
    batch = httpx.post(
        url, json=[{"jsonrpc": "2.0", "id": i, "method": "net_version"} for i in (1, 2)]
    )
    assert [a["id"] for a in batch.json()] == [1, 2]
    get = httpx.get(url)
    _assert_framed(get, 405, "application/json")
    assert get.json() == {"message": "POST JSON-RPC 2.0 requests here"}


def test_algod_http_server_answers_on_the_wire(algo_ledger: EmbeddedLedger) -> None:
    """Invariant: algod's open paths answer without a token, ``/v2`` paths only with it
    (else 401), an unknown path is 404, an API error keeps algod's status; ``format=msgpack``
    answers in msgpack; each error body is ``{"message": ...}`` in JSON."""
    with AlgodHttpServer(algo_ledger, token=TOKEN, wait_timeout=0.0) as server:
        assert server.url == f"http://127.0.0.1:{server.port}"
        versions = httpx.get(f"{server.url}/versions")
        _assert_framed(versions, 200, "application/json")
        assert versions.headers["Server"].startswith("stbridge-embedded-algod")
        assert versions.json()["genesis_id"] == GENESIS_ID
        denied = httpx.get(f"{server.url}/v2/status")
        _assert_framed(denied, 401, "application/json")
        assert denied.json() == {"message": "Invalid API Token"}
        headers = {"X-Algo-API-Token": TOKEN}
        nowhere = httpx.post(f"{server.url}/nowhere", headers=headers)
        _assert_framed(nowhere, 404, "application/json")
        assert nowhere.json() == {"message": "no route for POST /nowhere"}
        status = httpx.get(f"{server.url}/v2/status", headers=headers)
        _assert_framed(status, 200, "application/json")
        assert status.json()["last-round"] == algo_ledger.last_round
        packed = httpx.get(f"{server.url}/v2/status?format=msgpack", headers=headers)
        _assert_framed(packed, 200, "application/msgpack")
        assert msgpack.unpackb(packed.content)["last-round"] == algo_ledger.last_round
        missing = httpx.get(f"{server.url}/v2/assets/999999", headers=headers)
        _assert_framed(missing, 404, "application/json")
        assert set(missing.json()) == {"message"}
    assert _refused(server.url)


class _Echo(BaseHTTPRequestHandler):
    """Answers every GET with its path, through :func:`send_payload`."""

    server_version = "echo"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        send_payload(self, 203, json.dumps({"path": self.path}).encode(), "application/json")


def test_local_http_server_lifecycle() -> None:
    """Invariant: ``start`` serves from one daemon thread (a second ``start`` is a no-op),
    ``stop`` frees the port (twice is harmless), and a ``with`` block starts and stops."""
    server = LocalHttpServer(_Echo, thread_name="echo")
    assert server.start() is server
    assert server.start() is server
    got = httpx.get(f"{server.url}/x")
    _assert_framed(got, 203, "application/json")
    assert got.json() == {"path": "/x"}
    server.stop()
    server.stop()
    assert _refused(server.url)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with LocalHttpServer(_Echo, port=port, thread_name="echo") as fixed:
        assert fixed.port == port
        assert httpx.get(f"{fixed.url}/y").json() == {"path": "/y"}
    assert _refused(f"http://127.0.0.1:{port}")
