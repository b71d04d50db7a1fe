"""The seed README's quickstart, verbatim: .env, setup_database_tables, example.py, peon."""

from __future__ import annotations

import json
import re
import shutil
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import SqlHelper
from procs import Proc, Procs, base_env, wait_until

from workcraft.db import DBConfig

REPO = Path(__file__).resolve().parent.parent

# The seed README's workcraft.config.json, as printed there.
SEED_CONFIG = {
    "DB_PEON_HEARTBEAT_INTERVAL": 5,
    "DB_POLLING_INTERVAL": 5,
    "DB_SETUP_BACKOFF_MULTIPLIER_SECONDS": 30,
    "DB_SETUP_BACKOFF_MAX_SECONDS": 3600,
    "DB_SETUP_RUN_SELF_CORRECT_TASK_INTERVAL": 10,
    "DB_SETUP_RUN_REOPEN_FAILED_TASK_INTERVAL": 10,
    "DB_SETUP_WAIT_TIME_BEFORE_WORKER_DECLARED_DEAD": 60,
    "DB_SETUP_CHECK_DEAD_WORKER_INTERVAL": 10,
}


def seed_dotenv(config: DBConfig) -> str:
    """The seed README's ``.env``, pointed at the test database (empty password)."""
    return (
        f'WK_DB_HOST="{config.host}"\n'
        f"WK_DB_PORT={config.port}\n"
        f'WK_DB_USER="{config.user}"\n'
        f'WK_DB_PASS="{config.password}"\n'
        f'WK_DB_NAME="{config.database}"\n'
        "WK_DB_USE_SSL=\n"
        "WK_DB_SSL_PATH=\n"
    )


@pytest.fixture
def quickstart(tmp_path: Path, empty_db_config: DBConfig) -> Iterator[Procs]:
    shutil.copy(REPO / "example.py", tmp_path / "example.py")
    (tmp_path / ".env").write_text(seed_dotenv(empty_db_config), encoding="utf-8")
    (tmp_path / "workcraft.config.json").write_text(json.dumps(SEED_CONFIG, indent=2))
    group = Procs(tmp_path)  # no WK_* in the environment: everything comes from .env
    yield group
    group.stop_all()


def run(procs: Procs, args: list[str], name: str, timeout: float = 60) -> Proc:
    proc = procs.start(args, name=name, env=base_env())
    assert proc.wait(timeout) == 0, proc.describe()
    return proc


def task_rows(sql: SqlHelper) -> list[dict[str, Any]]:
    return sql.rows("SELECT * FROM bountyboard ORDER BY created_at")


def expected_sum(row: dict[str, Any]) -> int:
    payload = json.loads(str(row["payload"]))
    a, b = payload["task_args"]
    return int(a) + int(b) + int(payload["task_kwargs"]["c"])


def check_peon_output(output: str, task_id: str, total: int) -> None:
    lines = output.splitlines()
    setup = [i for i, line in enumerate(lines) if "Setting up the worker!" in line]
    assert len(setup) == 1, output
    # The task logs the global counter: 1000 from the setup handler, plus one.
    task_lines = [i for i, line in enumerate(lines) if re.search(r"simple_task:\d+ - 1001$", line)]
    assert task_lines, output
    assert setup[0] < task_lines[0], output
    postrun = (
        f"Postrun handler called for {task_id} and simple_task! "
        f"Got result: {total} and status SUCCESS"
    )
    postrun_lines = [i for i, line in enumerate(lines) if postrun in line]
    assert len(postrun_lines) == 1, output
    assert postrun_lines[0] > task_lines[0]


@pytest.mark.slow
def test_seed_quickstart(quickstart: Procs, empty_db_config: DBConfig) -> None:
    procs = quickstart
    python = sys.executable

    run(procs, [python, "-m", "workcraft", "setup_database_tables"], "setup")
    sql = SqlHelper(empty_db_config)
    try:
        tables = {str(row[next(iter(row))]) for row in sql.rows("SHOW TABLES")}
        assert {"bountyboard", "peon", "logs"} <= tables

        run(procs, [python, "example.py"], "example1")
        rows = task_rows(sql)
        assert len(rows) == 1
        first = rows[0]
        assert (first["task_name"], first["status"]) == ("simple_task", "PENDING")
        assert first["retry_on_failure"] == 1

        peon = run(
            procs,
            [
                python,
                "-m",
                "workcraft",
                "peon",
                "--workcraft_path=example.workcraft",
                "--worker-id=test1",
                "--burst",
            ],
            "peon-burst",
        )
        first = task_rows(sql)[0]
        assert first["status"] == "SUCCESS", peon.describe()
        assert json.loads(str(first["result"])) == expected_sum(first)
        assert first["worker_id"] == "test1"
        check_peon_output(peon.output, str(first["id"]), expected_sum(first))

        # Exactly as the README writes it (no --burst): it runs until told to stop.
        run(procs, [python, "example.py"], "example2")
        second = task_rows(sql)[1]
        assert second["status"] == "PENDING"
        peon = procs.start(
            [
                python,
                "-m",
                "workcraft",
                "peon",
                "--workcraft_path=example.workcraft",
                "--worker-id=test1",
            ],
            name="peon",
            env=base_env(),
        )

        def second_done() -> dict[str, Any] | None:
            row = task_rows(sql)[1]
            return row if row["status"] == "SUCCESS" else None

        done = wait_until(
            second_done,
            30,
            "the second task SUCCESS",
            peon.describe,
        )
        assert json.loads(str(done["result"])) == expected_sum(done)
        peon.send(signal.SIGTERM)
        assert peon.wait(20) == 0, peon.describe()
        check_peon_output(peon.output, str(done["id"]), expected_sum(done))
        peon_rows = sql.rows("SELECT id, status FROM peon")
        assert peon_rows == [{"id": "test1", "status": "OFFLINE"}]
        assert "Traceback" not in peon.output
    finally:
        sql.close()
