"""Tasks for the fault scenarios: ``--workcraft_path=tests.fault_apps.tasks.app``.

Every task's first argument is its own id (the tests enqueue with plain SQL and choose it).
Each execution inserts one row into the side table ``executions`` in the same database,
through a connection of the task's own (never the peon's), before doing anything else.

The database may be down while a task runs (the restart scenario), so the insert is retried
until it succeeds, for at most ``RECORD_DEADLINE`` seconds. Each execution carries a random
``token`` with a UNIQUE key and is written with ``INSERT IGNORE``: a retry after a COMMIT whose
acknowledgement was lost cannot count one execution twice. ``started_at`` is the client's
clock when the execution began, not when the insert finally went through.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import os
import time
import uuid
from typing import Any

from tests.support.task_connection import TaskConnection
from workcraft.core import Workcraft

app = Workcraft()

RECORD_DEADLINE = 120.0
_executions = TaskConnection()


def record(task_id: str) -> int:
    """Write this execution's row; return how many executions the task has had so far."""
    token = str(uuid.uuid4())
    started_at = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)

    def write(cur: Any) -> int:
        cur.execute(
            "INSERT IGNORE INTO executions (task_id, pid, token, started_at)"
            " VALUES (%s, %s, %s, %s)",
            (task_id, os.getpid(), token, started_at),
        )
        cur.execute("SELECT COUNT(*) FROM executions WHERE task_id = %s", (task_id,))
        (count,) = cur.fetchone()
        return int(count)

    return _executions.retry_until(time.monotonic() + RECORD_DEADLINE, write)


@app.task("record")
def record_task(task_id: str) -> str:
    record(task_id)
    return task_id


@app.task("sleep_for")
def sleep_for(task_id: str, seconds: float) -> dict[str, int]:
    run = record(task_id)
    time.sleep(seconds)
    return {"pid": os.getpid(), "run": run}


@app.task("die_exit")
def die_exit(task_id: str) -> None:
    """Poison pill: takes its whole peon down with ``os._exit(1)``."""
    record(task_id)
    os._exit(1)


@app.task("die_segfault")
def die_segfault(task_id: str) -> None:
    """Poison pill: a segmentation fault (reads address 0) kills the peon with SIGSEGV."""
    record(task_id)
    ctypes.string_at(0)
