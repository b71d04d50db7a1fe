"""``setup_database_tables``: create the database and tables, or upgrade them in place.

A database made by workcraft 0.5.27 is converted like any older schema (``schema_upgrade``),
plus two steps of its own: task statuses we do not have ('FAILED', '') are mapped first, and
its EVENTs and procedures are reported, or dropped with ``drop_original_events``
(``workcraft.compat.sweepers``).
"""

from __future__ import annotations

import dataclasses
import logging

from workcraft.compat import sweepers
from workcraft.config.database import DBConfig
from workcraft.data import ddl, schema, schema_upgrade
from workcraft.data.access import Queries
from workcraft.data.store import RetryPolicy, Store
from workcraft.errors import DatabaseError, UnknownDatabase

log = logging.getLogger("workcraft.setup")


@dataclasses.dataclass
class SetupReport:
    database_created: bool = False
    tables_created: list[str] = dataclasses.field(default_factory=list)
    tables_dropped: list[str] = dataclasses.field(default_factory=list)
    statements: list[str] = dataclasses.field(default_factory=list)
    version_before: int = 0
    version_after: int = schema.SCHEMA_VERSION
    # Made by workcraft 0.5.27 (its CHECK constraints or indexes were found).
    original_shape: bool = False
    statuses_mapped: int = 0
    # The original's EVENTs and procedures as found before anything changed, and dropped.
    original_sweepers: sweepers.OriginalSweepers | None = None
    dropped: list[str] = dataclasses.field(default_factory=list)

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
        if self.statuses_mapped:
            parts.append(f"mapped {self.statuses_mapped} unknown task status(es), see logs")
        summary = "; ".join(parts) if parts else "tables already up to date"
        return f"workcraft schema v{self.version_after} in {config.describe()}: {summary}"

    def original_line(self, config: DBConfig) -> str | None:
        """One line about the original's EVENTs and procedures, when there is something to
        say: what was dropped, that they are still there, or that this user cannot tell."""
        found = self.original_sweepers
        if self.dropped:
            return "dropped the original workcraft's " + ", ".join(self.dropped)
        if found is None:
            return None
        if not found.visible:
            return (
                sweepers.invisible_line(config.database, config.user)
                if self.original_shape
                else None
            )
        return found.line(config.database)


def ensure_database(config: DBConfig, retry: RetryPolicy | None = None) -> bool:
    """Create the database when it is missing; True if it was created."""
    with Store(config, retry=retry, with_database=True) as store:
        try:
            store.call(lambda q: q.schema.server_now())
            return False
        except UnknownDatabase:
            pass
    with Store(config, retry=retry, with_database=False) as server:
        server.call(lambda q: q.schema.run_ddl(ddl.create_database_ddl(config.database)))
    log.info("created database %s", config.database)
    return True


def _binary_collation(q: Queries) -> str:
    available = q.schema.collations()
    for name in ddl.NO_PAD_BINARY_COLLATIONS:
        if name in available:
            return name
    return ddl.DEFAULT_BINARY_COLLATION


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


def _upgrade_table(q: Queries, table: ddl.Table, binary_collation: str) -> list[str]:
    statements = schema_upgrade.upgrade_statements(
        table,
        q.schema.columns(table.name),
        q.schema.indexes(table.name),
        q.schema.constraints(table.name, "CHECK"),
        binary_collation,
        q.schema.table_collation(table.name),
    )
    for statement in statements:
        log.info("upgrading %s: %s", table.name, statement)
        q.schema.run_ddl(statement)
    return statements


def _is_original(q: Queries, existing: set[str]) -> bool:
    """Tables made by workcraft 0.5.27: its CHECK constraints or its indexes are there."""
    if "bountyboard" not in existing:
        return False
    checks = set(q.schema.constraints("bountyboard", "CHECK"))
    indexes = set(q.schema.indexes("bountyboard"))
    return bool(
        checks & set(schema.SEED_CHECKS_TO_DROP) or indexes & set(schema_upgrade.ORIGINAL_INDEXES)
    )


def _map_foreign_statuses(q: Queries, existing: set[str]) -> tuple[list[str], int]:
    """Statuses we do not have become ours before the column is converted (an ENUM cannot
    take them): the column is widened to text, the rows mapped and logged."""
    if "bountyboard" not in existing or not q.schema.foreign_statuses():
        return [], 0
    log.info("upgrading bountyboard: %s", schema_upgrade.WIDEN_STATUS_DDL)
    q.schema.run_ddl(schema_upgrade.WIDEN_STATUS_DDL)
    mapped = q.schema.map_foreign_statuses(log_them="logs" in existing)
    log.info("mapped %d task status(es) workcraft does not have", mapped)
    return [schema_upgrade.WIDEN_STATUS_DDL], mapped


def setup_database_tables(
    config: DBConfig,
    drop_tables: bool = False,
    create_database: bool = True,
    retry: RetryPolicy | None = None,
    drop_original_events: bool = False,
) -> SetupReport:
    """Idempotent: a second run changes nothing. ``drop_tables`` starts from empty tables.
    ``drop_original_events`` drops workcraft 0.5.27's EVENTs and procedures (which needs the
    EVENT and ALTER ROUTINE privileges); without it they are only reported."""
    report = SetupReport()
    if create_database:
        report.database_created = ensure_database(config, retry)

    def run(q: Queries) -> None:
        existing = q.schema.existing_tables()
        report.original_sweepers = found = sweepers.inspect(q)
        if drop_original_events and not found.visible:
            raise DatabaseError(
                f"--drop-original-events: {config.user} cannot see EVENTs in "
                f"{config.database}; it needs the EVENT and ALTER ROUTINE privileges there"
            )
        report.original_shape = _is_original(q, existing)
        if drop_original_events:  # first: no old sweeper runs against half-converted tables
            report.dropped = sweepers.drop(q, found)
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
        widened, report.statuses_mapped = _map_foreign_statuses(q, existing)
        report.statements += widened
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
