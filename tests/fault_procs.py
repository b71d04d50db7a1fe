"""Helpers for the fault-scenario tests (``tests/test_faults.py``).

Processes are the ``procs.Proc`` / ``procs.Procs`` of the peon tests (output in files, every
wait bounded); ``FaultProcs`` adds janitors, ``kill -9``, SIGSTOP/SIGCONT, and a teardown
that wakes frozen processes before it stops them. ``Db`` is a small raw-SQL helper that
reconnects after a server restart. The tasks live in ``tests/fault_apps/tasks.py`` and
count their executions in the side table ``executions``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import signal
import subprocess
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import mysql.connector
from procs import Proc, Procs, wait_until

from workcraft.data.failures import is_transient
from workcraft.db import DBConfig

APP_PATH = "fault_apps.tasks.app"

# Fast intervals; each test overrides what its scenario is about.
FAULT_SETTINGS: dict[str, float] = {
    "DB_POLLING_INTERVAL": 0.05,
    "DB_PEON_HEARTBEAT_INTERVAL": 0.5,
    "DB_SETUP_WAIT_TIME_BEFORE_WORKER_DECLARED_DEAD": 5,
    "DB_SETUP_CHECK_DEAD_WORKER_INTERVAL": 0.3,
    "DB_SETUP_RUN_SELF_CORRECT_TASK_INTERVAL": 0.3,
    "DB_SETUP_RUN_REOPEN_FAILED_TASK_INTERVAL": 0.3,
    "JANITOR_LEADER_RETRY_INTERVAL": 0.5,
    "PEON_SHUTDOWN_GRACE_SECONDS": 15,
}

EXECUTIONS_DDL = (
    "CREATE TABLE IF NOT EXISTS executions ("
    " id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,"
    " task_id CHAR(36) NOT NULL,"
    " pid INT NOT NULL,"
    " token CHAR(36) NOT NULL,"
    " started_at DATETIME(6) NOT NULL,"
    " UNIQUE KEY ux_executions_token (token),"
    " KEY ix_executions_task (task_id))"
)


def write_config(directory: Path, **overrides: float) -> Path:
    """``workcraft.config.json`` with ``FAULT_SETTINGS`` (plus overrides) in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "workcraft.config.json"
    path.write_text(json.dumps({**FAULT_SETTINGS, **overrides}, indent=2), encoding="utf-8")
    return path


# -- raw SQL ----------------------------------------------------------------------------------
class Db:
    """Autocommit raw SQL on one connection, reopened (bounded) after the server went away."""

    def __init__(self, config: DBConfig, reconnect_for: float = 30) -> None:
        self.config = config
        self.reconnect_for = reconnect_for
        self._conn: Any = None

    def connect(self) -> Any:
        if self._conn is None:
            kwargs = self.config.connect_kwargs()
            kwargs["connection_timeout"] = 3
            conn = mysql.connector.connect(**kwargs)
            cur = conn.cursor()
            cur.execute("SET time_zone = '+00:00'")
            cur.close()
            self._conn = conn
        return self._conn

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    def _do(self, fn: Any) -> Any:
        deadline = time.monotonic() + self.reconnect_for
        while True:
            try:
                cur = self.connect().cursor(dictionary=True)
                try:
                    return fn(cur)
                finally:
                    with contextlib.suppress(Exception):
                        cur.close()
            except (mysql.connector.InterfaceError, mysql.connector.OperationalError) as exc:
                self.close()
                if not (is_transient(exc) or isinstance(exc, mysql.connector.InterfaceError)):
                    raise
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def rows(self, statement: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
        def fn(cur: Any) -> list[dict[str, Any]]:
            cur.execute(statement, tuple(params))
            return list(cur.fetchall()) if cur.with_rows else []

        return list(self._do(fn))

    def value(self, statement: str, params: Iterable[Any] = ()) -> Any:
        rows = self.rows(statement, params)
        return next(iter(rows[0].values())) if rows else None

    def count(self, statement: str, params: Iterable[Any] = ()) -> int:
        return int(self.value(statement, params) or 0)

    def run(self, statement: str, params: Iterable[Any] = ()) -> int:
        def fn(cur: Any) -> int:
            cur.execute(statement, tuple(params))
            if cur.with_rows:
                cur.fetchall()
            return int(cur.rowcount)

        return int(self._do(fn))

    def ids(self, statement: str, params: Iterable[Any] = ()) -> set[str]:
        return {str(row["id"]) for row in self.rows(statement, params)}


def create_executions(db: Db) -> None:
    db.run(EXECUTIONS_DDL)
    db.run("DELETE FROM executions")


def enqueue_many(db: Db, task_name: str, count: int, *args: Any, batch: int = 500) -> list[str]:
    """``count`` plain-SQL enqueues (multi-row INSERTs); each task's first arg is its id."""
    ids = [str(uuid.uuid4()) for _ in range(count)]
    for start in range(0, count, batch):
        chunk = ids[start : start + batch]
        placeholders = ", ".join(["(%s, %s, %s)"] * len(chunk))
        params: list[Any] = []
        for task_id in chunk:
            params += [task_id, task_name, json.dumps({"task_args": [task_id, *args]})]
        db.run(f"INSERT INTO bountyboard (id, task_name, payload) VALUES {placeholders}", params)
    return ids


def enqueue(db: Db, task_name: str, *args: Any) -> str:
    return enqueue_many(db, task_name, 1, *args)[0]


def status_counts(db: Db) -> dict[str, int]:
    return {
        str(row["status"]): int(row["n"])
        for row in db.rows("SELECT status, COUNT(*) AS n FROM bountyboard GROUP BY status")
    }


def execution_counts(db: Db) -> dict[str, int]:
    return {
        str(row["task_id"]): int(row["n"])
        for row in db.rows("SELECT task_id, COUNT(*) AS n FROM executions GROUP BY task_id")
    }


def executions_of(db: Db, task_id: str) -> int:
    return db.count("SELECT COUNT(*) FROM executions WHERE task_id = %s", (task_id,))


def log_lines(db: Db, like: str = "%") -> list[str]:
    return [
        str(row["message"])
        for row in db.rows("SELECT message FROM logs WHERE message LIKE %s ORDER BY id", (like,))
    ]


def task_row(db: Db, task_id: str) -> dict[str, Any]:
    rows = db.rows("SELECT * FROM bountyboard WHERE id = %s", (task_id,))
    assert rows, f"no task {task_id}"
    return rows[0]


def peon_row(db: Db, worker_id: str) -> dict[str, Any] | None:
    rows = db.rows("SELECT * FROM peon WHERE id = %s", (worker_id,))
    return rows[0] if rows else None


def utc(timestamp: float) -> dt.datetime:
    """A ``time.time()`` value as the naive UTC datetime the ``executions`` table holds."""
    return dt.datetime.fromtimestamp(timestamp, tz=dt.timezone.utc).replace(tzinfo=None)


def tasks_started_between(db: Db, start: float, end: float) -> set[str]:
    """Tasks with an execution that began (task's own clock) in [start, end]."""
    rows = db.rows(
        "SELECT DISTINCT task_id FROM executions WHERE started_at BETWEEN %s AND %s",
        (utc(start), utc(end)),
    )
    return {str(row["task_id"]) for row in rows}


# -- processes --------------------------------------------------------------------------------
class FaultProcs(Procs):
    """``procs.Procs`` plus janitors, kill -9 and SIGSTOP; ``stop_all`` for teardown."""

    def __init__(self, workdir: Path, db_config: DBConfig) -> None:
        super().__init__(workdir, db_config)

    def peon(  # type: ignore[override]
        self, worker_id: str, *extra: str, app: str = APP_PATH, name: str | None = None
    ) -> Proc:
        return self.workcraft(
            "peon",
            f"--workcraft_path={app}",
            f"--worker-id={worker_id}",
            "--log-format=plain",
            *extra,
            name=name or worker_id,
        )

    def janitor(self, janitor_id: str, *extra: str, log_format: str = "plain") -> Proc:
        return self.workcraft(
            "janitor",
            f"--janitor-id={janitor_id}",
            f"--log-format={log_format}",
            *extra,
            name=janitor_id,
        )

    @staticmethod
    def alive(proc: Proc) -> bool:
        return proc.returncode is None

    @staticmethod
    def kill9(proc: Proc) -> int:
        proc.send(signal.SIGKILL)
        return proc.popen.wait(timeout=15)

    def stop_all(self, show: bool = False) -> None:  # type: ignore[override]
        """Wake frozen processes, SIGTERM all, SIGKILL what is left; always reaps."""
        running = [proc for proc in self.started if proc.returncode is None]
        for proc in running:
            with contextlib.suppress(ProcessLookupError):
                proc.popen.send_signal(signal.SIGCONT)
            proc.send(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for proc in running:
            try:
                proc.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.popen.kill()
                proc.popen.wait(timeout=15)
        for proc in self.started:
            proc.stop()  # reaped already; closes the log files
        if show:
            print(self.tails())

    def tails(self, lines: int = 40) -> str:
        parts = []
        for proc in self.started:
            out = proc.output.splitlines()
            parts.append(
                f"--- {proc.name} (pid {proc.pid}, exit {proc.returncode}), "
                f"last {min(lines, len(out))} of {len(out)} lines:\n" + "\n".join(out[-lines:])
            )
        return "\n".join(parts)


def json_log_entries(text: str) -> list[dict[str, Any]]:
    """The JSON log lines of a ``--log-format json`` process (other lines are skipped)."""
    entries = []
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        with contextlib.suppress(ValueError):
            entries.append(json.loads(line))
    return entries


def parse_ts(value: str) -> float:
    return dt.datetime.fromisoformat(value).timestamp()


__all__ = [
    "APP_PATH",
    "Db",
    "FaultProcs",
    "Proc",
    "create_executions",
    "enqueue",
    "enqueue_many",
    "execution_counts",
    "executions_of",
    "json_log_entries",
    "log_lines",
    "parse_ts",
    "peon_row",
    "status_counts",
    "task_row",
    "tasks_started_between",
    "utc",
    "wait_until",
    "write_config",
]
