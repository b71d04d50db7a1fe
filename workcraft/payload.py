"""Building and checking task payloads before anything touches the database."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from workcraft.data.tasks import TaskRow
from workcraft.ids import new_task_id

MAX_NAME_LENGTH = 255
# The run_at column is a TIMESTAMP: 1970-01-01 00:00:01 to 2038-01-19 03:14:07 UTC.
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
LATEST_RUN_AT = dt.datetime(2038, 1, 19, 3, 14, 7, tzinfo=dt.timezone.utc)
# More retries than this is a loop, not a policy (and the backoff is capped long before).
MAX_RETRY_LIMIT = 1000
# Priorities are stored in an INT column.
PRIORITY_RANGE = (-(2**31), 2**31 - 1)
# MariaDB's JSON_VALID refuses documents nested 32 levels or deeper (MySQL allows 100):
# refuse them here with a clear error instead of a CHECK constraint failure later.
MAX_JSON_DEPTH = 31


@dataclasses.dataclass(frozen=True)
class TaskSpec:
    """One task to enqueue (``send_tasks_sync`` takes a list of these, or of dicts)."""

    task_name: str
    task_args: Sequence[Any] | None = None
    task_kwargs: Mapping[str, Any] | None = None
    prerun_handler_args: Sequence[Any] | None = None
    prerun_handler_kwargs: Mapping[str, Any] | None = None
    postrun_handler_args: Sequence[Any] | None = None
    postrun_handler_kwargs: Mapping[str, Any] | None = None
    retry_on_failure: bool = False
    retry_limit: int = 3
    queue: str = "DEFAULT"
    run_at: dt.datetime | None = None
    delay: float | None = None
    priority: int = 0
    unique_key: str | None = None
    timeout: float | None = None
    concurrency_key: str | None = None
    concurrency_limit: int = 1


def check_queue(value: Any, what: str = "queue") -> str:
    """One rule for queue names, so that every queue a task can be sent to can be named on
    the command line (``--queues a,b c`` splits on commas and white space): no white space,
    commas or control characters, and no ``[`` first or ``]`` last (the ``[a,b]`` list form)."""
    if isinstance(value, str):
        return _check_queue_name(value, what)
    return _check_queue(value, what)


@functools.lru_cache(maxsize=256)
def _check_queue_name(value: str, what: str) -> str:
    """Cached: a bulk send names the same few queues thousands of times."""
    return _check_queue(value, what)


def _check_queue(value: Any, what: str) -> str:
    name = check_name(what, value)
    bad = sorted({ch for ch in name if ch.isspace() or ch == "," or not ch.isprintable()})
    if bad:
        shown = ", ".join(repr(ch) for ch in bad)
        raise ValueError(
            f"{what} {name!r} cannot be named on the command line ({shown} not allowed: no "
            "white space, commas or control characters in queue names)"
        )
    if name.startswith("[") or name.endswith("]"):
        # --queues="[a,b]" is 0.5.27's list form, so "[a" or "b]" could not be named.
        raise ValueError(f"{what} {name!r} cannot begin with '[' or end with ']'")
    return name


def check_name(what: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError(f"{what} must be a non-empty string, got {value!r}")
    if len(value) > MAX_NAME_LENGTH:
        raise ValueError(f"{what} is longer than {MAX_NAME_LENGTH} characters")
    _check_utf8(what, value)
    return value


def _check_utf8(what: str, text: str) -> None:
    """Lone surrogates cannot be stored as utf8mb4; say so before any I/O."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"{what} is not valid Unicode text: {exc.reason}") from None


def json_depth(value: Any) -> int:
    """Nesting depth as MySQL counts it: a scalar is 1, ``[]`` is 1, ``[[1]]`` is 3."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend((child, depth + 1) for child in item)
    return deepest


def _as_list(what: str, value: Any) -> list[Any] | None:
    if value is None:
        return None
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise TypeError(f"{what} must be a list or tuple, got {type(value).__name__}")
    return list(value)


def _as_dict(what: str, value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise TypeError(f"{what} must be a dict, got {type(value).__name__}")
    for key in value:
        if not isinstance(key, str):
            raise TypeError(f"{what} keys must be strings, got {key!r}")
    return dict(value)


def encode_json(what: str, value: Any) -> str:
    """JSON the database will store: no NaN/Infinity, valid Unicode, bounded nesting."""
    try:
        text = json.dumps(value, allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise ValueError(f"{what} is not JSON-serialisable: {exc}") from None
    _check_utf8(what, text)
    # Each level opens a bracket, so with few brackets in the text (the usual case) there is
    # no need to walk the value.
    brackets = text.count("[") + text.count("{")
    if brackets >= MAX_JSON_DEPTH and json_depth(value) > MAX_JSON_DEPTH:
        raise ValueError(f"{what} is nested deeper than {MAX_JSON_DEPTH} levels")
    return text


def _check_int(what: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, got {type(value).__name__} {value!r}")
    return value


def _run_at_seconds(run_at: Any) -> str | None:
    """``run_at`` as Unix seconds (text, microsecond precision); naive means UTC."""
    if run_at is None:
        return None
    if not isinstance(run_at, dt.datetime):
        raise TypeError(f"run_at must be a datetime, got {type(run_at).__name__} {run_at!r}")
    aware = run_at if run_at.tzinfo is not None else run_at.replace(tzinfo=dt.timezone.utc)
    if not _EPOCH < aware <= LATEST_RUN_AT:
        raise ValueError(
            f"run_at {run_at.isoformat()} is outside what the database can store "
            f"(1970-01-01 to {LATEST_RUN_AT.isoformat()})"
        )
    delta = aware - _EPOCH
    return f"{delta.days * 86400 + delta.seconds}.{delta.microseconds:06d}"


def _delay_microseconds(delay: Any) -> int:
    if delay is None:
        return 0
    if isinstance(delay, bool) or not isinstance(delay, (int, float)):
        raise TypeError(f"delay must be a number of seconds, got {type(delay).__name__}")
    if not math.isfinite(delay) or delay < 0:
        raise ValueError(f"delay must be a finite number of seconds >= 0, got {delay!r}")
    latest = (LATEST_RUN_AT - dt.datetime.now(dt.timezone.utc)).total_seconds()
    if delay > latest:
        raise ValueError(f"delay of {delay:g} s reaches past {LATEST_RUN_AT.isoformat()}")
    return round(delay * 1_000_000)


def check_timeout(timeout: Any, what: str = "timeout") -> float | None:
    """``None`` (no limit) or a finite number of seconds > 0."""
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(f"{what} must be a number of seconds, got {type(timeout).__name__}")
    if not math.isfinite(timeout) or timeout <= 0:
        raise ValueError(f"{what} must be a finite number of seconds > 0, got {timeout!r}")
    return float(timeout)


def build_row(spec: TaskSpec) -> TaskRow:
    """The INSERT parameters for one task (see ``TaskRow``). Every check happens here,
    before any I/O."""
    task_name = check_name("task_name", spec.task_name)
    queue = check_queue(spec.queue)
    if not isinstance(spec.retry_on_failure, bool):
        raise TypeError("retry_on_failure must be True or False")
    if not 0 <= _check_int("retry_limit", spec.retry_limit) <= MAX_RETRY_LIMIT:
        raise ValueError(f"retry_limit must be between 0 and {MAX_RETRY_LIMIT}")
    priority = _check_int("priority", spec.priority)
    if not PRIORITY_RANGE[0] <= priority <= PRIORITY_RANGE[1]:
        raise ValueError(f"priority must be between {PRIORITY_RANGE[0]} and {PRIORITY_RANGE[1]}")
    if spec.run_at is not None and spec.delay is not None:
        raise ValueError("give run_at or delay, not both")
    run_at = _run_at_seconds(spec.run_at)
    delay_us = _delay_microseconds(spec.delay)
    unique_key = None if spec.unique_key is None else check_name("unique_key", spec.unique_key)
    timeout = check_timeout(spec.timeout)
    concurrency_key = (
        None
        if spec.concurrency_key is None
        else check_name("concurrency_key", spec.concurrency_key)
    )
    concurrency_limit = _check_int("concurrency_limit", spec.concurrency_limit)
    if not 1 <= concurrency_limit <= PRIORITY_RANGE[1]:
        raise ValueError(f"concurrency_limit must be >= 1, got {concurrency_limit}")
    if concurrency_key is None and concurrency_limit != 1:
        raise ValueError("concurrency_limit needs a concurrency_key")
    payload: dict[str, Any] = {}
    for key in ("task_args", "prerun_handler_args", "postrun_handler_args"):
        items = _as_list(key, getattr(spec, key))
        if items is not None:
            payload[key] = items
    for key in ("task_kwargs", "prerun_handler_kwargs", "postrun_handler_kwargs"):
        mapping = _as_dict(key, getattr(spec, key))
        if mapping is not None:
            payload[key] = mapping
    payload.setdefault("task_args", [])
    payload.setdefault("task_kwargs", {})
    encoded = encode_json("task payload", payload)
    return TaskRow(
        id=new_task_id(),
        task_name=task_name,
        queue=queue,
        payload=encoded,
        retry_on_failure=int(spec.retry_on_failure),
        retry_limit=spec.retry_limit,
        priority=priority,
        run_at=run_at,
        delay_us=delay_us,
        unique_key=unique_key,
        timeout_seconds=timeout,
        concurrency_key=concurrency_key,
        concurrency_limit=concurrency_limit,
    )


def coerce_spec(item: TaskSpec | Mapping[str, Any]) -> TaskSpec:
    if isinstance(item, TaskSpec):
        return item
    if isinstance(item, Mapping):
        try:
            return TaskSpec(**item)
        except TypeError as exc:
            raise TypeError(f"bad task description {dict(item)!r}: {exc}") from None
    raise TypeError(f"expected a TaskSpec or dict, got {type(item).__name__}")
