"""Claim latency against a growing backlog: one claim transaction as the peon runs it (its
``Exchange.swap`` with nothing to complete, for a registered peon row): the claim
(``claim_most_urgent``: the most urgent due rows, SKIP LOCKED), the peon row's new state
(which also proves ownership), marking the rows RUNNING, COMMIT -- a peon's pass with
nothing to complete. With 1k, 100k and 1M PENDING rows, with 1M finished (SUCCESS) rows
next to 1k PENDING, and with 1M PENDING rows scheduled for later (``run_at`` in a year)
next to 1k due ones. Reported as p50/p99 and as a ratio to the 1k case.

Each case has a database of its own (``wkbench_backlog_<case>``), loaded up front with
multi-row INSERTs of 5,000 rows per statement (ids and created_at ascending, as enqueues
make them; finished rows older than the pending ones). Then the claims run round-robin over
the cases, one claim per case per round in rotating order, so the machine's noise and the
claims' own effect (every claim leaves a delete-marked index entry that the next claims skip
until purge removes it) fall on every case alike.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
import uuid
from typing import Any

from bench import db
from bench.context import Context
from bench.stats import summary_ms
from workcraft.data import Store
from workcraft.data.queries import statement
from workcraft.db import DBConfig
from workcraft.peon.exchange import Exchange

DATABASE = "wkbench_backlog"
ROWS_PER_STATEMENT = 5_000
WARMUP_CLAIMS = 20
# After a bulk load the server is still flushing and purging; a backlog that built up in
# production would have settled. Wait a little before timing claims.
SETTLE_SECONDS = 5.0
TASK_NAME = "noop"
QUEUE = "DEFAULT"
BASE_TIME = dt.datetime(2025, 1, 1)
PAYLOAD = '{"task_args": [], "task_kwargs": {}}'
PENDING_INSERT = (
    "INSERT INTO bountyboard (id, task_name, queue, payload, created_at) "
    "VALUES (%s, %s, %s, %s, %s)"
)
SCHEDULED_INSERT = (
    "INSERT INTO bountyboard (id, task_name, queue, payload, created_at, run_at) "
    "VALUES (%s, %s, %s, %s, %s, %s)"
)
# Scheduled rows are due a year after "now": never claimable during the run.
LATER = dt.timedelta(days=365)
FINISHED_INSERT = (
    "INSERT INTO bountyboard (id, task_name, queue, payload, created_at, status, result, "
    "worker_id, attempt, started_at, finished_at) "
    "VALUES (%s, %s, %s, %s, %s, 'SUCCESS', 'null', 'bench-old-peon', 1, %s, %s)"
)


class Loader:
    """Appends rows whose ids and created_at keep ascending across calls."""

    def __init__(self, config: DBConfig) -> None:
        self.config = config
        self.seq = 0

    def _row_keys(self, count: int) -> list[tuple[str, dt.datetime]]:
        keys = []
        for _ in range(count):
            self.seq += 1
            created = BASE_TIME + dt.timedelta(microseconds=self.seq * 100)
            keys.append((str(uuid.UUID(int=self.seq)), created))
        return keys

    def add(self, count: int, finished: bool = False, scheduled: bool = False) -> float:
        """Insert ``count`` rows (PENDING and due, finished, or PENDING and due a year from
        now); returns the seconds it took."""
        started = time.perf_counter()
        conn = db.connect(self.config)
        cur = conn.cursor()
        try:
            for offset in range(0, count, ROWS_PER_STATEMENT):
                keys = self._row_keys(min(ROWS_PER_STATEMENT, count - offset))
                if finished:
                    later = dt.timedelta(milliseconds=1)
                    rows: list[tuple[Any, ...]] = [
                        (key, TASK_NAME, QUEUE, PAYLOAD, at, at + later, at + 2 * later)
                        for key, at in keys
                    ]
                    cur.executemany(FINISHED_INSERT, rows)  # one multi-row INSERT
                elif scheduled:
                    later = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) + LATER
                    rows = [(key, TASK_NAME, QUEUE, PAYLOAD, at, later) for key, at in keys]
                    cur.executemany(SCHEDULED_INSERT, rows)
                else:
                    rows = [(key, TASK_NAME, QUEUE, PAYLOAD, at) for key, at in keys]
                    cur.executemany(PENDING_INSERT, rows)
        finally:
            cur.close()
            conn.close()
        return time.perf_counter() - started


class Claimer:
    """A registered peon row and the peon's own claim transaction (``Exchange``), one task
    at a time."""

    def __init__(self, config: DBConfig) -> None:
        self.store = Store(config, name="bench-claim")
        self.worker_id = "bench-backlog-peon"
        self.session = str(uuid.uuid4())
        self.store.call(
            lambda q: q.peons.register(
                peon_id=self.worker_id,
                session=self.session,
                queues=[QUEUE],
                hostname="bench",
                pid=0,
                concurrency=1,
            )
        )
        self.exchange = Exchange(self.store, self.worker_id, [QUEUE], [TASK_NAME])

    def claim(self) -> float:
        started = time.perf_counter()
        result = self.exchange.swap(self.session, [], [], 1)
        elapsed = time.perf_counter() - started
        if result.identity_lost:
            raise RuntimeError("the bench's peon row is gone")
        if len(result.claimed) != 1:
            raise RuntimeError("the claim found nothing to claim")
        return elapsed

    def close(self) -> None:
        self.store.close()


def explain_claim(config: DBConfig) -> dict[str, Any]:
    """The plan of the claim (which index, how many rows the optimizer expects); like the
    tests' EXPLAIN checks, it takes the statement's text from the data layer by name."""
    sql = statement("claim_most_urgent", names=1, keys=1)
    conn = db.connect(config)
    try:
        cur = conn.cursor(dictionary=True)
        cur.execute("EXPLAIN " + sql, (QUEUE, QUEUE, None, TASK_NAME, "", 1))
        row = cur.fetchall()[0]
        cur.close()
    finally:
        conn.close()
    return {"key": row.get("key"), "rows": row.get("rows"), "extra": row.get("Extra")}


def _status_counts(config: DBConfig) -> dict[str, int]:
    conn = db.connect(config)
    try:
        cur = conn.cursor()
        cur.execute("SELECT status, COUNT(*) FROM bountyboard GROUP BY status")
        counts = {str(status): int(n) for status, n in cur.fetchall()}
        cur.close()
    finally:
        conn.close()
    return counts


def _short(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 else f"{n // 1_000}k"


def _cases(ctx: Context) -> list[tuple[str, int, int, int]]:
    """(label, pending, finished, scheduled later) per case; the first is the reference."""
    pending = ctx.sizes.backlog_pending
    cases = [(f"{_short(n)} PENDING", n, 0, 0) for n in pending]
    finished = ctx.sizes.backlog_finished
    label = f"{_short(pending[0])} PENDING + {_short(finished)} SUCCESS"
    cases.append((label, pending[0], finished, 0))
    scheduled = ctx.sizes.backlog_scheduled
    label = f"{_short(pending[0])} PENDING + {_short(scheduled)} scheduled later"
    cases.append((label, pending[0], 0, scheduled))
    return cases


def _sample_round_robin(claimers: list[Claimer], rounds: int) -> list[list[float]]:
    samples: list[list[float]] = [[] for _ in claimers]
    for round_number in range(rounds):
        for offset in range(len(claimers)):
            index = (round_number + offset) % len(claimers)
            samples[index].append(claimers[index].claim())
    return samples


def run(ctx: Context) -> dict[str, Any]:
    cases = _cases(ctx)
    loaded: list[tuple[DBConfig, float]] = []
    with contextlib.ExitStack() as stack:
        for number, (label, pending, finished, scheduled) in enumerate(cases):
            config = stack.enter_context(db.workcraft_database(f"{DATABASE}_{number}"))
            loader = Loader(config)
            seconds = loader.add(finished, finished=True) if finished else 0.0
            seconds += loader.add(scheduled, scheduled=True) if scheduled else 0.0
            seconds += loader.add(pending)
            ctx.note(f"backlog: loaded {label} in {seconds:.1f} s")
            loaded.append((config, seconds))
        time.sleep(SETTLE_SECONDS)
        claimers = [Claimer(config) for config, _ in loaded]
        for claimer in claimers:
            stack.callback(claimer.close)
        _sample_round_robin(claimers, WARMUP_CLAIMS)
        samples = _sample_round_robin(claimers, ctx.sizes.backlog_samples)
        results: list[dict[str, Any]] = []
        for (label, *_), (config, seconds), times in zip(cases, loaded, samples, strict=True):
            results.append(
                {
                    "case": label,
                    "rows": _status_counts(config),
                    "load_seconds": round(seconds, 1),
                    **summary_ms(times),
                    "plan": explain_claim(config),
                }
            )
    reference = results[0]
    for result in results:
        result["p50_ratio"] = round(result["p50_ms"] / reference["p50_ms"], 3)
        result["p99_ratio"] = round(result["p99_ms"] / reference["p99_ms"], 3)
        ctx.note(
            f"claim latency, {result['case']}: p50 {result['p50_ms']:.2f} ms "
            f"({result['p50_ratio']:.2f}x), p99 {result['p99_ms']:.2f} ms"
        )
    return {"samples": ctx.sizes.backlog_samples, "cases": results}
