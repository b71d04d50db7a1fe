"""A task module written for workcraft 0.5.27, unchanged: our peon runs it with 0.5.27's
flags (``--workcraft_path=tests.compat_apps.tasks_0527.workcraft --queues="[DEFAULT,other]"
--load_db_config_from_env=False ...``).

Its tasks take the task id first, as 0.5.27 called them, and return what they got so the
tests can check that each task received exactly the arguments it asked for. ``multiply`` is
a README-style task in the same app: it must not get the id. ``record_calls`` in the
handlers writes what they were called with into the side table ``calls`` when it exists.
"""

from __future__ import annotations

from typing import Any

from workcraft.core import Workcraft
from workcraft.models import DBConfig, Task, TaskPayload, TaskStatus  # noqa: F401 (0.5.27's imports)

workcraft = Workcraft()

SETUP_CALLS: list[str] = []


@workcraft.setup_handler()
def setup() -> None:
    SETUP_CALLS.append("setup")


@workcraft.prerun_handler()
def prerun(task_id: str, task_name: str, *args: Any, **kwargs: Any) -> None:
    if task_name == "echo":
        assert kwargs == {"q": 1}, kwargs


@workcraft.postrun_handler()
def postrun(task_id: str, task_name: str, result: Any, status: str, *args: Any) -> None:
    if task_name == "echo":
        assert args == ("p",), args


@workcraft.task("add")
def add(task_id: str, a: int, b: int) -> int:
    return a + b


@workcraft.task("echo")
async def echo(task_id: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    return {"task_id": task_id, "args": list(args), "kwargs": kwargs}


@workcraft.task("whoami")
def whoami(task_id: str) -> str:
    return task_id


@workcraft.task("multiply")
def multiply(a: int, b: int) -> int:
    return a * b


@workcraft.task("flaky")
def flaky(task_id: str, value: int) -> int:
    """Re-run after a failure 0.5.27 recorded: succeeds now."""
    return value
