"""The store against the real server: retries, and what counts as transient."""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.net import free_port
from tests.support.procs import child_env
from tests.support.sql import Sql, admin_connection
from workcraft.data import Queries, RetryPolicy, Store
from workcraft.data.connection import Session, open_connection
from workcraft.db import DBConfig
from workcraft.errors import DatabaseError, DatabaseUnavailable


@pytest.fixture
def store(db_config: DBConfig) -> Iterator[Store]:
    with Store(db_config, RetryPolicy(give_up_after=10), name="test") as s:
        yield s


def test_commit_on_a_killed_connection_is_retried(store: Store, sql: Sql) -> None:
    """The C extension raises its own error type from COMMIT; it must be retried."""
    sql.run("INSERT INTO logs (message) VALUES ('counter')")
    victim = store.connection_id()
    killer = admin_connection(store.config, store.config.database)

    def transaction(q: Queries, attempt: int) -> int:
        q.janitor.add_log(f"attempt {attempt}")
        if attempt == 1:
            killer.cursor().execute("KILL CONNECTION %s", (int(victim),))  # type: ignore[attr-defined]
        return attempt

    try:
        assert store.transaction(transaction) == 2
    finally:
        killer.close()  # type: ignore[attr-defined]
    messages = [row["message"] for row in sql.rows("SELECT message FROM logs ORDER BY id")]
    assert messages == ["counter", "attempt 2"]


def test_killed_connection_between_calls_reconnects(store: Store) -> None:
    first = store.connection_id()
    killer = admin_connection(store.config)
    try:
        killer.cursor().execute("KILL CONNECTION %s", (int(first),))  # type: ignore[attr-defined]
    finally:
        killer.close()  # type: ignore[attr-defined]
    assert store.connection_id() != first


def test_access_denied_is_permanent_and_immediate(db_config: DBConfig) -> None:
    bad = DBConfig(
        host=db_config.host,
        port=db_config.port,
        user="root",
        password="not-the-password",
        database=db_config.database,
    )
    started = time.monotonic()
    with Store(bad, RetryPolicy(give_up_after=30)) as store, pytest.raises(DatabaseError) as info:
        store.call(lambda q: q.schema.server_now())
    assert time.monotonic() - started < 5
    assert "access denied" in str(info.value)
    assert "not-the-password" not in str(info.value)
    assert not isinstance(info.value, DatabaseUnavailable)


def test_unreachable_server_gives_up_after_the_policy(db_config: DBConfig) -> None:
    port = free_port()
    config = DBConfig(host="127.0.0.1", port=port, database="x")
    started = time.monotonic()
    with Store(config, RetryPolicy(give_up_after=1.0)) as store, pytest.raises(DatabaseUnavailable):
        store.call(lambda q: q.schema.server_now())
    assert 0.9 <= time.monotonic() - started < 10


def test_a_connection_closed_for_idling_reconnects_quietly(
    db_config: DBConfig, caplog: pytest.LogCaptureFixture
) -> None:
    """The server closes a session silent past its wait_timeout (the janitor's and peon's
    idle_timeout); the next call reconnects without logging an outage."""
    caplog.set_level(logging.DEBUG, logger="workcraft.db")
    with Store(db_config, RetryPolicy.forever(), name="idler", idle_timeout=1) as store:
        first = store.connection_id()
        time.sleep(2.5)
        assert store.connection_id() != first
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert loud == [], [r.getMessage() for r in loud]
    assert any("closed after idling" in r.getMessage() for r in caplog.records)


def test_causal_reads_change_nothing_on_a_server_that_is_not_galera(db_config: DBConfig) -> None:
    """``Session(causal_reads=True)`` sets wsrep_sync_wait only on a Galera node (checked on a
    real cluster by tests/acceptance/test_cluster.py); elsewhere the session is as before."""
    conn: Any = open_connection(db_config, session=Session(causal_reads=True))
    try:
        cur = conn.cursor()
        cur.execute("SHOW SESSION VARIABLES LIKE 'wsrep_sync_wait'")
        assert cur.fetchall() in ([], [("wsrep_sync_wait", "0")])  # MySQL has no such variable
        cur.execute("SELECT 1")
        assert cur.fetchall() == [(1,)]
    finally:
        conn.close()


# The C extension only loads before anything imports ssl or hashlib (FIELD-NOTES 3), which
# pytest's plugins do: the C-extension cursor is tried in a child that imports workcraft first.
_WRONG_WIDTH_CHILD = """
import workcraft
from workcraft.data.connection import open_connection
from workcraft.data.cursor import ConnectorCursor, cursor_for
from workcraft.db import get_db_config

conn = open_connection(get_db_config())
cursor = cursor_for(conn)
assert isinstance(cursor, ConnectorCursor), type(cursor).__name__
try:
    cursor.executemany("insert_task", [tuple(range(12)), tuple(range(14))])
except ValueError as exc:
    print(exc)
conn.close()
"""


def test_bulk_insert_rows_of_the_wrong_width_are_refused(db_config: DBConfig, sql: Sql) -> None:
    """Rows of 12 and 14 values add up to two rows of 13: they must not be sent shifted."""
    child = subprocess.run(
        [sys.executable, "-c", _WRONG_WIDTH_CHILD],
        env=child_env(db_config),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert child.returncode == 0, child.stderr
    assert child.stdout.strip() == "insert_task: every row needs 13 values"
    assert sql.count("SELECT COUNT(*) FROM bountyboard") == 0
