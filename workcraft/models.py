"""Typed views of the rows a person sees in the database. Datetimes are naive UTC (the
sessions workcraft opens are at UTC).

Also the names 0.5.27 code imports from here (``from workcraft.models import DBConfig,
TaskPayload, TaskStatus, Task``): see the end of this module and ``workcraft.compat``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
import json
from collections.abc import Callable
from typing import Any


class TaskStatus(str, enum.Enum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    INVALID = "INVALID"
    CANCELLED = "CANCELLED"

    @property
    def is_final(self) -> bool:
        """The row will not change by itself any more (a FAILURE with retries left may still
        be reopened by the janitor: see ``Task.will_retry``)."""
        return self not in (TaskStatus.PENDING, TaskStatus.RUNNING)

    def __str__(self) -> str:
        return self.value


# The names as stored, for SQL parameters, boards and counters: one source.
STATUS_NAMES = tuple(status.value for status in TaskStatus)
FINISHED_STATUS_NAMES = tuple(status.value for status in TaskStatus if status.is_final)
# What `tasks retry` and the dashboard's Retry send back to PENDING.
RETRYABLE_STATUS_NAMES = ("FAILURE", "INVALID", "CANCELLED")


class PeonStatus(str, enum.Enum):
    IDLE = "IDLE"
    PREPARING = "PREPARING"
    WORKING = "WORKING"
    OFFLINE = "OFFLINE"

    def __str__(self) -> str:
        return self.value


def decode_json(value: Any, parse_float: Callable[[str], Any] | None = None) -> Any:
    """JSON columns arrive as str (or bytes); NULL stays None; garbage stays as text."""
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray)):
        value = value.decode("utf-8", errors="replace")
    if isinstance(value, str):
        try:
            return _decoder(parse_float).decode(value)
        except ValueError:
            return value
    return value


@functools.lru_cache(maxsize=8)
def _decoder(parse_float: Callable[[str], Any] | None) -> json.JSONDecoder:
    """One decoder per float parser (``json.loads`` with an option builds a new one per
    call, and the peon decodes every payload with one)."""
    return json.JSONDecoder(parse_float=parse_float)


@dataclasses.dataclass(frozen=True)
class Task:
    id: str
    status: TaskStatus
    task_name: str
    queue: str
    payload: Any
    result: Any
    worker_id: str | None
    retry_on_failure: bool
    retry_count: int
    retry_limit: int
    attempt: int
    created_at: dt.datetime | None
    updated_at: dt.datetime | None
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    run_at: dt.datetime | None = None
    priority: int = 0
    unique_key: str | None = None

    @property
    def will_retry(self) -> bool:
        """A FAILURE the janitor will reopen after its backoff."""
        return (
            self.status is TaskStatus.FAILURE
            and self.retry_on_failure
            and self.retry_count <= self.retry_limit
        )

    @property
    def task_args(self) -> list[Any]:
        args = self.payload.get("task_args") if isinstance(self.payload, dict) else None
        return list(args or [])

    @property
    def task_kwargs(self) -> dict[str, Any]:
        kwargs = self.payload.get("task_kwargs") if isinstance(self.payload, dict) else None
        return dict(kwargs or {})

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Task:
        return cls(
            id=row["id"],
            status=TaskStatus(row["status"]),
            task_name=row["task_name"],
            queue=row["queue"],
            payload=decode_json(row["payload"]),
            result=decode_json(row["result"]),
            worker_id=row["worker_id"],
            retry_on_failure=bool(row["retry_on_failure"]),
            retry_count=int(row["retry_count"]),
            retry_limit=int(row["retry_limit"]),
            attempt=int(row["attempt"]),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            started_at=row.get("started_at"),
            finished_at=row.get("finished_at"),
            run_at=row.get("run_at"),
            priority=int(row.get("priority") or 0),
            unique_key=row.get("unique_key"),
        )

    @classmethod
    def from_db_data(cls, data: dict[str, Any]) -> Task:
        """0.5.27's constructor from a ``SELECT *`` row: a task in 0.5.27's shape
        (``payload`` a ``TaskPayload``, ``result`` the stored JSON text)."""
        from workcraft.compat.task import OriginalTask

        return OriginalTask.from_db_data(data)


# -- the names of workcraft 0.5.27's ``workcraft.models`` ------------------------------------------
# DBConfig is ours (it takes 0.5.27's host/port/user/password/database/use_ssl/ssl_path).
from workcraft.compat.handlers import (  # noqa: E402
    PostRunHandlerFn,
    PreRunHandlerFn,
    SetupHandlerFn,
    TaskHandlerFn,
)
from workcraft.compat.payload import TaskPayload  # noqa: E402
from workcraft.config.database import DBConfig  # noqa: E402

__all__ = [
    "DBConfig",
    "PeonStatus",
    "PostRunHandlerFn",
    "PreRunHandlerFn",
    "SetupHandlerFn",
    "Task",
    "TaskHandlerFn",
    "TaskPayload",
    "TaskStatus",
    "decode_json",
]
