"""``setup_database_tables`` on a database made by the previous release of this workcraft
(schema v1: DATETIME columns, the (status, queue, created_at) claim index): converted in
place, every row kept, times unchanged, waiting tasks still runnable in their order."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.support.sql import Sql, admin_connection
from workcraft.core import Workcraft
from workcraft.data.ddl import quote_identifier
from workcraft.data.migrate import setup_database_tables
from workcraft.data.schema import BOUNTYBOARD, SCHEMA_VERSION
from workcraft.db import DBConfig

BIN = "CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin"
V1_SCHEMA = [
    f"""CREATE TABLE `peon` (
  `id` varchar(255) {BIN} NOT NULL,
  `status` enum('IDLE','PREPARING','WORKING','OFFLINE') NOT NULL DEFAULT 'IDLE',
  `last_heartbeat` datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  `current_task` char(36) NULL DEFAULT NULL, `queues` text NULL DEFAULT NULL,
  `hostname` varchar(255) NULL DEFAULT NULL, `pid` int NULL DEFAULT NULL,
  `session` char(36) NULL DEFAULT NULL, `concurrency` int NOT NULL DEFAULT 1,
  `running_tasks` int NOT NULL DEFAULT 0, `tasks_done` bigint NOT NULL DEFAULT 0,
  `started_at` datetime(6) NULL DEFAULT NULL,
  PRIMARY KEY (`id`), KEY `ix_peon_status_heartbeat` (`status`, `last_heartbeat`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci""",
    f"""CREATE TABLE `bountyboard` (
  `id` char(36) NOT NULL DEFAULT (UUID()),
  `status` enum('PENDING','RUNNING','SUCCESS','FAILURE','INVALID') NOT NULL DEFAULT 'PENDING',
  `created_at` datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  `updated_at` datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  `task_name` varchar(255) {BIN} NOT NULL,
  `worker_id` varchar(255) {BIN} NULL DEFAULT NULL,
  `queue` varchar(255) {BIN} NOT NULL DEFAULT 'DEFAULT',
  `payload` json NULL DEFAULT ('{{}}'), `result` json NULL DEFAULT NULL,
  `retry_on_failure` tinyint(1) NOT NULL DEFAULT 0, `retry_count` int NOT NULL DEFAULT 0,
  `retry_limit` int NOT NULL DEFAULT 3, `attempt` int NOT NULL DEFAULT 0,
  `crash_count` int NOT NULL DEFAULT 0, `peon_session` char(36) NULL DEFAULT NULL,
  `started_at` datetime(6) NULL DEFAULT NULL, `finished_at` datetime(6) NULL DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `ix_bountyboard_claim` (`status`, `queue`, `created_at`),
  KEY `ix_bountyboard_finished` (`status`, `finished_at`),
  KEY `ix_bountyboard_worker` (`worker_id`, `status`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci""",
    """CREATE TABLE `logs` (
  `id` bigint NOT NULL AUTO_INCREMENT, `message` text NOT NULL,
  `created_at` datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (`id`), KEY `ix_logs_created_at` (`created_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci""",
    """CREATE TABLE `workcraft_schema` (
  `version` int NOT NULL, `applied_at` datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (`version`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci""",
    "INSERT INTO workcraft_schema (version) VALUES (1)",
]
T1 = dt.datetime(2026, 1, 2, 3, 4, 5, 123456)


def build_v1(config: DBConfig) -> None:
    conn: Any = admin_connection(config)
    try:
        cur = conn.cursor()
        cur.execute("CREATE DATABASE " + quote_identifier(config.database))
        conn.database = config.database
        cur.execute("SET time_zone = '+00:00'")
        for statement in V1_SCHEMA:
            cur.execute(statement)
        rows = [
            ("later", "PENDING", T1 + dt.timedelta(seconds=2), None),
            ("earlier", "PENDING", T1, None),
            ("done", "SUCCESS", T1, T1 + dt.timedelta(seconds=1)),
        ]
        cur.executemany(
            "INSERT INTO bountyboard (id, status, task_name, payload, created_at, finished_at)"
            " VALUES (%s, %s, 'add', '{\"task_args\": [1, 2]}', %s, %s)",
            rows,
        )
        cur.execute(
            "INSERT INTO peon (id, status, last_heartbeat) VALUES ('old', 'OFFLINE', %s)", (T1,)
        )
    finally:
        conn.close()


def test_previous_release_database_upgrades_in_place(empty_db_config: DBConfig) -> None:
    build_v1(empty_db_config)
    report = setup_database_tables(empty_db_config)
    assert report.version_before == 1
    assert report.version_after == SCHEMA_VERSION
    assert report.statements, "nothing was upgraded"
    sql = Sql(empty_db_config)
    try:
        rows = {r["id"]: r for r in sql.rows("SELECT * FROM bountyboard")}
        assert set(rows) == {"later", "earlier", "done"}
        # Same instants (the session is UTC both times), now in TIMESTAMP columns.
        assert rows["earlier"]["created_at"] == T1
        assert rows["done"]["finished_at"] == T1 + dt.timedelta(seconds=1)
        assert rows["earlier"]["run_at"] == T1  # waiting tasks keep their order
        assert rows["later"]["run_at"] == T1 + dt.timedelta(seconds=2)
        assert rows["done"]["priority"] == 0
        columns = {
            r["COLUMN_NAME"]: r["COLUMN_TYPE"]
            for r in sql.rows(
                "SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS"
                " WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'bountyboard'"
            )
        }
        assert columns["created_at"] == "timestamp(6)"
        assert {"run_at", "priority", "unique_key", "unique_active"} <= set(columns)
        indexes: dict[str, tuple[str, ...]] = {}
        for r in sql.rows(
            "SELECT INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS"
            " WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'bountyboard'"
            " ORDER BY INDEX_NAME, SEQ_IN_INDEX"
        ):
            indexes[r["INDEX_NAME"]] = (*indexes.get(r["INDEX_NAME"], ()), r["COLUMN_NAME"])
        assert "ix_bountyboard_claim" not in indexes
        assert "ix_bountyboard_worker" not in indexes
        # An index of the same name with other columns (v1's finished index) is rebuilt.
        assert indexes["ix_bountyboard_finished"] == ("finished_status", "finished_at")
        for index in BOUNTYBOARD.indexes:
            assert indexes[index.name] == index.column_names, index.name
        assert rows["done"]["finished_status"] == "SUCCESS"
        assert rows["earlier"]["finished_status"] is None
        assert sql.value("SELECT last_heartbeat FROM peon WHERE id = 'old'") == T1
    finally:
        sql.close()
    # A second run changes nothing; the upgraded database takes new features.
    assert not setup_database_tables(empty_db_config).changed
    app = Workcraft()
    try:
        first = app.send_task_sync("add", [1], unique_key="k", db_config=empty_db_config)
        assert app.send_task_sync("add", [2], unique_key="k", db_config=empty_db_config) == first
    finally:
        app.close()
