"""The one object that owns a database connection: connecting, retrying, transactions.

A ``Store`` holds one connection (use one per thread). ``call`` and ``transaction`` hand the
caller a ``Queries`` object whose typed methods are the only way to run SQL. Transient errors
(see ``failures``) are retried with exponential backoff under a ``RetryPolicy``; permanent
ones raise one clear ``WorkcraftError`` at once.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import mysql.connector
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

from workcraft.config.database import DBConfig
from workcraft.data.access import Queries
from workcraft.data.connection import Session, open_connection
from workcraft.data.cursor import Cursor, cursor_for
from workcraft.data.failures import (
    as_connector_error,
    is_transient,
    short_message,
    translate,
)

log = logging.getLogger("workcraft.db")
T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """``give_up_after=None`` retries forever (peons, janitors); commands give up sooner."""

    give_up_after: float | None = 3.0
    max_backoff: float = 5.0
    stop_event: threading.Event | None = None

    @classmethod
    def forever(cls, stop_event: threading.Event | None = None) -> RetryPolicy:
        return cls(give_up_after=None, max_backoff=5.0, stop_event=stop_event)


class Store:
    """Owns one connection to the workcraft database and every call made on it."""

    def __init__(
        self,
        config: DBConfig,
        retry: RetryPolicy | None = None,
        name: str = "db",
        with_database: bool = True,
        lock_wait_timeout: int | None = None,
        idle_timeout: int | None = None,
        session: Session | None = None,
        causal_reads: bool = False,
    ) -> None:
        self.config = config
        self.retry = retry or RetryPolicy()
        self.name = name
        self.with_database = with_database
        self.session = session or Session(
            lock_wait_timeout=lock_wait_timeout,
            idle_timeout=idle_timeout,
            causal_reads=causal_reads,
        )
        self.idle_timeout = self.session.idle_timeout
        self._conn: Any = None
        # Whether the open connection is in autocommit now. A session without autocommit
        # (the peon's claim connection) switches to it for plain reads (``call``) and back
        # for ``transaction``, so an idle peon's poll is one statement, not a read plus a
        # COMMIT; a busy peon, which only runs transactions, never switches.
        self._autocommit_now = self.session.autocommit
        self._cursor: Cursor | None = None
        self._q: Queries | None = None
        self._last_used = 0.0  # monotonic time of the last statement's end
        self._outage = False
        self._retrying: Retrying | None = None

    # -- connection -------------------------------------------------------------------
    def _connection(self) -> Any:
        if self._conn is None:
            self._conn = open_connection(self.config, self.with_database, self.session)
            self._autocommit_now = self.session.autocommit
        return self._conn

    def _set_autocommit(self, conn: Any, on: bool) -> None:
        if self._autocommit_now != on:
            conn.autocommit = on  # one SET statement (and it ends any open transaction)
            self._autocommit_now = on

    def close(self) -> None:
        self._drop_cursor()
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # a dead socket cannot be closed politely
                log.debug("error while closing connection", exc_info=True)

    def connection_id(self) -> int:
        return self.call(lambda q: q.schema.connection_id())

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
        if state.attempt_number == 1 and self._closed_for_idling():
            # The server closed a connection we left silent past its idle_timeout, as it
            # should: reconnect without calling it an outage.
            log.debug("%s: connection closed after idling; reconnecting", self.name)
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
                short_message(exc),
            )

    def _closed_for_idling(self) -> bool:
        return (
            self.idle_timeout is not None
            and self._last_used > 0
            and time.monotonic() - self._last_used >= self.idle_timeout - 1
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

        try:
            # The usual case, without the retry machinery: it costs tens of microseconds a
            # call, and a peon makes thousands of calls a second.
            if not self._outage:
                try:
                    return guarded()
                except mysql.connector.Error as exc:
                    if not is_transient(exc) or self.retry.give_up_after == 0:
                        raise
                    self.close()  # then retry below, as from a first failed attempt
                    if self._closed_for_idling():
                        log.debug("%s: connection closed after idling; reconnecting", self.name)
                    else:
                        log.debug("%s: %s; retrying", self.name, short_message(exc))
            return self._run_retrying(guarded)
        except mysql.connector.Error as exc:
            self.close()
            raise translate(exc, self.config) from None
        finally:
            self._last_used = time.monotonic()

    def _run_retrying(self, guarded: Callable[[], T]) -> T:
        if self._retrying is None:  # built once
            self._retrying = Retrying(
                retry=retry_if_exception(is_transient),
                wait=wait_exponential(multiplier=0.05, max=self.retry.max_backoff)
                + wait_random(0, 0.1),
                stop=self._stop(),
                sleep=self._sleep,
                before_sleep=self._before_sleep,
                reraise=True,
            )
        result = self._retrying(guarded)
        if self._outage:
            self._outage = False
            # As loud as the outage line was: long-running processes say so, commands do not.
            level = logging.WARNING if self.retry.give_up_after is None else logging.DEBUG
            log.log(level, "%s: database %s is back", self.name, self.config.describe())
        return result

    # -- public API ---------------------------------------------------------------------
    def _queries(self) -> tuple[Any, Cursor, Queries]:
        """The connection and its one cursor (kept for the connection's life: making a
        cursor and its query objects for every call costs more than the call itself)."""
        conn = self._connection()
        if self._cursor is None or self._q is None:
            self._cursor = cursor_for(conn)
            self._q = Queries(self._cursor)
        return conn, self._cursor, self._q

    def _drop_cursor(self) -> None:
        cursor, self._cursor, self._q = self._cursor, None, None
        if cursor is not None:
            _close_quietly(cursor.raw)

    def call(self, fn: Callable[[Queries], T]) -> T:
        """Run ``fn(queries)``, each statement committing on its own (autocommit)."""

        def attempt() -> T:
            conn, cursor, q = self._queries()
            self._set_autocommit(conn, True)
            try:
                value = fn(q)
                cursor.flush()  # a deferred statement still waiting runs now
            except BaseException:
                self._drop_cursor()
                raise
            return value

        return self._run(attempt)

    def transaction(self, fn: Callable[[Queries, int], T]) -> T:
        """Run ``fn(queries, attempt_number)`` in one transaction, retried as a whole.

        ``attempt_number`` starts at 1, so a retry knows an earlier COMMIT may have landed.
        """
        attempts = 0

        def attempt() -> T:
            nonlocal attempts
            attempts += 1
            conn, cursor, q = self._queries()
            if self.session.autocommit:
                conn.start_transaction()
            else:
                # Without autocommit a transaction is always open: the first statement begins
                # it, saving a START TRANSACTION round trip per claim.
                self._set_autocommit(conn, False)
            try:
                value = fn(q, attempts)
            except BaseException:
                self._drop_cursor()
                _rollback_quietly(conn)
                raise
            cursor.commit(conn)
            return value

        return self._run(attempt)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _rollback_quietly(conn: Any) -> None:
    try:
        conn.rollback()
    except Exception:
        log.debug("rollback failed", exc_info=True)


def _close_quietly(cursor: Any) -> None:
    try:
        cursor.close()
    except Exception:
        log.debug("cursor close failed", exc_info=True)
