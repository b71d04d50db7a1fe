"""Drain throughput: N no-op tasks, enqueued first, then drained by burst peons.

jobs/s = N / (max(finished_at) - min(started_at)), read from the table, so process start-up
is not counted. Every workcraft run is compared with the physical limit (``bench/lean.py``:
the fastest correct plain-SQL loop on a lean table at the server's default isolation, 2
processes), measured just before and just after it; its ratio uses the mean of those two
(the machine is shared: load comes and goes). The same loop on workcraft's own
``bountyboard`` table (``bench/baseline.py``) is reported beside it: the gap between the two
baselines is what the schema costs.

Peons run at their default settings and default log level (INFO: one line per task,
written to a file), as users run them; one extra run at WARNING shows what that logging
costs, and one run with a paused queue beside the drained one (its tasks waiting, the peons
listening to both) shows what the pause check costs a queue that is not paused. The
workers' CPU time per task (children's rusage, start-up included) says how much of
the 2 cores the client side takes away from the server.
"""

from __future__ import annotations

import resource
import statistics
from typing import Any

from bench import baseline, db, lean
from bench.apps import app
from bench.context import Context, peon_flags
from tests.support.settings import DEFAULTS, write_settings
from workcraft.db import DBConfig
from workcraft.payload import TaskSpec

DATABASE = "wkbench_drain"
LEAN_DATABASE = "wkbench_lean"
DEFAULT_CLI_LOG_LEVEL = "INFO"
QUIET_LOG_LEVEL = "WARNING"
PAUSED_QUEUE = "bench-paused"
PAUSED_QUEUE_TASKS = 1_000
TARGET_PEONS = 2  # the targets are set for 2 peons at their defaults


def enqueue_noops(config: DBConfig, count: int, paused_neighbour: bool = False) -> None:
    app.send_tasks_sync([TaskSpec("noop")] * count, db_config=config)
    if paused_neighbour:
        waiting = [TaskSpec("noop", queue=PAUSED_QUEUE)] * PAUSED_QUEUE_TASKS
        app.send_tasks_sync(waiting, db_config=config)
        app.pause_queue_sync(PAUSED_QUEUE, db_config=config)
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
    ctx: Context,
    config: DBConfig,
    peons: int,
    concurrency: int,
    log_level: str | None = None,
    paused_neighbour: bool = False,
) -> dict[str, Any]:
    count = ctx.sizes.drain_tasks
    log_level = log_level or ctx.peon_log_level
    db.reset_workcraft_tables(config)
    enqueue_noops(config, count, paused_neighbour)
    settings = write_settings(ctx.workdir, DEFAULTS, name="drain")
    flags = peon_flags(settings, concurrency=concurrency, burst=True, log_level=log_level)
    if paused_neighbour:
        flags.append(f"--queues=DEFAULT,{PAUSED_QUEUE}")
    cpu = _children_cpu()
    with ctx.processes(f"drain-{peons}x{concurrency}", config) as group:
        for n in range(peons):
            group.peon(f"bench-peon-{n}", *flags, name=f"peon-{n}")
        group.wait_all(_timeout(count))
    suffix = "" if log_level == ctx.peon_log_level else f", log {log_level}"
    if paused_neighbour:
        suffix += f", beside paused queue ({PAUSED_QUEUE_TASKS:,} waiting)"
    result = _result(
        f"workcraft {peons} peon(s) x conc {concurrency}{suffix}",
        db.drain_stats(config),
        count,
        _children_cpu() - cpu,
        system="workcraft",
        peons=peons,
        concurrency=concurrency,
        log_level=log_level,
        paused_neighbour=paused_neighbour,
    )
    ctx.note(
        f"drain {result['label']}: {result['jobs_per_s']:.0f} jobs/s, "
        f"{result['worker_cpu_ms_per_task']:.2f} ms CPU/task"
    )
    return result


def _mean_rate(runs: list[dict[str, Any]]) -> float:
    return round(statistics.fmean(run["jobs_per_s"] for run in runs), 1)


def run(ctx: Context) -> dict[str, Any]:
    """Per concurrency (1 against lean claim 1, 8 against lean claim 10): the lean baseline,
    then each workcraft run followed by another lean run, so each has one just before and
    one just after; the bountyboard baseline once beside them. The paused-queue run is a
    second 2-peon run at the default log level, read beside the plain one."""
    sizes = ctx.sizes
    count = sizes.drain_tasks
    runs: list[dict[str, Any]] = []
    logging_cost: list[dict[str, Any]] = []
    paused_cost: list[dict[str, Any]] = []
    lean_runs: dict[int, list[dict[str, Any]]] = {1: [], 10: []}
    schema_runs: dict[int, dict[str, Any]] = {}
    with db.workcraft_database(DATABASE) as config, db.plain_database(LEAN_DATABASE) as lean_db:

        def lean_run(batch: int) -> None:
            result = lean.drain(lean_db, count, batch, sizes.baseline_processes)
            ctx.note(f"drain {result['label']}: {result['jobs_per_s']:.0f} jobs/s")
            lean_runs[batch].append(result)

        for concurrency, batch in zip(sizes.drain_concurrency, (1, 10), strict=False):
            group = [(peons, ctx.peon_log_level, False) for peons in sizes.drain_peons]
            group += [(2, QUIET_LOG_LEVEL, False), (2, ctx.peon_log_level, True)]
            # The targeted run again, between the others (see Sizes.drain_repeats).
            for repeat in range(1, sizes.drain_repeats):
                group.insert(2 * repeat, (TARGET_PEONS, ctx.peon_log_level, False))
            lean_run(batch)
            schema_runs[batch] = run_baseline(ctx, config, batch)
            for peons, log_level, paused in group:
                item = run_workcraft(ctx, config, peons, concurrency, log_level, paused)
                lean_run(batch)
                around = _mean_rate(lean_runs[batch][-2:])
                item["lean_jobs_per_s"] = around
                item["ratio_to_lean"] = round(item["jobs_per_s"] / around, 3)
                if paused:
                    paused_cost.append(item)
                elif log_level == ctx.peon_log_level:
                    runs.append(item)
                else:
                    logging_cost.append(item)
    return {
        "tasks": count,
        "peon_log_level": ctx.peon_log_level,
        "c_extension": db.C_EXTENSION,
        "lean_claim_1": lean_runs[1],
        "lean_claim_10": lean_runs[10],
        "lean_claim_1_jobs_per_s": _mean_rate(lean_runs[1]) if lean_runs[1] else None,
        "lean_claim_10_jobs_per_s": _mean_rate(lean_runs[10]) if lean_runs[10] else None,
        "schema_baseline": [schema_runs[b] for b in sorted(schema_runs)],
        "runs": runs,
        "quiet_log_runs": logging_cost,
        "paused_queue_runs": paused_cost,
    }
