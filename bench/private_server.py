"""A throw-away MariaDB/MySQL server on a free port, for measurements that read the server's
global counters (``Questions``): on the shared server other sessions' queries swamp them.

It is the test suite's ``tests/private_server.py`` (one implementation of starting a private
server), loaded from its file since ``tests`` is not a package.
"""

from __future__ import annotations

import contextlib
import importlib.util
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

from workcraft.db import DBConfig

_SOURCE = Path(__file__).resolve().parents[1] / "tests" / "private_server.py"


class ServerUnavailable(RuntimeError):
    """No server binary here (the idle benchmark is then skipped, and says why)."""


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("workcraft_private_server", _SOURCE)
    if spec is None or spec.loader is None:
        raise ServerUnavailable(f"cannot load {_SOURCE}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def private_server(timeout: float = 60) -> Iterator[DBConfig]:
    """Start a server with an empty data directory; stop it and delete everything at the end.

    Yields a config for root over TCP (database name ``workcraft``; callers replace it)."""
    module = _load()
    workdir = Path(tempfile.mkdtemp(prefix="wkbench-mariadb-"))
    datadir = workdir / "data"
    try:
        module.init_datadir(datadir)
    except (RuntimeError, OSError) as exc:
        raise ServerUnavailable(str(exc)) from None
    server = module.PrivateServer(datadir, workdir=workdir)  # datadir exists: no copy
    try:
        try:
            server.start(timeout=timeout)
        except RuntimeError as exc:
            raise ServerUnavailable(str(exc)) from None
        yield server.config()
    finally:
        server.close()
