"""What the demo shows after the drain: the features at work, read back from the rows."""

from __future__ import annotations

import dataclasses

from workcraft.core import Workcraft
from workcraft.db import DBConfig
from workcraft.models import Task

SCHEDULED_TASK = "sweep_carts"


@dataclasses.dataclass
class Sent:
    """Ids of the tasks the highlights talk about."""

    images: list[str]
    urgent: str
    delayed: str
    delay: float


def _task(app: Workcraft, config: DBConfig, task_id: str) -> Task:
    task = app.get_task_sync(task_id, config)
    assert task is not None, task_id
    return task


def highlights(app: Workcraft, config: DBConfig, sent: Sent, scheduled_runs: int) -> list[str]:
    lines = []
    delayed = _task(app, config, sent.delayed)
    if delayed.started_at and delayed.created_at:
        waited = (delayed.started_at - delayed.created_at).total_seconds()
        lines.append(
            f"delayed task: sent with delay={sent.delay:g}, started {waited:.1f} s after it "
            f"was sent, not before ({delayed.status})"
        )
    urgent = _task(app, config, sent.urgent)
    images = [_task(app, config, task_id) for task_id in sent.images]
    if urgent.started_at:
        later = sum(1 for t in images if t.started_at and t.started_at > urgent.started_at)
        lines.append(
            f"priority: page_oncall (priority -10) was sent after {len(images)} images and "
            f"started before {later} of them ({urgent.status})"
        )
    lines.append(
        f"recurring schedule: {SCHEDULED_TASK} (every 2 s) ran {scheduled_runs} times, each "
        "occurrence enqueued once by the janitor leader"
    )
    return lines
