"""Pickup latency of an idle peon: from just before ``send_task_sync`` to the moment the task
function starts (the ``clock`` task returns ``time.time()`` at its start).

An idle peon polls every DB_POLLING_INTERVAL from the moment it finished its last claim, so
the latency depends on where in that cycle a task arrives. Arrivals are spread evenly over
the cycle (stratified: sample i arrives at phase (i + 0.5) / n of the interval, in shuffled
order, counted from the previous task's ``finished_at``, when the peon's idle wait began):
the same expectation as random arrivals, without the +-70 ms sampling noise a random median
of 50 has at a 1 s interval. Expect p50 ~ interval / 2 + the pickup work.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from typing import Any

from bench import db
from bench.apps import app
from bench.context import Context, peon_flags
from bench.stats import summary_ms
from tests.support.settings import DEFAULTS, write_settings
from tests.support.waiting import wait_until
from workcraft.data import Store
from workcraft.db import DBConfig

DATABASE = "wkbench_latency"
HEARTBEAT = 5.0


def _epoch(value: dt.datetime) -> float:
    """Naive DATETIME(6) from a +00:00 session, as Unix seconds."""
    return value.replace(tzinfo=dt.timezone.utc).timestamp()


def _peon_idle(config: DBConfig, worker_id: str) -> bool:
    with Store(config, name="bench") as store:
        row = store.call(lambda q: q.peons.get(worker_id))
    return row is not None and row.status == "IDLE"


def _one_sample(config: DBConfig, send_at: float, timeout: float) -> tuple[float, float, float]:
    """Send at ``send_at``. Returns the latency, the part of it after the claim statement
    (commit + hand-over to a worker thread), and the task's ``finished_at`` (Unix s)."""
    delay = send_at - time.time()
    if delay > 0:
        time.sleep(delay)
    sent = time.time()
    task_id = app.send_task_sync("clock", db_config=config)
    task = app.wait_for_task_sync(task_id, db_config=config, timeout=timeout, poll_interval=0.005)
    if task.status.value != "SUCCESS" or task.finished_at is None or task.started_at is None:
        raise RuntimeError(f"clock task ended {task.status}: {task.result!r}")
    began = float(task.result)
    return began - sent, began - _epoch(task.started_at), _epoch(task.finished_at)


def measure(ctx: Context, config: DBConfig, interval: float) -> dict[str, Any]:
    samples = ctx.sizes.latency_samples
    settings = write_settings(
        ctx.workdir,
        DEFAULTS,
        name=f"latency-{interval:g}",
        DB_POLLING_INTERVAL=interval,
        DB_PEON_HEARTBEAT_INTERVAL=HEARTBEAT,
    )
    worker_id = f"bench-latency-{interval:g}"
    phases = [(i + 0.5) / samples * interval for i in range(samples)]
    random.Random(samples).shuffle(phases)
    latencies: list[float] = []
    after_claim: list[float] = []
    with ctx.processes(f"latency-{interval:g}", config) as group:
        group.peon(worker_id, *peon_flags(settings, log_level=ctx.peon_log_level), name="peon")
        wait_until(lambda: _peon_idle(config, worker_id), 30, "the peon to be IDLE")
        # Warm-up: the first claim connects and loads; it also gives the first cycle start.
        _, _, cycle_start = _one_sample(config, time.time(), 30)
        for phase in phases:
            # The peon's idle wait began when it wrote the last outcome (same transaction as
            # its empty claim); its polls fall at cycle_start + k * interval.
            send_at = cycle_start + phase
            while send_at < time.time() + 0.002:
                send_at += interval
            latency, handover, cycle_start = _one_sample(config, send_at, 30 + interval)
            latencies.append(latency)
            after_claim.append(handover)
        group.check_alive()
    app.close()
    result = {"polling_interval": interval, **summary_ms(latencies)}
    result["claim_to_start_p50_ms"] = summary_ms(after_claim)["p50_ms"]
    result["target_p50_ms"] = round(interval * 1000 / 2 + 10, 1)
    ctx.note(
        f"pickup latency at {interval:g} s polling: p50 {result['p50_ms']:.1f} ms, "
        f"p99 {result['p99_ms']:.1f} ms "
        f"(claim to start p50 {result['claim_to_start_p50_ms']:.1f} ms)"
    )
    return result


def measure_delayed(ctx: Context, config: DBConfig, interval: float) -> dict[str, Any]:
    """Delayed tasks (``run_at``) due at moments spread over a few polling cycles: how long
    after its ``run_at`` each one started. An idle peon sees a due task at its next poll, so
    the bound is one polling interval plus the pickup work."""
    samples = ctx.sizes.delayed_samples
    settings = write_settings(
        ctx.workdir,
        DEFAULTS,
        name=f"delayed-{interval:g}",
        DB_POLLING_INTERVAL=interval,
        DB_PEON_HEARTBEAT_INTERVAL=HEARTBEAT,
    )
    worker_id = f"bench-delayed-{interval:g}"
    lateness: list[float] = []
    with ctx.processes(f"delayed-{interval:g}", config) as group:
        group.peon(worker_id, *peon_flags(settings, log_level=ctx.peon_log_level), name="peon")
        wait_until(lambda: _peon_idle(config, worker_id), 30, "the peon to be IDLE")
        first = time.time() + 2
        # Due moments 0.37 intervals apart: every phase of the peon's polling cycle is hit.
        due = [first + i * 0.37 * interval for i in range(samples)]
        ids = [
            app.send_task_sync(
                "clock",
                run_at=dt.datetime.fromtimestamp(at, dt.timezone.utc),
                db_config=config,
            )
            for at in due
        ]
        for task_id, at in zip(ids, due, strict=True):
            task = app.wait_for_task_sync(task_id, db_config=config, timeout=60)
            if task.status.value != "SUCCESS":
                raise RuntimeError(f"delayed clock task ended {task.status}: {task.result!r}")
            lateness.append(float(task.result) - at)
        group.check_alive()
    app.close()
    if min(lateness) < 0:
        raise RuntimeError(f"a delayed task started {-min(lateness):.3f} s before its run_at")
    result = {"polling_interval": interval, **summary_ms(lateness)}
    result["max_ms"] = round(max(lateness) * 1000, 1)
    result["bound_ms"] = round(interval * 1000 + 50, 1)
    ctx.note(
        f"delayed pickup at {interval:g} s polling: started after run_at by p50 "
        f"{result['p50_ms']:.1f} ms, max {result['max_ms']:.1f} ms (bound: one interval)"
    )
    return result


def run(ctx: Context) -> dict[str, Any]:
    with db.workcraft_database(DATABASE) as config:
        cases = [measure(ctx, config, interval) for interval in ctx.sizes.latency_intervals]
        delayed = [measure_delayed(ctx, config, interval) for interval in (1.0,)]
    return {"heartbeat": HEARTBEAT, "cases": cases, "delayed": delayed}
