"""What an operator wants to see at a glance: task counts, peons, recent janitor actions."""

from __future__ import annotations

import dataclasses
from typing import Any

from workcraft.data import Queries, Store
from workcraft.models import TaskStatus

STATUSES = tuple(status.value for status in TaskStatus)


@dataclasses.dataclass
class Board:
    counts: list[dict[str, Any]]
    peons: list[dict[str, Any]]
    logs: list[dict[str, Any]]
    retries_waiting: int

    def total(self, status: str | None = None) -> int:
        return sum(int(row["n"]) for row in self.counts if status in (None, row["status"]))

    def total_of(self, task_name: str, status: str | None = None) -> int:
        """Tasks with this name (and status)."""
        return sum(
            int(row["n"])
            for row in self.counts
            if row["task_name"] == task_name and status in (None, row["status"])
        )

    @property
    def unfinished(self) -> int:
        """Tasks that will still run: PENDING, RUNNING, or FAILURE with a retry to come."""
        return self.total("PENDING") + self.total("RUNNING") + self.retries_waiting

    def as_dict(self) -> dict[str, Any]:
        by_status = {status: self.total(status) for status in STATUSES}
        return {
            "tasks": by_status,
            "retries_waiting": self.retries_waiting,
            "by_task": [
                {
                    "queue": r["queue"],
                    "task_name": r["task_name"],
                    "status": r["status"],
                    "count": int(r["n"]),
                }
                for r in self.counts
            ],
            "peons": [
                {
                    key: (str(value) if key == "last_heartbeat" else value)
                    for key, value in p.items()
                }
                for p in self.peons
            ],
            "logs": [
                {"id": r["id"], "message": r["message"], "at": str(r["created_at"])}
                for r in self.logs
            ],
        }


def snapshot(store: Store, max_crashes: int = 3, log_lines: int = 10) -> Board:
    def read(q: Queries) -> Board:
        return Board(
            counts=q.board.task_counts(),
            peons=q.board.peons(),
            logs=q.board.recent_logs(log_lines),
            retries_waiting=q.board.retries_waiting(max_crashes),
        )

    return store.call(read)
