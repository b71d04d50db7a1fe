"""Opening MySQL connections, with the C extension when it loads and pure Python otherwise."""

from __future__ import annotations

import logging
from typing import Any

import mysql.connector
from mysql.connector.constants import ClientFlag

from workcraft.config.database import DBConfig
from workcraft.errors import DatabaseError

log = logging.getLogger("workcraft.db")

# Statements run on every new connection: UTC timestamps everywhere (peons on hosts in other
# zones must agree with the janitor), and READ COMMITTED so a locking claim releases the rows
# it examined but did not take (REPEATABLE READ keeps them locked until commit).
SESSION_SETUP = (
    "SET time_zone = '+00:00'",
    "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
)


LOCK_WAIT_SETUP = "SET SESSION innodb_lock_wait_timeout = %s"
# The server closes a connection that says nothing for this long (and rolls back its open
# transaction, releasing its locks and any GET_LOCK): how a frozen or cut-off janitor's
# leadership and row locks end in seconds instead of the default 8 hours.
IDLE_TIMEOUT_SETUP = "SET SESSION wait_timeout = %s"
TLS_CHECK = "SHOW SESSION STATUS LIKE 'Ssl_cipher'"


def c_extension_available() -> bool:
    try:
        import _mysql_connector  # noqa: F401
    except ImportError as exc:
        log.debug("mysql C extension unavailable, using pure Python: %s", exc)
        return False
    return True


def open_connection(
    config: DBConfig,
    with_database: bool = True,
    lock_wait_timeout: int | None = None,
    idle_timeout: int | None = None,
) -> Any:
    """A new autocommit connection; UPDATE row counts are *matched* rows (FOUND_ROWS)."""
    # With TLS asked for, check the session is encrypted before naming the database, so
    # a server that refused TLS is reported as that, not as "unknown database".
    kwargs = config.connect_kwargs(with_database and not config.use_ssl)
    kwargs["client_flags"] = [ClientFlag.FOUND_ROWS]
    kwargs["use_pure"] = not c_extension_available()
    conn: Any = mysql.connector.connect(**kwargs)
    cursor = conn.cursor()
    try:
        for statement in SESSION_SETUP:
            cursor.execute(statement)
        if lock_wait_timeout is not None:
            cursor.execute(LOCK_WAIT_SETUP, (int(lock_wait_timeout),))
        if idle_timeout is not None:
            cursor.execute(IDLE_TIMEOUT_SETUP, (max(1, int(idle_timeout)),))
        if config.use_ssl:
            # Asked for TLS: refuse a session that is not encrypted, whatever the server
            # and the connector negotiated.
            cursor.execute(TLS_CHECK)
            row: Any = cursor.fetchone()
            if not row or not row[1]:
                conn.close()
                raise DatabaseError(
                    f"TLS was requested (WK_DB_USE_SSL) but the session to "
                    f"{config.describe()} is not encrypted; the server does not offer TLS"
                )
    finally:
        cursor.close()
    if with_database and config.use_ssl:
        conn.database = config.database
    return conn
