"""Raw SQL on a connection of the caller's own: ``Sql``, plus the server's address and
making and dropping databases.

Tests arrange rows and check outcomes with plain SQL, never through the library, so a bug
in the library's queries cannot hide itself; the benchmarks read their timings back the same
way. ``Sql`` is that one connection: autocommit, a UTC session, ``rows/value/count/ids/run``.
Given ``reconnect_for`` it reopens the connection (for at most that long) after the server
went away, which the fault tests need while they restart a private server.

The tests' server: WK_TEST_DB_HOST / WK_TEST_DB_PORT / WK_TEST_DB_USER / WK_TEST_DB_PASS
(default 127.0.0.1:3306, root, empty password; TCP, see FIELD-NOTES).
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import Any, TypeVar

import mysql.connector

from workcraft.data.ddl import quote_identifier
from workcraft.data.failures import is_transient
from workcraft.db import DBConfig

T = TypeVar("T")
Params = Iterable[Any] | Mapping[str, Any]

# While reconnecting, a connect attempt to a server that hangs must not eat the whole budget.
RECONNECT_CONNECT_TIMEOUT = 3
RECONNECT_PAUSE = 0.2


def server_config(database: str = "mysql") -> DBConfig:
    """The tests' server (WK_TEST_DB_*), as root, with ``database`` as the default database."""
    return DBConfig(
        host=os.environ.get("WK_TEST_DB_HOST", "127.0.0.1"),
        port=int(os.environ.get("WK_TEST_DB_PORT", "3306")),
        user=os.environ.get("WK_TEST_DB_USER", "root"),
        password=os.environ.get("WK_TEST_DB_PASS", ""),
        database=database,
    )


def admin_connection(
    config: DBConfig | None = None,
    database: str | None = None,
    *,
    connect_timeout: float | None = None,
) -> Any:
    """A plain autocommit mysql.connector connection to ``config``'s server (the tests' server
    by default), with ``database`` as the default database (None: no default database).

    For what ``Sql`` does not do: transactions held open, ``KILL``, ``executemany``.
    TLS is used when ``config.use_ssl`` says so (a benchmark pointed at such a server)."""
    config = config or server_config()
    kwargs: dict[str, Any] = {
        "host": config.host,
        "port": config.port,
        "user": config.user,
        "password": config.password,
        "database": database,
        "autocommit": True,
    }
    if connect_timeout is not None:
        kwargs["connection_timeout"] = connect_timeout
    if config.use_ssl:
        kwargs["ssl_disabled"] = False
        if config.ssl_path:
            kwargs["ssl_ca"] = config.ssl_path
            kwargs["ssl_verify_cert"] = True
    return mysql.connector.connect(**kwargs)


def unique_db_name(prefix: str = "wkt") -> str:
    """A database name no other test (or xdist worker) uses."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw")
    return f"{prefix}_{worker}_{uuid.uuid4().hex[:10]}"


def drop_database(name: str, server: DBConfig | None = None) -> None:
    """``DROP DATABASE IF EXISTS`` on ``server`` (the tests' server by default); it gives up
    after 30 s instead of hanging behind a connection someone left open."""
    with Sql(server or server_config(), with_database=False) as sql:
        sql.run("SET SESSION lock_wait_timeout = 30")
        sql.run("DROP DATABASE IF EXISTS " + quote_identifier(name))


class Sql:
    """Raw SQL on one autocommit connection (opened on first use, UTC session).

    ``reconnect_for`` > 0: a statement that fails because the connection or the server went
    away is retried on a new connection until it succeeds or that many seconds have passed.
    ``with_database=False``: no default database (to create or drop one).
    """

    def __init__(
        self,
        config: DBConfig,
        *,
        with_database: bool = True,
        reconnect_for: float = 0.0,
    ) -> None:
        self.config = config
        self.database = config.database if with_database else None
        self.reconnect_for = reconnect_for
        self._conn: Any = None

    @property
    def conn(self) -> Any:
        """The connection itself, for a cursor of the caller's own."""
        if self._conn is None:
            timeout = RECONNECT_CONNECT_TIMEOUT if self.reconnect_for > 0 else None
            conn = admin_connection(self.config, self.database, connect_timeout=timeout)
            cur = conn.cursor()
            cur.execute("SET time_zone = '+00:00'")
            cur.close()
            self._conn = conn
        return self._conn

    def close(self) -> None:
        """Close the connection (a later statement opens a new one)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):  # a dead socket cannot be closed politely
                conn.close()

    def __enter__(self) -> Sql:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _call(self, fn: Callable[[Any], T], dictionary: bool = False) -> T:
        deadline = time.monotonic() + self.reconnect_for
        while True:
            try:
                cur = self.conn.cursor(dictionary=dictionary)
                try:
                    return fn(cur)
                finally:
                    with contextlib.suppress(Exception):
                        cur.close()
            except (mysql.connector.InterfaceError, mysql.connector.OperationalError) as exc:
                if self.reconnect_for <= 0:
                    raise
                self.close()
                if not (is_transient(exc) or isinstance(exc, mysql.connector.InterfaceError)):
                    raise
                if time.monotonic() > deadline:
                    raise
                time.sleep(RECONNECT_PAUSE)

    @staticmethod
    def _params(params: Params) -> Any:
        return params if isinstance(params, Mapping) else tuple(params)

    def rows(self, statement: str, params: Params = ()) -> list[dict[str, Any]]:
        """Every row, as a dict by column name."""

        def fetch(cur: Any) -> list[dict[str, Any]]:
            cur.execute(statement, self._params(params))
            return list(cur.fetchall()) if cur.with_rows else []

        return self._call(fetch, dictionary=True)

    def tuples(self, statement: str, params: Params = ()) -> list[tuple[Any, ...]]:
        """Every row, as a tuple."""

        def fetch(cur: Any) -> list[tuple[Any, ...]]:
            cur.execute(statement, self._params(params))
            return [tuple(row) for row in cur.fetchall()] if cur.with_rows else []

        return self._call(fetch)

    def value(self, statement: str, params: Params = ()) -> Any:
        """The first column of the first row, or None when there is no row."""
        rows = self.tuples(statement, params)
        return rows[0][0] if rows else None

    def count(self, statement: str, params: Params = ()) -> int:
        """``value`` as an int (NULL or no row: 0), for ``SELECT COUNT(*)`` and the like."""
        return int(self.value(statement, params) or 0)

    def ids(self, statement: str, params: Params = ()) -> set[str]:
        """The ``id`` column of every row."""
        return {str(row["id"]) for row in self.rows(statement, params)}

    def run(self, statement: str, params: Params = ()) -> int:
        """Execute a statement; the number of rows it changed."""

        def execute(cur: Any) -> int:
            cur.execute(statement, self._params(params))
            if cur.with_rows:
                cur.fetchall()
            return int(cur.rowcount)

        return self._call(execute)
