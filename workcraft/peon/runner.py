"""Running one claimed task: decode, bind, call (sync or async), handlers, outcome.

Nothing here touches the database: the outcome is handed back to the peon's main loop,
which writes it (fenced) together with the next claim.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import inspect
import logging
import time
import traceback
from collections.abc import Callable
from typing import Any

from workcraft.app import Workcraft
from workcraft.data.rows import ClaimedTask, Outcome
from workcraft.models import TaskStatus, decode_json
from workcraft.payload import encode_json

log = logging.getLogger("workcraft.peon")


class InvalidTask(Exception):
    """The row cannot be run as stored; it becomes INVALID with this reason."""


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


@functools.lru_cache(maxsize=1024)
def _signature(fn: Callable[..., Any]) -> inspect.Signature:
    return inspect.signature(fn)


def _call(fn: Callable[..., Any], args: list[Any], kwargs: dict[str, Any]) -> Any:
    """Call a sync or async function and return its value."""
    if inspect.iscoroutinefunction(fn):
        return asyncio.run(fn(*args, **kwargs))
    value = fn(*args, **kwargs)
    if inspect.isawaitable(value):

        async def wait() -> Any:
            return await value

        return asyncio.run(wait())
    return value


def _run_handler(kind: str, handler: Callable[..., Any] | None, *args: Any, **kw: Any) -> None:
    if handler is None:
        return
    try:
        _call(handler, list(args), kw)
    except Exception:
        log.exception("%s handler raised; the task's status is not affected", kind)


def unstorable(outcome: Outcome, reason: str) -> Outcome:
    """A FAILURE to store in place of an outcome the database refused."""
    result = {
        "error_type": "ResultNotStorable",
        "message": f"the {outcome.status.value} outcome could not be stored: {reason}",
    }
    return dataclasses.replace(
        outcome, status=TaskStatus.FAILURE, result_json=encode_json("result", result)
    )


def execute(app: Workcraft, task: ClaimedTask) -> Outcome:
    """Run ``task`` and describe what happened. Never raises for task-level problems."""
    started = time.monotonic()
    status: TaskStatus
    result: Any
    try:
        payload = parse_payload(task.payload)
        fn = app.tasks.get(task.task_name)
        if fn is None:  # claims only ask for registered names; defensive
            raise InvalidTask(f"no task named {task.task_name!r} is registered")
        args = payload.get("task_args") or []
        kwargs = payload.get("task_kwargs") or {}
        try:
            _signature(fn).bind(*args, **kwargs)
        except TypeError as exc:
            raise InvalidTask(f"arguments do not fit {task.task_name}: {exc}") from None
    except InvalidTask as exc:
        status, result = TaskStatus.INVALID, {"error_type": "InvalidTask", "message": str(exc)}
        log.warning("task %s (%s) is INVALID: %s", task.id, task.task_name, exc)
        return Outcome(task, status, encode_json("result", result), time.monotonic() - started)

    _run_handler(
        "prerun",
        app.handlers.prerun,
        task.id,
        task.task_name,
        *(payload.get("prerun_handler_args") or []),
        **(payload.get("prerun_handler_kwargs") or {}),
    )
    try:
        value = _call(fn, args, kwargs)
        try:
            result_json = encode_json("result", value)
            status, result = TaskStatus.SUCCESS, value
        except ValueError as exc:
            status, result = TaskStatus.FAILURE, _error_result(TypeError(str(exc)), False)
            result_json = encode_json("result", result)
    except Exception as exc:  # the task's own failure
        status, result = TaskStatus.FAILURE, _error_result(exc)
        result_json = encode_json("result", result)
    except SystemExit as exc:  # sys.exit() inside a task fails the task, not the peon
        status, result = TaskStatus.FAILURE, _error_result(exc)
        result_json = encode_json("result", result)
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
    return Outcome(task, status, result_json, time.monotonic() - started)
