"""Two janitors' sweeps interleaved, in the test process: a leader that froze in the middle
of a sweep and wakes after another took over cannot undo the new leader's work. Every
sweep UPDATE re-checks the condition it acts on (status, attempt, heartbeat), and a frozen
connection's open transaction is rolled back by the server, releasing its locks."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator

import pytest

from tests.support.sql import Sql
from workcraft.config.settings import Settings
from workcraft.data import Database, RetryPolicy, Store
from workcraft.db import DBConfig
from workcraft.janitor.sweeps import DeadPeons, ReopenFailed, SelfCorrect

SETTINGS = Settings(DB_PEON_HEARTBEAT_INTERVAL=1, DB_SETUP_WAIT_TIME_BEFORE_WORKER_DECLARED_DEAD=3)


@pytest.fixture
def stores(db_config: DBConfig) -> Iterator[tuple[Store, Store]]:
    old = Database(db_config).store("old-leader", RetryPolicy(give_up_after=1))
    new = Database(db_config).store("new-leader", RetryPolicy(give_up_after=1))
    yield old, new
    old.close()
    new.close()


def running(sql: Sql, worker: str, session: str, attempt: int = 1) -> str:
    task_id = str(uuid.uuid4())
    sql.run(
        "INSERT INTO bountyboard (id, task_name, status, worker_id, peon_session, attempt,"
        " started_at) VALUES (%s, 'job', 'RUNNING', %s, %s, %s, NOW(6))",
        (task_id, worker, session, attempt),
    )
    return task_id


def test_a_stale_requeue_cannot_touch_the_next_attempt(
    stores: tuple[Store, Store], sql: Sql
) -> None:
    old, new = stores
    task_id = running(sql, "gone", "s-gone")
    # Both leaders saw the same orphan (attempt 1). The new one requeues it; a peon claims it.
    (seen,) = old.call(lambda q: q.janitor.orphaned_running(batch=10))
    assert SelfCorrect(new, SETTINGS).run_once().counts == {"tasks_requeued": 1}
    sql.run(
        "UPDATE bountyboard SET status = 'RUNNING', worker_id = 'p2', peon_session = 's2',"
        " attempt = attempt + 1 WHERE id = %s",
        (task_id,),
    )
    # The old leader wakes and carries on with what it had read.
    assert not old.call(lambda q: q.janitor.requeue(seen))
    assert not old.call(lambda q: q.janitor.fail_crashed(seen, '{"error_type": "X"}'))
    row = sql.rows("SELECT status, worker_id, attempt, crash_count FROM bountyboard")[0]
    assert row == {"status": "RUNNING", "worker_id": "p2", "attempt": 2, "crash_count": 1}


def test_a_stale_death_verdict_misses_a_peon_that_came_back(
    stores: tuple[Store, Store], sql: Sql
) -> None:
    old, _ = stores
    sql.run(
        "INSERT INTO peon (id, status, last_heartbeat, session)"
        " VALUES ('flaky', 'IDLE', NOW(6) - INTERVAL 1 HOUR, 's')"
    )
    (seen,) = old.call(lambda q: q.janitor.silent_peons(now=None, threshold=3, batch=10))
    sql.run("UPDATE peon SET last_heartbeat = NOW(6) WHERE id = 'flaky'")  # it beat again
    assert not old.call(lambda q: q.janitor.declare_dead(peon_id=seen.id, now=None, threshold=3))
    assert sql.value("SELECT status FROM peon WHERE id = 'flaky'") == "IDLE"


def test_a_stale_reopen_misses_a_task_that_already_ran_again(
    stores: tuple[Store, Store], sql: Sql
) -> None:
    old, new = stores
    task_id = str(uuid.uuid4())
    sql.run(
        "INSERT INTO bountyboard (id, task_name, status, retry_on_failure, retry_count,"
        " finished_at) VALUES (%s, 'job', 'FAILURE', 1, 1, NOW(6) - INTERVAL 1 HOUR)",
        (task_id,),
    )
    settings = SETTINGS.with_overrides(DB_SETUP_BACKOFF_MULTIPLIER_SECONDS=1)
    assert ReopenFailed(new, settings).run_once().counts == {"tasks_reopened": 1}
    sql.run("UPDATE bountyboard SET status = 'SUCCESS' WHERE id = %s", (task_id,))
    assert not old.call(lambda q: q.janitor.reopen(task_id, None))
    assert sql.value("SELECT status FROM bountyboard WHERE id = %s", (task_id,)) == "SUCCESS"


def test_a_frozen_sweeps_locks_go_when_the_server_closes_its_connection(
    db_config: DBConfig, sql: Sql
) -> None:
    """The old leader froze inside its sweep transaction, holding row locks. Its session
    timeout ends the connection: the transaction rolls back and the new leader sweeps."""
    frozen = Database(db_config).store("frozen", RetryPolicy(give_up_after=0), idle_timeout=1)
    sql.run(
        "INSERT INTO peon (id, status, last_heartbeat, session)"
        " VALUES ('stiff', 'WORKING', NOW(6) - INTERVAL 1 HOUR, 's')"
    )
    task_id = running(sql, "stiff", "s")
    conn = frozen._connection()  # the sweep's own connection, mid-transaction
    cur = conn.cursor()
    conn.start_transaction()
    cur.execute("SELECT id FROM peon WHERE id = 'stiff' FOR UPDATE")
    cur.fetchall()
    cur.execute("UPDATE bountyboard SET crash_count = 99 WHERE id = %s", (task_id,))
    # ... and freezes. The new leader cannot have the rows yet (SKIP LOCKED: nothing to do).
    with Store(db_config, name="new") as new:
        assert DeadPeons(new, SETTINGS, restart_grace=False).run_once(now=None).counts == {}
        deadline = dt.datetime.now() + dt.timedelta(seconds=10)
        while True:  # the server ends the silent session after its wait_timeout (1 s)
            result = DeadPeons(new, SETTINGS, restart_grace=False).run_once(now=None)
            if result.counts:
                break
            assert dt.datetime.now() < deadline, "the frozen session was never closed"
    assert result.counts == {"peons_declared_dead": 1, "tasks_requeued": 1}
    row = sql.rows("SELECT status, crash_count FROM bountyboard WHERE id = %s", (task_id,))[0]
    assert row == {"status": "PENDING", "crash_count": 1}  # the frozen UPDATE was rolled back
    frozen.close()
