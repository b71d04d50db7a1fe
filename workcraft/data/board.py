"""Reads for operators (``status``, ``tasks``, ``queues``, ``peons``, the dashboard and
``/metrics``). Every method is an index range or a bounded read."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from workcraft.data.cursor import Cursor
from workcraft.data.janitor import JanitorQueries

# Below every queue name, for walking queue names with PENDING tasks.
_BEFORE_ALL_NAMES = ""
_BEFORE_ALL_PRIORITIES = -(2**31) - 1


class BoardQueries:
    def __init__(self, cur: Cursor) -> None:
        self._cur = cur

    def live_counts(self, cap: int) -> list[dict[str, Any]]:
        """``{queue, task_name, status, n}`` for PENDING and RUNNING: exact below ``cap``
        tasks of a status, else counted among ``cap`` of them (the board says "at least")."""
        rows: list[dict[str, Any]] = []
        for status in ("PENDING", "RUNNING"):
            params = {"status": status, "cap": cap, "offset": cap - 1}
            over = self._cur.fetch_value("live_beyond_cap", params) is not None
            counts = self._cur.fetch_all("live_counts_capped" if over else "live_counts", params)
            rows += sorted(counts, key=lambda row: (row["queue"], row["task_name"]))
        return rows

    def retries_waiting(self, max_crashes: int, cap: int) -> list[dict[str, Any]]:
        """``{queue, task_name, n}`` of failures waiting for a retry, capped like
        ``live_counts``."""
        params = {"max_crashes": max_crashes, "cap": cap, "offset": cap - 1}
        over = self._cur.fetch_value("retries_beyond_cap", params) is not None
        return self._cur.fetch_all("retries_waiting_capped" if over else "retries_waiting", params)

    def totals(self) -> list[dict[str, Any]]:
        return self._cur.fetch_all("task_totals")

    def finished_recently(self, seconds: int) -> dict[str, int]:
        rows = self._cur.fetch_all("finished_recently", {"seconds": seconds})
        return {row["status"]: int(row["n"]) for row in rows}

    def pending_queues(self, limit: int = 1000) -> list[str]:
        """Queue names with PENDING tasks, one index dive each."""
        names: list[str] = []
        after = _BEFORE_ALL_NAMES
        while len(names) < limit:
            name = self._cur.fetch_value("next_pending_queue", [after])
            if name is None:
                return names
            names.append(str(name))
            after = str(name)
        return names

    def oldest_due(self, queue: str, now: dt.datetime) -> dt.datetime | None:
        """The earliest run_at among this queue's due PENDING tasks (dives per priority)."""
        oldest: dt.datetime | None = None
        priority = _BEFORE_ALL_PRIORITIES
        while True:
            found = self._cur.fetch_value("next_priority", [queue, priority])
            if found is None:
                return oldest
            priority = int(found)
            first = self._cur.fetch_value("oldest_due_at_priority", [queue, priority])
            if first is not None and first <= now and (oldest is None or first < oldest):
                oldest = first

    def queue_depth(self, queue: str, cap: int) -> int:
        return int(self._cur.fetch_value("queue_depth", [queue, cap]))

    def queue_rows(self) -> list[dict[str, Any]]:
        return self._cur.fetch_all("queue_rows")

    def peons(self) -> list[dict[str, Any]]:
        return self._cur.fetch_all("peon_list")

    def recent_logs(self, limit: int) -> list[dict[str, Any]]:
        return self._cur.fetch_all("recent_logs", {"limit": limit})

    def task_logs(self, task_id: str) -> list[dict[str, Any]]:
        return self._cur.fetch_all("task_logs", {"id": task_id})

    def janitor_states(self) -> list[dict[str, Any]]:
        return self._cur.fetch_all("janitor_states")

    def task_detail(self, task_id: str) -> dict[str, Any] | None:
        return self._cur.fetch_one("get_task_detail", {"id": task_id})

    def list_tasks(
        self,
        *,
        status: str,
        since: dt.datetime,
        before: tuple[dt.datetime, str],
        queue: str | None,
        name: str | None,
        peon: str | None,
        text: str | None,
        limit: int,
        window: int | None = None,
    ) -> list[dict[str, Any]]:
        """Newest first within ``status``, strictly before the keyset cursor ``before``.
        With ``window``, only that many rows (newest first) are checked against the filters:
        see ``task_window_end`` for where such a search stopped."""
        pattern = None if text is None else "%" + _like_escape(text) + "%"
        params = {
            "status": status,
            "since": since,
            "before_at": before[0],
            "before_id": before[1],
            "queue": queue,
            "name": name,
            "peon": peon,
            "text": text,
            "pattern": pattern,
            "limit": limit,
        }
        if window is None:
            return self._cur.fetch_all("list_tasks", params)
        return self._cur.fetch_all("list_tasks_window", {**params, "window": window})

    def task_window_end(
        self, *, status: str, since: dt.datetime, before: tuple[dt.datetime, str], window: int
    ) -> tuple[dt.datetime, str] | None:
        """The keyset of the last row a ``window`` read, or None when the window reached
        the end of ``status`` (nothing left to search)."""
        params = {
            "status": status,
            "since": since,
            "before_at": before[0],
            "before_id": before[1],
            "offset": window - 1,
        }
        row = self._cur.fetch_one("task_window_end", params)
        return None if row is None else (row["created_at"], str(row["id"]))

    def task_by_id(self, task_id: str) -> dict[str, Any] | None:
        """One task as ``list_tasks`` shows it (the primary key)."""
        return self._cur.fetch_one("task_by_id", {"id": task_id})

    def logs_before(self, before: int | None, limit: int) -> list[dict[str, Any]]:
        """The janitor's log lines, newest first, with ids below ``before`` (None: all)."""
        return self._cur.fetch_all("logs_before", {"before": before or 2**63 - 1, "limit": limit})

    def schedules(self, limit: int = 1000) -> list[dict[str, Any]]:
        return self._cur.fetch_all("schedule_list", {"limit": limit})

    def throughput_since(self, since: dt.datetime) -> list[dict[str, Any]]:
        return self._cur.fetch_all("throughput_since", {"since": since})

    def retry(self, task_ids: Sequence[str]) -> int:
        """Back to PENDING; each final outcome is counted first if the counters have not (a
        FAILURE still waiting for its retry is no outcome: it is never counted)."""
        retried = 0
        janitor = JanitorQueries(self._cur)
        for task_id in task_ids:
            row = self._cur.fetch_one("retry_candidate", {"id": task_id})
            if row is None:
                continue
            if self._cur.execute("retry_task", {"id": task_id}):
                retried += 1
                if row["finished_at"] is not None and row["retry_pending_since"] is None:
                    janitor.count_if_uncounted(
                        queue=row["queue"],
                        task_name=row["task_name"],
                        status=row["status"],
                        finished_at=row["finished_at"],
                    )
        return retried


def _like_escape(text: str) -> str:
    """The text as a JSON_SEARCH pattern that matches it literally (``\\`` escapes)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
