"""A thin JSON-RPC 2.0 client for the hot paths of :class:`adapters.evm.client.EvmClient`.

web3.py sends every request through its middleware, request and result formatters (each
log's addresses checksummed, each block turned into attribute dictionaries) and then through
``requests``: about 0.7 ms of CPU for an ``eth_blockNumber`` and 1.8 ms for a block, against
0.15 ms for the same request written as JSON on a kept-alive connection (less again without
``http.client``'s header parsing). A relayer makes dozens of these per swap, so the client's
hot reads and its submissions take this path on a node (py-evm stays on web3: no wire).

- one persistent HTTP/1.1 socket per thread (:class:`_Wire`: the request in one write, the
  answer's status and ``Content-Length`` or chunked body read by hand; reconnected after any
  fault, closed with the transport);
- every request counted in the client's ``ClientStats`` (a batch is one round trip);
- idempotent reads (``READ_METHODS``) retried on transport faults, nothing else;
- a JSON-RPC error comes back as :class:`RpcError` for the client to translate.

Not used (the client stays on web3) when the URL carries credentials or a proxy applies to
it: those are ``requests``' business.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import threading
import time
import urllib.request
import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from bridge.errors import ChainUnavailable

if TYPE_CHECKING:
    from adapters.evm.client import ClientStats

__all__ = ["JsonRpcTransport", "RpcError"]


class RpcError(Exception):
    """A JSON-RPC error object as the node sent it."""

    def __init__(self, method: str, error: Any) -> None:
        detail = error if isinstance(error, dict) else {"message": str(error)}
        self.method = method
        self.code = detail.get("code")
        self.message = str(detail.get("message") or "")
        self.data = detail.get("data", _MISSING)
        super().__init__(f"{method}: {self.message or detail}")


_MISSING: Final = object()
"""``RpcError.data`` when the error object has no ``data`` member at all."""


class JsonRpcTransport:
    """JSON-RPC over kept-alive HTTP/1.1 to one node; see the module docstring."""

    def __init__(
        self,
        url: str,
        *,
        stats: ClientStats,
        read_methods: frozenset[str],
        retries: int = 2,
        timeout: float = 10.0,
    ) -> None:
        parts = urlsplit(url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or (443 if self._https else 80)
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._stats = stats
        self._reads = read_methods
        self._retries = retries
        self._timeout = timeout
        self._local = threading.local()
        self._ids = 0
        self._open: list[_Wire] = []
        host = self._host if self._port in (80, 443) else f"{self._host}:{self._port}"
        self._head = (
            f"POST {self._path} HTTP/1.1\r\nHost: {host}\r\n"
            "Content-Type: application/json\r\nAccept: application/json\r\n"
            "Content-Length: %d\r\n\r\n"
        ).encode("latin-1")
        self._guard = threading.Lock()
        # the kept-alive sockets are closed with the transport (or at exit), never left to
        # the garbage collector (which warns about an unclosed socket)
        self._finalizer = weakref.finalize(self, _close_all, self._open, self._guard)

    @classmethod
    def for_url(
        cls,
        url: str,
        *,
        stats: ClientStats,
        read_methods: frozenset[str],
        retries: int = 2,
        timeout: float = 10.0,
    ) -> JsonRpcTransport | None:
        """A transport for ``url``, or None when the URL has credentials or a proxy
        (from the environment) applies to it."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or parts.username or parts.password:
            return None
        proxies = urllib.request.getproxies()
        if proxies.get(parts.scheme) and not urllib.request.proxy_bypass(parts.hostname or ""):
            return None
        return cls(url, stats=stats, read_methods=read_methods, retries=retries, timeout=timeout)

    # -- requests ----------------------------------------------------------------------

    def request(self, method: str, params: Sequence[Any]) -> Any:
        """The ``result`` of one call; ``RpcError`` for an error answer, ``ChainUnavailable``
        when the node cannot be reached (after the retries a read gets)."""
        self._ids += 1
        ident = self._ids
        body = json.dumps(
            {"jsonrpc": "2.0", "id": ident, "method": method, "params": list(params)},
            separators=(",", ":"),
        ).encode()
        answer = self._post(body, reads=method in self._reads, methods=(method,))
        if not isinstance(answer, dict):
            raise ChainUnavailable(f"{method}: the node answered {type(answer).__name__}")
        if answer.get("id") != ident:
            # the connection is out of step (an answer left unread, or a node that mixes
            # answers up): an answer to another request is never taken for this one
            self._drop()
            raise ChainUnavailable(
                f"{method}: the node answered request id {answer.get('id')!r}, not {ident}"
            )
        if answer.get("error") is not None:
            raise RpcError(method, answer["error"])
        if "result" not in answer:
            raise ChainUnavailable(f"{method}: the node answered without a result")
        return answer["result"]

    def batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        """The answers to ``calls`` in one round trip, in order: each a result, or an
        :class:`RpcError` in its place."""
        if not calls:
            return []
        first = self._ids + 1
        self._ids += len(calls)
        body = json.dumps(
            [
                {"jsonrpc": "2.0", "id": first + i, "method": m, "params": list(p)}
                for i, (m, p) in enumerate(calls)
            ],
            separators=(",", ":"),
        ).encode()
        methods = tuple(m for m, _ in calls)
        answer = self._post(body, reads=all(m in self._reads for m in methods), methods=methods)
        if not isinstance(answer, list):
            error = answer.get("error") if isinstance(answer, dict) else answer
            raise ChainUnavailable(f"batch of {len(calls)} refused by the node: {error}")
        by_id = {item.get("id"): item for item in answer if isinstance(item, dict)}
        out: list[Any] = []
        for i, (method, _) in enumerate(calls):
            item = by_id.get(first + i)
            if item is None:
                raise ChainUnavailable(
                    f"batch: the node answered {len(answer)} of {len(calls)} calls"
                )
            if item.get("error") is not None:
                out.append(RpcError(method, item["error"]))
            else:
                out.append(item.get("result"))
        return out

    # -- the wire ----------------------------------------------------------------------

    def _post(self, body: bytes, *, reads: bool, methods: tuple[str, ...]) -> Any:
        attempts = self._retries + 1 if reads else 1
        for attempt in range(attempts):
            self._stats.requests += 1
            if len(methods) > 1:
                self._stats.batches += 1
            for method in methods:
                self._stats.count(method)
            try:
                return json.loads(self._exchange(body))
            except (OSError, http.client.HTTPException, _BadStatus, ValueError) as exc:
                self._drop()
                if attempt + 1 >= attempts:
                    raise ChainUnavailable(
                        f"{methods[0]}: EVM node unreachable ({type(exc).__name__}: {exc})"
                    ) from exc
                self._stats.retries += 1
                time.sleep(0.05 * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def _exchange(self, body: bytes) -> bytes:
        wire = self._connection()
        status, data, close = wire.exchange(self._head % len(body) + body)
        if close:
            self._drop()
        if status >= 300:
            raise _BadStatus(f"HTTP {status} from the node")
        return data

    def _connection(self) -> _Wire:
        wire: _Wire | None = getattr(self._local, "conn", None)
        if wire is None:
            wire = _Wire(self._host, self._port, https=self._https, timeout=self._timeout)
            self._local.conn = wire
            with self._guard:
                self._open.append(wire)
        return wire

    def _drop(self) -> None:
        wire = getattr(self._local, "conn", None)
        self._local.conn = None
        if wire is not None:
            wire.close()
            with self._guard:
                if wire in self._open:
                    self._open.remove(wire)

    def close(self) -> None:
        """Close every connection this transport opened (it reconnects if used again)."""
        self._finalizer()
        self._local = threading.local()
        self._finalizer = weakref.finalize(self, _close_all, self._open, self._guard)


def _close_all(conns: list[_Wire], guard: threading.Lock) -> None:
    with guard:
        for conn in conns:
            conn.close()
        conns.clear()


class _BadStatus(Exception):
    """A non-2xx HTTP status (a gateway's 502 in front of the node): the call may be repeated."""


_LINE: Final = 65_536


class _Wire:
    """One HTTP/1.1 connection: a request written in one ``sendall``, the answer's status,
    ``Content-Length`` or chunked body read from a buffered file (``http.client`` parses
    every header through the e-mail parser: a third of a small request's CPU)."""

    def __init__(self, host: str, port: int, *, https: bool, timeout: float) -> None:
        sock = socket.create_connection((host, port), timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if https:
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=host)
        self._sock = sock
        self._file = sock.makefile("rb")

    def exchange(self, request: bytes) -> tuple[int, bytes, bool]:
        """Send ``request``; (status, body, whether the server closes the connection)."""
        self._sock.sendall(request)
        line = self._file.readline(_LINE + 1)
        if not line:
            raise ConnectionResetError("the node closed the connection")
        parts = line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
            raise http.client.BadStatusLine(repr(line[:80]))
        status = int(parts[1])
        close = parts[0] == b"HTTP/1.0"
        length: int | None = None
        chunked = False
        while True:
            header = self._file.readline(_LINE + 1)
            if header in (b"\r\n", b"\n", b""):
                break
            name, _, value = header.partition(b":")
            key = name.strip().lower()
            if key == b"content-length":
                length = int(value.strip())
            elif key == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif key == b"connection":
                close = b"close" in value.lower() or (close and b"keep-alive" not in value.lower())
        if chunked:
            body = self._chunks()
        elif length is not None:
            body = self._file.read(length)
            if len(body) < length:
                raise http.client.IncompleteRead(body, length - len(body))
        else:
            body, close = self._file.read(), True
        return status, body, close

    def _chunks(self) -> bytes:
        out: list[bytes] = []
        while True:
            size = int(self._file.readline(_LINE + 1).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self._file.readline(_LINE + 1) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(out)
            chunk = self._file.read(size + 2)
            if len(chunk) < size + 2:
                raise http.client.IncompleteRead(chunk, size + 2 - len(chunk))
            out.append(chunk[:size])

    def close(self) -> None:
        """Close the socket."""
        self._file.close()
        self._sock.close()
