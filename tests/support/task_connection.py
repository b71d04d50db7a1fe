"""What a test task writes from inside a peon, to a side table of the test's: a connection
of its own per worker thread (never the peon's), and a write retried across a database
restart until a deadline (the fault and soak apps run while the server goes and comes)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import mysql.connector

from workcraft.db import get_db_config

T = TypeVar("T")
RETRY_PAUSE = 0.2


class TaskConnection:
    """One connection per thread to the database in the peon's WK_DB_* environment."""

    def __init__(self, connect_timeout: float = 2) -> None:
        self.connect_timeout = connect_timeout
        self._local = threading.local()

    def _connection(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            kwargs = get_db_config().connect_kwargs()
            kwargs["connection_timeout"] = self.connect_timeout
            conn = self._local.conn = mysql.connector.connect(**kwargs)
        return conn

    def _drop(self) -> None:
        conn, self._local.conn = getattr(self._local, "conn", None), None
        if conn is not None:
            with contextlib.suppress(Exception):  # a dead socket cannot be closed politely
                conn.close()

    def retry_until(self, deadline: float, write: Callable[[Any], T]) -> T:
        """``write(cursor)`` (autocommit), again on a new connection after a connector error
        until the monotonic ``deadline``; then the error is raised."""
        while True:
            try:
                cur = self._connection().cursor()
                try:
                    return write(cur)
                finally:
                    cur.close()
            except mysql.connector.Error:
                self._drop()
                if time.monotonic() > deadline:
                    raise
                time.sleep(RETRY_PAUSE)
