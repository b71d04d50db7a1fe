"""Hostile arguments that cannot be stored are refused before any I/O (the rest of the
hostile-input tests: ``tests/integration`` and ``tests/acceptance``)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.net import free_port
from workcraft.core import Workcraft
from workcraft.data import RetryPolicy
from workcraft.db import DBConfig
from workcraft.errors import WorkcraftError


@pytest.mark.parametrize(
    ("label", "spec"),
    [
        ("NaN", {"task_name": "t", "task_args": [float("nan")]}),
        ("lone surrogate in args", {"task_name": "t", "task_args": ["bad \udcff"]}),
        ("lone surrogate in a kwargs key", {"task_name": "t", "task_kwargs": {"\ud800": 1}}),
        ("lone surrogate in the task name", {"task_name": "t\ud800"}),
        ("lone surrogate in the queue", {"task_name": "t", "queue": "q\udfff"}),
        ("name of 256 characters", {"task_name": "n" * 256}),
        ("queue of 256 astral characters", {"task_name": "t", "queue": "🎉" * 256}),
    ],
)
def test_arguments_that_cannot_be_stored_raise_before_any_io(
    label: str, spec: dict[str, Any]
) -> None:
    """Bad arguments raise ValueError/TypeError before connecting: against a closed port, a
    check that only happens during the INSERT would show up as DatabaseUnavailable."""
    unreachable = DBConfig(port=free_port(), database="wk_never_reached")
    app = Workcraft(retry=RetryPolicy(give_up_after=0.5))
    try:
        with pytest.raises((ValueError, TypeError)) as info:
            app.send_tasks_sync([spec], db_config=unreachable)
    finally:
        app.close()
    assert not isinstance(info.value, WorkcraftError), label
    assert len(str(info.value)) < 500
