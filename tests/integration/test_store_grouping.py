"""The SQLite store's grouped writes (``Store.grouped`` / ``Store.commit_group``): a tick's
writes are each committed at once, but synced to disk together at the barriers the relayer
puts before anything leaves the process, and at the group's end.

What another store or the next process finds is read through a second connection to the
same file, as they would read it.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from bridge.errors import NotFound
from relayer.store import SqliteStore


def _notes(path: Path) -> set[str]:
    """The notes a second connection (another store, the next process) finds in the file."""
    with sqlite3.connect(path) as conn:
        return {str(r[0]) for r in conn.execute("SELECT name FROM notes")}


def _barriers(path: Path) -> int:
    """How many barriers synced the store's writes (the durability_barrier row's count)."""
    with sqlite3.connect(path) as conn:
        row = conn.execute("SELECT n FROM durability_barrier WHERE id = 1").fetchone()
    return 0 if row is None else int(row[0])


def _synchronous(store: SqliteStore) -> int:
    """The ``PRAGMA synchronous`` level the store's connection commits with (1 NORMAL: no
    fsync; 2 FULL: the WAL is fsync'd at each commit)."""
    return int(store._conn.execute("PRAGMA synchronous").fetchone()[0])


def test_grouped_writes_commit_at_once_and_are_synced_at_the_barriers(tmp_path: Path) -> None:
    """Inside a group each write is committed at once (another connection reads it) without
    an fsync; a barrier syncs them with one FULL commit, and only when something was written
    since the last one. Outside the group every commit is FULL again."""
    path = tmp_path / "relayer.sqlite3"
    store = SqliteStore(path)
    assert _synchronous(store) == 2
    with store.grouped():
        store.put_note("a", "1")
        assert _notes(path) == {"a"}  # committed: a second store or the next process sees it
        assert _synchronous(store) == 1  # ... but not fsync'd
        assert _barriers(path) == 0
        store.commit_group()  # the barrier before a send
        assert _barriers(path) == 1
        assert _synchronous(store) == 2
        store.commit_group()  # nothing written since: no second sync
        assert _barriers(path) == 1
        store.put_note("b", "2")
        assert _synchronous(store) == 1
    assert _barriers(path) == 2  # the group's end syncs what it wrote after the barrier
    assert _notes(path) == {"a", "b"}
    store.put_note("c", "3")  # outside a group: each commit is synced, as before
    assert _synchronous(store) == 2
    assert _barriers(path) == 2
    store.close()


def test_a_second_store_on_the_same_file_writes_while_a_group_is_open(tmp_path: Path) -> None:
    """A group holds no transaction open between its writes: a second store on the file
    (the interop suite's replica B taking a swap over in the middle of replica A's effect,
    or a second relayer started on one file by mistake) writes at once, and A goes on.
    Before, a group was one open transaction: B waited SQLite's busy timeout, then failed."""
    path = tmp_path / "relayer.sqlite3"
    a = SqliteStore(path)
    b = SqliteStore(path)
    b._conn.execute("PRAGMA busy_timeout=2000")  # fail fast if the file is held
    with a.grouped():
        a.put_note("from-a", "1")
        b.put_note("from-b", "1")  # A's group is open, between two of its writes
        a.put_note("from-a-again", "1")
        assert b.note("from-a-again") == "1"
    assert _notes(path) == {"from-a", "from-b", "from-a-again"}
    a.close()
    b.close()


def test_another_thread_writes_at_once_while_the_group_is_open(tmp_path: Path) -> None:
    """The API's threads share the store's connection: while the tick's group is open a
    write from another thread commits on its own, synced (FULL), without waiting for the
    tick's next barrier."""
    path = tmp_path / "relayer.sqlite3"
    store = SqliteStore(path)
    seen: list[int] = []
    errors: list[BaseException] = []

    def api_write() -> None:
        try:
            store.put_note("from-api", "1")
            seen.append(_synchronous(store))
        except BaseException as exc:  # pragma: no cover (reported below)
            errors.append(exc)

    with store.grouped():
        store.put_note("tick", "1")
        thread = threading.Thread(target=api_write)
        thread.start()
        thread.join(timeout=60)
        assert not thread.is_alive(), "the API's write waited for the tick's barrier"
        assert errors == []
        assert seen == [2]
        assert _notes(path) == {"tick", "from-api"}
        store.put_note("tick-2", "1")
    assert _notes(path) == {"tick", "from-api", "tick-2"}
    store.close()


def test_a_failed_write_in_a_group_undoes_only_itself(tmp_path: Path) -> None:
    """A write that fails halfway rolls back its own statements, not the writes the group
    made before it."""
    path = tmp_path / "relayer.sqlite3"
    store = SqliteStore(path)
    with store.grouped():
        store.put_note("kept", "1")

        def failing_write() -> None:
            with store._tx() as cur:
                cur.execute("INSERT INTO notes (name, body, at) VALUES ('undone', '2', 0)")
                raise RuntimeError("the write fails after its first statement")

        with pytest.raises(RuntimeError, match="after its first statement"):
            failing_write()
        assert store.note("kept") == "1"
        with pytest.raises(Exception, match="undone"):
            store.note("undone")
        store.put_note("after", "3")
    assert _notes(path) == {"kept", "after"}
    store.close()


def test_a_group_left_by_an_exception_syncs_what_it_wrote(tmp_path: Path) -> None:
    """An error that ends the tick still syncs the writes made before it."""
    path = tmp_path / "relayer.sqlite3"
    store = SqliteStore(path)

    def tick() -> None:
        with store.grouped():
            store.put_note("a", "1")
            raise ValueError("a bug in the tick")

    with pytest.raises(ValueError, match="a bug in the tick"):
        tick()
    assert _notes(path) == {"a"}
    assert _barriers(path) == 1
    store.close()


_KILLED_IN_A_GROUP = """
import os, signal, sys
from bridge.errors import NotFound
from relayer.store import SqliteStore
store = SqliteStore(sys.argv[1])
with store.grouped():
    store.put_note("before-the-kill", "1")
    os.kill(os.getpid(), signal.SIGKILL)  # no barrier, no group end: the process just dies
"""


def test_a_grouped_write_survives_the_death_of_its_process(tmp_path: Path) -> None:
    """A write inside a group is committed when it returns: a relayer killed before the next
    barrier loses none of it (only a power loss can roll back an unsynced commit). Before, a
    group was one open transaction and a kill lost every write since the last barrier."""
    path = tmp_path / "relayer.sqlite3"
    done = subprocess.run(
        [sys.executable, "-c", _KILLED_IN_A_GROUP, str(path)],
        capture_output=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()
    assert _notes(path) == {"before-the-kill"}


def test_a_read_does_not_wait_for_another_stores_write_transaction(tmp_path: Path) -> None:
    """A swap's state, its documents and its effects are read while another store on the
    file (a second replica, ``stbridge swaps`` from a shell) holds a write transaction
    open: one ``SELECT`` reads the last committed snapshot and takes no write lock. Before,
    every read was a ``BEGIN IMMEDIATE`` transaction, which waits for the writer (here,
    with no busy timeout, it failed at once: "database is locked")."""
    path = tmp_path / "relayer.sqlite3"
    store = SqliteStore(path)
    store.put_note("kept", "1")
    store._conn.execute("PRAGMA busy_timeout=0")  # waiting would fail at once
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO notes (name, body, at) VALUES ('uncommitted', 'x', 0)")
    try:
        assert store.note("kept") == "1"
        with pytest.raises(NotFound, match="no note uncommitted"):
            store.note("uncommitted")  # not committed: not seen
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    store.close()
