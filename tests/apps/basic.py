"""The app most peon tests run: ``--workcraft_path=tests.apps.basic.app``.

Tasks that record an execution insert one row ``(task_id, pid)`` into the side table
``executions``, which the test creates in the same database; the peon's WK_DB_* environment
says where that is. The task id comes from the prerun handler, which runs in the same thread
just before the task.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from typing import Any

import mysql.connector

from workcraft.core import Workcraft
from workcraft.db import get_db_config

app = Workcraft()

# Not a workcraft app: for the "attribute is not an app" test.
NOT_AN_APP = "just a string"

_local = threading.local()


def _connection() -> Any:
    conn = getattr(_local, "conn", None)
    if conn is None:
        conn = mysql.connector.connect(**get_db_config().connect_kwargs())
        _local.conn = conn
    return conn


def record_execution() -> None:
    cur = _connection().cursor()
    try:
        cur.execute(
            "INSERT INTO executions (task_id, pid) VALUES (%s, %s)",
            (getattr(_local, "task_id", None), os.getpid()),
        )
    finally:
        cur.close()


@app.prerun_handler()
def remember_task_id(task_id: str, task_name: str, *args: Any, **kwargs: Any) -> None:
    _local.task_id = task_id


@app.task("record")
def record(value: Any = None) -> Any:
    record_execution()
    return value


@app.task("add")
def add(a: int, b: int, c: int = 0) -> int:
    return a + b + c


@app.task("sleep")
def sleep(seconds: float) -> str:
    record_execution()
    time.sleep(seconds)
    return f"slept {seconds}"


@app.task("fail")
def fail(message: str) -> None:
    raise ValueError(message)


@app.task("async_add")
async def async_add(a: int, b: int) -> int:
    await asyncio.sleep(0.01)
    return a + b


@app.task("non_json")
def non_json() -> Any:
    return {1, 2, 3}
