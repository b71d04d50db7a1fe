"""Many task rows at once, made by the server (``INSERT ... SELECT`` over a cross join of
digits, no Python loop): for EXPLAIN tests that need a table the optimizer takes seriously,
and for the dashboard benchmark's million rows.

The mix, per 1,000 consecutive numbers: 50 PENDING (every fifth delayed by an hour), 1
RUNNING, 40 FAILURE (half of them waiting for a retry), 10 INVALID, 10 CANCELLED, the rest
SUCCESS; 20 task names over 4 queues; created over the ``span`` before now, oldest first,
finished a second after they were created.
"""

from __future__ import annotations

import datetime as dt

from tests.support.sql import Sql

CHUNK = 100_000
DIGITS = (
    "(SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL "
    "SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 "
    "UNION ALL SELECT 9)"
)
NUMBERS = (
    "SELECT d1.d + 10 * d2.d + 100 * d3.d + 1000 * d4.d + 10000 * d5.d AS n FROM "
    + ", ".join(f"{DIGITS} d{i}" for i in range(1, 6))
)  # 0 .. 99,999
STATUS = (
    "CASE WHEN n % 1000 < 50 THEN 'PENDING' WHEN n % 1000 = 50 THEN 'RUNNING'"
    " WHEN n % 1000 <= 90 THEN 'FAILURE' WHEN n % 1000 <= 100 THEN 'INVALID'"
    " WHEN n % 1000 <= 110 THEN 'CANCELLED' ELSE 'SUCCESS' END"
)
INSERT = f"""
INSERT INTO bountyboard (id, status, task_name, queue, payload, result, worker_id,
                         retry_on_failure, attempt, created_at, run_at, started_at, finished_at)
SELECT CONCAT(LPAD(HEX(n), 8, '0'), '-0000-7000-8000-', LPAD(HEX(n), 12, '0')),
       status, CONCAT('task_', n % 20), CONCAT('queue_', n % 4),
       CONCAT('{{"task_args": ["item-', n, '"], "task_kwargs": {{}}}}'),
       IF(status IN ('PENDING', 'RUNNING'), NULL, 'null'),
       IF(status = 'PENDING', NULL, CONCAT('peon-', n % 8)),
       IF(status = 'FAILURE' AND n % 2 = 0, 1, 0),
       IF(status = 'PENDING', 0, 1),
       created, IF(status = 'PENDING' AND n % 5 = 0, %(now)s + INTERVAL 1 HOUR, created),
       IF(status = 'PENDING', NULL, created), IF(status IN ('PENDING', 'RUNNING'), NULL,
       created + INTERVAL 1 SECOND)
FROM (
  SELECT n, {STATUS} AS status,
         %(start)s + INTERVAL FLOOR(n * %(step_us)s) MICROSECOND AS created
  FROM (SELECT numbers.n + %(offset)s AS n FROM ({NUMBERS}) numbers
        WHERE numbers.n < %(size)s) chunk
) rows_to_add
"""


def insert_tasks(sql: Sql, count: int, span: dt.timedelta = dt.timedelta(days=1)) -> None:
    """``count`` rows in the mix above, in statements of at most 100,000 rows."""
    now = sql.value("SELECT NOW(6)")
    start = now - span - dt.timedelta(seconds=5)  # every row finished before now
    step_us = span.total_seconds() * 1e6 / max(count, 1)
    for offset in range(0, count, CHUNK):
        size = min(CHUNK, count - offset)
        params = {"now": now, "start": start, "step_us": step_us, "offset": offset, "size": size}
        sql.run(INSERT, params)
    sql.run("ANALYZE TABLE bountyboard")
