"""What the janitor's sweeps read and change, and the ``logs`` table they write to.

``now`` (naive UTC) stands in for the database clock when given, so tests move time instead
of sleeping; ``None`` means the database's ``NOW(6)``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from workcraft.data.cursor import Cursor
from workcraft.data.rows import DueRetry, SilentPeon, StrandedTask


def _us(seconds: float) -> int:
    return round(seconds * 1_000_000)


class JanitorQueries:
    def __init__(self, cur: Cursor) -> None:
        self._cur = cur

    def add_log(
        self,
        message: str,
        task_id: str | None = None,
        janitor: str | None = None,
        term: int | None = None,
    ) -> None:
        """One line a person reads in ``logs`` (about ``task_id``, if it is about a task;
        written by ``janitor`` under leadership ``term``)."""
        params = {"message": message, "task_id": task_id, "janitor": janitor, "term": term}
        self._cur.execute("insert_log", params)

    def server_uptime(self) -> float:
        row = self._cur.fetch_one("server_uptime")
        return float(row["Value"]) if row else float("inf")

    # -- dead peons -----------------------------------------------------------------------
    def silent_peons(
        self, *, now: dt.datetime | None, threshold: float, batch: int
    ) -> list[SilentPeon]:
        """Peons (any status but OFFLINE) silent for longer than ``threshold``, locked."""
        params = {"now": now, "threshold_us": _us(threshold), "batch": batch}
        return [
            SilentPeon(row["id"], row["status"], int(row["silent_us"]) / 1_000_000)
            for row in self._cur.fetch_all("dead_peons", params)
        ]

    def declare_dead(self, *, peon_id: str, now: dt.datetime | None, threshold: float) -> bool:
        """OFFLINE, if it is still silent (re-checked: another janitor may have been first)."""
        params = {"id": peon_id, "now": now, "threshold_us": _us(threshold)}
        return self._cur.execute("declare_peon_dead", params) > 0

    def running_tasks_of(self, peon_id: str) -> list[StrandedTask]:
        return [
            StrandedTask(
                row["id"],
                row["task_name"],
                peon_id,
                row["attempt"],
                row["crash_count"],
                cancel_requested=bool(row["cancel_requested"]),
            )
            for row in self._running_rows_of(peon_id)
        ]

    def _running_rows_of(self, peon_id: str) -> list[dict[str, Any]]:
        """The peon's RUNNING rows, locked (found without locks, then locked by id)."""
        found = self._cur.fetch_all("running_ids_of_peon", {"worker_id": peon_id})
        ids = [row["id"] for row in found]
        if not ids:
            return []
        return self._cur.fetch_all("running_tasks_of_peon", [*ids, peon_id], ids=len(ids))

    # -- orphaned RUNNING tasks -------------------------------------------------------------
    def orphaned_running(self, *, batch: int) -> list[StrandedTask]:
        return [
            StrandedTask(
                row["id"],
                row["task_name"],
                row["worker_id"],
                row["attempt"],
                row["crash_count"],
                row["reason"],
                bool(row["cancel_requested"]),
            )
            for row in self._cur.fetch_all("orphaned_running_tasks", {"batch": batch})
        ]

    def requeue(self, task: StrandedTask) -> bool:
        """Back to PENDING (CANCELLED if a cancel was asked), counting the crash; only if it
        is still that RUNNING attempt."""
        params = {"id": task.id, "attempt": task.attempt}
        return self._cur.execute("requeue_crashed_task", params) > 0

    def fail_crashed(self, task: StrandedTask, result_json: str) -> bool:
        """FAILURE for good (poison pill); only if it is still that RUNNING attempt."""
        params = {"id": task.id, "attempt": task.attempt, "result": result_json}
        return self._cur.execute("fail_crashed_task", params) > 0

    # -- retries ------------------------------------------------------------------------------
    def retries_due(
        self,
        *,
        now: dt.datetime | None,
        multiplier: float,
        cap: float,
        max_crashes: int,
        batch: int,
    ) -> list[DueRetry]:
        """FAILURE rows with retries left whose backoff ``min(multiplier * 2^(n-1), cap)``
        has passed, locked (SKIP LOCKED)."""
        params = {
            "now": now,
            "min_backoff_us": _us(min(multiplier, cap)),
            "multiplier_us": _us(multiplier),
            "max_us": _us(cap),
            "max_crashes": max_crashes,
            "batch": batch,
        }
        return [
            DueRetry(
                row["id"],
                row["task_name"],
                row["queue"],
                row["finished_at"],
                int(row["retry_count"]),
                int(row["retry_limit"]),
                int(row["waited_us"]) / 1_000_000,
                float(row["backoff_us"]) / 1_000_000,
            )
            for row in self._cur.fetch_all("failed_tasks_due", params)
        ]

    def reopen(self, task_id: str, now: dt.datetime | None) -> bool:
        """Back to PENDING, runnable from ``now``."""
        return self._cur.execute("reopen_failed_task", {"id": task_id, "now": now}) > 0

    # -- retention --------------------------------------------------------------------------
    def delete_finished(
        self, *, status: str, now: dt.datetime | None, age: float, max_crashes: int, batch: int
    ) -> int:
        params = {
            "status": status,
            "now": now,
            "age_us": _us(age),
            "max_crashes": max_crashes,
            "batch": batch,
        }
        return self._cur.execute("delete_finished_tasks", params)

    def delete_old_logs(self, *, now: dt.datetime | None, age: float, batch: int) -> int:
        params = {"now": now, "age_us": _us(age), "batch": batch}
        return self._cur.execute("delete_old_logs", params)

    def delete_offline_peons(self, *, now: dt.datetime | None, age: float, batch: int) -> int:
        params = {"now": now, "age_us": _us(age), "batch": batch}
        return self._cur.execute("delete_offline_peons", params)

    # -- counters and state --------------------------------------------------------------
    def finished_counts(
        self, *, status: str, after: dt.datetime, until: dt.datetime, max_crashes: int
    ) -> list[tuple[str, str, int]]:
        """Final outcomes per queue and task name (a FAILURE still to be retried is not)."""
        params = {"status": status, "after": after, "until": until, "max_crashes": max_crashes}
        return [
            (row["queue"], row["task_name"], int(row["n"]))
            for row in self._cur.fetch_all("finished_counts", params)
        ]

    def finished_per_minute(
        self, *, status: str, after: dt.datetime, until: dt.datetime, max_crashes: int
    ) -> list[tuple[dt.datetime, int]]:
        params = {"status": status, "after": after, "until": until, "max_crashes": max_crashes}
        return [
            (row["minute"], int(row["n"]))
            for row in self._cur.fetch_all("finished_per_minute", params)
        ]

    def add_to_throughput(self, *, minute: dt.datetime, status: str, n: int) -> None:
        self._cur.execute("add_to_throughput", {"minute": minute, "status": status, "n": n})

    def delete_old_throughput(self, now: dt.datetime | None) -> int:
        return self._cur.execute("delete_old_throughput", {"now": now})

    def add_to_totals(self, *, queue: str, task_name: str, status: str, n: int) -> None:
        params = {"queue": queue, "task_name": task_name, "status": status, "n": n}
        self._cur.execute("add_to_totals", params)

    def state(self, name: str) -> dict[str, Any] | None:
        return self._cur.fetch_one("state_row", {"name": name})

    def ensure_state(self, name: str) -> None:
        self._cur.execute("ensure_state_row", {"name": name})

    def advance_watermark(
        self, name: str, *, after: dt.datetime | None, until: dt.datetime
    ) -> bool:
        params = {"name": name, "after": after, "until": until}
        return self._cur.execute("advance_watermark", params) > 0

    def record_sweep(self, name: str, duration_s: float, detail: str) -> None:
        params = {"name": f"sweep:{name}", "duration_s": duration_s, "detail": detail[:255]}
        self._cur.execute("record_sweep", params)

    def record_leader(self, holder: str, mode: str, term: int) -> None:
        self._cur.execute("record_leader", {"holder": holder[:255], "mode": mode, "term": term})

    def count_if_uncounted(
        self, *, queue: str, task_name: str, status: str, finished_at: dt.datetime
    ) -> None:
        """Add one finished run to the totals unless the counters already passed it (for a
        row about to stop being ``status``); serialised with the counters sweep."""
        self.ensure_state("counted_until")
        row = self._cur.fetch_one("watermark_for_update", {"name": "counted_until"})
        watermark = row["at"] if row else None
        if watermark is None or finished_at > watermark:
            self.add_to_totals(queue=queue, task_name=task_name, status=status, n=1)
