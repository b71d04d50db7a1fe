"""Running one claimed task: decode, bind, call (sync or async), handlers, outcome.

Nothing here touches the database: the outcome is handed back to the peon's main loop,
which writes it (fenced) together with the next claim.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import logging
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any, Protocol

from workcraft.app import Workcraft
from workcraft.data.rows import ClaimedTask, Outcome
from workcraft.models import TaskStatus, decode_json
from workcraft.payload import encode_json
from workcraft.peon import context
from workcraft.signatures import misfit

log = logging.getLogger("workcraft.peon")


class InvalidTask(Exception):
    """The row cannot be run as stored; it becomes INVALID with this reason."""


def _was_cancelled(control: RunControl | None, cancel: threading.Event) -> bool:
    """A cancel was asked for this run (a timeout also sets the event: that is a FAILURE)."""
    return cancel.is_set() and not (control is not None and control.timed_out)


_NOTHING_RETURNED = object()


def _cancelled(message: str, returned: Any = _NOTHING_RETURNED) -> tuple[TaskStatus, Any, str]:
    result = {"error_type": "Cancelled", "message": message}
    stored = result if returned is _NOTHING_RETURNED else {**result, "returned": returned}
    try:
        return TaskStatus.CANCELLED, result, encode_json("result", stored)
    except ValueError:  # what it returned cannot be stored: the reason alone
        return TaskStatus.CANCELLED, result, encode_json("result", result)


def _error_result(exc: BaseException, with_traceback: bool = True) -> dict[str, Any]:
    result: dict[str, Any] = {"error_type": type(exc).__name__, "message": str(exc)}
    if with_traceback:
        result["traceback"] = "".join(traceback.format_exception(exc))
    return result


def _json_kind(value: Any) -> str:
    if isinstance(value, str):
        return "a string (or text that is not JSON)"
    names = {list: "an array", bool: "a boolean", int: "a number", float: "a number"}
    return names.get(type(value), type(value).__name__)


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise InvalidTask(f"payload holds the number {text}, too large for a float")
    return value


def parse_payload(raw: Any) -> dict[str, Any]:
    payload = decode_json(raw, parse_float=_finite)
    if payload is None:
        raise InvalidTask("payload is NULL; it must be a JSON object")
    if not isinstance(payload, dict):
        raise InvalidTask(f"payload must be a JSON object, got {_json_kind(payload)}")
    for key in ("task_args", "prerun_handler_args", "postrun_handler_args"):
        value = payload.get(key)
        if value is not None and not isinstance(value, list):
            raise InvalidTask(f"payload {key} must be a JSON array, got {_json_kind(value)}")
    for key in ("task_kwargs", "prerun_handler_kwargs", "postrun_handler_kwargs"):
        value = payload.get(key)
        if value is not None and not isinstance(value, dict):
            raise InvalidTask(f"payload {key} must be a JSON object, got {_json_kind(value)}")
    return payload


class RunControl(Protocol):
    """What the worker pool lets a run see and do (see ``workers.Slot``)."""

    cancel: threading.Event

    @property
    def timed_out(self) -> bool: ...

    def attach_loop(self, loop: asyncio.AbstractEventLoop, task: asyncio.Task[Any]) -> None: ...

    def detach_loop(self) -> None: ...


def call(
    fn: Callable[..., Any],
    args: list[Any],
    kwargs: dict[str, Any],
    control: RunControl | None = None,
) -> Any:
    """Call a sync or async function and return its value. An async one runs in an event
    loop of this thread, which ``control`` can cancel from another thread."""
    if inspect.iscoroutinefunction(fn):
        return _run_coroutine(fn(*args, **kwargs), control)
    value = fn(*args, **kwargs)
    if inspect.isawaitable(value):
        return _run_coroutine(value, control)
    return value


def _run_coroutine(awaitable: Any, control: RunControl | None) -> Any:
    async def wrapper() -> Any:
        return await awaitable

    loop = asyncio.new_event_loop()
    try:
        task = loop.create_task(wrapper())
        if control is not None:
            control.attach_loop(loop, task)
        try:
            return loop.run_until_complete(task)
        finally:
            if control is not None:
                control.detach_loop()
    finally:
        loop.close()


def _run_handler(kind: str, handler: Callable[..., Any] | None, *args: Any, **kw: Any) -> None:
    if handler is None:
        return
    try:
        call(handler, list(args), kw)
    except Exception:
        log.exception("%s handler raised; the task's status is not affected", kind)


def run_setup_handler(app: Workcraft) -> None:
    """Once per peon process, before its first task (awaited when it is async)."""
    handler = app.handlers.setup
    if handler is None:
        return
    try:
        call(handler, [], {})
    except Exception:
        log.exception("setup handler raised; the peon carries on")


def unstorable(outcome: Outcome, reason: str) -> Outcome:
    """A FAILURE to store in place of an outcome the database refused."""
    result = {
        "error_type": "ResultNotStorable",
        "message": f"the {outcome.status.value} outcome could not be stored: {reason}",
    }
    return dataclasses.replace(
        outcome, status=TaskStatus.FAILURE, result_json=encode_json("result", result)
    )


def timed_out(task: ClaimedTask, timeout: float, seconds: float) -> Outcome:
    """The FAILURE written when a run passes its timeout (retried like any failure)."""
    result = {
        "error_type": "TaskTimeout",
        "message": f"{task.task_name} ran longer than its timeout of {timeout:g} s",
    }
    return Outcome(task, TaskStatus.FAILURE, encode_json("result", result), seconds)


def worker_died(task: ClaimedTask, seconds: float) -> Outcome:
    result = {
        "error_type": "WorkerDied",
        "message": "the peon thread running this task ended unexpectedly; it was replaced",
    }
    return Outcome(task, TaskStatus.FAILURE, encode_json("result", result), seconds)


def _bind(app: Workcraft, task: ClaimedTask) -> tuple[Callable[..., Any], dict[str, Any]]:
    """The function and the decoded payload, or ``InvalidTask``."""
    payload = parse_payload(task.payload)
    fn = app.tasks.get(task.task_name)
    if fn is None:  # claims only ask for registered names; defensive
        raise InvalidTask(f"no task named {task.task_name!r} is registered")
    # The task id first for tasks that take it (workcraft 0.5.27's convention: the registry).
    args = app.task_arguments(
        task.task_name, task.id, payload.get("task_args") or [], payload.get("task_kwargs") or {}
    )
    payload = {**payload, "task_args": args}
    reason = misfit(fn, len(args), tuple(payload.get("task_kwargs") or ()))
    if reason is not None:
        raise InvalidTask(f"arguments do not fit {task.task_name}: {reason}")
    return fn, payload


def execute(app: Workcraft, task: ClaimedTask, control: RunControl | None = None) -> Outcome:
    """Run ``task`` and describe what happened. Never raises for anything the task does:
    any ``BaseException`` it raises (``KeyboardInterrupt``, ``asyncio.CancelledError``,
    ``SystemExit``...) ends the run FAILURE, or CANCELLED when a cancel was asked."""
    started = time.monotonic()
    try:
        fn, payload = _bind(app, task)
    except InvalidTask as exc:
        result = {"error_type": "InvalidTask", "message": str(exc)}
        log.warning("task %s (%s) is INVALID: %s", task.id, task.task_name, exc)
        return Outcome(task, TaskStatus.INVALID, encode_json("result", result), 0.0)

    cancel = control.cancel if control is not None else threading.Event()
    token = context.enter(context.CurrentTask(task.id, task.task_name, task.attempt, cancel))
    try:
        _run_handler(
            "prerun",
            app.handlers.prerun,
            task.id,
            task.task_name,
            *(payload.get("prerun_handler_args") or []),
            **(payload.get("prerun_handler_kwargs") or {}),
        )
        status, result, result_json = _run(fn, payload, control, cancel)
        _run_handler(
            "postrun",
            app.handlers.postrun,
            task.id,
            task.task_name,
            result,
            status,
            *(payload.get("postrun_handler_args") or []),
            **(payload.get("postrun_handler_kwargs") or {}),
        )
    finally:
        context.leave(token)
    return Outcome(task, status, result_json, time.monotonic() - started)


def _run(
    fn: Callable[..., Any],
    payload: dict[str, Any],
    control: RunControl | None,
    cancel: threading.Event,
) -> tuple[TaskStatus, Any, str]:
    """(status, result for the postrun handler, result as stored)."""
    try:
        value = call(fn, payload.get("task_args") or [], payload.get("task_kwargs") or {}, control)
    except BaseException as exc:
        if _was_cancelled(control, cancel):
            return _cancelled("cancelled while it ran")
        result = _error_result(exc)
        return TaskStatus.FAILURE, result, encode_json("result", result)
    if _was_cancelled(control, cancel):
        # It saw the request and returned early (or finished just then): CANCELLED, and
        # what it returned is kept beside the reason.
        return _cancelled("cancel requested; the task returned", value)
    try:
        return TaskStatus.SUCCESS, value, encode_json("result", value)
    except ValueError as exc:
        result = _error_result(TypeError(str(exc)), False)
        return TaskStatus.FAILURE, result, encode_json("result", result)
