"""Bringing an existing table to the one ``schema.py`` declares, keeping its rows; and the
DDL for what the published original (workcraft 0.5.27) left in a database.

Statements are built from the declarations and quoted identifiers only, never from values.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from workcraft.data.ddl import (
    DEFAULT_BINARY_COLLATION,
    Column,
    Table,
    normalise_type,
    quote_identifier,
)
from workcraft.data.schema import SEED_CHECKS_TO_DROP, TABLE_CHARSET


@dataclasses.dataclass(frozen=True)
class ExistingColumn:
    """A column as information_schema describes it."""

    type: str
    nullable: bool = False
    default: str | None = None
    charset: str | None = None
    collation: str | None = None


def upgrade_statements(
    table: Table,
    existing_columns: dict[str, ExistingColumn],
    existing_indexes: Mapping[str, tuple[str, ...]],
    checks: list[str],
    binary_collation: str = DEFAULT_BINARY_COLLATION,
    table_collation: str | None = None,
) -> list[str]:
    """ALTER statements that bring an existing table to ``table``, keeping its rows."""
    statements: list[str] = []
    for name in checks:
        if name in SEED_CHECKS_TO_DROP:
            statements.append(
                f"ALTER TABLE `{table.name}` DROP CONSTRAINT {quote_identifier(name)}"
            )
    for name in table.obsolete_indexes:
        if name in existing_indexes:
            statements.append(f"ALTER TABLE `{table.name}` DROP KEY {quote_identifier(name)}")
    if table_collation is not None and not table_collation.startswith("utf8mb4"):
        # Columns added from here on take the table's character set (latin1 on a server that
        # defaults to it: 0.5.27's CREATE TABLE named none).
        statements.append(f"ALTER TABLE `{table.name}` DEFAULT CHARACTER SET {TABLE_CHARSET}")
    for column in table.columns:
        current = existing_columns.get(column.name)
        if current is None:
            statements.append(
                f"ALTER TABLE `{table.name}` ADD COLUMN {column.ddl(binary_collation)}"
            )
            if column.backfill:
                statements.append(column.backfill)
            continue
        making_not_null = column.not_null and current.nullable
        if making_not_null or _differs(column, current, binary_collation):
            if making_not_null:
                statements.append(_fill_nulls(table, column))
            statements.append(
                f"ALTER TABLE `{table.name}` MODIFY COLUMN {column.ddl(binary_collation)}"
            )
    for index in table.indexes:
        indexed = existing_indexes.get(index.name)
        if indexed is None:
            statements.append(f"ALTER TABLE `{table.name}` ADD {index.ddl()}")
        elif indexed != index.column_names:
            # Same name, other columns (an earlier release's definition): rebuilt in one
            # statement, so no moment passes without it.
            statements.append(
                f"ALTER TABLE `{table.name}` DROP KEY {quote_identifier(index.name)}, "
                f"ADD {index.ddl()}"
            )
    return statements


def _differs(column: Column, current: ExistingColumn, binary_collation: str) -> bool:
    """Type, integer default, character set, or (byte-compared columns) collation."""
    if normalise_type(current.type) != normalise_type(column.type):
        return True
    if column.int_default is not None and current.default not in (None, column.int_default):
        return True
    if current.charset is not None and not current.charset.startswith("utf8mb4"):
        return True
    return column.binary and current.collation not in (None, binary_collation)


def _fill_nulls(table: Table, column: Column) -> str:
    """Give NULLs our default before the column becomes NOT NULL (0.5.27 declared several
    of ours NULL-able); a row's updated_at stays as it was."""
    keep = ""
    if column.name != "updated_at" and any(c.name == "updated_at" for c in table.columns):
        keep = ", `updated_at` = `updated_at`"
    name = quote_identifier(column.name)
    # A declared default (a constant) and a quoted identifier: no value is interpolated.
    assignment = f"{name} = {column.default_sql}{keep}"
    return f"UPDATE `{table.name}` SET {assignment} WHERE {name} IS NULL"  # noqa: S608


# -- databases made by workcraft 0.5.27 ------------------------------------------------------
# A status column that may hold values we do not have ('FAILED', ''): made plain text while
# they are mapped, then converged to our ENUM like any other column.
WIDEN_STATUS_DDL = (
    "ALTER TABLE `bountyboard` MODIFY COLUMN `status` varchar(64) "
    f"CHARACTER SET {TABLE_CHARSET} NULL DEFAULT 'PENDING'"
)
ORIGINAL_EVENTS = ("run_check_dead_workers", "run_reopen_failed_tasks", "run_self_correct_tasks")
ORIGINAL_PROCEDURES = ("check_dead_workers", "reopen_failed_tasks", "self_correct_tasks")
# Indexes only 0.5.27's setup made: with its CHECK constraints, how its tables are told.
ORIGINAL_INDEXES = ("idx_task_status_created", "idx_last_updated")


def drop_original_ddl(kind: str, name: str) -> str:
    """``DROP EVENT`` / ``DROP PROCEDURE`` of one of the original's, by its known name."""
    known = {"EVENT": ORIGINAL_EVENTS, "PROCEDURE": ORIGINAL_PROCEDURES}.get(kind, ())
    if name not in known:
        raise ValueError(f"{kind} {name!r} is not one of the original workcraft's")
    return f"DROP {kind} IF EXISTS {quote_identifier(name)}"
