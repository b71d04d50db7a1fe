"""``setup_database_tables`` in the test process, and the claim query on the schema it makes
(the command line end to end: ``tests/acceptance/test_setup.py``)."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from typing import Any

import pytest

from tests.support.schema import ALL_TABLES, schema_snapshot
from tests.support.sql import admin_connection
from workcraft.db import DBConfig
from workcraft.queries import expand, load_queries
from workcraft.setup import setup_database_tables


def test_setup_in_process_is_idempotent(empty_db_config: DBConfig) -> None:
    first = setup_database_tables(empty_db_config)
    assert first.database_created
    assert set(ALL_TABLES) <= set(first.tables_created)
    before = schema_snapshot(empty_db_config.database)
    second = setup_database_tables(empty_db_config)
    assert not second.changed
    assert schema_snapshot(empty_db_config.database) == before


# -- the claim query uses its index and locks only what it takes -----------------------------
CLAIM_PARAMS = ("DEFAULT", "a", "b", 5)


@pytest.fixture
def backlog(db_config: DBConfig) -> DBConfig:
    """~2,000 PENDING tasks in two queues (plus some finished ones), statistics fresh."""
    base = dt.datetime(2024, 1, 1)
    rows = []
    for i in range(2200):
        queue = "DEFAULT" if i % 2 == 0 else "other"
        status = "SUCCESS" if i % 11 == 0 else "PENDING"
        task_name = ("a", "b")[(i // 2) % 2]
        created = base + dt.timedelta(seconds=i)
        rows.append((str(uuid.uuid4()), status, task_name, queue, "{}", created))
    conn: Any = admin_connection(db_config, db_config.database)
    try:
        cur = conn.cursor()
        cur.executemany(
            "INSERT INTO bountyboard (id, status, task_name, queue, payload, created_at) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            rows,
        )
        cur.execute("ANALYZE TABLE bountyboard")
        cur.fetchall()
    finally:
        conn.close()
    return db_config


def claim_sql() -> str:
    return expand(load_queries()["claim_select"], names=2)


def test_claim_query_uses_the_claim_index(backlog: DBConfig) -> None:
    conn: Any = admin_connection(backlog, backlog.database)
    try:
        cur = conn.cursor(dictionary=True)
        cur.execute("EXPLAIN " + claim_sql(), CLAIM_PARAMS)
        plan = cur.fetchall()
    finally:
        conn.close()
    assert len(plan) == 1, plan
    row = plan[0]
    assert row["key"] == "ix_bountyboard_claim", plan
    assert row["type"] == "range", plan
    assert "filesort" not in str(row["Extra"] or "").lower(), plan


def test_claim_locks_only_the_rows_it_takes(backlog: DBConfig) -> None:
    conn: Any = admin_connection(backlog, backlog.database)
    try:
        cur = conn.cursor()
        cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
        conn.autocommit = False
        conn.start_transaction()
        cur.execute(claim_sql(), ("DEFAULT", "a", "b", 1))
        claimed = cur.fetchall()
        assert len(claimed) == 1
        # information_schema.INNODB_TRX is a cache refreshed at most every 0.1 s.
        time.sleep(0.15)
        cur.execute(
            "SELECT trx_rows_locked FROM information_schema.INNODB_TRX "
            "WHERE trx_mysql_thread_id = CONNECTION_ID()"
        )
        locked = cur.fetchall()
        assert len(locked) == 1, locked
        assert int(locked[0][0]) <= 3, locked
        conn.rollback()
    finally:
        conn.close()


def test_claim_takes_oldest_matching_rows_first(backlog: DBConfig) -> None:
    conn: Any = admin_connection(backlog, backlog.database)
    try:
        cur = conn.cursor()
        cur.execute(claim_sql(), CLAIM_PARAMS)
        claimed_ids = [row[0] for row in cur.fetchall()]
        cur.execute(
            "SELECT id FROM bountyboard WHERE status = 'PENDING' AND queue = 'DEFAULT' "
            "AND task_name IN ('a', 'b') ORDER BY created_at LIMIT 5"
        )
        expected = [row[0] for row in cur.fetchall()]
    finally:
        conn.close()
    assert claimed_ids == expected
    assert len(claimed_ids) == 5
