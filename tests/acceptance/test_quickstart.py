"""The seed README's quickstart, verbatim: .env, setup_database_tables, example.py, peon."""

from __future__ import annotations

import json
import re
import shutil
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.procs import REPO_ROOT, Proc, ProcGroup, child_env
from tests.support.settings import SEED, write_settings
from tests.support.sql import Sql
from tests.support.waiting import wait_until
from workcraft.db import DBConfig


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
def quickstart(
    proc_groups: Callable[..., ProcGroup], tmp_path: Path, empty_db_config: DBConfig
) -> ProcGroup:
    """A directory set up as the README says (example.py, .env, the seed's config file)."""
    shutil.copy(REPO_ROOT / "example.py", tmp_path / "example.py")
    (tmp_path / ".env").write_text(seed_dotenv(empty_db_config), encoding="utf-8")
    write_settings(tmp_path, SEED)
    return proc_groups()  # no WK_* in the environment: everything comes from .env


def run(procs: ProcGroup, args: list[str], name: str, timeout: float = 60) -> Proc:
    proc = procs.start(args, name=name, env=child_env())
    assert proc.wait(timeout) == 0, proc.describe()
    return proc


def task_rows(sql: Sql) -> list[dict[str, Any]]:
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
def test_seed_quickstart(quickstart: ProcGroup, empty_db_config: DBConfig) -> None:
    procs = quickstart
    python = sys.executable

    run(procs, [python, "-m", "workcraft", "setup_database_tables"], "setup")
    with Sql(empty_db_config) as sql:
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
            env=child_env(),
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
