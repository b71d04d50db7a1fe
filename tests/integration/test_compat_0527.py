"""workcraft 0.5.27's producer forms and its database shapes, against the real server, in
this process. (The whole path with 0.5.27 itself: tests/acceptance/test_upgrade_from_0527.py.)
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.schema import run_statements
from tests.support.sql import Sql
from workcraft.compat.task import OriginalTask
from workcraft.core import Workcraft
from workcraft.data.migrate import setup_database_tables
from workcraft.models import DBConfig, Task, TaskPayload, TaskStatus

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_0527_send_and_get_next_to_the_readme_forms(
    db_config: DBConfig, producer: Workcraft, sql: Sql
) -> None:
    old = Workcraft.send_task_sync(
        db_config=db_config,
        payload=TaskPayload(task_args=[1, 2], postrun_handler_args=["p"]),
        task_name="add",
        queue="q1",
        retry_on_failure=True,
        retry_limit=2,
    )
    new = producer.send_task_sync("add", [3, 4], db_config=db_config)
    row = sql.rows("SELECT * FROM bountyboard WHERE id = %s", (old,))[0]
    assert (row["task_name"], row["queue"], row["retry_on_failure"], row["retry_limit"]) == (
        "add",
        "q1",
        1,
        2,
    )
    assert json.loads(row["payload"])["task_args"] == [1, 2]
    sql.run(
        "UPDATE bountyboard SET status = 'SUCCESS', result = '{\"sum\": 3}' WHERE id IN (%s, %s)",
        (old, new),
    )

    # 0.5.27's forms: a Task in its shape, the result as JSON text.
    for task in (
        Workcraft.get_task_sync(db_config, old),
        Workcraft.get_task_sync(db_config=db_config, task_id=old),
        producer.get_task_sync(db_config, old),
    ):
        assert isinstance(task, OriginalTask)
        assert task.status == TaskStatus.SUCCESS
        assert json.loads(task.result or "") == {"sum": 3}
        assert task.payload.postrun_handler_args == ["p"]
    # The README's form on the same app: the decoded result.
    readme: Any = producer.get_task_sync(new, db_config)
    assert type(readme) is Task and readme.result == {"sum": 3}
    assert Workcraft.get_task_sync(db_config, "missing") is None


# A bountyboard as someone left it who "fixed" 0.5.27's reopen procedure by adding 'FAILED'
# to the status ENUM, on a server whose default character set is latin1, with NULLs where
# 0.5.27's columns allowed them (our own shape of it; 0.5.27's SQL is never copied here).
ALTERED = [
    """CREATE TABLE bountyboard (
        id CHAR(36) PRIMARY KEY,
        status ENUM('PENDING','RUNNING','SUCCESS','FAILURE','FAILED','INVALID','LOST')
            NOT NULL DEFAULT 'PENDING',
        created_at TIMESTAMP NULL DEFAULT CURRENT_TIMESTAMP,
        updated_at TIMESTAMP NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
        task_name VARCHAR(255) NOT NULL,
        worker_id VARCHAR(36),
        queue VARCHAR(255) DEFAULT 'DEFAULT',
        payload LONGTEXT,
        result LONGTEXT,
        retry_on_failure BOOLEAN DEFAULT FALSE,
        retry_count INT DEFAULT 0,
        retry_limit INT NOT NULL DEFAULT 0,
        KEY idx_task_status_created (status, retry_on_failure, retry_count, task_name, created_at)
    ) DEFAULT CHARSET = latin1""",
    """CREATE TABLE logs (id INT AUTO_INCREMENT PRIMARY KEY, message TEXT,
        created_at TIMESTAMP NULL DEFAULT CURRENT_TIMESTAMP) DEFAULT CHARSET = latin1""",
    "INSERT INTO bountyboard (id, status, updated_at, task_name, queue, payload, "
    "retry_on_failure, retry_count, retry_limit) VALUES "
    "('failed', 'FAILED', '2024-01-02 03:04:05', 'add', 'DEFAULT', '{\"task_args\": [1, 2]}', "
    "1, 1, 3), "
    "('lost', 'LOST', '2024-01-02 03:04:05', 'add', 'DEFAULT', '{}', 0, 0, 0), "
    "('nulls', 'PENDING', '2024-01-02 03:04:05', 'Add', NULL, '{}', NULL, NULL, 0)",
]


def test_unknown_statuses_charset_and_nulls_are_converted(empty_db_config: DBConfig) -> None:
    run_statements(None, [f"CREATE DATABASE `{empty_db_config.database}`"])
    run_statements(empty_db_config.database, ALTERED)
    report = setup_database_tables(empty_db_config)
    assert report.statuses_mapped == 2
    assert report.original_shape  # its dequeue index is there
    with Sql(empty_db_config) as sql:
        rows = {r["id"]: r for r in sql.rows("SELECT * FROM bountyboard")}
        assert rows["failed"]["status"] == "FAILURE"
        assert rows["lost"]["status"] == "INVALID"
        # Untouched otherwise: the same instant, and finished_at taken from it.
        assert str(rows["failed"]["updated_at"]) == "2024-01-02 03:04:05"
        assert rows["failed"]["finished_at"] == rows["failed"]["updated_at"]
        assert rows["nulls"]["queue"] == "DEFAULT" and rows["nulls"]["retry_count"] == 0
        logs = [r["message"] for r in sql.rows("SELECT message FROM logs ORDER BY id")]
        assert logs == [
            "setup: task failed had status 'FAILED', which workcraft does not have; "
            "it is now FAILURE",
            "setup: task lost had status 'LOST', which workcraft does not have; it is now INVALID",
        ]
        columns = {
            r["COLUMN_NAME"]: r
            for r in sql.rows(
                "SELECT COLUMN_NAME, CHARACTER_SET_NAME, COLLATION_NAME, IS_NULLABLE,"
                " COLUMN_DEFAULT FROM information_schema.COLUMNS"
                " WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'bountyboard'"
            )
        }
        # Task names compare byte for byte again: 'Add' is not 'add'.
        assert columns["task_name"]["COLLATION_NAME"].endswith("_bin")
        assert columns["queue"]["IS_NULLABLE"] == "NO"
        assert columns["retry_limit"]["COLUMN_DEFAULT"] == "3"
        assert all(c["CHARACTER_SET_NAME"] in (None, "utf8mb4") for c in columns.values()), columns
        assert sql.value(
            "SELECT TABLE_COLLATION FROM information_schema.TABLES"
            " WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'logs'"
        ).startswith("utf8mb4")
        # Text that latin1 could not hold now fits, in a column setup added.
        sql.run("INSERT INTO logs (message, task_id) VALUES ('täsk ✓ 🚀', NULL)")
    assert not setup_database_tables(empty_db_config).changed
