"""The one EVM client layer: every adapter of the EVM family talks to its chain through this.

Two backends, one code path:

- ``EvmClient.embedded()`` runs py-evm in process (web3's ``EthereumTesterProvider``);
- ``EvmClient.connect(url)`` talks JSON-RPC to any node (anvil, geth, besu, quorum).
  ``EvmClient.from_target("embedded" | url)`` picks one.

What it offers (stable API, other adapters build on it):

=============================  =========================================================
``chain`` / ``head()``         :class:`bridge.model.EvmChain` and the latest block number
``finality_depth()``           blocks after which an event is treated as final
``now()`` / ``height()``       :class:`bridge.ports.ChainClock` (block time, block number)
``deadline_for(dt, safety)``   a unix-time deadline no later than ``dt - safety``
``contract(address, abi)``     a web3 contract object bound to this client's ``w3``
``read(fn_call)``              a contract function call (``contract.functions.f(...)``),
                               errors translated, idempotent so retried on transport faults
``call(tx)`` / ``estimate(tx)``raw ``eth_call`` / ``eth_estimateGas``, errors translated
``transact(signer, to, data)`` build, sign, submit, wait; status 0 raises ``EvmReverted``
``send(signer, to, data, gas=)`` build (nonce from :attr:`nonces`), sign, keep, submit;
                               no wait: the hash (pipelined sending, see below)
``outcomes(tx_ids)``           what became of sent transactions, in one batch: pending,
                               dropped, mined or failed (:class:`SentTx`)
``head_and_time()``            the latest block's number and time in one read (kept for
                               fees: a relayer's one clock read per chain per tick)
``submit(raw)`` / ``wait(id)`` the :class:`bridge.ports.ChainClient` pair
``logs(address, topics, ...)`` ``eth_getLogs`` from a cursor in bounded block ranges
``batch_read(calls)``          many ``eth_call`` in JSON-RPC batches (sequential on py-evm)
``read_many(fn_calls)``        contract view calls batched and decoded
``code_at(address)``           deployed bytecode; ``require_code`` raises ``NotFound``
``snapshot()`` / ``revert()``  eth-tester snapshots on py-evm, ``evm_snapshot`` on a node
``increase_time(s)`` / ``mine``test-chain time travel (py-evm ``time_travel``; anvil RPC)
``fund(address, wei)``         dev-chain faucet from the node's first unlocked account
``stats``                      RPC round trips and JSON-RPC calls made (batch = 1 trip)
``evm_version``                the chain's EVM target (configured, checked against the node,
                               or detected by :func:`detect_evm_version`)
=============================  =========================================================

EVM targets: ``embedded(evm_version=...)`` runs py-evm at that fork (``berlin`` ... ``prague``);
``connect(url, evm_version=...)`` names the node's. :func:`detect_evm_version` probes the node
with ``eth_call`` (BASEFEE, PUSH0, TLOAD as init code; the Prague BLS12-381 precompile), and a
configured version the node cannot run is refused with one line. Before London (no base fee)
transactions are built as legacy ones with ``gasPrice``.

Pipelined sending: :meth:`EvmClient.send` takes the nonce from the client's
:class:`~adapters.evm.nonces.NonceBook` (read once per sender, then counted locally), the
fee from the kept latest block and the gas limit from the caller (a cached limit), so a
transaction costs one request, its submission; the caller confirms it later, for many
transactions at once, with :meth:`EvmClient.outcomes`. Like :meth:`transact` it goes
through the signed-transaction journal (:mod:`bridge.journal`): the bytes are kept before
they are sent, and a retry re-sends the same bytes.

Sends held for one batch (:meth:`EvmClient.hold_sends`, a node only): while held,
:meth:`send` signs, keeps (journal) and queues the transaction and returns its hash; the
queue goes to the node in one JSON-RPC batch at :meth:`EvmClient.flush_sends` (the relayer
holds a chain's sends for one tick: one request for all its transactions to that chain),
or earlier, before a :meth:`transact` of the same client (which builds on the node's
count). The flush returns the sends the node refused (:class:`Refusal`), each translated
as :meth:`submit` translates a single send's refusal ("already known", or a transaction
the node has, is sent); the caller handles each as a refused single send (the relayer runs
its effect again, unbatched). A refused transaction whose sender had later nonces accepted
in the same batch would leave them queued behind its nonce: that nonce is filled at once
with a zero-value transfer to the sender itself, so the later ones are mined and the
refused one's next attempt is built on a fresh nonce.

Errors: SDK exceptions never leave this module untranslated. A connection failure is
:class:`~bridge.errors.ChainUnavailable`; a revert, whether web3's ``ContractLogicError`` /
``ContractCustomError`` (JSON-RPC nodes) or eth-tester's ``TransactionFailed`` (py-evm,
where a custom error arrives as the Python ``repr`` of its bytes), is decoded into one
:class:`RevertInfo` and raised as :class:`EvmReverted` (a ``TransactionReverted``).
Only reads (``READ_METHODS``) are retried on transport faults; a submission never is.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal, cast

import requests
from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode
from eth_utils.crypto import keccak
from web3 import EthereumTesterProvider, HTTPProvider, Web3
from web3.contract import Contract
from web3.exceptions import (
    BlockNotFound,
    ContractLogicError,
    TimeExhausted,
    TransactionNotFound,
    Web3Exception,
    Web3RPCError,
)
from web3.types import RPCEndpoint, RPCResponse

from adapters.evm.contracts.targets import TARGETS
from adapters.evm.jsonrpc import JsonRpcTransport, RpcError
from adapters.evm.nonces import NonceBook
from adapters.evm.pyevm_reads import PyEvmAnswers, find_transactions_by_index
from bridge import journal
from bridge.errors import (
    BridgeError,
    ChainTimeout,
    ChainUnavailable,
    ConfigError,
    InvalidInput,
    NotFound,
    PermanentError,
    TransactionReverted,
)
from bridge.model import EvmChain
from bridge.ports import TxReceipt
from bridge.reasons import ReasonCode
from bridge.types import to_checksum_address, validate_evm_address

__all__ = [
    "READ_METHODS",
    "ClientStats",
    "EvmClient",
    "EvmReverted",
    "Refusal",
    "RevertInfo",
    "SentTx",
    "decode_revert_data",
    "register_errors",
    "revert_from_exception",
    "translate_error",
]

log = logging.getLogger(__name__)

READ_METHODS: Final = frozenset(
    {
        "eth_chainId",
        "eth_blockNumber",
        "eth_getBalance",
        "eth_getCode",
        "eth_getStorageAt",
        "eth_getBlockByNumber",
        "eth_getBlockByHash",
        "eth_getTransactionByHash",
        "eth_getTransactionReceipt",
        "eth_getTransactionCount",
        "eth_call",
        "eth_estimateGas",
        "eth_getLogs",
        "eth_gasPrice",
        "eth_maxPriorityFeePerGas",
        "eth_feeHistory",
        "eth_accounts",
        "net_version",
        "web3_clientVersion",
    }
)
"""JSON-RPC methods that are idempotent reads: the only ones retried on transport faults."""

_ERROR_STRING: Final = bytes.fromhex("08c379a0")
_PANIC: Final = bytes.fromhex("4e487b71")
_KNOWN_ERRORS: dict[bytes, tuple[str, tuple[str, ...]]] = {}


def register_errors(abi: Sequence[Mapping[str, Any]]) -> None:
    """Make the custom errors declared in ``abi`` decodable by name in revert data."""
    for item in abi:
        if item.get("type") != "error":
            continue
        types = tuple(_abi_type(i) for i in item.get("inputs", ()))
        signature = f"{item['name']}({','.join(types)})"
        _KNOWN_ERRORS[bytes(Web3.keccak(text=signature)[:4])] = (item["name"], types)


def _static_encode(types: Sequence[str], args: Sequence[Any]) -> bytes | None:
    """The ABI encoding of arguments that are all ``address``, ``uint256``, ``bytes32`` or
    ``bool`` (static words, what the HTLC's functions take), checked as strictly as eth-abi
    checks them; None for anything else (eth-abi then encodes it, or refuses it): eth-abi's
    general encoder costs half a millisecond a call."""
    if len(types) != len(args):
        return None
    words: list[bytes] = []
    for kind, value in zip(types, args, strict=True):
        if kind == "uint256":
            if type(value) is not int or not 0 <= value < 2**256:
                return None
            words.append(value.to_bytes(32, "big"))
        elif kind == "address":
            if not isinstance(value, str) or len(value) != 42 or not value.startswith("0x"):
                return None
            digits = value[2:]
            try:
                raw = bytes.fromhex(digits)
            except ValueError:
                return None
            mixed = digits not in (digits.lower(), digits.upper())
            if mixed and value != to_checksum_address(value):
                return None  # a wrong EIP-55 checksum: eth-abi refuses it
            words.append(bytes(12) + raw)
        elif kind == "bytes32":
            if not isinstance(value, bytes | bytearray) or len(value) != 32:
                return None
            words.append(bytes(value))
        elif kind == "bool":
            if type(value) is not bool:
                return None
            words.append(bytes(31) + (b"\x01" if value else b"\x00"))
        else:
            return None
    return b"".join(words)


def _abi_type(item: Mapping[str, Any]) -> str:
    kind = str(item["type"])
    if kind.startswith("tuple"):
        inner = ",".join(_abi_type(c) for c in item.get("components", ()))
        return f"({inner}){kind[5:]}"
    return kind


def _normalise(abi_type: str, value: Any) -> Any:
    """Checksum decoded addresses the way web3's ``call`` does."""
    if abi_type == "address":
        return Web3.to_checksum_address(value)
    if abi_type == "address[]":
        return [Web3.to_checksum_address(v) for v in value]
    return value


@dataclass(frozen=True)
class RevertInfo:
    """A revert decoded into one form, whichever backend reported it.

    ``message`` is the ``Error(string)`` text, or ``Name(arg, ...)`` for a known custom
    error, or ``Panic(0x..)``; ``selector`` the 4-byte selector (hex) of a custom error.
    """

    message: str | None
    selector: str | None = None
    error_name: str | None = None
    error_args: tuple[object, ...] = ()
    data: bytes = b""

    def describe(self) -> str:
        """One line for a person."""
        if self.message:
            return self.message
        if self.selector:
            return f"custom error {self.selector}"
        return "reverted without a reason"


def decode_revert_data(data: bytes) -> RevertInfo:
    """Decode ABI revert data: ``Error(string)``, ``Panic(uint256)`` or a custom error."""
    if not data:
        return RevertInfo(message=None)
    selector, body = data[:4], data[4:]
    if selector == _ERROR_STRING:
        try:
            (text,) = abi_decode(["string"], body)
            return RevertInfo(message=str(text), data=data)
        except Exception:  # malformed reason: keep the bytes
            return RevertInfo(message=None, selector="0x" + selector.hex(), data=data)
    if selector == _PANIC:
        try:
            (code,) = abi_decode(["uint256"], body)
            return RevertInfo(message=f"Panic(0x{int(code):02x})", data=data)
        except Exception:
            return RevertInfo(message="Panic", data=data)
    known = _KNOWN_ERRORS.get(selector)
    if known is not None:
        name, types = known
        try:
            args = tuple(abi_decode(list(types), body))
        except Exception:
            args = ()
        shown = ", ".join(str(a) for a in args)
        return RevertInfo(
            message=f"{name}({shown})",
            selector="0x" + selector.hex(),
            error_name=name,
            error_args=args,
            data=data,
        )
    return RevertInfo(message=None, selector="0x" + selector.hex(), data=data)


_REVERTED_PREFIX = "execution reverted"


def revert_from_exception(exc: BaseException) -> RevertInfo | None:
    """The decoded revert carried by a web3 / eth-tester exception, or None if not a revert."""
    if isinstance(exc, ContractLogicError):
        raw = exc.data
        if isinstance(raw, str) and raw.startswith("0x") and len(raw) > 2:
            try:
                return decode_revert_data(bytes.fromhex(raw[2:]))
            except ValueError:
                pass
        text = str(exc.message or exc)
        text = text.removeprefix(_REVERTED_PREFIX).removeprefix(":").strip()
        return RevertInfo(message=text or None)
    if type(exc).__name__ == "TransactionFailed" and type(exc).__module__.startswith("eth_tester"):
        text = str(exc.args[0]) if exc.args else ""
        text = text.removeprefix(_REVERTED_PREFIX).removeprefix(":").strip()
        if text.startswith(("b'", 'b"')):
            try:
                raw = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                return RevertInfo(message=text)
            if isinstance(raw, bytes):
                return decode_revert_data(raw)
        return RevertInfo(message=text or None)
    return None


class EvmReverted(TransactionReverted):
    """A transaction or call reverted on an EVM chain; ``revert`` holds the decoded reason."""

    def __init__(
        self,
        message: str,
        *,
        revert: RevertInfo,
        tx_id: str | None = None,
        reason: ReasonCode | None = None,
    ) -> None:
        super().__init__(message, raw_message=revert.message, tx_id=tx_id, reason=reason)
        self.revert = revert


_CONNECTION_ERRORS: Final = (
    requests.ConnectionError,
    requests.Timeout,
    requests.HTTPError,  # a gateway's 502/503 in front of the node: the call may be repeated
    ConnectionError,
    TimeoutError,
)


def translate_error(exc: BaseException, *, what: str, tx_id: str | None = None) -> BridgeError:
    """Translate an SDK exception into the :mod:`bridge.errors` tree (caller chains it)."""
    if isinstance(exc, BridgeError):
        return exc
    revert = revert_from_exception(exc)
    if revert is not None:
        return EvmReverted(f"{what} reverted: {revert.describe()}", revert=revert, tx_id=tx_id)
    if isinstance(exc, _CONNECTION_ERRORS):
        return ChainUnavailable(f"{what}: EVM node unreachable ({type(exc).__name__})")
    if isinstance(exc, TimeExhausted):
        return ChainTimeout(f"{what}: no receipt in time")
    if isinstance(exc, TransactionNotFound | BlockNotFound):
        return NotFound(f"{what}: {exc}")
    if isinstance(exc, Web3RPCError):
        return TransactionReverted(f"{what} rejected by the node: {_rpc_message(exc)}", tx_id=tx_id)
    if isinstance(exc, requests.HTTPError):
        return ChainUnavailable(f"{what}: HTTP error from the node ({exc})")
    if isinstance(exc, Web3Exception):
        return PermanentError(f"{what}: {exc}")
    if type(exc).__module__.startswith("eth_tester"):
        return TransactionReverted(f"{what} rejected by py-evm: {exc}", tx_id=tx_id)
    return PermanentError(f"{what}: {type(exc).__name__}: {exc}")


def _rpc_message(exc: Web3RPCError) -> str:
    response = getattr(exc, "rpc_response", None)
    if isinstance(response, dict):
        err = response.get("error")
        if isinstance(err, dict) and "message" in err:
            return str(err["message"])
    return str(exc)


@dataclass
class ClientStats:
    """Counters of what this client asked its node: round trips and JSON-RPC calls."""

    requests: int = 0
    calls: int = 0
    batches: int = 0
    retries: int = 0
    by_method: dict[str, int] = field(default_factory=dict)

    def count(self, method: str, n: int = 1) -> None:
        """Record ``n`` calls of ``method``."""
        self.calls += n
        self.by_method[method] = self.by_method.get(method, 0) + n


@dataclass(frozen=True)
class SentTx:
    """What became of a sent transaction: ``pending`` (known to the node, not mined),
    ``dropped`` (neither mined nor known: send the same bytes again), ``mined`` or
    ``failed`` (mined with status 0) at ``height``, having used ``gas_used``;
    ``out_of_gas``: failed by using up a gas limit the sender had cached (build it anew,
    estimated). ``reason`` says why a failed one failed (filled by the sender's port)."""

    tx_id: str
    status: Literal["pending", "dropped", "mined", "failed", "out_of_gas"]
    height: int = -1
    gas_used: int = 0
    reason: str = ""


@dataclass(frozen=True)
class Refusal:
    """A held send the node refused at :meth:`EvmClient.flush_sends`: the transaction's hash,
    its sender, and the error a single :meth:`EvmClient.submit` would have raised."""

    tx_id: str
    sender: str
    error: BridgeError


@dataclass
class _Held:
    """A signed transaction queued for the next batch (``nonce`` None: kept bytes re-sent,
    their nonce not read back)."""

    tx_id: str
    raw: bytes
    sender: str
    nonce: int | None
    signer: Any


_SEND_BATCH: Final = 500
"""Transactions per JSON-RPC batch at most (a larger queue goes in several)."""


def _sent_of(tx_id: str, receipt: Mapping[str, Any]) -> SentTx:
    ok = int(receipt["status"]) == 1
    return SentTx(
        tx_id,
        "mined" if ok else "failed",
        int(receipt["blockNumber"]),
        int(receipt.get("gasUsed") or 0),
    )


class _CountingHttpProvider(HTTPProvider):
    """HTTPProvider that counts requests and retries idempotent reads (and nothing else)."""

    def __init__(self, url: str, stats: ClientStats, *, retries: int, timeout: float) -> None:
        # the environment's proxy and CA settings are read once here, not on every request
        # (requests would scan os.environ per call: a seventh of a relayer's CPU)
        session = requests.Session()
        settings = session.merge_environment_settings(url, {}, None, None, None)
        session.trust_env = False
        kwargs: dict[str, Any] = {"timeout": timeout}
        if settings.get("proxies"):
            kwargs["proxies"] = settings["proxies"]
        if settings.get("verify") not in (None, True):
            kwargs["verify"] = settings["verify"]
        super().__init__(
            url, request_kwargs=kwargs, session=session, exception_retry_configuration=None
        )
        self._stats = stats
        self._retries = retries

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        attempts = self._retries + 1 if method in READ_METHODS else 1
        for attempt in range(attempts):
            self._stats.requests += 1
            self._stats.count(method)
            try:
                return super().make_request(method, params)
            except _CONNECTION_ERRORS:
                if attempt + 1 >= attempts:
                    raise
                self._stats.retries += 1
                time.sleep(0.05 * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def make_batch_request(
        self, batch_requests: list[tuple[RPCEndpoint, Any]]
    ) -> list[RPCResponse] | RPCResponse:
        reads = all(m in READ_METHODS for m, _ in batch_requests)
        attempts = self._retries + 1 if reads else 1
        for attempt in range(attempts):
            self._stats.requests += 1
            self._stats.batches += 1
            for m, _ in batch_requests:
                self._stats.count(m)
            try:
                return super().make_batch_request(batch_requests)
            except _CONNECTION_ERRORS:
                if attempt + 1 >= attempts:
                    raise
                self._stats.retries += 1
                time.sleep(0.05 * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover


EVM_VERSIONS: Final = TARGETS
"""The EVM targets this client knows, oldest first (a Paris chain is run as ``london``)."""

_PY_EVM_FORKS: Final = {
    "berlin": "BerlinVM",
    "london": "LondonVM",
    "shanghai": "ShanghaiVM",
    "cancun": "CancunVM",
    "prague": "PragueVM",
}

_FEE_FIELDS: Final = (
    "gasPrice",
    "maxFeePerGas",
    "maxPriorityFeePerGas",
    "gas_price",
    "max_fee_per_gas",
    "max_priority_fee_per_gas",
)


def require_evm_version(value: object, *, field_name: str = "evm_version") -> str:
    """``value`` if it is a known EVM target, else ``InvalidInput`` naming the field."""
    if value not in EVM_VERSIONS:
        raise InvalidInput(field_name, f"must be one of {', '.join(EVM_VERSIONS)}", value=value)
    return str(value)


class _CountingTesterProvider(EthereumTesterProvider):
    """EthereumTesterProvider (py-evm in process) that counts requests.

    Before London py-evm builds only legacy transactions, so calls and dev-account sends
    without a fee field get ``gasPrice`` (0 for calls, 1 gwei for sends).
    """

    def __init__(self, stats: ClientStats, evm_version: str | None = None) -> None:
        if evm_version is None:
            super().__init__()
        else:
            from eth.vm import forks
            from eth_tester import EthereumTester, PyEVMBackend

            vm = getattr(forks, _PY_EVM_FORKS[evm_version])
            super().__init__(EthereumTester(PyEVMBackend(vm_configuration=((0, vm),))))
        self._legacy = evm_version == "berlin"
        self._stats = stats

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        self._stats.requests += 1
        self._stats.count(method)
        if self._legacy and method in ("eth_call", "eth_estimateGas", "eth_sendTransaction"):
            tx = dict(params[0])
            if not any(f in tx for f in _FEE_FIELDS):
                # the provider's own middleware has already snake-cased the keys
                tx["gas_price"] = 0 if method != "eth_sendTransaction" else 10**9
            params = [tx, *params[1:]]
        return super().make_request(method, params)


Backend = Literal["pyevm", "rpc"]


class EvmClient:
    """One EVM chain: submit, wait, read, logs, snapshots; errors in :mod:`bridge.errors`.

    Build with :meth:`embedded`, :meth:`connect` or :meth:`from_target`. Implements
    :class:`bridge.ports.ChainClient` and :class:`bridge.ports.ChainClock`.
    """

    LATEST_BLOCK_TTL: float = 4.0
    """Seconds a kept latest block serves fees (and :meth:`recent_now`) before it is read
    again. Every fresh read keeps its block (:meth:`now`, :meth:`head_and_time`: a relayer
    reads one per chain per tick). The fee offered is twice the base fee plus the tip, and a
    base fee rises by at most 1/8 per block: four full one-second blocks (x1.6) stay under
    it. Safety decisions never take the kept block (:meth:`now` reads afresh)."""

    def __init__(
        self,
        w3: Web3,
        *,
        backend: Backend,
        stats: ClientStats,
        name: str | None = None,
        finality: int = 0,
        max_log_range: int = 5_000,
        receipt_timeout: float = 60.0,
        evm_version: str | None = None,
    ) -> None:
        self.w3 = w3
        # web3's validation middleware asks eth_chainId before every call, and the ENS one
        # inspects every argument: we validate addresses and chain ids ourselves.
        for layer in ("validation", "ens_name_to_address"):
            with contextlib.suppress(ValueError):
                w3.middleware_onion.remove(layer)
        self.backend: Backend = backend
        self.stats = stats
        self.max_log_range = max_log_range
        self.receipt_timeout = receipt_timeout
        self._finality = finality
        self._name = name
        self._chain: EvmChain | None = None
        self._default_caller: str | None = None
        self._configured_evm = None if evm_version is None else require_evm_version(evm_version)
        self._evm_version: str | None = None
        self._fast: JsonRpcTransport | None = None
        """The thin JSON-RPC path of the hot reads and submissions (:mod:`.jsonrpc`); None on
        py-evm, or when a proxy or credentials leave the node to web3's ``requests``."""
        self._has_code: set[str] = set()
        self._selectors: dict[str, bytes] = {}
        self._receipts: dict[str, Mapping[str, Any]] = {}
        self._latest: tuple[float, Mapping[str, Any]] | None = None
        self._contracts: dict[tuple[str, int], tuple[object, Contract]] = {}
        self.nonces = NonceBook(self._pending_count)
        """Nonces of :meth:`send`, per sender (:mod:`adapters.evm.nonces`)."""
        self._held: list[_Held] | None = None
        self._held_at = 0.0
        self._held_ids: list[str] = []
        self._refusals: list[Refusal] = []
        self.before_submit: Callable[[], None] | None = None
        """Called before any signed transaction leaves for the node (:meth:`submit`, a
        batch of held sends): the relayer's durability barrier (``Store.commit_group``),
        so nothing is sent that its store has not made durable. An error it raises stops
        the send."""
        self._answers: PyEvmAnswers | None = None

    # -- construction ---------------------------------------------------------------

    @classmethod
    def embedded(cls, evm_version: str | None = None) -> EvmClient:
        """A fresh in-process py-evm chain (auto-mining, dev accounts funded), at the fork
        ``evm_version`` names (default: py-evm's latest, Prague)."""
        stats = ClientStats()
        if evm_version is not None:
            require_evm_version(evm_version)
        w3 = Web3(_CountingTesterProvider(stats, evm_version))
        find_transactions_by_index()  # receipts and logs without reading every block
        return cls(w3, backend="pyevm", stats=stats, name="py-evm", evm_version=evm_version)

    @classmethod
    def connect(
        cls,
        url: str,
        *,
        finality: int = 0,
        retries: int = 2,
        timeout: float = 10.0,
        name: str | None = None,
        evm_version: str | None = None,
    ) -> EvmClient:
        """A JSON-RPC node at ``url`` (http/https). Unreachable -> ``ChainUnavailable``.

        ``evm_version`` names the node's EVM target; unset, it is detected on first use.
        """
        if not url.startswith(("http://", "https://")):
            raise InvalidInput("rpc", "an http(s) JSON-RPC URL or 'embedded'", value=url)
        stats = ClientStats()
        provider = _CountingHttpProvider(url, stats, retries=retries, timeout=timeout)
        client = cls(
            Web3(provider),
            backend="rpc",
            stats=stats,
            name=name,
            finality=finality,
            evm_version=evm_version,
        )
        client._fast = JsonRpcTransport.for_url(
            url, stats=stats, read_methods=READ_METHODS, retries=retries, timeout=timeout
        )
        client.chain  # noqa: B018  (fail fast when the node is unreachable)
        return client

    @classmethod
    def from_target(cls, target: str, **kwargs: Any) -> EvmClient:
        """``"embedded"`` for py-evm in process, otherwise a JSON-RPC URL."""
        if target == "embedded":
            return cls.embedded(kwargs.get("evm_version"))
        return cls.connect(target, **kwargs)

    # -- guarded access -------------------------------------------------------------

    def guard(self, what: str, fn: Callable[[], Any], *, tx_id: str | None = None) -> Any:
        """Run ``fn`` and translate any SDK exception it raises (chained)."""
        try:
            return fn()
        except BridgeError:
            raise
        except Exception as exc:
            raise translate_error(exc, what=what, tx_id=tx_id) from exc

    def _raw(
        self, what: str, method: str, params: Sequence[Any], *, tx_id: str | None = None
    ) -> Any:
        """One request on the thin JSON-RPC path (only when ``self._fast`` is set), its
        error answers translated as web3 would have them translated (:func:`_rpc_failure`)."""
        fast = self._fast
        assert fast is not None
        try:
            return fast.request(method, params)
        except RpcError as exc:
            raise _rpc_failure(exc, what=what, tx_id=tx_id) from exc

    @property
    def fast(self) -> JsonRpcTransport | None:
        """The thin JSON-RPC transport (requests as JSON, answers as the node sends them),
        or None where the client goes through web3 (py-evm; a proxy or credentials)."""
        return self._fast

    # -- ChainClient ------------------------------------------------------------------

    @property
    def chain(self) -> EvmChain:
        """This chain's identity (EIP-155 chain id)."""
        if self._chain is None:
            chain_id = int(self.guard("eth_chainId", lambda: self.w3.eth.chain_id))
            name = self._name or ("anvil" if chain_id == 31337 else None)
            self._chain = EvmChain(chain_id=chain_id, name=name)
        return self._chain

    @property
    def evm_version(self) -> str:
        """The chain's EVM target. A configured one is checked once against the node and
        refused (``ConfigError``, one line) if the node lacks a feature it implies; else
        the node's is detected (:func:`detect_evm_version`)."""
        if self._evm_version is None:
            detected = detect_evm_version(self)
            configured = self._configured_evm
            if configured is not None and EVM_VERSIONS.index(configured) > EVM_VERSIONS.index(
                detected
            ):
                raise ConfigError(
                    f"evm_version = {configured!r} is configured for chain {self.chain_id}, "
                    f"but the node runs {detected!r} (it lacks what {configured} adds): "
                    f"set evm_version = {detected!r}"
                )
            self._evm_version = configured or detected
        return self._evm_version

    @property
    def chain_id(self) -> int:
        """The EIP-155 chain id."""
        return self.chain.chain_id

    def head(self) -> int:
        """Latest block number."""
        if self._fast is not None:
            return _int(self._raw("eth_blockNumber", "eth_blockNumber", []))
        return int(self.guard("eth_blockNumber", lambda: self.w3.eth.block_number))

    def finality_depth(self) -> int:
        """Blocks after which an event counts as final (0 on dev chains: instant finality)."""
        return self._finality

    def submit(self, signed: bytes) -> str:
        """Send a signed raw transaction; return its hash. Re-sending the same bytes is safe."""
        tx_hash = Web3.keccak(signed).to_0x_hex()
        if self.before_submit is not None:
            self.before_submit()
        try:
            if self._fast is not None:
                self._fast.request("eth_sendRawTransaction", ["0x" + signed.hex()])
            else:
                self.w3.eth.send_raw_transaction(signed)
        except RpcError as exc:
            if _already_known(exc.message):
                return tx_hash
            if self._is_known(tx_hash):
                return tx_hash
            raise _rpc_failure(exc, what="send transaction", tx_id=tx_hash) from exc
        except Exception as exc:
            text = str(exc).lower()
            if "already known" in text or "known transaction" in text or "already imported" in text:
                return tx_hash
            if self._is_known(tx_hash):  # e.g. "nonce too low": this very tx was mined
                return tx_hash
            if revert_from_exception(exc) is not None:
                # py-evm mines on submission: a revert here means the tx failed in the block.
                raise translate_error(exc, what="transaction", tx_id=tx_hash) from exc
            raise translate_error(exc, what="send transaction", tx_id=tx_hash) from exc
        return tx_hash

    def _is_known(self, tx_hash: str) -> bool:
        if self._fast is not None:
            try:
                return self._fast.request("eth_getTransactionByHash", [tx_hash]) is not None
            except Exception:
                return False
        try:
            self.w3.eth.get_transaction(cast(Any, tx_hash))
        except Exception:
            return False
        return True

    def wait(self, tx_id: str, *, timeout: float | None = None) -> TxReceipt:
        """Wait for the receipt; raise ``EvmReverted`` (decoded when possible) on status 0."""
        limit = self.receipt_timeout if timeout is None else timeout
        if self._fast is not None:
            receipt = self._poll_receipt(tx_id, limit)
        else:
            receipt = self.guard(
                "wait for receipt",
                lambda: self.w3.eth.wait_for_transaction_receipt(
                    cast(Any, tx_id), timeout=limit, poll_latency=0.02
                ),
                tx_id=tx_id,
            )
        result = TxReceipt(
            tx_id=tx_id,
            height=int(receipt["blockNumber"]),
            success=int(receipt["status"]) == 1,
            fee_paid=int(receipt["gasUsed"]) * int(receipt.get("effectiveGasPrice", 0) or 0),
        )
        if not result.success:
            revert = self._replay_revert(tx_id, result.height)
            if revert.message is None and revert.selector is None:
                revert = self._out_of_gas(tx_id, receipt) or revert
            raise EvmReverted(
                f"transaction {tx_id} reverted: {revert.describe()}", revert=revert, tx_id=tx_id
            )
        return result

    def _poll_receipt(self, tx_id: str, limit: float) -> Mapping[str, Any]:
        """The receipt of ``tx_id`` on the thin path, for ``limit`` s: asked after 20 ms, then
        half as often again each time up to every 200 ms (a block-per-transaction chain
        answers at once; a chain with timed blocks is not asked 50 times a second)."""
        deadline = time.monotonic() + limit
        pause = 0.02
        while True:
            raw = self._raw("wait for receipt", "eth_getTransactionReceipt", [tx_id], tx_id=tx_id)
            if raw is not None:
                receipt = _web3_receipt(raw)
                if len(self._receipts) >= 1024:
                    self._receipts.clear()
                self._receipts[tx_id.lower()] = receipt
                return receipt
            left = deadline - time.monotonic()
            if left <= 0:
                raise ChainTimeout(f"wait for receipt: no receipt for {tx_id} in {limit} s")
            time.sleep(min(pause, left))
            pause = min(pause * 1.5, 0.2)

    def receipt(self, tx_id: str) -> Mapping[str, Any]:
        """The raw web3 receipt of a mined transaction (logs included)."""
        if self._fast is not None:
            kept = self._receipts.get(tx_id.lower())
            if kept is not None:  # just waited for: the same receipt (logs included)
                return kept
            raw = self._raw("get receipt", "eth_getTransactionReceipt", [tx_id], tx_id=tx_id)
            if raw is None:
                raise NotFound(f"get receipt: transaction {tx_id} has no receipt")
            return _web3_receipt(raw)
        return cast(
            Mapping[str, Any],
            self.guard(
                "get receipt",
                lambda: self.w3.eth.get_transaction_receipt(cast(Any, tx_id)),
                tx_id=tx_id,
            ),
        )

    def _out_of_gas(self, tx_id: str, receipt: Mapping[str, Any]) -> RevertInfo | None:
        """``out of gas`` when the failed transaction used its whole gas limit."""
        try:
            tx = self.w3.eth.get_transaction(cast(Any, tx_id))
        except Exception:
            return None
        if int(receipt["gasUsed"]) >= int(tx["gas"]):
            return RevertInfo(message=f"out of gas (limit {int(tx['gas'])})")
        return None

    def _replay_revert(self, tx_id: str, height: int) -> RevertInfo:
        """Re-run a failed transaction as a call on its parent state to learn why.

        The call runs with the failing block's own number and timestamp, so a rule that
        depends on time (a deadline, a lock-up, a time window) is judged as the chain judged
        it: anvil and geth take them as ``eth_call``'s block overrides (a node that refuses
        them gets the plain call at the parent block); py-evm runs the call in a VM whose
        header is the failing block's, over its parent's state.
        """
        try:
            tx = self.w3.eth.get_transaction(cast(Any, tx_id))
            call = {
                "from": tx["from"],
                "to": tx.get("to"),
                "data": tx.get("input"),
                "value": tx.get("value", 0),
                "gas": tx.get("gas"),
            }
            block = self.w3.eth.get_block(height)
        except Exception:
            return RevertInfo(message=None)
        parent = max(height - 1, 0)
        if self.backend == "rpc":
            found = self._replay_with_block_overrides(call, parent, height, block["timestamp"])
            if found is not None:
                return found
        try:
            with self._pyevm_at_block(height):
                self.w3.eth.call(cast(Any, call), block_identifier=parent)
        except Exception as exc:
            found = revert_from_exception(exc)
            if found is not None:
                return found
        return RevertInfo(message=None)

    def _replay_with_block_overrides(
        self, call: Mapping[str, Any], parent: int, height: int, timestamp: int
    ) -> RevertInfo | None:
        """The revert of ``call`` on the state of ``parent`` with block ``height``'s number and
        ``timestamp`` (``eth_call``'s fourth parameter); None when the node refuses the
        overrides or the call does not revert."""
        data = call.get("data") or b""
        params: list[Any] = [
            {
                "from": str(call["from"]),
                "to": None if call.get("to") is None else str(call["to"]),
                "data": data if isinstance(data, str) else "0x" + bytes(data).hex(),
                "value": hex(int(call.get("value") or 0)),
                "gas": hex(int(call.get("gas") or 0)),
            },
            hex(parent),
            {},
            {"number": hex(height), "time": hex(int(timestamp))},
        ]
        try:
            response = self.w3.provider.make_request(RPCEndpoint("eth_call"), params)
        except Exception:
            return None
        error = response.get("error")
        if not isinstance(error, Mapping):
            return None
        raw = error.get("data")
        if isinstance(raw, Mapping):  # some nodes nest the data
            raw = raw.get("data")
        if isinstance(raw, str) and raw.startswith("0x"):
            try:
                return decode_revert_data(bytes.fromhex(raw[2:]))
            except ValueError:
                pass
        message = str(error.get("message") or "")
        if not message.startswith(_REVERTED_PREFIX):
            return None  # e.g. overrides refused: fall back to the plain call
        text = message.removeprefix(_REVERTED_PREFIX).removeprefix(":").strip()
        return RevertInfo(message=text or None)

    @contextlib.contextmanager
    def _pyevm_at_block(self, height: int) -> Iterator[None]:
        """While open, py-evm runs a call "at the parent block" in a VM whose header is block
        ``height``'s (its number, timestamp, base fee) over the parent's state (py-evm's
        equivalent of block overrides). Nothing on a node."""
        if self.backend != "pyevm":
            yield
            return
        import eth_tester.backends.pyevm.main as pyevm_main

        original = pyevm_main._get_vm_for_block_number

        def at_own_block(chain: Any, block_number: Any) -> Any:
            parent = pyevm_main._get_block_by_number(chain, block_number)
            own = chain.get_canonical_block_by_number(height)
            header = own.header.copy(state_root=parent.header.state_root, gas_used=0)
            return chain.get_vm(at_header=header)

        pyevm_main._get_vm_for_block_number = at_own_block
        try:
            yield
        finally:
            pyevm_main._get_vm_for_block_number = original

    # -- ChainClock -------------------------------------------------------------------

    def now(self) -> datetime:
        """Timestamp of the latest block (UTC), always read afresh: the relayer's safety
        decisions (the last safe reveal time, deadlines) are taken on it, and a block kept
        from a moment ago can be one block behind (fees may use the kept block)."""
        if self._fast is not None:
            raw = self._latest_block(fresh=True)
            return datetime.fromtimestamp(_int(raw["timestamp"]), tz=UTC)
        block = self.guard("get block", lambda: self.w3.eth.get_block("latest"))
        return datetime.fromtimestamp(int(block["timestamp"]), tz=UTC)

    def recent_now(self) -> datetime:
        """Timestamp of the kept latest block while it is younger than
        :attr:`LATEST_BLOCK_TTL` (else read afresh): for input checks that a block's lag
        cannot make unsafe (a lock's deadline hours ahead), never for safety decisions."""
        if self._fast is None:
            return self.now()
        return datetime.fromtimestamp(_int(self._latest_block()["timestamp"]), tz=UTC)

    def head_and_time(self) -> tuple[int, int]:
        """The latest block's number and timestamp, in one read (kept for fees): the chain
        clock a relayer reads once per chain per tick for its watcher."""
        if self._fast is not None:
            raw = self._latest_block(fresh=True)
            return _int(raw["number"]), _int(raw["timestamp"])
        block = self.guard("get block", lambda: self.w3.eth.get_block("latest"))
        return int(block["number"]), int(block["timestamp"])

    def _latest_block(self, *, fresh: bool = False) -> Mapping[str, Any]:
        """The latest block (raw), kept for :attr:`LATEST_BLOCK_TTL` seconds from the last
        read (``fresh``: read now, and keep it): its base fee serves transaction fees;
        :meth:`now` always reads afresh."""
        at = time.monotonic()
        kept = self._latest
        if not fresh and kept is not None and at - kept[0] < self.LATEST_BLOCK_TTL:
            return kept[1]
        raw = cast(
            Mapping[str, Any], self._raw("get block", "eth_getBlockByNumber", ["latest", False])
        )
        self._latest = (at, raw)
        return raw

    def fee_per_gas(self) -> int:
        """The fee per gas :meth:`build_tx` would offer now: twice the latest base fee plus
        the 1 gwei tip (London and later), or the node's gas price (before London)."""
        if self._fast is not None:
            raw = self._latest_block()
            if raw.get("baseFeePerGas") is not None:
                return 2 * _int(raw["baseFeePerGas"]) + 10**9
            return _int(self._raw("eth_gasPrice", "eth_gasPrice", []))
        block = self.guard("get block", lambda: self.w3.eth.get_block("latest"))
        if "baseFeePerGas" in block:
            return 2 * int(block["baseFeePerGas"] or 0) + 10**9
        return int(self.guard("eth_gasPrice", lambda: self.w3.eth.gas_price))

    def height(self) -> int:
        """Latest block number."""
        return self.head()

    def block_hash(self, height: int) -> str | None:
        """The hash of block ``height`` (0x hex), or None when the chain has no such block."""

        if self._fast is not None:
            raw = self._raw("eth_getBlockByNumber", "eth_getBlockByNumber", [hex(height), False])
            return None if raw is None else str(raw["hash"]).lower()

        def run() -> str | None:
            try:
                block = self.w3.eth.get_block(height)
            except BlockNotFound:
                return None
            return "0x" + bytes(block["hash"]).hex()

        return cast("str | None", self.guard("eth_getBlockByNumber", run))

    def deadline_for(self, wall_clock: datetime, *, safety: timedelta) -> int:
        """Unix-time deadline (EVM block timestamps) no later than ``wall_clock - safety``."""
        if wall_clock.tzinfo is None:
            raise InvalidInput("wall_clock", "must be timezone-aware")
        return int((wall_clock - safety).timestamp())

    # -- reads -------------------------------------------------------------------------

    def contract(self, address: str, abi: Sequence[Mapping[str, Any]]) -> Contract:
        """A web3 contract at ``address`` with ``abi`` (address validated), built once per
        address and ABI object (web3 builds its function classes from the ABI: milliseconds
        each time) and reused while that very ABI object is passed again."""
        checked = self.checked_address(address)
        key = (checked, id(abi))
        kept = self._contracts.get(key)
        if kept is not None and kept[0] is abi:  # the entry holds the ABI: its id is its own
            return kept[1]
        register_errors(abi)
        contract: Contract = self.w3.eth.contract(address=cast(Any, checked), abi=cast(Any, abi))
        if len(self._contracts) >= 512:
            self._contracts.clear()
        self._contracts[key] = (abi, contract)
        return contract

    @staticmethod
    def checked_address(address: str, *, field_name: str = "address") -> str:
        """The EIP-55 form of ``address``, or ``InvalidInput`` naming ``field_name``."""
        try:
            return validate_evm_address(address)
        except ValueError as exc:
            raise InvalidInput(field_name, str(exc), value=address) from None

    def read(self, fn_call: Any, *, block: int | str = "latest", what: str | None = None) -> Any:
        """``fn_call.call()`` for a contract function, errors translated."""
        label = what or f"call {getattr(fn_call, 'fn_name', 'contract function')}"
        fast = self._fast_encoding(fn_call) if self._fast is not None else None
        if fast is not None:
            data, outputs = fast
            answer = self._raw(
                label, "eth_call", [{"to": fn_call.address, "data": data}, _block_tag(block)]
            )
            raw = bytes.fromhex(str(answer)[2:])
            try:
                values = [
                    _normalise(t, v) for t, v in zip(outputs, abi_decode(outputs, raw), strict=True)
                ]
            except Exception as exc:
                raise PermanentError(
                    f"{label}: could not decode the answer {str(answer)[:80]} as {outputs}"
                ) from exc
            return values[0] if len(values) == 1 else values
        if self.backend == "pyevm":  # encoded here: its answer is kept per block
            encoded = self._fast_encoding(fn_call)
            if encoded is not None:
                data, outputs = encoded
                raw = self.call({"to": fn_call.address, "data": data}, block=block, what=label)
                try:
                    values = [
                        _normalise(t, v)
                        for t, v in zip(outputs, abi_decode(outputs, raw), strict=True)
                    ]
                except Exception as exc:
                    raise PermanentError(
                        f"{label}: could not decode the answer 0x{raw.hex()[:80]} as {outputs}"
                    ) from exc
                return values[0] if len(values) == 1 else values
        caller = self._call_defaults()
        return self.guard(label, lambda: fn_call.call(caller, block_identifier=block))

    def encode_call(self, fn_call: Any) -> bytes:
        """The calldata of a contract function call (``contract.functions.f(...)``): its
        selector hashed once per signature and its arguments encoded by eth-abi (web3's own
        encoding re-validates the ABI and runs its normalisers each time: the fallback)."""
        fast = self._fast_encoding(fn_call)
        if fast is not None:
            return bytes.fromhex(fast[0][2:])
        return bytes.fromhex(str(fn_call._encode_transaction_data()).removeprefix("0x"))

    def _fast_encoding(self, fn_call: Any) -> tuple[str, list[str]] | None:
        """(0x calldata, output types) of ``fn_call``, or None where web3 must encode it
        (keyword arguments, tuple outputs, arguments eth-abi refuses such as hex bytes)."""
        abi = getattr(fn_call, "abi", None)
        args = getattr(fn_call, "args", None)
        if not isinstance(abi, Mapping) or getattr(fn_call, "kwargs", None) or args is None:
            return None
        try:
            inputs = [_abi_type(i) for i in abi.get("inputs", ())]
            outputs = [_abi_type(o) for o in abi.get("outputs", ())]
        except KeyError:
            return None
        if any(t.startswith("(") for t in outputs):
            return None
        signature = f"{abi['name']}({','.join(inputs)})"
        prefix = self._selectors.get(signature)
        if prefix is None:
            prefix = self._selectors[signature] = keccak(text=signature)[:4]
        body = _static_encode(inputs, args)
        if body is None:
            try:
                body = abi_encode(inputs, list(args))
            except Exception:
                return None
        data = prefix + body
        return "0x" + data.hex(), outputs

    def _call_defaults(self) -> dict[str, Any]:
        """``from`` for calls: py-evm would otherwise ask ``eth_accounts`` before each call
        (and checks the caller can afford the call's gas, so it must be a funded account)."""
        if self.backend != "pyevm":
            return {}
        if self._default_caller is None:
            self._default_caller = str(self.guard("eth_accounts", lambda: self.w3.eth.accounts[0]))
        return {"from": self._default_caller}

    def call(
        self, tx: Mapping[str, Any], *, block: int | str = "latest", what: str = "eth_call"
    ) -> bytes:
        """Raw ``eth_call``; a revert raises ``EvmReverted``. On py-evm the answer is kept
        for the block it ran on (:mod:`adapters.evm.pyevm_reads`)."""
        if self._fast is not None:
            answer = self._raw(what, "eth_call", [_tx_json(tx), _block_tag(block)])
            return bytes.fromhex(str(answer)[2:])
        if "from" not in tx:
            tx = {**self._call_defaults(), **tx}
        sent = tx

        def run() -> bytes:
            return bytes(
                self.guard(what, lambda: self.w3.eth.call(cast(Any, sent), cast(Any, block)))
            )

        if self.backend == "pyevm":
            return self.answers.call(sent, block, run)
        return run()

    @property
    def answers(self) -> PyEvmAnswers:
        """The ``eth_call`` answers kept per block on py-evm (:mod:`.pyevm_reads`)."""
        if self._answers is None:
            self._answers = PyEvmAnswers(self._tester)
        return self._answers

    def estimate(self, tx: Mapping[str, Any]) -> int:
        """``eth_estimateGas`` at the latest block (as web3 asks it and py-evm answers it:
        one meaning on every backend; a node left to its default may take the pending block
        instead); a revert raises ``EvmReverted`` (nothing is sent)."""
        if self._fast is not None:
            return _int(self._raw("estimate gas", "eth_estimateGas", [_tx_json(tx), "latest"]))
        return int(self.guard("estimate gas", lambda: self.w3.eth.estimate_gas(cast(Any, tx))))

    def code_at(self, address: str) -> bytes:
        """Deployed bytecode at ``address`` (empty for an account without code)."""
        checked = self.checked_address(address)
        if self._fast is not None:
            answer = self._raw("eth_getCode", "eth_getCode", [checked, "latest"])
            return bytes.fromhex(str(answer)[2:])
        return bytes(self.guard("eth_getCode", lambda: self.w3.eth.get_code(cast(Any, checked))))

    def require_code(self, address: str) -> str:
        """The checksummed address if a contract is deployed there, else ``NotFound``."""
        checked = self.checked_address(address)
        if checked in self._has_code:
            return checked  # code is not taken back (SELFDESTRUCT clears it only at creation)
        if not self.code_at(checked):
            raise NotFound(f"no contract at {checked} on chain {self.chain_id}")
        self._has_code.add(checked)
        return checked

    def balance(self, address: str, *, block: int | str = "latest") -> int:
        """Native-coin balance in wei (at ``block``, default the latest)."""
        checked = self.checked_address(address)
        if self._fast is not None:
            return _int(self._raw("eth_getBalance", "eth_getBalance", [checked, _block_tag(block)]))
        return int(
            self.guard(
                "eth_getBalance",
                lambda: self.w3.eth.get_balance(
                    cast(Any, checked), block_identifier=cast(Any, block)
                ),
            )
        )

    def batch_read(
        self,
        calls: Sequence[tuple[str, bytes]],
        *,
        batch_size: int = 200,
        block: int | None = None,
    ) -> list[bytes | EvmReverted]:
        """``eth_call`` for each ``(to, data)`` at ``block`` (None: the latest); JSON-RPC
        batches on a node, sequential on py-evm.

        A reverted call yields its :class:`EvmReverted` in place of the bytes.
        """
        out: list[bytes | EvmReverted] = []
        if self.backend == "pyevm":
            for to, data in calls:
                try:
                    out.append(
                        self.call(
                            {"to": to, "data": "0x" + data.hex()},
                            block="latest" if block is None else block,
                        )
                    )
                except EvmReverted as exc:
                    out.append(exc)
            return out
        for start in range(0, len(calls), batch_size):
            chunk = calls[start : start + batch_size]
            out.extend(self._guarded_batch(chunk, block))
        return out

    def read_many(self, fn_calls: Sequence[Any]) -> list[Any]:
        """Several contract view calls in one JSON-RPC batch (sequential on py-evm).

        Returns the decoded outputs in order (one value, or a tuple for several outputs;
        addresses checksummed); a call that reverted yields its :class:`EvmReverted`.
        """
        calls = [
            (str(fn.address), bytes.fromhex(str(fn._encode_transaction_data())[2:]))
            for fn in fn_calls
        ]
        raw = self.batch_read(calls, batch_size=max(len(calls), 1))
        out: list[Any] = []
        for fn, answer in zip(fn_calls, raw, strict=True):
            if isinstance(answer, EvmReverted):
                out.append(answer)
                continue
            types = [_abi_type(o) for o in fn.abi.get("outputs", ())]
            try:
                values = [
                    _normalise(t, v) for t, v in zip(types, abi_decode(types, answer), strict=True)
                ]
            except Exception as exc:
                revert = RevertInfo(message=f"undecodable answer ({type(exc).__name__})")
                out.append(EvmReverted(f"call {fn.fn_name}: {revert.message}", revert=revert))
                continue
            out.append(values[0] if len(values) == 1 else tuple(values))
        return out

    def _guarded_batch(
        self, chunk: Sequence[tuple[str, bytes]], block: int | None = None
    ) -> list[bytes | EvmReverted]:
        try:
            return self._batch(chunk, block)
        except BridgeError:
            raise
        except Exception as exc:
            raise translate_error(exc, what="batch eth_call") from exc

    def _batch(
        self, chunk: Sequence[tuple[str, bytes]], block: int | None = None
    ) -> list[bytes | EvmReverted]:
        tag = "latest" if block is None else hex(block)
        if self._fast is not None:
            answers = self._fast.batch(
                [("eth_call", [{"to": to, "data": "0x" + data.hex()}, tag]) for to, data in chunk]
            )
            fast_out: list[bytes | EvmReverted] = []
            for answer in answers:
                if isinstance(answer, RpcError):
                    failure = _rpc_failure(answer, what="call")
                    if not isinstance(failure, EvmReverted):
                        raise failure
                    fast_out.append(failure)
                else:
                    fast_out.append(bytes.fromhex(str(answer)[2:]))
            return fast_out
        provider = cast(_CountingHttpProvider, self.w3.provider)
        requests_ = [
            (RPCEndpoint("eth_call"), [{"to": to, "data": "0x" + data.hex()}, tag])
            for to, data in chunk
        ]
        responses = provider.make_batch_request(requests_)
        if not isinstance(responses, list):
            err = responses.get("error") if isinstance(responses, dict) else None
            raise ChainUnavailable(f"batch eth_call refused by the node: {err}")
        out: list[bytes | EvmReverted] = []
        for response in responses:
            if response.get("error"):
                error = cast(Mapping[str, Any], response["error"])
                data = error.get("data")
                revert = (
                    decode_revert_data(bytes.fromhex(data[2:]))
                    if isinstance(data, str) and data.startswith("0x")
                    else RevertInfo(message=str(error.get("message")))
                )
                out.append(EvmReverted(f"call reverted: {revert.describe()}", revert=revert))
            else:
                out.append(bytes.fromhex(str(response["result"])[2:]))
        return out

    def logs(
        self,
        *,
        address: str | Sequence[str] | None,
        topics: Sequence[Any] | None = None,
        from_block: int = 0,
        to_block: int | None = None,
        step: int | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> Iterator[Mapping[str, Any]]:
        """Logs in ``[from_block, to_block]``, fetched in ranges of at most ``step`` blocks.

        ``progress(done_blocks, total_blocks)`` is called after each range.
        """
        last = self.head() if to_block is None else to_block
        span = step or self.max_log_range
        if from_block > last:
            return
        total = last - from_block + 1
        start = from_block
        while start <= last:
            end = min(start + span - 1, last)
            params: dict[str, Any] = {"fromBlock": start, "toBlock": end}
            if address is not None:
                params["address"] = address
            if topics is not None:
                params["topics"] = list(topics)
            entries = self._get_logs(params)
            yield from entries
            if progress is not None:
                progress(end - from_block + 1, total)
            start = end + 1

    def logs_since(
        self,
        *,
        address: str | Sequence[str],
        from_block: int,
        to_block: int | str = "latest",
        topics: Sequence[Any] | None = None,
    ) -> list[Mapping[str, Any]]:
        """Logs of ``address`` (one or several; with ``topics``, those matching) from
        ``from_block`` to ``to_block`` (default the latest block), in one request: for a
        short recent range the caller bounds (no head read first)."""
        params: dict[str, Any] = {
            "fromBlock": max(from_block, 0),
            "toBlock": to_block,
            "address": address if isinstance(address, str) else list(address),
        }
        if topics is not None:
            params["topics"] = list(topics)
        return self._get_logs(params)

    def logs_and_balance(
        self, *, address: str, from_block: int, to_block: int, holder: str, token: str | None
    ) -> tuple[list[Mapping[str, Any]], int]:
        """Logs of ``address`` in ``[from_block, to_block]`` and ``holder``'s balance of
        ``token`` (None: the native coin; else ERC-20 ``balanceOf``) at ``to_block``: both
        read at one block, in one round trip on a node (a JSON-RPC batch)."""
        if token is None:
            read: tuple[str, list[Any]] = ("eth_getBalance", [holder, hex(to_block)])
        else:
            data = "0x" + (_BALANCE_OF + abi_encode(["address"], [holder])).hex()
            read = ("eth_call", [{"to": token, "data": data}, hex(to_block)])
        if self._fast is None:
            logs = self.logs_since(address=address, from_block=from_block, to_block=to_block)
            if token is None:
                return logs, self.balance(holder, block=to_block)
            answer = self.call({"to": token, "data": read[1][0]["data"]}, block=to_block)
            return logs, _balance_word(answer, token)
        query = {"fromBlock": hex(max(from_block, 0)), "toBlock": hex(to_block), "address": address}
        try:
            raw_logs, raw_read = self._fast.batch([("eth_getLogs", [query]), read])
        except RpcError as exc:  # pragma: no cover - batch answers carry errors in place
            raise _rpc_failure(exc, what="logs and balance") from exc
        for answer in (raw_logs, raw_read):
            if isinstance(answer, RpcError):
                raise _rpc_failure(answer, what=answer.method) from answer
        logs = [_web3_log(entry) for entry in raw_logs]
        if token is None:
            return logs, _int(raw_read)
        return logs, _balance_word(bytes.fromhex(str(raw_read)[2:]), token)

    def _get_logs(self, params: dict[str, Any]) -> list[Mapping[str, Any]]:
        if self._fast is not None:
            query = {
                key: (_block_tag(value) if key in ("fromBlock", "toBlock") else value)
                for key, value in params.items()
            }
            if "topics" in query:
                query["topics"] = [_topic_json(t) for t in query["topics"]]
            raw = self._raw("eth_getLogs", "eth_getLogs", [query])
            return [_web3_log(entry) for entry in raw]
        return cast(
            list[Mapping[str, Any]],
            self.guard("eth_getLogs", lambda: self.w3.eth.get_logs(cast(Any, params))),
        )

    # -- transactions ------------------------------------------------------------------

    def build_tx(
        self,
        sender: str,
        to: str | None,
        data: bytes,
        *,
        value: int = 0,
        gas: int | None = None,
        nonce: int | None = None,
    ) -> dict[str, Any]:
        """A transaction dict ready to sign (EIP-1559, or legacy where the chain has no
        base fee); gas is estimated unless given."""
        tx: dict[str, Any] = {"from": sender, "data": "0x" + data.hex(), "value": value}
        if to is not None:
            tx["to"] = to
        if gas is None:
            gas = self.estimate(tx)
            gas = gas + gas // 5 + 10_000
        if self._fast is not None:
            raw = self._latest_block()
            block: Mapping[str, Any] = (
                {"baseFeePerGas": _int(raw["baseFeePerGas"])} if "baseFeePerGas" in raw else {}
            )
        else:
            block = self.guard("get block", lambda: self.w3.eth.get_block("latest"))
        base_fee = int(block.get("baseFeePerGas", 0) or 0)
        tip = 10**9
        if nonce is None:
            # built from the node's count: the local count of :meth:`send` may now be stale
            self.nonces.forget(sender)
            nonce = self._pending_count(sender)
        tx.update({"gas": gas, "nonce": nonce, "chainId": self.chain_id})
        if "baseFeePerGas" not in block:
            # before London (e.g. ibet's Berlin Quorum): a legacy transaction
            price = int(self.guard("eth_gasPrice", lambda: self.w3.eth.gas_price))
            tx["gasPrice"] = price
        else:
            tx.update({"maxFeePerGas": 2 * base_fee + tip, "maxPriorityFeePerGas": tip, "type": 2})
        tx.pop("from")
        return tx

    def _pending_count(self, sender: str) -> int:
        """The node's transaction count of ``sender`` including its pending ones."""
        if self._fast is not None:
            return _int(
                self._raw("eth_getTransactionCount", "eth_getTransactionCount", [sender, "pending"])
            )
        return int(
            self.guard(
                "eth_getTransactionCount",
                lambda: self.w3.eth.get_transaction_count(cast(Any, sender), "pending"),
            )
        )

    def send(self, signer: Any, to: str | None, data: bytes, *, gas: int, value: int = 0) -> str:
        """Build, sign with ``signer``, keep and submit a transaction without waiting for it;
        return its hash (pipelined sending: confirm it later with :meth:`outcomes`).

        The nonce comes from :attr:`nonces` (read once per sender, then counted locally),
        the fee from the kept latest block, the gas limit from the caller: in the steady
        state the submission is the only request. Inside a journal (:mod:`bridge.journal`)
        the signed bytes are kept before they are sent, and a retry of the same transaction
        re-sends them (unless they were mined, or can no longer be: then a new one is
        built). A send the node refuses releases the nonce (the count is read again); a
        freshly built transaction refused because its nonce is taken (the local count was
        behind, e.g. another process used the key) is built once more on the node's count.
        """
        sender = str(signer.address)
        key = self._journal_key(sender, to, data, value)
        kept = journal.stored(key)
        if kept is not None and self._mined(Web3.keccak(kept).to_0x_hex()):
            journal.forget(key)  # as in :meth:`transact`: the caller wants another one
            kept = None
        if kept is not None:
            if self._held is not None:
                return self._hold(_Held(Web3.keccak(kept).to_0x_hex(), kept, sender, None, signer))
            try:
                return self.submit(kept)  # the same bytes again: never a second transaction
            except BridgeError as exc:
                if not self._unsendable(kept, exc):
                    raise
                log.warning("transaction %s can no longer be mined; building a new one", exc)
                journal.forget(key)
        for attempt in (1, 2):
            nonce = self.nonces.take(sender)
            tx = self.build_tx(sender, to, data, value=value, gas=gas, nonce=nonce)
            raw = journal.keep(key, signer.sign(tx))
            if self._held is not None:
                # kept (journal) before it is queued: it goes out with the batch
                return self._hold(_Held(Web3.keccak(raw).to_0x_hex(), raw, sender, nonce, signer))
            try:
                return self.submit(raw)
            except BridgeError as exc:
                self.nonces.forget(sender)  # not in the pool: its nonce is free again
                if attempt == 1 and self._unsendable(raw, exc):
                    log.info("nonce of %s was taken; building on the node's count", sender)
                    journal.forget(key)
                    continue
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    # -- sends held for one batch ---------------------------------------------------------

    def hold_sends(self) -> bool:
        """Queue :meth:`send`'s transactions for one batch until :meth:`flush_sends`; False
        (nothing held, sends go out one by one) where there is no node (py-evm mines each
        transaction as it is sent) or the client is on web3's transport."""
        if self._fast is None:
            return False
        if self._held is None:
            self._held = []
        return True

    @property
    def held_sends(self) -> tuple[str, ...]:
        """Hashes of the transactions sent while held, queued or already sent in a batch,
        since :meth:`hold_sends` (in the order they were queued)."""
        return tuple(self._held_ids)

    @property
    def held_age(self) -> float:
        """Seconds the oldest queued send has waited (0.0: nothing queued)."""
        return time.monotonic() - self._held_at if self._held else 0.0

    def _hold(self, item: _Held) -> str:
        assert self._held is not None
        if not self._held:
            self._held_at = time.monotonic()
        self._held.append(item)
        self._held_ids.append(item.tx_id)
        return item.tx_id

    def drain_sends(self) -> None:
        """Send the queued transactions now, in one batch per :data:`_SEND_BATCH`, and keep
        holding; refusals are kept for :meth:`flush_sends`."""
        queued = self._held or []
        if self._held is not None:
            self._held = []
        for start in range(0, len(queued), _SEND_BATCH):
            self._refusals.extend(self._send_batch(queued[start : start + _SEND_BATCH]))

    def flush_sends(self) -> list[Refusal]:
        """Send what is queued (:meth:`drain_sends`) and stop holding; return every send
        the node refused since :meth:`hold_sends`."""
        try:
            self.drain_sends()
        finally:
            self._held = None
            self._held_ids = []
        refused, self._refusals = self._refusals, []
        return refused

    def _send_batch(self, queued: Sequence[_Held]) -> list[Refusal]:
        """One ``eth_sendRawTransaction`` batch; the refusals (see the module docstring)."""
        fast = self._fast
        if not queued or fast is None:
            return []
        if self.before_submit is not None:
            try:
                self.before_submit()
            except BaseException:
                for item in queued:  # none was sent: their nonces are free again
                    self.nonces.forget(item.sender)
                raise
        try:
            answers = fast.batch(
                [("eth_sendRawTransaction", ["0x" + item.raw.hex()]) for item in queued]
            )
        except ChainUnavailable as exc:
            # nothing known to have arrived: each is handled as a single send that failed so
            # (the same bytes are sent again; one that did arrive is "already known" then)
            for item in queued:
                self.nonces.forget(item.sender)
            return [Refusal(item.tx_id, item.sender, exc) for item in queued]
        failed: list[tuple[_Held, RpcError]] = []
        for item, answer in zip(queued, answers, strict=True):
            if isinstance(answer, RpcError) and not _already_known(answer.message):
                failed.append((item, answer))
        if not failed:
            return []
        # "nonce too low" for a transaction the node has (e.g. mined already): it is sent
        try:
            known = fast.batch([("eth_getTransactionByHash", [item.tx_id]) for item, _ in failed])
        except ChainUnavailable:
            known = [None] * len(failed)
        refused: list[Refusal] = []
        for (item, error), found in zip(failed, known, strict=True):
            if found is not None and not isinstance(found, RpcError):
                continue
            self.nonces.forget(item.sender)  # not in the pool: its nonce is free again
            failure = _rpc_failure(error, what="send transaction", tx_id=item.tx_id)
            refused.append(Refusal(item.tx_id, item.sender, failure))
        self._fill_gaps(queued, {r.tx_id: r.error for r in refused})
        return refused

    def _fill_gaps(self, queued: Sequence[_Held], refused: Mapping[str, BridgeError]) -> None:
        """Fill each refused nonce below a nonce of the same sender the batch got accepted
        (a zero-value transfer to the sender itself), so those are not queued behind it."""
        accepted: dict[str, int] = {}
        for item in queued:
            if item.tx_id not in refused and item.nonce is not None:
                key = item.sender.lower()
                accepted[key] = max(accepted.get(key, -1), item.nonce)
        for item in queued:
            if item.tx_id not in refused or item.nonce is None:
                continue
            if "nonce" in str(refused[item.tx_id]).lower():
                continue  # "nonce too low": another transaction has it, no gap
            if item.nonce >= accepted.get(item.sender.lower(), -1):
                continue
            try:
                tx = self.build_tx(item.sender, item.sender, b"", gas=21_000, nonce=item.nonce)
                self.submit(item.signer.sign(tx))
            except BridgeError as exc:
                # e.g. "nonce too low": another transaction has it (no gap), or the sender
                # cannot pay even this: its later ones wait for its next transaction
                log.warning(
                    "nonce %d of %s (refused send) not filled: %s",
                    item.nonce,
                    item.sender,
                    exc,
                )
            else:
                log.warning(
                    "nonce %d of %s filled (tx %s refused; later ones were accepted)",
                    item.nonce,
                    item.sender,
                    item.tx_id,
                )
            self.nonces.forget(item.sender)

    def outcomes(self, tx_ids: Sequence[str]) -> dict[str, SentTx]:
        """What became of sent transactions, read in one batch on a node (a second one for
        those without a receipt: still known to the node, or dropped)."""
        ids = list(dict.fromkeys(tx_ids))
        if not ids:
            return {}
        out: dict[str, SentTx] = {}
        if self._fast is None:
            for tx_id in ids:
                try:
                    receipt = self.receipt(tx_id)
                except NotFound:
                    receipt = None
                if receipt is None:
                    known = self._is_known(tx_id)
                    out[tx_id] = SentTx(tx_id, "pending" if known else "dropped")
                else:
                    out[tx_id] = _sent_of(tx_id, receipt)
            return out
        fast = self._fast
        missing: list[str] = []
        for start in range(0, len(ids), 200):
            chunk = ids[start : start + 200]
            answers = fast.batch([("eth_getTransactionReceipt", [t]) for t in chunk])
            for tx_id, answer in zip(chunk, answers, strict=True):
                if isinstance(answer, RpcError):
                    raise _rpc_failure(answer, what="get receipt", tx_id=tx_id)
                if answer is None:
                    missing.append(tx_id)
                else:
                    out[tx_id] = _sent_of(tx_id, _web3_receipt(answer))
        for start in range(0, len(missing), 200):
            chunk = missing[start : start + 200]
            answers = fast.batch([("eth_getTransactionByHash", [t]) for t in chunk])
            for tx_id, answer in zip(chunk, answers, strict=True):
                if isinstance(answer, RpcError):
                    raise _rpc_failure(answer, what="get transaction", tx_id=tx_id)
                out[tx_id] = SentTx(tx_id, "dropped" if answer is None else "pending")
        return out

    def gas_limit_of(self, tx_id: str) -> int | None:
        """The gas limit transaction ``tx_id`` was sent with (None: unknown to the node)."""
        if self._fast is not None:
            raw = self._raw("get transaction", "eth_getTransactionByHash", [tx_id], tx_id=tx_id)
            return None if raw is None else _int(raw["gas"])
        try:
            tx = self.w3.eth.get_transaction(cast(Any, tx_id))
        except Exception:
            return None
        return int(tx["gas"])

    def revert_reason(self, tx_id: str, height: int) -> RevertInfo:
        """Why the mined transaction ``tx_id`` failed (replayed as a call at its block)."""
        return self._replay_revert(tx_id, height)

    def transact(
        self,
        signer: Any,
        to: str | None,
        data: bytes,
        *,
        value: int = 0,
        gas: int | None = None,
    ) -> TxReceipt:
        """Build, sign with ``signer`` (a :class:`bridge.ports.Signer`), submit and wait.

        Without ``gas`` the transaction is estimated first, so a would-be revert raises
        ``EvmReverted`` and nothing is sent. With ``gas`` it is sent as is, and a mined
        failure (status 0) raises ``EvmReverted`` with the replayed reason.
        """
        if self._held:
            self.drain_sends()  # built on the node's count below: the queued ones go first
        key = self._journal_key(signer.address, to, data, value)
        kept = journal.stored(key)
        if kept is not None and self._mined(Web3.keccak(kept).to_0x_hex()):
            # the kept one is on chain: the caller checked the chain and wants another
            # transaction (e.g. an approval used up since), so it is a new one
            journal.forget(key)
            kept = None
        if kept is not None:
            try:
                tx_id = self.submit(kept)
            except BridgeError as exc:
                if not self._unsendable(kept, exc):
                    raise
                log.warning("transaction %s can no longer be mined; building a new one", exc)
                journal.forget(key)
            else:
                return self.wait(tx_id)  # the same bytes again: never a second transaction
        for attempt in (1, 2):
            tx = self.build_tx(signer.address, to, data, value=value, gas=gas)
            raw = journal.keep(key, signer.sign(tx))
            try:
                tx_id = self.submit(raw)
            except BridgeError as exc:
                if attempt == 1 and self._unsendable(raw, exc):
                    journal.forget(key)  # refused: it never entered the pool
                    continue
                raise
            return self.wait(tx_id)
        raise AssertionError("unreachable")  # pragma: no cover

    def _mined(self, tx_id: str) -> bool:
        if self._fast is not None:
            return bool(
                self._raw("eth_getTransactionReceipt", "eth_getTransactionReceipt", [tx_id])
            )

        def run() -> bool:
            try:
                self.w3.eth.get_transaction_receipt(cast(Any, tx_id))
            except TransactionNotFound:
                return False
            return True

        return bool(self.guard("eth_getTransactionReceipt", run))

    def _journal_key(self, sender: str, to: str | None, data: bytes, value: int) -> str:
        digest = hashlib.sha256(data).hexdigest()
        return f"evm:{self.chain_id}:{sender}:{to}:{value}:{digest}"

    def _unsendable(self, signed: bytes, exc: BridgeError) -> bool:
        """Whether a kept transaction can never be mined as it is (and it is not itself on
        chain): its nonce is already used by another transaction of its sender, or the node
        refused its fee cap as below the block's base fee - the latest block kept for fees
        (:attr:`LATEST_BLOCK_TTL`) was behind a chain whose full blocks raised the base fee
        past twice its own; that block is dropped, so the one built next offers the fee of
        the chain's latest block."""
        text = f"{exc} {exc.__cause__}".lower()
        if "less than block base fee" in text:
            self._latest = None
        elif "nonce" not in text:
            return False
        return not self._is_known(Web3.keccak(signed).to_0x_hex())

    def deploy(
        self,
        signer: Any,
        abi: Sequence[Mapping[str, Any]],
        bytecode: str,
        *args: Any,
        gas: int | None = None,
    ) -> Contract:
        """Deploy a contract with constructor ``args``; return it bound to its address."""
        factory = self.w3.eth.contract(abi=cast(Any, abi), bytecode=cast(Any, bytecode))
        data = bytes.fromhex(str(factory.constructor(*args).data_in_transaction).removeprefix("0x"))
        receipt = self.transact(signer, None, data, gas=gas)
        raw = self.receipt(receipt.tx_id)
        address = raw["contractAddress"]
        if not address:
            raise NotFound(f"deployment {receipt.tx_id} created no contract")
        return self.contract(str(address), abi)

    # -- test chains -------------------------------------------------------------------

    def _rpc(self, method: str, params: list[Any]) -> Any:
        self._latest = None  # test-chain controls move time and blocks
        if method in ("evm_revert", "anvil_reset"):
            self.nonces.forget_all()  # transactions undone: the local counts are read again

        def run() -> Any:
            response = self.w3.provider.make_request(RPCEndpoint(method), params)
            if response.get("error"):
                raise ChainUnavailable(f"{method} refused: {response['error']}")
            return response.get("result")

        return self.guard(method, run)

    @property
    def _tester(self) -> Any:
        return cast(Any, self.w3.provider).ethereum_tester

    def snapshot(self) -> int | str:
        """Take a snapshot of the chain state (test chains only)."""
        if self.backend == "pyevm":
            return cast(int, self._tester.take_snapshot())
        return cast(str, self._rpc("evm_snapshot", []))

    def revert(self, snapshot_id: int | str) -> None:
        """Return the chain to ``snapshot_id``. On a node the snapshot is consumed."""
        self._latest = None
        self.nonces.forget_all()  # the transactions since are undone
        if self.backend == "pyevm":
            self._tester.revert_to_snapshot(snapshot_id)
            return
        if not self._rpc("evm_revert", [snapshot_id]):
            raise NotFound(f"snapshot {snapshot_id} not found on the node")

    def mine(self, blocks: int = 1) -> None:
        """Mine ``blocks`` empty blocks (test chains)."""
        if self.backend == "pyevm":
            self._tester.mine_blocks(blocks)
            return
        self._rpc("anvil_mine", [hex(blocks)])

    def increase_time(self, seconds: int) -> None:
        """Move block time forward by ``seconds`` and mine one block (test chains)."""
        if self.backend == "pyevm":
            latest = int(self.w3.eth.get_block("latest")["timestamp"])
            self._tester.time_travel(latest + seconds)
            self._tester.mine_blocks(1)
            return
        self._rpc("evm_increaseTime", [seconds])
        self._rpc("evm_mine", [])

    def dev_accounts(self) -> list[str]:
        """The node's unlocked dev accounts (test chains)."""
        return [str(a) for a in self.guard("eth_accounts", lambda: self.w3.eth.accounts)]

    def fund(self, address: str, wei: int) -> None:
        """Send ``wei`` from the first dev account to ``address`` (test chains)."""
        checked = self.checked_address(address)
        self._latest = None
        source = self.dev_accounts()[0]
        tx: dict[str, Any] = {"from": source, "to": checked, "value": wei}
        if self.backend == "rpc" and self.evm_version == "berlin":
            tx["gasPrice"] = int(self.guard("eth_gasPrice", lambda: self.w3.eth.gas_price))
        tx_hash = self.guard("fund", lambda: self.w3.eth.send_transaction(cast(Any, tx)))
        self.wait(Web3.to_hex(tx_hash))

    def __repr__(self) -> str:
        return f"EvmClient(backend={self.backend!r}, name={self._name!r})"


_PROBES: Final = (
    ("london", "0x485000"),  # BASEFEE POP STOP
    ("shanghai", "0x5f5ff3"),  # PUSH0 PUSH0 RETURN
    ("cancun", "0x60005c5000"),  # PUSH1 0 TLOAD POP STOP
)
_BLS12_G1ADD: Final = "0x" + "00" * 19 + "0b"


def detect_evm_version(client: EvmClient) -> str:
    """The newest target in :data:`EVM_VERSIONS` the node runs, found by ``eth_call``
    probes: each fork's opcode run as init code (refused before that fork), and for Prague
    the BLS12-381 G1 addition precompile (answers 128 bytes for two points at infinity;
    before Prague the address has no code and answers nothing)."""
    found = "berlin"
    for version, code in _PROBES:
        try:
            client.call({"data": code})
        except (TransactionReverted, PermanentError):  # e.g. anvil's "NotActivated"
            return found
        found = version
    try:
        answer = client.call({"to": _BLS12_G1ADD, "data": "0x" + "00" * 256})
    except (TransactionReverted, PermanentError):
        return found
    return "prague" if len(answer) == 128 else found


# -- the thin JSON-RPC path: web3's answers and errors, without web3's formatters ---------


def _already_known(message: str) -> bool:
    """Whether a send's error says the node has the transaction already."""
    text = message.lower()
    return "already known" in text or "known transaction" in text or "already imported" in text


def _rpc_failure(exc: RpcError, *, what: str, tx_id: str | None = None) -> BridgeError:
    """A JSON-RPC error answer as :func:`translate_error` renders the web3 exception for it:
    a revert of ``eth_call`` / ``eth_estimateGas`` (web3's ``ContractLogicError`` rules:
    revert data, a ``data`` member, code 3 or "execution reverted") is an
    :class:`EvmReverted` with the decoded reason; anything else was refused by the node."""
    if exc.method in ("eth_call", "eth_estimateGas"):
        revert = _revert_of(exc)
        if revert is not None:
            return EvmReverted(f"{what} reverted: {revert.describe()}", revert=revert, tx_id=tx_id)
    return TransactionReverted(f"{what} rejected by the node: {exc.message or exc}", tx_id=tx_id)


def _revert_of(exc: RpcError) -> RevertInfo | None:
    """The revert in an error answer of a call, by web3's rules; None: not a revert."""
    data, message = exc.data, exc.message
    text = message.removeprefix(_REVERTED_PREFIX).removeprefix(":").strip() or None
    if isinstance(data, str) and data.startswith("0x") and len(data) > 2:
        try:
            return decode_revert_data(bytes.fromhex(data[2:]))
        except ValueError:
            return RevertInfo(message=text)
    if data is None or (isinstance(data, dict) and message) or exc.code == 3:
        return RevertInfo(message=text)
    if "execution reverted" in message:
        return RevertInfo(message=None)
    return None


_QUANTITIES: Final = frozenset(
    {"value", "gas", "gasPrice", "maxFeePerGas", "maxPriorityFeePerGas", "nonce", "chainId"}
)


def _tx_json(tx: Mapping[str, Any]) -> dict[str, Any]:
    """A transaction or call object as JSON-RPC wants it (quantities as hex, bytes as hex)."""
    out: dict[str, Any] = {}
    for key, value in tx.items():
        if value is None:
            continue
        if key in _QUANTITIES and isinstance(value, int):
            out[key] = hex(value)
        elif isinstance(value, bytes | bytearray):
            out[key] = "0x" + bytes(value).hex()
        elif key == "type" and isinstance(value, int):
            out[key] = hex(value)
        else:
            out[key] = value
    return out


def _topic_json(topic: Any) -> Any:
    if isinstance(topic, bytes | bytearray):
        return "0x" + bytes(topic).hex()
    if isinstance(topic, list | tuple):
        return [_topic_json(t) for t in topic]
    return topic


def _block_tag(block: int | str) -> str:
    return hex(block) if isinstance(block, int) else block


def _int(value: Any) -> int:
    return int(value, 16) if isinstance(value, str) else int(value or 0)


_BALANCE_OF: Final = keccak(text="balanceOf(address)")[:4]


def _balance_word(answer: bytes, token: str) -> int:
    if len(answer) < 32:
        raise PermanentError(f"balanceOf of {token} answered {len(answer)} bytes")
    return int.from_bytes(answer[:32], "big")


def _hexbytes(value: Any) -> bytes:
    """0x hex as bytes (``HexBytes`` validates each string at length: a tenth of a log's
    conversion; every reader of these fields takes ``bytes(...)`` of them)."""
    return bytes.fromhex(value[2:]) if isinstance(value, str) else bytes(value)


_SHAPED_LOGS: dict[tuple[str, str, str, bool], dict[str, Any]] = {}
"""Logs shaped by :func:`_web3_log`, by block hash, log index and transaction hash: a mined
log is fixed by its block's hash (the block commits to its receipts), and a busy HTLC's
escrow check reads the newest blocks' logs once per swap in a tick (a block of a hundred
claims: hundreds of logs, each hex-decoded and its address checksummed, for every swap)."""

_SHAPED_LOGS_KEPT: Final = 16_384


def _web3_log(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A raw log shaped as web3 returns it (hashes, topics and data as bytes, numbers as int, the
    address checksummed), without web3's formatter stack. Each caller gets its own dict and
    topics list; a log of a block (a ``blockHash``) is shaped once."""
    block_hash = raw.get("blockHash")
    if not isinstance(block_hash, str):  # pending, or not a node's JSON: shape it each time
        return _shape_log(raw)
    key = (
        block_hash,
        str(raw["logIndex"]),
        str(raw["transactionHash"]),
        bool(raw.get("removed", False)),
    )
    shaped = _SHAPED_LOGS.get(key)
    if shaped is None:
        shaped = _shape_log(raw)
        if len(_SHAPED_LOGS) >= _SHAPED_LOGS_KEPT:
            _SHAPED_LOGS.clear()
        _SHAPED_LOGS[key] = shaped
    return {**shaped, "topics": list(shaped["topics"])}


def _shape_log(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "address": to_checksum_address(str(raw["address"])),
        "blockHash": _hexbytes(raw["blockHash"]),
        "blockNumber": _int(raw["blockNumber"]),
        "data": _hexbytes(raw["data"]),
        "logIndex": _int(raw["logIndex"]),
        "removed": bool(raw.get("removed", False)),
        "topics": [_hexbytes(t) for t in raw["topics"]],
        "transactionHash": _hexbytes(raw["transactionHash"]),
        "transactionIndex": _int(raw["transactionIndex"]),
    }


_RECEIPT_INTS: Final = (
    "blockNumber",
    "status",
    "gasUsed",
    "cumulativeGasUsed",
    "effectiveGasPrice",
    "transactionIndex",
    "type",
)


def _web3_receipt(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A raw receipt shaped as web3 returns it (the fields the adapters read)."""
    out: dict[str, Any] = dict(raw)
    for key in _RECEIPT_INTS:
        if raw.get(key) is not None:
            out[key] = _int(raw[key])
    for key in ("blockHash", "transactionHash", "logsBloom"):
        if raw.get(key) is not None:
            out[key] = _hexbytes(raw[key])
    for key in ("from", "to", "contractAddress"):
        if raw.get(key):
            out[key] = to_checksum_address(str(raw[key]))
    out["logs"] = [_web3_log(item) for item in raw.get("logs") or ()]
    return out
