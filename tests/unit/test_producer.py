"""The producer API's argument checks: bad arguments raise before any I/O.

The database is a closed port: a check that only happened during the INSERT would show up
as a connection error instead (the control test shows valid arguments do get that far).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.net import free_port
from workcraft.core import Workcraft
from workcraft.data import RetryPolicy
from workcraft.db import DBConfig
from workcraft.errors import WorkcraftError


@pytest.mark.parametrize(
    "kwargs",
    [
        {"task_args": "abc"},
        {"task_args": b"abc"},
        {"task_args": {"a": 1}},
        {"task_args": 5},
        {"task_args": {1, 2}},
        {"task_kwargs": [1, 2]},
        {"task_kwargs": "c=3"},
        {"task_kwargs": {1: "non-string key"}},
        {"prerun_handler_args": "x"},
        {"postrun_handler_kwargs": [1]},
        {"task_args": [{1, 2}]},
        {"task_args": [object()]},
        {"task_args": [float("nan")]},
        {"task_args": [float("inf")]},
        {"task_kwargs": {"x": {1, 2}}},
        {"task_kwargs": {"x": float("nan")}},
        {"task_kwargs": {"x": object()}},
        {"postrun_handler_args": [object()]},
        {"retry_limit": -1},
        {"retry_limit": "3"},
        {"retry_on_failure": "yes"},
        {"queue": ""},
        {"queue": None},
    ],
)
def test_bad_arguments_raise_before_touching_the_database(kwargs: dict[str, Any]) -> None:
    unreachable = DBConfig(host="127.0.0.1", port=free_port(), database="nowhere")
    app = Workcraft(retry=RetryPolicy(give_up_after=0.2, max_backoff=0.05))
    try:
        with pytest.raises((TypeError, ValueError)) as info:
            app.send_task_sync("t", db_config=unreachable, **kwargs)
        assert not isinstance(info.value, WorkcraftError)
        assert str(info.value)
        with pytest.raises((TypeError, ValueError)):
            app.send_tasks_sync([{"task_name": "t", **kwargs}], db_config=unreachable)
    finally:
        app.close()


@pytest.mark.parametrize("name", ["", None, 5, "x" * 256])
def test_bad_task_name(name: Any) -> None:
    unreachable = DBConfig(host="127.0.0.1", port=free_port(), database="nowhere")
    app = Workcraft(retry=RetryPolicy(give_up_after=0.2, max_backoff=0.05))
    try:
        with pytest.raises((TypeError, ValueError)):
            app.send_task_sync(name, [1], db_config=unreachable)
    finally:
        app.close()


def test_unreachable_database_is_a_database_error() -> None:
    """The control for the test above: valid arguments do reach the (closed) port."""
    unreachable = DBConfig(host="127.0.0.1", port=free_port(), database="nowhere")
    app = Workcraft(retry=RetryPolicy(give_up_after=0.2, max_backoff=0.05))
    try:
        with pytest.raises(WorkcraftError):
            app.send_task_sync("t", [1], db_config=unreachable)
    finally:
        app.close()


@pytest.mark.parametrize("limit", [-1, 1001, 10**9])
def test_retry_limit_is_bounded(limit: int) -> None:
    with pytest.raises(ValueError, match="retry_limit must be between 0 and 1000"):
        Workcraft().send_task_sync("x", retry_limit=limit, db_config=DBConfig(port=1))
