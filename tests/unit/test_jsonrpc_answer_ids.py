"""The JSON-RPC transport takes an answer only for the request it sent.

A kept-alive connection carries one answer per request, in order. If it ever carries one
more (an answer left unread, a node or proxy that repeats itself), every later read on that
connection would get the answer to the request before it: a stale block, a stale balance.
The transport checks each answer's ``id`` against its request's and refuses a mismatch.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Iterator

import pytest

from adapters.evm.client import ClientStats
from adapters.evm.jsonrpc import JsonRpcTransport
from bridge.errors import ChainUnavailable


def _answer(ident: object, result: str) -> bytes:
    body = json.dumps({"jsonrpc": "2.0", "id": ident, "result": result}).encode()
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)


@pytest.fixture
def echoing_twice() -> Iterator[str]:
    """A node on one kept-alive connection that answers its first request twice (the second
    copy stays on the wire) and every later request once, with that request's id and the
    block number ``0x<id>``."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]

    def serve() -> None:
        try:
            conn, _ = server.accept()
        except OSError:  # the test closed the listening socket first
            return
        with conn, conn.makefile("rb") as stream, contextlib.suppress(OSError):
            first = True
            while True:
                length = 0
                line = stream.readline()
                if not line:
                    return
                while line not in (b"\r\n", b""):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                    line = stream.readline()
                if not length:
                    return
                ident = json.loads(stream.read(length))["id"]
                reply = _answer(ident, hex(ident))
                conn.sendall(reply + reply if first else reply)
                first = False

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.close()
    thread.join(timeout=10)


def test_an_answer_to_another_request_is_never_taken(echoing_twice: str) -> None:
    transport = JsonRpcTransport(
        echoing_twice, stats=ClientStats(), read_methods=frozenset({"eth_blockNumber"})
    )
    try:
        assert transport.request("eth_blockNumber", []) == "0x1"
        # the stray copy of answer 1 is next on the wire: it must not pass for answer 2
        with pytest.raises(ChainUnavailable, match="answered request id 1, not 2"):
            transport.request("eth_blockNumber", [])
    finally:
        transport.close()
