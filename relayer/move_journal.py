"""The move journal: lock-and-mint moves and every transaction of them, in the relayer's store.

Tables (created in the store's own database, SQLite or PostgreSQL, next to the swap tables):

``moves``       one row per move: the request, the pair it belongs to, its stage, both
                quantities (home and mirror base units), why it stopped (refused / failed)
``move_steps``  every transaction of a move, keyed ``(move_id, kind, attempt)``: the signed
                bytes and the transaction id are written *before* the bytes are sent, then
                the status (``signed`` -> ``sent`` -> ``confirmed`` / ``failed`` /
                ``expired``) and the height it was confirmed at
``move_links``  per pair, the home-register account each mirror account stands for (the
                register follows the mirror's holders through these links)

Replicas sharing a PostgreSQL store lease moves as they lease swaps (:mod:`relayer.store`):
:meth:`MoveJournal.claim` takes open moves whose lease is free or expired, with an epoch
that grows whenever a different replica takes a move over. The epoch taken is this
journal's fencing token: every later write of that move through this journal (a stage, a
step journalled before it is sent, a step's status) checks it inside the write's
transaction and fails with :class:`~relayer.store.LeaseLost` once another replica holds the
move. Because a transaction is journalled before it is sent, a replica that lost its lease
cannot journal, so it sends nothing new (no second mint or release); bytes it journalled
while it held the lease are the very ones the new holder resolves and re-sends.

A new attempt of a step is written only when the previous one is provably never going to
land (``expired``: its validity window is over and it is not on chain), so the journal
never holds two transactions of one step that could both be mined.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from bridge.errors import NotFound
from bridge.translate.move import MoveRequest
from relayer.store import LeaseLost, SqliteStore, Store

__all__ = ["MoveJournal", "MoveRow", "StepRow", "StepStatus"]

StepStatus = Literal["signed", "sent", "confirmed", "failed", "expired"]
MoveStage = Literal[
    "requested", "source_sent", "source_seen", "source_final", "target_sent", "done",
    "refused", "failed", "refunded",
]  # fmt: skip

_SCHEMA = """
CREATE TABLE IF NOT EXISTS moves (
    move_id TEXT PRIMARY KEY,
    pair TEXT NOT NULL,
    request TEXT NOT NULL,
    home_account TEXT NOT NULL,
    stage TEXT NOT NULL,
    home_amount BIGINT NOT NULL,
    mirror_amount BIGINT NOT NULL,
    reason TEXT,
    created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL,
    lease_owner TEXT,
    lease_expires DOUBLE PRECISION NOT NULL DEFAULT 0,
    lease_epoch BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS move_steps (
    move_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    chain TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('signed', 'sent', 'confirmed', 'failed', 'expired')),
    signed_tx TEXT NOT NULL,
    tx_id TEXT NOT NULL,
    meta TEXT NOT NULL,
    height BIGINT,
    at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (move_id, kind, attempt)
);
CREATE TABLE IF NOT EXISTS move_links (
    pair TEXT NOT NULL,
    mirror_account TEXT NOT NULL,
    home_account TEXT NOT NULL,
    PRIMARY KEY (pair, mirror_account)
);
"""


@dataclass(frozen=True)
class MoveRow:
    """One journalled move."""

    move_id: str
    pair: str
    request: MoveRequest
    home_account: str
    """The home-register account the mirror units stand for (move out: the receiver's)."""
    stage: str
    home_amount: int
    mirror_amount: int
    reason: str | None
    created_at: float
    updated_at: float

    def view(self) -> dict[str, Any]:
        """A JSON-ready view."""
        return {
            "move_id": self.move_id,
            "pair": self.pair,
            "direction": self.request.direction,
            "holder": self.request.holder,
            "receiver": self.request.receiver,
            "home_account": self.home_account,
            "amount": self.request.amount,
            "home_amount": self.home_amount,
            "mirror_amount": self.mirror_amount,
            "stage": self.stage,
            "reason": self.reason,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


@dataclass(frozen=True)
class StepRow:
    """One transaction of a move (or of a write-back)."""

    move_id: str
    kind: str
    attempt: int
    chain: str
    status: str
    signed_tx: bytes
    tx_id: str
    meta: dict[str, Any]
    height: int | None

    def view(self) -> dict[str, Any]:
        """A JSON-ready view (the signed bytes left out)."""
        return {
            "kind": self.kind,
            "attempt": self.attempt,
            "chain": self.chain,
            "status": self.status,
            "tx_id": self.tx_id,
            "height": self.height,
            **{k: v for k, v in self.meta.items() if k != "note"},
        }


_LEASE_COLUMNS = (
    ("lease_owner", "TEXT"),
    ("lease_expires", "DOUBLE PRECISION NOT NULL DEFAULT 0"),
    ("lease_epoch", "BIGINT NOT NULL DEFAULT 0"),
)

_OPEN = "stage NOT IN ('done', 'refused', 'failed', 'refunded')"

_CLAIM = (
    "SELECT move_id, lease_owner, lease_epoch FROM moves WHERE pair = ? "
    "AND stage NOT IN ('done', 'refused', 'failed', 'refunded') "
    "AND (lease_owner IS NULL OR lease_owner = ? OR lease_expires < ?) "
    "ORDER BY created_at, move_id LIMIT ?"
)
_CLAIM_ONE = (
    "SELECT lease_owner, lease_epoch FROM moves WHERE move_id = ? "
    "AND stage NOT IN ('done', 'refused', 'failed', 'refunded') "
    "AND (lease_owner IS NULL OR lease_owner = ? OR lease_expires < ?)"
)
_FENCE = "SELECT lease_owner, lease_epoch FROM moves WHERE move_id = ?"

_SELECT_MOVES = (
    "SELECT move_id, pair, request, home_account, stage, home_amount, mirror_amount, reason, "
    "created_at, updated_at FROM moves "
)
_INSERT_MOVE = (
    "INSERT INTO moves (move_id, pair, request, home_account, stage, home_amount, "
    "mirror_amount, reason, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_SELECT_STEPS = (
    "SELECT move_id, kind, attempt, chain, status, signed_tx, tx_id, meta, height "
    "FROM move_steps WHERE move_id = ?"
)
_INSERT_STEP = (
    "INSERT INTO move_steps (move_id, kind, attempt, chain, status, signed_tx, tx_id, meta, "
    "height, at) VALUES (?, ?, ?, ?, 'signed', ?, ?, ?, NULL, ?)"
)


class MoveJournal:
    """The move tables in ``store``'s database (created on first use)."""

    def __init__(self, store: Store, *, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self._clock = clock
        # move id -> (owner, epoch) of the leases this journal took (fencing tokens)
        self._held: dict[str, tuple[str, int]] = {}
        if isinstance(store, SqliteStore):
            with store._lock:
                store._conn.executescript(_SCHEMA)
                columns = {r[1] for r in store._conn.execute("PRAGMA table_info(moves)")}
                for column, kind in _LEASE_COLUMNS:  # a journal written before move leases
                    if column not in columns:
                        store._conn.execute(f"ALTER TABLE moves ADD COLUMN {column} {kind}")
        else:
            with store._tx() as cur:
                cur.execute("SELECT pg_advisory_xact_lock(7243118)")
                cur.execute(_SCHEMA)
                for column, kind in _LEASE_COLUMNS:
                    cur.execute(f"ALTER TABLE moves ADD COLUMN IF NOT EXISTS {column} {kind}")

    def _exec(self, cur: Any, sql: str, params: tuple[Any, ...] = ()) -> Any:
        return self.store._exec(cur, sql, params)

    # -- moves ---------------------------------------------------------------------------
    def create(
        self,
        pair: str,
        request: MoveRequest,
        *,
        home_account: str,
        stage: str,
        home_amount: int,
        mirror_amount: int,
        reason: str | None = None,
    ) -> tuple[MoveRow, bool]:
        """Insert a move; the same request again returns the stored row (``False``: it was
        there already). ``NotFound`` is never raised; another request under the same id is a
        ``ValueError`` the caller turns into a conflict."""
        now = self._clock()
        with self.store._tx() as cur:
            row = self._exec(
                cur, _SELECT_MOVES + "WHERE move_id = ?", (request.move_id,)
            ).fetchone()
            if row is not None:
                known = _move(row)
                if known.request != request or known.pair != pair:
                    raise ValueError(f"move {request.move_id} exists with another request")
                return known, False
            self._exec(
                cur,
                _INSERT_MOVE,
                (
                    request.move_id,
                    pair,
                    request.model_dump_json(),
                    home_account,
                    stage,
                    home_amount,
                    mirror_amount,
                    reason,
                    now,
                    now,
                ),
            )
        return self.move(request.move_id), True

    def move(self, move_id: str) -> MoveRow:
        """One move; ``NotFound`` if there is none."""
        with self.store._tx() as cur:
            row = self._exec(cur, _SELECT_MOVES + "WHERE move_id = ?", (move_id,)).fetchone()
        if row is None:
            raise NotFound(f"no move {move_id}")
        return _move(row)

    def moves(self, pair: str, *, open_only: bool = False) -> list[MoveRow]:
        """The pair's moves in creation order (``open_only``: not done, refused or failed)."""
        sql = _SELECT_MOVES + "WHERE pair = ?"
        if open_only:
            sql += " AND " + _OPEN
        with self.store._tx() as cur:
            rows = self._exec(cur, sql + " ORDER BY created_at, move_id", (pair,)).fetchall()
        return [_move(r) for r in rows]

    def set_stage(self, move_id: str, stage: str, reason: str | None = None) -> None:
        """Move ``move_id`` to ``stage`` (keeping an earlier reason unless one is given)."""
        with self.store._tx() as cur:
            self._fence(cur, move_id)
            self._exec(
                cur,
                "UPDATE moves SET stage = ?, reason = COALESCE(?, reason), updated_at = ? "
                "WHERE move_id = ?",
                (stage, reason, self._clock(), move_id),
            )

    # -- steps ---------------------------------------------------------------------------
    def steps(self, move_id: str, kind: str | None = None) -> list[StepRow]:
        """The steps of ``move_id`` (of ``kind``), in order."""
        sql = _SELECT_STEPS
        params: tuple[Any, ...] = (move_id,)
        if kind is not None:
            sql += " AND kind = ?"
            params += (kind,)
        with self.store._tx() as cur:
            rows = self._exec(cur, sql + " ORDER BY at, kind, attempt", params).fetchall()
        return [_step(r) for r in rows]

    def add_step(
        self,
        move_id: str,
        kind: str,
        *,
        chain: str,
        signed_tx: bytes,
        tx_id: str,
        meta: dict[str, Any],
    ) -> StepRow:
        """Journal a signed transaction before it is sent (the next attempt of ``kind``);
        :class:`~relayer.store.LeaseLost` when another replica took the move over."""
        with self.store._tx() as cur:
            self._fence(cur, move_id)
            row = self._exec(
                cur,
                "SELECT COALESCE(MAX(attempt), 0) FROM move_steps WHERE move_id = ? AND kind = ?",
                (move_id, kind),
            ).fetchone()
            attempt = int(row[0]) + 1
            self._exec(
                cur,
                _INSERT_STEP,
                (
                    move_id,
                    kind,
                    attempt,
                    chain,
                    signed_tx.hex(),
                    tx_id,
                    json.dumps(meta, sort_keys=True),
                    self._clock(),
                ),
            )
        return StepRow(move_id, kind, attempt, chain, "signed", signed_tx, tx_id, meta, None)

    def set_step(self, step: StepRow, status: StepStatus, height: int | None = None) -> StepRow:
        """Record a step's new status (and the height it was confirmed at)."""
        with self.store._tx() as cur:
            self._fence(cur, step.move_id)
            self._exec(
                cur,
                "UPDATE move_steps SET status = ?, height = COALESCE(?, height) "
                "WHERE move_id = ? AND kind = ? AND attempt = ?",
                (status, height, step.move_id, step.kind, step.attempt),
            )
        return StepRow(
            step.move_id,
            step.kind,
            step.attempt,
            step.chain,
            status,
            step.signed_tx,
            step.tx_id,
            step.meta,
            step.height if height is None else height,
        )

    # -- leases (meaningful with several replicas on one PostgreSQL store) ---------------
    def claim(self, pair: str, owner: str, *, lease_seconds: float, limit: int = 20) -> list[str]:
        """Take up to ``limit`` open moves of ``pair`` whose lease is free, expired or
        ``owner``'s already (renewed); return their ids, oldest first. The epoch grows when
        a different replica takes a move; it is this journal's fencing token for it."""
        now = self._clock()
        taken: dict[str, int] = {}
        with self.store._tx() as cur:
            rows = self._exec(
                cur,
                _CLAIM + self.store._skip_locked(),
                (pair, owner, now, limit),
            ).fetchall()
            for move_id, last_owner, epoch in rows:
                epoch = int(epoch) if last_owner == owner else int(epoch) + 1
                self._exec(
                    cur,
                    "UPDATE moves SET lease_owner = ?, lease_expires = ?, lease_epoch = ? "
                    "WHERE move_id = ?",
                    (owner, now + lease_seconds, epoch, move_id),
                )
                taken[str(move_id)] = epoch
        for move_id, epoch in taken.items():
            self._held[move_id] = (owner, epoch)
        return list(taken)

    def claim_one(self, move_id: str, owner: str, *, lease_seconds: float) -> bool:
        """Take (or renew) the lease of the one open move ``move_id`` for ``owner`` when it
        is free, expired or ``owner``'s already, as :meth:`claim` does for a pair; False when
        another replica holds it (or the move is closed)."""
        now = self._clock()
        with self.store._tx() as cur:
            row = self._exec(
                cur,
                _CLAIM_ONE + self.store._skip_locked(),
                (move_id, owner, now),
            ).fetchone()
            if row is None:
                return False
            epoch = int(row[1]) if row[0] == owner else int(row[1]) + 1
            self._exec(
                cur,
                "UPDATE moves SET lease_owner = ?, lease_expires = ?, lease_epoch = ? "
                "WHERE move_id = ?",
                (owner, now + lease_seconds, epoch, move_id),
            )
        self._held[move_id] = (owner, epoch)
        return True

    def lease(self, move_id: str) -> tuple[str | None, int]:
        """(who holds the move's lease now, or None when free or expired; its epoch)."""
        with self.store._tx() as cur:
            row = self._exec(
                cur,
                "SELECT lease_owner, lease_expires, lease_epoch FROM moves WHERE move_id = ?",
                (move_id,),
            ).fetchone()
        if row is None:
            raise NotFound(f"no move {move_id}")
        owner = str(row[0]) if row[0] is not None and float(row[1]) >= self._clock() else None
        return owner, int(row[2])

    def _fence(self, cur: Any, move_id: str) -> None:
        """Refuse a write of a move this journal leased once another replica holds it (in
        the write's transaction, the row locked on PostgreSQL, the database on SQLite)."""
        held = self._held.get(move_id)
        if held is None:
            return  # a move this journal never leased (the API planning it, one replica)
        row = self._exec(
            cur,
            _FENCE + self.store._lock_clause(),
            (move_id,),
        ).fetchone()
        if row is not None and (row[0] != held[0] or int(row[1]) != held[1]):
            raise LeaseLost(
                f"move {move_id}: leased by {held[0]} at epoch {held[1]}, now held by "
                f"{row[0]} at epoch {int(row[1])}; write refused"
            )

    # -- links ---------------------------------------------------------------------------
    def link(self, pair: str, mirror_account: str, home_account: str) -> None:
        """Record that ``mirror_account`` stands for ``home_account`` in the home register
        (first link wins: an account is linked once)."""
        with self.store._tx() as cur:
            row = self._exec(
                cur,
                "SELECT home_account FROM move_links WHERE pair = ? AND mirror_account = ?",
                (pair, mirror_account),
            ).fetchone()
            if row is None:
                self._exec(
                    cur,
                    "INSERT INTO move_links (pair, mirror_account, home_account) VALUES (?, ?, ?)",
                    (pair, mirror_account, home_account),
                )
            elif str(row[0]).lower() != home_account.lower():
                raise ValueError(f"{mirror_account} is linked to {row[0]} already")

    def links(self, pair: str) -> dict[str, str]:
        """Mirror account -> home account, for the pair."""
        with self.store._tx() as cur:
            rows = self._exec(
                cur, "SELECT mirror_account, home_account FROM move_links WHERE pair = ?", (pair,)
            ).fetchall()
        return {str(r[0]): str(r[1]) for r in rows}


def _move(row: Any) -> MoveRow:
    return MoveRow(
        move_id=str(row[0]),
        pair=str(row[1]),
        request=MoveRequest.model_validate_json(row[2]),
        home_account=str(row[3]),
        stage=str(row[4]),
        home_amount=int(row[5]),
        mirror_amount=int(row[6]),
        reason=None if row[7] is None else str(row[7]),
        created_at=float(row[8]),
        updated_at=float(row[9]),
    )


def _step(row: Any) -> StepRow:
    return StepRow(
        move_id=str(row[0]),
        kind=str(row[1]),
        attempt=int(row[2]),
        chain=str(row[3]),
        status=str(row[4]),
        signed_tx=bytes.fromhex(str(row[5])),
        tx_id=str(row[6]),
        meta=json.loads(row[7]),
        height=None if row[8] is None else int(row[8]),
    )
