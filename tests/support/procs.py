"""Real child processes for tests and benchmarks: ``python -m workcraft ...`` and peer workers.

One implementation because every caller needs the same guarantees: a child's stdout and
stderr go to files (a failing test shows them, and a chatty child never blocks on a full
pipe), every wait has a deadline, and ``ProcGroup.stop_all`` (a fixture's teardown, or the
end of a ``with`` block) wakes frozen children, sends SIGTERM, and SIGKILLs whatever is
still there after the grace period. A group started with ``own_session=True`` puts each
child in a session of its own and kills it as a process group, so what it forked (Celery's
and Huey's pool processes) cannot outlive it.

Children get ``child_env``: no WK_* from the caller's environment (WK_DB_* only from the
config given), the repo root first on PYTHONPATH so ``tests.apps...`` and ``bench.apps``
import, and unbuffered output so the log files are current.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from tests.support.waiting import wait_until
from workcraft.db import DBConfig

REPO_ROOT = Path(__file__).resolve().parents[2]
CONSOLE_SCRIPT = Path(sys.executable).parent / "workcraft"

# ``--workcraft_path`` of the test apps (importable with the repo root on PYTHONPATH).
BASIC_APP = "tests.apps.basic.app"
JANITOR_APP = "tests.janitor_apps.tasks.app"
FAULT_APP = "tests.fault_apps.tasks.app"
SECURITY_APP = "tests.security_apps.hostile.app"
CLUSTER_APP = "tests.cluster_apps.tasks.app"

# Variables a child must not inherit: they would change what it does or where it connects.
_NOT_INHERITED = ("WORKCRAFT_DEBUG", "PYTEST_XDIST_WORKER")
KILL_WAIT = 15.0  # reaping after SIGKILL: only a process in the kernel's hands takes long


def child_env(config: DBConfig | None = None, **extra: str) -> dict[str, str]:
    """The environment for a child: the caller's without WK_* variables (WK_DB_* for
    ``config`` instead, never on the command line), the repo root first on PYTHONPATH,
    PYTHONUNBUFFERED, then ``extra``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("WK_") and key not in _NOT_INHERITED
    }
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    if config is not None:
        env.update(config.as_env())
    env.update(extra)
    return env


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


def _last_lines(text: str, lines: int) -> str:
    return "\n".join(text.splitlines()[-lines:])


class ProcFailed(RuntimeError):
    """A child exited early, exited non-zero, or outlived its deadline (``wait_all``,
    ``check_alive``): the benchmarks report it instead of a number."""


class Proc:
    """One child process; its output goes to ``<log_dir>/<name>.stdout`` and ``.stderr``
    (one ``<name>.log`` with ``combined_output``)."""

    def __init__(
        self,
        name: str,
        args: list[str],
        *,
        cwd: Path,
        env: Mapping[str, str],
        log_dir: Path,
        own_session: bool = False,
        combined_output: bool = False,
    ) -> None:
        self.name = name
        self.args = args
        self.own_session = own_session
        self.combined_output = combined_output
        log_dir.mkdir(parents=True, exist_ok=True)
        if combined_output:
            self.stdout_path = self.stderr_path = log_dir / f"{name}.log"
        else:
            self.stdout_path = log_dir / f"{name}.stdout"
            self.stderr_path = log_dir / f"{name}.stderr"
        # The child gets its own copies of the file descriptors; ours are closed at once.
        with contextlib.ExitStack() as files:
            stdout = files.enter_context(self.stdout_path.open("wb"))
            stderr = (
                subprocess.STDOUT
                if combined_output
                else files.enter_context(self.stderr_path.open("wb"))
            )
            self.popen = subprocess.Popen(
                args,
                cwd=cwd,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
                start_new_session=own_session,
            )

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def returncode(self) -> int | None:
        """The exit code, or None while it runs (also while it is frozen)."""
        return self.popen.poll()

    def alive(self) -> bool:
        return self.popen.poll() is None

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text(encoding="utf-8", errors="replace")

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    @property
    def output(self) -> str:
        """stdout then stderr (the one log of a combined-output child)."""
        return self.stdout if self.combined_output else self.stdout + self.stderr

    def describe(self, lines: int = 200) -> str:
        """Command, state and the last ``lines`` lines of each stream: for failure messages
        (the whole logs stay in their files, named here)."""
        state = "running" if self.returncode is None else f"exit {self.returncode}"
        head = f"--- {self.name} (pid {self.pid}, {state}): {' '.join(self.args)}"
        if self.combined_output:
            return f"{head}\n--- {self.stdout_path}:\n{_last_lines(self.stdout, lines)}"
        return (
            f"{head}\n--- stdout ({self.stdout_path}):\n{_last_lines(self.stdout, lines)}\n"
            f"--- stderr ({self.stderr_path}):\n{_last_lines(self.stderr, lines)}"
        )

    def tail(self, lines: int = 20) -> str:
        """The last ``lines`` lines of the output."""
        return _last_lines(self.output, lines)

    def send(self, sig: signal.Signals) -> None:
        """Send ``sig`` to the child itself (not its group), unless it has been reaped."""
        if self.popen.poll() is None:
            self.popen.send_signal(sig)

    def signal_group(self, sig: signal.Signals) -> None:
        """Send ``sig`` to the child's whole process group (``own_session`` children only):
        also reaches pool processes whose parent is already gone."""
        if self.own_session:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.popen.pid, sig)

    def freeze(self) -> None:
        """SIGSTOP: the process stops, as if the machine had stalled it."""
        self.send(signal.SIGSTOP)

    def thaw(self) -> None:
        """SIGCONT: a frozen process carries on (no-op for a running one)."""
        self.send(signal.SIGCONT)

    def kill9(self) -> int:
        """``kill -9`` (its whole group for an ``own_session`` child); the exit code."""
        if self.own_session:
            self.signal_group(signal.SIGKILL)
        self.send(signal.SIGKILL)
        return self.popen.wait(timeout=KILL_WAIT)

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
        """SIGTERM (after waking it), then ``kill -9`` after ``timeout`` s; always reaps."""
        if self.popen.poll() is None:
            self.thaw()
            self.send(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill9()

    def rss_kib(self) -> int | None:
        """Resident memory now (KiB), or None when the process is gone."""
        return rss_kib(self.pid)


class ProcGroup:
    """The processes one test (or one benchmark step) starts, all stopped by ``stop_all``.

    ``workdir`` is every child's working directory (where it finds workcraft.config.json);
    logs go to ``log_dir`` (default ``workdir/logs``). Children get ``child_env(db_config)``
    unless given an env. ``app`` is the default ``--workcraft_path`` of ``peon``;
    ``log_format``, when set, is passed to every peon and janitor. ``grace`` is how long
    ``stop_all`` waits after SIGTERM before ``kill -9``.
    """

    def __init__(
        self,
        workdir: Path,
        db_config: DBConfig | None = None,
        *,
        app: str = BASIC_APP,
        log_format: str | None = None,
        grace: float = 5.0,
        log_dir: Path | None = None,
        own_session: bool = False,
        combined_output: bool = False,
    ) -> None:
        self.workdir = workdir
        self.db_config = db_config
        self.app = app
        self.log_format = log_format
        self.grace = grace
        self.log_dir = log_dir or workdir / "logs"
        self.own_session = own_session
        self.combined_output = combined_output
        self.started: list[Proc] = []

    def env(self) -> dict[str, str]:
        """The environment a child gets unless the caller passes one."""
        return child_env(self.db_config)

    def _unique_name(self, name: str) -> str:
        taken = {proc.name for proc in self.started}
        candidate, number = name, 1
        while candidate in taken:  # never overwrite another child's log files
            number += 1
            candidate = f"{name}-{number}"
        return candidate

    def start(
        self,
        args: list[str],
        *,
        name: str | None = None,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Proc:
        """Start ``args`` (a whole command line)."""
        proc = Proc(
            self._unique_name(name or f"proc{len(self.started)}"),
            args,
            cwd=cwd or self.workdir,
            env=self.env() if env is None else env,
            log_dir=self.log_dir,
            own_session=self.own_session,
            combined_output=self.combined_output,
        )
        self.started.append(proc)
        return proc

    def workcraft(
        self,
        *args: str,
        name: str | None = None,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Proc:
        """``python -m workcraft ARGS``."""
        command = [sys.executable, "-m", "workcraft", *args]
        return self.start(command, name=name, cwd=cwd, env=env)

    def _log_format_flags(self, log_format: str | None) -> list[str]:
        chosen = log_format or self.log_format
        return [f"--log-format={chosen}"] if chosen else []

    def peon(
        self,
        worker_id: str,
        *flags: str,
        app: str | None = None,
        name: str | None = None,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        log_format: str | None = None,
    ) -> Proc:
        """A peon with id ``worker_id`` running ``app`` (the group's by default); its log
        files are named after the worker id unless ``name`` is given."""
        return self.workcraft(
            "peon",
            f"--workcraft_path={app or self.app}",
            f"--worker-id={worker_id}",
            *self._log_format_flags(log_format),
            *flags,
            name=name or worker_id,
            cwd=cwd,
            env=env,
        )

    def janitor(
        self,
        janitor_id: str,
        *flags: str,
        name: str | None = None,
        env: Mapping[str, str] | None = None,
        log_format: str | None = None,
    ) -> Proc:
        """A serving janitor with id ``janitor_id``."""
        return self.workcraft(
            "janitor",
            f"--janitor-id={janitor_id}",
            *self._log_format_flags(log_format),
            *flags,
            name=name or janitor_id,
            env=env,
        )

    def run(
        self, *args: str, env: Mapping[str, str] | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """A short ``python -m workcraft ARGS`` in the work directory, run to completion."""
        return run_workcraft(
            *args, cwd=self.workdir, env=self.env() if env is None else env, timeout=timeout
        )

    def describe(self, lines: int = 200) -> str:
        return "\n".join(proc.describe(lines) for proc in self.started)

    def tails(self, lines: int = 40) -> str:
        """The last ``lines`` lines of every child's output (shorter than ``describe``)."""
        parts = []
        for proc in self.started:
            out = proc.output.splitlines()
            parts.append(
                f"--- {proc.name} (pid {proc.pid}, exit {proc.returncode}), "
                f"last {min(lines, len(out))} of {len(out)} lines:\n" + "\n".join(out[-lines:])
            )
        return "\n".join(parts)

    def check_alive(self) -> None:
        """Raise ``ProcFailed`` if any child has exited."""
        for proc in self.started:
            if not proc.alive():
                raise ProcFailed(f"{proc.name} exited early ({proc.returncode}):\n{proc.tail()}")

    def wait_all(self, timeout: float) -> None:
        """Wait for every child to exit; a non-zero exit or the deadline raises ``ProcFailed``."""
        deadline = time.monotonic() + timeout
        for proc in self.started:
            try:
                code = proc.popen.wait(timeout=max(0.01, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                raise ProcFailed(
                    f"{proc.name} still running after {timeout:.0f} s:\n{proc.tail()}"
                ) from None
            if code != 0:
                raise ProcFailed(f"{proc.name} exited with {code}:\n{proc.tail()}")

    def stop_all(self, grace: float | None = None) -> None:
        """Wake frozen children, SIGTERM every running one (the child itself: a peer worker
        then stops its own pool), ``kill -9`` what is left after ``grace`` s; always reaps.
        For ``own_session`` children, finally SIGKILL each group: pool processes of a child
        that exited first may still be around. Calling it again does nothing more."""
        grace = self.grace if grace is None else grace
        running = [proc for proc in self.started if proc.alive()]
        for proc in running:
            proc.thaw()  # a frozen process would never act on SIGTERM
            proc.send(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for proc in running:
            try:
                proc.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill9()
        for proc in self.started:
            proc.signal_group(signal.SIGKILL)

    def __enter__(self) -> ProcGroup:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop_all()


def run_workcraft(
    *args: str,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
    script: bool = False,
) -> subprocess.CompletedProcess[str]:
    """``python -m workcraft ARGS`` (or the ``workcraft`` console script) to completion, in
    ``cwd``, output captured as text; ``env`` defaults to ``child_env()``."""
    command = [str(CONSOLE_SCRIPT)] if script else [sys.executable, "-m", "workcraft"]
    return subprocess.run(
        [*command, *args],
        cwd=cwd,
        env=dict(env) if env is not None else child_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=timeout,
        check=False,
    )


def describe_run(result: subprocess.CompletedProcess[str]) -> str:
    """Exit code and both streams of a finished ``run_workcraft``, for failure messages."""
    return f"exit {result.returncode}\n--- stdout:\n{result.stdout}--- stderr:\n{result.stderr}"
