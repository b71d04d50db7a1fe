"""Building and checking task payloads before anything touches the database."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import Any

from workcraft.ids import new_task_id

MAX_NAME_LENGTH = 255
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


def _check_name(what: str, value: Any) -> str:
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
    if json_depth(value) > MAX_JSON_DEPTH:
        raise ValueError(f"{what} is nested deeper than {MAX_JSON_DEPTH} levels")
    return text


def build_row(spec: TaskSpec) -> tuple[str, str, str, str, int, int]:
    """The INSERT parameters for one task: (id, task_name, queue, payload, retry, limit)."""
    task_name = _check_name("task_name", spec.task_name)
    queue = _check_name("queue", spec.queue)
    if not isinstance(spec.retry_on_failure, bool):
        raise TypeError("retry_on_failure must be True or False")
    if isinstance(spec.retry_limit, bool) or not isinstance(spec.retry_limit, int):
        raise TypeError("retry_limit must be an int")
    if spec.retry_limit < 0:
        raise ValueError("retry_limit must be >= 0")
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
    return (
        new_task_id(),
        task_name,
        queue,
        encoded,
        int(spec.retry_on_failure),
        spec.retry_limit,
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
