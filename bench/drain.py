"""Drain throughput: N no-op tasks, enqueued first, then drained by burst peons.

jobs/s = N / (max(finished_at) - min(started_at)), read from the table, so process start-up
is not counted. Each workcraft configuration (1, 2, 4 peons x concurrency 1 and 8) is
bracketed by runs of the plain-SQL baseline it is compared with, one just before and one
just after it, and its ratio uses the mean of those two (the machine is shared: load comes
and goes, and a baseline measured minutes earlier would compare unlike conditions).

The peons run with ``--log-level WARNING`` (``--peon-log-level``): like the baselines and
the peers (Huey ``-q``, Celery ``--loglevel WARNING``) they then write no line per task.
Two extra runs at the CLI's default INFO (two lines per task) show what that logging costs;
they are reported beside the matrix, not used for the targets. The workers' CPU time per
task (children's rusage, start-up included) says how much of the 2 cores the client side
takes away from the server.
"""

from __future__ import annotations

import resource
import statistics
from typing import Any

from bench import baseline, db
from bench.apps import app
from bench.context import Context, peon_flags
from tests.support.settings import DEFAULTS, write_settings
from workcraft.db import DBConfig
from workcraft.payload import TaskSpec

DATABASE = "wkbench_drain"
POLLING_INTERVAL = 0.05
DEFAULT_CLI_LOG_LEVEL = "INFO"


def enqueue_noops(config: DBConfig, count: int) -> None:
    app.send_tasks_sync([TaskSpec("noop")] * count, db_config=config)
    app.close()


def _timeout(count: int) -> float:
    return 120 + count / 50


def _children_cpu() -> float:
    """CPU seconds (user + system) of every child reaped so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _result(
    label: str, stats: db.DrainStats, expected: int, cpu_s: float, **fields: Any
) -> dict[str, Any]:
    if stats.succeeded != expected:
        raise RuntimeError(f"{label}: {stats.succeeded} of {expected} tasks succeeded")
    return {
        "label": label,
        **fields,
        "tasks": stats.succeeded,
        "seconds": round(stats.seconds, 3),
        "jobs_per_s": round(stats.jobs_per_second, 1),
        # Where the client side's time goes: the workers' CPU (start-up included) per task.
        "worker_cpu_ms_per_task": round(cpu_s * 1000 / expected, 3),
    }


def run_baseline(ctx: Context, config: DBConfig, batch: int) -> dict[str, Any]:
    count = ctx.sizes.drain_tasks
    processes = ctx.sizes.baseline_processes
    db.reset_workcraft_tables(config)
    enqueue_noops(config, count)
    cpu = _children_cpu()
    baseline.drain(config, batch, processes, _timeout(count))
    result = _result(
        f"baseline ({'a' if batch == 1 else 'b'}) claim {batch}",
        db.drain_stats(config),
        count,
        _children_cpu() - cpu,
        system="baseline",
        batch=batch,
        processes=processes,
    )
    ctx.note(
        f"drain {result['label']}, {processes} processes: {result['jobs_per_s']:.0f} jobs/s, "
        f"{result['worker_cpu_ms_per_task']:.2f} ms CPU/task"
    )
    return result


def run_workcraft(
    ctx: Context, config: DBConfig, peons: int, concurrency: int, log_level: str | None = None
) -> dict[str, Any]:
    count = ctx.sizes.drain_tasks
    log_level = log_level or ctx.peon_log_level
    db.reset_workcraft_tables(config)
    enqueue_noops(config, count)
    settings = write_settings(
        ctx.workdir, DEFAULTS, name="drain", DB_POLLING_INTERVAL=POLLING_INTERVAL
    )
    flags = peon_flags(settings, concurrency=concurrency, burst=True, log_level=log_level)
    cpu = _children_cpu()
    with ctx.processes(f"drain-{peons}x{concurrency}", config) as group:
        for n in range(peons):
            group.peon(f"bench-peon-{n}", *flags, name=f"peon-{n}")
        group.wait_all(_timeout(count))
    suffix = "" if log_level == ctx.peon_log_level else f", log {log_level}"
    result = _result(
        f"workcraft {peons} peon(s) x conc {concurrency}{suffix}",
        db.drain_stats(config),
        count,
        _children_cpu() - cpu,
        system="workcraft",
        peons=peons,
        concurrency=concurrency,
        log_level=log_level,
    )
    ctx.note(
        f"drain {result['label']}: {result['jobs_per_s']:.0f} jobs/s, "
        f"{result['worker_cpu_ms_per_task']:.2f} ms CPU/task"
    )
    return result


def _mean_rate(runs: list[dict[str, Any]]) -> float:
    return round(statistics.fmean(run["jobs_per_s"] for run in runs), 1)


def run(ctx: Context) -> dict[str, Any]:
    """Per concurrency: baseline, then each workcraft run followed by a baseline, so every
    workcraft run has a baseline just before and just after it; its ratio uses their mean."""
    sizes = ctx.sizes
    runs: list[dict[str, Any]] = []
    logging_cost: list[dict[str, Any]] = []
    baselines: dict[str, list[dict[str, Any]]] = {"a": [], "b": []}
    with db.workcraft_database(DATABASE) as config:
        for concurrency, key, batch in zip(sizes.drain_concurrency, "ab", (1, 10), strict=False):
            group = [(peons, ctx.peon_log_level) for peons in sizes.drain_peons]
            if ctx.peon_log_level != DEFAULT_CLI_LOG_LEVEL:
                peons = 2 if concurrency == 1 else max(sizes.drain_peons)
                group.append((peons, DEFAULT_CLI_LOG_LEVEL))
            baselines[key].append(run_baseline(ctx, config, batch))
            for peons, log_level in group:
                item = run_workcraft(ctx, config, peons, concurrency, log_level)
                baselines[key].append(run_baseline(ctx, config, batch))
                around = baselines[key][-2:]
                item["baseline_jobs_per_s"] = _mean_rate(around)
                item["ratio_to_baseline"] = round(item["jobs_per_s"] / _mean_rate(around), 3)
                (runs if log_level == ctx.peon_log_level else logging_cost).append(item)
    return {
        "tasks": sizes.drain_tasks,
        "polling_interval": POLLING_INTERVAL,
        "peon_log_level": ctx.peon_log_level,
        "c_extension": db.C_EXTENSION,
        "baseline_a": baselines["a"],
        "baseline_b": baselines["b"],
        "baseline_a_jobs_per_s": _mean_rate(baselines["a"]),
        "baseline_b_jobs_per_s": _mean_rate(baselines["b"]),
        "runs": runs,
        "default_log_level_runs": logging_cost,
    }
