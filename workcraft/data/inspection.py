"""What ``setup_database_tables`` asks the server about its schema, and the DDL it runs."""

from __future__ import annotations

import datetime as dt

from workcraft.data.cursor import Cursor


class SchemaQueries:
    def __init__(self, cur: Cursor) -> None:
        self._cur = cur

    def server_now(self) -> dt.datetime:
        value: dt.datetime = self._cur.fetch_value("server_now")
        return value

    def connection_id(self) -> int:
        return int(self._cur.fetch_value("connection_id"))

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

    def columns(self, table: str) -> dict[str, str]:
        rows = self._cur.fetch_all("table_columns", {"table": table})
        return {row["COLUMN_NAME"]: row["COLUMN_TYPE"] for row in rows}

    def indexes(self, table: str) -> set[str]:
        return {row["INDEX_NAME"] for row in self._cur.fetch_all("table_indexes", {"table": table})}

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
