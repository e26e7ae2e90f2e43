"""Contract reads at scale: calls encoded once, sent in JSON-RPC batches, decoded by hand.

Reading every holder of a token means the same few view functions (``balanceOf``,
``getFrozenTokens``, ``partitionsOf``, ...) called with thousands of addresses. Building each
call through web3's contract objects re-parses the ABI, re-hashes the selector and re-runs
its formatters every time (about 80% of a 10,000-holder read); here a :class:`ViewCall`
computes its selector once, encodes static arguments by hand (an address or an integer is
one 32-byte word) and decodes the answers it knows (one word; ``bytes32[]``) without
eth-abi.

:func:`read_batch` sends ``(to, calldata)`` pairs as ``eth_call`` JSON-RPC batches of
``batch_size`` calls, all at one pinned block, so a whole scan reads one consistent state
and costs ``ceil(calls / batch_size)`` round trips (on py-evm, in process, it calls one by
one: there is no round trip to save). A reverted call comes back as its
:class:`~adapters.evm.client.EvmReverted` in place of the bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Final, cast

from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode
from eth_utils.crypto import keccak

from adapters.evm.client import (
    EvmClient,
    EvmReverted,
    RevertInfo,
    decode_revert_data,
    translate_error,
)
from adapters.evm.jsonrpc import RpcError
from adapters.evm.multicall import MIN_CALLS, multicall_read
from bridge.errors import BridgeError, ChainUnavailable
from bridge.types import to_checksum_address

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "ViewCall",
    "checksum_topic",
    "log_topics",
    "read_batch",
    "require_answers",
    "selector",
    "values",
    "word_uint",
]

DEFAULT_BATCH_SIZE: Final = 500
"""``eth_call``s per JSON-RPC batch: anvil, geth and besu accept it (geth's default cap is
1,000 requests per batch)."""

_WORD_TYPES: Final = frozenset(
    ["address", "bool", "bytes32"]
    + [f"{kind}{bits}" for kind in ("uint", "int") for bits in range(8, 257, 8)]
)


@lru_cache(maxsize=512)
def selector(signature: str) -> bytes:
    """The 4-byte selector of ``signature`` (e.g. ``"balanceOf(address)"``), hashed once."""
    return keccak(text=signature)[:4]


def _word(abi_type: str, value: Any) -> bytes:
    if abi_type == "address":
        raw = bytes.fromhex(str(value)[2:]) if isinstance(value, str) else bytes(value)
        if len(raw) != 20:
            raise ValueError(f"not a 20-byte address: {value!r}")
        return bytes(12) + raw
    if abi_type == "bytes32":
        raw = bytes.fromhex(value[2:]) if isinstance(value, str) else bytes(value)
        if len(raw) != 32:
            raise ValueError(f"not 32 bytes: {value!r}")
        return raw
    if abi_type == "bool":
        return int(bool(value)).to_bytes(32, "big")
    number = int(value)
    return number.to_bytes(32, "big", signed=abi_type.startswith("int"))


def word_uint(answer: bytes) -> int:
    """The unsigned integer (or bool, or address as an integer) in a one-word answer."""
    return int.from_bytes(answer[:32], "big") if answer else 0


def checksum_topic(topic: Any) -> str:
    """The checksummed address in the last 20 bytes of an event topic (bytes or hex)."""
    raw = bytes.fromhex(topic[2:]) if isinstance(topic, str) else bytes(topic)
    return to_checksum_address("0x" + raw[-20:].hex())


@dataclass(frozen=True)
class ViewCall:
    """One view function, with its selector computed and its argument types parsed once.

    ``ViewCall("balanceOf(address)")`` then ``call.encode(holder)`` gives the calldata;
    arguments of one-word static types are packed by hand, anything else through eth-abi.
    """

    signature: str
    returns: tuple[str, ...] = ("uint256",)
    arg_types: tuple[str, ...] = field(init=False)
    prefix: bytes = field(init=False)
    _static: bool = field(init=False)

    def __post_init__(self) -> None:
        inner = self.signature[self.signature.index("(") + 1 : -1]
        types = tuple(t for t in inner.split(",") if t)
        object.__setattr__(self, "arg_types", types)
        object.__setattr__(self, "prefix", selector(self.signature))
        object.__setattr__(self, "_static", all(t in _WORD_TYPES for t in types))

    def encode(self, *args: Any) -> bytes:
        """The calldata of this function with ``args``."""
        if len(args) != len(self.arg_types):
            raise ValueError(f"{self.signature} takes {len(self.arg_types)} arguments")
        if self._static:
            return self.prefix + b"".join(
                _word(t, a) for t, a in zip(self.arg_types, args, strict=True)
            )
        return self.prefix + abi_encode(list(self.arg_types), list(args))

    def decode(self, answer: bytes) -> Any:
        """The decoded answer: one value for one output, else a tuple."""
        if self.returns in (("uint256",), ("bool",), ("uint64",), ("uint8",)):
            value = word_uint(answer)
            return bool(value) if self.returns == ("bool",) else value
        if self.returns == ("bytes32[]",):
            return _bytes32_array(answer)
        values = abi_decode(list(self.returns), answer)
        return values[0] if len(values) == 1 else tuple(values)


def _bytes32_array(answer: bytes) -> list[bytes]:
    if len(answer) < 64:
        raise ValueError("answer too short for bytes32[]")
    offset = int.from_bytes(answer[:32], "big")
    count = int.from_bytes(answer[offset : offset + 32], "big")
    start = offset + 32
    if len(answer) < start + 32 * count:
        raise ValueError("answer too short for its bytes32[] length")
    return [answer[start + 32 * i : start + 32 * (i + 1)] for i in range(count)]


def read_batch(
    client: EvmClient,
    calls: Sequence[tuple[str, bytes]],
    *,
    block: int | str = "latest",
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> list[bytes | EvmReverted]:
    """``eth_call`` each ``(to, calldata)`` at ``block``; answers in order.

    On a node: JSON-RPC batches of ``batch_size`` calls (one round trip each, counted in
    ``client.stats``); on py-evm: one call after another. A reverted call yields its
    :class:`EvmReverted`; a node that refuses a batch raises ``ChainUnavailable``.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    if client.backend == "pyevm":
        out: list[bytes | EvmReverted] = []
        for to, data in calls:
            try:
                out.append(client.call({"to": to, "data": "0x" + data.hex()}, block=block))
            except EvmReverted as exc:
                out.append(exc)
        return out
    tag = hex(block) if isinstance(block, int) else block
    if len(calls) >= MIN_CALLS:  # many calls: inside a few eth_calls (adapters.evm.multicall)
        inside = multicall_read(client, calls, tag)
        if inside is not None:
            return inside
    answers: list[bytes | EvmReverted] = []
    for start in range(0, len(calls), batch_size):
        chunk = calls[start : start + batch_size]
        try:
            answers.extend(_send(client, chunk, tag))
        except BridgeError:
            raise
        except Exception as exc:
            raise translate_error(exc, what="batch eth_call") from exc
    return answers


def _send(
    client: EvmClient, chunk: Sequence[tuple[str, bytes]], tag: str
) -> list[bytes | EvmReverted]:
    requests_ = [("eth_call", [{"to": to, "data": "0x" + data.hex()}, tag]) for to, data in chunk]
    fast = client.fast
    if fast is not None:  # the client's thin JSON-RPC path: no web3 formatters
        return [_answer(a) for a in fast.batch(requests_)]
    provider = cast(Any, client.w3.provider)
    responses = provider.make_batch_request(requests_)
    if not isinstance(responses, list):
        err = responses.get("error") if isinstance(responses, dict) else None
        raise ChainUnavailable(f"batch eth_call refused by the node: {err}")
    if len(responses) != len(chunk):
        raise ChainUnavailable(
            f"batch eth_call: the node answered {len(responses)} of {len(chunk)} calls"
        )
    out: list[bytes | EvmReverted] = []
    for response in responses:
        error = response.get("error")
        if error:
            detail = cast(Mapping[str, Any], error)
            data = detail.get("data")
            revert = (
                decode_revert_data(bytes.fromhex(data[2:]))
                if isinstance(data, str) and data.startswith("0x")
                else RevertInfo(message=str(detail.get("message")))
            )
            out.append(EvmReverted(f"call reverted: {revert.describe()}", revert=revert))
        else:
            out.append(bytes.fromhex(str(response["result"])[2:]))
    return out


def _answer(answer: Any) -> bytes | EvmReverted:
    if isinstance(answer, RpcError):
        data = answer.data
        revert = (
            decode_revert_data(bytes.fromhex(data[2:]))
            if isinstance(data, str) and data.startswith("0x")
            else RevertInfo(message=answer.message)
        )
        return EvmReverted(f"call reverted: {revert.describe()}", revert=revert)
    return bytes.fromhex(str(answer)[2:])


def values(answers: Sequence[bytes | EvmReverted], call: ViewCall) -> list[Any]:
    """Decode every answer with ``call``; the first reverted one is raised."""
    decoded: list[Any] = []
    for answer in answers:
        if isinstance(answer, EvmReverted):
            raise answer
        decoded.append(call.decode(answer))
    return decoded


def require_answers(answers: Sequence[bytes | EvmReverted]) -> list[bytes]:
    """The raw answers; the first reverted one is raised."""
    out: list[bytes] = []
    for answer in answers:
        if isinstance(answer, EvmReverted):
            raise answer
        out.append(answer)
    return out


def log_topics(
    client: EvmClient,
    *,
    address: str,
    topics: Sequence[Any],
    from_block: int,
    to_block: int,
    step: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[list[bytes]]:
    """The topics (as bytes) of every log of ``address`` matching ``topics`` in
    ``[from_block, to_block]``, in ranges of at most ``step`` blocks (the client's
    ``max_log_range`` by default).

    On a node the answers are taken as the node sends them: web3's result formatters turn
    each log into attribute dictionaries and checksum every address in it, which costs more
    than everything else of a 10,000-holder scan. On py-evm it goes through the client.
    ``progress(done_blocks, total_blocks)`` is called after each range.
    """
    if from_block > to_block:
        return
    if client.backend == "pyevm":
        for entry in client.logs(
            address=address,
            topics=topics,
            from_block=from_block,
            to_block=to_block,
            step=step,
            progress=progress,
        ):
            yield [bytes(t) for t in entry["topics"]]
        return
    provider = cast(Any, client.w3.provider)
    span = step or client.max_log_range
    total = to_block - from_block + 1
    start = from_block
    while start <= to_block:
        end = min(start + span - 1, to_block)
        params: dict[str, Any] = {
            "address": address,
            "topics": list(topics),
            "fromBlock": hex(start),
            "toBlock": hex(end),
        }

        def get(p: dict[str, Any] = params) -> Any:
            if client.fast is not None:
                try:
                    return {"result": client.fast.request("eth_getLogs", [p])}
                except RpcError as exc:
                    return {"error": exc.message or str(exc)}
            return provider.make_request("eth_getLogs", [p])

        response = client.guard("eth_getLogs", get)
        error = response.get("error") if isinstance(response, dict) else None
        if error or not isinstance(response, dict) or "result" not in response:
            raise ChainUnavailable(f"eth_getLogs refused by the node: {error or response}")
        for entry in response["result"]:
            yield [bytes.fromhex(str(t)[2:]) for t in entry["topics"]]
        if progress is not None:
            progress(end - from_block + 1, total)
        start = end + 1
