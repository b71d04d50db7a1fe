"""The peers on the same server, same N, same worker count: Huey (SQL storage) and Celery 5
(kombu's SQLAlchemy transport and SQLAlchemy result backend), each in a database of its own.

How it is timed, the same for both: enqueue N no-op tasks first (the enqueue rate is
reported too), then start the workers; each task returns ``time.time()``, which the peer
stores in its own result store (the analogue of workcraft writing each outcome). The bench
polls the result store until N results are there, then reads them back:
jobs/s = (N - 1) / (last task's clock - first task's clock), so worker start-up is not
counted, as with workcraft's ``max(finished_at) - min(started_at)``.

The comparison is bracketed like the baselines: a workcraft drain (4 peons x concurrency 8:
the same 4 worker processes; at WARNING, as quiet as the peers) runs just before and just
after each peer, same N, and the peer's ratio uses their mean.

Workers: Huey's consumer with 4 worker processes (``-k process``), 0.05 s minimum poll
delay and no backoff; Celery's worker with ``--concurrency 4`` (prefork) and the transport's
polling interval set to 0.05 s. Both use PyMySQL (pure Python; mysqlclient needs the MySQL
client headers to build).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import mysql.connector

from bench import db, drain
from bench.context import Context
from tests.support.procs import ProcGroup, child_env
from tests.support.sql import Sql
from tests.support.waiting import wait_until
from workcraft.db import DBConfig

HUEY_DATABASE = "wkbench_huey"
CELERY_DATABASE = "wkbench_celery"
WORKCRAFT_DATABASE = "wkbench_peers_workcraft"
WORKCRAFT_REFERENCE = (4, 8)  # peons, concurrency
# The peers run quiet (Huey with -q, Celery at WARNING: neither logs a line per task), so the
# workcraft reference does too: the same logging work on every side.
REFERENCE_LOG_LEVEL = "WARNING"
POLL_RESULTS = 0.2
HUEY_WORKER_TYPE = "process"


def _url(config: DBConfig, scheme: str) -> str:
    auth = quote(config.user, safe="")
    if config.password:
        auth += ":" + quote(config.password, safe="")
    return f"{scheme}://{auth}@{config.host}:{config.port}/{config.database}"


def _count(config: DBConfig, statement: str) -> int:
    try:
        with Sql(config) as sql:
            return sql.count(statement)
    except mysql.connector.Error as exc:
        if exc.errno == 1146:  # the result table is made with the first result
            return 0
        raise


def _wait_for_results(
    group: ProcGroup, config: DBConfig, statement: str, expected: int, timeout: float
) -> None:
    """Until ``expected`` results are stored; a worker that exits first raises ProcFailed."""

    def done() -> bool:
        group.check_alive()
        return _count(config, statement) >= expected

    wait_until(
        done,
        timeout,
        lambda: f"{expected} results (only {_count(config, statement)} so far)",
        interval=POLL_RESULTS,
    )


def _drain_result(
    name: str, clocks: list[float], enqueue_s: float, **fields: Any
) -> dict[str, Any]:
    span = max(clocks) - min(clocks)
    count = len(clocks)
    return {
        "system": name,
        **fields,
        "tasks": count,
        "enqueue_per_s": round(count / enqueue_s, 1),
        "seconds": round(span, 3),
        "jobs_per_s": round((count - 1) / span, 1) if span > 0 else None,
    }


def _timeout(count: int) -> float:
    return 120 + count / 20


def run_huey(ctx: Context) -> dict[str, Any]:
    count, workers = ctx.sizes.drain_tasks, ctx.sizes.peer_workers
    with db.plain_database(HUEY_DATABASE) as config:
        url = _url(config, "mysql")
        os.environ["WKBENCH_HUEY_URL"] = url
        module = importlib.import_module("bench.peer_huey")  # connects, creates its tables
        huey = module.huey
        huey.storage.create_tables()  # again, in case the module was imported before
        try:
            started = time.perf_counter()
            for _ in range(count):
                module.noop()
            enqueue_s = time.perf_counter() - started
            huey.storage.close()
            consumer = str(Path(sys.executable).parent / "huey_consumer")
            args = [consumer, "bench.peer_huey.huey", "-w", str(workers), "-k", HUEY_WORKER_TYPE]
            args += ["-d", "0.05", "-m", "0.05", "-b", "1.0", "-C", "-q"]
            with ctx.processes("huey") as group:
                group.start(args, name="huey-consumer", env=child_env(WKBENCH_HUEY_URL=url))
                _wait_for_results(group, config, "SELECT COUNT(*) FROM kv", count, _timeout(count))
            items = huey.storage.result_items()
            clocks = [float(huey.serializer.deserialize(value)) for value in items.values()]
        finally:
            huey.storage.close()
    result = _drain_result("huey", clocks, enqueue_s, workers=workers, worker_type=HUEY_WORKER_TYPE)
    ctx.note(f"huey, {workers} worker processes: {result['jobs_per_s']} jobs/s")
    return result


CELERY_DONE_SQL = "SELECT COUNT(*) FROM celery_taskmeta WHERE status = 'SUCCESS'"


def _celery_clocks(config: DBConfig) -> list[float]:
    conn = db.connect(config)
    try:
        cur = conn.cursor()
        cur.execute("SELECT result FROM celery_taskmeta WHERE status = 'SUCCESS'")
        clocks = [float(json.loads(bytes(row[0]))) for row in cur.fetchall()]
        cur.close()
    finally:
        conn.close()
    return clocks


def run_celery(ctx: Context) -> dict[str, Any]:
    count, workers = ctx.sizes.drain_tasks, ctx.sizes.peer_workers
    with db.plain_database(CELERY_DATABASE) as config:
        url = _url(config, "mysql+pymysql")
        env_vars = {"WKBENCH_CELERY_BROKER": "sqla+" + url, "WKBENCH_CELERY_BACKEND": "db+" + url}
        os.environ.update(env_vars)
        module = importlib.import_module("bench.peer_celery")
        try:
            started = time.perf_counter()
            for _ in range(count):
                module.noop.apply_async()
            enqueue_s = time.perf_counter() - started
            args = [sys.executable, "-m", "celery", "-A", "bench.peer_celery", "worker"]
            args += ["--concurrency", str(workers), "--pool", "prefork", "--loglevel", "WARNING"]
            args += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
            with ctx.processes("celery") as group:
                group.start(args, name="celery-worker", env=child_env(**env_vars))
                _wait_for_results(group, config, CELERY_DONE_SQL, count, _timeout(count))
            clocks = _celery_clocks(config)
        finally:
            _close_celery(module.app)
    result = _drain_result("celery", clocks, enqueue_s, workers=workers, worker_type="prefork")
    ctx.note(f"celery, concurrency {workers}: {result['jobs_per_s']} jobs/s")
    return result


def _close_celery(app: Any) -> None:
    """Give the connections back, so dropping the database is not blocked."""
    with contextlib.suppress(Exception):
        app.pool.force_close_all()
    with contextlib.suppress(Exception):
        app.backend.ResultSession().get_bind().dispose()
    with contextlib.suppress(Exception):
        from kombu.transport.sqlalchemy import Channel

        for engine, _session in Channel._engines.values():
            engine.dispose()


def run(ctx: Context) -> dict[str, Any]:
    results: dict[str, Any] = {}
    references: list[dict[str, Any]] = []
    with db.workcraft_database(WORKCRAFT_DATABASE) as config:

        def reference() -> None:
            peons, concurrency = WORKCRAFT_REFERENCE
            references.append(
                drain.run_workcraft(ctx, config, peons, concurrency, log_level=REFERENCE_LOG_LEVEL)
            )

        reference()
        for name, runner in (("huey", run_huey), ("celery", run_celery)):
            try:
                results[name] = runner(ctx)
            except Exception as exc:  # report why, never a made-up number
                ctx.note(f"[red]{name} could not be measured: {type(exc).__name__}: {exc}[/]")
                results[name] = {"system": name, "error": f"{type(exc).__name__}: {exc}"}
                continue
            reference()
            around = statistics.fmean(item["jobs_per_s"] for item in references[-2:])
            peer = results[name]
            peer["workcraft_around_jobs_per_s"] = round(around, 1)
            if peer["jobs_per_s"]:
                peer["workcraft_ratio"] = round(around / peer["jobs_per_s"], 2)
    return {"peers": results, "workcraft_reference": references}
