"""The one object that talks to MySQL: connections, retries, transactions, named queries.

Callers name a query from ``sql/queries.sql``; they never hold SQL text. Transient errors
(server gone, lost connection, cannot connect, deadlock, lock wait timeout) are retried with
exponential backoff; permanent ones (access denied, unknown database, missing table) raise a
clear ``WorkcraftError`` at once. A ``Store`` holds one connection: use one per thread.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import mysql.connector
from mysql.connector.errors import get_mysql_exception
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_delay,
    stop_any,
    stop_never,
    wait_exponential,
    wait_random,
)

from workcraft.connection import open_connection
from workcraft.db import DBConfig
from workcraft.errors import (
    DatabaseError,
    DatabaseUnavailable,
    PayloadTooLarge,
    SchemaMissing,
    UnknownDatabase,
    WorkcraftError,
)
from workcraft.queries import expand, load_queries

log = logging.getLogger("workcraft.db")
T = TypeVar("T")

# Client/server error numbers that mean "try again": connection problems, server restarts,
# deadlocks and lock wait timeouts.
TRANSIENT_ERRNOS = frozenset(
    {
        1040,  # too many connections
        1053,  # server shutdown in progress
        1205,  # lock wait timeout
        1213,  # deadlock
        1927,  # connection killed (MariaDB)
        2002,  # can't connect through socket
        2003,  # can't connect to server
        2006,  # server has gone away
        2013,  # lost connection during query
        2055,  # lost connection (pure-python connector)
        4031,  # disconnected by the server because of inactivity (MySQL 8)
    }
)
ACCESS_DENIED = frozenset({1044, 1045, 1142, 1227, 1698})
UNKNOWN_DATABASE = 1049
NO_SUCH_TABLE = 1146
SSL_ERRORS = frozenset({2026})
PACKET_TOO_LARGE = 1153


_TLS_MARKERS = (
    "CERTIFICATE_VERIFY_FAILED",
    "SSL routines",
    "[SSL",
    "SSL connection error",
    "SSL is required",
)


def is_tls_failure(exc: BaseException) -> bool:
    """A certificate or handshake failure: retrying cannot fix it. (The pure-Python
    connector reports a failed verification as a lost connection.)"""
    text = f"{getattr(exc, 'msg', None) or ''} {exc}"
    if any(marker in text for marker in _TLS_MARKERS):
        return True
    cause = exc.__cause__ or exc.__context__
    return isinstance(cause, OSError) and type(cause).__name__.startswith("SSL")


def is_transient(exc: BaseException) -> bool:
    if is_tls_failure(exc):
        return False
    if isinstance(exc, mysql.connector.Error):
        errno = getattr(exc, "errno", None)
        if errno in TRANSIENT_ERRNOS:
            return True
        # The pure-python connector reports some broken sockets without an errno.
        return errno in (None, -1) and isinstance(exc, mysql.connector.errors.OperationalError)
    return isinstance(exc, (ConnectionError, TimeoutError))


def as_connector_error(exc: BaseException) -> mysql.connector.Error | None:
    """The C extension raises its own ``MySQLInterfaceError`` from some calls (COMMIT on a
    dropped connection, for one); give it the connector's class for its errno so it is
    classified and retried like any other."""
    if type(exc).__name__ != "MySQLInterfaceError":
        return None
    errno = getattr(exc, "errno", None) or -1
    msg = getattr(exc, "msg", None) or str(exc)
    sqlstate = getattr(exc, "sqlstate", None)
    converted = get_mysql_exception(errno, msg, sqlstate)
    return converted if isinstance(converted, mysql.connector.Error) else None


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """``give_up_after=None`` retries forever (peons, janitors); commands give up sooner."""

    give_up_after: float | None = 3.0
    max_backoff: float = 5.0
    stop_event: threading.Event | None = None

    @classmethod
    def forever(cls, stop_event: threading.Event | None = None) -> RetryPolicy:
        return cls(give_up_after=None, max_backoff=5.0, stop_event=stop_event)


class Cursor:
    """A thin wrapper that runs named queries on one open cursor."""

    def __init__(self, raw: Any) -> None:
        self._raw = raw
        self._queries = load_queries()

    def _sql(self, name: str, expansions: dict[str, int] | None) -> str:
        sql = self._queries[name]
        return expand(sql, **expansions) if expansions else sql

    def execute(
        self, name: str, params: Sequence[Any] | dict[str, Any] = (), **expansions: int
    ) -> int:
        """Run a statement; returns the matched row count."""
        self._raw.execute(self._sql(name, expansions), params)
        if self._raw.with_rows:
            self._raw.fetchall()
        return int(self._raw.rowcount)

    def executemany(self, name: str, rows: Sequence[Sequence[Any]]) -> int:
        self._raw.executemany(self._sql(name, None), rows)
        return int(self._raw.rowcount)

    def fetch_all(
        self, name: str, params: Sequence[Any] | dict[str, Any] = (), **expansions: int
    ) -> list[dict[str, Any]]:
        self._raw.execute(self._sql(name, expansions), params)
        columns = [column[0] for column in self._raw.description or ()]
        return [dict(zip(columns, row, strict=True)) for row in self._raw.fetchall()]

    def fetch_one(
        self, name: str, params: Sequence[Any] | dict[str, Any] = (), **expansions: int
    ) -> dict[str, Any] | None:
        rows = self.fetch_all(name, params, **expansions)
        return rows[0] if rows else None

    def fetch_value(
        self, name: str, params: Sequence[Any] | dict[str, Any] = (), **expansions: int
    ) -> Any:
        self._raw.execute(self._sql(name, expansions), params)
        rows = self._raw.fetchall()
        return rows[0][0] if rows else None

    def raw_execute(self, statement: str) -> None:
        """DDL from ``schema.py`` (constants, never user values)."""
        self._raw.execute(statement)
        if self._raw.with_rows:
            self._raw.fetchall()


class Store:
    """Owns one connection to the workcraft database and every call made on it."""

    def __init__(
        self,
        config: DBConfig,
        retry: RetryPolicy | None = None,
        name: str = "db",
        with_database: bool = True,
        lock_wait_timeout: int | None = None,
    ) -> None:
        self.config = config
        self.retry = retry or RetryPolicy()
        self.name = name
        self.with_database = with_database
        self.lock_wait_timeout = lock_wait_timeout
        self._conn: Any = None
        self._outage = False
        self._retrying: Retrying | None = None

    # -- connection -------------------------------------------------------------------
    def _connection(self) -> Any:
        if self._conn is None:
            self._conn = open_connection(
                self.config, self.with_database, lock_wait_timeout=self.lock_wait_timeout
            )
        return self._conn

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # a dead socket cannot be closed politely
                log.debug("error while closing connection", exc_info=True)

    def connection_id(self) -> int:
        return int(self.call(lambda cur: cur.fetch_value("connection_id")))

    # -- retry machinery ---------------------------------------------------------------
    def _stop(self) -> Any:
        policy = self.retry
        stops: list[Any] = []
        if policy.give_up_after is not None:
            stops.append(stop_after_delay(policy.give_up_after))
        if policy.stop_event is not None:
            event = policy.stop_event
            stops.append(lambda _state: event.is_set())
        return stop_any(*stops) if stops else stop_never

    def _sleep(self, seconds: float) -> None:
        if self.retry.stop_event is not None:
            self.retry.stop_event.wait(seconds)
        else:
            threading.Event().wait(seconds)

    def _before_sleep(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        self.close()
        if isinstance(exc, mysql.connector.Error) and exc.errno in (1205, 1213):
            log.debug("%s: %s, retrying", self.name, exc.msg)
            return
        if not self._outage:
            self._outage = True
            # Long-running processes say so once per outage; commands just give up quietly.
            level = logging.WARNING if self.retry.give_up_after is None else logging.DEBUG
            log.log(
                level,
                "%s: database %s unavailable (%s); reconnecting with backoff",
                self.name,
                self.config.describe(),
                _short(exc),
            )

    def _run(self, attempt: Callable[[], T]) -> T:
        def guarded() -> T:
            try:
                return attempt()
            except mysql.connector.Error:
                raise
            except Exception as exc:
                converted = as_connector_error(exc)
                if converted is None:
                    raise
                raise converted from exc

        if self._retrying is None:  # built once: it is on every call's path
            self._retrying = Retrying(
                retry=retry_if_exception(is_transient),
                wait=wait_exponential(multiplier=0.05, max=self.retry.max_backoff)
                + wait_random(0, 0.1),
                stop=self._stop(),
                sleep=self._sleep,
                before_sleep=self._before_sleep,
                reraise=True,
            )
        try:
            result = self._retrying(guarded)
        except mysql.connector.Error as exc:
            self.close()
            raise self._translate(exc) from None
        if self._outage:
            self._outage = False
            log.warning("%s: database %s is back", self.name, self.config.describe())
        return result

    def _translate(self, exc: mysql.connector.Error) -> WorkcraftError:
        where = self.config.describe()
        errno = getattr(exc, "errno", None)
        msg = _short(exc)
        if errno in ACCESS_DENIED:
            return DatabaseError(f"access denied at {where}: {msg}")
        if errno == UNKNOWN_DATABASE:
            return UnknownDatabase(
                f"database {self.config.database!r} does not exist at "
                f"{self.config.host}:{self.config.port}; run `workcraft setup_database_tables`"
            )
        if errno == NO_SUCH_TABLE:
            return SchemaMissing(
                f"workcraft tables are missing in {where} ({msg}); "
                "run `workcraft setup_database_tables` first"
            )
        if errno in SSL_ERRORS or is_tls_failure(exc):
            return DatabaseError(f"TLS connection to {where} failed: {msg}")
        if errno == PACKET_TOO_LARGE:
            return PayloadTooLarge(
                f"a statement to {where} exceeded the server's max_allowed_packet: {msg}"
            )
        if is_transient(exc):
            return DatabaseUnavailable(f"cannot reach the database {where}: {msg}")
        return DatabaseError(f"database error at {where}: {msg}")

    # -- public API ---------------------------------------------------------------------
    def call(self, fn: Callable[[Cursor], T]) -> T:
        """Run ``fn`` in autocommit mode (each statement commits on its own)."""

        def attempt() -> T:
            raw = self._connection().cursor()
            try:
                return fn(Cursor(raw))
            finally:
                _close_quietly(raw)

        return self._run(attempt)

    def transaction(self, fn: Callable[[Cursor, int], T]) -> T:
        """Run ``fn(cursor, attempt_number)`` in one transaction, retried as a whole.

        ``attempt_number`` starts at 1, so a retry knows an earlier COMMIT may have landed.
        """
        attempts = 0

        def attempt() -> T:
            nonlocal attempts
            attempts += 1
            conn = self._connection()
            conn.start_transaction()
            raw = conn.cursor()
            try:
                value = fn(Cursor(raw), attempts)
            except BaseException:
                _close_quietly(raw)
                try:
                    conn.rollback()
                except Exception:
                    log.debug("rollback failed", exc_info=True)
                raise
            _close_quietly(raw)
            conn.commit()
            return value

        return self._run(attempt)

    # Convenience wrappers for single statements.
    def execute(self, name: str, params: Sequence[Any] | dict[str, Any] = (), **exp: int) -> int:
        return self.call(lambda cur: cur.execute(name, params, **exp))

    def fetch_all(
        self, name: str, params: Sequence[Any] | dict[str, Any] = (), **exp: int
    ) -> list[dict[str, Any]]:
        return self.call(lambda cur: cur.fetch_all(name, params, **exp))

    def fetch_one(
        self, name: str, params: Sequence[Any] | dict[str, Any] = (), **exp: int
    ) -> dict[str, Any] | None:
        return self.call(lambda cur: cur.fetch_one(name, params, **exp))

    def fetch_value(
        self, name: str, params: Sequence[Any] | dict[str, Any] = (), **exp: int
    ) -> Any:
        return self.call(lambda cur: cur.fetch_value(name, params, **exp))

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _close_quietly(cursor: Any) -> None:
    try:
        cursor.close()
    except Exception:
        log.debug("cursor close failed", exc_info=True)


def _short(exc: BaseException | None) -> str:
    if exc is None:
        return "unknown error"
    msg = getattr(exc, "msg", None) or str(exc)
    return " ".join(str(msg).split())
