"""Delayed tasks, priorities and unique keys from the producer's side, against the real
server: what is written, what is refused before any I/O, and what racing producers get."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest

from tests.support.sql import Sql, admin_connection
from workcraft.core import Workcraft
from workcraft.data.migrate import setup_database_tables
from workcraft.db import DBConfig
from workcraft.payload import TaskSpec

UTC = dt.timezone.utc


def row(sql: Sql, task_id: str) -> dict[str, Any]:
    (found,) = sql.rows("SELECT * FROM bountyboard WHERE id = %s", (task_id,))
    return found


def server_now(sql: Sql) -> dt.datetime:
    value = sql.value("SELECT NOW(6)")
    assert isinstance(value, dt.datetime)
    return value


def count(sql: Sql) -> int:
    return int(sql.value("SELECT COUNT(*) FROM bountyboard"))  # type: ignore[arg-type]


# -- run_at / delay / priority ---------------------------------------------------------------
def test_run_at_aware_naive_and_delay(producer: Workcraft, db_config: DBConfig, sql: Sql) -> None:
    aware = dt.datetime(2031, 5, 6, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=5)))
    a = producer.send_task_sync("x", run_at=aware, db_config=db_config)
    naive = dt.datetime(2031, 5, 6, 7, 0, 0, 250000)  # naive = UTC
    b = producer.send_task_sync("x", run_at=naive, db_config=db_config)
    before = server_now(sql)
    c = producer.send_task_sync("x", delay=90, db_config=db_config)
    after = server_now(sql)
    d = producer.send_task_sync("x", db_config=db_config)
    assert row(sql, a)["run_at"] == dt.datetime(2031, 5, 6, 7, 0)  # 12:00+05:00 in UTC
    assert row(sql, b)["run_at"] == naive
    assert (
        before + dt.timedelta(seconds=90)
        <= row(sql, c)["run_at"]
        <= after + dt.timedelta(seconds=90)
    )
    assert before <= row(sql, d)["run_at"] <= server_now(sql)
    task = producer.get_task_sync(a, db_config)
    assert task is not None and task.run_at == dt.datetime(2031, 5, 6, 7, 0)


def test_priority_is_stored(producer: Workcraft, db_config: DBConfig, sql: Sql) -> None:
    task_id = producer.send_task_sync("x", priority=-7, db_config=db_config)
    assert row(sql, task_id)["priority"] == -7
    ids = producer.send_tasks_sync(
        [TaskSpec("x", priority=3), {"task_name": "x", "priority": 1, "delay": 5}],
        db_config=db_config,
    )
    assert [row(sql, i)["priority"] for i in ids] == [3, 1]


@pytest.mark.parametrize(
    ("kwargs", "error", "text"),
    [
        ({"run_at": "tomorrow"}, TypeError, "run_at must be a datetime"),
        ({"run_at": 1234567890}, TypeError, "run_at must be a datetime"),
        ({"delay": -1}, ValueError, "delay must be"),
        ({"delay": float("nan")}, ValueError, "delay must be"),
        ({"delay": "5"}, TypeError, "delay must be a number"),
        ({"delay": 5, "run_at": dt.datetime(2030, 1, 1)}, ValueError, "not both"),
        ({"run_at": dt.datetime(2100, 1, 1)}, ValueError, "outside what the database"),
        ({"delay": 400 * 365 * 86400}, ValueError, "reaches past"),
        ({"priority": "high"}, TypeError, "priority must be an int"),
        ({"priority": 1.5}, TypeError, "priority must be an int"),
        ({"priority": True}, TypeError, "priority must be an int"),
        ({"priority": 2**40}, ValueError, "priority must be between"),
        ({"unique_key": ""}, TypeError, "unique_key must be a non-empty string"),
        ({"unique_key": 5}, TypeError, "unique_key must be a non-empty string"),
        ({"unique_key": "k" * 256}, ValueError, "unique_key is longer than 255"),
        ({"unique_key": "\ud800"}, ValueError, "unique_key is not valid Unicode"),
    ],
)
def test_bad_scheduling_arguments_raise_before_any_io(
    producer: Workcraft,
    db_config: DBConfig,
    sql: Sql,
    kwargs: dict[str, Any],
    error: type[Exception],
    text: str,
) -> None:
    with pytest.raises(error, match=text):
        producer.send_task_sync("x", db_config=db_config, **kwargs)
    with pytest.raises(error, match=text):
        producer.send_tasks_sync([TaskSpec("x"), {"task_name": "x", **kwargs}], db_config=db_config)
    assert count(sql) == 0  # nothing written, not even the good task of the batch


# -- unique keys -------------------------------------------------------------------------------
def test_unique_key_returns_the_live_task_and_writes_nothing(
    producer: Workcraft, db_config: DBConfig, sql: Sql
) -> None:
    first = producer.send_task_sync("x", [1], unique_key="report:42", db_config=db_config)
    again = producer.send_task_sync("x", [2], unique_key="report:42", db_config=db_config)
    assert again == first
    assert count(sql) == 1
    assert row(sql, first)["payload"] == '{"task_args": [1], "task_kwargs": {}}'
    # RUNNING still holds it; a FAILURE that will be retried too.
    sql.run("UPDATE bountyboard SET status = 'RUNNING' WHERE id = %s", (first,))
    assert producer.send_task_sync("x", unique_key="report:42", db_config=db_config) == first
    sql.run(
        "UPDATE bountyboard SET status = 'FAILURE', retry_on_failure = 1, retry_count = 1"
        " WHERE id = %s",
        (first,),
    )
    assert producer.send_task_sync("x", unique_key="report:42", db_config=db_config) == first
    # A final FAILURE (retries used up) lets go of the key.
    sql.run("UPDATE bountyboard SET retry_count = 9 WHERE id = %s", (first,))
    second = producer.send_task_sync("x", unique_key="report:42", db_config=db_config)
    assert second != first
    for final in ("SUCCESS", "INVALID", "CANCELLED"):
        sql.run("UPDATE bountyboard SET status = %s WHERE id = %s", (final, second))
        newer = producer.send_task_sync("x", unique_key="report:42", db_config=db_config)
        assert newer != second
        second = newer
    assert count(sql) == 5


def test_unique_keys_within_one_batch(producer: Workcraft, db_config: DBConfig, sql: Sql) -> None:
    held = producer.send_task_sync("x", unique_key="a", db_config=db_config)
    ids = producer.send_tasks_sync(
        [
            {"task_name": "x", "unique_key": "a"},
            {"task_name": "x", "unique_key": "b"},
            {"task_name": "x", "unique_key": "b"},
            {"task_name": "x"},
        ],
        db_config=db_config,
    )
    assert ids[0] == held
    assert ids[1] == ids[2] != held
    assert len(set(ids)) == 3
    assert count(sql) == 3


def test_racing_producers_on_one_key_make_exactly_one_row(db_config: DBConfig, sql: Sql) -> None:
    """16 threads, each its own connection, enqueue the same key 10 times at once."""
    start = threading.Barrier(16)
    results: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def produce() -> None:
        app = Workcraft()
        try:
            start.wait(10)
            for n in range(10):
                task_id = app.send_task_sync("x", [n], unique_key="the-one", db_config=db_config)
                with lock:
                    results.append(task_id)
        except BaseException as exc:
            errors.append(exc)
        finally:
            app.close()

    threads = [threading.Thread(target=produce) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    assert len(results) == 160
    assert len(set(results)) == 1
    assert count(sql) == 1
    assert sql.value("SELECT unique_key FROM bountyboard") == "the-one"


# -- time zones -------------------------------------------------------------------------------
def test_plain_sql_producers_in_other_time_zones_mean_the_same_instant(
    worker_db_config: DBConfig, db_config: DBConfig, sql: Sql
) -> None:
    """FIELD-NOTES 9: a +05:00 session's DEFAULT and NOW() must not jump the queue."""
    conn: Any = admin_connection(db_config, db_config.database)
    try:
        cur = conn.cursor()
        cur.execute("SET time_zone = '+05:00'")
        cur.execute("INSERT INTO bountyboard (id, task_name, payload) VALUES ('east', 'x', '{}')")
        cur.execute(
            "INSERT INTO bountyboard (id, task_name, payload, run_at)"
            " VALUES ('east-later', 'x', '{}', NOW() + INTERVAL 1 HOUR)"
        )
        cur.execute("SET time_zone = '-07:00'")
        cur.execute("INSERT INTO bountyboard (id, task_name, payload) VALUES ('west', 'x', '{}')")
    finally:
        conn.close()
    now = server_now(sql)  # this helper's session is UTC
    east, west, later = (row(sql, i) for i in ("east", "west", "east-later"))
    for created in (east, west):
        assert abs((created["created_at"] - now).total_seconds()) < 5
        assert created["run_at"] <= now
    assert east["run_at"] <= west["run_at"]  # written first, runs first
    assert abs((later["run_at"] - now).total_seconds() - 3600) < 5


def test_setup_is_idempotent_with_the_new_columns(worker_db_config: DBConfig) -> None:
    assert not setup_database_tables(worker_db_config).changed
