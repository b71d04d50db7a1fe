"""Upgrading from the published original, workcraft 0.5.27, as its users would.

A private MariaDB (0.5.27's setup turns the server's global event_scheduler ON, so never the
shared server) gets a database made by 0.5.27's own ``setup_database_tables`` (its SQL, run
from the package installed in a virtual environment of its own, built and cached by
``tests/support/wk0527.py``); tasks are enqueued by 0.5.27's own ``send_task_sync`` in that
environment. Then our setup converts the database, reports and drops the original's EVENTs,
and our janitor and peons (one started with 0.5.27's flags) run every task to SUCCESS.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.private_server import PrivateServer
from tests.support.procs import ProcGroup, child_env, describe_run, run_workcraft
from tests.support.settings import JANITOR, write_settings
from tests.support.sql import Sql, admin_connection, server_config
from tests.support.waiting import wait_until
from tests.support.wk0527 import (
    IndexUnreachable,
    ensure_venv,
    package_dir,
    run_original_script,
    run_original_setup,
)
from workcraft.db import DBConfig

pytestmark = pytest.mark.slow

APP_0527 = "tests.compat_apps.tasks_0527.workcraft"
EVENTS = ["run_check_dead_workers", "run_reopen_failed_tasks", "run_self_correct_tasks"]
PROCEDURES = ["check_dead_workers", "reopen_failed_tasks", "self_correct_tasks"]


@pytest.fixture(scope="module")
def original_python() -> Path:
    """The Python of a virtual environment with workcraft 0.5.27 (built once, cached)."""
    try:
        return ensure_venv()
    except IndexUnreachable as exc:
        pytest.skip(f"workcraft 0.5.27 cannot be installed: {exc}")


def flags(config: DBConfig) -> list[str]:
    """0.5.27's spelling of the connection flags."""
    return [
        "--read_from_env=False",
        f"--db_host={config.host}",
        f"--db_port={config.port}",
        f"--db_user={config.user}",
        f"--db_password={config.password}",
        f"--db_name={config.database}",
    ]


def admin(config: DBConfig, *statements: str) -> list[Any]:
    """Run statements as root on the private server; the last one's rows."""
    conn: Any = admin_connection(config, config.database)
    try:
        cur = conn.cursor()
        rows: list[Any] = []
        for statement in statements:
            cur.execute(statement)
            rows = cur.fetchall() if cur.with_rows else []
        return rows
    finally:
        conn.close()


def original_objects(config: DBConfig) -> tuple[list[str], list[str]]:
    events = admin(
        config,
        "SELECT EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = DATABASE() "
        "ORDER BY 1",
    )
    procedures = admin(
        config,
        "SELECT ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE()"
        " ORDER BY 1",
    )
    return [r[0] for r in events], [r[0] for r in procedures]


def shared_event_scheduler() -> str:
    with Sql(server_config()) as sql:
        return str(sql.value("SELECT @@GLOBAL.event_scheduler")).upper()


def global_event_scheduler(config: DBConfig) -> str:
    return str(admin(config, "SELECT @@GLOBAL.event_scheduler")[0][0]).upper()


@pytest.fixture
def original_db(
    private_server: PrivateServer, original_python: Path, tmp_path: Path
) -> tuple[DBConfig, dict[str, str]]:
    """A database made by 0.5.27's own setup, with tasks enqueued by 0.5.27, plus the rows
    0.5.27's peon and a non-strict server would have left (see the comments)."""
    config = private_server.config("legacy")
    conn: Any = admin_connection(config, None)
    try:
        conn.cursor().execute("CREATE DATABASE legacy")
    finally:
        conn.close()
    assert (package_dir(original_python) / "sqls" / "c_create_bountyboard_tables.sql").is_file()
    run_original_setup(original_python, config, tmp_path / "original")
    assert original_objects(config) == (EVENTS, PROCEDURES)
    # Its setup switched the (private) server's scheduler on, as it does for its users.
    assert global_event_scheduler(config) == "ON"

    ids: dict[str, str] = run_original_script(
        original_python, config, tmp_path / "original", "enqueue"
    )
    admin(
        config,
        # What 0.5.27's peon writes when a task with retries fails (result: the traceback
        # as a JSON string, retry_count + 1); its dequeue would have run it again.
        "UPDATE bountyboard SET status = 'FAILURE', retry_count = 1, "
        "result = '\"Traceback (most recent call last):\\\\nRuntimeError: flaky\"' "
        f"WHERE id = '{ids['flaky']}'",
        # What its SIGTERM handler leaves: the peon OFFLINE, its task still RUNNING.
        "INSERT INTO peon (id, status, current_task, queues) VALUES "
        f"('old-peon', 'OFFLINE', '{ids['multiply']}', '[\"DEFAULT\"]')",
        "UPDATE bountyboard SET status = 'RUNNING', worker_id = 'old-peon' "
        f"WHERE id = '{ids['multiply']}'",
        # Its reopen procedure's status 'FAILED', written by a server in non-strict mode:
        # MariaDB/MySQL store a value the ENUM lacks as ''.
        "SET SESSION sql_mode = ''",
        "INSERT INTO bountyboard (id, task_name, status, payload, retry_on_failure, retry_limit)"
        " VALUES ('typo-0000-0000-0000-000000000000', 'add', 'FAILED', "
        "'{\"task_args\": [20, 22]}', 1, 3)",
    )
    ids["typo"] = "typo-0000-0000-0000-000000000000"
    return config, ids


def test_upgrade_from_0527(
    original_db: tuple[DBConfig, dict[str, str]],
    original_python: Path,
    proc_groups: Callable[..., ProcGroup],
    tmp_path: Path,
) -> None:
    config, ids = original_db
    shared_scheduler = str(Sql(server_config()).value("SELECT @@GLOBAL.event_scheduler")).upper()
    before = admin(config, "SELECT id, task_name, payload, created_at FROM bountyboard ORDER BY id")

    # 1. Convert as a user with ordinary DDL/DML only: it cannot see EVENTs, and says so.
    admin(
        config,
        "CREATE USER 'plain'@'%' IDENTIFIED BY 'Pl-ain-1'",
        "GRANT CREATE, ALTER, INDEX, DROP, SELECT, INSERT, UPDATE, DELETE ON legacy.* "
        "TO 'plain'@'%'",
        "CREATE USER 'upgrader'@'%' IDENTIFIED BY 'Up-grade-1'",
        "GRANT CREATE, ALTER, INDEX, DROP, SELECT, INSERT, UPDATE, DELETE, EVENT, "
        "ALTER ROUTINE ON legacy.* TO 'upgrader'@'%'",
    )
    plain = dataclasses.replace(config, user="plain", password="Pl-ain-1")
    upgrader = dataclasses.replace(config, user="upgrader", password="Up-grade-1")
    result = run_workcraft("setup_database_tables", *flags(plain), cwd=tmp_path)
    assert result.returncode == 0, describe_run(result)
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2, describe_run(result)
    assert "upgraded schema" in lines[0] and "mapped 1 unknown task status" in lines[0]
    assert "legacy was made by workcraft 0.5.27; plain cannot see" in lines[1]
    refused = run_workcraft(
        "setup_database_tables", *flags(plain), "--drop-original-events", cwd=tmp_path
    )
    assert refused.returncode == 1, describe_run(refused)
    assert "EVENT and ALTER ROUTINE" in refused.stderr

    # A user who can see them hears, in one line, that they are still there.
    result = run_workcraft("setup_database_tables", *flags(config), cwd=tmp_path)
    assert result.returncode == 0, describe_run(result)
    lines = result.stdout.strip().splitlines()
    assert "tables already up to date" in lines[0], describe_run(result)
    assert len(lines) == 2 and "still exist in legacy" in lines[1], describe_run(result)
    assert "run_self_correct_tasks" in lines[1]
    assert "they sweep now: the server's event_scheduler is ON" in lines[1]
    assert "--drop-original-events" in lines[1]
    assert original_objects(config) == (EVENTS, PROCEDURES)

    # Every row kept, with its id, arguments and creation time; statuses mapped to ours.
    assert (
        admin(config, "SELECT id, task_name, payload, created_at FROM bountyboard ORDER BY id")
        == before
    )
    statuses = dict(admin(config, "SELECT id, status FROM bountyboard"))
    assert statuses[ids["typo"]] == "FAILURE"
    assert statuses[ids["flaky"]] == "FAILURE"
    # Still RUNNING, unless 0.5.27's own self_correct EVENT (every 10 s, live on this server)
    # already put it back: the sweeping beside the janitor that dropping them ends.
    assert statuses[ids["multiply"]] in ("RUNNING", "PENDING")
    logged = admin(config, "SELECT message FROM logs WHERE message LIKE 'setup: task typo%'")
    assert len(logged) == 1 and "is now FAILURE" in logged[0][0]

    status = run_workcraft("status", *flags(config), cwd=tmp_path)
    assert status.returncode == 0, describe_run(status)
    assert "still exist in legacy" in " ".join(status.stdout.split())

    # 2. Drop them as a user with only ordinary DDL/DML plus EVENT and ALTER ROUTINE.
    dropped = run_workcraft(
        "setup_database_tables", *flags(upgrader), "--drop-original-events", cwd=tmp_path
    )
    assert dropped.returncode == 0, describe_run(dropped)
    assert "tables already up to date" in dropped.stdout
    assert "dropped the original workcraft's EVENT run_check_dead_workers" in dropped.stdout
    assert "PROCEDURE self_correct_tasks" in dropped.stdout
    assert original_objects(config) == ([], [])
    status = run_workcraft("status", *flags(config), cwd=tmp_path)
    assert "still exist" not in status.stdout, status.stdout
    # Nothing of ours touched a global variable (0.5.27's setup did, on this private server).
    assert global_event_scheduler(config) == "ON"
    assert shared_event_scheduler() == shared_scheduler

    # 3. A 0.5.27 producer still enqueues into the converted database.
    late: dict[str, str] = run_original_script(
        original_python, config, tmp_path / "original", "enqueue"
    )

    # 4. Our janitor and two peons: one in today's spelling, one in 0.5.27's.
    # Not in a directory above 0.5.27's working directory: 0.5.27 reads the nearest
    # workcraft.config.json too, and refuses fractional intervals.
    settings_file = write_settings(
        tmp_path / "new", JANITOR, DB_SETUP_BACKOFF_MULTIPLIER_SECONDS=0.2
    )
    settings = f"--config={settings_file}"
    group = proc_groups(config)
    group.janitor("janitor-1", settings)
    group.peon("new-peon", "--queues", "DEFAULT", settings, app=APP_0527)
    group.workcraft(
        "peon",
        f"--workcraft_path={APP_0527}",
        "--queues=[DEFAULT,other]",
        "--worker_id=peon-0527",
        "--load_db_config_from_env=False",
        settings,
        *[flag for flag in flags(config) if not flag.startswith("--read_from_env")],
        name="peon-0527",
        env=child_env(),  # no WK_DB_*: the flags say where the database is
    )
    everything = [*ids.values(), *late.values()]

    def all_done() -> bool:
        rows = admin(config, "SELECT status FROM bountyboard")
        return len(rows) == len(everything) and all(row[0] == "SUCCESS" for row in rows)

    wait_until(all_done, 60, "every task SUCCESS", group.tails)

    rows = {
        row[0]: row[1:]
        for row in admin(config, "SELECT id, result, worker_id, retry_count FROM bountyboard")
    }
    result_of = {task: json.loads(rows[task_id][0]) for task, task_id in ids.items()}
    assert result_of["add"] == 3
    assert result_of["whoami"] == ids["whoami"]  # the task id, as 0.5.27 passed it
    assert result_of["multiply"] == 42  # a README-style task: no task id
    assert result_of["flaky"] == 5 and rows[ids["flaky"]][2] == 1  # the failure 0.5.27 saw
    assert result_of["typo"] == 42
    assert result_of["echo"] == {
        "task_id": ids["echo"],
        "args": ["x"],
        "kwargs": {"k": {"n": [1, None]}},
    }
    assert rows[ids["echo"]][1] == "peon-0527"  # only that peon listens to "other"
    assert json.loads(rows[late["add"]][0]) == 3

    # 0.5.27's own reader still reads the converted rows (its result is JSON text).
    assert run_original_script(
        original_python, config, tmp_path / "original", "get", ids["add"]
    ) == {"status": "SUCCESS", "result": "3", "task_name": "add"}


# The rollback docs/upgrading.md describes, checked with 0.5.27's own setup and its own check
# that a database is set up (what its peon waits for before it starts).
ROLLBACK = (
    "UPDATE bountyboard SET status = 'INVALID', updated_at = updated_at WHERE status = 'CANCELLED'",
    "ALTER TABLE bountyboard MODIFY COLUMN status "
    "ENUM('PENDING','RUNNING','SUCCESS','FAILURE','INVALID') NOT NULL DEFAULT 'PENDING'",
)


def test_rollback_to_0527(
    original_db: tuple[DBConfig, dict[str, str]], original_python: Path, tmp_path: Path
) -> None:
    config, ids = original_db
    result = run_workcraft(
        "setup_database_tables", *flags(config), "--drop-original-events", cwd=tmp_path
    )
    assert result.returncode == 0, describe_run(result)
    assert original_objects(config) == ([], [])
    assert run_original_script(original_python, config, tmp_path / "original", "verify") is False

    admin(config, *ROLLBACK)
    run_original_setup(original_python, config, tmp_path / "original")
    assert original_objects(config) == (EVENTS, PROCEDURES)
    assert run_original_script(original_python, config, tmp_path / "original", "verify") is True
    assert {row[0] for row in admin(config, "SELECT id FROM bountyboard")} == set(ids.values())
    again = run_original_script(original_python, config, tmp_path / "original", "enqueue")
    task = run_original_script(original_python, config, tmp_path / "original", "get", again["add"])
    assert task == {"status": "PENDING", "result": None, "task_name": "add"}
