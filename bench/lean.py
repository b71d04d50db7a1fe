"""The physical-limit baseline: the fastest correct plain-SQL loop for the same job on this
server, on a lean table (one claim index, nothing else), at the server's default isolation,
with 2 processes. It is what a peon is measured against: what the server can do, not what
workcraft's own schema allows.

(a) claim 1: ``SELECT id ... ORDER BY priority, created_at LIMIT 1 FOR UPDATE SKIP LOCKED;
UPDATE -> RUNNING; COMMIT``, then ``UPDATE -> SUCCESS (result); COMMIT`` (two commits a job).
(b) claim 10: the same with LIMIT 10, one UPDATE ... IN (...) to RUNNING, and the ten results
written in one transaction (two commits per ten jobs).

Timed from a common start to the last worker's end (the workers connect and wait first),
like ``shared/tools/raw_limit.py``, whose figures it matches on this machine.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from typing import Any

import mysql.connector

from bench import db
from workcraft.db import DBConfig
from workcraft.ids import new_task_id

TABLE_DDL = """CREATE TABLE jobs (
  id CHAR(36) PRIMARY KEY,
  status ENUM('PENDING','RUNNING','SUCCESS','FAILURE') NOT NULL DEFAULT 'PENDING',
  queue VARCHAR(255) NOT NULL DEFAULT 'DEFAULT',
  task_name VARCHAR(255) NOT NULL,
  priority INT NOT NULL DEFAULT 0,
  payload JSON,
  result JSON,
  worker_id VARCHAR(64),
  created_at TIMESTAMP(6) DEFAULT CURRENT_TIMESTAMP(6),
  updated_at TIMESTAMP(6) DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  KEY claim (status, queue, priority, created_at)
) ENGINE=InnoDB"""
INSERT = "INSERT INTO jobs (id, task_name, payload) VALUES (%s, 'noop', %s)"
CLAIM = (
    "SELECT id FROM jobs WHERE status = 'PENDING' AND queue = 'DEFAULT' "
    "ORDER BY priority, created_at LIMIT {n} FOR UPDATE SKIP LOCKED"
)
MARK = "UPDATE jobs SET status = 'RUNNING', worker_id = %s WHERE id IN ({ids})"
DONE = "UPDATE jobs SET status = 'SUCCESS', result = %s WHERE id = %s"
PROBE = "SELECT 1 FROM jobs WHERE status = 'PENDING' AND queue = 'DEFAULT' LIMIT 1"
RETRY_ERRNOS = (1205, 1213)  # lock wait timeout, deadlock: try again


def _connect(config: DBConfig) -> Any:
    """A plain connection at the server's defaults (isolation included), no autocommit."""
    kwargs = config.connect_kwargs()
    kwargs["use_pure"] = not db.C_EXTENSION
    kwargs["autocommit"] = False
    return mysql.connector.connect(**kwargs)


def prepare(config: DBConfig, count: int) -> None:
    """A fresh ``jobs`` table holding ``count`` PENDING no-op jobs."""
    conn = _connect(config)
    try:
        cur = conn.cursor()
        cur.execute("DROP TABLE IF EXISTS jobs")
        cur.execute(TABLE_DDL)
        payload = json.dumps({"task_args": [], "task_kwargs": {}})
        for start in range(0, count, 1000):
            rows = [(new_task_id(), payload) for _ in range(min(1000, count - start))]
            cur.executemany(INSERT, rows)
            conn.commit()
        cur.execute("ANALYZE TABLE jobs")
        cur.fetchall()
        conn.commit()
    finally:
        conn.close()


def _work(config: DBConfig, batch: int, start: Any, done: Any) -> None:
    conn = _connect(config)
    cur = conn.cursor()
    worker = f"lean-{os.getpid()}"
    claim = CLAIM.format(n=batch)
    result = json.dumps(None)
    finished = 0
    start.wait()
    while True:
        try:
            cur.execute(claim)
            ids = [row[0] for row in cur.fetchall()]
            if not ids:
                conn.commit()
                cur.execute(PROBE)  # others may hold the last rows: stop only when none left
                more = cur.fetchall()
                conn.commit()
                if not more:
                    break
                continue
            cur.execute(MARK.format(ids=", ".join(["%s"] * len(ids))), (worker, *ids))
            conn.commit()
            # ---- the no-op task runs here ----
            for job_id in ids:
                cur.execute(DONE, (result, job_id))
            conn.commit()
            finished += len(ids)
        except mysql.connector.Error as exc:
            if exc.errno not in RETRY_ERRNOS:
                raise
            conn.rollback()
    conn.close()
    done.put((finished, time.monotonic()))


def drain(config: DBConfig, count: int, batch: int, processes: int = 2) -> dict[str, Any]:
    """Claim and complete ``count`` jobs with ``processes`` workers; jobs/s."""
    prepare(config, count)
    context = multiprocessing.get_context("fork")
    start, done = context.Event(), context.Queue()
    workers = [
        context.Process(target=_work, args=(config, batch, start, done), name=f"lean-{n}")
        for n in range(processes)
    ]
    for worker in workers:
        worker.start()
    time.sleep(0.5)  # let every worker connect before the clock starts
    began = time.monotonic()
    start.set()
    results = [done.get(timeout=600) for _ in workers]
    for worker in workers:
        worker.join(30)
        if worker.is_alive():
            worker.kill()
    finished = sum(count for count, _ in results)
    elapsed = max(ended for _, ended in results) - began
    if finished != count:
        raise RuntimeError(f"lean baseline: {finished} of {count} jobs done")
    return {
        "label": f"lean claim {batch}",
        "system": "lean",
        "batch": batch,
        "processes": processes,
        "tasks": finished,
        "seconds": round(elapsed, 3),
        "jobs_per_s": round(finished / elapsed, 1),
    }
