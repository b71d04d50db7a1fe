"""Start and stop real workcraft processes for tests.

Every process writes its stdout and stderr to files (so a failing test can show the peon's
log), every wait has a deadline, and ``Procs.stop_all`` (called from a fixture's teardown)
terminates, then kills, whatever is still running.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from workcraft.db import DBConfig

T = TypeVar("T")

TESTS_DIR = Path(__file__).resolve().parent

# Small intervals so the tests are quick; the grace period is overridden where it matters.
FAST_SETTINGS: dict[str, float] = {
    "DB_POLLING_INTERVAL": 0.1,
    "DB_PEON_HEARTBEAT_INTERVAL": 0.5,
    "DB_SETUP_WAIT_TIME_BEFORE_WORKER_DECLARED_DEAD": 5,
    "PEON_SHUTDOWN_GRACE_SECONDS": 10,
}


def write_settings(directory: Path, **overrides: float) -> Path:
    """``workcraft.config.json`` in ``directory`` with the fast settings (plus overrides)."""
    path = directory / "workcraft.config.json"
    path.write_text(json.dumps({**FAST_SETTINGS, **overrides}, indent=2), encoding="utf-8")
    return path


def base_env() -> dict[str, str]:
    """The current environment without any WK_* variable, with tests/ on PYTHONPATH."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("WK_")}
    env.pop("WORKCRAFT_DEBUG", None)
    paths = [str(TESTS_DIR)]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def db_env(config: DBConfig) -> dict[str, str]:
    """``base_env`` plus WK_DB_* pointing at ``config``."""
    return {**base_env(), **config.as_env()}


def wait_until(
    predicate: Callable[[], T | None],
    timeout: float,
    message: str,
    details: Callable[[], str] | None = None,
    interval: float = 0.05,
) -> T:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value is not None and value is not False:
            return value
        if time.monotonic() >= deadline:
            extra = f"\n{details()}" if details is not None else ""
            raise AssertionError(f"timed out after {timeout} s: {message}{extra}")
        time.sleep(interval)


class Proc:
    """One child process whose output goes to ``<logs>/<name>.stdout|.stderr``."""

    def __init__(
        self, name: str, args: list[str], cwd: Path, env: Mapping[str, str], log_dir: Path
    ) -> None:
        self.name = name
        self.args = args
        log_dir.mkdir(parents=True, exist_ok=True)
        self.stdout_path = log_dir / f"{name}.stdout"
        self.stderr_path = log_dir / f"{name}.stderr"
        self._stdout = self.stdout_path.open("wb")
        self._stderr = self.stderr_path.open("wb")
        self.popen = subprocess.Popen(
            args,
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=self._stdout,
            stderr=self._stderr,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def returncode(self) -> int | None:
        return self.popen.poll()

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text(encoding="utf-8", errors="replace")

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def describe(self) -> str:
        return (
            f"--- {self.name} (pid {self.pid}, exit {self.returncode}): {' '.join(self.args)}\n"
            f"--- stdout:\n{self.stdout}--- stderr:\n{self.stderr}"
        )

    def send(self, sig: signal.Signals) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(sig)

    def wait(self, timeout: float) -> int:
        """The exit code; fails the test (with the log) if the process is still running."""
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"{self.name} still running after {timeout} s\n{self.describe()}"
            ) from None

    def wait_for_output(self, text: str, timeout: float) -> str:
        """Wait until ``text`` shows up in stdout or stderr; returns the whole output."""
        wait_until(
            lambda: text in self.output,
            timeout,
            f"{text!r} in the output of {self.name}",
            self.describe,
        )
        return self.output

    def stop(self, timeout: float = 5) -> None:
        """Terminate, then kill after ``timeout``; always reaps and closes the log files."""
        try:
            if self.popen.poll() is None:
                self.popen.terminate()
                try:
                    self.popen.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    self.popen.kill()
                    self.popen.wait(timeout=timeout)
        finally:
            self._stdout.close()
            self._stderr.close()


class Procs:
    """The processes one test started; ``stop_all`` runs in the fixture's teardown."""

    def __init__(self, workdir: Path, db_config: DBConfig | None = None) -> None:
        self.workdir = workdir
        self.db_config = db_config
        self.log_dir = workdir / "logs"
        self.started: list[Proc] = []

    def start(
        self,
        args: list[str],
        name: str | None = None,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Proc:
        if env is None:
            env = db_env(self.db_config) if self.db_config is not None else base_env()
        proc = Proc(
            name or f"proc{len(self.started)}",
            args,
            cwd or self.workdir,
            env,
            self.log_dir,
        )
        self.started.append(proc)
        return proc

    def workcraft(self, *args: str, name: str | None = None, **kw: Any) -> Proc:
        """``python -m workcraft ARGS`` in the work directory."""
        return self.start([sys.executable, "-m", "workcraft", *args], name=name, **kw)

    def peon(
        self,
        *args: str,
        worker_id: str,
        app: str = "apps.basic.app",
        **kw: Any,
    ) -> Proc:
        """A peon running ``app`` with id ``worker_id`` (extra flags in ``args``)."""
        return self.workcraft(
            "peon",
            f"--workcraft_path={app}",
            f"--worker-id={worker_id}",
            *args,
            name=kw.pop("name", worker_id),
            **kw,
        )

    def describe(self) -> str:
        return "\n".join(proc.describe() for proc in self.started)

    def stop_all(self) -> None:
        for proc in self.started:
            proc.stop()
        # Shown by pytest only when the test failed ("Captured stdout teardown").
        if self.started:
            print(self.describe())
