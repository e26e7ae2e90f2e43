"""PostgreSQL from .ci/run is reachable and stores canonical models losslessly.

Runs whenever STBRIDGE_TEST_PG is set (always in CI) and fails, not skips, if the server
cannot be reached then.
"""

from __future__ import annotations

import psycopg
import pytest

from bridge.model import Holding


@pytest.mark.postgres
def test_canonical_model_round_trips_through_jsonb(pg_dsn: str) -> None:
    big = 2**255 + 12345  # wider than any SQL integer: must survive as JSON text
    holding = Holding(
        holder="0x52908400098527886E0F7030069857D2E4169EE7", balance=big, free=big - 7, frozen=7
    )
    with psycopg.connect(pg_dsn, connect_timeout=10) as conn:
        conn.execute("CREATE TEMP TABLE h (id int primary key, doc jsonb not null)")
        conn.execute("INSERT INTO h VALUES (1, %s::jsonb)", (holding.model_dump_json(),))
        row = conn.execute("SELECT doc::text FROM h WHERE id = 1").fetchone()
    assert row is not None
    assert Holding.model_validate_json(row[0]) == holding
