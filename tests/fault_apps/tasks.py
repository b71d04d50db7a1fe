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

import contextlib
import ctypes
import datetime as dt
import os
import threading
import time
import uuid
from typing import Any

import mysql.connector

from workcraft.core import Workcraft
from workcraft.db import get_db_config

app = Workcraft()

RECORD_DEADLINE = 120.0
_local = threading.local()


def _connection() -> Any:
    conn = getattr(_local, "conn", None)
    if conn is None:
        kwargs = get_db_config().connect_kwargs()
        kwargs["connection_timeout"] = 2
        conn = mysql.connector.connect(**kwargs)
        _local.conn = conn
    return conn


def _drop_connection() -> None:
    conn = getattr(_local, "conn", None)
    _local.conn = None
    if conn is not None:
        with contextlib.suppress(Exception):  # a dead socket cannot be closed politely
            conn.close()


def record(task_id: str) -> int:
    """Write this execution's row; return how many executions the task has had so far."""
    token = str(uuid.uuid4())
    started_at = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    deadline = time.monotonic() + RECORD_DEADLINE
    while True:
        try:
            cur = _connection().cursor()
            try:
                cur.execute(
                    "INSERT IGNORE INTO executions (task_id, pid, token, started_at)"
                    " VALUES (%s, %s, %s, %s)",
                    (task_id, os.getpid(), token, started_at),
                )
                cur.execute("SELECT COUNT(*) FROM executions WHERE task_id = %s", (task_id,))
                (count,) = cur.fetchone()
                return int(count)
            finally:
                cur.close()
        except mysql.connector.Error:
            _drop_connection()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


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
