"""0.5.27's ``Task`` shape, returned by 0.5.27's form of ``get_task_sync``.

It is a ``workcraft.models.Task`` (``isinstance`` holds, every field is there) with the two
fields 0.5.27 code reads differently: ``payload`` is a ``TaskPayload`` and ``result`` is the
stored JSON *text* (``'3'``, ``'{"a": 1}'``, ``'null'``; None while there is none), which
0.5.27 code passes to ``json.loads``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from workcraft.compat.payload import TaskPayload
from workcraft.models import Task, TaskStatus, decode_json

# The fields of 0.5.27's pydantic Task, in its order (``model_dump`` gives these).
ORIGINAL_FIELDS = (
    "id",
    "task_name",
    "status",
    "created_at",
    "updated_at",
    "worker_id",
    "queue",
    "payload",
    "result",
    "retry_on_failure",
    "retry_count",
    "retry_limit",
)


@dataclasses.dataclass(frozen=True)
class OriginalTask(Task):
    payload: TaskPayload
    result: str | None

    @property
    def task_args(self) -> list[Any]:
        return list(self.payload.task_args)

    @property
    def task_kwargs(self) -> dict[str, Any]:
        return dict(self.payload.task_kwargs)

    def model_dump(self) -> dict[str, Any]:
        """0.5.27's fields as a dict (pydantic's name); the payload as a dict too."""
        values = {name: getattr(self, name) for name in ORIGINAL_FIELDS}
        values["payload"] = self.payload.model_dump()
        return values

    @classmethod
    def from_task(cls, task: Task) -> OriginalTask:
        """Our task in 0.5.27's shape. The result is re-encoded from the stored value: the
        same JSON, though not necessarily the same bytes as the column holds."""
        fields = {f.name: getattr(task, f.name) for f in dataclasses.fields(Task)}
        fields["payload"] = _payload(task.payload)
        fields["result"] = None if task.result is None else json.dumps(task.result)
        return cls(**fields)

    @classmethod
    def from_db_data(cls, data: Mapping[str, Any]) -> OriginalTask:
        """0.5.27's ``Task.from_db_data``: a ``SELECT * FROM bountyboard`` row as a dict. As
        there, ``result`` is kept as the text the row holds."""
        result = data.get("result")
        if isinstance(result, (bytes, bytearray)):
            result = result.decode("utf-8", errors="replace")
        return cls(
            id=str(data["id"]),
            status=TaskStatus(data["status"]),
            task_name=str(data["task_name"]),
            queue=str(data.get("queue") or "DEFAULT"),
            payload=_payload(decode_json(data.get("payload"))),
            result=None if result is None else str(result),
            worker_id=data.get("worker_id"),
            retry_on_failure=bool(data.get("retry_on_failure")),
            retry_count=int(data.get("retry_count") or 0),
            retry_limit=int(data.get("retry_limit") or 0),
            attempt=int(data.get("attempt") or 0),
            created_at=_datetime(data.get("created_at")),
            updated_at=_datetime(data.get("updated_at")),
            started_at=_datetime(data.get("started_at")),
            finished_at=_datetime(data.get("finished_at")),
            run_at=_datetime(data.get("run_at")),
            priority=int(data.get("priority") or 0),
            unique_key=data.get("unique_key"),
        )


def _payload(value: Any) -> TaskPayload:
    """A stored payload as a ``TaskPayload``; anything that is not a JSON object is empty
    (0.5.27 marked such rows INVALID; ours are INVALID too and their payload unchanged)."""
    if not isinstance(value, Mapping):
        return TaskPayload()
    try:
        return TaskPayload.model_validate(value)
    except TypeError:
        return TaskPayload()


def _datetime(value: Any) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value))
