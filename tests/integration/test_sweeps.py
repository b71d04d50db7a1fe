"""The janitor's sweeps, in process, against the real database.

Rows are arranged with raw SQL; time moves by backdating rows or by passing ``now=`` to
``run_once`` (a naive UTC datetime), never by sleeping.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.rows import task_row
from tests.support.sql import Sql, admin_connection
from workcraft.config.settings import Settings
from workcraft.data import Store, queries
from workcraft.data.ddl import quote_identifier
from workcraft.db import DBConfig
from workcraft.janitor.sweeps import DeadPeons, ReopenFailed, SelfCorrect, Sweep
from workcraft.janitor.totals import CountFinished

DEAD_AFTER = 60
SETTINGS = Settings(
    DB_PEON_HEARTBEAT_INTERVAL=5,
    DB_SETUP_WAIT_TIME_BEFORE_WORKER_DECLARED_DEAD=DEAD_AFTER,
    DB_SETUP_BACKOFF_MULTIPLIER_SECONDS=30,
    DB_SETUP_BACKOFF_MAX_SECONDS=100,
    TASK_MAX_CRASHES=3,
)
# A fixed moment for rows whose time the test controls through ``now=``.
T0 = dt.datetime(2030, 1, 1, 12, 0, 0)


class Sweeps:
    def __init__(self, db_config: DBConfig, settings: Settings) -> None:
        self.stores = [Store(db_config, name=f"test-{i}") for i in range(3)]
        # Rows are backdated, so a shared server restarted a minute ago must not hide them
        # behind the restart grace (tested on its own in test_faults).
        self.dead = DeadPeons(self.stores[0], settings, restart_grace=False)
        self.self_correct = SelfCorrect(self.stores[1], settings)
        self.reopen = ReopenFailed(self.stores[2], settings)

    @property
    def all(self) -> list[Sweep]:
        return [self.dead, self.self_correct, self.reopen]

    def close(self) -> None:
        for store in self.stores:
            store.close()


@pytest.fixture
def sweeps(db_config: DBConfig) -> Iterator[Sweeps]:
    built = Sweeps(db_config, SETTINGS)
    yield built
    built.close()


# -- arranging rows -------------------------------------------------------------------------
def add_peon(
    sql: Sql,
    peon_id: str,
    status: str = "WORKING",
    silent_for: float = 0.0,
    current_task: str | None = None,
    concurrency: int = 1,
    running_tasks: int = 0,
) -> str:
    """A peon row whose last heartbeat was ``silent_for`` seconds ago; returns its session."""
    session = str(uuid.uuid4())
    sql.run(
        "INSERT INTO peon (id, status, last_heartbeat, current_task, queues, session,"
        " concurrency, running_tasks, started_at)"
        " VALUES (%s, %s, NOW(6) - INTERVAL %s MICROSECOND, %s, '[\"DEFAULT\"]', %s, %s, %s,"
        " NOW(6) - INTERVAL 1 HOUR)",
        (
            peon_id,
            status,
            round(silent_for * 1_000_000),
            current_task,
            session,
            concurrency,
            running_tasks,
        ),
    )
    return session


def add_task(
    sql: Sql,
    status: str = "PENDING",
    worker_id: str | None = None,
    session: str | None = None,
    attempt: int = 0,
    crash_count: int = 0,
    retry_on_failure: bool = False,
    retry_count: int = 0,
    retry_limit: int = 3,
    finished_at: dt.datetime | None = None,
    task_name: str = "job",
    task_id: str | None = None,
) -> str:
    task_id = task_id or str(uuid.uuid4())
    sql.run(
        "INSERT INTO bountyboard (id, status, task_name, worker_id, peon_session, attempt,"
        " crash_count, retry_on_failure, retry_count, retry_limit, started_at, finished_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
        " IF(%s = 'PENDING', NULL, NOW(6)), %s)",
        (
            task_id,
            status,
            task_name,
            worker_id,
            session,
            attempt,
            crash_count,
            int(retry_on_failure),
            retry_count,
            retry_limit,
            status,
            finished_at,
        ),
    )
    return task_id


def running_task(sql: Sql, worker_id: str, session: str | None, **kw: Any) -> str:
    return add_task(sql, status="RUNNING", worker_id=worker_id, session=session, attempt=1, **kw)


def peon(sql: Sql, peon_id: str) -> dict[str, Any]:
    rows = sql.rows("SELECT * FROM peon WHERE id = %s", (peon_id,))
    assert rows, f"no peon {peon_id}"
    return rows[0]


def status(sql: Sql, task_id: str) -> str:
    return str(task_row(sql, task_id)["status"])


def logs(sql: Sql) -> list[str]:
    return [str(row["message"]) for row in sql.rows("SELECT message FROM logs ORDER BY id")]


def snapshot(sql: Sql) -> tuple[list[dict[str, Any]], ...]:
    return (
        sql.rows("SELECT * FROM bountyboard ORDER BY id"),
        sql.rows("SELECT * FROM peon ORDER BY id"),
        sql.rows("SELECT * FROM logs ORDER BY id"),
    )


def fail(sql: Sql, task_id: str, finished_at: dt.datetime) -> None:
    """What a peon's fenced completion does for a run that raised."""
    sql.run(
        "UPDATE bountyboard SET status = 'FAILURE', retry_count = retry_count + 1,"
        ' finished_at = %s, result = \'{"error_type": "ValueError"}\''
        " WHERE id = %s AND status = 'RUNNING'",
        (finished_at, task_id),
    )


def claim(sql: Sql, task_id: str, worker_id: str = "p1") -> int:
    """What a peon's claim does: PENDING -> RUNNING under ``worker_id``."""
    return sql.run(
        "UPDATE bountyboard SET status = 'RUNNING', worker_id = %s, attempt = attempt + 1,"
        " started_at = NOW(6), finished_at = NULL WHERE id = %s AND status = 'PENDING'",
        (worker_id, task_id),
    )


def server_now(sql: Sql) -> dt.datetime:
    """The database clock (UTC, naive), which is what ``now=None`` means to a sweep."""
    value = sql.value("SELECT NOW(6)")
    assert isinstance(value, dt.datetime)
    return value


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


# -- reopen failed: the backoff -------------------------------------------------------------
def test_backoff_is_computed_once_by_the_database_and_capped(sql: Sql, sweeps: Sweeps) -> None:
    """The backoff the log line shows is the one the query applied (no second formula)."""
    for n in (1, 2, 3, 4, 10):
        add_task(
            sql,
            status="FAILURE",
            retry_on_failure=True,
            retry_count=n,
            retry_limit=20,
            finished_at=T0,
        )
    due = sweeps.stores[2].call(
        lambda q: q.janitor.retries_due(
            now=at(10_000), multiplier=30, cap=100, max_crashes=3, batch=10
        )
    )
    assert sorted((task.retry_count, task.backoff_s) for task in due) == [
        (1, 30),
        (2, 60),
        (3, 100),
        (4, 100),
        (10, 100),
    ]


def test_reopen_waits_for_the_exponential_backoff_with_a_cap(sql: Sql, sweeps: Sweeps) -> None:
    # min(30 * 2^(retry_count - 1), 100): 30 s, 60 s, then the cap 100 s (not 120, not 240).
    ids = {
        n: add_task(
            sql,
            status="FAILURE",
            worker_id="p1",
            attempt=n,
            retry_on_failure=True,
            retry_count=n,
            retry_limit=5,
            finished_at=T0,
        )
        for n in (1, 2, 3, 4)
    }

    def pending() -> set[int]:
        return {n for n, task_id in ids.items() if status(sql, task_id) == "PENDING"}

    expected_after = [
        (0, set()),
        (29, set()),
        (31, {1}),
        (59, {1}),
        (61, {1, 2}),
        (99, {1, 2}),
        (101, {1, 2, 3, 4}),
    ]
    for seconds, expected in expected_after:
        sweeps.reopen.run_once(now=at(seconds))
        assert pending() == expected, f"{seconds} s after the failure"

    for n, task_id in ids.items():
        row = task_row(sql, task_id)
        assert row["status"] == "PENDING"
        assert row["worker_id"] is None
        assert row["peon_session"] is None
        assert row["retry_count"] == n  # reopening does not count as a retry

    lines = logs(sql)
    assert len(lines) == 4
    for n, task_id in ids.items():
        (line,) = [line for line in lines if task_id in line]
        assert "reopened" in line
        assert f"retry {n} of 5" in line
        assert f"backoff {min(30 * 2 ** (n - 1), 100)} s" in line


def test_reopen_log_line_is_readable(sql: Sql, sweeps: Sweeps) -> None:
    task_id = add_task(
        sql,
        status="FAILURE",
        worker_id="p1",
        retry_on_failure=True,
        retry_count=1,
        finished_at=T0,
        task_name="send_email",
    )
    result = sweeps.reopen.run_once(now=at(31))
    assert result.counts == {"tasks_reopened": 1}
    assert logs(sql) == [
        f"Task {task_id} (send_email) reopened for retry 1 of 3 after 31 s (backoff 30 s)"
    ]
    assert result.messages == logs(sql)


def test_rows_without_retries_left_are_never_reopened(sql: Sql, sweeps: Sweeps) -> None:
    no_retry = add_task(sql, status="FAILURE", worker_id="p1", retry_count=1, finished_at=T0)
    exhausted = add_task(
        sql,
        status="FAILURE",
        worker_id="p1",
        retry_on_failure=True,
        retry_count=4,
        retry_limit=3,
        finished_at=T0,
    )
    invalid = add_task(
        sql,
        status="INVALID",
        worker_id="p1",
        retry_on_failure=True,
        retry_count=0,
        finished_at=T0,
    )
    success = add_task(sql, status="SUCCESS", worker_id="p1", retry_on_failure=True, finished_at=T0)
    last_retry = add_task(
        sql,
        status="FAILURE",
        worker_id="p1",
        retry_on_failure=True,
        retry_count=3,
        retry_limit=3,
        finished_at=T0,
    )
    before = {
        task_id: task_row(sql, task_id) for task_id in (no_retry, exhausted, invalid, success)
    }

    result = sweeps.reopen.run_once(now=at(10 * 24 * 3600))

    assert result.counts == {"tasks_reopened": 1}
    assert status(sql, last_retry) == "PENDING"  # retry_count == retry_limit: one more run
    for task_id, row in before.items():
        assert task_row(sql, task_id) == row
    assert len(logs(sql)) == 1


def test_retry_limit_3_means_at_most_4_runs(sql: Sql, sweeps: Sweeps) -> None:
    task_id = add_task(sql, retry_on_failure=True, retry_limit=3)
    runs = 0
    for _ in range(10):  # bounded: a bug must not loop forever
        if status(sql, task_id) != "PENDING":
            break
        assert claim(sql, task_id) == 1
        runs += 1
        fail(sql, task_id, finished_at=T0)
        sweeps.reopen.run_once(now=at(24 * 3600))
    assert runs == 4
    row = task_row(sql, task_id)
    assert row["status"] == "FAILURE"
    assert row["retry_count"] == 4
    assert len(logs(sql)) == 3  # three reopenings


# -- dead peons -----------------------------------------------------------------------------
@pytest.mark.parametrize("peon_status", ["IDLE", "PREPARING", "WORKING"])
def test_silent_peon_in_any_live_status_is_declared_dead(
    sql: Sql, sweeps: Sweeps, peon_status: str
) -> None:
    session = add_peon(sql, "dead-1", status=peon_status, silent_for=70)
    first = running_task(sql, "dead-1", session, task_name="resize")
    second = running_task(sql, "dead-1", session, task_name="resize")
    done = add_task(sql, status="SUCCESS", worker_id="dead-1", session=session, attempt=1)

    result = sweeps.dead.run_once()

    assert result.counts == {"peons_declared_dead": 1, "tasks_requeued": 2}
    row = peon(sql, "dead-1")
    assert row["status"] == "OFFLINE"
    assert row["current_task"] is None
    for task_id in (first, second):
        moved = task_row(sql, task_id)
        assert moved["status"] == "PENDING"
        assert moved["worker_id"] is None
        assert moved["peon_session"] is None
        assert moved["crash_count"] == 1
    assert status(sql, done) == "SUCCESS"

    lines = logs(sql)
    assert len(lines) == 3
    assert "dead-1" in lines[0]
    assert "70 s" in lines[0]
    assert peon_status in lines[0]
    for task_id in (first, second):
        (line,) = [line for line in lines if task_id in line]
        assert "reset to PENDING" in line
        assert "dead-1" in line
        assert "70 s" in line


def test_fresh_and_offline_peons_are_left_alone(sql: Sql, sweeps: Sweeps) -> None:
    live_task = str(uuid.uuid4())
    fresh_session = add_peon(sql, "fresh", status="WORKING", current_task=live_task)
    running_task(sql, "fresh", fresh_session, task_id=live_task)
    add_peon(sql, "almost", status="IDLE", silent_for=DEAD_AFTER - 5)
    add_peon(sql, "gone", status="OFFLINE", silent_for=3600)
    before = snapshot(sql)

    result = sweeps.dead.run_once()

    assert result.total == 0
    assert snapshot(sql) == before


def test_now_moves_the_dead_peon_clock(sql: Sql, sweeps: Sweeps) -> None:
    add_peon(sql, "p", status="IDLE", silent_for=0)
    now = server_now(sql)
    assert sweeps.dead.run_once(now=now + dt.timedelta(seconds=55)).total == 0
    assert peon(sql, "p")["status"] == "IDLE"
    assert sweeps.dead.run_once(now=now + dt.timedelta(seconds=65)).counts == {
        "peons_declared_dead": 1
    }
    assert peon(sql, "p")["status"] == "OFFLINE"


# -- self-correct ---------------------------------------------------------------------------
def test_self_correct_requeues_tasks_no_live_peon_is_running(sql: Sql, sweeps: Sweeps) -> None:
    # Owner has no peon row at all.
    ghost_task = running_task(sql, "ghost", str(uuid.uuid4()))
    # Owner is OFFLINE (its heartbeat is fresh: this is not the dead-peon sweep's case).
    offline_session = add_peon(sql, "offline", status="OFFLINE")
    offline_task = running_task(sql, "offline", offline_session)
    # Owner id was taken over by another process (new session).
    add_peon(sql, "reborn", status="IDLE")
    old_session_task = running_task(sql, "reborn", str(uuid.uuid4()))
    # A one-slot owner that is busy with another task (which it is really running).
    live_task = str(uuid.uuid4())
    busy_session = add_peon(sql, "busy", status="WORKING", current_task=live_task)
    running_task(sql, "busy", busy_session, task_id=live_task)
    stale_task = running_task(sql, "busy", busy_session)
    # A one-slot owner that is IDLE (current_task NULL) yet owns a RUNNING task.
    idle_session = add_peon(sql, "idle", status="IDLE")
    idle_task = running_task(sql, "idle", idle_session)

    result = sweeps.self_correct.run_once()

    assert result.counts == {"tasks_requeued": 5}
    for task_id in (ghost_task, offline_task, old_session_task, stale_task, idle_task):
        row = task_row(sql, task_id)
        assert row["status"] == "PENDING", task_id
        assert row["worker_id"] is None
        assert row["crash_count"] == 1
    assert status(sql, live_task) == "RUNNING"
    assert task_row(sql, live_task)["worker_id"] == "busy"

    lines = logs(sql)
    assert len(lines) == 5

    def line_for(task_id: str) -> str:
        (line,) = [line for line in lines if task_id in line]
        assert "reset to PENDING" in line
        return line

    assert "peon row missing" in line_for(ghost_task)
    assert "ghost" in line_for(ghost_task)
    assert "OFFLINE" in line_for(offline_task)
    assert "taken over" in line_for(old_session_task)
    assert "is not running it" in line_for(stale_task)


def test_self_correct_uses_the_running_list_of_multi_slot_peons(sql: Sql, sweeps: Sweeps) -> None:
    """A live peon with 4 slots lists the tasks it runs; a RUNNING row it does not list
    (a lost outcome, a bug) goes back to PENDING, fenced as always; listed ones stay."""
    session = add_peon(sql, "wide", status="WORKING", concurrency=4, running_tasks=2)
    listed = [running_task(sql, "wide", session) for _ in range(2)]
    lost = running_task(sql, "wide", session)
    sql.run(
        "UPDATE peon SET running_ids = %s WHERE id = 'wide'",
        (json.dumps(listed),),
    )
    result = sweeps.self_correct.run_once()
    assert result.counts == {"tasks_requeued": 1}
    assert status(sql, lost) == "PENDING"
    assert [status(sql, task_id) for task_id in listed] == ["RUNNING", "RUNNING"]
    assert sweeps.self_correct.run_once().counts == {}  # idempotent


@pytest.mark.parametrize("concurrency", [1, 4])
def test_a_task_a_live_peon_is_running_is_never_touched(
    sql: Sql, sweeps: Sweeps, concurrency: int
) -> None:
    ids = [str(uuid.uuid4()) for _ in range(concurrency)]
    session = add_peon(
        sql,
        "live",
        status="WORKING",
        current_task=ids[0],
        concurrency=concurrency,
        running_tasks=concurrency,
    )
    for task_id in ids:
        running_task(sql, "live", session, task_id=task_id)
    before = snapshot(sql)

    for sweep in sweeps.all:
        assert sweep.run_once().total == 0
        # Also when the janitor's clock is a little ahead, within the dead threshold.
        assert sweep.run_once(now=server_now(sql) + dt.timedelta(seconds=30)).total == 0

    assert snapshot(sql) == before


# -- poison pill ----------------------------------------------------------------------------
@pytest.mark.parametrize("how", ["dead_peon", "offline_peon"])
def test_task_that_keeps_killing_its_peon_fails(sql: Sql, sweeps: Sweeps, how: str) -> None:
    if how == "dead_peon":
        session = add_peon(sql, "victim", status="WORKING", silent_for=DEAD_AFTER + 10)
        sweep: Sweep = sweeps.dead
    else:
        session = add_peon(sql, "victim", status="OFFLINE")
        sweep = sweeps.self_correct
    poison = running_task(
        sql,
        "victim",
        session,
        crash_count=SETTINGS.TASK_MAX_CRASHES - 1,
        retry_on_failure=True,
        task_name="segfaulter",
    )
    sql.run("UPDATE peon SET current_task = %s WHERE id = 'victim'", (poison,))

    result = sweep.run_once()

    assert result.counts.get("failed_poison_pill") == 1
    assert "tasks_requeued" not in result.counts
    row = task_row(sql, poison)
    assert row["status"] == "FAILURE"
    assert row["crash_count"] == SETTINGS.TASK_MAX_CRASHES
    assert row["finished_at"] is not None
    outcome = json.loads(str(row["result"]))
    assert outcome["error_type"] == "PeonCrashed"
    assert f"{SETTINGS.TASK_MAX_CRASHES} times" in outcome["message"]
    assert "died" in outcome["message"]
    (line,) = [line for line in logs(sql) if poison in line]
    assert "FAILURE" in line
    assert f"{SETTINGS.TASK_MAX_CRASHES} times" in line

    # retry_on_failure does not bring a poison pill back, however long we wait.
    assert sweeps.reopen.run_once(now=server_now(sql) + dt.timedelta(days=30)).total == 0
    assert status(sql, poison) == "FAILURE"


def test_task_below_the_crash_limit_is_requeued(sql: Sql, sweeps: Sweeps) -> None:
    session = add_peon(sql, "victim", status="WORKING", silent_for=DEAD_AFTER + 10)
    task_id = running_task(sql, "victim", session, crash_count=SETTINGS.TASK_MAX_CRASHES - 2)
    assert sweeps.dead.run_once().counts == {"peons_declared_dead": 1, "tasks_requeued": 1}
    row = task_row(sql, task_id)
    assert row["status"] == "PENDING"
    assert row["crash_count"] == SETTINGS.TASK_MAX_CRASHES - 1


# -- idempotency ----------------------------------------------------------------------------
def test_every_sweep_is_idempotent(sql: Sql, sweeps: Sweeps) -> None:
    dead_session = add_peon(sql, "dead", status="WORKING", silent_for=DEAD_AFTER + 10)
    running_task(sql, "dead", dead_session)
    running_task(sql, "dead", dead_session, crash_count=SETTINGS.TASK_MAX_CRASHES - 1)
    running_task(sql, "ghost", str(uuid.uuid4()))
    offline_session = add_peon(sql, "offline", status="OFFLINE")
    running_task(sql, "offline", offline_session)
    live_task = str(uuid.uuid4())
    live_session = add_peon(sql, "live", status="WORKING", current_task=live_task)
    running_task(sql, "live", live_session, task_id=live_task)
    for n in (1, 2, 3):
        add_task(
            sql,
            status="FAILURE",
            worker_id="x",
            retry_on_failure=True,
            retry_count=n,
            finished_at=T0,
        )
    now = at(365 * 24 * 3600)

    first = {
        sweep.name: sweep.run_once(now=now if sweep is sweeps.reopen else None).total
        for sweep in sweeps.all
    }
    assert first == {"dead_peons": 3, "self_correct": 2, "reopen_failed": 3}
    after_first = snapshot(sql)

    for sweep in sweeps.all:
        again = sweep.run_once(now=now if sweep is sweeps.reopen else None)
        assert again.total == 0, again
        assert again.counts == {}
        assert again.messages == []
    assert snapshot(sql) == after_first


def test_sweeps_work_in_batches(sql: Sql, db_config: DBConfig) -> None:
    small = Settings(
        DB_PEON_HEARTBEAT_INTERVAL=5,
        DB_SETUP_WAIT_TIME_BEFORE_WORKER_DECLARED_DEAD=DEAD_AFTER,
        JANITOR_SWEEP_BATCH_SIZE=3,
    )
    for n in range(10):
        running_task(sql, f"ghost-{n}", str(uuid.uuid4()))
    with Store(db_config) as store:
        result = SelfCorrect(store, small).run_once()
    assert result.counts == {"tasks_requeued": 10}
    assert sql.value("SELECT COUNT(*) FROM bountyboard WHERE status = 'PENDING'") == 10


# -- query plans ----------------------------------------------------------------------------
def fill_for_explain(sql: Sql) -> None:
    """A few thousand tasks and peons in the statuses a long-running system accumulates."""
    conn: Any = sql.conn
    cur = conn.cursor()
    peons = []
    for n in range(2000):
        state = "OFFLINE" if n < 1850 else ("IDLE", "WORKING", "PREPARING")[n % 3]
        peons.append((f"peon-{n}", state, f"s-{n}"))
    cur.executemany(
        "INSERT INTO peon (id, status, last_heartbeat, session) VALUES (%s, %s,"
        " NOW(6) - INTERVAL 1 SECOND, %s)",
        peons,
    )
    tasks = []
    mix = ["SUCCESS"] * 12 + ["PENDING"] * 4 + ["FAILURE"] * 2 + ["RUNNING", "INVALID"]
    now = server_now(sql)
    for n in range(4000):
        state = mix[n % len(mix)]
        worker = None if state == "PENDING" else f"peon-{n % 2000}"
        # Finished over the last ~3 hours: some failures are due for a retry, some not yet.
        finished = None if state in ("PENDING", "RUNNING") else now - dt.timedelta(seconds=3 * n)
        tasks.append((str(uuid.uuid4()), state, worker, f"s-{n % 2000}", n % 2, finished))
    cur.executemany(
        "INSERT INTO bountyboard (id, status, task_name, worker_id, peon_session,"
        " retry_on_failure, finished_at) VALUES (%s, %s, 'job', %s, %s, %s, %s)",
        tasks,
    )
    for table in ("peon", "bountyboard"):
        cur.execute("ANALYZE TABLE " + quote_identifier(table))
        cur.fetchall()
    cur.close()


def explain(
    sql: Sql, name: str, params: dict[str, Any] | list[Any], **expansions: int
) -> list[dict[str, Any]]:
    statement = queries.statement(name, **expansions)
    conn: Any = sql.conn
    cur = conn.cursor(dictionary=True)
    cur.execute("EXPLAIN " + statement, params)
    rows = list(cur.fetchall())
    cur.close()
    return rows


# Indexes that start with status: the RUNNING range of either is every peon's running tasks.
STATUS_INDEXES = ("ix_bountyboard_ready", "ix_bountyboard_status_created")
LOCKING = ("dead_peons", "orphaned_running_tasks", "failed_tasks_due")
EXPLAINED = {
    "dead_peons": ("peon", {"now": None, "threshold_us": 60_000_000, "batch": 500}),
    "orphaned_running_tasks": ("b", {"batch": 500}),
    "failed_tasks_due": (
        "bountyboard",
        {
            "now": None,
            "min_backoff_us": 30_000_000,
            "multiplier_us": 30_000_000,
            "max_us": 3_600_000_000,
            "max_crashes": 3,
            "batch": 500,
        },
    ),
    "running_ids_of_peon": ("bountyboard", {"worker_id": "peon-1999"}),
}


def test_sweep_queries_use_an_index(sql: Sql) -> None:
    fill_for_explain(sql)
    plans = {}
    for name, (table, params) in EXPLAINED.items():
        if name in LOCKING:  # the plan of the statement the sweep really sends
            assert "FOR UPDATE" in queries.statement(name), name
        rows = explain(sql, name, params)
        plans[name] = rows
        driving = rows[0]
        assert driving["table"] == table, (name, rows)
        assert driving["type"] in ("range", "ref"), (name, rows)
        assert driving["key"], (name, rows)
        for row in rows:
            assert row["type"] != "ALL", (name, rows)
    # The join to the peon row is by primary key.
    joined = [row for row in plans["orphaned_running_tasks"] if row["table"] == "p"]
    assert joined and joined[0]["type"] == "eq_ref", plans["orphaned_running_tasks"]
    # A dead peon's rows are found in the RUNNING range, then locked by primary key only.
    assert plans["running_ids_of_peon"][0]["key"] in STATUS_INDEXES, plans
    assert "FOR UPDATE" in queries.statement("running_tasks_of_peon", ids=2)
    locked = explain(sql, "running_tasks_of_peon", ["a", "b", "peon-1999"], ids=2)
    assert (locked[0]["type"], locked[0]["key"]) == ("range", "PRIMARY"), locked


def test_self_correct_never_reads_a_locked_peon_row_as_missing(
    db_config: DBConfig, sql: Sql
) -> None:
    """While a live peon holds its own row (mid-transaction), the sweep must wait (bounded)
    rather than skip the row: a skipped row would LEFT JOIN as NULL, "peon row missing"."""
    from workcraft.data import RetryPolicy
    from workcraft.errors import DatabaseUnavailable

    task_id = str(uuid.uuid4())
    sql.run(
        "INSERT INTO peon (id, status, last_heartbeat, current_task, session, concurrency) "
        "VALUES ('busy', 'WORKING', NOW(6), %s, 's1', 1)",
        (task_id,),
    )
    sql.run(
        "INSERT INTO bountyboard (id, task_name, status, worker_id, peon_session, attempt) "
        "VALUES (%s, 't', 'RUNNING', 'busy', 's1', 1)",
        (task_id,),
    )
    holder = admin_connection(db_config, db_config.database)
    cur = holder.cursor()  # type: ignore[attr-defined]
    cur.execute("START TRANSACTION")
    cur.execute("SELECT id FROM peon WHERE id = 'busy' FOR UPDATE")
    cur.fetchall()
    store = Store(db_config, RetryPolicy(give_up_after=1.5), lock_wait_timeout=1)
    try:
        with pytest.raises(DatabaseUnavailable):  # lock wait timeouts, retried, then given up
            SelfCorrect(store, SETTINGS).run_once()
    finally:
        holder.rollback()  # type: ignore[attr-defined]
        holder.close()  # type: ignore[attr-defined]
        store.close()
    assert sql.value("SELECT status FROM bountyboard WHERE id = %s", (task_id,)) == "RUNNING"
    assert sql.value("SELECT COUNT(*) FROM logs") == 0


def test_a_huge_retry_count_does_not_stall_the_reopen_sweep(sql: Sql, sweeps: Sweeps) -> None:
    """2^(n-1) overflows a DOUBLE past ~1,000 retries; the exponent is capped, so one such
    row (plain SQL can write any count) neither fails the sweep nor stalls the others."""
    huge = add_task(
        sql,
        status="FAILURE",
        retry_on_failure=True,
        retry_count=5000,
        retry_limit=100_000,
        finished_at=T0,
    )
    normal = [
        add_task(sql, status="FAILURE", retry_on_failure=True, retry_count=1, finished_at=T0)
        for _ in range(3)
    ]
    result = sweeps.reopen.run_once(now=at(101))  # past the 100 s cap
    assert result.counts == {"tasks_reopened": 4}
    assert {status(sql, task_id) for task_id in [huge, *normal]} == {"PENDING"}


def test_counters_count_final_outcomes_and_never_a_failure_that_will_be_retried(
    sql: Sql, db_config: DBConfig, sweeps: Sweeps
) -> None:
    """The board's FAILURE figure is final failures: a failure waiting for its retry is shown
    as retrying and counted only by the outcome of its last run."""
    add_task(sql, status="SUCCESS", finished_at=at(1))
    add_task(sql, status="FAILURE", finished_at=at(2))  # no retries: final
    add_task(sql, status="FAILURE", retry_on_failure=True, retry_count=4, finished_at=at(3))
    waiting = add_task(
        sql, status="FAILURE", retry_on_failure=True, retry_count=1, finished_at=at(4)
    )
    poison = add_task(  # crashed its peon too often: never reopened, so final
        sql, status="FAILURE", retry_on_failure=True, crash_count=3, finished_at=at(5)
    )
    with Store(db_config, name="counters") as store:
        counters = CountFinished(store, SETTINGS)
        counters.run_once(now=at(60))
        totals = {
            str(row["status"]): int(row["total"])
            for row in sql.rows(
                "SELECT status, SUM(total) AS total FROM task_totals GROUP BY status"
            )
        }
        assert totals == {"SUCCESS": 1, "FAILURE": 3}, (totals, waiting, poison)

        # The waiting one is reopened (not counted), runs again and succeeds: counted then.
        assert sweeps.reopen.run_once(now=at(300)).counts == {"tasks_reopened": 1}
        sql.run(
            "UPDATE bountyboard SET status = 'SUCCESS', finished_at = %s WHERE id = %s",
            (at(400), waiting),
        )
        counters.run_once(now=at(500))
    totals = {
        str(row["status"]): int(row["total"])
        for row in sql.rows("SELECT status, SUM(total) AS total FROM task_totals GROUP BY status")
    }
    assert totals == {"SUCCESS": 2, "FAILURE": 3}
