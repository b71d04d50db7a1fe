"""Runs named statements on one open DB-API cursor. Private to the data layer: code outside
``workcraft.data`` calls the typed methods of ``Queries`` instead of naming a query."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from workcraft.data.queries import Shape, multi_row, positional, statement

Params = Sequence[Any] | dict[str, Any]


class Deferred:
    """The row count of a statement handed to ``Cursor.defer``: known once the statement
    has been sent (reading it before then sends what waits)."""

    __slots__ = ("_count", "_cursor")

    def __init__(self, cursor: Cursor, count: int | None = None) -> None:
        self._cursor = cursor
        self._count = count

    def resolve(self, count: int) -> None:
        self._count = count

    @property
    def count(self) -> int:
        if self._count is None:
            self._cursor.flush()
        if self._count is None:
            raise RuntimeError("a deferred statement was never sent")
        return self._count


class Cursor:
    """Any DB-API cursor with the ``%s`` / ``%(name)s`` paramstyle (mysql-connector,
    PyMySQL, mysqlclient): the producer also runs on a caller's own connection.

    ``defer`` and ``commit`` let a transaction send several statements per round trip where
    the driver can (``ConnectorCursor``); here each statement simply runs at once."""

    def __init__(self, raw: Any) -> None:
        self._raw = raw

    def defer(self, name: str, params: Params = (), **expansions: int) -> Deferred:
        """Run a statement that returns no rows, at the latest with the next one sent."""
        return Deferred(self, self.execute(name, params, **expansions))

    def flush(self) -> None:
        """Send the deferred statements that still wait (none here: they ran at once)."""

    def commit(self, conn: Any) -> None:
        """COMMIT ``conn``'s open transaction, with the deferred statements that still wait
        (none here)."""
        conn.commit()

    @property
    def raw(self) -> Any:
        """The DB-API cursor underneath (closed with the connection's store)."""
        return self._raw

    @staticmethod
    def _sql(name: str, expansions: dict[str, int] | None) -> str:
        return statement(name, **expansions) if expansions else statement(name)

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


class ConnectorCursor(Cursor):
    """The same interface straight on a mysql-connector C-extension connection: parameters
    escaped by the connector (``prepare_for_mysql``), substituted into our own statement
    text, and sent with ``cmd_query``. It skips the DB-API cursor's per-statement work
    (multi-statement splitting, a regular expression over the whole text, result-set
    bookkeeping): about a third of the client's CPU per statement, on every claim."""

    def __init__(self, conn: Any) -> None:
        super().__init__(conn.cursor())
        self._conn = conn
        self._waiting: list[tuple[bytes, Deferred]] = []

    def _text(self, name: str, params: Params, expansions: dict[str, int] | None) -> bytes:
        shape = positional(self._sql(name, expansions))
        if not params:
            return shape.sql
        values = [params[key] for key in shape.names] if isinstance(params, dict) else params
        return _fill(name, shape, self._conn.prepare_for_mysql(list(values)))

    def executemany(self, name: str, rows: Sequence[Sequence[Any]]) -> int:
        """One multi-row INSERT, its text built here: the rows' values are escaped in one
        call and joined between the cached parts of the statement's VALUES row (the DB-API
        cursor runs a regular expression over every row)."""
        if not rows:
            return 0
        head, row, tail = multi_row(self._sql(name, None))
        width = len(row.parts) - 1
        # Row by row: rows of wrong lengths could add up to the right total and shift values
        # into the wrong columns; then every slice below has its row's values exactly.
        if any(len(values) != width for values in rows):
            raise ValueError(f"{name}: every row needs {width} values")
        quoted = self._conn.prepare_for_mysql([value for values in rows for value in values])
        filled = [_fill(name, row, quoted[i : i + width]) for i in range(0, len(quoted), width)]
        result = self._send(head + b", ".join(filled) + tail)
        return int(result["affected_rows"]) if isinstance(result, dict) else 0

    def _query(self, name: str, params: Params, expansions: dict[str, int] | None) -> Any:
        return self._send(self._text(name, params, expansions))

    def _send(self, sql: bytes) -> Any:
        """Send ``sql`` after the deferred statements, in one round trip (the connector
        enables multi-statements): each deferred one gets its row count, and the result of
        ``sql`` comes back as ``cmd_query`` gives it. The server stops at the first error,
        which is raised here; the statements after it were not run."""
        if not self._waiting:
            return self._conn.cmd_query(sql)
        waiting, self._waiting = self._waiting, []
        result = self._conn.cmd_query(b";\n".join([text for text, _ in waiting] + [sql]))
        for _text, deferred in waiting:
            if isinstance(result, dict) and "columns" in result:
                deferred.resolve(len(self._rows(result)))  # not meant for rows; drained
            else:
                deferred.resolve(int(result["affected_rows"]) if isinstance(result, dict) else 0)
            self._conn.next_result()
            if self._conn._cmysql.have_result_set:  # the connector says it only there
                result = self._conn.fetch_eof_columns()
            else:
                result = self._conn.fetch_eof_status()
        return result

    def defer(self, name: str, params: Params = (), **expansions: int) -> Deferred:
        deferred = Deferred(self)
        self._waiting.append((self._text(name, params, expansions), deferred))
        return deferred

    def flush(self) -> None:
        if self._waiting:
            self._send(b"DO 0")

    def commit(self, conn: Any) -> None:
        if self._waiting:
            self._send(b"COMMIT")  # with the deferred statements: one round trip
        else:
            conn.commit()

    def _rows(self, result: Any) -> list[tuple[Any, ...]]:
        if not isinstance(result, dict) or "columns" not in result:
            return []
        rows, _eof = self._conn.get_rows()
        return [tuple(row) for row in rows]

    def execute(self, name: str, params: Params = (), **expansions: int) -> int:
        result = self._query(name, params, expansions)
        if isinstance(result, dict) and "columns" in result:
            rows = self._rows(result)
            return len(rows)
        return int(result["affected_rows"]) if isinstance(result, dict) else 0

    def fetch_all(self, name: str, params: Params = (), **expansions: int) -> list[dict[str, Any]]:
        result = self._query(name, params, expansions)
        columns = [column[0] for column in result.get("columns", ())] if result else []
        return [dict(zip(columns, row, strict=True)) for row in self._rows(result)]

    def fetch_value(self, name: str, params: Params = (), **expansions: int) -> Any:
        rows = self._rows(self._query(name, params, expansions))
        return rows[0][0] if rows else None

    def raw_execute(self, statement: str) -> None:
        result = self._conn.cmd_query(statement)
        self._rows(result)


def _fill(name: str, shape: Shape, quoted: Sequence[bytes]) -> bytes:
    """The statement's parts with the escaped values between them."""
    parts = shape.parts
    if len(quoted) != len(parts) - 1:
        raise ValueError(f"{name}: {len(parts) - 1} placeholders, {len(quoted)} values")
    pieces = [parts[0]]
    for value, part in zip(quoted, parts[1:], strict=True):
        pieces += (value, part)
    return b"".join(pieces)


def cursor_for(conn: Any) -> Cursor:
    """The fast cursor on the connector's C extension, the DB-API one elsewhere."""
    if type(conn).__name__ == "CMySQLConnection":
        return ConnectorCursor(conn)
    return Cursor(conn.cursor())
