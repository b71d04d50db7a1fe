"""What a database holds, read from the server: tables, columns, indexes, ``SHOW CREATE``.

The setup tests compare these before and after a command (idempotency, upgrades) and read
single statements' results as tuples, in any database of the tests' server.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tests.support.sql import Sql, server_config

PUBLIC_TABLES = ("bountyboard", "peon", "logs")
ALL_TABLES = (*PUBLIC_TABLES, "workcraft_schema")


def query(database: str, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The rows of one statement in ``database`` on the tests' server, as tuples."""
    with Sql(server_config(database)) as sql:
        return sql.tuples(statement, params)


def run_statements(database: str | None, statements: Sequence[str]) -> None:
    """Execute ``statements`` in ``database`` (None: no default database), as root."""
    with Sql(server_config(database or "mysql"), with_database=database is not None) as sql:
        for statement in statements:
            sql.run(statement)


def tables_in(database: str) -> set[str]:
    rows = query(
        "information_schema",
        "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s",
        (database,),
    )
    return {str(row[0]) for row in rows}


def columns_of(database: str, table: str) -> set[str]:
    rows = query(
        "information_schema",
        "SELECT COLUMN_NAME FROM information_schema.COLUMNS "
        "WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s",
        (database, table),
    )
    return {str(row[0]) for row in rows}


def indexes_of(database: str, table: str) -> set[str]:
    rows = query(
        "information_schema",
        "SELECT DISTINCT INDEX_NAME FROM information_schema.STATISTICS "
        "WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s",
        (database, table),
    )
    return {str(row[0]) for row in rows}


def schema_snapshot(database: str) -> dict[str, Any]:
    """``SHOW CREATE TABLE`` of every workcraft table plus the schema-version row count:
    equal snapshots mean a command changed nothing."""
    snapshot: dict[str, Any] = {}
    for table in ALL_TABLES:
        snapshot[table] = query(database, f"SHOW CREATE TABLE `{table}`")[0][1]
    snapshot["workcraft_schema rows"] = query(database, "SELECT COUNT(*) FROM workcraft_schema")
    return snapshot
