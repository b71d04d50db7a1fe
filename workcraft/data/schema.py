"""The three public tables (plus a version table), and how to create or upgrade them.

The schema is declared once, as columns and indexes. ``setup`` creates what is missing and
converges an older schema (the original workcraft's, or an earlier version of this one) in
place: it adds missing columns and indexes, and rewrites a column whose type, NULL-ness,
integer default or character set differs from ours, keeping every row. It needs only
CREATE, ALTER, INDEX, DROP, SELECT, INSERT, UPDATE and DELETE on the database: no EVENT, no
routine, no trigger, no global variable (dropping the original's EVENTs and procedures, when
asked, needs EVENT and ALTER ROUTINE).
"""

from __future__ import annotations

from workcraft.data.ddl import (
    BINARY_COLLATION_TOKEN,
    Column,
    Index,
    Table,
    enum_type,
    quote_identifier,
)
from workcraft.models import FINISHED_STATUS_NAMES, PeonStatus, TaskStatus

SCHEMA_VERSION = 3

TASK_STATUSES = tuple(status.value for status in TaskStatus)
PEON_STATUSES = tuple(status.value for status in PeonStatus)


BIN = f"CHARACTER SET utf8mb4 COLLATE {BINARY_COLLATION_TOKEN}"
TABLE_CHARSET = "utf8mb4 COLLATE utf8mb4_unicode_ci"

# A task holds its unique key while it is not finished: PENDING, RUNNING, or FAILURE with a
# retry to come. Derived by the server from the row itself, so it can never drift; the unique
# index on it is what makes ``unique_key`` safe against racing producers.
_HOLDS_UNIQUE_KEY = (
    "`status` IN ('PENDING','RUNNING') OR (`status` = 'FAILURE' AND `retry_on_failure` = 1"
    " AND `retry_count` <= `retry_limit`)"
)
# A finished task's status; NULL while it waits or runs. The claim (PENDING -> RUNNING) leaves
# it NULL, so the finish-time index changes once per task instead of twice.
_FINISHED_STATUS = "IF(`status` IN ({}), `status`, NULL)".format(
    ",".join(f"'{name}'" for name in FINISHED_STATUS_NAMES)
)

_WAITS_FOR_RETRY = (
    "`status` = 'FAILURE' AND `retry_on_failure` = 1 AND `retry_count` <= `retry_limit`"
)

BOUNTYBOARD = Table(
    name="bountyboard",
    columns=(
        Column("id", "char(36)", "NOT NULL DEFAULT (UUID())"),
        Column("status", enum_type(TASK_STATUSES), "NOT NULL DEFAULT 'PENDING'"),
        # TIMESTAMP, not DATETIME: stored as UTC and converted per session, so a plain-SQL
        # producer in a +05:00 session means the same instant as one in UTC.
        Column("created_at", "timestamp(6)", "NOT NULL DEFAULT CURRENT_TIMESTAMP(6)"),
        Column(
            "updated_at",
            "timestamp(6)",
            "NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)",
        ),
        Column("task_name", "varchar(255)", f"{BIN} NOT NULL"),
        Column("worker_id", "varchar(255)", f"{BIN} NULL DEFAULT NULL"),
        Column("queue", "varchar(255)", f"{BIN} NOT NULL DEFAULT 'DEFAULT'"),
        Column("payload", "json", "NULL DEFAULT ('{}')"),
        Column("result", "json", "NULL DEFAULT NULL"),
        Column("retry_on_failure", "tinyint(1)", "NOT NULL DEFAULT 0"),
        Column("retry_count", "int", "NOT NULL DEFAULT 0"),
        Column("retry_limit", "int", "NOT NULL DEFAULT 3"),
        # Fencing token: bumped by every claim; completion must present the one it claimed.
        Column("attempt", "int", "NOT NULL DEFAULT 0"),
        # How often a peon died while running this task (poison-pill guard).
        Column("crash_count", "int", "NOT NULL DEFAULT 0"),
        # The peon process (not just its id) that holds a RUNNING task.
        Column("peon_session", "char(36)", "NULL DEFAULT NULL"),
        Column("started_at", "timestamp(6)", "NULL DEFAULT NULL"),
        # Finished rows of an older schema (0.5.27's) finished when they were last updated:
        # retention, and the reopen of failures waiting for a retry, count from then.
        Column(
            "finished_at",
            "timestamp(6)",
            "NULL DEFAULT NULL",
            backfill="UPDATE `bountyboard` SET `finished_at` = `updated_at`, "
            "`updated_at` = `updated_at` WHERE `status` IN ('SUCCESS','FAILURE','INVALID')",
        ),
        # Not claimed before this instant; reopened retries get the time they were reopened.
        # Tasks waiting in an upgraded database keep their order: run_at = created_at.
        Column(
            "run_at",
            "timestamp(6)",
            "NOT NULL DEFAULT CURRENT_TIMESTAMP(6)",
            backfill="UPDATE `bountyboard` SET `run_at` = `created_at`, "
            "`updated_at` = `updated_at` WHERE `status` = 'PENDING'",
        ),
        # Lower runs first within a queue, then the earliest run_at.
        Column("priority", "int", "NOT NULL DEFAULT 0"),
        Column("unique_key", "varchar(255)", f"{BIN} NULL DEFAULT NULL"),
        # Seconds a run may take before it ends FAILURE (TaskTimeout); NULL: the function's.
        Column("timeout_seconds", "double", "NULL DEFAULT NULL"),
        # At most concurrency_limit tasks with this key RUNNING at once, across all peons.
        Column("concurrency_key", "varchar(255)", f"{BIN} NULL DEFAULT NULL"),
        Column("concurrency_limit", "int", "NOT NULL DEFAULT 1"),
        # Set by a cancel of a RUNNING task; its peon sees it with its next heartbeat.
        Column("cancel_requested", "tinyint(1)", "NOT NULL DEFAULT 0"),
        Column(
            "unique_active",
            "varchar(255)",
            f"{BIN} GENERATED ALWAYS AS "
            f"(CASE WHEN {_HOLDS_UNIQUE_KEY} THEN `unique_key` END) STORED",
        ),
        # The concurrency key while the task RUNS (NULL otherwise): its index changes only for
        # keyed tasks, so unkeyed work pays nothing for the limit.
        Column(
            "running_key",
            "varchar(255)",
            f"{BIN} GENERATED ALWAYS AS (IF(`status` = 'RUNNING', `concurrency_key`, NULL)) STORED",
        ),
        Column(
            "finished_status",
            enum_type(FINISHED_STATUS_NAMES),
            f"GENERATED ALWAYS AS ({_FINISHED_STATUS}) STORED",
        ),
        Column(
            "retry_pending_since",
            "timestamp(6)",
            f"GENERATED ALWAYS AS (IF({_WAITS_FOR_RETRY}, `finished_at`, NULL)) STORED",
        ),
    ),
    primary_key="`id`",
    indexes=(
        # Every status change of a task rewrites each index that holds status (or a column
        # the change sets): the claim path pays for each one twice per task, so there are
        # few. This one serves the claim and every read of the live statuses:
        # - the claim: WHERE status='PENDING' AND queue=? AND priority=? AND run_at <= now
        #   ORDER BY run_at: an exact range per priority, so LIMIT n reads and locks n rows,
        #   whatever else waits (a big backlog, a million rows scheduled for later); the
        #   trailing task_name lets the server check the claim's name filter in the index;
        # - the boards and /metrics: PENDING and RUNNING tasks per queue and name, index only;
        # - a peon's RUNNING tasks (its heartbeat's cancel check reads its own ids by primary
        #   key; the dead-peon sweep and a lost claim acknowledgement read the RUNNING range,
        #   which is at most every peon's concurrency long).
        Index("ix_bountyboard_ready", "`status`, `queue`, `priority`, `run_at`, `task_name`"),
        # Retention, counters and "finished in the last minute", by status and finish time.
        # finished_status is NULL until the task finishes: the claim does not touch it.
        Index("ix_bountyboard_finished", "`finished_status`, `finished_at`"),
        # Operator listings: newest first within a status (keyset on created_at, id).
        Index("ix_bountyboard_status_created", "`status`, `created_at`"),
        # Reopen-failed sweep: only rows waiting for a retry are in this index's range; the
        # board counts them per queue and name from the index alone.
        Index(
            "ix_bountyboard_retry_waiting",
            "`retry_pending_since`, `crash_count`, `queue`, `task_name`",
        ),
        Index("ux_bountyboard_unique_active", "`unique_active`", unique=True),
        # How many tasks with a concurrency key run now (the claim counts them).
        Index("ix_bountyboard_running_key", "`running_key`"),
    ),
    # Replaced by ix_bountyboard_ready (the claim order gained priority and run_at) and by
    # ix_bountyboard_retry_waiting (the same range, with what the board counts by); and
    # 0.5.27's dequeue and updated_at indexes, and the index its foreign key left behind;
    # and the peon and live-count indexes, which ix_bountyboard_ready now serves (each cost
    # two index changes per task).
    obsolete_indexes=(
        "ix_bountyboard_claim",
        "ix_bountyboard_retry",
        "ix_bountyboard_worker",
        "ix_bountyboard_live",
        "idx_task_status_created",
        "idx_last_updated",
        "worker_id",
    ),
)

PEON = Table(
    name="peon",
    columns=(
        Column("id", "varchar(255)", f"{BIN} NOT NULL"),
        Column("status", enum_type(PEON_STATUSES), "NOT NULL DEFAULT 'IDLE'"),
        Column("last_heartbeat", "timestamp(6)", "NOT NULL DEFAULT CURRENT_TIMESTAMP(6)"),
        Column("current_task", "char(36)", "NULL DEFAULT NULL"),
        Column("queues", "text", "NULL DEFAULT NULL"),
        Column("hostname", "varchar(255)", "NULL DEFAULT NULL"),
        Column("pid", "int", "NULL DEFAULT NULL"),
        Column("session", "char(36)", "NULL DEFAULT NULL"),
        Column("concurrency", "int", "NOT NULL DEFAULT 1"),
        Column("running_tasks", "int", "NOT NULL DEFAULT 0"),
        Column("tasks_done", "bigint", "NOT NULL DEFAULT 0"),
        Column("started_at", "timestamp(6)", "NULL DEFAULT NULL"),
        # The task names its app registers (JSON list): what no live peon can run shows.
        Column("tasks", "text", "NULL DEFAULT NULL"),
        # The ids of the tasks it runs now (JSON list), written in every claim/complete
        # transaction: the self-correct sweep finds RUNNING rows a live peon does not run.
        Column("running_ids", "text", "NULL DEFAULT NULL"),
    ),
    primary_key="`id`",
    indexes=(Index("ix_peon_status_heartbeat", "`status`, `last_heartbeat`"),),
)

LOGS = Table(
    name="logs",
    columns=(
        Column("id", "bigint", "NOT NULL AUTO_INCREMENT"),
        Column("message", "text", "NOT NULL"),
        Column("created_at", "timestamp(6)", "NOT NULL DEFAULT CURRENT_TIMESTAMP(6)"),
        # The task a line is about, if any: `tasks show` lists a task's timeline by it.
        Column("task_id", "char(36)", "NULL DEFAULT NULL"),
        # Which janitor wrote it, and under which leadership term (lease mode; 0 for
        # GET_LOCK): one leader at a time is checkable from these rows.
        Column("janitor", "varchar(255)", "NULL DEFAULT NULL"),
        Column("term", "bigint", "NULL DEFAULT NULL"),
    ),
    primary_key="`id`",
    indexes=(
        Index("ix_logs_created_at", "`created_at`"),
        Index("ix_logs_task", "`task_id`"),
    ),
)

SCHEDULES = Table(
    name="schedules",
    columns=(
        Column("name", "varchar(255)", f"{BIN} NOT NULL"),
        Column("task_name", "varchar(255)", f"{BIN} NOT NULL"),
        Column("cron", "varchar(255)", "NULL DEFAULT NULL"),
        Column("every_seconds", "double", "NULL DEFAULT NULL"),
        Column("payload", "json", "NOT NULL DEFAULT ('{}')"),
        Column("queue", "varchar(255)", f"{BIN} NOT NULL DEFAULT 'DEFAULT'"),
        Column("priority", "int", "NOT NULL DEFAULT 0"),
        # The next occurrence to enqueue; NULL until the janitor computes it (new or changed).
        Column("next_run_at", "timestamp(6)", "NULL DEFAULT NULL"),
        # The last occurrence enqueued, and its task: the guard against enqueueing it twice.
        Column("last_run_at", "timestamp(6)", "NULL DEFAULT NULL"),
        Column("last_task_id", "char(36)", "NULL DEFAULT NULL"),
        # Off when no live peon has registered it for a while (removed from the code).
        Column("active", "tinyint(1)", "NOT NULL DEFAULT 1"),
        Column("seen_at", "timestamp(6)", "NOT NULL DEFAULT CURRENT_TIMESTAMP(6)"),
        Column("created_at", "timestamp(6)", "NOT NULL DEFAULT CURRENT_TIMESTAMP(6)"),
    ),
    primary_key="`name`",
    indexes=(Index("ix_schedules_due", "`active`, `next_run_at`"),),
)

QUEUES = Table(
    name="queues",
    columns=(
        Column("name", "varchar(255)", f"{BIN} NOT NULL"),
        Column("paused", "tinyint(1)", "NOT NULL DEFAULT 0"),
        Column("updated_at", "timestamp(6)", "NOT NULL DEFAULT CURRENT_TIMESTAMP(6)"),
    ),
    primary_key="`name`",
)

# One row per concurrency key ever used: a claim of a keyed task locks its key's row, so two
# peons never both count "one slot free" for the same key.
CONCURRENCY_KEYS = Table(
    name="concurrency_keys",
    columns=(
        Column("name", "varchar(255)", f"{BIN} NOT NULL"),
        # Bumped by every keyed claim: a real write, where a lock alone is per node (Galera,
        # Group Replication) and two nodes' claims of one key would both commit.
        Column("claims", "bigint", "NOT NULL DEFAULT 0"),
    ),
    primary_key="`name`",
)

# Finished runs counted by the janitor leader, per queue, task name and status: monotonic
# counters (retention does not lower them) that boards and /metrics read instead of
# counting a big table.
TASK_TOTALS = Table(
    name="task_totals",
    columns=(
        Column("queue", "varchar(255)", f"{BIN} NOT NULL"),
        Column("task_name", "varchar(255)", f"{BIN} NOT NULL"),
        Column("status", enum_type(TASK_STATUSES), "NOT NULL"),
        Column("total", "bigint", "NOT NULL DEFAULT 0"),
    ),
    primary_key="`queue`, `task_name`, `status`",
)

# Finished runs per minute and status, for the last day's throughput chart: the counters
# sweep adds to it, retention drops minutes older than a day.
THROUGHPUT = Table(
    name="throughput",
    columns=(
        Column("minute", "timestamp", "NOT NULL DEFAULT CURRENT_TIMESTAMP"),
        Column("status", enum_type(TASK_STATUSES), "NOT NULL"),
        Column("n", "bigint", "NOT NULL DEFAULT 0"),
    ),
    primary_key="`minute`, `status`",
)

# What the janitors say about themselves, one row per name: 'leader' (who leads, seen
# when), 'counted_until' (the counters' watermark), 'sweep:<name>' (last run, how long).
JANITOR_STATE = Table(
    name="janitor_state",
    columns=(
        Column("name", "varchar(64)", "NOT NULL"),
        Column("holder", "varchar(255)", "NULL DEFAULT NULL"),
        Column("term", "bigint", "NOT NULL DEFAULT 0"),
        Column("at", "timestamp(6)", "NULL DEFAULT NULL"),
        Column("expires_at", "timestamp(6)", "NULL DEFAULT NULL"),
        Column("duration_s", "double", "NULL DEFAULT NULL"),
        Column("detail", "varchar(255)", "NULL DEFAULT NULL"),
        Column(
            "updated_at",
            "timestamp(6)",
            "NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)",
        ),
    ),
    primary_key="`name`",
)

SCHEMA_TABLE = Table(
    name="workcraft_schema",
    columns=(
        Column("version", "int", "NOT NULL"),
        Column("applied_at", "timestamp(6)", "NOT NULL DEFAULT CURRENT_TIMESTAMP(6)"),
    ),
    primary_key="`version`",
)

TABLES = (
    PEON,
    BOUNTYBOARD,
    LOGS,
    SCHEDULES,
    QUEUES,
    CONCURRENCY_KEYS,
    TASK_TOTALS,
    THROUGHPUT,
    JANITOR_STATE,
    SCHEMA_TABLE,
)

# Constraints of the original workcraft that contradict this contract: the foreign key from
# bountyboard.worker_id to peon.id (blocks widening ids, and deleting peons) and a check that
# forbade retry_limit <= 1 with retries on.
SEED_CHECKS_TO_DROP = ("chk_retry_limit", "chk_retry_consistency")


def drop_tables_ddl() -> list[str]:
    """Reverse order: bountyboard before peon (the original schema had a foreign key)."""
    return [f"DROP TABLE IF EXISTS `{table.name}`" for table in reversed(TABLES)]


def drop_foreign_key_statements(table_name: str, foreign_keys: list[str]) -> list[str]:
    """The original schema's foreign keys; dropped on every table before any column changes
    (MODIFY of peon.id fails while bountyboard still references it)."""
    return [
        f"ALTER TABLE `{table_name}` DROP FOREIGN KEY {quote_identifier(name)}"
        for name in foreign_keys
    ]
