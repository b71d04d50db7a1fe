"""The app's registry: task functions by name, and the seed's three handlers. It also
records which tasks are called with the task id first (workcraft 0.5.27's convention; see
``workcraft.compat.taskid``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from workcraft.app.schedules import Schedule
from workcraft.compat.taskid import call_arguments, takes_task_id
from workcraft.payload import check_timeout

F = TypeVar("F", bound=Callable[..., Any])


@dataclasses.dataclass
class Handlers:
    setup: Callable[[], Any] | None = None
    prerun: Callable[..., Any] | None = None
    postrun: Callable[..., Any] | None = None


class _HandlerAlias:
    """workcraft 0.5.27's ``app.setup_handler_fn`` (and prerun/postrun): the same handler as
    ``app.handlers.setup``, read or assigned."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = name.removesuffix("_handler_fn")

    def __get__(self, registry: TaskRegistry | None, owner: type) -> Any:
        return self if registry is None else getattr(registry.handlers, self.slot)

    def __set__(self, registry: TaskRegistry, fn: Callable[..., Any] | None) -> None:
        setattr(registry.handlers, self.slot, fn)


class TaskRegistry:
    """``@app.task("name")`` and the ``@app.*_handler()`` decorators."""

    setup_handler_fn = _HandlerAlias()
    prerun_handler_fn = _HandlerAlias()
    postrun_handler_fn = _HandlerAlias()

    def __init__(self) -> None:
        self.tasks: dict[str, Callable[..., Any]] = {}
        self.handlers = Handlers()
        self.schedules: dict[str, Schedule] = {}
        self.timeouts: dict[str, float] = {}
        # Tasks that may be called as fn(task_id, *task_args, **task_kwargs), and when:
        # see workcraft.compat.taskid.
        self.task_id_rules: dict[str, str] = {}

    def task(
        self,
        name: str | None = None,
        *,
        timeout: float | None = None,
        cron: str | None = None,
        every: float | None = None,
        pass_task_id: bool | None = None,
    ) -> Callable[[F], F]:
        """Register a sync or async function under ``name`` (default: its ``__name__``).

        ``pass_task_id``: call it with the task id as its first argument (True) or not
        (False). Default: when its first parameter is named ``task_id`` and the arguments
        sent do not fill it, as workcraft 0.5.27 did (warns once; ``workcraft.compat.taskid``).

        ``timeout`` (seconds): a run that takes longer ends FAILURE (``TaskTimeout``) and is
        retried per its retry policy; a task's own ``timeout=`` wins over this one.

        ``cron`` ("*/5 * * * *", UTC) or ``every`` (seconds): also run it on that schedule,
        without arguments (``app.schedule`` gives a schedule arguments).
        """

        limit = check_timeout(timeout)

        def decorate(fn: F) -> F:
            task_name = name or fn.__name__
            if not isinstance(task_name, str) or not task_name:
                raise TypeError("task name must be a non-empty string")
            existing = self.tasks.get(task_name)
            if existing is not None and existing is not fn:
                raise ValueError(f"task {task_name!r} is already registered")
            # stacklevel 2: the warning points at the user's decorator line
            rule = takes_task_id(fn, task_name, pass_task_id, stacklevel=2)
            if cron is not None or every is not None:
                self._add_schedule(Schedule(task_name, task_name, cron=cron, every=every))
            self.tasks[task_name] = fn
            if rule is None:
                self.task_id_rules.pop(task_name, None)
            else:
                self.task_id_rules[task_name] = rule
            if limit is not None:
                self.timeouts[task_name] = limit
            return fn

        return decorate

    def task_arguments(
        self,
        task_name: str,
        task_id: str,
        task_args: Sequence[Any],
        task_kwargs: Mapping[str, Any],
    ) -> list[Any]:
        """The positional arguments the task is called with: its ``task_args``, after its
        id for a task that takes it (``workcraft.compat.taskid``)."""
        return call_arguments(
            self.tasks[task_name],
            self.task_id_rules.get(task_name),
            task_id,
            task_args,
            task_kwargs,
        )

    def schedule(
        self,
        schedule_name: str,
        task_name: str,
        *,
        cron: str | None = None,
        every: float | None = None,
        task_args: Sequence[Any] = (),
        task_kwargs: Mapping[str, Any] | None = None,
        queue: str = "DEFAULT",
        priority: int = 0,
    ) -> Schedule:
        """Run ``task_name`` with these arguments on a schedule. Peons running this app
        register it when they start; the janitor enqueues each occurrence once."""
        schedule = Schedule(
            schedule_name,
            task_name,
            cron=cron,
            every=every,
            task_args=task_args,
            task_kwargs=dict(task_kwargs or {}),
            queue=queue,
            priority=priority,
        )
        self._add_schedule(schedule)
        return schedule

    def _add_schedule(self, schedule: Schedule) -> None:
        existing = self.schedules.get(schedule.name)
        if existing is not None and existing != schedule:
            raise ValueError(f"schedule {schedule.name!r} is already defined differently")
        self.schedules[schedule.name] = schedule

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
