"""Child processes: workcraft peons, peer workers. Every one is stopped at the end.

Each child gets its own session (process group), so stopping it also stops whatever it
forked (Celery's and Huey's pool processes): SIGTERM to the group, then SIGKILL after a
grace period. Output goes to a log file per process; ``tail`` shows it when something fails.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from workcraft.db import DBConfig

REPO_ROOT = Path(__file__).resolve().parent.parent
APP_PATH = "bench.apps.app"


def child_env(config: DBConfig | None = None, **extra: str) -> dict[str, str]:
    """The environment for a child: WK_DB_* for ``config`` (never on the command line)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("WK_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    if config is not None:
        env.update(config.as_env())
    env.update(extra)
    return env


def write_settings(directory: Path, name: str, **settings: float) -> Path:
    """A workcraft.config.json for ``--config`` (defaults for every key not given)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.config.json"
    path.write_text(json.dumps(settings, indent=2), encoding="utf-8")
    return path


def peon_command(
    config_file: Path,
    worker_id: str,
    concurrency: int = 1,
    burst: bool = False,
    log_level: str = "INFO",
) -> list[str]:
    args = [
        sys.executable,
        "-m",
        "workcraft",
        "peon",
        f"--workcraft-path={APP_PATH}",
        f"--worker-id={worker_id}",
        f"--concurrency={concurrency}",
        f"--config={config_file}",
        "--log-format=plain",
        f"--log-level={log_level}",
    ]
    if burst:
        args.append("--burst")
    return args


class Child:
    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / f"{name}.log"
        self._log = self.log_path.open("wb")
        self.popen = subprocess.Popen(
            args,
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signum)

    def tail(self, lines: int = 20) -> str:
        self._log.flush()
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def close(self) -> None:
        self._log.close()


class ChildFailed(RuntimeError):
    pass


class ProcessGroup:
    """``with ProcessGroup(log_dir) as group: group.start(...)``; all stopped on exit."""

    def __init__(self, log_dir: Path, grace: float = 10.0) -> None:
        self.log_dir = log_dir
        self.grace = grace
        self.children: list[Child] = []

    def start(self, name: str, args: list[str], env: dict[str, str]) -> Child:
        child = Child(name, args, env, self.log_dir)
        self.children.append(child)
        return child

    def wait_all(self, timeout: float) -> None:
        """Wait for every child to exit; a non-zero exit or the deadline raises."""
        deadline = time.monotonic() + timeout
        for child in self.children:
            remaining = deadline - time.monotonic()
            try:
                code = child.popen.wait(timeout=max(0.01, remaining))
            except subprocess.TimeoutExpired:
                raise ChildFailed(
                    f"{child.name} still running after {timeout:.0f} s:\n{child.tail()}"
                ) from None
            if code != 0:
                raise ChildFailed(f"{child.name} exited with {code}:\n{child.tail()}")

    def check_alive(self) -> None:
        for child in self.children:
            if not child.alive():
                code = child.popen.returncode
                raise ChildFailed(f"{child.name} exited early ({code}):\n{child.tail()}")

    def stop_all(self) -> None:
        # SIGTERM to the child itself (a peer worker then stops its own pool), SIGKILL to its
        # whole group once the grace period is over or the child is gone.
        for child in self.children:
            if child.alive():
                child.popen.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.grace
        for child in self.children:
            try:
                child.popen.wait(timeout=max(0.01, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.signal_group(signal.SIGKILL)
                child.popen.wait()
            # Pool processes of a child that exited first may still be around.
            child.signal_group(signal.SIGKILL)
            child.close()

    def __enter__(self) -> ProcessGroup:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop_all()


def rss_kib(pid: int) -> int | None:
    """VmRSS of a process from /proc (KiB), or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return None


def wait_for(predicate: Any, timeout: float, what: str, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)
