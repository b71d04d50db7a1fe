"""A real ``Peon`` driven step by step in the test process, against the real database.

No process start-ups: ``start()`` registers it, ``step()`` runs one pass of its loop (hand in
outcomes, claim), ``shutdown()`` ends it. Task functions are controlled with events.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from tests.support.sql import Sql
from workcraft.config.settings import Settings
from workcraft.core import Workcraft
from workcraft.data import Database
from workcraft.db import DBConfig
from workcraft.peon import IdentityTakenOver, Peon, PeonOptions

SETTINGS = Settings(
    DB_POLLING_INTERVAL=0.05,
    DB_PEON_HEARTBEAT_INTERVAL=0.2,
    DB_SETUP_WAIT_TIME_BEFORE_WORKER_DECLARED_DEAD=5,
    PEON_SHUTDOWN_GRACE_SECONDS=1,
)


class Gate:
    """Lets a test hold a task function until it says go."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def wait(self) -> None:
        self.entered.set()
        assert self.release.wait(10), "the test never released the task"


def make_app(gate: Gate) -> Workcraft:
    app = Workcraft()

    @app.task("add")
    def add(a: int, b: int) -> int:
        return a + b

    @app.task("held")
    def held() -> str:
        gate.wait()
        return "released"

    return app


@pytest.fixture
def gate() -> Iterator[Gate]:
    held = Gate()
    yield held
    held.release.set()  # never leave a worker thread blocked


@pytest.fixture
def make_peon(db_config: DBConfig, gate: Gate) -> Iterator[Callable[..., Peon]]:
    started: list[Peon] = []

    def make(worker_id: str = "p1", concurrency: int = 1) -> Peon:
        options = PeonOptions(worker_id=worker_id, concurrency=concurrency)
        peon = Peon(make_app(gate), Database(db_config), SETTINGS, options)
        assert peon.start()
        started.append(peon)
        return peon

    yield make
    for peon in started:
        peon.shutdown()


def step_until(peon: Peon, done: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "the peon never got there"
        peon.step()
        peon.wake.wait(0.02)


def enqueue(producer: Workcraft, db_config: DBConfig, name: str, *args: int) -> str:
    return producer.send_task_sync(name, list(args), db_config=db_config)


def row(sql: Sql, task_id: str) -> dict[str, object]:
    (found,) = sql.rows("SELECT * FROM bountyboard WHERE id = %s", (task_id,))
    return found


def test_claims_runs_and_writes_outcomes(
    make_peon: Callable[..., Peon], producer: Workcraft, db_config: DBConfig, sql: Sql
) -> None:
    ids = [enqueue(producer, db_config, "add", n, 1) for n in range(3)]
    peon = make_peon(concurrency=2)
    first = peon.step()
    assert len(first.claimed) == 2  # no more than the free slots
    assert {row(sql, t.id)["status"] for t in first.claimed} == {"RUNNING"}
    step_until(peon, lambda: all(row(sql, i)["status"] == "SUCCESS" for i in ids))
    for n, task_id in enumerate(ids):
        done = row(sql, task_id)
        assert done["result"] == str(n + 1)
        assert done["worker_id"] == "p1"
        assert done["attempt"] == 1
    assert peon.tasks_done == 3
    (peon_row,) = sql.rows("SELECT * FROM peon WHERE id = 'p1'")
    assert peon_row["tasks_done"] == 3
    assert peon_row["status"] == "IDLE"


def test_a_step_with_an_injected_now_claims_what_is_due_then(
    make_peon: Callable[..., Peon], producer: Workcraft, db_config: DBConfig, sql: Sql
) -> None:
    """The loop can be stepped at any moment: a task due in an hour is not claimed now, and
    is claimed by a step told that the hour has passed."""
    later = producer.send_task_sync("add", [1, 2], delay=3600, db_config=db_config)
    peon = make_peon()
    assert peon.step().claimed == []
    run_at = sql.value("SELECT run_at FROM bountyboard WHERE id = %s", (later,))
    assert isinstance(run_at, dt.datetime)
    assert peon.step(now=run_at - dt.timedelta(seconds=1)).claimed == []
    assert [task.id for task in peon.step(now=run_at).claimed] == [later]
    step_until(peon, lambda: row(sql, later)["status"] == "SUCCESS")


def test_an_outcome_for_a_reclaimed_task_is_fenced_out(
    make_peon: Callable[..., Peon],
    producer: Workcraft,
    db_config: DBConfig,
    sql: Sql,
    gate: Gate,
) -> None:
    task_id = enqueue(producer, db_config, "held")
    peon = make_peon()
    assert [t.id for t in peon.step().claimed] == [task_id]
    assert gate.entered.wait(5)
    # Meanwhile the task was given to another peon (as after a false death verdict).
    sql.run(
        "UPDATE bountyboard SET worker_id = 'other', peon_session = 'other-session',"
        " attempt = attempt + 1 WHERE id = %s",
        (task_id,),
    )
    gate.release.set()
    step_until(peon, lambda: peon.tasks_done == 1)
    stolen = row(sql, task_id)
    assert stolen["status"] == "RUNNING"  # the late result did not overwrite the new run
    assert stolen["worker_id"] == "other"
    assert stolen["attempt"] == 2
    assert stolen["result"] is None


def test_a_peon_declared_dead_claims_nothing_then_registers_again(
    make_peon: Callable[..., Peon],
    producer: Workcraft,
    db_config: DBConfig,
    sql: Sql,
) -> None:
    peon = make_peon()
    first_session = peon.session
    sql.run("UPDATE peon SET status = 'OFFLINE' WHERE id = 'p1'")  # the janitor's verdict
    task_id = enqueue(producer, db_config, "add", 1, 2)
    step = peon.step()
    assert step.claimed == []  # the claim transaction proved we no longer own the id
    assert peon.registration.lost.is_set()
    assert row(sql, task_id)["status"] == "PENDING"
    peon.registration.recover(peon.store)
    assert peon.session != first_session
    (peon_row,) = sql.rows("SELECT status, session FROM peon WHERE id = 'p1'")
    assert peon_row == {"status": "IDLE", "session": peon.session}
    step_until(peon, lambda: row(sql, task_id)["status"] == "SUCCESS")


def test_a_heartbeat_notices_the_row_was_taken_over(
    make_peon: Callable[..., Peon], sql: Sql
) -> None:
    peon = make_peon()
    sql.run("UPDATE peon SET session = 'another-process' WHERE id = 'p1'")
    assert peon.registration.lost.wait(5), "the heartbeat never noticed"
    with pytest.raises(IdentityTakenOver):
        peon.registration.recover(peon.store)


def test_shutdown_gives_unfinished_tasks_back_and_goes_offline(
    make_peon: Callable[..., Peon],
    producer: Workcraft,
    db_config: DBConfig,
    sql: Sql,
    gate: Gate,
) -> None:
    held_id = enqueue(producer, db_config, "held")
    peon = make_peon()
    peon.step()
    assert gate.entered.wait(5)
    peon.shutdown()
    back = row(sql, held_id)
    assert back["status"] == "PENDING"
    assert back["worker_id"] is None
    assert back["peon_session"] is None
    (peon_row,) = sql.rows("SELECT status, running_tasks FROM peon WHERE id = 'p1'")
    assert peon_row == {"status": "OFFLINE", "running_tasks": 0}


def test_run_drains_on_request_stop(
    make_peon: Callable[..., Peon], producer: Workcraft, db_config: DBConfig, sql: Sql
) -> None:
    """``run()`` in a thread, as ``workcraft peon`` runs it; ``request_stop`` is SIGTERM."""
    ids = [enqueue(producer, db_config, "add", n, n) for n in range(5)]
    peon = make_peon(worker_id="runner", concurrency=2)
    loop = threading.Thread(target=peon._loop)
    loop.start()
    try:
        deadline = time.monotonic() + 10
        while any(row(sql, i)["status"] != "SUCCESS" for i in ids):
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        peon.request_stop()
        loop.join(5)
    assert not loop.is_alive()


def test_async_handlers_are_awaited(db_config: DBConfig, producer: Workcraft) -> None:
    """An ``async def`` setup, prerun or postrun handler runs like an async task."""
    seen: list[str] = []
    app = Workcraft()

    @app.setup_handler()
    async def setup() -> None:
        await asyncio.sleep(0)
        seen.append("setup")

    @app.prerun_handler()
    async def prerun(task_id: str, task_name: str) -> None:
        await asyncio.sleep(0)
        seen.append(f"prerun {task_name}")

    @app.postrun_handler()
    async def postrun(task_id: str, task_name: str, result: object, status: object) -> None:
        await asyncio.sleep(0)
        seen.append(f"postrun {task_name} {result} {status}")

    @app.task("add")
    def add(a: int, b: int) -> int:
        return a + b

    task_id = producer.send_task_sync("add", [2, 3], db_config=db_config)
    peon = Peon(app, Database(db_config), SETTINGS, PeonOptions(worker_id="async-handlers"))
    assert peon.start()
    try:
        assert seen == ["setup"]
        step_until(peon, lambda: peon.tasks_done == 1)
    finally:
        peon.shutdown()
    assert seen == ["setup", "prerun add", "postrun add 5 SUCCESS"]
    task = producer.get_task_sync(task_id, db_config)
    assert task is not None and task.result == 5
