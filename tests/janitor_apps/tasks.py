"""Tasks that record every execution in ``janitor_executions(task_id, pid)``.

The first task argument is the task's own id (the tests enqueue with plain SQL and choose
the id), so a test can tell how many times each task really ran. Each worker thread keeps
one connection of its own, made from the same WK_DB_* environment as the peon.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import mysql.connector

from workcraft.core import workcraft
from workcraft.db import get_db_config

app = workcraft()
_local = threading.local()


def _connection() -> Any:
    conn = getattr(_local, "conn", None)
    if conn is None or not conn.is_connected():
        conn = mysql.connector.connect(**get_db_config().connect_kwargs())
        _local.conn = conn
    return conn


def _record(task_id: str) -> int:
    """Write one execution row; return how many executions this task has had so far."""
    cur = _connection().cursor()
    try:
        cur.execute(
            "INSERT INTO janitor_executions (task_id, pid) VALUES (%s, %s)",
            (task_id, os.getpid()),
        )
        cur.execute("SELECT COUNT(*) FROM janitor_executions WHERE task_id = %s", (task_id,))
        (count,) = cur.fetchone()
        return int(count)
    finally:
        cur.close()


@app.task("record")
def record(task_id: str) -> str:
    _record(task_id)
    return task_id


@app.task("slow_first_run")
def slow_first_run(task_id: str, seconds: float) -> int:
    """Sleeps ``seconds`` on its first execution only; later runs return at once."""
    runs = _record(task_id)
    if runs == 1:
        time.sleep(seconds)
    return runs


@app.task("sleep_for")
def sleep_for(task_id: str, seconds: float) -> int:
    runs = _record(task_id)
    time.sleep(seconds)
    return runs
