"""Rich tables of the board, for `workcraft status` and the demo."""

from __future__ import annotations

from rich.table import Table

from workcraft.board import STATUSES, Board


def task_table(board: Board) -> Table:
    statuses = STATUSES
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
