"""A throw-away MariaDB/MySQL server on a free port, for measurements that read the server's
global counters (``Questions``): on the shared server other sessions' queries swamp them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import mysql.connector

from workcraft.db import DBConfig

SERVER_BINARIES = ("/usr/sbin/mariadbd", "/usr/sbin/mysqld")
INSTALL_DB = ("mariadb-install-db", "mysql_install_db")


class ServerUnavailable(RuntimeError):
    """No server binary here (the idle benchmark is then skipped, and says why)."""


def _server_binary() -> str:
    for candidate in (*SERVER_BINARIES, shutil.which("mariadbd") or ""):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise ServerUnavailable("no mariadbd/mysqld binary on this machine")


def _install_db() -> str:
    for name in INSTALL_DB:
        path = shutil.which(name)
        if path:
            return path
    raise ServerUnavailable("no mariadb-install-db on this machine")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(port: int) -> bool:
    try:
        conn = mysql.connector.connect(
            host="127.0.0.1", port=port, user="root", password="", connection_timeout=1
        )
    except mysql.connector.Error:
        return False
    conn.close()
    return True


@contextlib.contextmanager
def private_server(timeout: float = 60) -> Iterator[DBConfig]:
    """Start a server with an empty data directory; stop it and delete everything at the end.

    Yields a config for root over TCP (database name ``workcraft``; callers replace it)."""
    binary, install_db = _server_binary(), _install_db()
    workdir = Path(tempfile.mkdtemp(prefix="wkbench-mariadb-"))
    datadir = workdir / "data"
    port = _free_port()
    process: subprocess.Popen[bytes] | None = None
    try:
        subprocess.run(
            [
                install_db,
                "--no-defaults",
                f"--datadir={datadir}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                "--user=root",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=120,
        )
        process = subprocess.Popen(
            [
                binary,
                "--no-defaults",
                f"--datadir={datadir}",
                f"--port={port}",
                "--bind-address=127.0.0.1",
                f"--socket={workdir / 'mysqld.sock'}",
                f"--pid-file={workdir / 'mysqld.pid'}",
                f"--log-error={workdir / 'error.log'}",
                "--user=root",
                "--skip-log-bin",
                "--innodb-buffer-pool-size=64M",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while not _answers(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise ServerUnavailable("the private server did not start")
            time.sleep(0.1)
        yield DBConfig(host="127.0.0.1", port=port, user="root", password="")
    finally:
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(workdir, ignore_errors=True)
