"""What the embedded chains' HTTP servers share: a server's lifecycle and a framed answer.

:class:`adapters.algorand.http_server.AlgodHttpServer` (algod's REST API over the
embedded ledger) and :class:`adapters.evm.rpc_server.EvmRpcServer` (Ethereum JSON-RPC
over py-evm) each put an in-process chain behind a local HTTP port. This module holds
the part that is the same for both, and only that:

- :class:`LocalHttpServer`: bind 127.0.0.1 on a free port (or the one given), serve from
  a daemon thread (:meth:`~LocalHttpServer.start`) or the calling one
  (:meth:`~LocalHttpServer.serve_forever`), :meth:`~LocalHttpServer.stop`, and the
  ``with`` block that does both;
- :func:`send_payload`: write one answer with its status, ``Content-Type`` and
  ``Content-Length``.

How each server routes and encodes a request stays in its own module.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self

__all__ = ["LocalHttpServer", "send_payload"]

_HOST = "127.0.0.1"


class LocalHttpServer:
    """An HTTP server on ``http://127.0.0.1:<port>`` answering with ``handler``.

    ``port`` 0 picks a free port. The socket is bound at construction; nothing is served
    until :meth:`start` (a daemon thread named ``thread_name``) or :meth:`serve_forever`.
    Each request runs in its own daemon thread, so a hung client never blocks a stop.
    """

    def __init__(
        self, handler: type[BaseHTTPRequestHandler], *, port: int = 0, thread_name: str
    ) -> None:
        self._server = ThreadingHTTPServer((_HOST, port), handler)
        self._server.daemon_threads = True
        self._thread_name = thread_name
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The TCP port the server listens on."""
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The base URL to give a client (``http://127.0.0.1:PORT``)."""
        return f"http://{_HOST}:{self.port}"

    def start(self) -> Self:
        """Serve in a daemon thread (once: a second call does nothing); returns ``self``."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever, name=self._thread_name, daemon=True
            )
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until :meth:`stop` is called from another."""
        self._server.serve_forever()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def send_payload(
    handler: BaseHTTPRequestHandler, status: int, payload: bytes, content_type: str
) -> None:
    """Write one whole answer: the status line, ``Content-Type``, ``Content-Length``, body."""
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(payload)))
    handler.end_headers()
    handler.wfile.write(payload)
