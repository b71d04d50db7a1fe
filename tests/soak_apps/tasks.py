"""Tasks for the soak (``tests/acceptance/test_soak.py``): ``tests.soak_apps.tasks.app``.

Every execution first writes one row to the side table ``soak_runs`` (task id, its attempt,
this peon's pid, the client's clock), through a connection of its own that rides out a
database restart, then does its kind of work: ``short`` returns at once, ``flaky`` fails its
first attempt and succeeds after (sent with retries), ``slow`` sleeps 1-3 s, ``nap`` is an
async task.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import threading
import time
from typing import Any

import mysql.connector

from workcraft import current_task
from workcraft.core import Workcraft
from workcraft.db import get_db_config

app = Workcraft()
_local = threading.local()
RECORD_DEADLINE = 120.0


def _connection() -> Any:
    conn = getattr(_local, "conn", None)
    if conn is None:
        kwargs = get_db_config().connect_kwargs()
        kwargs["connection_timeout"] = 2
        conn = _local.conn = mysql.connector.connect(**kwargs)
    return conn


def record() -> int:
    """This execution's row; returns the attempt it is."""
    task = current_task()
    started = time.time()
    deadline = time.monotonic() + RECORD_DEADLINE
    while True:
        try:
            cur = _connection().cursor()
            try:
                cur.execute(
                    "INSERT INTO soak_runs (task_id, attempt, pid, started)"
                    " VALUES (%s, %s, %s, %s)",
                    (task.id, task.attempt, os.getpid(), started),
                )
            finally:
                cur.close()
            return task.attempt
        except mysql.connector.Error:
            conn, _local.conn = getattr(_local, "conn", None), None
            if conn is not None:
                with contextlib.suppress(Exception):
                    conn.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


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
    deadline = time.monotonic() + RECORD_DEADLINE
    while True:
        try:
            cur = _connection().cursor()
            try:
                cur.execute("SELECT COUNT(*) FROM soak_runs WHERE task_id = %s", (task_id,))
                (count,) = cur.fetchone()
                return int(count)
            finally:
                cur.close()
        except mysql.connector.Error:
            _local.conn = None
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
