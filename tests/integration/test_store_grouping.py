"""The SQLite store's grouped writes (``Store.grouped`` / ``Store.commit_group``): a tick's
writes share one database transaction, committed (made durable) at each barrier the
relayer puts before anything leaves the process, and at the group's end.

What is durable is read through a second connection to the same file, as the next process
after a crash would read it.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from relayer.store import SqliteStore


def _durable_notes(path: Path) -> set[str]:
    """The notes a second connection (the next process) finds in the file."""
    with sqlite3.connect(path) as conn:
        return {str(r[0]) for r in conn.execute("SELECT name FROM notes")}


def test_grouped_writes_are_durable_only_at_a_barrier(tmp_path: Path) -> None:
    """Inside a group the store reads its own writes at once, but a second connection (a
    process started after a crash) finds them only after ``commit_group``."""
    path = tmp_path / "relayer.sqlite3"
    store = SqliteStore(path)
    with store.grouped():
        store.put_note("a", "1")
        assert store.note("a") == "1"  # the group reads its own writes
        assert _durable_notes(path) == set()  # a crash here loses it: nothing was sent
        store.commit_group()  # the barrier before a send
        assert _durable_notes(path) == {"a"}
        store.put_note("b", "2")
        assert _durable_notes(path) == {"a"}
    assert _durable_notes(path) == {"a", "b"}  # the group's end commits
    store.put_note("c", "3")  # outside a group: each write commits at once, as before
    assert _durable_notes(path) == {"a", "b", "c"}
    store.close()


def test_a_failed_write_in_a_group_undoes_only_itself(tmp_path: Path) -> None:
    """A write that fails halfway rolls back its own statements (a savepoint), not the
    writes the group made before it; those are committed at the next barrier."""
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
    assert _durable_notes(path) == {"kept", "after"}
    store.close()


def test_a_group_left_by_an_exception_commits_what_it_wrote(tmp_path: Path) -> None:
    """An error that ends the tick does not lose the writes made before it (each was
    complete; before grouping each was committed on its own)."""
    path = tmp_path / "relayer.sqlite3"
    store = SqliteStore(path)

    def tick() -> None:
        with store.grouped():
            store.put_note("a", "1")
            raise ValueError("a bug in the tick")

    with pytest.raises(ValueError, match="a bug in the tick"):
        tick()
    assert _durable_notes(path) == {"a"}
    store.close()


def test_a_barrier_with_an_age_commits_only_an_older_group(tmp_path: Path) -> None:
    """``commit_group(older_than_s=...)`` leaves a younger group open (between two swaps
    the tick commits only a group that has been open a while)."""
    path = tmp_path / "relayer.sqlite3"
    store = SqliteStore(path)
    with store.grouped():
        store.put_note("a", "1")
        store.commit_group(older_than_s=3600.0)  # open for far less than an hour
        assert _durable_notes(path) == set()
        store.commit_group(older_than_s=0.0)
        assert _durable_notes(path) == {"a"}
    store.close()


def test_another_thread_s_write_is_its_own_transaction_after_the_barrier(
    tmp_path: Path,
) -> None:
    """The API's threads share the store's connection: while the tick's group is open a
    write from another thread waits for the barrier and then commits on its own (it is
    never folded into the tick's uncommitted transaction)."""
    path = tmp_path / "relayer.sqlite3"
    store = SqliteStore(path)
    errors: list[BaseException] = []

    def api_write() -> None:
        try:
            store.put_note("from-api", "1")
        except BaseException as exc:  # pragma: no cover (reported below)
            errors.append(exc)

    with store.grouped():
        store.put_note("tick", "1")
        thread = threading.Thread(target=api_write)
        thread.start()
        store.commit_group()
        thread.join(timeout=60)
        assert not thread.is_alive()
        assert errors == []
        assert _durable_notes(path) == {"tick", "from-api"}
        store.put_note("tick-2", "1")
    assert _durable_notes(path) == {"tick", "from-api", "tick-2"}
    store.close()
