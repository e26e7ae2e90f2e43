"""A small algod-shaped HTTP server backed by an :class:`EmbeddedLedger`.

It lets code that only speaks HTTP to algod (a plain
``algosdk.v2client.algod.AlgodClient("token", "http://127.0.0.1:PORT")``, httpx, curl)
run against the embedded ledger, so the adapter's real-network code path is exercised
without a node. Requests are answered by :class:`adapters.algorand.algod.AlgodApi`
(the same object behind :class:`EmbeddedAlgodClient`); paths carry algod's ``/v2``
prefix, errors are ``{"message": ...}`` with algod's status codes, and
``?format=msgpack`` answers are msgpack.

The server binds 127.0.0.1 on a free port (or the one given), serves from a daemon
thread, and is stopped by :meth:`AlgodHttpServer.stop` (or leaving the ``with`` block).
When a token is set, requests without the matching ``X-Algo-API-Token`` header get
HTTP 401 as from algod.
"""

from __future__ import annotations

import json
import logging
from http.server import BaseHTTPRequestHandler
from typing import Any, Final
from urllib.parse import urlsplit

import msgpack

from adapters.algorand.algod import AlgodApi, ApiError, RawMsgpack, parse_query
from adapters.algorand.ledger import EmbeddedLedger
from adapters.http_common import LocalHttpServer, send_payload

__all__ = ["AlgodHttpServer"]

logger = logging.getLogger(__name__)

_TOKEN_HEADER: Final = "X-Algo-API-Token"  # noqa: S105 - a header name, not a secret
_NO_AUTH: Final = frozenset({"/health", "/versions", "/genesis", "/ready"})


class AlgodHttpServer(LocalHttpServer):
    """Serve algod's REST API v2 for ``ledger`` on ``http://127.0.0.1:<port>``.

    :attr:`url` is the base URL to give ``AlgodClient``; the lifecycle (``start``,
    ``stop``, ``with``) is :class:`~adapters.http_common.LocalHttpServer`'s.
    """

    def __init__(
        self,
        ledger: EmbeddedLedger,
        *,
        token: str | None = None,
        port: int = 0,
        wait_timeout: float = 0.5,
    ) -> None:
        self.api = AlgodApi(ledger, wait_timeout=wait_timeout)
        self.token = token
        super().__init__(_make_handler(self), port=port, thread_name="algod-http")


def _make_handler(owner: AlgodHttpServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        """One algod request: route to the API, write JSON or msgpack."""

        server_version = "stbridge-embedded-algod"

        def log_message(self, format: str, *args: Any) -> None:
            logger.debug("algod-http: " + format, *args)

        def _answer(self, method: str) -> None:
            parts = urlsplit(self.path)
            query = parse_query(parts.query)
            path = parts.path
            if not path.startswith("/v2/") and path not in _NO_AUTH:
                self._send(404, {"message": f"no route for {method} {path}"}, "json")
                return
            if (
                owner.token is not None
                and path not in _NO_AUTH
                and self.headers.get(_TOKEN_HEADER) != owner.token
            ):
                self._send(401, {"message": "Invalid API Token"}, "json")
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            fmt = query.get("format", "json")
            try:
                answer = owner.api.handle(method, path, query, body)
            except ApiError as exc:
                self._send(exc.status, {"message": exc.message}, "json")
                return
            except Exception as exc:  # a server must answer, not die; logged with its trace
                logger.exception("embedded algod failed on %s %s", method, path)
                self._send(500, {"message": f"internal error: {exc}"}, "json")
                return
            self._send(200, answer, fmt)

        def _send(self, status: int, answer: Any, fmt: str) -> None:
            if isinstance(answer, RawMsgpack):
                payload = bytes(answer)
                kind = "application/msgpack"
            elif fmt == "msgpack":
                payload = bytes(msgpack.packb(answer, use_bin_type=True))
                kind = "application/msgpack"
            else:
                payload = json.dumps(answer).encode()
                kind = "application/json"
            send_payload(self, status, payload, kind)

        def do_GET(self) -> None:
            self._answer("GET")

        def do_POST(self) -> None:
            self._answer("POST")

    return Handler
