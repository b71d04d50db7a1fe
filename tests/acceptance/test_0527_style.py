"""A test module as a workcraft 0.5.27 user wrote it (our code, 0.5.27's API), unchanged:
its imports, ``Workcraft.send_task_sync(db_config=, payload=TaskPayload(...), task_name=)``
on the class and on an app, ``Workcraft.get_task_sync`` returning the result as JSON text,
and a peon started with 0.5.27's flags running its task module
(``tests/compat_apps/tasks_0527.py``, tasks that take the task id first).

Our suite turns warnings into errors; the one-time DeprecationWarning of these forms is
checked in tests/unit/test_compat_0527.py, so here it is ignored as a 0.5.27 user's run would.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.procs import ProcGroup, child_env
from tests.support.settings import write_settings
from workcraft.core import Workcraft
from workcraft.models import DBConfig, Task, TaskPayload, TaskStatus

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def wait_for(db_config: DBConfig, task_id: str, timeout: float = 30) -> Task:
    deadline = time.monotonic() + timeout
    while True:
        task = Workcraft.get_task_sync(db_config=db_config, task_id=task_id)
        assert task is not None
        if task.status in (TaskStatus.SUCCESS, TaskStatus.FAILURE) or time.monotonic() > deadline:
            return task
        time.sleep(0.1)


def test_0527_style_module(
    db_config: DBConfig, proc_groups: Callable[..., ProcGroup], tmp_path: Path
) -> None:
    write_settings(tmp_path)
    group = proc_groups(db_config)
    group.workcraft(
        "peon",
        "--workcraft_path=tests.compat_apps.tasks_0527.workcraft",
        "--worker_id=peon-0527",
        "--queues=[DEFAULT,other]",
        "--load_db_config_from_env=False",
        f"--db_host={db_config.host}",
        f"--db_port={db_config.port}",
        f"--db_user={db_config.user}",
        f"--db_password={db_config.password}",
        f"--db_name={db_config.database}",
        name="peon-0527",
        env=child_env(),  # nothing in the environment: the flags say where to connect
    )
    workcraft = Workcraft()
    try:
        add_id = Workcraft.send_task_sync(
            db_config=db_config, payload=TaskPayload(task_args=[1, 2]), task_name="add"
        )
        echo_id = workcraft.send_task_sync(
            db_config,
            TaskPayload(
                task_args=["x"],
                task_kwargs={"k": 1},
                prerun_handler_kwargs={"q": 1},
                postrun_handler_args=["p"],
            ),
            "echo",
            queue="other",
            retry_on_failure=True,
            retry_limit=2,
        )
        whoami_id = Workcraft.send_task_sync(db_config, TaskPayload(), "whoami")
        multiply_id = workcraft.send_task_sync(
            db_config=db_config, payload=TaskPayload(task_args=[6, 7]), task_name="multiply"
        )

        add = wait_for(db_config, add_id)
        assert add.status == TaskStatus.SUCCESS
        assert add.result == "3"  # JSON text, as 0.5.27 returned it
        assert json.loads(add.result) == 3
        assert add.payload.task_args == [1, 2]
        assert isinstance(add.payload, TaskPayload)

        echo = wait_for(db_config, echo_id)
        assert echo.status == TaskStatus.SUCCESS, echo.result
        assert echo.queue == "other" and echo.retry_on_failure and echo.retry_limit == 2
        assert json.loads(echo.result or "null") == {
            "task_id": echo_id,
            "args": ["x"],
            "kwargs": {"k": 1},
        }
        assert json.loads(wait_for(db_config, whoami_id).result or "null") == whoami_id
        assert json.loads(wait_for(db_config, multiply_id).result or "null") == 42
        assert Workcraft.get_task_sync(db_config, "no-such-task") is None
    finally:
        workcraft.close()
