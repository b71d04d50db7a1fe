"""The schedules table: peons register definitions, the janitor enqueues occurrences."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

from workcraft.data.cursor import Cursor


@dataclasses.dataclass(frozen=True)
class ScheduleDefinition:
    """A schedule as a peon writes it."""

    name: str
    task_name: str
    cron: str | None
    every: float | None
    payload_json: str
    queue: str
    priority: int


@dataclasses.dataclass(frozen=True)
class DueSchedule:
    """A schedule row the janitor locked because an occurrence is due (or not computed)."""

    definition: ScheduleDefinition
    next_run_at: dt.datetime | None
    last_run_at: dt.datetime | None
    stale: bool  # no live peon registered it for longer than the threshold


class ScheduleQueries:
    def __init__(self, cur: Cursor) -> None:
        self._cur = cur

    def upsert(self, definition: ScheduleDefinition) -> None:
        self._cur.execute(
            "upsert_schedule",
            {
                "name": definition.name,
                "task_name": definition.task_name,
                "cron": definition.cron,
                "every": definition.every,
                "payload": definition.payload_json,
                "queue": definition.queue,
                "priority": definition.priority,
            },
        )

    def touch(self, names: Sequence[str]) -> None:
        if names:
            self._cur.execute("touch_schedules", list(names), names=len(names))

    def due(self, *, now: dt.datetime | None, stale_after: float, batch: int) -> list[DueSchedule]:
        params = {"now": now, "stale_us": round(stale_after * 1_000_000), "batch": batch}
        return [
            DueSchedule(
                ScheduleDefinition(
                    row["name"],
                    row["task_name"],
                    row["cron"],
                    None if row["every_seconds"] is None else float(row["every_seconds"]),
                    row["payload"],
                    row["queue"],
                    int(row["priority"]),
                ),
                row["next_run_at"],
                row["last_run_at"],
                bool(row["stale"]),
            )
            for row in self._cur.fetch_all("due_schedules", params)
        ]

    def set_next_run(self, name: str, next_run_at: dt.datetime) -> None:
        self._cur.execute("set_next_run", {"name": name, "next_run_at": next_run_at})

    def record_occurrence(
        self, *, name: str, occurrence: dt.datetime, next_run_at: dt.datetime, task_id: str
    ) -> bool:
        """False if this occurrence (or a later one) was already enqueued."""
        params = {
            "name": name,
            "occurrence": occurrence,
            "next_run_at": next_run_at,
            "task_id": task_id,
        }
        return self._cur.execute("record_occurrence", params) > 0

    def deactivate(self, *, name: str, now: dt.datetime | None, stale_after: float) -> bool:
        params = {"name": name, "now": now, "stale_us": round(stale_after * 1_000_000)}
        return self._cur.execute("deactivate_schedule", params) > 0
