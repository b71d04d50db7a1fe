"""What ``setup_database_tables`` asks the server about its schema, and the DDL it runs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import mysql.connector

from workcraft.data.cursor import Cursor
from workcraft.data.failures import ACCESS_DENIED, as_connector_error
from workcraft.data.schema_upgrade import ExistingColumn


class SchemaQueries:
    def __init__(self, cur: Cursor) -> None:
        self._cur = cur

    def server_now(self) -> dt.datetime:
        value: dt.datetime = self._cur.fetch_value("server_now")
        return value

    def connection_id(self) -> int:
        return int(self._cur.fetch_value("connection_id"))

    def session_isolation(self) -> str:
        """This session's isolation level, as the server spells it (REPEATABLE-READ)."""
        row = self._cur.fetch_one("session_isolation")
        return str(row["Value"]) if row else ""

    def session_cipher(self) -> str:
        """The TLS cipher of this connection; empty when it is not encrypted."""
        row = self._cur.fetch_one("session_cipher")
        return str(row["Value"] or "") if row else ""

    def max_allowed_packet(self) -> int:
        return int(self._cur.fetch_value("max_allowed_packet"))

    def tables_present(self) -> None:
        """Raises ``SchemaMissing`` (via the store) when the tables are not there."""
        self._cur.fetch_value("tables_present")

    def existing_tables(self) -> set[str]:
        return {row["TABLE_NAME"] for row in self._cur.fetch_all("existing_tables")}

    def columns(self, table: str) -> dict[str, ExistingColumn]:
        rows = self._cur.fetch_all("table_columns", {"table": table})
        return {
            row["COLUMN_NAME"]: ExistingColumn(
                type=row["COLUMN_TYPE"],
                nullable=row["IS_NULLABLE"] == "YES",
                default=row["COLUMN_DEFAULT"],
                charset=row["CHARACTER_SET_NAME"],
                collation=row["COLLATION_NAME"],
            )
            for row in rows
        }

    def table_collation(self, table: str) -> str | None:
        value = self._cur.fetch_value("table_collation", {"table": table})
        return None if value is None else str(value)

    def indexes(self, table: str) -> dict[str, tuple[str, ...]]:
        """The table's indexes, each with its column names in order."""
        found: dict[str, tuple[str, ...]] = {}
        for row in self._cur.fetch_all("table_indexes", {"table": table}):
            found[row["INDEX_NAME"]] = (*found.get(row["INDEX_NAME"], ()), row["COLUMN_NAME"])
        return found

    def constraints(self, table: str, kind: str) -> list[str]:
        """Names of the table's constraints of ``kind`` ('CHECK', 'FOREIGN KEY', ...)."""
        rows = self._cur.fetch_all("table_constraints", {"table": table})
        return [row["CONSTRAINT_NAME"] for row in rows if row["CONSTRAINT_TYPE"] == kind]

    def collations(self) -> set[str]:
        return {row["COLLATION_NAME"] for row in self._cur.fetch_all("binary_collations")}

    def schema_version(self) -> int:
        return int(self._cur.fetch_value("schema_version") or 0)

    def record_schema_version(self, version: int) -> None:
        self._cur.execute("record_schema_version", {"version": version})

    def run_ddl(self, statement: str) -> None:
        """DDL from ``schema.py``: constants and quoted identifiers, never values."""
        self._cur.raw_execute(statement)

    # -- what the published original (0.5.27) left: see workcraft.compat.sweepers ----------
    def original_events(self, names: Sequence[str]) -> dict[str, str]:
        """{event name: ENABLED / DISABLED / SLAVESIDE_DISABLED} of those that exist."""
        rows = self._cur.fetch_all("original_events", list(names), names=len(names))
        return {row["EVENT_NAME"]: row["STATUS"] for row in rows}

    def original_procedures(self, names: Sequence[str]) -> list[str]:
        rows = self._cur.fetch_all("original_procedures", list(names), names=len(names))
        return [row["ROUTINE_NAME"] for row in rows]

    def can_see_events(self) -> bool:
        """False when this user lacks the EVENT privilege on the database."""
        try:
            self._cur.execute("show_events")
        except Exception as exc:
            error = as_connector_error(exc) or exc
            if isinstance(error, mysql.connector.Error) and error.errno in ACCESS_DENIED:
                return False
            raise
        return True

    def event_scheduler(self) -> str:
        """The server's ``@@GLOBAL.event_scheduler``: ON, OFF or DISABLED (read only)."""
        return str(self._cur.fetch_value("event_scheduler")).upper()

    def foreign_statuses(self) -> int:
        """Tasks whose status is not one of ours (0.5.27's 'FAILED', a rejected '')."""
        return int(self._cur.fetch_value("foreign_statuses") or 0)

    def map_foreign_statuses(self, log_them: bool) -> int:
        """FAILED / '' -> FAILURE, anything else -> INVALID (one log line each when the
        logs table is there); returns how many rows changed."""
        if log_them:
            self._cur.execute("log_foreign_statuses")
        return self._cur.execute("map_foreign_statuses")
