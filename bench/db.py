"""Databases for the benchmarks: create, reset, inspect, drop; and the measured connections.

workcraft's own side always goes through its public API (``setup_database_tables``,
``Workcraft``, ``Store`` and the named queries). The bench's bookkeeping (timings read back
from the table, making and dropping databases) is plain SQL through the test suite's
``Sql``; ``connect`` is for connections that are part of a measurement (the baselines, the
observers), set up like workcraft's own sessions.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Iterator
from typing import Any

import mysql.connector

from tests.support.sql import Sql
from tests.support.sql import drop_database as drop_named_database
from workcraft.data.connection import c_extension_available
from workcraft.data.ddl import create_database_ddl
from workcraft.data.migrate import setup_database_tables
from workcraft.db import DBConfig, get_db_config

log = logging.getLogger("bench")

C_EXTENSION = c_extension_available()
SESSION_SETUP = (
    "SET time_zone = '+00:00'",
    # What workcraft sets too: a locking claim keeps no gap/next-key locks on what it skipped.
    "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
)


def bench_config(database: str) -> DBConfig:
    """WK_DB_* (or the defaults) with the benchmark's own database name."""
    return get_db_config(database=database)


def connect(config: DBConfig, with_database: bool = True) -> Any:
    """A plain autocommit mysql.connector connection (C extension when it loads)."""
    kwargs = config.connect_kwargs(with_database)
    kwargs["use_pure"] = not C_EXTENSION
    conn = mysql.connector.connect(**kwargs)
    cur = conn.cursor()
    for statement in SESSION_SETUP:
        cur.execute(statement)
    cur.close()
    return conn


def drop_database(config: DBConfig) -> None:
    """Drop ``config``'s database (bounded: never hangs behind a connection left open)."""
    drop_named_database(config.database, config)


def create_database(config: DBConfig) -> None:
    with Sql(config, with_database=False) as sql:
        sql.run(create_database_ddl(config.database))


def reset_workcraft_tables(config: DBConfig) -> None:
    """Empty tables with workcraft's schema, through its own setup."""
    setup_database_tables(config, drop_tables=True)


@contextlib.contextmanager
def workcraft_database(name: str) -> Iterator[DBConfig]:
    """A database of the benchmark's own with workcraft's tables; dropped at the end."""
    config = bench_config(name)
    reset_workcraft_tables(config)
    try:
        yield config
    finally:
        with contextlib.suppress(mysql.connector.Error):
            drop_database(config)


@contextlib.contextmanager
def plain_database(name: str) -> Iterator[DBConfig]:
    """An empty database (for the peer libraries to make their tables in); dropped at the end."""
    config = bench_config(name)
    drop_database(config)
    create_database(config)
    try:
        yield config
    finally:
        with contextlib.suppress(mysql.connector.Error):
            drop_database(config)


@dataclasses.dataclass(frozen=True)
class DrainStats:
    """What the table says about one drain: from the first claim to the last completion."""

    total: int
    succeeded: int
    seconds: float

    @property
    def jobs_per_second(self) -> float:
        return self.succeeded / self.seconds if self.seconds > 0 else 0.0


DRAIN_STATS_SQL = """
SELECT COUNT(*), COALESCE(SUM(status = 'SUCCESS'), 0),
       TIMESTAMPDIFF(MICROSECOND, MIN(started_at), MAX(finished_at))
FROM bountyboard
"""


def drain_stats(config: DBConfig) -> DrainStats:
    with Sql(config) as sql:
        ((total, succeeded, micros),) = sql.tuples(DRAIN_STATS_SQL)
    return DrainStats(int(total), int(succeeded), float(micros or 0) / 1e6)
