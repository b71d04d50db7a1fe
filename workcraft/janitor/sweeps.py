"""The sweeps. Each is ``run_once(now=None) -> SweepResult``: plain conditional SQL in bounded
batches, one transaction per batch, idempotent, and safe if two janitors overlap (every
UPDATE re-checks the condition it acts on). APScheduler only calls them.

``now`` (a naive UTC datetime) replaces the database clock, so tests can move time instead
of sleeping; by default the database's ``NOW(6)`` is used.
"""

from __future__ import annotations

import abc
import dataclasses
import datetime as dt
import json
import logging
from collections.abc import Callable

from workcraft.config.settings import Settings
from workcraft.data import Queries, Store
from workcraft.data.rows import StrandedTask
from workcraft.errors import WorkcraftError
from workcraft.text import printable

log = logging.getLogger("workcraft.janitor")

# Batches per run: bounds one sweep's time; the next run continues where this one stopped.
MAX_BATCHES_PER_RUN = 20


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


class NotLeader(WorkcraftError):
    """A sweep's fence found that this janitor no longer leads (its term moved on)."""


# Checks, inside a sweep's transaction, that we still lead (see ``Leadership.fence``).
Fence = Callable[[Queries], bool]


class Sweep(abc.ABC):
    name: str

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        # Who the lines this sweep writes to `logs` are by: (janitor id, leadership term).
        self.author: tuple[str | None, int | None] = (None, None)

    @abc.abstractmethod
    def interval(self) -> float:
        """Seconds between runs (from the settings)."""

    @abc.abstractmethod
    def _batch(self, q: Queries, now: dt.datetime | None, result: SweepResult) -> int:
        """Handle one batch inside a transaction; return how many candidates it saw."""

    def run_once(self, now: dt.datetime | None = None, fence: Fence | None = None) -> SweepResult:
        """Every batch is one transaction; with ``fence``, each starts by checking that we
        still lead, and writes nothing (``NotLeader``) once we do not."""
        result = SweepResult(self.name)
        batch_size = self.settings.JANITOR_SWEEP_BATCH_SIZE
        for _ in range(MAX_BATCHES_PER_RUN):
            # A retried transaction starts from a clean result for its batch.
            batch = SweepResult(self.name)

            def transaction(q: Queries, _attempt: int, batch: SweepResult = batch) -> int:
                batch.counts.clear()
                batch.messages.clear()
                if fence is not None and not fence(q):
                    raise NotLeader(f"sweep {self.name}: no longer the leader; wrote nothing")
                return self._batch(q, now, batch)

            seen = self.store.transaction(transaction)
            for key, value in batch.counts.items():
                result.add(key, value)
            result.messages += batch.messages
            if seen < batch_size:
                break
        for message in result.messages:
            log.info("%s", message)
        return result

    def _log(
        self, q: Queries, result: SweepResult, message: str, task_id: str | None = None
    ) -> None:
        q.janitor.add_log(message, task_id, *self.author)
        result.messages.append(message)

    def _requeue_or_fail(
        self, q: Queries, task: StrandedTask, reason: str, result: SweepResult
    ) -> None:
        """Give a task whose peon cannot finish it back to the queue, or stop a poison pill."""
        crashes = task.crash_count + 1
        limit = self.settings.TASK_MAX_CRASHES
        name = printable(task.task_name)
        if task.cancel_requested:
            if q.janitor.requeue(task):  # CANCELLED, since a cancel was asked
                result.add("tasks_cancelled")
                self._log(
                    q,
                    result,
                    f"Task {task.id} ({name}) CANCELLED: {reason}; a cancel was asked",
                    task.id,
                )
            return
        if crashes >= limit:
            message = (
                f"its peon died or lost it while running it {crashes} times "
                f"(TASK_MAX_CRASHES={limit}); last time: {reason}"
            )
            failure = json.dumps({"error_type": "PeonCrashed", "message": message})
            if q.janitor.fail_crashed(task, failure):
                result.add("failed_poison_pill")
                self._log(q, result, f"Task {task.id} ({name}) marked FAILURE: {message}", task.id)
            return
        if q.janitor.requeue(task):
            result.add("tasks_requeued")
            self._log(q, result, f"Task {task.id} ({name}) reset to PENDING: {reason}", task.id)


class DeadPeons(Sweep):
    """Peons (any status but OFFLINE) silent for longer than the dead threshold."""

    name = "dead_peons"

    def __init__(self, store: Store, settings: Settings, restart_grace: bool = True) -> None:
        super().__init__(store, settings)
        # Until the server has been up for the dead threshold, silence may be the restart's
        # doing, not the peon's: declare nobody dead yet.
        self.restart_grace = restart_grace

    def interval(self) -> float:
        return self.settings.DB_SETUP_CHECK_DEAD_WORKER_INTERVAL

    def _batch(self, q: Queries, now: dt.datetime | None, result: SweepResult) -> int:
        threshold = self.settings.DB_SETUP_WAIT_TIME_BEFORE_WORKER_DECLARED_DEAD
        if self.restart_grace and now is None and q.janitor.server_uptime() < threshold:
            result.add("skipped_server_restarted")
            return 0
        peons = q.janitor.silent_peons(
            now=now, threshold=threshold, batch=self.settings.JANITOR_SWEEP_BATCH_SIZE
        )
        for peon in peons:
            if not q.janitor.declare_dead(peon_id=peon.id, now=now, threshold=threshold):
                continue
            result.add("peons_declared_dead")
            self._log(
                q,
                result,
                f"Peon {printable(peon.id)} declared dead: no heartbeat for "
                f"{peon.silent_s:.0f} s (limit {threshold:g} s); it was {peon.status}",
            )
            reason = f"peon {printable(peon.id)} missed heartbeats for {peon.silent_s:.0f} s"
            for task in q.janitor.running_tasks_of(peon.id):
                self._requeue_or_fail(q, task, reason, result)
        return len(peons)


class SelfCorrect(Sweep):
    """RUNNING tasks that no live peon is running: owner missing, OFFLINE, replaced, or busy
    with another task. A live owner's task never matches (see ``orphaned_running_tasks``)."""

    name = "self_correct"

    def interval(self) -> float:
        return self.settings.DB_SETUP_RUN_SELF_CORRECT_TASK_INTERVAL

    def _batch(self, q: Queries, now: dt.datetime | None, result: SweepResult) -> int:
        tasks = q.janitor.orphaned_running(batch=self.settings.JANITOR_SWEEP_BATCH_SIZE)
        for task in tasks:
            reason = f"{task.reason} (peon {printable(task.worker_id)})"
            self._requeue_or_fail(q, task, reason, result)
        return len(tasks)


class ReopenFailed(Sweep):
    """FAILURE tasks with retries left go back to PENDING after their backoff."""

    name = "reopen_failed"

    def interval(self) -> float:
        return self.settings.DB_SETUP_RUN_REOPEN_FAILED_TASK_INTERVAL

    def _batch(self, q: Queries, now: dt.datetime | None, result: SweepResult) -> int:
        tasks = q.janitor.retries_due(
            now=now,
            multiplier=self.settings.DB_SETUP_BACKOFF_MULTIPLIER_SECONDS,
            cap=self.settings.DB_SETUP_BACKOFF_MAX_SECONDS,
            max_crashes=self.settings.TASK_MAX_CRASHES,
            batch=self.settings.JANITOR_SWEEP_BATCH_SIZE,
        )
        for task in tasks:
            # A failure that is retried is no final outcome: the counters never count it.
            if not q.janitor.reopen(task.id, now):
                continue
            result.add("tasks_reopened")
            self._log(
                q,
                result,
                f"Task {task.id} ({printable(task.task_name)}) reopened for retry "
                f"{task.retry_count} of {task.retry_limit} after {task.waited_s:.0f} s "
                f"(backoff {task.backoff_s:g} s)",
                task.id,
            )
        return len(tasks)
