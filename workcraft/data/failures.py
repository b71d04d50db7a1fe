"""What a MySQL error means for us: retry it (transient), or report it as one clear line.

Transient: server gone, lost connection, cannot connect, deadlock, a COMMIT that lost
certification on a cluster, lock wait timeout, a Galera node not ready (joining, or without
quorum).
Permanent: access denied, unknown database, missing table, TLS failures.
"""

from __future__ import annotations

import mysql.connector
from mysql.connector.errors import get_mysql_exception

from workcraft.config.database import DBConfig
from workcraft.errors import (
    DatabaseError,
    DatabaseUnavailable,
    PayloadTooLarge,
    SchemaMissing,
    UnknownDatabase,
    WorkcraftError,
)

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
# A Galera node answers every statement with this while it joins the cluster or after it lost
# quorum ("WSREP has not yet prepared node for application use"): the node is unavailable,
# as a restarting server is. The errno alone is MySQL's "unknown command", hence the message.
GALERA_NOT_READY = 1047
# MySQL Group Replication (multi-primary) refuses a COMMIT that lost certification to another
# member's write with 3101 ("Plugin instructed the server to rollback the current
# transaction"), or, as reported for some versions, 1180 with handler error 149 ("Lock
# deadlock; Retry transaction"). Either way the transaction was rolled back: retry it, as a
# deadlock is. (Galera reports the same situation as 1213.)
CERTIFICATION_FAILED = 3101
ERROR_DURING_COMMIT = 1180
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
        if errno == GALERA_NOT_READY:
            return "WSREP" in short_message(exc)
        if errno == CERTIFICATION_FAILED:
            return True
        if errno == ERROR_DURING_COMMIT:
            return "deadlock" in short_message(exc).lower()
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


def translate(exc: mysql.connector.Error, config: DBConfig) -> WorkcraftError:
    """A permanent (or given-up-on) connector error as the ``WorkcraftError`` to report."""
    where = config.describe()
    errno = getattr(exc, "errno", None)
    msg = short_message(exc)
    if errno in ACCESS_DENIED:
        return DatabaseError(f"access denied at {where}: {msg}")
    if errno == UNKNOWN_DATABASE:
        return UnknownDatabase(
            f"database {config.database!r} does not exist at "
            f"{config.host}:{config.port}; run `workcraft setup_database_tables`"
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


def short_message(exc: BaseException | None) -> str:
    """The error's message on one line."""
    if exc is None:
        return "unknown error"
    msg = getattr(exc, "msg", None) or str(exc)
    return " ".join(str(msg).split())
