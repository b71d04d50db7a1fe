"""Typed records that cross the data layer's boundary (in either direction)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

from workcraft.models import TaskStatus


@dataclasses.dataclass(frozen=True)
class ClaimedTask:
    """A row this peon claimed: what to run, and the fencing token its outcome must show."""

    id: str
    task_name: str
    payload: Any  # the raw column value; the runner decodes and checks it
    attempt: int
    timeout: float | None = None  # this task's own; the function's applies when None
    concurrency_key: str | None = None


@dataclasses.dataclass(frozen=True)
class Outcome:
    """How one run ended, ready to be written (fenced) by the peon's next transaction."""

    task: ClaimedTask
    status: TaskStatus
    result_json: str
    seconds: float

    @property
    def failed(self) -> bool:
        return self.status is TaskStatus.FAILURE

    @property
    def error(self) -> dict[str, Any]:
        """``error_type`` / ``message`` / ``traceback`` of a FAILURE or INVALID result."""
        try:
            value = json.loads(self.result_json)
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}


@dataclasses.dataclass(frozen=True)
class PeonRow:
    id: str
    status: str
    session: str | None


@dataclasses.dataclass(frozen=True)
class SilentPeon:
    """A peon that missed its heartbeats for longer than the dead threshold."""

    id: str
    status: str
    silent_s: float


@dataclasses.dataclass(frozen=True)
class StrandedTask:
    """A RUNNING task whose peon cannot finish it (dead, replaced, or busy elsewhere)."""

    id: str
    task_name: str
    worker_id: str | None
    attempt: int
    crash_count: int
    reason: str = ""
    cancel_requested: bool = False


@dataclasses.dataclass(frozen=True)
class DueRetry:
    """A FAILURE whose backoff has passed; ``backoff_s`` is the one the database applied."""

    id: str
    task_name: str
    queue: str
    finished_at: dt.datetime
    retry_count: int
    retry_limit: int
    waited_s: float
    backoff_s: float
