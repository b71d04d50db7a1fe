"""Enqueue rate: ``send_task_sync`` one at a time, ``send_tasks_sync`` in batches of 1,000,
and a raw ``executemany`` of 1,000 rows per commit into the same table (the baseline).

The raw baseline builds the same rows (a time-ordered 36-character id, the task name, the
queue, a JSON payload) inside the timed loop, as a producer has to. The bulk variants are
timed batch by batch, interleaved (raw, library, library, raw, ...), so the shared
machine's bursts of load fall on both alike; the ratio is the median of the per-pair ratios.
"""

from __future__ import annotations

import json
import os
import statistics
import time
import uuid
from typing import Any

from bench import db
from bench.apps import app
from bench.context import Context
from workcraft.db import DBConfig
from workcraft.payload import TaskSpec

DATABASE = "wkbench_enqueue"
RAW_INSERT_SQL = (
    "INSERT INTO bountyboard (id, task_name, queue, payload, retry_on_failure, retry_limit) "
    "VALUES (%s, %s, %s, %s, %s, %s)"
)


def _ordered_id() -> str:
    """UUIDv7-like: milliseconds first, so inserts append to the primary key."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    return str(uuid.UUID(int=(ms << 80) | (0x7 << 76) | (rand & ((1 << 76) - 1))))


def _raw_rows(first: int, count: int) -> list[tuple[Any, ...]]:
    return [
        (_ordered_id(), "noop", "DEFAULT", json.dumps({"task_args": [i]}), 0, 3)
        for i in range(first, first + count)
    ]


def raw_batch(conn: Any, first: int, count: int) -> float:
    """One raw batch: build the rows, one multi-row INSERT, one COMMIT."""
    cur = conn.cursor()
    try:
        started = time.perf_counter()
        rows = _raw_rows(first, count)
        cur.execute("START TRANSACTION")
        cur.executemany(RAW_INSERT_SQL, rows)
        cur.execute("COMMIT")
        return time.perf_counter() - started
    finally:
        cur.close()


def library_batch(config: DBConfig, first: int, count: int) -> float:
    """One ``send_tasks_sync`` call of ``count`` tasks (one batch, one transaction)."""
    started = time.perf_counter()
    specs = [TaskSpec("noop", [i]) for i in range(first, first + count)]
    app.send_tasks_sync(specs, db_config=config, batch_size=count)
    return time.perf_counter() - started


def library_single(config: DBConfig, count: int) -> float:
    started = time.perf_counter()
    for i in range(count):
        app.send_task_sync("noop", [i], db_config=config)
    return time.perf_counter() - started


def _rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1)


def bulk_pairs(config: DBConfig, total: int, batch: int) -> tuple[list[float], list[float]]:
    """Seconds per batch for (raw, library), interleaved: the order swaps every pair."""
    raw: list[float] = []
    lib: list[float] = []
    conn = db.connect(config)
    try:
        for number, first in enumerate(range(0, total, batch)):
            count = min(batch, total - first)
            if number % 2:
                lib.append(library_batch(config, first, count))
                raw.append(raw_batch(conn, first, count))
            else:
                raw.append(raw_batch(conn, first, count))
                lib.append(library_batch(config, first, count))
    finally:
        conn.close()
    return raw, lib


def run(ctx: Context) -> dict[str, Any]:
    sizes = ctx.sizes
    bulk, batch, single = sizes.enqueue_bulk, sizes.enqueue_batch, sizes.enqueue_single
    with db.workcraft_database(DATABASE) as config:
        # Warm-up: connection set-up and max_allowed_packet lookup happen once per process.
        app.send_task_sync("noop", db_config=config)
        raw, lib = bulk_pairs(config, bulk, batch)
        db.reset_workcraft_tables(config)
        one = library_single(config, single)
        app.close()
    raw_rate, lib_rate = _rate(bulk, sum(raw)), _rate(bulk, sum(lib))
    pair_ratios = [r / li for r, li in zip(raw, lib, strict=True)]
    result = {
        "bulk_tasks": bulk,
        "batch": batch,
        "single_tasks": single,
        "raw_executemany_per_s": raw_rate,
        "send_tasks_sync_per_s": lib_rate,
        "send_task_sync_per_s": _rate(single, one),
        "send_tasks_sync_ratio": round(statistics.median(pair_ratios), 3),
        "send_tasks_sync_ratio_of_totals": round(lib_rate / raw_rate, 3),
        "send_task_sync_ratio": round(_rate(single, one) / raw_rate, 4),
        "batch_ms": {
            "raw_p50": round(statistics.median(raw) * 1000, 2),
            "send_tasks_sync_p50": round(statistics.median(lib) * 1000, 2),
        },
    }
    ctx.note(
        f"enqueue: raw executemany {raw_rate:.0f}/s, send_tasks_sync {lib_rate:.0f}/s "
        f"(median pair ratio {result['send_tasks_sync_ratio']:.2f}), "
        f"send_task_sync {result['send_task_sync_per_s']:.0f}/s"
    )
    return result
