"""What the demo shows after the drain: the features at work, read back from the rows."""

from __future__ import annotations

import dataclasses
import itertools

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
    timed_out: str
    cancelled_pending: str
    cancelled_running: str
    accounts: list[str]


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
    timed_out = _task(app, config, sent.timed_out)
    error = timed_out.result if isinstance(timed_out.result, dict) else {}
    if timed_out.started_at and timed_out.finished_at:
        ran = (timed_out.finished_at - timed_out.started_at).total_seconds()
        lines.append(
            f"timeout: crunch_numbers (timeout=1, 5 s of work) was stopped after {ran:.1f} s: "
            f"{timed_out.status} {error.get('error_type', '')}"
        )
    pending = _task(app, config, sent.cancelled_pending)
    lines.append(
        f"cancel: nightly_digest was cancelled while it waited: {pending.status}, never started"
        if pending.started_at is None
        else f"cancel: nightly_digest ran anyway ({pending.status})"
    )
    running = _task(app, config, sent.cancelled_running)
    if running.started_at and running.finished_at:
        ran = (running.finished_at - running.started_at).total_seconds()
        lines.append(
            f"cancel: build_report (a minute of work) was cancelled while it ran, after "
            f"{ran:.1f} s: {running.status}"
        )
    parts = [_task(app, config, task_id) for task_id in sent.accounts]
    spans = sorted((t.started_at, t.finished_at) for t in parts if t.started_at and t.finished_at)
    overlaps = sum(1 for a, b in itertools.pairwise(spans) if a[1] is not None and b[0] < a[1])
    lines.append(
        f"concurrency limit: {len(spans)} parts of acct-42 (concurrency_key, limit 1) ran "
        "one after another across the peons; overlaps: " + str(overlaps)
    )
    lines.append(
        f"recurring schedule: {SCHEDULED_TASK} (every 2 s) ran {scheduled_runs} times, each "
        "occurrence enqueued once by the janitor leader"
    )
    return lines
