"""Pausing and resuming queues, concurrency limits per key, and retention: real peons (in
this process) and real janitor sweeps against the real database."""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import mysql.connector
import pytest

from tests.support.sql import Sql
from workcraft.config.settings import Settings
from workcraft.core import Workcraft
from workcraft.data import Database, Store
from workcraft.db import DBConfig, get_db_config
from workcraft.janitor import DeadPeons, Retention
from workcraft.models import TaskStatus
from workcraft.peon import Peon, PeonOptions

POLL = 0.2
SETTINGS = Settings(DB_POLLING_INTERVAL=POLL, DB_PEON_HEARTBEAT_INTERVAL=1)


@pytest.fixture
def start_peons(db_config: DBConfig) -> Iterator[Callable[..., list[Peon]]]:
    running: list[tuple[Peon, threading.Thread]] = []

    def start(app: Workcraft, count: int = 1, **options: Any) -> list[Peon]:
        peons = []
        for _ in range(count):
            worker_id = f"peon-{len(running)}"
            peon = Peon(
                app, Database(db_config), SETTINGS, PeonOptions(worker_id=worker_id, **options)
            )
            thread = threading.Thread(target=peon.run, daemon=True)
            thread.start()
            running.append((peon, thread))
            peons.append(peon)
        return peons

    yield start
    for peon, _ in running:
        peon.request_stop()
    for _, thread in running:
        thread.join(15)


def statuses(producer: Workcraft, db_config: DBConfig, ids: list[str]) -> list[TaskStatus]:
    return [t.status for t in (producer.get_task_sync(i, db_config) for i in ids) if t]


def wait_for(predicate: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


# -- pause and resume ----------------------------------------------------------------------------
def test_a_paused_queue_is_not_claimed_until_resumed(
    start_peons: Callable[..., list[Peon]], producer: Workcraft, db_config: DBConfig
) -> None:
    app = Workcraft()

    @app.task("job")
    def job() -> None: ...

    producer.pause_queue_sync("slow", db_config)
    held = [producer.send_task_sync("job", queue="slow", db_config=db_config) for _ in range(3)]
    free = [producer.send_task_sync("job", queue="fast", db_config=db_config) for _ in range(3)]
    start_peons(app, queues=("slow", "fast"), concurrency=2)
    wait_for(lambda: all(s == TaskStatus.SUCCESS for s in statuses(producer, db_config, free)))
    time.sleep(3 * POLL)
    assert statuses(producer, db_config, held) == [TaskStatus.PENDING] * 3
    resumed_at = time.monotonic()
    producer.resume_queue_sync("slow", db_config)
    wait_for(lambda: all(s == TaskStatus.SUCCESS for s in statuses(producer, db_config, held)))
    # Within one polling interval (plus the claim itself).
    assert time.monotonic() - resumed_at < POLL + 1.0


def test_pausing_stops_claims_while_running_tasks_finish(
    start_peons: Callable[..., list[Peon]], producer: Workcraft, db_config: DBConfig
) -> None:
    gate = threading.Event()
    app = Workcraft()

    @app.task("job")
    def job() -> None:
        gate.wait(10)

    first = producer.send_task_sync("job", db_config=db_config)
    start_peons(app)
    wait_for(lambda: statuses(producer, db_config, [first]) == [TaskStatus.RUNNING])
    producer.pause_queue_sync("DEFAULT", db_config)
    later = producer.send_task_sync("job", db_config=db_config)
    time.sleep(1.5 * POLL)  # peons read pauses once per polling interval
    gate.set()
    wait_for(lambda: statuses(producer, db_config, [first]) == [TaskStatus.SUCCESS])
    time.sleep(3 * POLL)
    assert statuses(producer, db_config, [later]) == [TaskStatus.PENDING]


@pytest.mark.parametrize("bad", ["", None, "x" * 256])
def test_pausing_a_bad_name_fails_before_io(producer: Workcraft, bad: Any) -> None:
    with pytest.raises((TypeError, ValueError), match="queue"):
        producer.pause_queue_sync(bad, DBConfig(port=1))


# -- concurrency limits ---------------------------------------------------------------------
def test_concurrency_limits_hold_across_eight_peons(
    start_peons: Callable[..., list[Peon]],
    producer: Workcraft,
    db_config: DBConfig,
    sql: Sql,
) -> None:
    """8 peons (concurrency 3 each) and 200 tasks on 3 keys (limits 1, 2, 3) plus 40 free
    tasks; each run records its start and end in a side table."""
    sql.run(
        "CREATE TABLE IF NOT EXISTS runs (task_id CHAR(36), ckey VARCHAR(20),"
        " started DOUBLE, ended DOUBLE)"
    )
    sql.run("DELETE FROM runs")
    config = db_config
    app = Workcraft()
    local = threading.local()

    @app.task("keyed")
    def keyed(key: str) -> None:
        started = time.time()
        time.sleep(0.02)
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = mysql.connector.connect(**config.connect_kwargs())
        cur = conn.cursor()
        cur.execute(
            "INSERT INTO runs VALUES (%s, %s, %s, %s)",
            (current_id(), key, started, time.time()),
        )
        cur.close()

    from workcraft import current_task

    def current_id() -> str:
        return current_task().id

    limits = {"a": 1, "b": 2, "c": 3}
    specs: list[dict[str, Any]] = []
    for n in range(200):
        key = "abc"[n % 3]
        specs.append(
            {
                "task_name": "keyed",
                "task_args": [key],
                "concurrency_key": key,
                "concurrency_limit": limits[key],
            }
        )
    specs += [{"task_name": "keyed", "task_args": ["-"]} for _ in range(40)]
    ids = producer.send_tasks_sync(specs, db_config=db_config)
    start_peons(app, count=8, concurrency=3)
    wait_for(
        lambda: sql.value("SELECT COUNT(*) FROM bountyboard WHERE status = 'SUCCESS'") == 240,
        timeout=120,
    )
    runs = sql.rows("SELECT task_id, ckey, started, ended FROM runs")
    assert sorted(str(r["task_id"]) for r in runs) == sorted(ids)  # each ran once, none lost
    for key, limit in limits.items():
        events = []
        for r in runs:
            if r["ckey"] == key:
                events += [(float(r["started"]), 1), (float(r["ended"]), -1)]
        running = peak = 0
        for _, change in sorted(events, key=lambda e: (e[0], e[1])):
            running += change
            peak = max(peak, running)
        assert peak <= limit, f"key {key}: {peak} ran at once, limit {limit}"
    # Every keyed claim wrote its key's row, not only locked it (the first one inserted it):
    # on a cluster that write is what makes two nodes' claims of one key conflict
    # (tests/acceptance/test_cluster.py).
    claims = dict(sql.tuples("SELECT name, claims FROM concurrency_keys"))
    for key in limits:
        keyed_tasks = sum(1 for spec in specs if spec.get("concurrency_key") == key)
        assert claims[key] >= keyed_tasks - 1, (key, claims)
    # The free tasks were never held up behind the keyed ones.
    assert sql.value("SELECT MAX(ended) FROM runs WHERE ckey = '-'") < sql.value(  # type: ignore[operator]
        "SELECT MAX(ended) FROM runs WHERE ckey = 'a'"
    )


def test_a_dead_peons_slot_is_given_back(
    start_peons: Callable[..., list[Peon]],
    producer: Workcraft,
    db_config: DBConfig,
    sql: Sql,
) -> None:
    app = Workcraft()

    @app.task("keyed")
    def keyed() -> None: ...

    # A peon died holding the only slot of key "k".
    stuck = producer.send_task_sync("keyed", concurrency_key="k", db_config=db_config)
    sql.run(
        "INSERT INTO peon (id, status, last_heartbeat, session)"
        " VALUES ('ghost', 'WORKING', NOW(6) - INTERVAL 1 HOUR, 'gs')"
    )
    sql.run(
        "UPDATE bountyboard SET status = 'RUNNING', worker_id = 'ghost', peon_session = 'gs',"
        " attempt = 1 WHERE id = %s",
        (stuck,),
    )
    waiting = producer.send_task_sync("keyed", concurrency_key="k", db_config=db_config)
    start_peons(app)
    time.sleep(4 * POLL)
    assert statuses(producer, db_config, [waiting]) == [TaskStatus.PENDING]
    with Store(db_config, name="janitor") as store:
        DeadPeons(store, SETTINGS, restart_grace=False).run_once()
    wait_for(
        lambda: (
            statuses(producer, db_config, [stuck, waiting])
            == [TaskStatus.SUCCESS, TaskStatus.SUCCESS]
        )
    )


def test_many_full_keys_in_front_do_not_block_other_work(
    producer: Workcraft, db_config: DBConfig, sql: Sql
) -> None:
    """40 keys at their limit, each with a waiting task ahead of an unkeyed one: a claim for
    one slot steps over all of them (rounds look further ahead) and takes the unkeyed task."""
    keys = [f"key-{n}" for n in range(40)]
    for key in keys:
        running = producer.send_task_sync("keyed", concurrency_key=key, db_config=db_config)
        sql.run(
            "UPDATE bountyboard SET status = 'RUNNING', worker_id = 'elsewhere', attempt = 1"
            " WHERE id = %s",
            (running,),
        )
    for key in keys:
        producer.send_task_sync("keyed", concurrency_key=key, db_config=db_config)
    free = producer.send_task_sync("free", delay=0.001, db_config=db_config)
    time.sleep(0.05)
    with Store(db_config, name="claim") as store:
        taken = store.transaction(
            lambda q, _attempt: q.tasks.lock_claimable(
                queues=["DEFAULT"], task_names=["keyed", "free"], limit=1
            )
        )
    assert [task.id for task in taken] == [free]


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        ({"concurrency_key": "k", "concurrency_limit": 0}, "concurrency_limit must be >= 1"),
        ({"concurrency_key": "k", "concurrency_limit": "2"}, "concurrency_limit must be an int"),
        ({"concurrency_limit": 3}, "needs a concurrency_key"),
        ({"concurrency_key": ""}, "concurrency_key must be a non-empty string"),
    ],
)
def test_bad_concurrency_arguments(producer: Workcraft, kwargs: dict[str, Any], text: str) -> None:
    with pytest.raises((TypeError, ValueError), match=text):
        producer.send_task_sync("keyed", db_config=get_db_config(port=1), **kwargs)


# -- retention --------------------------------------------------------------------------------
NOW = dt.datetime(2030, 6, 1, 12, 0)


def add(sql: Sql, status: str, days_old: float, **columns: Any) -> str:
    task_id = str(uuid.uuid4())
    finished = NOW - dt.timedelta(days=days_old)
    values = {"retry_on_failure": 0, "retry_count": 0, "retry_limit": 3, **columns}
    sql.run(
        "INSERT INTO bountyboard (id, status, task_name, finished_at, retry_on_failure,"
        " retry_count, retry_limit) VALUES (%s, %s, 'x', %s, %s, %s, %s)",
        (
            task_id,
            status,
            finished,
            values["retry_on_failure"],
            values["retry_count"],
            values["retry_limit"],
        ),
    )
    return task_id


def test_retention_deletes_old_finished_rows_in_batches(db_config: DBConfig, sql: Sql) -> None:
    keep = {
        add(sql, "SUCCESS", 6),
        add(sql, "CANCELLED", 6.9),
        add(sql, "FAILURE", 29),
        add(sql, "INVALID", 29),
        add(sql, "PENDING", 400),
        add(sql, "RUNNING", 400),
        # Old, but a retry is still to come.
        add(sql, "FAILURE", 90, retry_on_failure=1, retry_count=1),
    }
    gone = {add(sql, "SUCCESS", 8) for _ in range(7)}
    gone |= {add(sql, "CANCELLED", 8), add(sql, "FAILURE", 31), add(sql, "INVALID", 31)}
    gone.add(add(sql, "FAILURE", 31, retry_on_failure=1, retry_count=4))  # retries used up
    sql.run(
        "INSERT INTO logs (message, created_at) VALUES ('old', %s), ('new', %s)",
        (NOW - dt.timedelta(days=31), NOW - dt.timedelta(days=1)),
    )
    sql.run(
        "INSERT INTO peon (id, status, last_heartbeat) VALUES"
        " ('gone', 'OFFLINE', %s), ('recent', 'OFFLINE', %s), ('alive', 'IDLE', %s)",
        (NOW - dt.timedelta(days=2), NOW - dt.timedelta(hours=2), NOW - dt.timedelta(days=9)),
    )
    settings = SETTINGS.with_overrides(JANITOR_SWEEP_BATCH_SIZE=2)
    with Store(db_config, name="retention") as store:
        result = Retention(store, settings).run_once(now=NOW)
    remaining = {str(r["id"]) for r in sql.rows("SELECT id FROM bountyboard")}
    assert remaining == keep
    assert result.counts["success_deleted"] == 7  # 4 batches of at most 2
    assert [r["message"] for r in sql.rows("SELECT message FROM logs")] == ["new"]
    assert {r["id"] for r in sql.rows("SELECT id FROM peon")} == {"recent", "alive"}


def test_an_age_of_zero_keeps_forever(db_config: DBConfig, sql: Sql) -> None:
    old = add(sql, "SUCCESS", 3000)
    settings = SETTINGS.with_overrides(KEEP_SUCCESS_DAYS=0)
    with Store(db_config, name="retention") as store:
        Retention(store, settings).run_once(now=NOW)
    assert sql.value("SELECT COUNT(*) FROM bountyboard WHERE id = %s", (old,)) == 1
