"""``setup_database_tables``: create the database and tables, or upgrade them in place."""

from __future__ import annotations

import dataclasses
import logging

from workcraft.config.database import DBConfig
from workcraft.data import schema
from workcraft.data.access import Queries
from workcraft.data.store import RetryPolicy, Store
from workcraft.errors import UnknownDatabase

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

    def summary(self, config: DBConfig) -> str:
        """One line for the command line."""
        parts = []
        if self.database_created:
            parts.append(f"created database {config.database}")
        if self.tables_dropped:
            parts.append("dropped " + ", ".join(self.tables_dropped))
        if self.tables_created:
            parts.append("created " + ", ".join(self.tables_created))
        if self.statements:
            parts.append(f"upgraded schema with {len(self.statements)} statement(s)")
        summary = "; ".join(parts) if parts else "tables already up to date"
        return f"workcraft schema v{self.version_after} in {config.describe()}: {summary}"


def ensure_database(config: DBConfig, retry: RetryPolicy | None = None) -> bool:
    """Create the database when it is missing; True if it was created."""
    with Store(config, retry=retry, with_database=True) as store:
        try:
            store.call(lambda q: q.schema.server_now())
            return False
        except UnknownDatabase:
            pass
    with Store(config, retry=retry, with_database=False) as server:
        server.call(lambda q: q.schema.run_ddl(schema.create_database_ddl(config.database)))
    log.info("created database %s", config.database)
    return True


def _binary_collation(q: Queries) -> str:
    available = q.schema.collations()
    for name in schema.NO_PAD_BINARY_COLLATIONS:
        if name in available:
            return name
    return schema.DEFAULT_BINARY_COLLATION


def _drop_foreign_keys(q: Queries, existing: set[str]) -> list[str]:
    statements: list[str] = []
    for table in schema.TABLES:
        if table.name in existing:
            names = q.schema.constraints(table.name, "FOREIGN KEY")
            statements += schema.drop_foreign_key_statements(table.name, names)
    for statement in statements:
        log.info("upgrading: %s", statement)
        q.schema.run_ddl(statement)
    return statements


def _upgrade_table(q: Queries, table: schema.Table, binary_collation: str) -> list[str]:
    statements = schema.upgrade_statements(
        table,
        q.schema.columns(table.name),
        q.schema.indexes(table.name),
        q.schema.constraints(table.name, "CHECK"),
        binary_collation,
    )
    for statement in statements:
        log.info("upgrading %s: %s", table.name, statement)
        q.schema.run_ddl(statement)
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

    def run(q: Queries) -> None:
        existing = q.schema.existing_tables()
        collation = _binary_collation(q)
        if drop_tables:
            for statement, table in zip(
                schema.drop_tables_ddl(), reversed(schema.TABLES), strict=True
            ):
                if table.name in existing:
                    q.schema.run_ddl(statement)
                    report.tables_dropped.append(table.name)
            existing -= set(report.tables_dropped)
        if schema.SCHEMA_TABLE.name in existing:
            report.version_before = q.schema.schema_version()
        report.statements += _drop_foreign_keys(q, existing)
        for table in schema.TABLES:
            if table.name in existing:
                report.statements += _upgrade_table(q, table, collation)
            else:
                q.schema.run_ddl(table.create_ddl(collation))
                report.tables_created.append(table.name)
        if report.version_before < schema.SCHEMA_VERSION:
            q.schema.record_schema_version(schema.SCHEMA_VERSION)

    with Store(config, retry=retry, name="setup") as store:
        store.call(run)
    return report
