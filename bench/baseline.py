"""The plain-SQL baselines: the same claim and complete transactions, without a library.

Two processes (``multiprocessing``, fork) on plain mysql.connector connections (the C
extension when it loads, as workcraft uses), READ COMMITTED like workcraft's sessions:

* (a) claim one: ``START TRANSACTION; SELECT id ... LIMIT 1 FOR UPDATE SKIP LOCKED;
  UPDATE ... SET status='RUNNING' ...; COMMIT``, then complete it with one autocommit
  ``UPDATE ... SET status='SUCCESS', result='null' ...`` (two commits per task);
* (b) claim ten the same way, then complete the ten in one transaction (one UPDATE per
  task, as every task has its own result: two commits per ten tasks).

The drain is timed from the table like workcraft's (first ``started_at`` to last
``finished_at``), so process start-up is excluded on both sides.
"""

from __future__ import annotations

import multiprocessing
import os

from bench import db
from workcraft.db import DBConfig

CLAIM_SQL = (
    "SELECT id FROM bountyboard WHERE status = 'PENDING' AND queue = 'DEFAULT' "
    "ORDER BY created_at LIMIT %s FOR UPDATE SKIP LOCKED"
)
MARK_SQL = (
    "UPDATE bountyboard SET status = 'RUNNING', worker_id = %s, attempt = attempt + 1, "
    "started_at = NOW(6) WHERE id IN ({ids})"
)
COMPLETE_SQL = (
    "UPDATE bountyboard SET status = 'SUCCESS', result = 'null', finished_at = NOW(6) WHERE id = %s"
)


def _placeholders(count: int) -> str:
    return ", ".join(["%s"] * count)


def claim_and_complete(config: DBConfig, batch: int) -> int:
    """One baseline worker: claim ``batch`` rows at a time until none is left."""
    conn = db.connect(config)
    cur = conn.cursor()
    worker = f"baseline-{os.getpid()}"
    done = 0
    try:
        while True:
            cur.execute("START TRANSACTION")
            cur.execute(CLAIM_SQL, (batch,))
            ids = [row[0] for row in cur.fetchall()]
            if not ids:
                cur.execute("COMMIT")
                return done
            cur.execute(MARK_SQL.format(ids=_placeholders(len(ids))), (worker, *ids))
            cur.execute("COMMIT")
            # The no-op task runs here.
            if len(ids) == 1:
                cur.execute(COMPLETE_SQL, (ids[0],))  # autocommit: one statement, one commit
            else:
                cur.execute("START TRANSACTION")
                for task_id in ids:
                    cur.execute(COMPLETE_SQL, (task_id,))
                cur.execute("COMMIT")
            done += len(ids)
    finally:
        cur.close()
        conn.close()


def _worker(config: DBConfig, batch: int) -> None:
    claim_and_complete(config, batch)


def drain(config: DBConfig, batch: int, processes: int, timeout: float) -> None:
    """Run ``processes`` baseline workers until the table holds nothing PENDING."""
    context = multiprocessing.get_context("fork")  # keeps the C extension loaded (no re-import)
    workers = [
        context.Process(target=_worker, args=(config, batch), name=f"baseline-{n}")
        for n in range(processes)
    ]
    try:
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout)
            if worker.is_alive():
                raise TimeoutError(f"baseline worker still running after {timeout:.0f} s")
            if worker.exitcode != 0:
                raise RuntimeError(f"baseline worker exited with {worker.exitcode}")
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
                worker.join(5)
            if worker.is_alive():
                worker.kill()
                worker.join()
