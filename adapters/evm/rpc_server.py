"""An embedded EVM chain other processes reach: py-evm (eth-tester) served over JSON-RPC.

``EthereumTesterProvider`` runs py-evm inside one Python process; nothing outside it can
reach that chain. :class:`EvmRpcServer` puts an HTTP JSON-RPC 2.0 endpoint in front of one
``EthereumTester`` so any client (web3.py's ``HTTPProvider``, :class:`EvmClient.connect`,
the relayer daemon, curl) talks to py-evm as to anvil::

    python -m adapters.evm.rpc_server --port 8545          # serves until SIGTERM / Ctrl-C

What it answers: the ``eth_*`` methods eth-tester implements (blocks, balances, code,
storage, nonces, ``eth_call``, ``eth_estimateGas``, ``eth_sendRawTransaction``,
``eth_sendTransaction`` from its funded dev accounts, receipts, ``eth_getLogs``, fee
history), ``net_version``, ``web3_clientVersion``, and the test-chain methods anvil users
know: ``evm_snapshot``, ``evm_revert``, ``evm_mine``, ``anvil_mine``,
``evm_increaseTime`` and ``evm_setNextBlockTimestamp`` (both mine an empty block at the
new time at once: py-evm cannot hold a timestamp for a block not yet mined). Batches (a
JSON array) are answered in order.

``eth_getLogs`` is answered from an index of each mined block's logs (eth-tester's own log
filter rescans every block from the start on each call, which a relayer polling from its
HTLC's deployment block cannot afford); the index is dropped on ``evm_revert``.

How a request is answered: params in JSON-RPC form are turned into eth-tester's (web3's
own ``ethereum_tester_middleware`` request formatters), eth-tester answers, web3's result
formatters turn field names back to JSON-RPC's, and every integer becomes a ``0x``
quantity. A revert is JSON-RPC error code 3 with the revert data (``Error(string)`` or the
custom error's bytes) in ``data``, as geth and anvil send it, so a client decodes it the
same way on every backend. One request runs at a time (py-evm is not thread-safe).

Differences from anvil, by design: transactions are mined when sent (one block each, as
anvil's default); the chain id is eth-tester's; there is no mempool, no tracing, no
``eth_subscribe``. Bind address is 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import ast
import json
import logging
import signal
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler
from typing import Any, Final

from eth_abi.abi import encode as abi_encode

from adapters.http_common import LocalHttpServer, send_payload

__all__ = ["EvmRpcServer", "main"]

logger = logging.getLogger(__name__)

_ERROR_SELECTOR: Final = bytes.fromhex("08c379a0")  # Error(string)
_REVERTED: Final = "execution reverted"
_PY_EVM_FORKS: Final = {
    "berlin": "BerlinVM",
    "london": "LondonVM",
    "shanghai": "ShanghaiVM",
    "cancun": "CancunVM",
    "prague": "PragueVM",
}
_FEE_FIELDS: Final = ("gas_price", "max_fee_per_gas", "max_priority_fee_per_gas")
_BLOCK_ARGUMENT: Final = frozenset(
    {"eth_call", "eth_getBalance", "eth_getCode", "eth_getTransactionCount", "eth_estimateGas"}
)
_BLOOM_BYTES: Final = 256


class RpcError(Exception):
    """A JSON-RPC error answer: ``code``, ``message`` and optional ``data``."""

    def __init__(self, code: int, message: str, data: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def as_json(self) -> dict[str, Any]:
        """The ``error`` member of the answer."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


def _jsonable(value: Any) -> Any:
    """eth-tester's answer in JSON-RPC's form: integers as ``0x`` quantities, bytes as hex."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return hex(value)
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return str(value)


def _revert_data(exc: BaseException) -> tuple[str, str]:
    """(message, 0x-data) of an eth-tester ``TransactionFailed``.

    eth-tester gives a decoded ``Error(string)`` reason as text (re-encoded here, as a node
    sends it) and any other revert (a custom error) as the text of its bytes.
    """
    raw: object = exc.args[0] if exc.args else ""
    if isinstance(raw, Exception):
        raw = raw.args[0] if raw.args else ""
    if isinstance(raw, bytes):
        return _REVERTED, "0x" + raw.hex()
    text = str(raw).removeprefix(_REVERTED).removeprefix(":").strip()
    if text.startswith(("b'", 'b"')):
        try:
            data = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            data = None
        if isinstance(data, bytes):
            return _REVERTED, "0x" + data.hex()
    if not text:
        return _REVERTED, "0x"
    encoded = _ERROR_SELECTOR + abi_encode(["string"], [text])
    return f"{_REVERTED}: {text}", "0x" + encoded.hex()


class EvmRpcServer(LocalHttpServer):
    """JSON-RPC over HTTP for one py-evm chain on ``http://127.0.0.1:<port>``.

    ``evm_version`` picks py-evm's fork (``berlin`` ... ``prague``; default its latest).
    Start with :meth:`start` (a daemon thread) or use as a context manager (the lifecycle
    is :class:`~adapters.http_common.LocalHttpServer`'s).
    """

    def __init__(self, *, port: int = 0, evm_version: str | None = None) -> None:
        from eth_tester import EthereumTester, PyEVMBackend
        from web3.providers.eth_tester.defaults import API_ENDPOINTS

        if evm_version is None:
            backend = PyEVMBackend()
        else:
            if evm_version not in _PY_EVM_FORKS:
                from bridge.errors import InvalidInput

                known = ", ".join(_PY_EVM_FORKS)
                raise InvalidInput("evm_version", f"must be one of {known}", value=evm_version)
            from eth.vm import forks

            vm = getattr(forks, _PY_EVM_FORKS[evm_version])
            backend = PyEVMBackend(vm_configuration=((0, vm),))
        self.tester = EthereumTester(backend)
        self.evm_version = evm_version or "prague"
        self._legacy = evm_version == "berlin"
        self._endpoints: dict[str, dict[str, Any]] = API_ENDPOINTS
        self._lock = threading.Lock()
        self._block_logs: dict[int, list[dict[str, Any]]] = {}
        super().__init__(_make_handler(self), port=port, thread_name="evm-rpc")
        self.requests = 0
        """JSON-RPC calls answered (a batch counts each call)."""

    # -- answering -------------------------------------------------------------------

    def answer(self, request: Any) -> Any:
        """The JSON-RPC answer to one decoded request (an object, or a batch array)."""
        if isinstance(request, list):
            if not request:
                return _error(None, RpcError(-32600, "empty batch"))
            return [self._one(item) for item in request]
        return self._one(request)

    def _one(self, request: Any) -> dict[str, Any]:
        if not isinstance(request, dict) or not isinstance(request.get("method"), str):
            return _error(None, RpcError(-32600, "invalid request: a JSON-RPC 2.0 object"))
        request_id = request.get("id")
        params = request.get("params", [])
        if not isinstance(params, list):
            return _error(request_id, RpcError(-32602, "params must be an array"))
        try:
            with self._lock:
                self.requests += 1
                result = self.call(str(request["method"]), params)
        except RpcError as exc:
            return _error(request_id, exc)
        except Exception as exc:  # a server answers, it does not die; the trace is logged
            logger.exception("embedded EVM failed on %s", request.get("method"))
            return _error(request_id, RpcError(-32603, f"internal error: {exc}"))
        return {"jsonrpc": "2.0", "id": request_id, "result": result}

    def call(self, method: str, params: list[Any]) -> Any:
        """Answer ``method`` (the caller holds the lock)."""
        from eth_tester.exceptions import TransactionFailed
        from web3.providers.eth_tester.middleware import request_formatters, result_formatters

        special = self._special.get(method)
        if special is not None:
            return special(self, params)
        namespace, _, endpoint = method.partition("_")
        delegate = self._endpoints.get(namespace, {}).get(endpoint)
        if delegate is None:
            raise RpcError(-32601, f"the method {method} does not exist/is not available")
        if method in _BLOCK_ARGUMENT and len(params) == 1:
            params = [*params, "latest"]  # the block is optional in JSON-RPC
        formatter = request_formatters.get(method)  # type: ignore[call-overload]
        if formatter is not None:
            params = formatter(params)
        params = self._defaults(method, params)
        try:
            result = delegate(self.tester, params)
        except TransactionFailed as exc:
            message, data = _revert_data(exc)
            raise RpcError(3, message, data) from None
        except NotImplementedError:
            raise RpcError(-32601, f"the method {method} is not implemented") from None
        except (ValueError, TypeError, KeyError) as exc:
            raise RpcError(-32602, f"invalid params for {method}: {exc}") from None
        except Exception as exc:
            if type(exc).__module__.startswith(("eth_tester", "eth.", "eth_utils")):
                text = f"{type(exc).__name__}: {exc}"
                if "cannot afford" in text:  # geth's and anvil's words for it
                    text = f"insufficient funds for gas * price + value ({text})"
                raise RpcError(-32000, text) from None
            raise
        after = (result_formatters or {}).get(method)  # type: ignore[call-overload]
        if after is not None:
            result = after(result)
        if isinstance(result, dict) and isinstance(result.get("logsBloom"), int):
            result = {
                **result,
                "logsBloom": "0x" + result["logsBloom"].to_bytes(_BLOOM_BYTES).hex(),
            }
        return _jsonable(result)

    def _defaults(self, method: str, params: list[Any]) -> list[Any]:
        """What a node fills in that eth-tester wants given: a sender for calls and dev
        sends, a legacy gas price before London."""
        if method in ("eth_call", "eth_estimateGas", "eth_sendTransaction") and params:
            tx = dict(params[0])
            if not tx.get("from"):
                # py-evm charges a call's gas to its sender: a funded dev account pays
                tx["from"] = self.tester.get_accounts()[0]
            if self._legacy and not any(f in tx for f in _FEE_FIELDS):
                tx["gas_price"] = 0 if method != "eth_sendTransaction" else 10**9
            params = [tx, *params[1:]]
        return params

    # -- the test-chain methods anvil users know -------------------------------------

    def _latest_timestamp(self) -> int:
        return int(self.tester.get_block_by_number("latest")["timestamp"])

    def _increase_time(self, params: list[Any]) -> Any:
        seconds = _quantity(params, 0, "seconds")
        if seconds < 0:
            raise RpcError(-32602, "evm_increaseTime: seconds must be non-negative")
        if seconds:
            self.tester.time_travel(self._latest_timestamp() + seconds)
        return hex(seconds)

    def _set_next_timestamp(self, params: list[Any]) -> Any:
        stamp = _quantity(params, 0, "timestamp")
        if stamp <= self._latest_timestamp():
            raise RpcError(-32602, "evm_setNextBlockTimestamp: must be after the latest block")
        self.tester.time_travel(stamp)
        return None

    def _mine(self, params: list[Any]) -> Any:
        blocks = _quantity(params, 0, "blocks") if params and params[0] is not None else 1
        if blocks < 1:
            raise RpcError(-32602, "mine: blocks must be at least 1")
        self.tester.mine_blocks(blocks)
        return "0x0"

    def _logs_of_block(self, number: int) -> list[dict[str, Any]]:
        """Every log of mined block ``number`` (eth-tester's form), indexed once."""
        if number not in self._block_logs:
            block = self.tester.get_block_by_number(number)
            logs: list[dict[str, Any]] = []
            for tx_hash in block["transactions"]:
                logs.extend(self.tester.get_transaction_receipt(tx_hash)["logs"])
            self._block_logs[number] = logs
        return self._block_logs[number]

    def _block_number(self, value: Any, latest: int) -> int:
        if value is None or value in ("latest", "safe", "finalized", "pending"):
            return latest
        if value == "earliest":
            return 0
        return _quantity([value], 0, "block")

    def _get_logs(self, params: list[Any]) -> Any:
        from web3.providers.eth_tester.middleware import result_formatters

        query = params[0] if params and isinstance(params[0], dict) else {}
        if "blockHash" in query:
            raise RpcError(-32602, "eth_getLogs: blockHash filters are not supported here")
        latest = int(self.tester.get_block_by_number("latest")["number"])
        start = self._block_number(query.get("fromBlock"), latest)
        end = min(self._block_number(query.get("toBlock"), latest), latest)
        wanted = query.get("address")
        addresses = (
            None
            if wanted is None
            else {a.lower() for a in (wanted if isinstance(wanted, list) else [wanted])}
        )
        topics = query.get("topics") or []
        found = []
        for number in range(max(start, 0), end + 1):
            for entry in self._logs_of_block(number):
                if addresses is not None and str(entry["address"]).lower() not in addresses:
                    continue
                if _topics_match(entry["topics"], topics):
                    found.append(entry)
        formatter = (result_formatters or {}).get("eth_getLogs")  # type: ignore[call-overload]
        return _jsonable(formatter(found) if formatter is not None else found)

    def _snapshot(self, params: list[Any]) -> Any:
        return hex(int(self.tester.take_snapshot()))

    def _revert(self, params: list[Any]) -> Any:
        from eth_tester.exceptions import SnapshotNotFound

        try:
            self.tester.revert_to_snapshot(_quantity(params, 0, "snapshot"))
        except SnapshotNotFound:
            return False
        self._block_logs.clear()  # the blocks above the snapshot are gone
        return True

    def _client_version(self, params: list[Any]) -> Any:
        return f"stbridge-embedded-evm/py-evm/{self.evm_version}"

    def _chain_id(self, params: list[Any]) -> Any:
        return hex(int(self.tester.backend.chain.chain_id))

    def _net_version(self, params: list[Any]) -> Any:
        return str(int(self.tester.backend.chain.chain_id))

    _special: Final[dict[str, Callable[[EvmRpcServer, list[Any]], Any]]] = {
        "evm_increaseTime": _increase_time,
        "evm_setNextBlockTimestamp": _set_next_timestamp,
        "evm_mine": _mine,
        "anvil_mine": _mine,
        "hardhat_mine": _mine,
        "evm_snapshot": _snapshot,
        "eth_getLogs": _get_logs,
        "evm_revert": _revert,
        "web3_clientVersion": _client_version,
        "eth_chainId": _chain_id,
        "net_version": _net_version,
    }


def _topics_match(have: list[Any], wanted: list[Any]) -> bool:
    """JSON-RPC topic filtering: position by position, None any, a list any of them."""
    if len(wanted) > len(have):
        return False
    for topic, rule in zip(have, wanted, strict=False):
        if rule is None:
            continue
        options = rule if isinstance(rule, list) else [rule]
        text = (topic if isinstance(topic, str) else "0x" + bytes(topic).hex()).lower()
        if text not in {str(o).lower() for o in options}:
            return False
    return True


def _quantity(params: list[Any], index: int, name: str) -> int:
    try:
        value = params[index]
    except IndexError:
        raise RpcError(-32602, f"missing parameter {name}") from None
    if isinstance(value, bool):
        raise RpcError(-32602, f"{name}: must be a number")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value, 16) if value.startswith("0x") else int(value)
        except ValueError:
            pass
    raise RpcError(-32602, f"{name}: must be a number or a 0x quantity", None)


def _error(request_id: Any, exc: RpcError) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "error": exc.as_json()}


def _make_handler(owner: EvmRpcServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        """One HTTP POST carrying a JSON-RPC request or batch."""

        server_version = "stbridge-embedded-evm"

        def log_message(self, format: str, *args: Any) -> None:
            logger.debug("evm-rpc: " + format, *args)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            try:
                request = json.loads(body)
            except (json.JSONDecodeError, UnicodeDecodeError):
                answer: Any = _error(None, RpcError(-32700, "parse error: not JSON"))
            else:
                answer = owner.answer(request)
            send_payload(self, 200, json.dumps(answer).encode(), "application/json")

        def do_GET(self) -> None:
            payload = b'{"message": "POST JSON-RPC 2.0 requests here"}'
            send_payload(self, 405, payload, "application/json")

    return Handler


def main(argv: list[str] | None = None) -> None:
    """``python -m adapters.evm.rpc_server [--port N] [--evm-version V]``: serve until
    SIGTERM or Ctrl-C; print the URL on one line once the chain answers."""
    parser = argparse.ArgumentParser(
        prog="python -m adapters.evm.rpc_server",
        description="Serve an embedded py-evm chain over JSON-RPC on 127.0.0.1.",
    )
    parser.add_argument("--port", type=int, default=0, help="TCP port (0: a free one)")
    parser.add_argument(
        "--evm-version", choices=sorted(_PY_EVM_FORKS), default=None, help="py-evm fork"
    )
    args = parser.parse_args(argv)
    server = EvmRpcServer(port=args.port, evm_version=args.evm_version)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    server.start()
    print(server.url, flush=True)
    try:
        stop.wait()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
