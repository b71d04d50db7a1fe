"""Fixtures: every test gets a database of its own on the real server (never mocked).

``db_config``: a database per pytest-xdist worker with the workcraft tables, emptied before
each test. ``empty_db_config``: a brand-new database with no tables, dropped afterwards.
Server address: WK_TEST_DB_HOST / WK_TEST_DB_PORT / WK_TEST_DB_USER / WK_TEST_DB_PASS
(default 127.0.0.1:3306, root, empty password; TCP, see FIELD-NOTES).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import mysql.connector
import pytest
from procs import Procs, write_settings

from workcraft.core import Workcraft
from workcraft.data.migrate import setup_database_tables
from workcraft.data.schema import quote_identifier
from workcraft.db import DBConfig

if TYPE_CHECKING:
    from private_server import PrivateServer

TABLES_TO_EMPTY = (
    "bountyboard",
    "peon",
    "logs",
    "schedules",
    "queues",
    "concurrency_keys",
    "task_totals",
    "throughput",
    "janitor_state",
)


def server_config(database: str = "mysql") -> DBConfig:
    return DBConfig(
        host=os.environ.get("WK_TEST_DB_HOST", "127.0.0.1"),
        port=int(os.environ.get("WK_TEST_DB_PORT", "3306")),
        user=os.environ.get("WK_TEST_DB_USER", "root"),
        password=os.environ.get("WK_TEST_DB_PASS", ""),
        database=database,
    )


def admin_connection(config: DBConfig | None = None, database: str | None = None) -> object:
    config = config or server_config()
    return mysql.connector.connect(
        host=config.host,
        port=config.port,
        user=config.user,
        password=config.password,
        database=database,
        autocommit=True,
    )


def drop_database(name: str) -> None:
    conn = admin_connection()
    try:
        cur = conn.cursor()  # type: ignore[attr-defined]
        cur.execute("DROP DATABASE IF EXISTS " + quote_identifier(name))
    finally:
        conn.close()  # type: ignore[attr-defined]


def unique_db_name(prefix: str = "wkt") -> str:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw")
    return f"{prefix}_{worker}_{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def worker_db_config() -> Iterator[DBConfig]:
    config = server_config(unique_db_name("wkw"))
    setup_database_tables(config)
    yield config
    drop_database(config.database)


@pytest.fixture
def db_config(worker_db_config: DBConfig) -> DBConfig:
    conn = admin_connection(worker_db_config, worker_db_config.database)
    try:
        cur = conn.cursor()  # type: ignore[attr-defined]
        for table in TABLES_TO_EMPTY:
            cur.execute("DELETE FROM " + quote_identifier(table))
    finally:
        conn.close()  # type: ignore[attr-defined]
    return worker_db_config


@pytest.fixture
def empty_db_config() -> Iterator[DBConfig]:
    config = server_config(unique_db_name())
    yield config
    drop_database(config.database)


@pytest.fixture
def producer() -> Iterator[Workcraft]:
    """An app for enqueueing from the test process (its connections closed afterwards)."""
    app = Workcraft()
    yield app
    app.close()


@pytest.fixture
def procs(tmp_path: Path, db_config: DBConfig) -> Iterator[Procs]:
    """Peon processes started by the test (tests/procs.py), all stopped afterwards."""
    write_settings(tmp_path)
    group = Procs(tmp_path, db_config)
    yield group
    group.stop_all()


@pytest.fixture
def sql(db_config: DBConfig) -> Iterator[SqlHelper]:
    helper = SqlHelper(db_config)
    yield helper
    helper.close()


class SqlHelper:
    """Raw SQL against the test database, for arranging and checking rows."""

    def __init__(self, config: DBConfig) -> None:
        self.conn = admin_connection(config, config.database)
        cur = self.conn.cursor()  # type: ignore[attr-defined]
        cur.execute("SET time_zone = '+00:00'")

    def rows(self, statement: str, params: tuple[object, ...] = ()) -> list[dict[str, object]]:
        cur = self.conn.cursor(dictionary=True)  # type: ignore[attr-defined]
        cur.execute(statement, params)
        return list(cur.fetchall()) if cur.with_rows else []

    def value(self, statement: str, params: tuple[object, ...] = ()) -> object:
        cur = self.conn.cursor()  # type: ignore[attr-defined]
        cur.execute(statement, params)
        row = cur.fetchone()
        return row[0] if row else None

    def run(self, statement: str, params: tuple[object, ...] = ()) -> int:
        cur = self.conn.cursor()  # type: ignore[attr-defined]
        cur.execute(statement, params)
        if cur.with_rows:
            cur.fetchall()
        return int(cur.rowcount)

    def close(self) -> None:
        self.conn.close()  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def mariadb_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An initialised, never-started data directory, copied by each private server."""
    from private_server import init_datadir

    template = tmp_path_factory.mktemp("mariadb-template") / "data"
    init_datadir(template)
    return template


@pytest.fixture
def private_server(mariadb_template: Path) -> Iterator[PrivateServer]:
    """A MariaDB of the test's own on a free port: stop/start it freely."""
    from private_server import PrivateServer

    server = PrivateServer(mariadb_template)
    server.start()
    yield server
    server.close()
