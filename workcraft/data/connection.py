"""Opening MySQL connections, with the C extension when it loads and pure Python otherwise."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import mysql.connector
from mysql.connector.constants import ClientFlag

from workcraft.config.database import DBConfig
from workcraft.errors import DatabaseError

log = logging.getLogger("workcraft.db")

# Run on every new connection: UTC timestamps everywhere (peons on hosts in other zones must
# agree with the janitor).
TIME_ZONE_SETUP = "SET time_zone = '+00:00'"
ISOLATION_SETUP = {
    "READ COMMITTED": "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
    "REPEATABLE READ": "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
}


@dataclasses.dataclass(frozen=True)
class Session:
    """How a connection's session is set up.

    ``isolation``: READ COMMITTED by default (a sweep's locking read releases the rows it
    examined but did not take). ``autocommit=False``: a transaction begins with its first
    statement, which saves the START TRANSACTION round trip of each (the peon's claim loop);
    the store switches the connection to autocommit for plain reads (an idle peon's poll).
    ``lock_wait_timeout`` / ``idle_timeout`` (seconds):
    how long a statement waits for a row lock; how long the server keeps a silent connection.
    ``causal_reads``: on a Galera node, every transaction, read, UPDATE and DELETE first waits
    until this node has applied what the cluster committed before it (``wsrep_sync_wait``),
    so it sees the latest writes made through any node; no effect on other servers.
    """

    isolation: str = "READ COMMITTED"
    autocommit: bool = True
    lock_wait_timeout: int | None = None
    idle_timeout: int | None = None
    causal_reads: bool = False


LOCK_WAIT_SETUP = "SET SESSION innodb_lock_wait_timeout = %s"
# The server closes a connection that says nothing for this long (and rolls back its open
# transaction, releasing its locks and any GET_LOCK): how a frozen or cut-off janitor's
# leadership and row locks end in seconds instead of the default 8 hours.
IDLE_TIMEOUT_SETUP = "SET SESSION wait_timeout = %s"
# Galera only (wsrep_on is OFF on a plain MariaDB, absent on MySQL). 3 = READ (SELECT, and
# BEGIN: a transaction's first statement) + UPDATE/DELETE (the lease's autocommit writes).
GALERA_CHECK = "SHOW VARIABLES LIKE 'wsrep_on'"
CAUSAL_READS_SETUP = "SET SESSION wsrep_sync_wait = 3"
TLS_CHECK = "SHOW SESSION STATUS LIKE 'Ssl_cipher'"


def c_extension_available() -> bool:
    try:
        import _mysql_connector  # noqa: F401
    except ImportError as exc:
        log.debug("mysql C extension unavailable, using pure Python: %s", exc)
        return False
    return True


def open_connection(
    config: DBConfig, with_database: bool = True, session: Session = Session()
) -> Any:
    """A new connection set up as ``session`` says; UPDATE row counts are *matched* rows
    (FOUND_ROWS)."""
    # With TLS asked for, check the session is encrypted before naming the database, so
    # a server that refused TLS is reported as that, not as "unknown database".
    kwargs = config.connect_kwargs(with_database and not config.use_ssl)
    kwargs["client_flags"] = [ClientFlag.FOUND_ROWS]
    kwargs["use_pure"] = not c_extension_available()
    kwargs["autocommit"] = session.autocommit
    conn: Any = mysql.connector.connect(**kwargs)
    cursor = conn.cursor()
    try:
        cursor.execute(TIME_ZONE_SETUP)
        cursor.execute(ISOLATION_SETUP[session.isolation])
        if session.lock_wait_timeout is not None:
            cursor.execute(LOCK_WAIT_SETUP, (int(session.lock_wait_timeout),))
        if session.idle_timeout is not None:
            cursor.execute(IDLE_TIMEOUT_SETUP, (max(1, int(session.idle_timeout)),))
        if session.causal_reads:
            cursor.execute(GALERA_CHECK)
            wsrep: Any = cursor.fetchone()
            if wsrep and str(wsrep[1]).upper() == "ON":
                cursor.execute(CAUSAL_READS_SETUP)
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
    if not session.autocommit:
        conn.commit()  # end the transaction the setup statements began
    return conn
