"""The relayer's write-ahead store: every input and the effects it produces, in one transaction.

One interface, two databases with the same behaviour:

- :class:`SqliteStore` (default): a file in WAL mode, one process;
- :class:`PostgresStore`: shared by several relayer replicas; each swap is owned through a
  lease (``FOR UPDATE SKIP LOCKED`` on claim, with an expiry), so a crashed replica's swaps
  are taken over and no two replicas act on the same swap at once.

Tables (same columns in both):

``swaps``    one row per swap: terms, current state (JSON), outcome, lease owner/expiry
``inputs``   the write-ahead log: every state change applied, in order, with its effects
``effects``  effects to run, keyed by (swap_id, seq), with their status and the signed
             transaction bytes once built (a retry re-sends the same bytes)
``secrets``  the swap secret, AES-GCM encrypted (never stored or logged in clear)
``documents`` named JSON documents per swap (the order, the compliance decision)
``notes``     named JSON documents not tied to a swap row yet (an early SATP order)
``cursors``  per-chain event cursor: the last height the chain watcher has scanned
``chain_events`` HTLC events (lock / claim / refund) the watcher found, per chain and height
``chain_blocks`` the block hash at each height the watcher stopped at (reorg detection)
``chain_origins`` per chain, the lowest height from which every HTLC event is recorded
``funds_reservations`` what each admitted leg's lock will take from its sender, until the
             lock is mined (:mod:`relayer.reservations`), and the height it was mined at
``funds_totals`` the sum of those holds per chain, sender and asset (kept with them)

:meth:`Store.apply` loads the swap, runs the pure transition, and writes the new state, the
input and the new effects before returning them: a crash at any point either loses the
input (it is observed again) or keeps it with its effects (they run on restart).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import TypeAdapter

from bridge.errors import NotFound, StoreUnavailable, TransientError
from bridge.ports import ChainEvent
from bridge.swap import Effect, Role, StateChange, SwapState, SwapTerms, chain_key, transition
from relayer.reservations import FundsBook, released

__all__ = [
    "EffectRow",
    "LeaseLost",
    "PostgresStore",
    "SignerBusy",
    "SqliteStore",
    "Store",
    "open_store",
]

log = logging.getLogger(__name__)

_CHANGE = TypeAdapter(StateChange)
_EFFECT = TypeAdapter(Effect)

EffectStatus = Literal["pending", "sent", "done", "failed"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS swaps (
    swap_id TEXT PRIMARY KEY,
    terms TEXT NOT NULL,
    state TEXT NOT NULL,
    outcome TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL,
    lease_owner TEXT,
    lease_expires DOUBLE PRECISION NOT NULL DEFAULT 0,
    lease_epoch BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS inputs (
    swap_id TEXT NOT NULL REFERENCES swaps(swap_id),
    n INTEGER NOT NULL,
    change TEXT NOT NULL,
    effects TEXT NOT NULL,
    at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (swap_id, n)
);
CREATE TABLE IF NOT EXISTS effects (
    swap_id TEXT NOT NULL REFERENCES swaps(swap_id),
    seq INTEGER NOT NULL,
    effect TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'done', 'failed')),
    signed_tx TEXT,
    tx_id TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (swap_id, seq)
);
CREATE TABLE IF NOT EXISTS secrets (
    swap_id TEXT PRIMARY KEY REFERENCES swaps(swap_id),
    sealed TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS documents (
    swap_id TEXT NOT NULL REFERENCES swaps(swap_id),
    name TEXT NOT NULL,
    body TEXT NOT NULL,
    at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (swap_id, name)
);
CREATE TABLE IF NOT EXISTS cursors (
    chain TEXT PRIMARY KEY,
    height BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS chain_events (
    chain TEXT NOT NULL,
    height BIGINT NOT NULL,
    tx_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    name TEXT NOT NULL,
    lock_id TEXT NOT NULL,
    hashlock TEXT,
    args TEXT NOT NULL,
    PRIMARY KEY (chain, height, tx_id, idx)
);
CREATE INDEX IF NOT EXISTS chain_events_by_hashlock ON chain_events (chain, hashlock);
CREATE INDEX IF NOT EXISTS chain_events_by_lock ON chain_events (chain, lock_id);
CREATE TABLE IF NOT EXISTS chain_blocks (
    chain TEXT NOT NULL,
    height BIGINT NOT NULL,
    block_hash TEXT NOT NULL,
    PRIMARY KEY (chain, height)
);
CREATE TABLE IF NOT EXISTS chain_origins (
    chain TEXT PRIMARY KEY,
    height BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS funds_reservations (
    swap_id TEXT NOT NULL REFERENCES swaps(swap_id),
    role TEXT NOT NULL,
    chain TEXT NOT NULL,
    sender TEXT NOT NULL,
    lock_id TEXT NOT NULL,
    asset TEXT NOT NULL,
    gas BIGINT NOT NULL,
    coin TEXT NOT NULL,
    token TEXT NOT NULL,
    landed_at BIGINT,
    PRIMARY KEY (swap_id, role)
);
CREATE INDEX IF NOT EXISTS funds_reservations_landed
    ON funds_reservations (chain, sender, landed_at);
CREATE INDEX IF NOT EXISTS funds_reservations_by_lock ON funds_reservations (chain, lock_id);
CREATE TABLE IF NOT EXISTS funds_totals (
    chain TEXT NOT NULL,
    sender TEXT NOT NULL,
    asset TEXT NOT NULL,
    holds BIGINT NOT NULL,
    gas BIGINT NOT NULL,
    coin TEXT NOT NULL,
    token TEXT NOT NULL,
    PRIMARY KEY (chain, sender, asset)
);
CREATE TABLE IF NOT EXISTS notes (
    name TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    at DOUBLE PRECISION NOT NULL
);
"""


_KEPT_STATES: Final = 20_000
"""Parsed swap states a store keeps (see ``Store._state_of``); past it they are dropped."""


class LeaseLost(TransientError):
    """Another replica took this swap over since this one leased it (its lease epoch moved
    on): the write is refused and this replica must stop acting on the swap. Transient: the
    swap is this replica's again only when a later :meth:`Store.claim_swaps` returns it."""


class SignerBusy(TransientError):
    """Another replica is signing and sending with this key now; try again next tick."""


@dataclass(frozen=True)
class EffectRow:
    """One stored effect and its execution status."""

    effect: Effect
    status: EffectStatus
    signed_tx: str | None
    tx_id: str | None
    attempts: int


class Store(FundsBook, ABC):
    """Shared logic; subclasses provide the connection and the SQL dialect details."""

    placeholder = "?"

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        # one connection per store, shared by the API threads and the tick loop
        self._lock = threading.RLock()
        # swap id -> (owner, epoch) of the leases this store's replica took (fencing tokens)
        self._held: dict[str, tuple[str, int]] = {}
        # swap id -> (stored JSON, its state): each stored version is parsed once
        self._states: dict[str, tuple[str, SwapState]] = {}
        # stored JSON -> its effect (parsed once per text)
        self._effects: dict[str, Effect] = {}

    # -- dialect hooks ------------------------------------------------------------
    @abstractmethod
    def _tx(self) -> AbstractContextManager[Any]:
        """A cursor inside one database transaction (committed on exit, rolled back on error)."""

    def _read(self) -> AbstractContextManager[Any]:
        """A cursor for **one** read statement (see :class:`SqliteStore`); here, a
        transaction like any other."""
        return self._tx()

    # -- grouped writes (one tick's writes, committed at barriers) -------------------
    def grouped(self) -> AbstractContextManager[None]:
        """The calling thread's writes inside the block are made durable together, at each
        :meth:`commit_group` and at the block's end (see :class:`SqliteStore`). Here
        (PostgreSQL): each commit is durable on its own."""
        return nullcontext()

    def commit_group(self) -> None:
        """A durability barrier: every write of the group is on disk when it returns.
        No-op outside a group."""

    def _lock_clause(self) -> str:
        return ""

    def _q(self, sql: str) -> str:
        return sql.replace("?", self.placeholder)

    def _exec(self, cur: Any, sql: str, params: tuple[Any, ...] = ()) -> Any:
        cur.execute(self._q(sql), params)
        return cur

    # -- swaps --------------------------------------------------------------------
    def create(self, terms: SwapTerms, *, sealed_secret: str | None = None) -> SwapState:
        """Insert a new swap (idempotent: the same terms again return the stored state)."""
        state = SwapState(terms=terms)
        now = self._clock()
        with self._tx() as cur:
            row = self._exec(
                cur, "SELECT terms, state FROM swaps WHERE swap_id = ?", (terms.swap_id,)
            ).fetchone()
            if row is not None:
                if SwapTerms.model_validate_json(row[0]) != terms:
                    raise StoreUnavailable(f"swap {terms.swap_id} exists with other terms")
                return SwapState.model_validate_json(row[1])
            self._exec(
                cur,
                "INSERT INTO swaps (swap_id, terms, state, outcome, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    terms.swap_id,
                    terms.model_dump_json(),
                    state.model_dump_json(),
                    state.outcome.value,
                    now,
                    now,
                ),
            )
            if sealed_secret is not None:
                self._exec(
                    cur,
                    "INSERT INTO secrets (swap_id, sealed) VALUES (?, ?)",
                    (terms.swap_id, sealed_secret),
                )
        return state

    def get(self, swap_id: str) -> SwapState:
        """The current state of a swap."""
        with self._read() as cur:
            row = self._exec(
                cur, "SELECT state FROM swaps WHERE swap_id = ?", (swap_id,)
            ).fetchone()
        if row is None:
            raise NotFound(f"no swap {swap_id}")
        return self._state_of(swap_id, row[0])

    def _state_of(self, swap_id: str, stored: str) -> SwapState:
        """The state stored as ``stored`` (JSON). A state is parsed once per stored version
        (pydantic's validation was a tenth of a busy tick's CPU): the one kept is returned
        only when the stored text is the very text it was parsed from or written as, and
        states are immutable values, so it is what parsing would give."""
        kept = self._states.get(swap_id)
        if kept is not None and kept[0] == stored:
            return kept[1]
        state = SwapState.model_validate_json(stored)
        self._keep_state(swap_id, stored, state)
        return state

    def _keep_state(self, swap_id: str, stored: str, state: SwapState) -> None:
        if len(self._states) >= _KEPT_STATES and swap_id not in self._states:
            self._states.clear()
        self._states[swap_id] = (stored, state)

    def list_ids(
        self, *, outcome: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[str]:
        """Swap ids, oldest first, optionally only those with ``outcome``."""
        sql = "SELECT swap_id FROM swaps"
        params: tuple[Any, ...] = ()
        if outcome is not None:
            sql += " WHERE outcome = ?"
            params = (outcome,)
        sql += " ORDER BY created_at, swap_id LIMIT ? OFFSET ?"
        with self._tx() as cur:
            rows = self._exec(cur, sql, (*params, limit, offset)).fetchall()
        return [r[0] for r in rows]

    def apply(self, swap_id: str, change: Any) -> tuple[SwapState, tuple[Effect, ...]]:
        """Run one input through the engine and persist input, state and effects atomically."""
        with self._tx() as cur:
            row = self._exec(  # the state and the lease, one read (the row locked)
                cur,
                "SELECT state, lease_owner, lease_epoch FROM swaps WHERE swap_id = ?"
                + self._lock_clause(),
                (swap_id,),
            ).fetchone()
            if row is None:
                raise NotFound(f"no swap {swap_id}")
            self._fence_row(swap_id, row[1], row[2])
            state = self._state_of(swap_id, row[0])
            new_state, effects = transition(state, change)
            n_row = self._exec(
                cur, "SELECT COALESCE(MAX(n), 0) FROM inputs WHERE swap_id = ?", (swap_id,)
            ).fetchone()
            n = int(n_row[0]) + 1
            now = self._clock()
            self._exec(
                cur,
                "INSERT INTO inputs (swap_id, n, change, effects, at) VALUES (?, ?, ?, ?, ?)",
                (
                    swap_id,
                    n,
                    _CHANGE.dump_json(change).decode(),
                    json.dumps([_EFFECT.dump_python(e, mode="json") for e in effects]),
                    now,
                ),
            )
            for effect in effects:
                self._exec(
                    cur,
                    "INSERT INTO effects (swap_id, seq, effect, status) "
                    "VALUES (?, ?, ?, 'pending')",
                    (swap_id, effect.seq, _EFFECT.dump_json(effect).decode()),
                )
            stored = new_state.model_dump_json()
            self._exec(
                cur,
                "UPDATE swaps SET state = ?, outcome = ?, updated_at = ? WHERE swap_id = ?",
                (stored, new_state.outcome.value, now, swap_id),
            )
            self._keep_state(swap_id, stored, new_state)  # matched only if this text is stored
            for role in released(state, new_state):  # a lock confirmed or failed, a swap over
                self._drop_holds(cur, swap_id, role)
        return new_state, effects

    def inputs(self, swap_id: str) -> list[Any]:
        """The logged inputs of a swap, in order (for replay and audit)."""
        with self._tx() as cur:
            rows = self._exec(
                cur, "SELECT change FROM inputs WHERE swap_id = ? ORDER BY n", (swap_id,)
            ).fetchall()
        return [_CHANGE.validate_json(r[0]) for r in rows]

    def input_count(self, swap_id: str) -> int:
        """How many inputs of a swap are logged."""
        with self._tx() as cur:
            row = self._exec(
                cur, "SELECT COUNT(*) FROM inputs WHERE swap_id = ?", (swap_id,)
            ).fetchone()
        return int(row[0])

    def input_log(self, swap_id: str) -> list[dict[str, Any]]:
        """Every logged input with its time and the effects it produced (for audit)."""
        with self._tx() as cur:
            rows = self._exec(
                cur,
                "SELECT n, change, effects, at FROM inputs WHERE swap_id = ? ORDER BY n",
                (swap_id,),
            ).fetchall()
        return [
            {
                "n": int(r[0]),
                "at": float(r[3]),
                "input": json.loads(r[1]),
                "effects": json.loads(r[2]),
            }
            for r in rows
        ]

    # -- documents ----------------------------------------------------------------
    def put_document(self, swap_id: str, name: str, body: str) -> None:
        """Store (or replace) a named JSON document of a swap."""
        with self._tx() as cur:
            self._fence(cur, swap_id)
            self._exec(
                cur,
                "INSERT INTO documents (swap_id, name, body, at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (swap_id, name) DO UPDATE SET body = excluded.body, at = excluded.at",
                (swap_id, name, body, self._clock()),
            )

    def delete_document(self, swap_id: str, name: str) -> None:
        """Remove a named document of a swap (no error when absent)."""
        with self._tx() as cur:
            self._fence(cur, swap_id)
            self._exec(cur, "DELETE FROM documents WHERE swap_id = ? AND name = ?", (swap_id, name))

    def reopen_effect(self, swap_id: str, *, kind: str, role: str | None = None) -> int | None:
        """Mark the latest effect of ``kind`` (and ``role``) pending again; return its seq.

        Used when the chain lost what the effect did (a reorg dropped a sent lock). The
        stored transaction is forgotten so the effect builds and sends a new one.
        """
        with self._tx() as cur:
            self._fence(cur, swap_id)
            rows = self._exec(
                cur,
                "SELECT seq, effect FROM effects WHERE swap_id = ? ORDER BY seq DESC",
                (swap_id,),
            ).fetchall()
            for seq, body in rows:
                effect = json.loads(body)
                if effect["kind"] == kind and (role is None or effect.get("role") == role):
                    self._exec(
                        cur,
                        "UPDATE effects SET status = 'pending', signed_tx = NULL, tx_id = NULL "
                        "WHERE swap_id = ? AND seq = ?",
                        (swap_id, seq),
                    )
                    return int(seq)
        return None

    def keep_document(self, swap_id: str, name: str, body: str) -> str:
        """Store a named document unless it exists; return the stored body (first wins)."""
        with self._tx() as cur:
            self._fence(cur, swap_id)
            self._exec(
                cur,
                "INSERT INTO documents (swap_id, name, body, at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (swap_id, name) DO NOTHING",
                (swap_id, name, body, self._clock()),
            )
            row = self._exec(
                cur, "SELECT body FROM documents WHERE swap_id = ? AND name = ?", (swap_id, name)
            ).fetchone()
        return str(row[0])

    def document_names(self, swap_id: str, prefix: str) -> list[str]:
        """The names of a swap's documents that start with ``prefix``, sorted."""
        with self._read() as cur:
            rows = self._exec(
                cur,
                "SELECT name FROM documents WHERE swap_id = ? AND substr(name, 1, ?) = ? "
                "ORDER BY name",
                (swap_id, len(prefix), prefix),
            ).fetchall()
        return [str(r[0]) for r in rows]

    def document(self, swap_id: str, name: str) -> str:
        """A named document of a swap; ``NotFound`` when absent."""
        with self._read() as cur:
            row = self._exec(
                cur, "SELECT body FROM documents WHERE swap_id = ? AND name = ?", (swap_id, name)
            ).fetchone()
        if row is None:
            raise NotFound(f"swap {swap_id} has no {name}")
        return str(row[0])

    # -- notes (named documents not tied to a swap row) ---------------------------
    def put_note(self, name: str, body: str) -> None:
        """Store (or replace) a named JSON note that belongs to no swap row yet (an SATP
        responder's order that arrived before the peer's proposal)."""
        with self._tx() as cur:
            self._exec(
                cur,
                "INSERT INTO notes (name, body, at) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET body = excluded.body, at = excluded.at",
                (name, body, self._clock()),
            )

    def note(self, name: str) -> str:
        """A named note; ``NotFound`` when absent."""
        with self._read() as cur:
            row = self._exec(cur, "SELECT body FROM notes WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise NotFound(f"no note {name}")
        return str(row[0])

    def delete_note(self, name: str) -> None:
        """Remove a named note (no error when absent)."""
        with self._tx() as cur:
            self._exec(cur, "DELETE FROM notes WHERE name = ?", (name,))

    # -- effects ------------------------------------------------------------------
    def pending_effects(self, swap_id: str) -> list[EffectRow]:
        """Effects not yet done or failed, in sequence order (what to run after a restart)."""
        with self._read() as cur:
            rows = self._exec(
                cur,
                "SELECT effect, status, signed_tx, tx_id, attempts FROM effects "
                "WHERE swap_id = ? AND status IN ('pending', 'sent') ORDER BY seq",
                (swap_id,),
            ).fetchall()
        return [EffectRow(self._effect_of(r[0]), r[1], r[2], r[3], int(r[4])) for r in rows]

    def _effect_of(self, stored: str) -> Effect:
        """The effect stored as ``stored`` (JSON), parsed once per text (effects are frozen
        values; a tick reads a swap's pending effects several times)."""
        effect = self._effects.get(stored)
        if effect is None:
            if len(self._effects) >= _KEPT_STATES:
                self._effects.clear()
            effect = self._effects[stored] = _EFFECT.validate_json(stored)
        return effect

    def record_sent(self, swap_id: str, seq: int, *, signed_tx: str, tx_id: str) -> str:
        """Keep the signed bytes before sending; a second call keeps the first bytes.

        Returns the stored signed transaction, which the caller must (re-)send: the same
        effect is never sent with different contents.
        """
        with self._tx() as cur:
            row = self._exec(
                cur,
                "SELECT signed_tx FROM effects WHERE swap_id = ? AND seq = ?" + self._lock_clause(),
                (swap_id, seq),
            ).fetchone()
            if row is None:
                raise NotFound(f"no effect {swap_id}/{seq}")
            self._fence(cur, swap_id)
            if row[0] is not None:
                return str(row[0])
            self._exec(
                cur,
                "UPDATE effects SET signed_tx = ?, tx_id = ?, status = 'sent', "
                "attempts = attempts + 1 WHERE swap_id = ? AND seq = ?",
                (signed_tx, tx_id, swap_id, seq),
            )
        return signed_tx

    def finish_effect(self, swap_id: str, seq: int, status: Literal["done", "failed"]) -> None:
        """Mark an effect done (or failed for good)."""
        with self._tx() as cur:
            self._fence(cur, swap_id)
            self._exec(
                cur,
                "UPDATE effects SET status = ? WHERE swap_id = ? AND seq = ?",
                (status, swap_id, seq),
            )

    # -- secrets and cursors ----------------------------------------------------
    def sealed_secret(self, swap_id: str) -> str | None:
        """The encrypted secret of a swap, if this relayer holds it."""
        with self._read() as cur:
            row = self._exec(
                cur, "SELECT sealed FROM secrets WHERE swap_id = ?", (swap_id,)
            ).fetchone()
        return None if row is None else str(row[0])

    def cursor(self, chain: str) -> int | None:
        """The last height of ``chain`` the watcher has scanned (None: never)."""
        with self._read() as cur:
            row = self._exec(cur, "SELECT height FROM cursors WHERE chain = ?", (chain,)).fetchone()
        return None if row is None else int(row[0])

    def set_cursor(self, chain: str, height: int) -> None:
        """Move a chain's cursor (upsert)."""
        with self._tx() as cur:
            self._set_cursor(cur, chain, height)

    def _set_cursor(self, cur: Any, chain: str, height: int) -> None:
        self._exec(
            cur,
            "INSERT INTO cursors (chain, height) VALUES (?, ?) "
            "ON CONFLICT (chain) DO UPDATE SET height = excluded.height",
            (chain, height),
        )

    def _cursor_for_update(self, cur: Any, chain: str) -> int | None:
        row = self._exec(
            cur, "SELECT height FROM cursors WHERE chain = ?" + self._lock_clause(), (chain,)
        ).fetchone()
        return None if row is None else int(row[0])

    # -- chain following ----------------------------------------------------------
    def block_hashes(self, chain: str) -> dict[int, str]:
        """The block hashes kept for ``chain`` (height -> hash), for reorg detection."""
        with self._tx() as cur:
            rows = self._exec(
                cur, "SELECT height, block_hash FROM chain_blocks WHERE chain = ?", (chain,)
            ).fetchall()
        return {int(r[0]): str(r[1]) for r in rows}

    def advance_chain(
        self,
        chain: str,
        *,
        expected: int | None,
        height: int,
        events: Sequence[ChainEvent],
        block_hash: str | None,
        keep_from: int,
    ) -> bool:
        """Record what the watcher scanned up to ``height``, in one transaction.

        Compare-and-set: nothing is written unless the cursor is still ``expected`` (another
        replica may have moved it meanwhile); returns whether it was written. Events already
        recorded are kept as they are; block hashes below ``keep_from`` are pruned.
        """
        with self._tx() as cur:
            if self._cursor_for_update(cur, chain) != expected:
                return False
            if expected is None:  # the watcher's first height: events are recorded from above it
                self._exec(
                    cur,
                    "INSERT INTO chain_origins (chain, height) VALUES (?, ?) "
                    "ON CONFLICT (chain) DO UPDATE SET height = excluded.height",
                    (chain, height + 1),
                )
            for event in events:
                lock_id = str(event.args.get("lock_id", ""))
                hashlock = event.args.get("hashlock")
                if event.name == "Locked":  # a funds hold of this lock is spent from here on
                    self._funds_landed_at(cur, chain, lock_id, event.height)
                self._exec(
                    cur,
                    "INSERT INTO chain_events "
                    "(chain, height, tx_id, idx, name, lock_id, hashlock, args) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (
                        chain,
                        event.height,
                        event.tx_id,
                        event.index,
                        event.name,
                        lock_id,
                        None if hashlock is None else _hex(hashlock),
                        json.dumps(
                            {k: _jsonable(v) for k, v in event.args.items() if k != "program"}
                        ),
                    ),
                )
            if block_hash is not None:
                self._exec(
                    cur,
                    "INSERT INTO chain_blocks (chain, height, block_hash) VALUES (?, ?, ?) "
                    "ON CONFLICT (chain, height) DO UPDATE SET block_hash = excluded.block_hash",
                    (chain, height, block_hash),
                )
            self._exec(
                cur, "DELETE FROM chain_blocks WHERE chain = ? AND height < ?", (chain, keep_from)
            )
            self._set_cursor(cur, chain, height)
        return True

    def rewind_chain(self, chain: str, *, expected: int, to_height: int) -> list[ChainEvent] | None:
        """Forget everything recorded for ``chain`` above ``to_height`` (a reorg replaced it).

        Compare-and-set on the cursor as :meth:`advance_chain`; returns the events removed,
        or None when another replica moved the cursor first.
        """
        with self._tx() as cur:
            if self._cursor_for_update(cur, chain) != expected:
                return None
            rows = self._exec(
                cur,
                _EVENTS_SELECT + "WHERE chain = ? AND height > ? ORDER BY height, tx_id, idx",
                (chain, to_height),
            ).fetchall()
            for table in ("chain_events", "chain_blocks"):
                self._exec(
                    cur, f"DELETE FROM {table} WHERE chain = ? AND height > ?", (chain, to_height)
                )
            self._funds_unlanded_above(cur, chain, to_height)  # those locks spend no longer
            # everything above to_height is scanned again: the records start no higher
            self._exec(
                cur,
                "UPDATE chain_origins SET height = ? WHERE chain = ? AND height > ?",
                (to_height + 1, chain, to_height + 1),
            )
            self._set_cursor(cur, chain, to_height)
        return [_event_row(r) for r in rows]

    def locks_by_hashlock(self, chain: str, hashlock: str) -> list[ChainEvent]:
        """Recorded ``Locked`` events on ``chain`` under ``hashlock`` (0x hex), in chain order."""
        with self._read() as cur:
            rows = self._exec(
                cur,
                _EVENTS_SELECT
                + "WHERE chain = ? AND hashlock = ? AND name = 'Locked' ORDER BY height, idx",
                (chain, hashlock.lower()),
            ).fetchall()
        return [_event_row(r) for r in rows]

    def lock_history(self, chain: str, lock_id: str) -> list[ChainEvent]:
        """Every recorded event of lock ``lock_id`` on ``chain`` (lock, claim, refund)."""
        with self._read() as cur:
            rows = self._exec(
                cur,
                _EVENTS_SELECT + "WHERE chain = ? AND lock_id = ? ORDER BY height, idx",
                (chain, lock_id),
            ).fetchall()
        return [_event_row(r) for r in rows]

    def recorded_span(self, chain: str) -> tuple[int, int, str | None] | None:
        """``(first, last, last_hash)``: every HTLC event of ``chain`` at heights ``first`` to
        ``last`` is recorded (rolled back and scanned again on a reorg), and ``last_hash`` is
        the hash kept for block ``last`` (None: none kept). None: the store does not know
        where its records begin (no cursor yet, or a store written before origins were kept):
        read the chain instead."""
        with self._read() as cur:
            row = self._exec(
                cur,
                "SELECT o.height, c.height, b.block_hash FROM chain_origins o "
                "JOIN cursors c ON c.chain = o.chain "
                "LEFT JOIN chain_blocks b ON b.chain = c.chain AND b.height = c.height "
                "WHERE o.chain = ?",
                (chain,),
            ).fetchone()
        if row is None:
            return None
        return int(row[0]), int(row[1]), None if row[2] is None else str(row[2])

    def open_locks(self, chain: str) -> list[ChainEvent]:
        """Recorded ``Locked`` events on ``chain`` with no recorded claim or refund."""
        with self._tx() as cur:
            rows = self._exec(
                cur,
                _EVENTS_SELECT + "e WHERE e.chain = ? AND e.name = 'Locked' AND NOT EXISTS ("
                "SELECT 1 FROM chain_events c WHERE c.chain = e.chain AND c.lock_id = e.lock_id "
                "AND c.name IN ('Claimed', 'Refunded')) ORDER BY e.height, e.idx",
                (chain,),
            ).fetchall()
        return [_event_row(r) for r in rows]

    def recovery_height(self, chain: str) -> int | None:
        """The lowest height of ``chain`` any open swap needs to find its locks again.

        For every leg of every open swap on ``chain``: the height of each ``Locked`` event
        recorded under the swap's hashlock there, the head the relayer saw when it sent the
        leg's lock (``lock-sent-at:<role>``), and the chain's cursor less one (a lock sent
        just before a crash, not yet recorded, is above it: the watcher reads the last two
        scanned heights again). A restarted relayer's HTLC ports start their scans no later
        than this, so no lock an open swap still has to claim or refund is older than what
        they look at. None: no open swap has a leg on ``chain``.
        """
        with self._tx() as cur:
            rows = self._exec(
                cur, "SELECT swap_id, terms FROM swaps WHERE outcome = 'open'"
            ).fetchall()
            lowest: int | None = None
            row = self._exec(cur, "SELECT height FROM cursors WHERE chain = ?", (chain,)).fetchone()
            cursor = None if row is None else int(row[0])
            for swap_id, body in rows:
                terms = SwapTerms.model_validate_json(body)
                for role in Role:
                    if chain_key(terms.leg(role).chain) != chain:
                        continue
                    if cursor is not None:
                        lowest = cursor - 1 if lowest is None else min(lowest, cursor - 1)
                    heights = [
                        int(r[0])
                        for r in self._exec(
                            cur,
                            "SELECT height FROM chain_events WHERE chain = ? AND hashlock = ? "
                            "AND name = 'Locked'",
                            (chain, terms.hashlock.lower()),
                        ).fetchall()
                    ]
                    sent = self._exec(
                        cur,
                        "SELECT body FROM documents WHERE swap_id = ? AND name = ?",
                        (swap_id, f"lock-sent-at:{role.value}"),
                    ).fetchone()
                    if sent is not None and str(sent[0]).isdigit():
                        heights.append(int(sent[0]))
                    if heights:
                        low = min(heights)
                        lowest = low if lowest is None else min(lowest, low)
        return lowest

    # -- leases (meaningful with several replicas) -------------------------------
    def claim_swaps(self, owner: str, *, lease_seconds: float, limit: int = 10) -> list[str]:
        """Take up to ``limit`` open swaps whose lease is free or expired; return their ids.

        Each swap's lease carries an epoch, incremented whenever a replica other than the
        last holder takes it. The epoch taken here is this store's fencing token for the
        swap: every later write of the swap through this store checks it (:meth:`_fence`)
        and fails with :class:`LeaseLost` once another replica has taken the swap over.
        """
        now = self._clock()
        taken: dict[str, int] = {}
        with self._tx() as cur:
            rows = self._exec(
                cur,
                "SELECT swap_id, lease_owner, lease_epoch FROM swaps WHERE outcome = 'open' "
                "AND (lease_owner IS NULL OR lease_owner = ? OR lease_expires < ?) "
                "ORDER BY created_at, swap_id LIMIT ?" + self._skip_locked(),
                (owner, now, limit),
            ).fetchall()
            for swap_id, last_owner, epoch in rows:
                epoch = int(epoch) if last_owner == owner else int(epoch) + 1
                self._exec(
                    cur,
                    "UPDATE swaps SET lease_owner = ?, lease_expires = ?, lease_epoch = ? "
                    "WHERE swap_id = ?",
                    (owner, now + lease_seconds, epoch, swap_id),
                )
                taken[swap_id] = epoch
        for swap_id, epoch in taken.items():
            self._held[swap_id] = (owner, epoch)
        return list(taken)

    def renew_lease(self, swap_id: str, *, lease_seconds: float) -> None:
        """Extend this replica's lease of ``swap_id`` (before an effect, after a long wait);
        :class:`LeaseLost` when another replica took it over meanwhile. No-op for a swap
        this store never leased."""
        held = self._held.get(swap_id)
        if held is None:
            return
        with self._tx() as cur:
            self._fence(cur, swap_id)
            self._exec(
                cur,
                "UPDATE swaps SET lease_expires = ? WHERE swap_id = ?",
                (self._clock() + lease_seconds, swap_id),
            )

    def lease_epoch(self, swap_id: str) -> int:
        """The swap's lease epoch (how many times a different replica has taken it)."""
        with self._read() as cur:
            row = self._exec(
                cur, "SELECT lease_epoch FROM swaps WHERE swap_id = ?", (swap_id,)
            ).fetchone()
        if row is None:
            raise NotFound(f"no swap {swap_id}")
        return int(row[0])

    def _fence(self, cur: Any, swap_id: str) -> None:
        """Refuse a write of a swap this store leased if its lease moved to another replica.

        Runs inside the write's transaction, with the swap's row locked (PostgreSQL) or the
        database locked (SQLite), so no takeover can slip between the check and the write.
        Writes of a swap this store never leased (the API creating it) are not fenced.
        """
        held = self._held.get(swap_id)
        if held is None:
            return
        row = self._exec(
            cur,
            "SELECT lease_owner, lease_epoch FROM swaps WHERE swap_id = ?" + self._lock_clause(),
            (swap_id,),
        ).fetchone()
        if row is None:
            return
        self._fence_row(swap_id, row[0], row[1])

    def _fence_row(self, swap_id: str, owner: Any, epoch: Any) -> None:
        """:meth:`_fence` on the swap row's lease as read, inside the write's transaction
        with the row locked."""
        held = self._held.get(swap_id)
        if held is None:
            return
        if owner != held[0] or int(epoch) != held[1]:
            raise LeaseLost(
                f"swap {swap_id}: leased by {held[0]} at epoch {held[1]}, now held by "
                f"{owner} at epoch {int(epoch)}; write refused"
            )

    def lease_owner(self, swap_id: str) -> str | None:
        """Who holds the lease of a swap now (None when free or expired)."""
        with self._read() as cur:
            row = self._exec(
                cur, "SELECT lease_owner, lease_expires FROM swaps WHERE swap_id = ?", (swap_id,)
            ).fetchone()
        if row is None:
            raise NotFound(f"no swap {swap_id}")
        return str(row[0]) if row[0] is not None and float(row[1]) >= self._clock() else None

    def signer_lock(self, key: str) -> AbstractContextManager[None]:
        """Hold the right to sign and send with one key (``key``: chain and address) while
        the block runs; :class:`SignerBusy` when another replica holds it.

        Nonces come from the node's pending count for the sender, so two replicas signing
        with one key at once would take the same nonce. With one process per SQLite file
        there is nothing to share; :class:`PostgresStore` takes an advisory lock.
        """
        return nullcontext()

    def _skip_locked(self) -> str:
        return ""

    @abstractmethod
    def close(self) -> None:
        """Release the connection."""


_SYNC_NORMAL: Final = 1
_SYNC_FULL: Final = 2
"""SQLite's ``PRAGMA synchronous`` levels (see :meth:`SqliteStore.grouped`)."""


class SqliteStore(Store):
    """The default store: one SQLite file in WAL mode."""

    def __init__(self, path: str | Path, *, clock: Callable[[], float] = time.time) -> None:
        super().__init__(clock=clock)
        self.path = str(path)
        self._group_owner: int | None = None  # the thread whose writes are grouped
        self._unsynced = False  # the group committed writes not yet fsync'd
        self._sync_level = _SYNC_FULL
        self._barriers = 0
        self._signers: dict[str, tuple[int, int]] = {}  # key -> (locked file, holds)
        try:
            if self.path != ":memory:" and not self.path.startswith("file:"):
                # a new store is the operator's alone (SQLite gives -wal/-shm the same mode)
                with suppress(FileExistsError):
                    os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            self._conn = sqlite3.connect(
                self.path, isolation_level=None, timeout=30, check_same_thread=False
            )
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._conn.executescript(_SCHEMA)
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS durability_barrier (id INTEGER PRIMARY KEY, n BIGINT)"
            )
            columns = {r[1] for r in self._conn.execute("PRAGMA table_info(swaps)")}
            if "lease_epoch" not in columns:  # a store written before leases had epochs
                self._conn.execute(
                    "ALTER TABLE swaps ADD COLUMN lease_epoch BIGINT NOT NULL DEFAULT 0"
                )
        except (sqlite3.Error, OSError) as exc:
            raise StoreUnavailable(f"cannot open SQLite store {self.path}: {exc}") from exc

    @contextmanager
    def signer_lock(self, key: str) -> Iterator[None]:
        """Hold ``key`` (chain and address) against every other store on this file: an
        exclusive ``flock`` of a file of its own beside the database (non-blocking:
        :class:`SignerBusy` while another store holds it, in this process or another).
        Re-entrant within this store, as PostgreSQL's session-level advisory lock is. The
        kernel drops the lock when its process dies, so a crashed relayer never keeps a key.

        One relayer process per SQLite file is the deployment; but two replicas started on
        one file by mistake, or emulated in one process (the interop suite), must not take
        the same nonce from one key at once, and behave here as on PostgreSQL."""
        if self.path == ":memory:" or self.path.startswith("file:"):
            yield  # a private database: nobody to share a key with
            return
        held = self._signers.get(key)
        if held is None:
            folder = Path(self.path + ".signers")
            try:
                folder.mkdir(mode=0o700, exist_ok=True)
                name = hashlib.sha256(b"stbridge-signer:" + key.encode()).hexdigest()[:32]
                fd = os.open(folder / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            except OSError as exc:
                raise StoreUnavailable(f"SQLite store {self.path}: signer lock: {exc}") from exc
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                raise SignerBusy(f"signer {key} is in use by another replica") from exc
            held = (fd, 0)
        self._signers[key] = (held[0], held[1] + 1)
        try:
            yield
        finally:
            fd, holds = self._signers.get(key, (-1, 0))
            if holds == 0:
                pass  # the store was closed meanwhile: its keys went with it
            elif holds > 1:
                self._signers[key] = (fd, holds - 1)
            else:
                del self._signers[key]
                os.close(fd)  # closing the file releases its flock

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        with self._lock:
            relaxed = self._group_owner is not None and self._group_owner == threading.get_ident()
            self._synchronous(_SYNC_NORMAL if relaxed else _SYNC_FULL)
            yield from self._tx_unlocked()
            if relaxed:
                self._unsynced = True

    @contextmanager
    def _read(self) -> Iterator[Any]:
        """A cursor for one read statement, run without ``BEGIN IMMEDIATE`` / ``COMMIT``:
        in autocommit mode a single ``SELECT`` is its own read transaction (one snapshot of
        the WAL), and it takes no write lock. Each ``_tx`` is three statements, and a
        tick's single reads (a swap's state, its effects, recorded events) were most of
        them."""
        with self._lock:
            cur = self._conn.cursor()
            try:
                yield cur
            except sqlite3.OperationalError as exc:
                raise StoreUnavailable(f"SQLite store {self.path}: {exc}") from exc
            finally:
                cur.close()

    def _synchronous(self, level: int) -> None:
        if self._sync_level != level:
            self._conn.execute(f"PRAGMA synchronous={level}")
            self._sync_level = level

    @contextmanager
    def grouped(self) -> Iterator[None]:
        """The calling thread's writes (the relayer's tick) are synced to disk together, at
        barriers, instead of one ``fsync`` each.

        Every write is still its own transaction, committed at once: another connection
        sees it, a second store on the same file writes between two of them, the API's
        threads never wait for the tick, and a crash of the process (``SIGKILL``) loses
        nothing - SQLite has written the commit to its WAL file before it returns. What
        the group changes is when the WAL reaches the disk: its commits run with
        ``synchronous=NORMAL`` (no ``fsync``), and :meth:`commit_group` - the barrier the
        relayer puts before anything leaves the process: before a signed transaction is
        sent (``EvmClient.before_submit``; the journal of a chain without that hook), and at
        the block's end, also when it ends with an error - makes them durable with one
        ``fsync`` of the WAL (a ``synchronous=FULL`` commit syncs the whole file, every
        earlier frame with it). A power loss between two barriers can roll back only writes
        whose consequences never left the machine: the inputs are observed again and the
        effects run again from the last durable state, as after a crash just before those
        writes. Outside a group, and from every other thread, each commit is ``FULL``.

        Every SQLite commit was an fsync, and a tick of a hundred swaps made thousands of
        them: a third of its wall clock. A nested ``grouped`` joins the open group.
        """
        with self._lock:
            if self._group_owner is not None:
                nested = True
            else:
                nested = False
                self._group_owner = threading.get_ident()
        if nested:
            yield
            return
        try:
            yield
        finally:
            try:
                self.commit_group()
            finally:
                self._group_owner = None

    def commit_group(self) -> None:
        """The durability barrier (see :meth:`grouped`): every write the group committed is
        on disk when this returns. No-op from another thread, or when nothing was written
        since the last barrier."""
        if self._group_owner != threading.get_ident() or not self._unsynced:
            return
        with self._lock:
            self._synchronous(_SYNC_FULL)
            self._barriers += 1
            with contextmanager(self._tx_unlocked)() as cur:  # FULL: the whole WAL is fsync'd
                cur.execute(
                    "INSERT OR REPLACE INTO durability_barrier (id, n) VALUES (1, ?)",
                    (self._barriers,),
                )
            self._unsynced = False

    def _tx_unlocked(self) -> Iterator[Any]:
        cur = self._conn.cursor()
        try:
            cur.execute("BEGIN IMMEDIATE")
            yield cur
            cur.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            if self._conn.in_transaction:
                cur.execute("ROLLBACK")
            raise StoreUnavailable(f"SQLite store {self.path}: {exc}") from exc
        except BaseException:
            if self._conn.in_transaction:
                cur.execute("ROLLBACK")
            raise
        finally:
            cur.close()

    def close(self) -> None:
        """Close the SQLite connection (and give up any signing key still held)."""
        for fd, _ in self._signers.values():
            os.close(fd)
        self._signers.clear()
        self._conn.close()


class PostgresStore(Store):
    """PostgreSQL store shared by relayer replicas (leases with SKIP LOCKED)."""

    placeholder = "%s"

    def __init__(self, dsn: str, *, clock: Callable[[], float] = time.time) -> None:
        super().__init__(clock=clock)
        import psycopg

        self._psycopg = psycopg
        try:
            self._conn = psycopg.connect(dsn, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            raise StoreUnavailable(f"cannot connect to PostgreSQL store: {exc}") from exc
        with self._tx() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(7243117)")  # one schema creator at a time
            cur.execute(_SCHEMA)
            # a store written before leases had epochs
            cur.execute(
                "ALTER TABLE swaps ADD COLUMN IF NOT EXISTS lease_epoch BIGINT NOT NULL DEFAULT 0"
            )

    def _lock_clause(self) -> str:
        return " FOR UPDATE"

    def _skip_locked(self) -> str:
        return " FOR UPDATE SKIP LOCKED"

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        try:
            with self._lock, self._conn.transaction(), self._conn.cursor() as cur:
                yield cur
        except self._psycopg.OperationalError as exc:
            raise StoreUnavailable(f"PostgreSQL store: {exc}") from exc

    @contextmanager
    def signer_lock(self, key: str) -> Iterator[None]:
        """A session-level advisory lock on ``key`` (non-blocking: :class:`SignerBusy` when
        another replica holds it). It is released when the block ends, and by the server
        when this replica's connection dies, so a crashed replica never keeps a key."""
        lock_id = int.from_bytes(
            hashlib.sha256(b"stbridge-signer:" + key.encode()).digest()[:8], "big", signed=True
        )
        with self._lock:
            try:
                row = self._conn.execute("SELECT pg_try_advisory_lock(%s)", (lock_id,)).fetchone()
            except self._psycopg.OperationalError as exc:
                raise StoreUnavailable(f"PostgreSQL store: {exc}") from exc
        if row is None or not row[0]:
            raise SignerBusy(f"signer {key} is in use by another replica")
        try:
            yield
        finally:
            with self._lock:
                try:
                    self._conn.execute("SELECT pg_advisory_unlock(%s)", (lock_id,))
                except self._psycopg.OperationalError as exc:  # the session ends: unlocked
                    log.warning("releasing signer lock %s: %s", key, exc)

    def close(self) -> None:
        """Close the PostgreSQL connection."""
        self._conn.close()


_EVENTS_SELECT = "SELECT name, height, tx_id, idx, args FROM chain_events "
"""The columns :func:`_event_row` reads back into a ``ChainEvent``."""


def _hex(value: object) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return str(value).lower()


def _jsonable(value: object) -> object:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if value is None or isinstance(value, (int, str, bool)):
        return value
    return str(value)


def _event_row(row: Sequence[Any]) -> ChainEvent:
    return ChainEvent(str(row[0]), int(row[1]), str(row[2]), int(row[3]), json.loads(row[4]))


def open_store(target: str, *, clock: Callable[[], float] = time.time) -> Store:
    """A store from a DSN (``postgresql://...``) or a SQLite file path."""
    if target.startswith(("postgresql://", "postgres://")):
        return PostgresStore(target, clock=clock)
    return SqliteStore(target, clock=clock)
