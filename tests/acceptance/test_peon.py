"""Real peon processes (``python -m workcraft peon``) against the test database.

The peons run ``tests/apps/basic.py``. Tasks that count their executions insert a row
``(task_id, pid)`` into the side table ``executions`` (created by the ``executions`` fixture).
"""

from __future__ import annotations

import json
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.procs import ProcGroup
from tests.support.rows import peon_row, result_of, task_row
from tests.support.settings import write_settings
from tests.support.sql import Sql, admin_connection
from tests.support.waiting import wait_until
from workcraft.core import Workcraft
from workcraft.data.ddl import quote_identifier
from workcraft.db import DBConfig
from workcraft.payload import TaskSpec

SIGTERM = signal.SIGTERM


@pytest.fixture
def executions(sql: Sql) -> Sql:
    """The side table the recording tasks write to (same database as the workcraft tables)."""
    sql.run("DROP TABLE IF EXISTS executions")
    sql.run(
        "CREATE TABLE executions (id BIGINT AUTO_INCREMENT PRIMARY KEY, task_id CHAR(36) NULL, "
        "pid INT NOT NULL, created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6))"
    )
    return sql


def wait_for_status(
    sql: Sql, task_id: str, status: str, procs: ProcGroup, timeout: float = 20
) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        row = task_row(sql, task_id)
        return row if row["status"] == status else None

    return wait_until(check, timeout, f"task {task_id} {status}", procs.describe)


def wait_for_peon(
    sql: Sql, worker_id: str, status: str, procs: ProcGroup, timeout: float = 20
) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        row = peon_row(sql, worker_id)
        return row if row is not None and row["status"] == status else None

    return wait_until(check, timeout, f"peon {worker_id} {status}", procs.describe)


def peon_status(sql: Sql, worker_id: str) -> str:
    row = peon_row(sql, worker_id)
    assert row is not None, f"no peon row {worker_id}"
    return str(row["status"])


def number(value: object) -> int:
    return int(str(value))


def executions_of(sql: Sql, task_id: str) -> int:
    return number(sql.value("SELECT COUNT(*) FROM executions WHERE task_id = %s", (task_id,)))


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, f"expected exactly one line, got {len(lines)}:\n{text}"
    return lines[0]


# -- many tasks, many peons: exactly once ---------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize(
    ("concurrency", "claim_mode"),
    [(1, "skip_locked"), (4, "skip_locked"), (4, "optimistic")],
)
def test_many_tasks_run_exactly_once(
    procs: ProcGroup,
    producer: Workcraft,
    executions: Sql,
    db_config: DBConfig,
    tmp_path: Path,
    concurrency: int,
    claim_mode: str,
) -> None:
    """2,000 tasks, 4 peons: each runs exactly once; also with the claim path for servers
    without SKIP LOCKED (CLAIM_MODE=optimistic), forced here on MariaDB."""
    write_settings(tmp_path, CLAIM_MODE=claim_mode)
    sql = executions
    n_tasks, n_peons = 2000, 4
    peons = [procs.peon(f"bulk-{i}", f"--concurrency={concurrency}") for i in range(n_peons)]
    wait_until(
        lambda: sql.value("SELECT COUNT(*) FROM peon WHERE status = 'IDLE'") == n_peons,
        30,
        "all peons IDLE",
        procs.describe,
    )
    ids = producer.send_tasks_sync(
        [TaskSpec("record", [i]) for i in range(n_tasks)], db_config=db_config
    )

    def progress() -> str:
        counts = sql.rows("SELECT status, COUNT(*) AS n FROM bountyboard GROUP BY status")
        return f"{counts}\n{procs.describe()}"

    wait_until(
        lambda: sql.value("SELECT COUNT(*) FROM bountyboard WHERE status = 'SUCCESS'") == n_tasks,
        240,
        f"{n_tasks} tasks SUCCESS",
        progress,
        interval=0.5,
    )
    for peon in peons:
        peon.send(SIGTERM)
    for peon in peons:
        assert peon.wait(30) == 0, peon.describe()

    assert sql.rows("SELECT status, COUNT(*) AS n FROM bountyboard GROUP BY status") == [
        {"status": "SUCCESS", "n": n_tasks}
    ]
    rows = sql.rows("SELECT id, payload, result FROM bountyboard")
    for row in rows:
        assert result_of(row) == json.loads(str(row["payload"]))["task_args"][0]
    assert sql.value("SELECT COUNT(*) FROM executions") == n_tasks
    assert (
        sql.rows("SELECT task_id, COUNT(*) AS n FROM executions GROUP BY task_id HAVING n <> 1")
        == []
    )
    executed = {str(r["task_id"]) for r in sql.rows("SELECT task_id FROM executions")}
    assert executed == set(ids)
    # Each execution happened in the process of the peon the row names as its worker.
    mismatched = sql.value(
        "SELECT COUNT(*) FROM executions e JOIN bountyboard b ON b.id = e.task_id "
        "LEFT JOIN peon p ON p.id = b.worker_id WHERE p.pid IS NULL OR p.pid <> e.pid"
    )
    assert mismatched == 0
    pids = {number(r["pid"]) for r in sql.rows("SELECT DISTINCT pid FROM executions")}
    assert pids <= {peon.pid for peon in peons}
    assert len(pids) >= 2, "the peons were meant to compete for the tasks"
    peon_rows = sql.rows("SELECT id, status, tasks_done, current_task FROM peon")
    assert {row["status"] for row in peon_rows} == {"OFFLINE"}
    assert sum(number(row["tasks_done"]) for row in peon_rows) == n_tasks
    for peon in peons:
        assert "not written" not in peon.output
        assert "Traceback" not in peon.output


# -- fencing: a reclaimed task's old run cannot write its outcome ----------------------------
@pytest.mark.slow
def test_zombie_outcome_is_not_written(
    procs: ProcGroup, producer: Workcraft, executions: Sql, db_config: DBConfig
) -> None:
    sql = executions
    peon = procs.peon("zombie")
    task_id = producer.send_task_sync("sleep", [3], db_config=db_config)
    running = wait_for_status(sql, task_id, "RUNNING", procs)
    assert running["worker_id"] == "zombie"
    reassigned = sql.run(
        "UPDATE bountyboard SET worker_id = 'someone-else', attempt = attempt + 1 "
        "WHERE id = %s AND status = 'RUNNING' AND worker_id = 'zombie'",
        (task_id,),
    )
    assert reassigned == 1
    before = task_row(sql, task_id)

    output = peon.wait_for_output("not written", timeout=15)
    warning = next(line for line in output.splitlines() if "not written" in line)
    assert task_id in warning
    assert "SUCCESS" in warning
    assert "WARNING" in warning

    row = task_row(sql, task_id)
    assert row["status"] == "RUNNING"
    assert row["worker_id"] == "someone-else"
    assert row["attempt"] == before["attempt"]
    assert row["result"] is None
    assert row["finished_at"] is None
    assert executions_of(sql, task_id) == 1

    # The peon carries on with other work.
    next_id = producer.send_task_sync("add", [1, 2], db_config=db_config)
    assert result_of(wait_for_status(sql, next_id, "SUCCESS", procs)) == 3
    peon.send(SIGTERM)
    assert peon.wait(15) == 0, peon.describe()
    row = task_row(sql, task_id)
    assert (row["status"], row["worker_id"], row["result"]) == ("RUNNING", "someone-else", None)
    assert wait_for_peon(sql, "zombie", "OFFLINE", procs)["current_task"] is None


# -- outcomes ---------------------------------------------------------------------------------
def test_failure_async_and_non_json_outcomes(
    procs: ProcGroup, producer: Workcraft, sql: Sql, db_config: DBConfig
) -> None:
    failing = producer.send_task_sync(
        "fail", ["kaboom"], retry_on_failure=True, retry_limit=3, db_config=db_config
    )
    asynchronous = producer.send_task_sync("async_add", [40, 2], db_config=db_config)
    non_json = producer.send_task_sync("non_json", db_config=db_config)
    peon = procs.peon("outcomes", "--burst")
    assert peon.wait(30) == 0, peon.describe()

    row = task_row(sql, failing)
    assert row["status"] == "FAILURE"
    assert row["retry_count"] == 1
    assert row["worker_id"] == "outcomes"
    assert row["finished_at"] is not None
    error = result_of(row)
    assert error["error_type"] == "ValueError"
    assert error["message"] == "kaboom"
    assert "Traceback" in error["traceback"]
    assert "ValueError: kaboom" in error["traceback"]

    row = task_row(sql, asynchronous)
    assert row["status"] == "SUCCESS"
    assert result_of(row) == 42
    assert row["retry_count"] == 0

    row = task_row(sql, non_json)
    assert row["status"] == "FAILURE"
    assert "not JSON-serialisable" in result_of(row)["message"]

    # The janitor, not the peon, reopens failed tasks: nothing has touched the row since.
    time.sleep(0.5)
    assert task_row(sql, failing)["status"] == "FAILURE"


def test_invalid_rows_become_invalid_and_the_peon_keeps_going(
    procs: ProcGroup, producer: Workcraft, sql: Sql, db_config: DBConfig
) -> None:
    bad_payloads = {
        "[1,2]": "payload must be a JSON object",
        '{"task_args": 5}': "task_args must be a JSON array",
        '{"task_kwargs": [1]}': "task_kwargs must be a JSON object",
        '"just text"': "payload must be a JSON object",
        '{"task_args": [1, 2, 3, 4, 5]}': "arguments do not fit add",
        '{"task_args": [1]}': "arguments do not fit add",
    }
    invalid_ids = {}
    for payload, reason in bad_payloads.items():
        task_id = str(sql.value("SELECT UUID()"))
        sql.run(
            "INSERT INTO bountyboard (id, task_name, payload) VALUES (%s, 'add', %s)",
            (task_id, payload),
        )
        invalid_ids[task_id] = reason
    null_id = str(sql.value("SELECT UUID()"))
    sql.run("INSERT INTO bountyboard (id, task_name, payload) VALUES (%s, 'add', NULL)", (null_id,))
    invalid_ids[null_id] = "payload is NULL"
    good = producer.send_task_sync("add", [1, 2], task_kwargs={"c": 3}, db_config=db_config)

    peon = procs.peon("strict", "--burst")
    assert peon.wait(30) == 0, peon.describe()

    for task_id, reason in invalid_ids.items():
        row = task_row(sql, task_id)
        assert row["status"] == "INVALID", (row, peon.describe())
        assert reason in result_of(row)["message"]
        assert row["retry_count"] == 0
    good_row = task_row(sql, good)
    assert good_row["status"] == "SUCCESS"
    assert result_of(good_row) == 6
    assert "Traceback" not in peon.output


def test_raw_sql_enqueue_runs_and_unregistered_names_wait(
    procs: ProcGroup, producer: Workcraft, sql: Sql, db_config: DBConfig
) -> None:
    for _ in range(3):  # oldest first in the queue: they must not block what follows
        sql.run(
            "INSERT INTO bountyboard (id, task_name, payload) "
            """VALUES (UUID(), 'nobody_knows', '{"task_args": []}')"""
        )
    sql.run(
        "INSERT INTO bountyboard (id, task_name, payload) "
        """VALUES (UUID(), 'add', '{"task_args":[1,2,3]}')"""
    )
    produced = producer.send_task_sync("add", [10, 20], db_config=db_config)

    peon = procs.peon("picky", "--burst")
    assert peon.wait(30) == 0, peon.describe()

    raw = sql.rows("SELECT * FROM bountyboard WHERE task_name = 'add' AND id <> %s", (produced,))
    assert len(raw) == 1
    assert raw[0]["status"] == "SUCCESS"
    assert result_of(raw[0]) == 6
    assert result_of(task_row(sql, produced)) == 30
    for row in sql.rows("SELECT * FROM bountyboard WHERE task_name = 'nobody_knows'"):
        assert row["status"] == "PENDING"
        assert row["worker_id"] is None
        assert row["attempt"] == 0
        assert row["result"] is None


# -- the peon row -------------------------------------------------------------------------------
@pytest.mark.slow
def test_peon_row_while_working_and_after_stop(
    procs: ProcGroup, producer: Workcraft, executions: Sql, db_config: DBConfig
) -> None:
    sql = executions
    peon = procs.peon("watched", "--queues", "DEFAULT")
    idle = wait_for_peon(sql, "watched", "IDLE", procs)
    assert idle["current_task"] is None
    task_id = producer.send_task_sync("sleep", [5], db_config=db_config)
    wait_for_status(sql, task_id, "RUNNING", procs)

    row = wait_for_peon(sql, "watched", "WORKING", procs)
    assert row["current_task"] == task_id
    assert row["hostname"] == socket.gethostname()
    assert row["pid"] == peon.pid
    assert "DEFAULT" in str(row["queues"])

    beats = [row["last_heartbeat"]]

    def newer_heartbeat() -> Any:
        current = peon_row(sql, "watched")
        assert current is not None
        return current["last_heartbeat"] if current["last_heartbeat"] > beats[-1] else None

    for _ in range(2):
        beats.append(wait_until(newer_heartbeat, 5, "last_heartbeat advances", procs.describe))
    assert task_row(sql, task_id)["status"] == "RUNNING", "the heartbeat beat while the task ran"
    assert peon_status(sql, "watched") == "WORKING"

    wait_for_status(sql, task_id, "SUCCESS", procs, timeout=20)
    after = wait_for_peon(sql, "watched", "IDLE", procs)
    assert after["current_task"] is None

    peon.send(SIGTERM)
    assert peon.wait(15) == 0, peon.describe()
    final = peon_row(sql, "watched")
    assert final is not None
    assert final["status"] == "OFFLINE"
    assert final["current_task"] is None


# -- SIGTERM --------------------------------------------------------------------------------------
def test_sigterm_waits_for_the_running_task_within_the_grace_period(
    procs: ProcGroup, producer: Workcraft, executions: Sql, db_config: DBConfig, tmp_path: Path
) -> None:
    sql = executions
    write_settings(tmp_path, PEON_SHUTDOWN_GRACE_SECONDS=20)
    peon = procs.peon("graceful")
    task_id = producer.send_task_sync("sleep", [2], db_config=db_config)
    wait_for_status(sql, task_id, "RUNNING", procs)
    waiting = producer.send_task_sync("add", [1, 1], db_config=db_config)
    peon.send(SIGTERM)

    assert peon.wait(20) == 0, peon.describe()
    row = task_row(sql, task_id)
    assert row["status"] == "SUCCESS", peon.describe()
    assert result_of(row) == "slept 2"
    assert executions_of(sql, task_id) == 1
    # No claims after the signal.
    assert task_row(sql, waiting)["status"] == "PENDING"
    assert peon_status(sql, "graceful") == "OFFLINE"


def test_sigterm_after_a_short_grace_period_gives_the_task_back(
    procs: ProcGroup, producer: Workcraft, executions: Sql, db_config: DBConfig, tmp_path: Path
) -> None:
    sql = executions
    write_settings(tmp_path, PEON_SHUTDOWN_GRACE_SECONDS=1)
    peon = procs.peon("impatient")
    task_id = producer.send_task_sync("sleep", [30], db_config=db_config)
    wait_for_status(sql, task_id, "RUNNING", procs)
    started = time.monotonic()
    peon.send(SIGTERM)

    assert peon.wait(15) == 0, peon.describe()
    assert time.monotonic() - started < 6, peon.describe()
    row = task_row(sql, task_id)
    assert row["status"] == "PENDING"
    assert row["worker_id"] is None
    assert row["result"] is None
    assert executions_of(sql, task_id) == 1
    assert peon_status(sql, "impatient") == "OFFLINE"
    assert "returned to PENDING" in peon.output


def test_second_sigterm_stops_at_once(
    procs: ProcGroup, producer: Workcraft, executions: Sql, db_config: DBConfig, tmp_path: Path
) -> None:
    sql = executions
    write_settings(tmp_path, PEON_SHUTDOWN_GRACE_SECONDS=60)
    peon = procs.peon("twice")
    task_id = producer.send_task_sync("sleep", [30], db_config=db_config)
    wait_for_status(sql, task_id, "RUNNING", procs)
    peon.send(SIGTERM)
    peon.wait_for_output("no more claims", timeout=10)
    time.sleep(0.3)
    assert peon.returncode is None, "the first SIGTERM must wait for the task"
    started = time.monotonic()
    peon.send(SIGTERM)

    assert peon.wait(10) == 0, peon.describe()
    assert time.monotonic() - started < 5, peon.describe()
    row = task_row(sql, task_id)
    assert row["status"] == "PENDING"
    assert row["worker_id"] is None
    assert peon_status(sql, "twice") == "OFFLINE"


# -- command line ---------------------------------------------------------------------------------
def test_burst_exits_when_the_queue_is_empty(procs: ProcGroup, sql: Sql) -> None:
    peon = procs.peon("bursty", "--burst")
    assert peon.wait(20) == 0, peon.describe()
    assert peon_status(sql, "bursty") == "OFFLINE"


def test_queues_only_takes_from_the_named_queues(
    procs: ProcGroup, producer: Workcraft, sql: Sql, db_config: DBConfig
) -> None:
    ids = {
        queue: producer.send_task_sync("add", [1, 2], queue=queue, db_config=db_config)
        for queue in ("DEFAULT", "high", "low", "other")
    }
    peon = procs.peon("choosy", "--queues", "high", "--queues", "low", "--burst")
    assert peon.wait(30) == 0, peon.describe()
    statuses = {queue: task_row(sql, task_id)["status"] for queue, task_id in ids.items()}
    assert statuses == {
        "DEFAULT": "PENDING",
        "high": "SUCCESS",
        "low": "SUCCESS",
        "other": "PENDING",
    }
    choosy = peon_row(sql, "choosy")
    assert choosy is not None
    queues = str(choosy["queues"])
    assert "high" in queues
    assert "low" in queues
    assert "DEFAULT" not in queues


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("tests.apps.does_not_exist.app", "no module named 'tests.apps.does_not_exist'"),
        ("tests.apps.basic.missing", "has no 'missing'"),
        ("tests.apps.basic.NOT_AN_APP", "not a workcraft app"),
        ("nodots", "must look like MODULE.ATTRIBUTE"),
    ],
)
def test_bad_workcraft_path(procs: ProcGroup, path: str, expected: str) -> None:
    peon = procs.peon("lost", app=path)
    assert peon.wait(30) == 2, peon.describe()
    line = one_line(peon.stderr)
    assert expected in line
    assert "Traceback" not in peon.output


def test_peon_without_tables(
    proc_groups: Callable[..., ProcGroup], tmp_path: Path, empty_db_config: DBConfig
) -> None:
    conn: Any = admin_connection()
    try:
        cur = conn.cursor()
        cur.execute("CREATE DATABASE " + quote_identifier(empty_db_config.database))
    finally:
        conn.close()
    write_settings(tmp_path)
    group = proc_groups(empty_db_config)
    peon = group.peon("early")
    assert peon.wait(30) == 2, peon.describe()
    line = one_line(peon.stderr)
    assert "setup_database_tables" in line
    assert "Traceback" not in peon.output
