"""Rich tables of the board, for ``workcraft status`` (once or ``--watch``) and the demo."""

from __future__ import annotations

import datetime as dt

from rich.console import Group
from rich.table import Table
from rich.text import Text

from workcraft.views.board import STATUSES, Board, QueueInfo


def ago(seconds: float | None) -> str:
    """A duration for people: 0.4 s, 12 s, 3 min, 2.5 h, 4 d."""
    if seconds is None:
        return "-"
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172_800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.0f} d"


def when(value: dt.datetime | None) -> str:
    return "-" if value is None else value.strftime("%Y-%m-%d %H:%M:%S")


def task_table(board: Board) -> Table:
    table = Table(title="Tasks (bountyboard; final outcomes counted by the janitor)")
    table.add_column("queue")
    table.add_column("task")
    for status in STATUSES:
        table.add_column(status, justify="right")
    table.add_column("retrying", justify="right")
    for row in board.rows_by_task():
        cells = [str(row[status]) for status in STATUSES]
        if board.capped:  # every PENDING count is then a lower bound
            cells[0] = f">={row['PENDING']}"
        table.add_row(row["queue"], row["task_name"], *cells, str(row["retrying"]))
    return table


def queue_table(queues: list[QueueInfo], capped: bool) -> Group:
    """The queues, then one warning line per queue that needs a person (outside the table, so
    a narrow or piped terminal never cuts it short)."""
    table = Table(title="Queues")
    for column in ("queue", "pending", "running", "retrying", "oldest due", "paused", "peons"):
        table.add_column(column, justify="right" if column in ("pending", "running") else "left")
    warnings: list[Text] = []
    for q in queues:
        if not q.peons and q.pending:
            warnings.append(Text(f"! queue {q.name}: no live peon listens to this queue", "yellow"))
        if q.unregistered:
            names = ", ".join(q.unregistered)
            warnings.append(Text(f"! queue {q.name}: no peon registers {names}", "yellow"))
        table.add_row(
            q.name,
            f">={q.pending}" if capped else str(q.pending),
            str(q.running),
            str(q.retrying),
            ago(q.oldest_due_age_s),
            "PAUSED" if q.paused else "",
            str(len(q.peons)),
        )
    return Group(table, *warnings)


def peon_table(board: Board) -> Table:
    table = Table(title="Peons")
    for column in ("id", "status", "host", "pid", "queues", "running", "done", "heartbeat"):
        table.add_column(column)
    for peon in board.peons:
        heartbeat = ago(peon["heartbeat_age_s"]) + " ago"
        if not peon["live"] and peon["status"] != "OFFLINE":
            heartbeat += " (silent: dead?)"
        table.add_row(
            str(peon["id"]),
            str(peon["status"]),
            str(peon["hostname"] or ""),
            str(peon["pid"] or ""),
            ",".join(peon["queues"]),
            f"{peon['running_tasks']}/{peon['concurrency']}",
            str(peon["tasks_done"]),
            heartbeat,
        )
    return table


def log_table(board: Board) -> Table:
    table = Table(title="Recent janitor actions (logs)")
    table.add_column("at")
    table.add_column("message")
    for row in reversed(board.logs):
        table.add_row(when(row["at"]), str(row["message"]))
    return table


def headline(board: Board) -> Text:
    """One line: leader, throughput, backlog."""
    done = sum(board.last_minute.values())
    info = board.leader
    if info is None:
        leader = "no janitor has led yet"
    else:
        seen = ago(info["seen_age_s"])
        mode = info.get("mode") or "get_lock"
        how = f"{mode}, term {info['term']}" if mode == "lease" else mode
        leader = (
            f"janitor leader {info['holder']} ({how}; seen {seen} ago)"
            if info["present"]
            else f"NO janitor leader (last: {info['holder']}, {how}, {seen} ago)"
        )
    oldest = max((q.oldest_due_age_s or 0 for q in board.queues), default=0)
    text = Text(f"{when(board.at)} UTC  |  {leader}  |  ")
    text.append(f"{done} finished in the last minute ({done / 60:.1f}/s)")
    text.append(f"  |  oldest due task waits {ago(oldest) if oldest else '-'}")
    return text


def board_view(board: Board) -> Group:
    parts: list[Table | Text | Group] = [headline(board), task_table(board)]
    parts.append(queue_table(board.queues, board.capped))
    parts.append(peon_table(board))
    if board.logs:
        parts.append(log_table(board))
    return Group(*parts)


def with_note(view: Group, note: str | None) -> Group:
    """The board with one warning line under it (the original's EVENTs still there)."""
    if not note:
        return view
    return Group(view, Text("! " + note, style="bold yellow"))
