"""The dashboard at a million rows: how long the overview page, ``workcraft status --json``
(its snapshot) and ``/metrics`` take with 1M tasks in ``bountyboard``; target < 200 ms each.

The rows are made by the server (``tests.support.bulk``: ``INSERT ... SELECT`` over a cross
join of digits, 100,000 per statement) in the mix of a busy system: 5% PENDING (a fifth
delayed), 0.1% RUNNING, 4% FAILURE (half waiting for a retry), 1% INVALID, 1% CANCELLED,
the rest SUCCESS, created over the last day across 20 task names and 4 queues; 8 live
peons and a janitor leader. The janitor's counters sweep runs once (as a leader would have
all along), so the finished totals and the throughput chart have their counter rows.

Then a real ``workcraft web`` process answers HTTP requests: the median (and p90) of
``dashboard_samples`` requests of each page after a few warm-up ones. The status snapshot
is timed in process: what ``status --json`` does once connected (board, JSON), without
Python's start-up. The task list's first page, a filtered page and a search in the
arguments are timed too, for the record. Last, a quarter of the rows turn PENDING again
(a backlog beyond the board's count cap, counted the bounded way) and the three targeted
answers are timed once more.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
import time
import urllib.request
from collections.abc import Callable
from typing import Any

from bench import db
from bench.context import Context
from bench.stats import percentile
from tests.support.bulk import insert_tasks
from tests.support.settings import DEFAULTS, write_settings
from tests.support.sql import Sql
from tests.support.web import start_web
from workcraft.config.settings import Settings
from workcraft.data import Store
from workcraft.janitor.totals import CountFinished
from workcraft.views.board import snapshot

DATABASE = "wkbench_dashboard"
WARMUP = 3
TARGET_MS = 200.0
PEONS = 8
PAGES = {
    "overview": "/",
    "metrics": "/metrics",
    "tasks, first page": "/tasks",
    "tasks, filtered by name": "/tasks?name=task_3&status=SUCCESS",
    "tasks, text in arguments": "/tasks?q=item-4242",
}
TARGETED = ("overview", "status --json", "metrics")


def _arrange(config: Any, rows: int, ctx: Context) -> float:
    """Load the rows, peons and leader; count the finished runs once. Seconds to load."""
    started = time.perf_counter()
    with Sql(config) as sql:
        insert_tasks(sql, rows, span=dt.timedelta(days=1))
        loaded = time.perf_counter() - started
        for n in range(PEONS):
            sql.run(
                "INSERT INTO peon (id, status, last_heartbeat, queues, hostname, pid,"
                " concurrency, tasks, started_at) VALUES (%s, 'WORKING', NOW(6), %s,"
                " 'bench', %s, 8, '[]', NOW(6))",
                (f"peon-{n}", json.dumps([f"queue_{n % 4}"]), 1000 + n),
            )
        sql.run(
            "INSERT INTO janitor_state (name, holder, at, detail)"
            " VALUES ('leader', 'bench-janitor', NOW(6), 'named lock')"
        )
    ctx.note(f"dashboard: loaded {rows:,} rows in {loaded:.1f} s")
    counting = time.perf_counter()
    with Store(config, name="bench") as store:
        CountFinished(store, Settings()).run_once()
    ctx.note(f"dashboard: first count of finished runs took {time.perf_counter() - counting:.1f} s")
    return loaded


def _timed(action: Callable[[], Any], samples: int) -> dict[str, float]:
    for _ in range(WARMUP):
        action()
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return {
        "n": samples,
        "median_ms": round(statistics.median(times), 1),
        "p90_ms": round(percentile(times, 90), 1),
        "max_ms": round(max(times), 1),
    }


def _get(url: str) -> Callable[[], None]:
    def fetch() -> None:
        with urllib.request.urlopen(url, timeout=30) as answer:
            answer.read()
            if answer.status != 200:
                raise RuntimeError(f"{url}: HTTP {answer.status}")

    return fetch


def _grow_backlog(config: Any, pending: int) -> None:
    """The newest ``pending`` SUCCESS rows become PENDING again: a backlog beyond the
    board's count cap (100,000), as after an outage of every peon."""
    with Sql(config) as sql:
        sql.run(
            "UPDATE bountyboard SET status = 'PENDING', worker_id = NULL, started_at = NULL,"
            " finished_at = NULL, result = NULL, run_at = created_at"
            " WHERE status = 'SUCCESS' ORDER BY created_at DESC LIMIT %s",
            (pending,),
        )
        sql.run("ANALYZE TABLE bountyboard")


def _time_case(
    store: Store, server_url: str, samples: int, pages: dict[str, str], suffix: str = ""
) -> dict[str, dict[str, float]]:
    def status_json() -> None:
        json.dumps(snapshot(store, Settings()).as_dict(), ensure_ascii=False)

    timings = {"status --json" + suffix: _timed(status_json, samples)}
    for name, path in pages.items():
        timings[name + suffix] = _timed(_get(server_url + path), samples)
    return timings


def run(ctx: Context) -> dict[str, Any]:
    rows = ctx.sizes.dashboard_rows
    samples = ctx.sizes.dashboard_samples
    backlog = rows // 4
    suffix = f", {backlog:,} PENDING"
    targeted = [*TARGETED, *(name + suffix for name in TARGETED)]
    with db.workcraft_database(DATABASE) as config:
        load_seconds = _arrange(config, rows, ctx)
        settings_file = write_settings(ctx.workdir / "dashboard", DEFAULTS)
        with (
            ctx.processes("dashboard", config) as group,
            Store(config, name="bench-status") as store,
        ):
            server = start_web(group, f"--config={settings_file}", timeout=60)
            timings = _time_case(store, server.url, samples, PAGES)
            _grow_backlog(config, backlog)
            ctx.note(f"dashboard: {backlog:,} SUCCESS rows made PENDING again")
            hot = {name: PAGES[name] for name in TARGETED if name in PAGES}
            timings.update(_time_case(store, server.url, samples, hot, suffix))
    for name, timing in timings.items():
        ctx.note(f"dashboard at {rows:,} rows, {name}: median {timing['median_ms']:.1f} ms")
    return {
        "rows": rows,
        "load_seconds": round(load_seconds, 1),
        "target_ms": TARGET_MS,
        "targeted": targeted,
        "timings": timings,
    }
