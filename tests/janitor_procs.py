"""Real ``workcraft janitor`` / ``workcraft peon`` processes for the janitor tests.

Every process runs as ``python -m workcraft ...`` in a temporary working directory that
holds a ``workcraft.config.json`` with small intervals, with WK_DB_* taken from the test's
database and the tests directory on PYTHONPATH (so ``janitor_apps`` imports). Output goes to
files; ``Procs.stop_all()`` (called from a fixture's teardown) sends SIGTERM, then SIGKILL
after a timeout. Every wait here is bounded.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from conftest import SqlHelper

from workcraft.db import DBConfig

T = TypeVar("T")

TESTS_DIR = Path(__file__).resolve().parent
APP_PATH = "janitor_apps.tasks.app"
EXECUTIONS_TABLE = "janitor_executions"

# Small intervals: sweeps every 0.2 s, a peon is dead after 3 s of silence.
FAST_SETTINGS: dict[str, float] = {
    "DB_PEON_HEARTBEAT_INTERVAL": 0.5,
    "DB_POLLING_INTERVAL": 0.05,
    "DB_SETUP_WAIT_TIME_BEFORE_WORKER_DECLARED_DEAD": 3,
    "DB_SETUP_CHECK_DEAD_WORKER_INTERVAL": 0.2,
    "DB_SETUP_RUN_SELF_CORRECT_TASK_INTERVAL": 0.2,
    "DB_SETUP_RUN_REOPEN_FAILED_TASK_INTERVAL": 0.2,
    "JANITOR_LEADER_RETRY_INTERVAL": 0.5,
    "PEON_SHUTDOWN_GRACE_SECONDS": 2,
}


def write_config(directory: Path, **overrides: float) -> Path:
    """``workcraft.config.json`` with ``FAST_SETTINGS`` (plus overrides) in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "workcraft.config.json"
    path.write_text(json.dumps({**FAST_SETTINGS, **overrides}, indent=2), encoding="utf-8")
    return path


def process_env(db_config: DBConfig) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("WK_DB_") and key not in ("WORKCRAFT_DEBUG", "PYTEST_XDIST_WORKER")
    }
    env.update(db_config.as_env())
    env["PYTHONUNBUFFERED"] = "1"
    path = [str(TESTS_DIR)]
    if os.environ.get("PYTHONPATH"):
        path.append(os.environ["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(path)
    return env


def wait_until(
    predicate: Callable[[], T],
    timeout: float,
    message: str | Callable[[], str] = "condition",
    interval: float = 0.05,
) -> T:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            text = message() if callable(message) else message
            raise AssertionError(f"timed out after {timeout:g} s waiting for {text}")
        time.sleep(interval)


class Proc:
    """One ``python -m workcraft`` process with its output in files."""

    def __init__(self, name: str, args: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.name = name
        self.args = args
        self.stdout_path = cwd / f"{name}.stdout"
        self.stderr_path = cwd / f"{name}.stderr"
        with (
            open(self.stdout_path, "wb") as stdout,
            open(self.stderr_path, "wb") as stderr,
        ):
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "workcraft", *args],
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
            )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stdout(self) -> str:
        return self.stdout_path.read_text(encoding="utf-8", errors="replace")

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def describe(self) -> str:
        code = self.popen.poll()
        state = "running" if code is None else f"exit {code}"
        return (
            f"--- {self.name} ({state}) stdout ---\n{self.stdout()[-4000:]}\n"
            f"--- {self.name} stderr ---\n{self.stderr()[-4000:]}"
        )

    def kill9(self) -> None:
        if self.alive():
            self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=10)

    def wait(self, timeout: float) -> int:
        return self.popen.wait(timeout=timeout)

    def stop(self, timeout: float = 10) -> None:
        """SIGTERM, then SIGKILL if it has not exited after ``timeout`` seconds."""
        if not self.alive():
            return
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait(timeout=10)


class Procs:
    """Starts processes for one test and stops every one of them in teardown."""

    def __init__(self, cwd: Path, db_config: DBConfig) -> None:
        self.cwd = cwd
        self.db_config = db_config
        self.env = process_env(db_config)
        self.procs: list[Proc] = []

    def start(self, name: str, args: list[str]) -> Proc:
        proc = Proc(name, args, self.cwd, self.env)
        self.procs.append(proc)
        return proc

    def janitor(self, janitor_id: str, *extra: str) -> Proc:
        return self.start(
            janitor_id, ["janitor", "--janitor-id", janitor_id, "--log-format", "plain", *extra]
        )

    def peon(self, worker_id: str, *extra: str) -> Proc:
        return self.start(
            worker_id,
            [
                "peon",
                f"--workcraft_path={APP_PATH}",
                "--worker-id",
                worker_id,
                "--log-format",
                "plain",
                *extra,
            ],
        )

    def run(self, args: list[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """A short command, run to completion."""
        return subprocess.run(
            [sys.executable, "-m", "workcraft", *args],
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def describe(self) -> str:
        return "\n".join(proc.describe() for proc in self.procs)

    def stop_all(self, timeout: float = 10) -> None:
        for proc in self.procs:
            if proc.alive():
                proc.popen.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in self.procs:
            try:
                proc.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.popen.send_signal(signal.SIGKILL)
                proc.popen.wait(timeout=10)


# -- rows -----------------------------------------------------------------------------------
def reset_executions(sql: SqlHelper) -> None:
    """The side table the ``janitor_apps`` tasks write one row to per execution."""
    sql.run(
        f"CREATE TABLE IF NOT EXISTS {EXECUTIONS_TABLE} ("
        " id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,"
        " task_id CHAR(36) NOT NULL,"
        " pid INT NOT NULL,"
        " executed_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),"
        " KEY ix_task (task_id))"
    )
    sql.run(f"DELETE FROM {EXECUTIONS_TABLE}")


def enqueue(sql: SqlHelper, task_name: str, task_id: str, *args: Any) -> str:
    """A plain-SQL enqueue (as any language could do it); the task gets its own id first."""
    payload = json.dumps({"task_args": [task_id, *args]})
    sql.run(
        "INSERT INTO bountyboard (id, task_name, payload) VALUES (%s, %s, %s)",
        (task_id, task_name, payload),
    )
    return task_id


def log_lines(sql: SqlHelper, like: str = "%") -> list[str]:
    return [
        str(row["message"])
        for row in sql.rows("SELECT message FROM logs WHERE message LIKE %s ORDER BY id", (like,))
    ]


def enqueue_many(sql: SqlHelper, task_name: str, task_ids: list[str], batch: int = 500) -> None:
    """Many plain-SQL enqueues, ``batch`` rows per multi-row INSERT."""
    conn: Any = sql.conn
    cur = conn.cursor()
    try:
        for start in range(0, len(task_ids), batch):
            rows = [
                (task_id, task_name, json.dumps({"task_args": [task_id]}))
                for task_id in task_ids[start : start + batch]
            ]
            cur.executemany(
                "INSERT INTO bountyboard (id, task_name, payload) VALUES (%s, %s, %s)", rows
            )
    finally:
        cur.close()
