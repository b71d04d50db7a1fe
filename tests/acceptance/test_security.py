"""Security with real processes: credentials never leak (logs, ``ps``, status), TLS is real
and refused when absent, and least privilege is enough to run everything.

Users are created for each test with a distinctive password and dropped afterwards. TLS tests
run a private MariaDB with a CA and server certificate the test makes with ``openssl``.
(What the test process itself can check: ``tests/integration/test_security.py``.)
"""

from __future__ import annotations

import dataclasses
import json
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.net import free_port
from tests.support.private_server import PrivateServer
from tests.support.procs import (
    REPO_ROOT,
    SECURITY_APP,
    Proc,
    ProcGroup,
    child_env,
    describe_run,
    run_workcraft,
)
from tests.support.schema import PUBLIC_TABLES
from tests.support.security import (
    TlsFiles,
    distinctive_secret,
    mysql_user,
    one_error_line,
    run_sql,
    session_cipher,
    tls_env,
    unique_user,
    use_env,
)
from tests.support.settings import write_settings
from tests.support.sql import Sql, admin_connection, drop_database, server_config, unique_db_name
from tests.support.waiting import wait_until
from workcraft.core import Workcraft
from workcraft.data import Store
from workcraft.data.migrate import setup_database_tables
from workcraft.data.schema import TABLES
from workcraft.db import DBConfig
from workcraft.errors import DatabaseError, DatabaseUnavailable
from workcraft.models import TaskStatus

DML = "SELECT, INSERT, UPDATE, DELETE"

# `python -m workcraft` from a program that imported Python's ssl module first (a wrapper,
# an app importing requests...): mysql-connector's C extension then cannot load and the
# library uses the pure-Python connector, whose TLS errors look different.
PURE_PYTHON = (
    "import ssl, runpy; runpy.run_module('workcraft', run_name='__main__', alter_sys=True)"
)


# -- helpers ------------------------------------------------------------------------------------
def ps_args() -> str:
    """``ps -eo args``, never cut to $COLUMNS (pytest workers may set it)."""
    return subprocess.run(
        ["ps", "-ww", "-eo", "args"], capture_output=True, text=True, check=True, timeout=30
    ).stdout


def all_rows_text(sql: Sql) -> str:
    return "\n".join(str(sql.rows(f"SELECT * FROM {table}")) for table in PUBLIC_TABLES)


def run_pure_python(
    *args: str, env: dict[str, str], cwd: Path, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", PURE_PYTHON, *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=timeout,
        check=False,
    )


# -- 4. credentials -----------------------------------------------------------------------------
@pytest.mark.slow
def test_password_never_shows_in_logs_ps_or_status(
    procs: ProcGroup, secret_config: DBConfig, sql: Sql, tmp_path: Path
) -> None:
    secret = secret_config.password
    wrong_password = distinctive_secret("wrong")
    good_env = child_env(secret_config)
    wrong_env = child_env(dataclasses.replace(secret_config, password=wrong_password))
    unreachable_env = child_env(dataclasses.replace(secret_config, port=free_port()))
    debug = "--log-level=DEBUG"
    outputs: list[str] = []
    snapshots: list[str] = []

    # A working peon and janitor, long enough to do something, with ps taken while they run.
    peon = procs.peon("pw-peon-live", debug, app=SECURITY_APP, env=good_env)
    janitor = procs.workcraft("janitor", debug, "--janitor-id=pw-janitor-live", env=good_env)
    peon.wait_for_output("ready", timeout=60)
    janitor.wait_for_output("became leader", timeout=60)
    producer = Workcraft()
    try:
        task_id = producer.send_task_sync("echo", ["via secret user"], db_config=secret_config)
        wait_until(
            lambda: (
                sql.value("SELECT status FROM bountyboard WHERE id = %s", (task_id,)) == "SUCCESS"
            ),
            60,
            "the task ran",
            procs.describe,
        )
    finally:
        producer.close()
    snapshots.append(ps_args())
    assert "pw-peon-live" in snapshots[-1] and "pw-janitor-live" in snapshots[-1]
    for proc in (peon, janitor):
        proc.send(signal.SIGTERM)
        assert proc.wait(60) == 0, proc.describe()
        outputs.append(proc.output)

    # Wrong password: each command says so in one line.
    failing: list[Proc] = [
        procs.peon("pw-peon-wrong", debug, app=SECURITY_APP, env=wrong_env),
        procs.workcraft("janitor", debug, name="janitor-wrong", env=wrong_env),
        procs.workcraft("janitor", "--once", debug, name="janitor-once-wrong", env=wrong_env),
        procs.workcraft("status", "--json", name="status-wrong", env=wrong_env),
        procs.workcraft("setup_database_tables", name="setup-wrong", env=wrong_env),
    ]
    for proc in failing:
        assert proc.wait(60) != 0, proc.describe()
        assert "access denied" in proc.stderr.lower(), proc.describe()
        outputs.append(proc.output)

    # Unreachable server: the peon waits (and logs that it does); the --once janitor gives up.
    waiting = procs.peon("pw-peon-unreachable", debug, app=SECURITY_APP, env=unreachable_env)
    waiting.wait_for_output("unavailable", timeout=60)
    snapshots.append(ps_args())
    assert "pw-peon-unreachable" in snapshots[-1]
    # Still waiting for the server, it stops on the first signal, cleanly.
    waiting.send(signal.SIGTERM)
    assert waiting.wait(60) == 0, waiting.describe()
    assert "stopped before the database became reachable" in waiting.output
    outputs.append(waiting.output)
    gave_up = procs.workcraft(
        "janitor",
        "--once",
        "--lock-timeout=1",
        debug,
        name="janitor-unreachable",
        env=unreachable_env,
    )
    assert gave_up.wait(60) != 0, gave_up.describe()
    outputs.append(gave_up.output)
    serving = procs.workcraft(
        "janitor", debug, name="janitor-serve-unreachable", env=unreachable_env
    )
    serving.wait_for_output("unavailable", timeout=60)
    snapshots.append(ps_args())
    serving.send(signal.SIGTERM)
    serving.wait(60)
    outputs.append(serving.output)

    status = run_workcraft("status", "--json", env=good_env, cwd=tmp_path)
    assert status.returncode == 0, describe_run(status)
    json.loads(status.stdout)
    outputs += [status.stdout, status.stderr]

    for text in [*outputs, *snapshots, all_rows_text(sql)]:
        assert secret not in text
        assert wrong_password not in text


# -- 5. TLS -------------------------------------------------------------------------------------
@pytest.mark.slow
def test_setup_peon_and_janitor_work_over_tls(
    proc_groups: Callable[..., ProcGroup],
    tls_server: PrivateServer,
    tls_files: TlsFiles,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    database = unique_db_name("wktls")
    secret = distinctive_secret("tls")
    admin = tls_server.config("mysql")
    # REQUIRE SSL: whatever this user does succeeds only over an encrypted connection.
    with mysql_user(
        secret, [("ALL PRIVILEGES", f"`{database}`.*")], admin, require_ssl=True
    ) as user:
        user_config = tls_server.config(database, user=user, password=secret)
        env = tls_env(user_config, tls_files.ca)
        write_settings(tmp_path)

        setup = run_workcraft("setup_database_tables", env=env, cwd=tmp_path)
        assert setup.returncode == 0, describe_run(setup)

        config = use_env(monkeypatch, tmp_path, env)
        producer = Workcraft()
        group = proc_groups()
        try:
            ids = [producer.send_task_sync("echo", [i, "tls"], db_config=config) for i in range(3)]
            peon = group.peon("tls-peon", "--burst", app=SECURITY_APP, env=env)
            assert peon.wait(120) == 0, peon.describe()
            for task_id in ids:
                task = producer.get_task_sync(task_id, config)
                assert task is not None and task.status is TaskStatus.SUCCESS, peon.describe()
            janitor = group.workcraft("janitor", "--once", name="tls-janitor", env=env)
            assert janitor.wait(120) == 0, janitor.describe()
            with Store(config, name="tls-check") as store:
                assert session_cipher(store) != ""
        finally:
            producer.close()
            group.stop_all()

        # The same user without TLS is turned away by the server: the runs above were encrypted.
        plain = child_env(user_config)
        refused = run_workcraft("status", "--json", env=plain, cwd=tmp_path)
        assert refused.returncode != 0, describe_run(refused)
        assert "access denied" in one_error_line(refused.stderr).lower()
    run_sql(admin, [f"DROP DATABASE IF EXISTS `{database}`"])


WRONG_CA_COMMANDS = {
    "setup": ("setup_database_tables",),
    "peon": ("peon", f"--workcraft_path={SECURITY_APP}", "--burst"),
    "janitor-once": ("janitor", "--once", "--lock-timeout=5"),
    "janitor": ("janitor",),
}


@pytest.mark.slow
@pytest.mark.parametrize("connector", ["c-extension", "pure-python"])
@pytest.mark.parametrize("command", list(WRONG_CA_COMMANDS))
def test_a_wrong_ca_fails_with_one_clear_line(
    tls_server: PrivateServer, tls_files: TlsFiles, tmp_path: Path, command: str, connector: str
) -> None:
    """A certificate the CA does not vouch for is a permanent error: exit non-zero at once
    with one line, never "reconnecting with backoff" forever."""
    write_settings(tmp_path)
    env = tls_env(tls_server.config("wk_wrong_ca"), tls_files.wrong_ca)
    args = WRONG_CA_COMMANDS[command]
    try:
        if connector == "c-extension":
            result = run_workcraft(*args, env=env, cwd=tmp_path, timeout=45)
        else:
            result = run_pure_python(*args, env=env, cwd=tmp_path, timeout=45)
    except subprocess.TimeoutExpired as exc:
        output = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else ""
        pytest.fail(f"{command} ({connector}) still running after 45 s:\n{output[-3000:]}")
    assert result.returncode != 0, describe_run(result)
    line = one_error_line(result.stderr)
    assert "certificate" in line.lower(), line


@pytest.mark.slow
@pytest.mark.parametrize("database", ["exists", "missing"])
@pytest.mark.parametrize("with_ca", [True, False], ids=["with-ca", "without-ca"])
def test_server_without_tls_is_refused_when_tls_is_asked_for(
    private_server: PrivateServer,
    tls_files: TlsFiles,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    with_ca: bool,
    database: str,
) -> None:
    """Every command names the missing TLS, whether or not the database exists yet (a
    "database does not exist" reply would mean the session went ahead unencrypted)."""
    root = private_server.config("mysql")
    if database == "exists":
        run_sql(root, ["CREATE DATABASE workcraft"])
        setup_database_tables(private_server.config("workcraft"))  # unencrypted, as root
    env = tls_env(private_server.config("workcraft"), tls_files.ca if with_ca else None)
    config = use_env(monkeypatch, tmp_path, env)
    assert config.use_ssl
    with Store(config, name="tls-check") as store, pytest.raises(DatabaseError) as info:
        store.call(lambda q: q.schema.server_now())
    assert "TLS" in str(info.value) or "SSL" in str(info.value), str(info.value)
    assert not isinstance(info.value, DatabaseUnavailable)

    write_settings(tmp_path)
    for args in (
        ("setup_database_tables",),
        ("status", "--json"),
        ("peon", f"--workcraft_path={SECURITY_APP}", "--burst"),
        ("janitor", "--once"),
    ):
        result = run_workcraft(*args, env=env, cwd=tmp_path, timeout=60)
        assert result.returncode != 0, describe_run(result)
        line = one_error_line(result.stderr)
        assert "TLS" in line or "SSL" in line, (args, line)
    # Nothing was created or changed over an unencrypted connection.
    conn: Any = admin_connection(root)
    try:
        cur = conn.cursor()
        cur.execute("SHOW DATABASES LIKE 'workcraft'")
        assert len(cur.fetchall()) == (1 if database == "exists" else 0)
        if database == "exists":
            cur.execute("SELECT COUNT(*) FROM workcraft.peon")
            assert cur.fetchall() == [(0,)]
    finally:
        conn.close()


# -- 6. least privilege -------------------------------------------------------------------------
def arrange_janitor_work(sql: Sql) -> dict[str, str]:
    """A dead peon with a RUNNING task, and a FAILURE due for a retry (arranged as root)."""
    sql.run(
        "INSERT INTO peon (id, status, last_heartbeat, current_task, queues, session, "
        "concurrency, running_tasks) VALUES ('ghost', 'WORKING', NOW(6) - INTERVAL 1 HOUR, "
        "'00000000-0000-4000-8000-00000000a001', '[\"DEFAULT\"]', UUID(), 1, 1)"
    )
    sql.run(
        "INSERT INTO bountyboard (id, task_name, payload, status, worker_id, peon_session, "
        "attempt, started_at) SELECT '00000000-0000-4000-8000-00000000a001', 'echo', "
        "'{\"task_args\": [\"orphan\"]}', 'RUNNING', id, session, 1, NOW(6) - INTERVAL 1 DAY "
        "FROM peon WHERE id = 'ghost'"
    )
    sql.run(
        "INSERT INTO bountyboard (id, task_name, payload, status, retry_on_failure, "
        "retry_count, retry_limit, attempt, finished_at, result) VALUES "
        "('00000000-0000-4000-8000-00000000a002', 'echo', '{\"task_args\": [\"retry\"]}', "
        "'FAILURE', 1, 1, 3, 1, NOW(6) - INTERVAL 1 DAY, '{\"error_type\": \"X\"}')"
    )
    return {
        "orphan": "00000000-0000-4000-8000-00000000a001",
        "failed": "00000000-0000-4000-8000-00000000a002",
    }


def run_everything_as(app_config: DBConfig, sql: Sql, group: ProcGroup) -> None:
    """Producer API, peon --burst, janitor --once, status --json, all as ``app_config``."""
    workdir = group.workdir
    arranged = arrange_janitor_work(sql)
    write_settings(workdir)
    env = child_env(app_config)
    producer = Workcraft()
    try:
        ids = [producer.send_task_sync("echo", ["one"], db_config=app_config)]
        ids += producer.send_tasks_sync(
            [{"task_name": "echo", "task_args": [i]} for i in range(3)], db_config=app_config
        )
        assert producer.get_task_sync(ids[0], app_config) is not None

        first = group.peon("lp-peon-1", "--burst", app=SECURITY_APP, env=env)
        assert first.wait(120) == 0, first.describe()
        janitor = group.workcraft("janitor", "--once", name="lp-janitor", env=env)
        assert janitor.wait(120) == 0, janitor.describe()
        assert sql.value("SELECT status FROM peon WHERE id = 'ghost'") == "OFFLINE"
        second = group.peon("lp-peon-2", "--burst", app=SECURITY_APP, env=env)
        assert second.wait(120) == 0, second.describe()

        for task_id in [*ids, *arranged.values()]:
            task = producer.get_task_sync(task_id, app_config)
            assert task is not None
            assert task.status is TaskStatus.SUCCESS, (task, group.describe())
        assert int(str(sql.value("SELECT COUNT(*) FROM logs"))) >= 2
        for proc in (first, janitor, second):
            assert "denied" not in proc.output.lower(), proc.describe()
    finally:
        producer.close()
        group.stop_all()
    status = run_workcraft("status", "--json", env=env, cwd=workdir)
    assert status.returncode == 0, describe_run(status)
    json.loads(status.stdout)


@pytest.mark.slow
def test_a_user_with_only_dml_on_the_workcraft_tables_runs_everything(
    proc_groups: Callable[..., ProcGroup], empty_db_config: DBConfig
) -> None:
    setup_database_tables(empty_db_config)  # as root
    database = empty_db_config.database
    secret = distinctive_secret("dml")
    # DML on each table the processes use (not even on workcraft_schema), nothing else.
    app_tables = [table.name for table in TABLES if table.name != "workcraft_schema"]
    grants = [(DML, f"`{database}`.`{table}`") for table in app_tables]
    with mysql_user(secret, grants) as user:
        app_config = dataclasses.replace(empty_db_config, user=user, password=secret)
        with Sql(empty_db_config) as sql:
            run_everything_as(app_config, sql, proc_groups(app_config))


def readme_least_privilege_sql() -> list[str]:
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Least privilege", 1)[1].split("\n## ", 1)[0]
    block = section.split("```sql", 1)[1].split("```", 1)[0]
    return [statement.strip() for statement in block.split(";") if statement.strip()]


@pytest.mark.slow
def test_the_readme_grants_work(proc_groups: Callable[..., ProcGroup], tmp_path: Path) -> None:
    statements = readme_least_privilege_sql()
    assert [s.split()[0] for s in statements] == ["CREATE", "GRANT", "CREATE", "GRANT"], statements
    database = unique_db_name("wkreadme")
    admin_user, app_user = unique_user("wkadm"), unique_user("wkapp")
    secret = distinctive_secret("readme")
    substituted = [
        s.replace("'workcraft_admin'", f"'{admin_user}'")
        .replace("'workcraft_app'", f"'{app_user}'")
        .replace("workcraft.*", f"`{database}`.*")
        .replace("'...'", f"'{secret}'")
        for s in statements
    ]
    for statement in substituted:
        assert "workcraft_" not in statement and "workcraft.*" not in statement, statement
    server = server_config()
    try:
        run_sql(server, substituted)
        admin_config = dataclasses.replace(
            server, user=admin_user, password=secret, database=database
        )
        app_config = dataclasses.replace(admin_config, user=app_user)

        # Setup as the README's admin user creates the database and the tables, twice.
        for _ in range(2):
            setup = run_workcraft(
                "setup_database_tables", env=child_env(admin_config), cwd=tmp_path
            )
            assert setup.returncode == 0, describe_run(setup)

        with Sql(dataclasses.replace(server, database=database)) as sql:
            run_everything_as(app_config, sql, proc_groups(app_config))
    finally:
        run_sql(
            server,
            [
                f"DROP USER IF EXISTS '{admin_user}'@'%'",
                f"DROP USER IF EXISTS '{app_user}'@'%'",
            ],
        )
        drop_database(database)
