"""Idle cost of a peon: queries per second and resident memory while there is no work.

Measured on a private server started for this benchmark, with the peon and the bench's one
observer connection as its only clients, so ``SHOW GLOBAL STATUS LIKE 'Questions'`` counts
nothing else (on the shared server other sessions send thousands of queries per second).
The observer's own reads are calibrated and subtracted. The server's general log (to a
table) names the statements the peon sent in the window.
Expected with DB_POLLING_INTERVAL 1 and a 5 s heartbeat: one probe per poll plus one
heartbeat per 5 s = 1.2 queries/s.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from bench import db
from bench.context import Context, peon_flags
from tests.support.private_server import ServerUnavailable, throwaway_server
from tests.support.settings import DEFAULTS, write_settings
from tests.support.waiting import wait_until
from workcraft.data import Store
from workcraft.data.migrate import setup_database_tables
from workcraft.db import DBConfig

DATABASE = "wkbench_idle"
POLLING_INTERVAL = 1.0
HEARTBEAT = 5.0
# The heartbeat thread opens its connection at its first beat, one interval after start:
# wait past it so the window shows the steady state, not that one-time connection set-up.
SETTLE_SECONDS = HEARTBEAT + 1.0
WORKER_ID = "bench-idle-peon"


class Observer:
    """The bench's one connection: reads the global Questions counter."""

    def __init__(self, config: DBConfig) -> None:
        self.conn = db.connect(config)
        self.cur = self.conn.cursor()

    def questions(self) -> int:
        self.cur.execute("SHOW GLOBAL STATUS LIKE 'Questions'")
        return int(self.cur.fetchall()[0][1])

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        self.cur.execute(sql)
        return [tuple(row) for row in self.cur.fetchall()]

    def close(self) -> None:
        self.cur.close()
        self.conn.close()


def _peon_idle(config: DBConfig) -> bool:
    with Store(config, name="bench") as store:
        row = store.call(lambda q: q.peons.get(WORKER_ID))
    return row is not None and row.status == "IDLE"


def _statement_kinds(observer: Observer) -> dict[str, int]:
    """What the peon's connections sent during the window, by first words."""
    rows = observer.rows(
        "SELECT argument FROM mysql.general_log "
        "WHERE command_type = 'Query' AND thread_id <> CONNECTION_ID()"
    )
    kinds: dict[str, int] = {}
    for (argument,) in rows:
        text = argument.decode() if isinstance(argument, bytes) else str(argument)
        key = " ".join(text.split()[:4])
        kinds[key] = kinds.get(key, 0) + 1
    return dict(sorted(kinds.items(), key=lambda item: -item[1]))


def measure(ctx: Context, config: DBConfig) -> dict[str, Any]:
    setup_database_tables(config, drop_tables=True)
    settings = write_settings(
        ctx.workdir,
        DEFAULTS,
        name="idle",
        DB_POLLING_INTERVAL=POLLING_INTERVAL,
        DB_PEON_HEARTBEAT_INTERVAL=HEARTBEAT,
    )
    observer = Observer(config)
    try:
        before = observer.questions()
        own_cost = observer.questions() - before  # what one read adds to the counter
        with ctx.processes("idle", config) as group:
            flags = peon_flags(settings, log_level=ctx.peon_log_level)
            peon = group.peon(WORKER_ID, *flags, name="peon")
            wait_until(lambda: _peon_idle(config), 30, "the idle peon to be IDLE")
            time.sleep(SETTLE_SECONDS)
            clients = observer.rows(
                "SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                "WHERE COMMAND <> 'Daemon' AND USER <> 'system user'"
            )[0][0]
            observer.rows("TRUNCATE mysql.general_log")
            observer.rows("SET GLOBAL log_output = 'TABLE', general_log = 1")
            started = time.monotonic()
            first = observer.questions()
            time.sleep(ctx.sizes.idle_seconds)
            last = observer.questions()
            elapsed = time.monotonic() - started
            observer.rows("SET GLOBAL general_log = 0")
            rss = peon.rss_kib()
            group.check_alive()
        kinds = _statement_kinds(observer)
    finally:
        observer.close()
    peon_queries = last - first - own_cost
    expected = 1 / POLLING_INTERVAL + 1 / HEARTBEAT
    result = {
        "polling_interval": POLLING_INTERVAL,
        "heartbeat": HEARTBEAT,
        "window_s": round(elapsed, 2),
        "clients_connected": int(clients),
        "peon_queries": peon_queries,
        "queries_per_s": round(peon_queries / elapsed, 3),
        "expected_per_s": round(expected, 3),
        # One poll or one heartbeat more can fall inside the window at either edge.
        "allowed_queries": round(expected * elapsed) + 2,
        "statements": kinds,
        "rss_mib": round(rss / 1024, 1) if rss is not None else None,
    }
    ctx.note(
        f"idle peon: {result['queries_per_s']:.2f} queries/s "
        f"(expected {expected:.2f}), RSS {result['rss_mib']} MiB"
    )
    return result


def run(ctx: Context) -> dict[str, Any]:
    try:
        with throwaway_server() as server:
            return measure(ctx, dataclasses.replace(server, database=DATABASE))
    except ServerUnavailable as exc:
        ctx.note(f"idle benchmark skipped: {exc}")
        return {"skipped": str(exc)}
