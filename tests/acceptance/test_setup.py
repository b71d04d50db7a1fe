"""``setup_database_tables`` through real processes, against the real server.

Every command runs as ``python -m workcraft`` or the ``workcraft`` console script, in an
empty working directory, with no WK_DB_* variables except the ones a test sets.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.net import free_port
from tests.support.procs import child_env, run_workcraft
from tests.support.schema import (
    ALL_TABLES,
    PUBLIC_TABLES,
    columns_of,
    indexes_of,
    query,
    run_statements,
    schema_snapshot,
    tables_in,
)
from tests.support.settings import write_settings
from tests.support.sql import unique_db_name
from workcraft.db import DBConfig

SECRET = "S3cret-pw-xyz"


# -- helpers ------------------------------------------------------------------------------
def seed_flags(config: DBConfig, **changes: Any) -> list[str]:
    """The seed README's spelling of the connection flags."""
    values = {
        "db_host": config.host,
        "db_port": config.port,
        "db_user": config.user,
        "db_password": config.password,
        "db_name": config.database,
        **changes,
    }
    return ["--read_from_env=False", *(f"--{key}={value}" for key, value in values.items())]


def kebab_flags(config: DBConfig) -> list[str]:
    return [
        "--no-read-from-env",
        "--db-host",
        config.host,
        "--db-port",
        str(config.port),
        "--db-user",
        config.user,
        f"--db-password={config.password}",
        "--db-name",
        config.database,
    ]


def check_ok(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, (
        f"exit {result.returncode}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], code: int | None) -> None:
    detail = f"exit {result.returncode}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    assert result.returncode != 0, detail
    if code is not None:
        assert result.returncode == code, detail
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, detail
    assert lines[0].strip(), detail
    assert "Traceback" not in result.stderr, detail
    assert SECRET not in result.stderr, detail
    assert SECRET not in result.stdout, detail


# -- creating the tables --------------------------------------------------------------------
def test_seed_spelling_creates_the_tables(empty_db_config: DBConfig, tmp_path: Path) -> None:
    result = run_workcraft(
        "setup_database_tables", *seed_flags(empty_db_config), "--drop_tables=True", cwd=tmp_path
    )
    check_ok(result)
    assert set(PUBLIC_TABLES) <= tables_in(empty_db_config.database)
    assert empty_db_config.database in result.stdout


def test_kebab_spelling_with_console_script(empty_db_config: DBConfig, tmp_path: Path) -> None:
    result = run_workcraft(
        "setup-database-tables",
        *kebab_flags(empty_db_config),
        "--drop-tables",
        cwd=tmp_path,
        script=True,
    )
    check_ok(result)
    assert set(PUBLIC_TABLES) <= tables_in(empty_db_config.database)


def test_dotenv_form(empty_db_config: DBConfig, tmp_path: Path) -> None:
    config = empty_db_config
    (tmp_path / ".env").write_text(
        f'WK_DB_HOST="{config.host}"\n'
        f"WK_DB_PORT={config.port}\n"
        f'WK_DB_USER="{config.user}"\n'
        f'WK_DB_PASS="{config.password}"\n'
        f'WK_DB_NAME="{config.database}"\n'
        "WK_DB_USE_SSL=\n"
        "WK_DB_SSL_PATH=\n",
        encoding="utf-8",
    )
    result = run_workcraft("setup_database_tables", cwd=tmp_path)
    check_ok(result)
    assert set(PUBLIC_TABLES) <= tables_in(config.database)


def test_environment_form(empty_db_config: DBConfig, tmp_path: Path) -> None:
    config = empty_db_config
    env = child_env(
        WK_DB_HOST=config.host,
        WK_DB_PORT=str(config.port),
        WK_DB_USER=config.user,
        WK_DB_PASS=config.password,
        WK_DB_NAME=config.database,
        WK_DB_USE_SSL="",
    )
    result = run_workcraft("setup_database_tables", cwd=tmp_path, env=env, script=True)
    check_ok(result)
    assert set(PUBLIC_TABLES) <= tables_in(config.database)


def test_second_run_changes_nothing(empty_db_config: DBConfig, tmp_path: Path) -> None:
    database = empty_db_config.database
    check_ok(run_workcraft("setup_database_tables", *seed_flags(empty_db_config), cwd=tmp_path))
    before = schema_snapshot(database)

    second = run_workcraft("setup_database_tables", *seed_flags(empty_db_config), cwd=tmp_path)
    check_ok(second)
    assert "up to date" in second.stdout
    assert schema_snapshot(database) == before
    assert before["workcraft_schema rows"] == [(1,)]


def test_drop_tables_starts_clean(empty_db_config: DBConfig, tmp_path: Path) -> None:
    database = empty_db_config.database
    check_ok(run_workcraft("setup_database_tables", *seed_flags(empty_db_config), cwd=tmp_path))
    run_statements(
        database,
        ["INSERT INTO bountyboard (id, task_name, payload) VALUES (UUID(), 'x', '{}')"],
    )
    result = run_workcraft(
        "setup_database_tables", *seed_flags(empty_db_config), "--drop_tables=True", cwd=tmp_path
    )
    check_ok(result)
    assert query(database, "SELECT COUNT(*) FROM bountyboard") == [(0,)]
    assert query(database, "SELECT COUNT(*) FROM workcraft_schema") == [(1,)]


def test_plain_insert_is_a_valid_enqueue(empty_db_config: DBConfig, tmp_path: Path) -> None:
    database = empty_db_config.database
    check_ok(run_workcraft("setup_database_tables", *seed_flags(empty_db_config), cwd=tmp_path))
    run_statements(
        database,
        [
            "INSERT INTO bountyboard (id, task_name, payload) "
            "VALUES (UUID(), 'x', '{\"task_args\":[1]}')"
        ],
    )
    assert query(database, "SELECT status, queue, retry_count FROM bountyboard") == [
        ("PENDING", "DEFAULT", 0)
    ]


def test_no_events_routines_or_triggers(empty_db_config: DBConfig, tmp_path: Path) -> None:
    database = empty_db_config.database
    check_ok(run_workcraft("setup_database_tables", *seed_flags(empty_db_config), cwd=tmp_path))
    for table, column in (
        ("EVENTS", "EVENT_SCHEMA"),
        ("ROUTINES", "ROUTINE_SCHEMA"),
        ("TRIGGERS", "TRIGGER_SCHEMA"),
    ):
        rows = query(
            "information_schema",
            f"SELECT COUNT(*) FROM information_schema.{table} WHERE {column} = %s",
            (database,),
        )
        assert rows == [(0,)], table


# -- a user with ordinary privileges only ----------------------------------------------------
@pytest.fixture
def restricted_user(empty_db_config: DBConfig) -> Iterator[DBConfig]:
    """An empty database made by root, and a user with only ordinary DDL/DML on it."""
    database = empty_db_config.database
    user = unique_db_name("wku")
    password = "Rpw-" + uuid.uuid4().hex[:12]
    run_statements(None, [f"CREATE DATABASE `{database}`"])
    try:
        run_statements(
            None,
            [
                f"CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'",
                "GRANT CREATE, ALTER, INDEX, DROP, SELECT, INSERT, UPDATE, DELETE "
                f"ON `{database}`.* TO '{user}'@'%'",
            ],
        )
        yield DBConfig(
            host=empty_db_config.host,
            port=empty_db_config.port,
            user=user,
            password=password,
            database=database,
        )
    finally:
        run_statements(None, [f"DROP USER IF EXISTS '{user}'@'%'"])


def test_restricted_user_can_set_up(restricted_user: DBConfig, tmp_path: Path) -> None:
    scheduler = query("information_schema", "SELECT @@GLOBAL.event_scheduler")[0][0]
    assert str(scheduler).upper() in ("OFF", "DISABLED"), (
        f"this test needs the event scheduler off, it is {scheduler}"
    )
    database = restricted_user.database
    grants = query("information_schema", f"SHOW GRANTS FOR '{restricted_user.user}'@'%'")
    assert not any("SUPER" in str(row[0]) or "EVENT" in str(row[0]) for row in grants)

    result = run_workcraft("setup_database_tables", *seed_flags(restricted_user), cwd=tmp_path)
    check_ok(result)
    assert set(ALL_TABLES) <= tables_in(database)

    second = run_workcraft("setup_database_tables", *seed_flags(restricted_user), cwd=tmp_path)
    check_ok(second)
    assert "up to date" in second.stdout
    for table, column in (
        ("EVENTS", "EVENT_SCHEMA"),
        ("ROUTINES", "ROUTINE_SCHEMA"),
        ("TRIGGERS", "TRIGGER_SCHEMA"),
    ):
        rows = query(
            "information_schema",
            f"SELECT COUNT(*) FROM information_schema.{table} WHERE {column} = %s",
            (database,),
        )
        assert rows == [(0,)], table


def test_restricted_user_can_upgrade_the_seed_schema(
    restricted_user: DBConfig, tmp_path: Path
) -> None:
    database = restricted_user.database
    run_statements(database, [*SEED_SCHEMA, *SEED_ROWS])
    result = run_workcraft("setup_database_tables", *seed_flags(restricted_user), cwd=tmp_path)
    check_ok(result)
    assert query(database, "SELECT COUNT(*) FROM bountyboard") == [(3,)]
    assert "ix_bountyboard_ready" in indexes_of(database, "bountyboard")


# -- upgrading the original workcraft's schema in place --------------------------------------
SEED_SCHEMA = [
    """CREATE TABLE peon (
        id VARCHAR(36) PRIMARY KEY,
        status ENUM('IDLE','PREPARING','WORKING','OFFLINE') DEFAULT 'IDLE',
        last_heartbeat TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
        current_task CHAR(36),
        queues TEXT
    )""",
    """CREATE TABLE bountyboard (
        id CHAR(36) PRIMARY KEY,
        status ENUM('PENDING','RUNNING','SUCCESS','FAILURE','INVALID') NOT NULL
            DEFAULT 'PENDING',
        created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
        updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
        task_name VARCHAR(255) NOT NULL,
        worker_id VARCHAR(36),
        queue VARCHAR(255) DEFAULT 'DEFAULT',
        payload JSON,
        result JSON,
        retry_on_failure BOOLEAN DEFAULT FALSE,
        retry_count INT DEFAULT 0,
        retry_limit INT NOT NULL DEFAULT 0,
        CONSTRAINT chk_retry_limit CHECK (retry_limit >= 0),
        CONSTRAINT chk_retry_consistency CHECK (
            (retry_on_failure = false) OR (retry_on_failure = true AND retry_limit > 1)
        ),
        FOREIGN KEY (worker_id) REFERENCES peon(id)
    )""",
    """CREATE TABLE logs (
        id INT AUTO_INCREMENT PRIMARY KEY,
        message TEXT,
        created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
    )""",
]
SEED_TASK_IDS = (
    "11111111-1111-1111-1111-111111111111",
    "22222222-2222-2222-2222-222222222222",
    "33333333-3333-3333-3333-333333333333",
)
SEED_ROWS = [
    "INSERT INTO peon (id, status, current_task, queues) "
    f"VALUES ('old-peon', 'WORKING', '{SEED_TASK_IDS[1]}', '[\"DEFAULT\"]')",
    "INSERT INTO bountyboard (id, status, created_at, task_name, worker_id, queue, payload, "
    "result, retry_on_failure, retry_count, retry_limit) VALUES "
    f"('{SEED_TASK_IDS[0]}', 'SUCCESS', '2024-01-02 03:04:05', 'simple_task', 'old-peon', "
    "'DEFAULT', '{\"task_args\": [1, 2], \"task_kwargs\": {\"c\": 3}}', '6', 0, 0, 0), "
    f"('{SEED_TASK_IDS[1]}', 'RUNNING', '2024-01-02 03:04:06', 'simple_task', 'old-peon', "
    "'DEFAULT', '{\"task_args\": [4, 5]}', NULL, 1, 0, 3), "
    f"('{SEED_TASK_IDS[2]}', 'PENDING', '2024-01-02 03:04:07', 'other_task', NULL, "
    "'q2', '{}', NULL, 0, 0, 0)",
    "INSERT INTO logs (message) VALUES ('seed log line one'), ('seed log line two')",
]


@pytest.fixture
def seed_database(empty_db_config: DBConfig) -> DBConfig:
    run_statements(None, [f"CREATE DATABASE `{empty_db_config.database}`"])
    run_statements(empty_db_config.database, [*SEED_SCHEMA, *SEED_ROWS])
    return empty_db_config


def test_upgrade_seed_schema_in_place(seed_database: DBConfig, tmp_path: Path) -> None:
    database = seed_database.database
    result = run_workcraft("setup_database_tables", *seed_flags(seed_database), cwd=tmp_path)
    check_ok(result)
    assert "upgraded" in result.stdout

    rows = query(
        database,
        "SELECT id, status, created_at, task_name, worker_id, queue, payload, result, "
        "retry_on_failure, retry_count, retry_limit FROM bountyboard ORDER BY id",
    )
    assert [row[0] for row in rows] == list(SEED_TASK_IDS)
    assert [row[1] for row in rows] == ["SUCCESS", "RUNNING", "PENDING"]
    assert rows[0][2] == dt.datetime(2024, 1, 2, 3, 4, 5)
    assert [row[3] for row in rows] == ["simple_task", "simple_task", "other_task"]
    assert [row[4] for row in rows] == ["old-peon", "old-peon", None]
    assert [row[5] for row in rows] == ["DEFAULT", "DEFAULT", "q2"]
    assert '"task_kwargs"' in str(rows[0][6])
    assert [row[8] for row in rows] == [0, 1, 0]
    assert [row[10] for row in rows] == [0, 3, 0]
    assert query(database, "SELECT id, status, current_task FROM peon") == [
        ("old-peon", "WORKING", SEED_TASK_IDS[1])
    ]
    assert query(database, "SELECT message FROM logs ORDER BY id") == [
        ("seed log line one",),
        ("seed log line two",),
    ]

    board_columns = columns_of(database, "bountyboard")
    assert {"attempt", "peon_session", "finished_at"} <= board_columns
    assert "session" in columns_of(database, "peon")
    assert "ix_bountyboard_ready" in indexes_of(database, "bountyboard")
    assert query(database, "SELECT COUNT(*) FROM workcraft_schema") == [(1,)]

    # The constraints that contradicted the contract are gone: retries with retry_limit=1,
    # and peon ids longer than 36 characters, are fine now.
    long_peon = "p" * 100
    run_statements(
        database,
        [
            f"INSERT INTO peon (id) VALUES ('{long_peon}')",
            "INSERT INTO bountyboard (id, task_name, worker_id, retry_on_failure, retry_limit) "
            f"VALUES (UUID(), 'x', '{long_peon}', 1, 1)",
        ],
    )

    before = schema_snapshot(database)
    second = run_workcraft("setup_database_tables", *seed_flags(seed_database), cwd=tmp_path)
    check_ok(second)
    assert "up to date" in second.stdout
    assert schema_snapshot(database) == before


# -- errors ------------------------------------------------------------------------------------
def test_wrong_password(empty_db_config: DBConfig, tmp_path: Path) -> None:
    result = run_workcraft(
        "setup_database_tables", *seed_flags(empty_db_config, db_password=SECRET), cwd=tmp_path
    )
    assert_one_line_error(result, code=None)
    assert "denied" in result.stderr.lower()


def test_unreachable_port(empty_db_config: DBConfig, tmp_path: Path) -> None:
    port = free_port()
    result = run_workcraft(
        "setup_database_tables",
        *seed_flags(empty_db_config, db_port=port, db_password=SECRET),
        cwd=tmp_path,
    )
    assert_one_line_error(result, code=None)
    assert str(port) in result.stderr


def test_unknown_key_in_config_file(empty_db_config: DBConfig, tmp_path: Path) -> None:
    write_settings(tmp_path, {"DB_POLLING_INTERVALL": 5})
    result = run_workcraft(
        "setup_database_tables", *seed_flags(empty_db_config, db_password=SECRET), cwd=tmp_path
    )
    assert_one_line_error(result, code=2)
    assert "DB_POLLING_INTERVALL" in result.stderr
    assert "workcraft.config.json" in result.stderr


def test_invalid_json_in_config_file(empty_db_config: DBConfig, tmp_path: Path) -> None:
    write_settings(tmp_path, '{"DB_POLLING_INTERVAL": 5,')
    result = run_workcraft(
        "setup_database_tables",
        *seed_flags(empty_db_config, db_password=SECRET),
        cwd=tmp_path,
        script=True,
    )
    assert_one_line_error(result, code=2)
    assert "workcraft.config.json" in result.stderr


def test_garbage_use_ssl_in_dotenv(empty_db_config: DBConfig, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"WK_DB_PASS={SECRET}\nWK_DB_USE_SSL=perhaps\n")
    result = run_workcraft("setup_database_tables", cwd=tmp_path)
    assert_one_line_error(result, code=2)
    assert "WK_DB_USE_SSL" in result.stderr


def test_bad_bool_flag_exits_2(empty_db_config: DBConfig, tmp_path: Path) -> None:
    result = run_workcraft(
        "setup_database_tables", *seed_flags(empty_db_config), "--drop_tables=perhaps", cwd=tmp_path
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "perhaps" in result.stderr


@pytest.mark.parametrize("script", [False, True], ids=["python-m", "console-script"])
def test_help(tmp_path: Path, script: bool) -> None:
    result = run_workcraft("--help", cwd=tmp_path, script=script)
    check_ok(result)
    assert "setup-database-tables" in result.stdout
