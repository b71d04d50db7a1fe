"""The producer API, in-process, against the real test database (argument checks that need
no database: ``tests/unit/test_producer.py``)."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from typing import Any

import pytest

from tests.support.sql import Sql
from workcraft.core import Workcraft
from workcraft.db import DBConfig
from workcraft.errors import PayloadTooLarge
from workcraft.models import Task, TaskStatus
from workcraft.payload import TaskSpec


def count(sql: Sql) -> int:
    return int(str(sql.value("SELECT COUNT(*) FROM bountyboard")))


def test_send_task_sync_returns_id_and_stores_the_row(
    producer: Workcraft, sql: Sql, db_config: DBConfig
) -> None:
    task_id = producer.send_task_sync(
        "simple_task",
        [1, 2],
        task_kwargs={"c": 3},
        prerun_handler_args=["pre"],
        prerun_handler_kwargs={"pk": 1},
        postrun_handler_args=["post", 2],
        postrun_handler_kwargs={"qk": "v"},
        retry_on_failure=True,
        db_config=db_config,
        queue="emails",
        retry_limit=5,
    )
    assert isinstance(task_id, str)
    assert len(task_id) == 36
    rows = sql.rows("SELECT * FROM bountyboard WHERE id = %s", (task_id,))
    assert len(rows) == 1
    row = rows[0]
    assert row["task_name"] == "simple_task"
    assert row["status"] == "PENDING"
    assert row["queue"] == "emails"
    assert row["retry_on_failure"] == 1
    assert row["retry_limit"] == 5
    assert row["retry_count"] == 0
    assert row["worker_id"] is None
    assert row["result"] is None
    assert json.loads(str(row["payload"])) == {
        "task_args": [1, 2],
        "task_kwargs": {"c": 3},
        "prerun_handler_args": ["pre"],
        "prerun_handler_kwargs": {"pk": 1},
        "postrun_handler_args": ["post", 2],
        "postrun_handler_kwargs": {"qk": "v"},
    }


def test_defaults(producer: Workcraft, sql: Sql, db_config: DBConfig) -> None:
    task_id = producer.send_task_sync("t", db_config=db_config)
    row = sql.rows("SELECT * FROM bountyboard WHERE id = %s", (task_id,))[0]
    assert row["queue"] == "DEFAULT"
    assert row["retry_on_failure"] == 0
    assert row["retry_limit"] == 3
    assert json.loads(str(row["payload"])) == {"task_args": [], "task_kwargs": {}}


def test_ids_are_time_ordered(producer: Workcraft, db_config: DBConfig) -> None:
    """Ids sent later sort after ids sent earlier (UUIDv7: inserts append to the key)."""
    ids = [producer.send_task_sync("t", [i], db_config=db_config) for i in range(200)]
    assert len(set(ids)) == len(ids)
    out_of_order = [(a, b) for a, b in itertools.pairwise(ids) if a >= b]
    assert not out_of_order, f"{len(out_of_order)} later ids sort before earlier ones"
    batch = producer.send_tasks_sync([TaskSpec("t", [i]) for i in range(500)], db_config=db_config)
    assert batch == sorted(batch)
    assert batch[0] > ids[-1]


def test_a_bad_item_in_a_batch_inserts_nothing(
    producer: Workcraft, sql: Sql, db_config: DBConfig
) -> None:
    items: list[Any] = [TaskSpec("t", [i]) for i in range(10)]
    items.append({"task_name": "t", "task_args": [object()]})
    with pytest.raises(ValueError):
        producer.send_tasks_sync(items, db_config=db_config)
    with pytest.raises(TypeError):
        producer.send_tasks_sync([*items[:3], {"task_name": "t", "bogus": 1}], db_config=db_config)
    with pytest.raises(TypeError):
        producer.send_tasks_sync([*items[:3], ["not", "a", "spec"]], db_config=db_config)  # type: ignore[list-item]
    assert count(sql) == 0


def test_send_tasks_sync_many(producer: Workcraft, sql: Sql, db_config: DBConfig) -> None:
    items: list[TaskSpec | dict[str, Any]] = []
    for i in range(2500):
        if i % 2:
            items.append(TaskSpec("t", [i], task_kwargs={"i": i}, queue="bulk"))
        else:
            items.append({"task_name": "t", "task_args": [i], "task_kwargs": {"i": i}})
    started = time.monotonic()
    ids = producer.send_tasks_sync(items, db_config=db_config)
    elapsed = time.monotonic() - started
    assert len(ids) == 2500
    assert len(set(ids)) == 2500
    assert count(sql) == 2500
    rows = sql.rows("SELECT id, queue, payload FROM bountyboard")
    by_id = {row["id"]: row for row in rows}
    for i, task_id in enumerate(ids):  # ids come back in the order of the items
        row = by_id[task_id]
        assert json.loads(str(row["payload"]))["task_args"] == [i]
        assert row["queue"] == ("bulk" if i % 2 else "DEFAULT")
    assert elapsed < 30, f"2,500 inserts took {elapsed:.1f} s"
    assert producer.send_tasks_sync([], db_config=db_config) == []


def test_get_task_sync(producer: Workcraft, sql: Sql, db_config: DBConfig) -> None:
    task_id = producer.send_task_sync(
        "t", [1, "two"], task_kwargs={"c": [3]}, retry_on_failure=True, db_config=db_config
    )
    task = producer.get_task_sync(task_id, db_config)
    assert isinstance(task, Task)
    assert task.id == task_id
    assert task.status is TaskStatus.PENDING
    assert task.task_name == "t"
    assert task.queue == "DEFAULT"
    assert task.payload == {"task_args": [1, "two"], "task_kwargs": {"c": [3]}}
    assert task.task_args == [1, "two"]
    assert task.task_kwargs == {"c": [3]}
    assert task.result is None
    assert task.retry_on_failure is True
    assert task.retry_count == 0
    assert task.retry_limit == 3
    assert task.worker_id is None
    assert task.created_at is not None

    sql.run(
        "UPDATE bountyboard SET status = 'SUCCESS', result = %s WHERE id = %s",
        (json.dumps({"answer": 42}), task_id),
    )
    done = producer.get_task_sync(task_id, db_config)
    assert done is not None
    assert done.status is TaskStatus.SUCCESS
    assert done.result == {"answer": 42}

    assert producer.get_task_sync("00000000-0000-0000-0000-000000000000", db_config) is None


def test_wait_for_task_sync(producer: Workcraft, sql: Sql, db_config: DBConfig) -> None:
    task_id = producer.send_task_sync("t", [1], db_config=db_config)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        producer.wait_for_task_sync(task_id, db_config, timeout=0.5, poll_interval=0.05)
    assert 0.5 <= time.monotonic() - started < 5

    sql.run("UPDATE bountyboard SET status = 'FAILURE', result = '{}' WHERE id = %s", (task_id,))
    task = producer.wait_for_task_sync(task_id, db_config, timeout=5, poll_interval=0.05)
    assert task.status is TaskStatus.FAILURE

    with pytest.raises(LookupError):
        producer.wait_for_task_sync("00000000-0000-0000-0000-000000000000", db_config, timeout=1)


def test_async_twins(producer: Workcraft, sql: Sql, db_config: DBConfig) -> None:
    async def scenario() -> tuple[str, Task | None, Task]:
        task_id = await producer.send_task("t", [1, 2], task_kwargs={"c": 3}, db_config=db_config)
        fetched = await producer.get_task(task_id, db_config)
        with pytest.raises(TimeoutError):
            await producer.wait_for_task(task_id, db_config, timeout=0.3, poll_interval=0.05)
        await asyncio.to_thread(
            sql.run,
            "UPDATE bountyboard SET status = 'SUCCESS', result = '6' WHERE id = %s",
            (task_id,),
        )
        finished = await producer.wait_for_task(task_id, db_config, timeout=5, poll_interval=0.05)
        ids = await producer.send_tasks([TaskSpec("t", [i]) for i in range(3)], db_config=db_config)
        assert len(ids) == 3
        return task_id, fetched, finished

    try:
        task_id, fetched, finished = asyncio.run(scenario())
    finally:
        producer.close()
    assert fetched is not None
    assert fetched.id == task_id
    assert fetched.status is TaskStatus.PENDING
    assert fetched.task_args == [1, 2]
    assert fetched.task_kwargs == {"c": 3}
    assert finished.status is TaskStatus.SUCCESS
    assert finished.result == 6
    assert count(sql) == 4


@pytest.mark.parametrize(
    ("label", "text"),
    [
        ("ascii", "x" * (17 * 1024 * 1024)),
        # 6 M characters but 18 MB once encoded as UTF-8: the packet limit is in bytes.
        ("multibyte", "\u20ac" * (6 * 1024 * 1024)),
    ],
)
def test_payload_too_large(
    producer: Workcraft, sql: Sql, db_config: DBConfig, label: str, text: str
) -> None:
    limit = int(str(sql.value("SELECT @@max_allowed_packet")))
    assert len(text.encode("utf-8")) > limit, "the test payload must exceed the server limit"
    with pytest.raises(PayloadTooLarge) as info:
        producer.send_task_sync("big", [text], db_config=db_config)
    message = str(info.value)
    assert "max_allowed_packet" in message
    assert "big" in message
    assert len(message) < 500, "the message must not echo the payload"
    assert count(sql) == 0


def test_raw_sql_insert_is_a_valid_enqueue(
    producer: Workcraft, sql: Sql, db_config: DBConfig
) -> None:
    sql.run(
        "INSERT INTO bountyboard (id, task_name, payload) "
        """VALUES (UUID(), 'simple_task', '{"task_args":[1,2,3]}')"""
    )
    row = sql.rows("SELECT * FROM bountyboard")[0]
    assert row["status"] == "PENDING"
    assert row["queue"] == "DEFAULT"
    assert row["retry_on_failure"] == 0
    assert row["retry_count"] == 0
    assert row["retry_limit"] == 3
    assert row["worker_id"] is None
    assert row["created_at"] is not None
    task = producer.get_task_sync(str(row["id"]), db_config)
    assert task is not None
    assert task.status is TaskStatus.PENDING
    assert task.task_args == [1, 2, 3]
    assert task.task_kwargs == {}


def test_async_twins_of_the_new_keywords_and_controls(
    producer: Workcraft, sql: Sql, db_config: DBConfig
) -> None:
    """send_task/send_tasks take the scheduling keywords; cancel_task, pause_queue and
    resume_queue do what their sync twins do."""

    async def scenario() -> tuple[str, str, list[str], bool, bool]:
        later = await producer.send_task(
            "t", delay=3600, priority=-5, unique_key="u", db_config=db_config
        )
        again = await producer.send_task("t", unique_key="u", db_config=db_config)
        batch = await producer.send_tasks(
            [TaskSpec("t", priority=2), TaskSpec("t", queue="other")], db_config=db_config
        )
        cancelled = await producer.cancel_task(later, db_config)
        await producer.pause_queue("other", db_config)
        paused = bool(await asyncio.to_thread(sql.value, "SELECT paused FROM queues"))
        await producer.resume_queue("other", db_config)
        return later, again, batch, cancelled, paused

    try:
        later, again, batch, cancelled, paused = asyncio.run(scenario())
    finally:
        producer.close()
    assert again == later and cancelled and paused
    assert sql.value("SELECT paused FROM queues WHERE name = 'other'") == 0
    assert sql.value("SELECT status FROM bountyboard WHERE id = %s", (later,)) == "CANCELLED"
    assert sql.value("SELECT priority FROM bountyboard WHERE id = %s", (batch[0],)) == 2
