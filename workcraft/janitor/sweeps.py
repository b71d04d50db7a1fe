"""The three sweeps. Each is ``run_once(now=None) -> SweepResult``: plain conditional SQL in
bounded batches, one transaction per batch, idempotent, and safe if two janitors overlap
(every UPDATE re-checks the condition it acts on). APScheduler only calls them.

``now`` (a naive UTC datetime) replaces the database clock, so tests can move time instead
of sleeping; by default the database's ``NOW(6)`` is used.
"""

from __future__ import annotations

import abc
import dataclasses
import datetime as dt
import json
import logging
from typing import Any

from workcraft.settings import Settings
from workcraft.store import Cursor, Store
from workcraft.text import printable

log = logging.getLogger("workcraft.janitor")

# Batches per run: bounds one sweep's time; the next run continues where this one stopped.
MAX_BATCHES_PER_RUN = 20


def _us(seconds: float) -> int:
    return round(seconds * 1_000_000)


@dataclasses.dataclass
class SweepResult:
    sweep: str
    counts: dict[str, int] = dataclasses.field(default_factory=dict)
    messages: list[str] = dataclasses.field(default_factory=list)

    def add(self, key: str, amount: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + amount

    @property
    def total(self) -> int:
        return sum(self.counts.values())


class Sweep(abc.ABC):
    name: str

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings

    @abc.abstractmethod
    def _batch(self, cur: Cursor, now: dt.datetime | None, result: SweepResult) -> int:
        """Handle one batch inside a transaction; return how many candidates it saw."""

    def run_once(self, now: dt.datetime | None = None) -> SweepResult:
        result = SweepResult(self.name)
        batch_size = self.settings.JANITOR_SWEEP_BATCH_SIZE
        for _ in range(MAX_BATCHES_PER_RUN):
            # A retried transaction starts from a clean result for its batch.
            batch = SweepResult(self.name)

            def transaction(cur: Cursor, _attempt: int, batch: SweepResult = batch) -> int:
                batch.counts.clear()
                batch.messages.clear()
                return self._batch(cur, now, batch)

            seen = self.store.transaction(transaction)
            for key, value in batch.counts.items():
                result.add(key, value)
            result.messages += batch.messages
            if seen < batch_size:
                break
        for message in result.messages:
            log.info("%s", message)
        return result

    @staticmethod
    def _log(cur: Cursor, result: SweepResult, message: str) -> None:
        cur.execute("insert_log", {"message": message})
        result.messages.append(message)

    def _requeue_or_fail(
        self, cur: Cursor, task: dict[str, Any], reason: str, result: SweepResult
    ) -> None:
        """Give a task whose peon cannot finish it back to the queue, or stop a poison pill."""
        crashes = int(task["crash_count"]) + 1
        limit = self.settings.TASK_MAX_CRASHES
        if crashes >= limit:
            message = (
                f"its peon died or lost it while running it {crashes} times "
                f"(TASK_MAX_CRASHES={limit}); last time: {reason}"
            )
            failure = json.dumps({"error_type": "PeonCrashed", "message": message})
            params = {"id": task["id"], "attempt": task["attempt"], "result": failure}
            if cur.execute("fail_crashed_task", params):
                result.add("failed_poison_pill")
                self._log(
                    cur,
                    result,
                    f"Task {task['id']} ({printable(task['task_name'])}) marked FAILURE: {message}",
                )
            return
        if cur.execute("requeue_crashed_task", {"id": task["id"], "attempt": task["attempt"]}):
            result.add("tasks_requeued")
            self._log(
                cur,
                result,
                f"Task {task['id']} ({printable(task['task_name'])}) reset to PENDING: {reason}",
            )


class DeadPeons(Sweep):
    """Peons (any status but OFFLINE) silent for longer than the dead threshold."""

    name = "dead_peons"

    def __init__(self, store: Store, settings: Settings, restart_grace: bool = True) -> None:
        super().__init__(store, settings)
        # Until the server has been up for the dead threshold, silence may be the restart's
        # doing, not the peon's: declare nobody dead yet.
        self.restart_grace = restart_grace

    def _batch(self, cur: Cursor, now: dt.datetime | None, result: SweepResult) -> int:
        threshold = self.settings.DB_SETUP_WAIT_TIME_BEFORE_WORKER_DECLARED_DEAD
        if self.restart_grace and now is None and self._server_uptime(cur) < threshold:
            result.add("skipped_server_restarted")
            return 0
        params = {
            "now": now,
            "threshold_us": _us(threshold),
            "batch": self.settings.JANITOR_SWEEP_BATCH_SIZE,
        }
        peons = cur.fetch_all("dead_peons", params)
        for peon in peons:
            declared = cur.execute(
                "declare_peon_dead",
                {"id": peon["id"], "now": now, "threshold_us": _us(threshold)},
            )
            if not declared:
                continue
            silent = int(peon["silent_us"]) / 1_000_000
            result.add("peons_declared_dead")
            self._log(
                cur,
                result,
                f"Peon {printable(peon['id'])} declared dead: no heartbeat for {silent:.0f} s "
                f"(limit {threshold:g} s); it was {peon['status']}",
            )
            reason = f"peon {printable(peon['id'])} missed heartbeats for {silent:.0f} s"
            for task in cur.fetch_all("running_tasks_of_peon", {"worker_id": peon["id"]}):
                self._requeue_or_fail(cur, task, reason, result)
        return len(peons)

    @staticmethod
    def _server_uptime(cur: Cursor) -> float:
        row = cur.fetch_one("server_uptime")
        return float(row["Value"]) if row else float("inf")


class SelfCorrect(Sweep):
    """RUNNING tasks that no live peon is running: owner missing, OFFLINE, replaced, or busy
    with another task. A live owner's task never matches (see ``orphaned_running_tasks``)."""

    name = "self_correct"

    def _batch(self, cur: Cursor, now: dt.datetime | None, result: SweepResult) -> int:
        tasks = cur.fetch_all(
            "orphaned_running_tasks", {"batch": self.settings.JANITOR_SWEEP_BATCH_SIZE}
        )
        for task in tasks:
            reason = f"{task['reason']} (peon {printable(task['worker_id'])})"
            self._requeue_or_fail(cur, task, reason, result)
        return len(tasks)


class ReopenFailed(Sweep):
    """FAILURE tasks with retries left go back to PENDING after their backoff."""

    name = "reopen_failed"

    def backoff_seconds(self, retry_count: int) -> float:
        multiplier = self.settings.DB_SETUP_BACKOFF_MULTIPLIER_SECONDS
        cap = self.settings.DB_SETUP_BACKOFF_MAX_SECONDS
        return float(min(multiplier * 2 ** (max(retry_count, 1) - 1), cap))

    def _batch(self, cur: Cursor, now: dt.datetime | None, result: SweepResult) -> int:
        multiplier = self.settings.DB_SETUP_BACKOFF_MULTIPLIER_SECONDS
        cap = self.settings.DB_SETUP_BACKOFF_MAX_SECONDS
        params = {
            "now": now,
            "min_backoff_us": _us(min(multiplier, cap)),
            "multiplier_us": _us(multiplier),
            "max_us": _us(cap),
            "max_crashes": self.settings.TASK_MAX_CRASHES,
            "batch": self.settings.JANITOR_SWEEP_BATCH_SIZE,
        }
        tasks = cur.fetch_all("failed_tasks_due", params)
        for task in tasks:
            if not cur.execute("reopen_failed_task", {"id": task["id"]}):
                continue
            result.add("tasks_reopened")
            waited = int(task["waited_us"]) / 1_000_000
            self._log(
                cur,
                result,
                f"Task {task['id']} ({printable(task['task_name'])}) reopened for retry "
                f"{task['retry_count']} of {task['retry_limit']} after {waited:.0f} s "
                f"(backoff {self.backoff_seconds(int(task['retry_count'])):g} s)",
            )
        return len(tasks)


SWEEPS: tuple[type[Sweep], ...] = (DeadPeons, SelfCorrect, ReopenFailed)
