"""What a task function can ask about its own run: ``workcraft.current_task()``.

A sync task cannot be cancelled from outside; it can poll ``cancel_requested`` (or call
``raise_if_cancel_requested()``) between steps of its work. A task that never checks runs to
its end. Async tasks are cancelled through asyncio and need not check.
"""

from __future__ import annotations

import contextvars
import dataclasses
import threading


class TaskCancelled(Exception):
    """Raised by ``raise_if_cancel_requested()``; a run that ends with it is CANCELLED."""


class TaskTimeout(Exception):
    """Raised inside a task that ran longer than its timeout."""


@dataclasses.dataclass(frozen=True)
class CurrentTask:
    id: str
    task_name: str
    attempt: int
    _cancel: threading.Event = dataclasses.field(repr=False)

    @property
    def cancel_requested(self) -> bool:
        """Someone called ``cancel_task_sync`` (or ``workcraft tasks cancel``) on this task."""
        return self._cancel.is_set()

    def raise_if_cancel_requested(self) -> None:
        if self._cancel.is_set():
            raise TaskCancelled(f"task {self.id} was cancelled")


_current: contextvars.ContextVar[CurrentTask | None] = contextvars.ContextVar(
    "workcraft_current_task", default=None
)


def current_task() -> CurrentTask:
    """The task this code runs in (in a task function, its handlers, or coroutines it
    awaits). Raises ``LookupError`` elsewhere."""
    task = _current.get()
    if task is None:
        raise LookupError("not inside a workcraft task")
    return task


def enter(task: CurrentTask) -> contextvars.Token[CurrentTask | None]:
    return _current.set(task)


def leave(token: contextvars.Token[CurrentTask | None]) -> None:
    _current.reset(token)
