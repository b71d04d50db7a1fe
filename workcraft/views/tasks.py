"""Task lists and task details for ``workcraft tasks`` and the dashboard.

A list is newest first (by ``created_at``, then id), read status by status on
``ix_bountyboard_status_created`` and merged, with a keyset cursor so page 1,000 costs what
page 1 costs. Filters other than status are checked on the rows read; ``since`` bounds how
far back a rare match is looked for.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import heapq
import json
from typing import Any

from workcraft.data import Queries, Store
from workcraft.models import TaskStatus, decode_json
from workcraft.views.jsonable import jsonable, utc

STATUSES = tuple(status.value for status in TaskStatus)
# Beyond every created_at (the keyset's start) and before every one (the default "since").
_FAR_FUTURE = dt.datetime(2100, 1, 1)
_EPOCH = dt.datetime(1970, 1, 1, 0, 0, 1)


@dataclasses.dataclass(frozen=True)
class TaskFilter:
    statuses: tuple[str, ...] = ()
    queue: str | None = None
    name: str | None = None
    peon: str | None = None
    since: dt.datetime | None = None  # naive UTC
    text: str | None = None  # an id, or text inside the arguments

    def __post_init__(self) -> None:
        for status in self.statuses:
            if status not in STATUSES:
                raise ValueError(f"unknown status {status!r} (one of {', '.join(STATUSES)})")


@dataclasses.dataclass(frozen=True)
class Page:
    rows: list[dict[str, Any]]
    next_cursor: str | None  # pass back as ``after`` for the next page
    # The search ran out of its window before the page was full: ``next_cursor`` goes on
    # below the rows it read (older tasks may still match).
    window_ended: bool = False


def encode_cursor(row: dict[str, Any]) -> str:
    return _encode(_key(row))


def decode_cursor(cursor: str | None) -> tuple[dt.datetime, str]:
    if not cursor:
        return (_FAR_FUTURE, "")
    stamp, _, task_id = cursor.partition("|")
    try:
        return (dt.datetime.fromisoformat(stamp).replace(tzinfo=None), task_id)
    except ValueError:
        raise ValueError(f"bad page cursor {cursor!r}") from None


def list_tasks(
    q: Queries,
    wanted: TaskFilter,
    limit: int,
    after: str | None = None,
    window: int | None = None,
) -> Page:
    """A page of tasks, newest first. ``window``: check at most that many rows per status
    against the filters other than status (a bounded read however rare the match; the page
    may then hold fewer rows, with a cursor to search on). Without filters other than status
    every row read matches, so no window is needed."""
    before = decode_cursor(after)
    since = wanted.since or _EPOCH
    statuses = wanted.statuses or STATUSES
    if not (wanted.queue or wanted.name or wanted.peon or wanted.text):
        window = None
    per_status = [
        q.board.list_tasks(
            status=status,
            since=since,
            before=before,
            queue=wanted.queue,
            name=wanted.name,
            peon=wanted.peon,
            text=wanted.text,
            limit=limit + 1,
            window=window,
        )
        for status in statuses
    ]
    merged = heapq.merge(*per_status, key=_key, reverse=True)
    rows = [row for _, row in zip(range(limit + 1), merged, strict=False)]
    if window is not None:
        # Each status was read down to its window's end; below the highest of those ends
        # some status is unread, so rows there would be out of order: cut, go on from there.
        ends = []
        for status in statuses:
            end = q.board.task_window_end(status=status, since=since, before=before, window=window)
            if end is not None:
                ends.append(end)
        if ends:
            cut = max(ends)
            rows = [row for row in rows if _key(row) >= cut]
            if len(rows) <= limit:
                return Page(rows, _encode(cut), window_ended=True)
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, encode_cursor(rows[-1]) if more and rows else None)


def _key(row: dict[str, Any]) -> tuple[dt.datetime, str]:
    return (row["created_at"], row["id"])


def _encode(key: tuple[dt.datetime, str]) -> str:
    return f"{key[0].isoformat()}|{key[1]}"


def task_detail(store: Store, task_id: str) -> dict[str, Any] | None:
    """Everything about one task: its row (payload and result decoded), its timeline (the
    times in its row and the janitor's lines about it)."""

    def read(q: Queries) -> dict[str, Any] | None:
        row = q.board.task_detail(task_id)
        if row is None:
            return None
        return {"row": row, "logs": q.board.task_logs(task_id)}

    found = store.call(read)
    if found is None:
        return None
    row = found["row"]
    timeline = [
        (row["created_at"], "created"),
        (row["run_at"], "due (run_at)") if row["run_at"] != row["created_at"] else None,
        (row["started_at"], f"started (attempt {row['attempt']})") if row["started_at"] else None,
        (row["finished_at"], f"finished {row['status']}") if row["finished_at"] else None,
        *((log["created_at"], f"janitor: {log['message']}") for log in found["logs"]),
    ]
    events = sorted((e for e in timeline if e is not None), key=lambda e: e[0])
    detail = {
        key: row[key]
        for key in (
            "id",
            "status",
            "task_name",
            "queue",
            "priority",
            "worker_id",
            "attempt",
            "retry_on_failure",
            "retry_count",
            "retry_limit",
            "crash_count",
            "unique_key",
            "timeout_seconds",
            "concurrency_key",
            "concurrency_limit",
            "cancel_requested",
            "created_at",
            "run_at",
            "started_at",
            "finished_at",
            "updated_at",
        )
    }
    detail["retry_on_failure"] = bool(detail["retry_on_failure"])
    detail["cancel_requested"] = bool(detail["cancel_requested"])
    detail["will_retry"] = row["retry_pending_since"] is not None
    detail["payload"] = decode_json(row["payload"])
    detail["result"] = decode_json(row["result"])
    detail["timeline"] = [{"at": utc(at), "event": text} for at, text in events]
    return dict(jsonable(detail))


def row_summary(row: dict[str, Any]) -> dict[str, Any]:
    return dict(jsonable(row))


def parse_since(text: str | None, now: dt.datetime) -> dt.datetime | None:
    """``--since``: a duration back from now (``90s``, ``15m``, ``2h``, ``7d``) or an ISO
    time (naive = UTC). Returns naive UTC."""
    if text is None:
        return None
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if text[-1:] in units and text[:-1].replace(".", "", 1).isdigit():
        return now - dt.timedelta(seconds=float(text[:-1]) * units[text[-1]])
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"--since {text!r}: give a duration (90s, 15m, 2h, 7d) or an ISO time"
        ) from None
    return value.astimezone(dt.timezone.utc).replace(tzinfo=None) if value.tzinfo else value


def dumps(value: Any) -> str:
    return json.dumps(jsonable(value), ensure_ascii=False)
