"""A new SQLite store is the operator's alone (issue 14): ``relayer.sqlite3`` created 0600.

Swap records (parties, amounts, sealed secrets) are created by ``relayer run`` without
``--check`` too, and by every embedded relayer (demo, devnet): the store itself creates its
file, and SQLite gives the WAL and shared-memory files the database file's mode.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from relayer.store import SqliteStore


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A permissive umask (022), as a login shell has."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def test_a_new_sqlite_store_is_created_0600(tmp_path: Path, open_umask: None) -> None:
    """Invariant: the store file and its WAL companions are readable by the owner only."""
    path = tmp_path / "relayer.sqlite3"
    store = SqliteStore(path)
    try:
        store.list_ids(limit=1)
        for name in ("relayer.sqlite3", "relayer.sqlite3-wal", "relayer.sqlite3-shm"):
            file = tmp_path / name
            if file.exists():
                assert stat.S_IMODE(file.stat().st_mode) == 0o600, name
    finally:
        store.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_an_existing_store_keeps_its_mode(tmp_path: Path, open_umask: None) -> None:
    """An operator's own choice (e.g. 0640 for a backup group) is not changed."""
    path = tmp_path / "relayer.sqlite3"
    SqliteStore(path).close()
    path.chmod(0o640)
    SqliteStore(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
