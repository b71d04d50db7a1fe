"""``GET /metrics`` (Prometheus text format) and ``GET /healthz``.

A custom collector with a registry of its own: each scrape reads one board snapshot (the
same bounded queries as the overview; finished runs come from the janitor's ``task_totals``
counters, never from counting the table) and turns it into metric families. Nothing is kept
between scrapes, so any number of dashboards can serve ``/metrics`` and agree.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Iterable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from workcraft.config.settings import Settings
from workcraft.errors import WorkcraftError
from workcraft.models import PeonStatus
from workcraft.views.board import Board, snapshot
from workcraft.web.context import web_of
from workcraft.web.stores import StorePool

log = logging.getLogger("workcraft.web")
LIVE_PEON_STATUSES = tuple(s.value for s in PeonStatus if s is not PeonStatus.OFFLINE)


def families(board: Board) -> list[Metric]:
    """Every metric family of one snapshot."""
    tasks = GaugeMetricFamily(
        "workcraft_tasks",
        "Tasks PENDING or RUNNING now, and FAILUREs waiting for a retry (status RETRYING). "
        f"Each status counts at most {board.cap} tasks.",
        labels=["queue", "task_name", "status"],
    )
    for row in board.live:
        tasks.add_metric([row["queue"], row["task_name"], row["status"]], int(row["n"]))
    for row in board.waiting_retry:
        tasks.add_metric([row["queue"], row["task_name"], "RETRYING"], int(row["n"]))
    finished = CounterMetricFamily(
        "workcraft_tasks_finished",
        "Final outcomes of runs, by status, as counted by the janitor leader (task_totals); "
        "a failure that will be retried is not one.",
        labels=["queue", "task_name", "status"],
    )
    for row in board.totals:
        finished.add_metric([row["queue"], row["task_name"], row["status"]], int(row["total"]))
    oldest = GaugeMetricFamily(
        "workcraft_queue_oldest_due_seconds",
        "How long the oldest due PENDING task of the queue has waited (0: none waits).",
        labels=["queue"],
    )
    paused = GaugeMetricFamily(
        "workcraft_queue_paused", "1 if the queue is paused, else 0.", labels=["queue"]
    )
    for queue in board.queues:
        oldest.add_metric([queue.name], queue.oldest_due_age_s or 0.0)
        paused.add_metric([queue.name], 1.0 if queue.paused else 0.0)
    peons = GaugeMetricFamily(
        "workcraft_peons",
        "Live peons (not OFFLINE, heartbeat within the dead-peon threshold) by status.",
        labels=["status"],
    )
    by_status = collections.Counter(p["status"] for p in board.live_peons())
    for status in LIVE_PEON_STATUSES:
        peons.add_metric([status], by_status.get(status, 0))
    leader = board.leader
    present = GaugeMetricFamily(
        "workcraft_janitor_leader_present",
        "1 if a janitor leader renewed its lease recently (within 3 leader retry intervals).",
        value=1.0 if leader and leader["present"] else 0.0,
    )
    result: list[Metric] = [tasks, finished, oldest, paused, peons, present]
    if leader is not None:
        result.append(
            GaugeMetricFamily(
                "workcraft_janitor_leader_seen_seconds",
                "Seconds since the janitor leader last said it leads.",
                value=float(leader["seen_age_s"]),
            )
        )
    duration = GaugeMetricFamily(
        "workcraft_sweep_duration_seconds",
        "How long the last run of each janitor sweep took.",
        labels=["sweep"],
    )
    last_run = GaugeMetricFamily(
        "workcraft_sweep_last_run_seconds",
        "Seconds since each janitor sweep last ran.",
        labels=["sweep"],
    )
    for sweep in board.sweeps:
        if sweep["duration_s"] is not None:
            duration.add_metric([sweep["sweep"]], float(sweep["duration_s"]))
        last_run.add_metric([sweep["sweep"]], float(sweep["age_s"]))
    return [*result, duration, last_run]


class BoardCollector(Collector):
    def __init__(self, stores: StorePool, settings: Settings) -> None:
        self.stores = stores
        self.settings = settings

    def describe(self) -> Iterable[Metric]:
        return []  # registering must not read the database

    def collect(self) -> Iterable[Metric]:
        with self.stores.borrow() as store:
            board = snapshot(store, self.settings, log_lines=0)
        return families(board)


def registry_for(stores: StorePool, settings: Settings) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(BoardCollector(stores, settings))
    return registry


def metrics(request: Request) -> Response:
    web = web_of(request)
    try:
        body = generate_latest(web.registry)
    except WorkcraftError as exc:
        log.warning("web: /metrics: %s", exc)
        return PlainTextResponse(f"# workcraft: database unavailable: {exc}\n", 503)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


async def healthz(request: Request) -> Response:
    """Open to anyone (no auth), so it says nothing but whether the database answers."""
    web = web_of(request)

    def check() -> None:
        with web.stores.borrow() as store:
            store.call(lambda q: q.schema.tables_present())

    try:
        await run_in_threadpool(check)
    except WorkcraftError as exc:
        log.warning("web: /healthz: %s", exc)
        return PlainTextResponse("database unavailable\n", 503)
    return PlainTextResponse("ok\n")
