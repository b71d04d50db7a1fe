"""A throw-away MariaDB/MySQL server on a free port, for measurements that read the server's
global counters (``Questions``): on the shared server other sessions' queries swamp them.

It is the test suite's ``tests/support/private_server.py`` (one implementation of starting a
private server), here with an empty data directory of its own instead of a session template.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tests.support.private_server import PrivateServer, init_datadir
from workcraft.db import DBConfig


class ServerUnavailable(RuntimeError):
    """No server binary here (the idle benchmark is then skipped, and says why)."""


@contextlib.contextmanager
def private_server(timeout: float = 60) -> Iterator[DBConfig]:
    """Start a server with an empty data directory; stop it and delete everything at the end.

    Yields a config for root over TCP (database name ``workcraft``; callers replace it)."""
    workdir = Path(tempfile.mkdtemp(prefix="wkbench-mariadb-"))
    datadir = workdir / "data"
    try:
        init_datadir(datadir)
    except (RuntimeError, OSError) as exc:
        raise ServerUnavailable(str(exc)) from None
    server = PrivateServer(datadir, workdir=workdir)  # datadir exists: no copy
    try:
        try:
            server.start(timeout=timeout)
        except RuntimeError as exc:
            raise ServerUnavailable(str(exc)) from None
        yield server.config()
    finally:
        server.close()
