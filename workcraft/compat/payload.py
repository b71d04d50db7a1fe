"""``TaskPayload``: 0.5.27's pydantic model of a task's arguments, as a dataclass.

0.5.27 code builds one (``TaskPayload(task_args=[1, 2], task_kwargs={...})``) and hands it to
``Workcraft.send_task_sync``; it may also call the pydantic methods it relied on
(``model_dump``, ``model_dump_json``, ``model_validate``). No pydantic needed: the six fields
are checked here, and the README's ``send_task_sync`` checks the values again (JSON only).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

LIST_FIELDS = ("task_args", "prerun_handler_args", "postrun_handler_args")
DICT_FIELDS = ("task_kwargs", "prerun_handler_kwargs", "postrun_handler_kwargs")


@dataclasses.dataclass
class TaskPayload:
    """The arguments of a task and of its prerun / postrun handlers (all optional)."""

    task_args: list[Any] = dataclasses.field(default_factory=list)
    task_kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    prerun_handler_args: list[Any] = dataclasses.field(default_factory=list)
    prerun_handler_kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    postrun_handler_args: list[Any] = dataclasses.field(default_factory=list)
    postrun_handler_kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        # pydantic accepted a tuple for a list and any mapping for a dict; so do we.
        for name in LIST_FIELDS:
            value = getattr(self, name)
            if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
                raise TypeError(f"TaskPayload.{name} must be a list, got {type(value).__name__}")
            setattr(self, name, list(value))
        for name in DICT_FIELDS:
            value = getattr(self, name)
            if not isinstance(value, Mapping):
                raise TypeError(f"TaskPayload.{name} must be a dict, got {type(value).__name__}")
            setattr(self, name, dict(value))

    def model_dump(self) -> dict[str, Any]:
        """The six fields as a dict (pydantic's name)."""
        return {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}

    def model_dump_json(self) -> str:
        """Compact JSON, as pydantic wrote it into the ``payload`` column."""
        return json.dumps(self.model_dump(), separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def model_validate(cls, data: Any) -> TaskPayload:
        """From a dict such as a stored payload; keys other than the six are ignored (as
        pydantic did), missing ones are empty."""
        if isinstance(data, cls):
            return data
        if not isinstance(data, Mapping):
            raise TypeError(f"a TaskPayload is made from a dict, got {type(data).__name__}")
        names = {field.name for field in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in names})
