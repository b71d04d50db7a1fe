"""Cancel, timeouts, and task exceptions that must never wedge a peon: a real ``Peon`` with
its real loop in a thread of the test process, against the real database."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support.sql import Sql
from workcraft import current_task
from workcraft.config.settings import Settings
from workcraft.core import Workcraft
from workcraft.data import Database
from workcraft.db import DBConfig
from workcraft.models import TaskStatus
from workcraft.peon import Peon, PeonOptions

HEARTBEAT = 0.3
SETTINGS = Settings(
    DB_POLLING_INTERVAL=0.05,
    DB_PEON_HEARTBEAT_INTERVAL=HEARTBEAT,
    PEON_SHUTDOWN_GRACE_SECONDS=2,
)


class Events:
    """What the task functions saw, for the test to check."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.postrun: list[tuple[str, Any]] = []
        self.ran: list[str] = []
        self.release = threading.Event()


def make_app(events: Events) -> Workcraft:
    app = Workcraft()

    @app.postrun_handler()
    def postrun(task_id: str, task_name: str, result: Any, status: Any) -> None:
        events.postrun.append((task_name, status))

    @app.task("quick")
    def quick(n: int) -> int:
        events.ran.append(f"quick-{n}")
        return n

    @app.task("async_wait")
    async def async_wait(seconds: float) -> str:
        events.started.set()
        await asyncio.sleep(seconds)
        return "done"

    @app.task("polite_loop")
    def polite_loop(seconds: float) -> str:
        events.started.set()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            current_task().raise_if_cancel_requested()
            time.sleep(0.02)
        return "finished"

    @app.task("returns_when_asked")
    def returns_when_asked(seconds: float) -> str:
        events.started.set()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not current_task().cancel_requested:
            time.sleep(0.02)
        return "stopped early"

    @app.task("stubborn")
    def stubborn(seconds: float) -> str:
        events.started.set()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            time.sleep(0.02)  # never checks
        return "finished anyway"

    @app.task("spin")
    def spin() -> None:
        events.started.set()
        while True:  # pure Python: the timeout's exception lands at the next bytecode
            pass

    @app.task("blocked")
    def blocked(seconds: float) -> str:
        events.started.set()
        time.sleep(seconds)  # one blocking C call: the timeout cannot interrupt it
        return "woke up"

    @app.task("limited", timeout=0.4)
    async def limited() -> None:
        await asyncio.sleep(30)

    @app.task("raises")
    def raises(kind: str) -> None:
        exceptions: dict[str, BaseException] = {
            "KeyboardInterrupt": KeyboardInterrupt(),
            "CancelledError": asyncio.CancelledError(),
            "GeneratorExit": GeneratorExit(),
            "SystemExit": SystemExit(3),
            "BaseException": BaseException("odd"),
        }
        raise exceptions[kind]

    return app


@pytest.fixture
def events() -> Iterator[Events]:
    seen = Events()
    yield seen
    seen.release.set()


@pytest.fixture
def start_peon(db_config: DBConfig, events: Events) -> Iterator[Callable[..., Peon]]:
    running: list[tuple[Peon, threading.Thread]] = []

    def start(concurrency: int = 2, **settings: Any) -> Peon:
        app = make_app(events)
        peon = Peon(
            app,
            Database(db_config),
            SETTINGS.with_overrides(**settings) if settings else SETTINGS,
            PeonOptions(worker_id=f"control-{len(running)}", concurrency=concurrency),
        )
        thread = threading.Thread(target=peon.run, daemon=True)
        thread.start()
        running.append((peon, thread))
        return peon

    yield start
    for peon, thread in running:
        peon.request_stop()
        peon.hard_stop.set()
        thread.join(10)


def final(producer: Workcraft, db_config: DBConfig, task_id: str, timeout: float = 10) -> Any:
    return producer.wait_for_task_sync(task_id, db_config, timeout=timeout, poll_interval=0.05)


def wait_running(producer: Workcraft, db_config: DBConfig, task_id: str) -> None:
    deadline = time.monotonic() + 10
    while True:
        task = producer.get_task_sync(task_id, db_config)
        if task is not None and task.status == TaskStatus.RUNNING:
            return
        assert time.monotonic() < deadline, "never started"
        time.sleep(0.02)


# -- cancel ------------------------------------------------------------------------------------
def test_cancel_a_pending_or_delayed_task(
    producer: Workcraft, db_config: DBConfig, sql: Sql
) -> None:
    pending = producer.send_task_sync("quick", [1], db_config=db_config)
    delayed = producer.send_task_sync("quick", [2], delay=3600, db_config=db_config)
    assert producer.cancel_task_sync(pending, db_config)
    assert producer.cancel_task_sync(delayed, db_config)
    for task_id in (pending, delayed):
        task = producer.get_task_sync(task_id, db_config)
        assert task is not None and task.status == TaskStatus.CANCELLED
        assert task.result["error_type"] == "Cancelled"
    assert not producer.cancel_task_sync(pending, db_config)  # already finished
    assert not producer.cancel_task_sync("no-such-task", db_config)


def test_a_cancelled_pending_task_never_runs(
    start_peon: Callable[..., Peon],
    producer: Workcraft,
    db_config: DBConfig,
    events: Events,
) -> None:
    cancelled = producer.send_task_sync("quick", [1], delay=0.5, db_config=db_config)
    assert producer.cancel_task_sync(cancelled, db_config)
    other = producer.send_task_sync("quick", [2], delay=0.6, db_config=db_config)
    start_peon()
    assert final(producer, db_config, other).status == TaskStatus.SUCCESS
    time.sleep(0.2)
    assert events.ran == ["quick-2"]


def test_cancel_a_failure_waiting_for_its_retry(
    producer: Workcraft, db_config: DBConfig, sql: Sql
) -> None:
    task_id = producer.send_task_sync("quick", [1], retry_on_failure=True, db_config=db_config)
    sql.run(
        "UPDATE bountyboard SET status = 'FAILURE', retry_count = 1, finished_at = NOW(6)"
        " WHERE id = %s",
        (task_id,),
    )
    assert producer.cancel_task_sync(task_id, db_config)
    assert sql.value("SELECT status FROM bountyboard WHERE id = %s", (task_id,)) == "CANCELLED"


@pytest.mark.parametrize("task_name", ["async_wait", "polite_loop", "returns_when_asked"])
def test_cancel_a_running_task(
    start_peon: Callable[..., Peon],
    producer: Workcraft,
    db_config: DBConfig,
    events: Events,
    task_name: str,
) -> None:
    task_id = producer.send_task_sync(task_name, [30], retry_on_failure=True, db_config=db_config)
    start_peon()
    assert events.started.wait(10)
    asked = time.monotonic()
    assert producer.cancel_task_sync(task_id, db_config)
    task = final(producer, db_config, task_id)
    took = time.monotonic() - asked
    assert task.status == TaskStatus.CANCELLED, task
    assert took < HEARTBEAT + 1.0, took  # seen with the next heartbeat
    assert (task_name, TaskStatus.CANCELLED) in events.postrun
    if task_name == "returns_when_asked":
        assert task.result["returned"] == "stopped early"
    assert not producer.cancel_task_sync(task_id, db_config)
    time.sleep(3 * HEARTBEAT)
    again = producer.get_task_sync(task_id, db_config)
    assert again is not None and again.status == TaskStatus.CANCELLED  # never retried


def test_a_sync_task_that_never_checks_runs_to_its_end(
    start_peon: Callable[..., Peon],
    producer: Workcraft,
    db_config: DBConfig,
    events: Events,
) -> None:
    task_id = producer.send_task_sync("stubborn", [1.5], db_config=db_config)
    start_peon()
    assert events.started.wait(10)
    assert producer.cancel_task_sync(task_id, db_config)
    task = final(producer, db_config, task_id)
    took_whole_run = task.finished_at - task.started_at
    assert took_whole_run.total_seconds() >= 1.4
    # It ran to its end, yet was asked to stop: CANCELLED, what it returned kept.
    assert task.status == TaskStatus.CANCELLED
    assert task.result == {
        "error_type": "Cancelled",
        "message": "cancel requested; the task returned",
        "returned": "finished anyway",
    }


# -- timeouts -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("task_name", "args"),
    [("async_wait", [30]), ("spin", []), ("blocked", [3])],
    ids=["async", "python-loop", "blocking-c-call"],
)
def test_a_run_past_its_timeout_fails_in_time_and_frees_its_slot(
    start_peon: Callable[..., Peon],
    producer: Workcraft,
    db_config: DBConfig,
    events: Events,
    task_name: str,
    args: list[Any],
) -> None:
    timeout = 0.5
    task_id = producer.send_task_sync(
        task_name,
        args,
        timeout=timeout,
        retry_on_failure=True,
        retry_limit=0,
        db_config=db_config,
    )
    peon = start_peon(concurrency=1)
    assert events.started.wait(10)
    started = time.monotonic()
    task = final(producer, db_config, task_id)
    assert task.status == TaskStatus.FAILURE
    assert task.result["error_type"] == "TaskTimeout"
    assert time.monotonic() - started < timeout + 1.0
    assert task.retry_count == 1  # counted as a failure, retried per its policy
    # The one slot takes new work at once, while a blocked thread still sleeps.
    follow = producer.send_task_sync("quick", [7], db_config=db_config)
    assert final(producer, db_config, follow).result == 7
    assert threading.active_count() < 20
    assert len(peon.pool.abandoned) <= peon.options.concurrency


def test_function_timeout_and_a_tasks_own_timeout(
    start_peon: Callable[..., Peon], producer: Workcraft, db_config: DBConfig
) -> None:
    by_function = producer.send_task_sync("limited", db_config=db_config)
    by_task = producer.send_task_sync("async_wait", [30], timeout=0.3, db_config=db_config)
    start_peon()
    for task_id in (by_function, by_task):
        task = final(producer, db_config, task_id)
        assert task.result["error_type"] == "TaskTimeout", task
    assert "0.4 s" in final(producer, db_config, by_function).result["message"]


def test_stuck_threads_stay_bounded(
    start_peon: Callable[..., Peon], producer: Workcraft, db_config: DBConfig
) -> None:
    """Blocking calls that outlive their timeouts: never more than 2 x concurrency threads."""
    ids = [
        producer.send_task_sync("blocked", [4], timeout=0.2, db_config=db_config) for _ in range(6)
    ]
    before = threading.active_count()
    peon = start_peon(concurrency=2)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        assert len(peon.pool.abandoned) <= 2 * peon.options.concurrency
        assert threading.active_count() <= before + 2 * 2 + 3  # workers, abandoned, heartbeat
        tasks = [producer.get_task_sync(i, db_config) for i in ids]
        if all(t is not None and t.status.is_final for t in tasks):
            break
        time.sleep(0.05)
    assert all(
        t is not None and t.result["error_type"] == "TaskTimeout"
        for t in (producer.get_task_sync(i, db_config) for i in ids)
    )


@pytest.mark.parametrize("bad", [0, -1, float("nan"), "5"])
def test_bad_timeouts_are_refused_before_io(producer: Workcraft, bad: Any) -> None:
    with pytest.raises((TypeError, ValueError), match="timeout"):
        producer.send_task_sync("quick", timeout=bad)
    with pytest.raises((TypeError, ValueError), match="timeout"):
        Workcraft().task("t", timeout=bad)


# -- a task's own exceptions ------------------------------------------------------------------
def test_base_exceptions_fail_the_run_and_the_peon_keeps_working(
    start_peon: Callable[..., Peon], producer: Workcraft, db_config: DBConfig
) -> None:
    kinds = ["KeyboardInterrupt", "CancelledError", "GeneratorExit", "SystemExit", "BaseException"]
    ids = [producer.send_task_sync("raises", [kind], db_config=db_config) for kind in kinds]
    peon = start_peon(concurrency=1)
    for kind, task_id in zip(kinds, ids, strict=True):
        task = final(producer, db_config, task_id)
        assert task.status == TaskStatus.FAILURE, kind
        assert task.result["error_type"] == kind
    follow = producer.send_task_sync("quick", [1], db_config=db_config)
    assert final(producer, db_config, follow).status == TaskStatus.SUCCESS
    assert all(slot.thread is not None and slot.thread.is_alive() for slot in peon.pool.slots)


def test_a_worker_thread_that_dies_is_replaced_and_its_task_failed(
    db_config: DBConfig, producer: Workcraft, events: Events, sql: Sql
) -> None:
    """A prerun handler raising a BaseException escapes the runner and ends the thread."""
    app = make_app(events)

    @app.prerun_handler()
    def prerun(task_id: str, task_name: str) -> None:
        if task_name == "quick" and not events.ran:
            events.ran.append("killer")
            raise KeyboardInterrupt

    first = producer.send_task_sync("quick", [1], db_config=db_config)
    peon = Peon(app, Database(db_config), SETTINGS, PeonOptions(worker_id="dies", concurrency=1))
    thread = threading.Thread(target=peon.run, daemon=True)
    thread.start()
    try:
        task = final(producer, db_config, first)
        assert task.status == TaskStatus.FAILURE
        assert task.result["error_type"] == "WorkerDied"
        second = producer.send_task_sync("quick", [2], db_config=db_config)
        assert final(producer, db_config, second).status == TaskStatus.SUCCESS
    finally:
        peon.request_stop()
        thread.join(10)


def test_failure_log_lines_say_why(
    start_peon: Callable[..., Peon],
    producer: Workcraft,
    db_config: DBConfig,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="workcraft.peon")
    task_id = producer.send_task_sync("raises", ["BaseException"], db_config=db_config)
    start_peon()
    final(producer, db_config, task_id)
    time.sleep(0.1)
    lines = [r.getMessage() for r in caplog.records if task_id in r.getMessage()]
    assert any("FAILURE" in line and "BaseException: odd" in line for line in lines), lines
    assert not any("Traceback" in line for line in lines)  # the traceback is DEBUG
