"""Many view calls in one ``eth_call``: a reader contract placed by a state override.

A node spends more on setting up each ``eth_call`` (environment, state view, tracing of the
answer) than a view function like ``balanceOf`` costs to run: a 10,000-holder T-REX scan is
30,000 calls. Here one ``eth_call`` runs hundreds of them inside the EVM: the reader's code
is not deployed but given to the call as a state override (``eth_call``'s third parameter,
which anvil, geth, besu and reth accept) at :data:`READER`, and the node runs it at the
pinned block like any call.

The reader (hand-assembled, :data:`READER_CODE`) takes ``(target word, length word, calldata)``
items back to back and ``STATICCALL`` s each target with its calldata and all remaining gas;
it returns ``(success word, length word, return data padded to words)`` per item. A revert's
return data is its revert reason, decoded as a revert of a direct call would be. The inner
calls' ``msg.sender`` is :data:`READER` (a direct ``eth_call`` without ``from`` has the zero
address): only view calls that name no caller belong here (the holder scans' reads).

:func:`multicall_read` answers None when the node refuses the override (the caller then
sends the calls one ``eth_call`` each); the client remembers the refusal.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any, Final

from adapters.evm.client import EvmClient, EvmReverted, decode_revert_data
from adapters.evm.jsonrpc import RpcError

__all__ = [
    "BALANCE_READER",
    "MIN_CALLS",
    "ONE_STATE_MAX",
    "READER",
    "READER_CODE",
    "multicall_read",
    "one_state_read",
]

READER: Final = "0x5354427269646765526561646572000000000001"
"""Where the reader's code is placed for the call ("STBridgeReader", no key can own it)."""

_ASSEMBLY: Final = (
    # stack comments: top first; ptr = calldata offset of the next item, out = output end
    ("PUSH1", 0x00),  # ptr
    ("PUSH1", 0x00),  # out ptr
    ("JUMPDEST:loop", None),
    ("DUP2", None),  # ptr out ptr
    ("CALLDATASIZE", None),
    ("GT", None),  # size>ptr out ptr
    ("PUSH1", "body"),
    ("JUMPI", None),
    ("PUSH1", 0x00),
    ("RETURN", None),  # return(0, out)
    ("JUMPDEST:body", None),  # out ptr
    ("DUP2", None),
    ("PUSH1", 0x20),
    ("ADD", None),
    ("CALLDATALOAD", None),  # len out ptr
    ("DUP1", None),
    ("DUP4", None),
    ("PUSH1", 0x40),
    ("ADD", None),  # ptr+64 len len out ptr
    ("DUP4", None),
    ("PUSH1", 0x40),
    ("ADD", None),  # out+64 ptr+64 len len out ptr
    ("CALLDATACOPY", None),  # len out ptr (calldata at out+64)
    ("PUSH1", 0x00),
    ("PUSH1", 0x00),
    ("DUP3", None),
    ("DUP5", None),
    ("PUSH1", 0x40),
    ("ADD", None),  # out+64 len 0 0 len out ptr
    ("DUP7", None),
    ("CALLDATALOAD", None),  # target out+64 len 0 0 len out ptr
    ("GAS", None),
    ("STATICCALL", None),  # success len out ptr
    ("DUP3", None),
    ("MSTORE", None),  # mem[out] = success
    ("RETURNDATASIZE", None),
    ("DUP3", None),
    ("PUSH1", 0x20),
    ("ADD", None),
    ("MSTORE", None),  # mem[out+32] = size
    ("RETURNDATASIZE", None),
    ("PUSH1", 0x00),
    ("DUP4", None),
    ("PUSH1", 0x40),
    ("ADD", None),
    ("RETURNDATACOPY", None),  # mem[out+64..] = return data; len out ptr
    ("DUP3", None),
    ("ADD", None),
    ("PUSH1", 0x40),
    ("ADD", None),  # ptr+64+len out ptr
    ("SWAP2", None),
    ("POP", None),  # out next
    ("PUSH1", 0x1F),
    ("RETURNDATASIZE", None),
    ("ADD", None),
    ("PUSH1", 0x1F),
    ("NOT", None),
    ("AND", None),  # padded out next
    ("ADD", None),
    ("PUSH1", 0x40),
    ("ADD", None),  # out+64+padded next
    ("PUSH1", "loop"),
    ("JUMP", None),
)

_OPCODES: Final = {
    "ADD": 0x01,
    "GT": 0x11,
    "AND": 0x16,
    "NOT": 0x19,
    "CALLDATALOAD": 0x35,
    "CALLDATASIZE": 0x36,
    "CALLDATACOPY": 0x37,
    "RETURNDATASIZE": 0x3D,
    "RETURNDATACOPY": 0x3E,
    "POP": 0x50,
    "MSTORE": 0x52,
    "JUMP": 0x56,
    "JUMPI": 0x57,
    "GAS": 0x5A,
    "JUMPDEST": 0x5B,
    "PUSH1": 0x60,
    "DUP1": 0x80,
    "DUP2": 0x81,
    "DUP3": 0x82,
    "DUP4": 0x83,
    "DUP5": 0x84,
    "DUP7": 0x86,
    "SWAP2": 0x91,
    "RETURN": 0xF3,
    "STATICCALL": 0xFA,
}


def _assemble(program: Sequence[tuple[str, Any]]) -> bytes:
    labels: dict[str, int] = {}
    at = 0
    for op, _arg in program:
        if op.startswith("JUMPDEST:"):
            labels[op.split(":", 1)[1]] = at
        at += 2 if op == "PUSH1" else 1
    out = bytearray()
    for op, arg in program:
        out.append(_OPCODES[op.split(":", 1)[0]])
        if op == "PUSH1":
            out.append(labels[arg] if isinstance(arg, str) else int(arg))
    return bytes(out)


READER_CODE: Final = "0x" + _assemble(_ASSEMBLY).hex()
"""The reader's runtime code (0x hex)."""

MIN_CALLS: Final = 32
"""Fewer calls than this go as plain ``eth_call`` s (nothing to save)."""

_PER_CALL: Final = 400
"""Inner calls per ``eth_call`` (well inside a node's 30M-gas call cap for view reads)."""

_PER_REQUEST: Final = 8
"""Reader ``eth_call`` s per JSON-RPC batch."""

_REFUSED: Final[weakref.WeakSet[EvmClient]] = weakref.WeakSet()
"""Clients whose node refused the override (they read one ``eth_call`` per call)."""


def multicall_read(
    client: EvmClient, calls: Sequence[tuple[str, bytes]], tag: str
) -> list[bytes | EvmReverted] | None:
    """The answers to ``calls`` (``(to, calldata)``) at block ``tag`` through the reader, in
    order; None if the node refuses state overrides (remembered on the client)."""
    fast = client.fast
    if fast is None or client in _REFUSED:
        return None
    chunks = [calls[i : i + _PER_CALL] for i in range(0, len(calls), _PER_CALL)]
    override = {READER: {"code": READER_CODE}}
    out: list[bytes | EvmReverted] = []
    for start in range(0, len(chunks), _PER_REQUEST):
        group = chunks[start : start + _PER_REQUEST]
        requests = [
            ("eth_call", [{"to": READER, "data": _encode(c)}, tag, override]) for c in group
        ]
        answers = fast.batch(requests)
        for chunk, answer in zip(group, answers, strict=True):
            if isinstance(answer, RpcError):
                if start == 0 and not out:
                    _REFUSED.add(client)
                    return None
                raise EvmReverted(
                    f"reader call refused: {answer.message}",
                    revert=decode_revert_data(b""),
                )
            decoded = _decode(bytes.fromhex(str(answer)[2:]), len(chunk))
            if decoded is None:
                _REFUSED.add(client)
                return None
            out.extend(decoded)
    return out


BALANCE_READER: Final = "0x5354427269646765526561646572000000000002"
"""Where :func:`one_state_read` places a helper answering the native balance of the address
in its 32-byte calldata (``BALANCE``), for a native-coin balance among the reads."""

_BALANCE_READER_CODE: Final = (
    "0x" + bytes([0x60, 0x00, 0x35, 0x31, 0x60, 0x00, 0x52, 0x60, 0x20, 0x60, 0x00, 0xF3]).hex()
)
"""PUSH1 0, CALLDATALOAD, BALANCE, PUSH1 0, MSTORE, PUSH1 32, PUSH1 0, RETURN."""

ONE_STATE_MAX: Final = 4_000
"""Reads :func:`one_state_read` takes in its one ``eth_call`` at most (view reads of a few
thousand gas each, inside a node's 30M-gas call cap)."""


def one_state_read(
    client: EvmClient, calls: Sequence[tuple[str, bytes]], tag: str
) -> list[bytes | EvmReverted] | None:
    """The answers to ``calls`` at block ``tag`` from **one** state: a single ``eth_call``
    of the reader (a call to :data:`BALANCE_READER` with an address word answers that
    address's native balance). A node may answer separate reads pinned to its newest block
    from states a block apart (anvil serves its live state, which may already hold the next
    block); one call runs on one state. None: no JSON-RPC node, more than
    :data:`ONE_STATE_MAX` calls, or the node refused the call (an override it ignored is
    remembered)."""
    fast = client.fast
    if fast is None or client in _REFUSED or not calls or len(calls) > ONE_STATE_MAX:
        return None
    override = {
        READER: {"code": READER_CODE},
        BALANCE_READER: {"code": _BALANCE_READER_CODE},
    }
    try:
        answer = fast.request("eth_call", [{"to": READER, "data": _encode(calls)}, tag, override])
    except RpcError:  # refused, or the block's state is gone: the caller reads otherwise
        return None
    decoded = _decode(bytes.fromhex(str(answer)[2:]), len(calls))
    if decoded is None:
        _REFUSED.add(client)
    return decoded


def _encode(chunk: Sequence[tuple[str, bytes]]) -> str:
    parts: list[bytes] = []
    for to, data in chunk:
        parts.append(bytes(12) + bytes.fromhex(to[2:]))
        parts.append(len(data).to_bytes(32, "big"))
        parts.append(data)
    return "0x" + b"".join(parts).hex()


def _decode(raw: bytes, count: int) -> list[bytes | EvmReverted] | None:
    """The reader's answer as one result per call; None when it is not one (a node that
    ignored the override answers empty)."""
    out: list[bytes | EvmReverted] = []
    at = 0
    for _ in range(count):
        if at + 64 > len(raw):
            return None
        ok = int.from_bytes(raw[at : at + 32], "big")
        size = int.from_bytes(raw[at + 32 : at + 64], "big")
        body = raw[at + 64 : at + 64 + size]
        if len(body) != size:
            return None
        if ok:
            out.append(body)
        else:
            revert = decode_revert_data(body)
            out.append(EvmReverted(f"call reverted: {revert.describe()}", revert=revert))
        at += 64 + (size + 31) // 32 * 32
    return out if at == len(raw) else None
