"""Recurring schedules: what an app declares (``@app.task(cron=...)``, ``app.schedule``) and
when each one fires. Times come from APScheduler's triggers; the janitor decides, with the
database, which occurrence is due (see ``janitor/schedules.py``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Mapping, Sequence
from typing import Any

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from workcraft.data.schedules import ScheduleDefinition
from workcraft.payload import MAX_NAME_LENGTH, PRIORITY_RANGE, check_queue, encode_json

UTC = dt.timezone.utc
# Interval schedules count from the Unix epoch, so every janitor computes the same instants.
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
# Fire times walked one by one after a downtime before jumping closer to now.
_MAX_STEPS = 10_000


@dataclasses.dataclass(frozen=True)
class Schedule:
    """One recurring task: ``cron`` (five crontab fields, UTC) or ``every`` seconds."""

    name: str
    task_name: str
    cron: str | None = None
    every: float | None = None
    task_args: Sequence[Any] = ()
    task_kwargs: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    queue: str = "DEFAULT"
    priority: int = 0

    def __post_init__(self) -> None:
        for what in ("name", "task_name", "queue"):
            value = getattr(self, what)
            if not isinstance(value, str) or not value or len(value) > MAX_NAME_LENGTH:
                raise ValueError(
                    f"schedule {self.name!r}: {what} must be a non-empty string of at most "
                    f"{MAX_NAME_LENGTH} characters"
                )
        if (self.cron is None) == (self.every is None):
            raise ValueError(f"schedule {self.name!r}: give cron or every (exactly one)")
        if self.every is not None and (
            isinstance(self.every, bool)
            or not isinstance(self.every, (int, float))
            or not math.isfinite(self.every)
            or self.every <= 0
        ):
            raise ValueError(f"schedule {self.name!r}: every must be a number of seconds > 0")
        if self.cron is not None:
            if not isinstance(self.cron, str):
                raise ValueError(f"schedule {self.name!r}: cron must be a string")
            try:
                self.trigger()
            except ValueError as exc:
                raise ValueError(
                    f"schedule {self.name!r}: invalid cron {self.cron!r}: {exc}"
                ) from None
        try:
            check_queue(self.queue)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"schedule {self.name!r}: {exc}") from None
        if isinstance(self.priority, bool) or not isinstance(self.priority, int):
            raise ValueError(f"schedule {self.name!r}: priority must be an int")
        if not PRIORITY_RANGE[0] <= self.priority <= PRIORITY_RANGE[1]:
            raise ValueError(f"schedule {self.name!r}: priority out of range")
        self.payload_json()  # arguments must be JSON, now rather than at every occurrence

    def trigger(self) -> BaseTrigger:
        if self.cron is not None:
            return CronTrigger.from_crontab(self.cron, timezone=UTC)
        return IntervalTrigger(seconds=float(self.every or 0), start_date=_EPOCH, timezone=UTC)

    def payload_json(self) -> str:
        if isinstance(self.task_args, (str, bytes)) or not isinstance(
            self.task_args, (list, tuple)
        ):
            raise ValueError(f"schedule {self.name!r}: task_args must be a list")
        if not isinstance(self.task_kwargs, Mapping):
            raise ValueError(f"schedule {self.name!r}: task_kwargs must be a dict")
        payload = {"task_args": list(self.task_args), "task_kwargs": dict(self.task_kwargs)}
        return encode_json(f"schedule {self.name!r} arguments", payload)

    def definition(self) -> ScheduleDefinition:
        """The row a peon writes for it."""
        return ScheduleDefinition(
            name=self.name,
            task_name=self.task_name,
            cron=self.cron,
            every=None if self.every is None else float(self.every),
            payload_json=self.payload_json(),
            queue=self.queue,
            priority=self.priority,
        )

    def describe(self) -> str:
        return f"cron {self.cron}" if self.cron is not None else f"every {self.every:g} s"


def next_fire(schedule_trigger: BaseTrigger, after: dt.datetime) -> dt.datetime | None:
    """The first fire time strictly after ``after`` (aware UTC)."""
    fire: dt.datetime | None = schedule_trigger.get_next_fire_time(
        None, after + dt.timedelta(microseconds=1)
    )
    return fire


def latest_due(
    schedule_trigger: BaseTrigger, first_due: dt.datetime, now: dt.datetime
) -> dt.datetime:
    """The latest fire time in [first_due, now] (``first_due`` is one, and <= now): after a
    downtime only the most recent missed occurrence runs."""
    if isinstance(schedule_trigger, IntervalTrigger):
        step = schedule_trigger.interval_length
        skipped = math.floor((now - first_due).total_seconds() / step)
        return first_due + dt.timedelta(seconds=skipped * step)
    latest = first_due
    for _ in range(_MAX_STEPS):
        following = next_fire(schedule_trigger, latest)
        if following is None or following > now:
            return latest
        latest = following
    # A very long downtime of a frequent cron: restart the walk a day before now.
    restart = next_fire(schedule_trigger, now - dt.timedelta(days=1))
    return latest_due(schedule_trigger, restart, now) if restart and restart <= now else latest
