"""Running the producer's INSERT on a connection the caller owns (``connection=``), so the
task exists exactly when the caller's own transaction commits. Never commits, never rolls
back, never changes the caller's session."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from workcraft.data.access import Queries
from workcraft.data.cursor import Cursor
from workcraft.data.tasks import TaskRow


def insert_on_connection(connection: Any, rows: Sequence[TaskRow]) -> list[str]:
    """``rows`` inserted with the caller's DB-API connection; returns the task ids."""
    cursor = getattr(connection, "cursor", None)
    if not callable(cursor):
        raise TypeError(
            f"connection must be a DB-API connection (with .cursor()), got "
            f"{type(connection).__name__}"
        )
    raw = cursor()
    try:
        return Queries(Cursor(raw)).tasks.insert(rows)
    finally:
        raw.close()
