"""Tasks for the Galera cluster test: each execution is recorded on the peon's own node.

``record(task_id, seconds)`` writes a row to ``cluster_executions`` when it starts (which
task, which node port, which process) and stamps ``finished_at`` when it is done, each in
its own autocommit statement on a connection per worker thread to the node in the peon's
WK_DB_* environment. A task whose node dies under it fails at the second statement and
leaves an execution that never finished. ``tick`` is the recurring schedule.
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

EXECUTIONS_TABLE = "cluster_executions"
CREATE_EXECUTIONS = (
    f"CREATE TABLE IF NOT EXISTS {EXECUTIONS_TABLE} ("
    " id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,"
    " task_id CHAR(36) NOT NULL,"
    " port INT NOT NULL,"
    " pid INT NOT NULL,"
    " started_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),"
    " finished_at TIMESTAMP(6) NULL DEFAULT NULL,"
    " KEY ix_task (task_id))"
)
START_EXECUTION = f"INSERT INTO {EXECUTIONS_TABLE} (task_id, port, pid) VALUES (%s, %s, %s)"
FINISH_EXECUTION = f"UPDATE {EXECUTIONS_TABLE} SET finished_at = NOW(6) WHERE id = %s"


def _connection() -> Any:
    conn = getattr(_local, "conn", None)
    if conn is None or not conn.is_connected():
        conn = mysql.connector.connect(**get_db_config().connect_kwargs())
        _local.conn = conn
    return conn


def _execute(statement: str, params: tuple[Any, ...]) -> int:
    """One autocommit statement; a broken connection is dropped so the next task reconnects."""
    try:
        cur = _connection().cursor()
        try:
            cur.execute(statement, params)
            return int(cur.lastrowid or 0)
        finally:
            cur.close()
    except mysql.connector.Error:
        _local.conn = None
        raise


@app.task("record", pass_task_id=False)  # the producer sends the id itself
def record(task_id: str, seconds: float) -> str:
    row = _execute(
        START_EXECUTION,
        (task_id, get_db_config().port, os.getpid()),
    )
    time.sleep(seconds)
    _execute(FINISH_EXECUTION, (row,))
    return task_id


@app.task("tick", every=2)
def tick() -> None:
    """The recurring schedule: the janitor leader enqueues one task per occurrence."""
