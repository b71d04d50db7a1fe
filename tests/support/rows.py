"""Reading the workcraft tables back with plain SQL: what a test checks after the fact."""

from __future__ import annotations

import json
from typing import Any

from tests.support.sql import Sql


def task_row(sql: Sql, task_id: str) -> dict[str, Any]:
    """The whole ``bountyboard`` row of a task (fails the test if there is none)."""
    rows = sql.rows("SELECT * FROM bountyboard WHERE id = %s", (task_id,))
    assert rows, f"no task {task_id}"
    return rows[0]


def peon_row(sql: Sql, worker_id: str) -> dict[str, Any] | None:
    """The ``peon`` row of a worker id, or None."""
    rows = sql.rows("SELECT * FROM peon WHERE id = %s", (worker_id,))
    return rows[0] if rows else None


def result_of(row: dict[str, Any]) -> Any:
    """A task row's ``result``, decoded from JSON (None while there is none)."""
    return None if row["result"] is None else json.loads(str(row["result"]))


def status_counts(sql: Sql) -> dict[str, int]:
    """How many tasks are in each status."""
    return {
        str(row["status"]): int(row["n"])
        for row in sql.rows("SELECT status, COUNT(*) AS n FROM bountyboard GROUP BY status")
    }


def log_lines(sql: Sql, like: str = "%") -> list[str]:
    """The ``logs`` messages matching ``like``, oldest first."""
    return [
        str(row["message"])
        for row in sql.rows("SELECT message FROM logs WHERE message LIKE %s ORDER BY id", (like,))
    ]
