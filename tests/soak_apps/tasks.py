"""Tasks for the soak (``tests/acceptance/test_soak.py``): ``tests.soak_apps.tasks.app``.

Every execution first writes one row to the side table ``soak_runs`` (task id, its attempt,
this peon's pid, the client's clock), through a connection of its own that rides out a
database restart, then does its kind of work: ``short`` returns at once, ``flaky`` fails its
first attempt and succeeds after (sent with retries), ``slow`` sleeps 1-3 s, ``nap`` is an
async task.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from typing import Any

from tests.support.task_connection import TaskConnection
from workcraft import current_task
from workcraft.core import Workcraft

app = Workcraft()
_runs = TaskConnection()
RECORD_DEADLINE = 120.0


def record() -> int:
    """This execution's row; returns the attempt it is."""
    task = current_task()
    started = time.time()

    def write(cur: Any) -> int:
        cur.execute(
            "INSERT INTO soak_runs (task_id, attempt, pid, started) VALUES (%s, %s, %s, %s)",
            (task.id, task.attempt, os.getpid(), started),
        )
        return task.attempt

    return _runs.retry_until(time.monotonic() + RECORD_DEADLINE, write)


@app.task("short")
def short() -> str:
    record()
    return "ok"


@app.task("flaky")
def flaky() -> str:
    """Fails the first time it runs (a real failure, retried by the janitor)."""
    runs = _runs_of(current_task().id)
    record()
    if runs == 0:
        raise ConnectionError("the first attempt always fails")
    return "ok on a retry"


@app.task("slow")
def slow() -> str:
    record()
    time.sleep(random.uniform(1, 3))
    return "slept"


@app.task("nap")
async def nap() -> str:
    record()
    await asyncio.sleep(0.05)
    return "napped"


def _runs_of(task_id: str) -> int:
    def count(cur: Any) -> int:
        cur.execute("SELECT COUNT(*) FROM soak_runs WHERE task_id = %s", (task_id,))
        (n,) = cur.fetchone()
        return int(n)

    return _runs.retry_until(time.monotonic() + RECORD_DEADLINE, count)
