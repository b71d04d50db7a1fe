"""``setup_database_tables``: create the database and tables, or upgrade them in place."""

from __future__ import annotations

import dataclasses
import logging

from workcraft import schema
from workcraft.db import DBConfig
from workcraft.errors import UnknownDatabase
from workcraft.store import Cursor, RetryPolicy, Store

log = logging.getLogger("workcraft.setup")


@dataclasses.dataclass
class SetupReport:
    database_created: bool = False
    tables_created: list[str] = dataclasses.field(default_factory=list)
    tables_dropped: list[str] = dataclasses.field(default_factory=list)
    statements: list[str] = dataclasses.field(default_factory=list)
    version_before: int = 0
    version_after: int = schema.SCHEMA_VERSION

    @property
    def changed(self) -> bool:
        return bool(
            self.database_created or self.tables_created or self.tables_dropped or self.statements
        )


def ensure_database(config: DBConfig, retry: RetryPolicy | None = None) -> bool:
    """Create the database when it is missing; True if it was created."""
    with Store(config, retry=retry, with_database=True) as store:
        try:
            store.fetch_value("server_now")
            return False
        except UnknownDatabase:
            pass
    with Store(config, retry=retry, with_database=False) as server:
        server.call(lambda cur: cur.raw_execute(schema.create_database_ddl(config.database)))
    log.info("created database %s", config.database)
    return True


def _existing_tables(cur: Cursor) -> set[str]:
    return {row["TABLE_NAME"] for row in cur.fetch_all("existing_tables")}


def _binary_collation(cur: Cursor) -> str:
    available = {row["COLLATION_NAME"] for row in cur.fetch_all("binary_collations")}
    for name in schema.NO_PAD_BINARY_COLLATIONS:
        if name in available:
            return name
    return schema.DEFAULT_BINARY_COLLATION


def _constraints(cur: Cursor, table_name: str, kind: str) -> list[str]:
    rows = cur.fetch_all("table_constraints", {"table": table_name})
    return [row["CONSTRAINT_NAME"] for row in rows if row["CONSTRAINT_TYPE"] == kind]


def _drop_foreign_keys(cur: Cursor, existing: set[str]) -> list[str]:
    statements: list[str] = []
    for table in schema.TABLES:
        if table.name in existing:
            names = _constraints(cur, table.name, "FOREIGN KEY")
            statements += schema.drop_foreign_key_statements(table.name, names)
    for statement in statements:
        log.info("upgrading: %s", statement)
        cur.raw_execute(statement)
    return statements


def _upgrade_table(cur: Cursor, table: schema.Table, binary_collation: str) -> list[str]:
    params = {"table": table.name}
    columns = {
        row["COLUMN_NAME"]: row["COLUMN_TYPE"] for row in cur.fetch_all("table_columns", params)
    }
    indexes = {row["INDEX_NAME"] for row in cur.fetch_all("table_indexes", params)}
    checks = _constraints(cur, table.name, "CHECK")
    statements = schema.upgrade_statements(table, columns, indexes, checks, binary_collation)
    for statement in statements:
        log.info("upgrading %s: %s", table.name, statement)
        cur.raw_execute(statement)
    return statements


def setup_database_tables(
    config: DBConfig,
    drop_tables: bool = False,
    create_database: bool = True,
    retry: RetryPolicy | None = None,
) -> SetupReport:
    """Idempotent: a second run changes nothing. ``drop_tables`` starts from empty tables."""
    report = SetupReport()
    if create_database:
        report.database_created = ensure_database(config, retry)

    def run(cur: Cursor) -> None:
        existing = _existing_tables(cur)
        collation = _binary_collation(cur)
        if drop_tables:
            for statement, table in zip(
                schema.drop_tables_ddl(), reversed(schema.TABLES), strict=True
            ):
                if table.name in existing:
                    cur.raw_execute(statement)
                    report.tables_dropped.append(table.name)
            existing -= set(report.tables_dropped)
        if schema.SCHEMA_TABLE.name in existing:
            report.version_before = int(cur.fetch_value("schema_version") or 0)
        report.statements += _drop_foreign_keys(cur, existing)
        for table in schema.TABLES:
            if table.name in existing:
                report.statements += _upgrade_table(cur, table, collation)
            else:
                cur.raw_execute(table.create_ddl(collation))
                report.tables_created.append(table.name)
        if report.version_before < schema.SCHEMA_VERSION:
            cur.execute("record_schema_version", {"version": schema.SCHEMA_VERSION})

    with Store(config, retry=retry, name="setup") as store:
        store.call(run)
    return report
