"""0.5.27's protocols for task and handler functions, importable from ``workcraft.models``
for the type hints that 0.5.27 code carries. workcraft calls handlers as the README says
(``postrun`` gets the task's return value, not its JSON text); see ``docs/upgrading.md``."""

from __future__ import annotations

from typing import Any, Literal, Protocol


class SetupHandlerFn(Protocol):
    def __call__(self) -> Any: ...


class TaskHandlerFn(Protocol):
    """0.5.27's task: the task id first (see ``workcraft.compat.taskid``)."""

    def __call__(self, task_id: str, *args: Any, **kwargs: Any) -> Any: ...


class PreRunHandlerFn(Protocol):
    def __call__(self, task_id: str, task_name: str, *args: Any, **kwargs: Any) -> Any: ...


class PostRunHandlerFn(Protocol):
    def __call__(
        self,
        task_id: str,
        task_name: str,
        result: Any,
        status: Literal["FAILURE", "SUCCESS", "RUNNING", "PENDING"],
        *args: Any,
        **kwargs: Any,
    ) -> Any: ...
