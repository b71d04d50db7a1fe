"""Run by workcraft 0.5.27 itself, in its own virtual environment (never imported by the
tests): enqueue through its ``Workcraft.send_task_sync`` exactly as its users do, or read a
task back through its ``get_task_sync``. Prints one JSON line.

    python enqueue_0527.py '{"host": ..., "database": ...}' enqueue
    python enqueue_0527.py '{"host": ..., "database": ...}' get TASK_ID
    python enqueue_0527.py '{"host": ..., "database": ...}' verify
"""

from __future__ import annotations

import json
import sys

from workcraft.core import Workcraft
from workcraft.models import DBConfig, TaskPayload


def enqueue(cfg: DBConfig) -> dict[str, str]:
    app = Workcraft()
    return {
        # Positional, on the class.
        "add": Workcraft.send_task_sync(cfg, TaskPayload(task_args=[1, 2]), "add"),
        # Keywords, on an instance, another queue, retries, handler arguments.
        "echo": app.send_task_sync(
            db_config=cfg,
            payload=TaskPayload(
                task_args=["x"],
                task_kwargs={"k": {"n": [1, None]}},
                prerun_handler_kwargs={"q": 1},
                postrun_handler_args=["p"],
            ),
            task_name="echo",
            queue="other",
            retry_on_failure=True,
            retry_limit=2,
        ),
        "whoami": Workcraft.send_task_sync(
            db_config=cfg, payload=TaskPayload(), task_name="whoami"
        ),
        "multiply": Workcraft.send_task_sync(cfg, TaskPayload(task_args=[6, 7]), "multiply"),
        "flaky": Workcraft.send_task_sync(
            cfg, TaskPayload(task_args=[5]), "flaky", retry_on_failure=True, retry_limit=3
        ),
    }


def get(cfg: DBConfig, task_id: str) -> dict[str, object] | None:
    task = Workcraft.get_task_sync(cfg, task_id)
    if task is None:
        return None
    return {"status": task.status.value, "result": task.result, "task_name": task.task_name}


def verify(cfg: DBConfig) -> bool:
    """0.5.27's own check that a database is set up (what its peon waits for at start)."""
    from workcraft.db import verify_database_setup

    return bool(verify_database_setup(cfg))


def main() -> None:
    cfg = DBConfig(**json.loads(sys.argv[1]))
    action = sys.argv[2]
    if action == "enqueue":
        out: object = enqueue(cfg)
    elif action == "get":
        out = get(cfg, sys.argv[3])
    elif action == "verify":
        out = verify(cfg)
    else:
        raise SystemExit(f"unknown action {action!r}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
