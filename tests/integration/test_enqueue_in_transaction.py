"""``connection=``: the INSERT runs on the caller's own DB-API connection, inside the
caller's transaction; workcraft never commits or rolls it back. Tried with the three
drivers that share the ``%s`` paramstyle: mysql-connector, PyMySQL and mysqlclient."""

from __future__ import annotations

import datetime as dt
import importlib
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support.sql import Sql
from workcraft.config.settings import Settings
from workcraft.core import Workcraft
from workcraft.data import Database
from workcraft.db import DBConfig
from workcraft.models import TaskStatus
from workcraft.peon import Peon, PeonOptions


def connect_mysql_connector(config: DBConfig) -> Any:
    import mysql.connector

    return mysql.connector.connect(
        host=config.host,
        port=config.port,
        user=config.user,
        password=config.password,
        database=config.database,
        autocommit=False,
    )


def connect_pymysql(config: DBConfig) -> Any:
    import pymysql

    return pymysql.connect(
        host=config.host,
        port=config.port,
        user=config.user,
        password=config.password,
        database=config.database,
        autocommit=False,
    )


def connect_mysqlclient(config: DBConfig) -> Any:
    try:
        mysqldb = importlib.import_module("MySQLdb")
    except ImportError:
        pytest.skip("mysqlclient is not installed (it needs libmariadb-dev to build)")
    return mysqldb.connect(
        host=config.host,
        port=config.port,
        user=config.user,
        password=config.password,
        database=config.database,
        autocommit=False,
    )


DRIVERS: dict[str, Callable[[DBConfig], Any]] = {
    "mysql-connector": connect_mysql_connector,
    "pymysql": connect_pymysql,
    "mysqlclient": connect_mysqlclient,
}


@pytest.fixture(params=sorted(DRIVERS))
def caller_connection(request: pytest.FixtureRequest, db_config: DBConfig) -> Iterator[Any]:
    conn = DRIVERS[request.param](db_config)
    # Not UTC on purpose: workcraft must not depend on (or change) the caller's session.
    cur = conn.cursor()
    cur.execute("SET time_zone = '+03:00'")
    cur.close()
    yield conn
    conn.close()


def statuses(sql: Sql) -> list[str]:
    return [str(r["status"]) for r in sql.rows("SELECT status FROM bountyboard")]


def test_rolled_back_means_no_task(caller_connection: Any, producer: Workcraft, sql: Sql) -> None:
    cur = caller_connection.cursor()
    cur.execute("INSERT INTO logs (message) VALUES ('the caller''s own write')")
    task_id = producer.send_task_sync("x", [1], connection=caller_connection)
    assert len(task_id) == 36
    assert statuses(sql) == []  # not visible before the caller commits
    caller_connection.rollback()
    assert statuses(sql) == []
    assert sql.value("SELECT COUNT(*) FROM logs") == 0


def test_committed_means_the_task_exists_and_runs(
    caller_connection: Any, producer: Workcraft, sql: Sql, db_config: DBConfig
) -> None:
    run_at = dt.datetime(2030, 6, 1, 12, 0)  # naive = UTC, whatever the session's zone
    ids = producer.send_tasks_sync(
        [{"task_name": "add", "task_args": [1, 2]}, {"task_name": "x", "run_at": run_at}],
        connection=caller_connection,
    )
    held = producer.send_task_sync("x", unique_key="k", connection=caller_connection)
    assert producer.send_task_sync("x", unique_key="k", connection=caller_connection) == held
    caller_connection.commit()
    assert sorted(statuses(sql)) == ["PENDING", "PENDING", "PENDING"]
    assert sql.value("SELECT run_at FROM bountyboard WHERE id = %s", (ids[1],)) == run_at
    assert run_one_task(db_config, ids[0]) == 3


def test_a_key_held_by_a_commit_after_the_callers_snapshot_returns_the_holder(
    caller_connection: Any, producer: Workcraft, sql: Sql, db_config: DBConfig
) -> None:
    """At REPEATABLE READ the caller's transaction reads from a snapshot taken at its first
    read; a task committed after it must still be found as the key's holder, not hidden."""
    cur = caller_connection.cursor()
    cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    cur.execute("SELECT COUNT(*) FROM bountyboard")  # the snapshot starts here
    cur.fetchall()
    cur.close()
    holder = producer.send_task_sync("x", unique_key="later", db_config=db_config)
    assert producer.send_task_sync("x", unique_key="later", connection=caller_connection) == holder
    caller_connection.commit()
    assert sql.value("SELECT COUNT(*) FROM bountyboard") == 1


def run_one_task(db_config: DBConfig, task_id: str) -> Any:
    """A peon in this process runs the task; returns its result."""
    app = Workcraft()

    @app.task("add")
    def add(a: int, b: int) -> int:
        return a + b

    peon = Peon(app, Database(db_config), Settings(), PeonOptions(worker_id="tx-peon"))
    assert peon.start()
    try:
        deadline = time.monotonic() + 10
        while True:
            peon.step()
            task = app.get_task_sync(task_id, db_config)
            if task is not None and task.status.is_final:
                assert task.status == TaskStatus.SUCCESS, task
                return task.result
            assert time.monotonic() < deadline, "the task never finished"
            time.sleep(0.02)
    finally:
        peon.shutdown()
        app.close()


def test_connection_and_db_config_together_are_refused(
    caller_connection: Any, producer: Workcraft, db_config: DBConfig
) -> None:
    with pytest.raises(ValueError, match="not both"):
        producer.send_task_sync("x", db_config=db_config, connection=caller_connection)


def test_something_that_is_not_a_connection_is_refused(producer: Workcraft) -> None:
    with pytest.raises(TypeError, match="DB-API connection"):
        producer.send_task_sync("x", connection="mysql://nope")


def test_through_sqlalchemy_as_the_readme_shows(
    producer: Workcraft, db_config: DBConfig, sql: Sql
) -> None:
    sqlalchemy = pytest.importorskip("sqlalchemy")
    url = sqlalchemy.engine.URL.create(
        "mysql+pymysql",
        username=db_config.user,
        password=db_config.password or None,
        host=db_config.host,
        port=db_config.port,
        database=db_config.database,
    )
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sqlalchemy.text("INSERT INTO logs (message) VALUES ('order 1')"))
            kept = producer.send_task_sync("x", [1], connection=conn.connection.dbapi_connection)
        with pytest.raises(RuntimeError), engine.begin() as conn:
            producer.send_task_sync("x", [2], connection=conn.connection.dbapi_connection)
            raise RuntimeError("the caller's transaction fails")
    finally:
        engine.dispose()
    assert [r["id"] for r in sql.rows("SELECT id FROM bountyboard")] == [kept]
    assert sql.value("SELECT COUNT(*) FROM logs") == 1
