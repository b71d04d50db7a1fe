"""The app's registry: task functions by name, and the seed's three handlers."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


@dataclasses.dataclass
class Handlers:
    setup: Callable[[], Any] | None = None
    prerun: Callable[..., Any] | None = None
    postrun: Callable[..., Any] | None = None


class TaskRegistry:
    """``@app.task("name")`` and the ``@app.*_handler()`` decorators."""

    def __init__(self) -> None:
        self.tasks: dict[str, Callable[..., Any]] = {}
        self.handlers = Handlers()

    def task(self, name: str | None = None) -> Callable[[F], F]:
        """Register a sync or async function under ``name`` (default: its ``__name__``)."""

        def decorate(fn: F) -> F:
            task_name = name or fn.__name__
            if not isinstance(task_name, str) or not task_name:
                raise TypeError("task name must be a non-empty string")
            existing = self.tasks.get(task_name)
            if existing is not None and existing is not fn:
                raise ValueError(f"task {task_name!r} is already registered")
            self.tasks[task_name] = fn
            return fn

        return decorate

    def _handler(self, kind: str) -> Callable[[F], F]:
        def decorate(fn: F) -> F:
            setattr(self.handlers, kind, fn)
            return fn

        return decorate

    def setup_handler(self) -> Callable[[F], F]:
        """Runs once per peon process, before its first task."""
        return self._handler("setup")

    def prerun_handler(self) -> Callable[[F], F]:
        """Called as ``fn(task_id, task_name, *prerun_handler_args, **kwargs)``."""
        return self._handler("prerun")

    def postrun_handler(self) -> Callable[[F], F]:
        """Called as ``fn(task_id, task_name, result, status, *postrun_handler_args, **kw)``."""
        return self._handler("postrun")
