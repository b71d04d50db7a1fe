"""The schedules sweep: the leader enqueues each due occurrence of a recurring schedule.

Exactly once, across janitors, failovers and restarts: the schedule row is locked while it is
handled (SKIP LOCKED), the occurrence is recorded with a conditional UPDATE in the same
transaction as the task's INSERT (``last_run_at < occurrence``), and the task carries a
unique key per schedule and occurrence. After a downtime only the latest missed occurrence
is enqueued. A schedule no live peon has registered for longer than the dead-peon threshold
(it was removed from the code) is marked inactive and no longer enqueued.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging

from workcraft.app.schedules import UTC, Schedule, latest_due, next_fire
from workcraft.data import Queries
from workcraft.data.schedules import DueSchedule
from workcraft.janitor.sweeps import Sweep, SweepResult
from workcraft.payload import MAX_NAME_LENGTH, TaskSpec, build_row
from workcraft.text import printable

log = logging.getLogger("workcraft.janitor")


def occurrence_key(schedule_name: str, occurrence: dt.datetime) -> str:
    """The unique key of one occurrence's task (hashed when the name is too long)."""
    stamp = occurrence.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    key = f"schedule:{schedule_name}@{stamp}"
    if len(key) <= MAX_NAME_LENGTH:
        return key
    digest = hashlib.sha1(schedule_name.encode()).hexdigest()
    return f"schedule:{digest}@{stamp}"


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _naive(value: dt.datetime) -> dt.datetime:
    return value.astimezone(UTC).replace(tzinfo=None)


class EnqueueSchedules(Sweep):
    name = "schedules"

    def interval(self) -> float:
        return self.settings.JANITOR_SCHEDULE_INTERVAL

    def _batch(self, q: Queries, now: dt.datetime | None, result: SweepResult) -> int:
        stale_after = self.settings.DB_SETUP_WAIT_TIME_BEFORE_WORKER_DECLARED_DEAD
        due = q.schedules.due(
            now=now, stale_after=stale_after, batch=self.settings.JANITOR_SWEEP_BATCH_SIZE
        )
        if not due:
            return 0
        current = _aware(now or q.schema.server_now())
        for row in due:
            self._handle(q, row, current, stale_after, result)
        return len(due)

    def _handle(
        self,
        q: Queries,
        row: DueSchedule,
        now: dt.datetime,
        stale_after: float,
        result: SweepResult,
    ) -> None:
        definition = row.definition
        name = printable(definition.name)
        if row.stale:
            if q.schedules.deactivate(
                name=definition.name, now=_naive(now), stale_after=stale_after
            ):
                result.add("schedules_deactivated")
                self._log(
                    q,
                    result,
                    f"Schedule {name} is inactive: no live peon has registered it for "
                    f"{stale_after:g} s (removed from the code?)",
                )
            return
        try:
            payload = json.loads(definition.payload_json or "{}")
            schedule = Schedule(
                definition.name,
                definition.task_name,
                cron=definition.cron,
                every=definition.every,
                task_args=payload.get("task_args") or [],
                task_kwargs=payload.get("task_kwargs") or {},
                queue=definition.queue,
                priority=definition.priority,
            )
        except (ValueError, AttributeError) as exc:
            log.error("schedule %s cannot be used: %s", name, exc)
            result.add("schedules_invalid")
            return
        trigger = schedule.trigger()
        following = next_fire(trigger, now)
        if following is None:
            return
        if row.next_run_at is None:
            q.schedules.set_next_run(definition.name, _naive(following))
            result.add("schedules_started")
            self._log(
                q,
                result,
                f"Schedule {name} ({schedule.describe()}, task {printable(schedule.task_name)}) "
                f"first runs at {following.isoformat()}",
            )
            return
        occurrence = latest_due(trigger, _aware(row.next_run_at), now)
        spec = TaskSpec(
            task_name=schedule.task_name,
            task_args=list(schedule.task_args),
            task_kwargs=dict(schedule.task_kwargs),
            queue=schedule.queue,
            priority=schedule.priority,
            unique_key=occurrence_key(schedule.name, occurrence),
        )
        task = build_row(spec)
        if not q.schedules.record_occurrence(
            name=definition.name,
            occurrence=_naive(occurrence),
            next_run_at=_naive(following),
            task_id=task.id,
        ):
            return  # another janitor enqueued it (or a later one) first
        (task_id,) = q.tasks.insert([task])
        result.add("scheduled_tasks")
        if occurrence > _aware(row.next_run_at):
            self._log(
                q,
                result,
                f"Schedule {name}: missed occurrences from {_aware(row.next_run_at).isoformat()}"
                f" skipped; enqueued only the latest, {occurrence.isoformat()} (task {task_id})",
                task_id,
            )
        else:
            log.debug("schedule %s: enqueued task %s for %s", name, task_id, occurrence)
