"""Runs named statements on one open DB-API cursor. Private to the data layer: code outside
``workcraft.data`` calls the typed methods of ``Queries`` instead of naming a query."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from workcraft.data.queries import expand, load_queries

Params = Sequence[Any] | dict[str, Any]


class Cursor:
    """Any DB-API cursor with the ``%s`` / ``%(name)s`` paramstyle (mysql-connector,
    PyMySQL, mysqlclient): the producer also runs on a caller's own connection."""

    def __init__(self, raw: Any) -> None:
        self._raw = raw
        self._queries = load_queries()

    def _sql(self, name: str, expansions: dict[str, int] | None) -> str:
        sql = self._queries[name]
        return expand(sql, **expansions) if expansions else sql

    def execute(self, name: str, params: Params = (), **expansions: int) -> int:
        """Run a statement; returns the matched row count."""
        self._raw.execute(self._sql(name, expansions), params)
        if self._raw.description is not None:
            self._raw.fetchall()
        return int(self._raw.rowcount)

    def executemany(self, name: str, rows: Sequence[Sequence[Any]]) -> int:
        self._raw.executemany(self._sql(name, None), rows)
        return int(self._raw.rowcount)

    def fetch_all(self, name: str, params: Params = (), **expansions: int) -> list[dict[str, Any]]:
        self._raw.execute(self._sql(name, expansions), params)
        columns = [column[0] for column in self._raw.description or ()]
        return [dict(zip(columns, row, strict=True)) for row in self._raw.fetchall()]

    def fetch_one(self, name: str, params: Params = (), **expansions: int) -> dict[str, Any] | None:
        rows = self.fetch_all(name, params, **expansions)
        return rows[0] if rows else None

    def fetch_value(self, name: str, params: Params = (), **expansions: int) -> Any:
        self._raw.execute(self._sql(name, expansions), params)
        rows = self._raw.fetchall()
        return rows[0][0] if rows else None

    def raw_execute(self, statement: str) -> None:
        """DDL built by ``schema.py`` from constants and quoted identifiers, never values."""
        self._raw.execute(statement)
        if self._raw.description is not None:
            self._raw.fetchall()
