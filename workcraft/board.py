"""What an operator wants to see at a glance: task counts, peons, recent janitor actions."""

from __future__ import annotations

import dataclasses
import decimal
from typing import Any

from rich.table import Table

from workcraft.store import Cursor, Store

FINAL = ("SUCCESS", "FAILURE", "INVALID")


@dataclasses.dataclass
class Board:
    counts: list[dict[str, Any]]
    peons: list[dict[str, Any]]
    logs: list[dict[str, Any]]
    retries_waiting: int

    def total(self, status: str | None = None) -> int:
        return sum(int(row["n"]) for row in self.counts if status in (None, row["status"]))

    @property
    def unfinished(self) -> int:
        """Tasks that will still run: PENDING, RUNNING, or FAILURE with a retry to come."""
        return self.total("PENDING") + self.total("RUNNING") + self.retries_waiting

    def as_dict(self) -> dict[str, Any]:
        by_status = {status: self.total(status) for status in ("PENDING", "RUNNING", *FINAL)}
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


def _plain(value: Any) -> Any:
    """JSON-friendly: datetimes and decimals as strings/floats."""
    if isinstance(value, (int, float, str)) or value is None:
        return value
    if isinstance(value, decimal.Decimal):
        return float(value)
    return str(value)


def snapshot(store: Store, max_crashes: int = 3, log_lines: int = 10) -> Board:
    def read(cur: Cursor) -> Board:
        return Board(
            counts=cur.fetch_all("board_counts"),
            peons=cur.fetch_all("peon_list"),
            logs=cur.fetch_all("recent_logs", {"limit": log_lines}),
            retries_waiting=int(cur.fetch_value("retries_waiting", {"max_crashes": max_crashes})),
        )

    return store.call(read)


def task_table(board: Board) -> Table:
    statuses = ("PENDING", "RUNNING", *FINAL)
    table = Table(title="Tasks (bountyboard)")
    table.add_column("queue")
    table.add_column("task")
    for status in statuses:
        table.add_column(status, justify="right")
    rows: dict[tuple[str, str], dict[str, int]] = {}
    for row in board.counts:
        rows.setdefault((row["queue"], row["task_name"]), {})[row["status"]] = int(row["n"])
    for (queue, name), counts in rows.items():
        table.add_row(queue, name, *(str(counts.get(status, 0)) for status in statuses))
    return table


def peon_table(board: Board) -> Table:
    table = Table(title="Peons")
    for column in ("id", "status", "host", "pid", "running", "done", "silent"):
        table.add_column(column)
    for peon in board.peons:
        table.add_row(
            str(peon["id"]),
            str(peon["status"]),
            str(peon["hostname"] or ""),
            str(peon["pid"] or ""),
            str(peon["running_tasks"]),
            str(peon["tasks_done"]),
            f"{float(peon['silent_s'] or 0):.1f} s",
        )
    return table


def log_table(board: Board) -> Table:
    table = Table(title="Recent janitor actions (logs)")
    table.add_column("at")
    table.add_column("message")
    for row in reversed(board.logs):
        table.add_row(str(row["created_at"])[:19], str(row["message"]))
    return table
