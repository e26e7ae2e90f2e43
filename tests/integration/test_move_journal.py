"""The move journal on both stores (SQLite, PostgreSQL): what the executor relies on to
never send a step twice after a restart."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.algorand.signer import AlgorandSigner
from bridge.translate.move import MoveRequest
from relayer.move_journal import MoveJournal
from relayer.store import PostgresStore, SqliteStore, Store

ALICE = "0x" + "a1" * 20
ALGO = AlgorandSigner.generate().address


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        opened: Store = SqliteStore(tmp_path / "moves.db")
    else:
        opened = PostgresStore(request.getfixturevalue("pg_dsn"))
    try:
        yield opened
    finally:
        opened.close()


def reopen(store: Store, tmp_path: Path) -> Store:
    """A second connection to the same database (a restarted relayer)."""
    if isinstance(store, SqliteStore):
        return SqliteStore(store.path)
    return PostgresStore(store._conn.info.dsn)  # type: ignore[attr-defined]


def test_moves_and_steps_survive_a_restart(store: Store, tmp_path: Path) -> None:
    journal = MoveJournal(store)
    move_id = f"m-{uuid.uuid4().hex}"
    pair = f"pair-{uuid.uuid4().hex}"
    request = MoveRequest(move_id=move_id, direction="out", holder=ALICE, receiver=ALGO, amount=5)
    row, new = journal.create(
        pair, request, home_account=ALICE, stage="requested", home_amount=5, mirror_amount=5
    )
    assert new
    assert row.stage == "requested"
    again, new = journal.create(
        pair, request, home_account=ALICE, stage="requested", home_amount=5, mirror_amount=5
    )
    assert not new
    assert again == row
    other = request.model_copy(update={"amount": 6})
    with pytest.raises(ValueError, match="another request"):
        journal.create(
            pair, other, home_account=ALICE, stage="requested", home_amount=6, mirror_amount=6
        )
    first = journal.add_step(
        move_id, "lock", chain="home", signed_tx=b"\x01\x02", tx_id="0xaa", meta={"nonce": 3}
    )
    journal.set_step(first, "expired")
    second = journal.add_step(
        move_id, "lock", chain="home", signed_tx=b"\x03", tx_id="0xbb", meta={"nonce": 4}
    )
    assert (first.attempt, second.attempt) == (1, 2)
    journal.set_step(second, "confirmed", 17)
    journal.set_stage(move_id, "source_final")
    journal.link(pair, ALGO, ALICE)
    with pytest.raises(ValueError, match="linked"):
        journal.link(pair, ALGO, "0x" + "b2" * 20)

    restarted = MoveJournal(reopen(store, tmp_path))
    steps = restarted.steps(move_id, "lock")
    assert [(s.attempt, s.status, s.height, s.signed_tx) for s in steps] == [
        (1, "expired", None, b"\x01\x02"),
        (2, "confirmed", 17, b"\x03"),
    ]
    assert restarted.move(move_id).stage == "source_final"
    assert [m.move_id for m in restarted.moves(pair, open_only=True)] == [move_id]
    assert restarted.links(pair) == {ALGO: ALICE}
    restarted.store.close()
