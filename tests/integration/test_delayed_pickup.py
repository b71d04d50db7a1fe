"""A running peon (its real loop, in a thread of the test process): delayed tasks start no
earlier than their time and within one polling interval after it; priorities decide what a
busy peon takes next."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from tests.support.sql import Sql
from workcraft.config.settings import Settings
from workcraft.core import Workcraft
from workcraft.data import Database
from workcraft.db import DBConfig
from workcraft.peon import Peon, PeonOptions

POLL = 0.2
SETTINGS = Settings(DB_POLLING_INTERVAL=POLL, DB_PEON_HEARTBEAT_INTERVAL=1)


@pytest.fixture
def running_peon(db_config: DBConfig) -> Iterator[Workcraft]:
    app = Workcraft()

    @app.task("noop")
    def noop() -> None: ...

    peon = Peon(app, Database(db_config), SETTINGS, PeonOptions(worker_id="delay-peon"))
    thread = threading.Thread(target=peon.run)
    thread.start()
    try:
        yield app
    finally:
        peon.request_stop()
        thread.join(10)
        app.close()


def wait_final(app: Workcraft, db_config: DBConfig, task_id: str, timeout: float = 10) -> None:
    app.wait_for_task_sync(task_id, db_config, timeout=timeout, poll_interval=0.05)


def test_a_delayed_task_starts_after_its_time_within_one_poll(
    running_peon: Workcraft, db_config: DBConfig, sql: Sql
) -> None:
    lateness = []
    for delay in (0.6, 1.1):
        task_id = running_peon.send_task_sync("noop", delay=delay, db_config=db_config)
        wait_final(running_peon, db_config, task_id)
        (row,) = sql.rows("SELECT run_at, started_at FROM bountyboard WHERE id = %s", (task_id,))
        late = (row["started_at"] - row["run_at"]).total_seconds()
        assert late >= 0, "started before its time"
        lateness.append(late)
    # One polling interval, plus a little for the claim itself on a busy test machine.
    assert max(lateness) <= POLL + 0.25, lateness


def test_a_busy_peon_takes_the_most_urgent_task_next(
    db_config: DBConfig, producer: Workcraft, sql: Sql
) -> None:
    """Enqueued before the peon starts: lower priority runs first, then the earliest."""
    producer.send_tasks_sync(
        [
            {"task_name": "mark", "task_args": [3], "priority": 5},
            {"task_name": "mark", "task_args": [1], "priority": -1},
            {"task_name": "mark", "task_args": [2], "priority": 0},
            {"task_name": "mark", "task_args": [4], "priority": 5},
            {"task_name": "mark", "task_args": [0], "priority": -1, "delay": 3600},
        ],
        db_config=db_config,
    )
    app = Workcraft()
    order: list[int] = []

    @app.task("mark")
    def mark(n: int) -> None:
        order.append(n)

    peon = Peon(app, Database(db_config), SETTINGS, PeonOptions(worker_id="order-peon", burst=True))
    assert peon.run() == 0  # burst: returns once nothing due is left
    assert order == [1, 2, 3, 4]
    assert sql.value("SELECT COUNT(*) FROM bountyboard WHERE status = 'PENDING'") == 1
