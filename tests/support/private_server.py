"""A private MariaDB/MySQL server for tests that stop, start or reconfigure the server.

It runs on a free port with its own temporary data directory, never the shared server.
Data directories are initialised once per session into a template and copied per server,
so starting one costs well under a second. ``throwaway_server()`` starts one from an empty
data directory instead: ``bench`` (to read a server's global counters undisturbed) and the
demo (on a machine where no server answers) use it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import mysql.connector

from tests.support.net import free_port
from workcraft.db import DBConfig


def find_server_binary() -> str:
    """The server binary (MariaDB's name first)."""
    for candidate in ("/usr/sbin/mariadbd", "/usr/sbin/mysqld", shutil.which("mariadbd") or ""):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise RuntimeError("no mariadbd/mysqld on this machine")


def find_install_db() -> str:
    """The tool that initialises a data directory."""
    for name in ("mariadb-install-db", "mysql_install_db"):
        path = shutil.which(name)
        if path:
            return path
    raise RuntimeError("no mariadb-install-db on this machine")


def init_datadir(target: Path) -> None:
    """An initialised, never-started data directory at ``target`` (root, no password)."""
    # A tmpdir of its own: concurrent bootstraps (one per xdist worker) otherwise collide on
    # temporary tables in /tmp ("Unknown table 'mysql.tmp_user_sys'").
    tmpdir = target.parent / f"{target.name}-tmp"
    tmpdir.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [
            find_install_db(),
            "--no-defaults",
            f"--datadir={target}",
            f"--tmpdir={tmpdir}",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            "--user=root",
        ],
        capture_output=True,
        timeout=120,
    )
    if done.returncode != 0:
        output = (done.stdout + done.stderr).decode(errors="replace")[-2000:]
        raise RuntimeError(f"mariadb-install-db failed ({done.returncode}):\n{output}")


class PrivateServer:
    """``start()``, ``stop()``, ``restart()``; ``config(database)`` for clients."""

    def __init__(
        self,
        template: Path,
        workdir: Path | None = None,
        tls: tuple[Path, Path, Path] | None = None,
    ) -> None:
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="wk-mariadb-"))
        self.datadir = self.workdir / "data"
        if not self.datadir.exists():
            shutil.copytree(template, self.datadir)
        self.port = free_port()
        self.tls = tls  # (ca, cert, key)
        self.process: subprocess.Popen[bytes] | None = None
        self.error_log = self.workdir / "error.log"
        self.tmpdir = self.workdir / "tmp"
        self.tmpdir.mkdir(exist_ok=True)

    def command(self) -> list[str]:
        cmd = [
            find_server_binary(),
            "--no-defaults",
            f"--datadir={self.datadir}",
            f"--port={self.port}",
            "--bind-address=127.0.0.1",
            f"--socket={self.workdir / 'mysqld.sock'}",
            f"--pid-file={self.workdir / 'mysqld.pid'}",
            f"--log-error={self.error_log}",
            f"--tmpdir={self.tmpdir}",
            "--user=root",
            "--skip-log-bin",
            "--innodb-buffer-pool-size=64M",
            "--max-connections=300",
        ]
        if self.tls:
            ca, cert, key = self.tls
            cmd += [f"--ssl-ca={ca}", f"--ssl-cert={cert}", f"--ssl-key={key}"]
        return cmd

    def start(self, timeout: float = 30) -> None:
        assert self.process is None or self.process.poll() is not None, "already running"
        self.process = subprocess.Popen(
            self.command(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"private server exited: {self.error_log.read_text()[-2000:]}")
            if self.answers():
                return
            time.sleep(0.1)
        raise RuntimeError(f"private server did not answer within {timeout} s")

    def answers(self) -> bool:
        try:
            conn = mysql.connector.connect(
                host="127.0.0.1", port=self.port, user="root", password="", connection_timeout=1
            )
        except mysql.connector.Error:
            return False
        conn.close()
        return True

    def stop(self, timeout: float = 30) -> None:
        """A clean shutdown (SIGTERM), as a restart by an operator would do."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        """A crash (SIGKILL)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def restart(self, down_for: float = 0) -> None:
        self.stop()
        time.sleep(down_for)
        self.start()

    def config(self, database: str = "workcraft", **changes: object) -> DBConfig:
        values: dict[str, object] = {
            "host": "127.0.0.1",
            "port": self.port,
            "user": "root",
            "password": "",
            "database": database,
        }
        values.update(changes)
        return DBConfig(**values)  # type: ignore[arg-type]

    def close(self) -> None:
        self.kill()
        with contextlib.suppress(OSError):
            shutil.rmtree(self.workdir)


class ServerUnavailable(RuntimeError):
    """No server binary here, or it did not start (the message says which)."""


@contextlib.contextmanager
def throwaway_server(timeout: float = 60) -> Iterator[DBConfig]:
    """Start a server with an empty data directory; stop it and delete everything at the end.

    Yields a config for root over TCP (database name ``workcraft``; callers replace it)."""
    workdir = Path(tempfile.mkdtemp(prefix="wk-throwaway-mariadb-"))
    datadir = workdir / "data"
    try:
        try:
            find_server_binary()
            init_datadir(datadir)
        except (RuntimeError, OSError) as exc:
            raise ServerUnavailable(str(exc)) from None
        server = PrivateServer(datadir, workdir=workdir)  # datadir exists: no copy
        try:
            server.start(timeout=timeout)
        except RuntimeError as exc:
            raise ServerUnavailable(str(exc)) from None
        try:
            yield server.config()
        finally:
            server.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
