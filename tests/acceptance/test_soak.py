"""The soak: 10 minutes of steady work under random faults (``make soak``; skipped unless
``--soak`` is given). 4 peons (concurrency 4) and 2 janitors on a private server, a producer
sending ~200 tasks/s (short, failing-then-succeeding, slow, async), and every ~20 s one fault
drawn at random: ``kill -9`` of a peon, ``kill -9`` of the janitor leader, SIGSTOP/SIGCONT of
a peon past the dead threshold, a database restart. Killed processes are started again, as a
supervisor would.

It reports (a ``FIGURES`` line and a table on stdout, for ``docs/reliability.md``): tasks
sent / succeeded / lost (must be 0) / run more than once (only tasks running at a fault may
be), each long-lived process's RSS after warm-up and at the end (growth <= 10%), server
connections at the start and the end (no leak), and how long dead peons took to be noticed.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.private_server import PrivateServer
from tests.support.procs import Proc, ProcGroup, rss_kib
from tests.support.settings import write_settings
from tests.support.sql import Sql
from tests.support.waiting import wait_until
from workcraft.core import Workcraft
from workcraft.data import RetryPolicy
from workcraft.data.migrate import setup_database_tables
from workcraft.db import DBConfig

pytestmark = pytest.mark.soak

SOAK_APP = "tests.soak_apps.tasks.app"
DURATION = float(os.environ.get("WORKCRAFT_SOAK_SECONDS", "600"))
WARM_UP = min(60.0, DURATION / 5)
RSS_SPAN = min(120.0, DURATION / 4)  # the least time between a process's two RSS readings
FAULT_EVERY = 20.0
RATE = 200  # tasks a second
DEAD_AFTER = 6.0
SETTINGS: dict[str, float] = {
    "DB_POLLING_INTERVAL": 0.2,
    "DB_PEON_HEARTBEAT_INTERVAL": 1,
    "DB_SETUP_WAIT_TIME_BEFORE_WORKER_DECLARED_DEAD": DEAD_AFTER,
    "DB_SETUP_CHECK_DEAD_WORKER_INTERVAL": 1,
    "DB_SETUP_RUN_SELF_CORRECT_TASK_INTERVAL": 2,
    "DB_SETUP_RUN_REOPEN_FAILED_TASK_INTERVAL": 1,
    "DB_SETUP_BACKOFF_MULTIPLIER_SECONDS": 1,
    "DB_SETUP_BACKOFF_MAX_SECONDS": 4,
    "JANITOR_LEADER_RETRY_INTERVAL": 1,
    "JANITOR_SESSION_TIMEOUT": 5,
    "PEON_SHUTDOWN_GRACE_SECONDS": 10,
}
RUNS_DDL = (
    "CREATE TABLE IF NOT EXISTS soak_runs (id BIGINT AUTO_INCREMENT PRIMARY KEY,"
    " task_id CHAR(36) NOT NULL, attempt INT NOT NULL, pid INT NOT NULL, started DOUBLE NOT NULL,"
    " KEY ix_soak_task (task_id))"
)


@dataclasses.dataclass
class Fault:
    kind: str
    target: str
    pid: int | None
    at: float  # wall clock
    ended: float  # when the process came back / the server answered again


@dataclasses.dataclass
class Fleet:
    """The processes of the soak, restarted when a fault ends one."""

    group: ProcGroup
    procs: dict[str, Proc] = dataclasses.field(default_factory=dict)
    started: dict[int, float] = dataclasses.field(default_factory=dict)  # pid -> monotonic
    restarts: int = 0

    def start(self, name: str) -> Proc:
        if name.startswith("peon"):
            proc = self.group.peon(name, "--concurrency=4", app=SOAK_APP, name=name)
        else:
            proc = self.group.janitor(name)
        self.procs[name] = proc
        self.started[proc.pid] = time.monotonic()
        return proc

    def replace_dead(self) -> None:
        for name, proc in list(self.procs.items()):
            if not proc.alive():
                self.restarts += 1
                self.start(name)


class Producer(threading.Thread):
    """~RATE tasks a second in small batches, riding out database restarts."""

    def __init__(self, config: DBConfig) -> None:
        super().__init__(name="soak-producer", daemon=True)
        self.config = config
        self.app = Workcraft(retry=RetryPolicy(give_up_after=60))
        self.stop = threading.Event()
        self.sent: list[str] = []
        self.errors: list[str] = []

    def run(self) -> None:
        rng = random.Random(7)
        # A load the fleet can carry with a peon down: 16 slots; slow tasks (1-3 s) at 1%
        # hold ~4 of them, naps (50 ms) ~1.5. (At 5% slow they alone needed 20 slots, and
        # a 10-minute run ended with a backlog it could not drain.)
        kinds = ["short"] * 74 + ["flaky"] * 10 + ["slow"] * 1 + ["nap"] * 15
        while not self.stop.is_set():
            started = time.monotonic()
            batch = []
            for _ in range(RATE // 10):
                kind = rng.choice(kinds)
                spec: dict[str, Any] = {"task_name": kind}
                if kind == "flaky":
                    spec["retry_on_failure"] = True
                batch.append(spec)
            try:
                self.sent += self.app.send_tasks_sync(batch, db_config=self.config)
            except Exception as exc:  # recorded: a producer that could not send is a finding
                self.errors.append(f"{type(exc).__name__}: {exc}")
            self.stop.wait(max(0.0, 0.1 - (time.monotonic() - started)))
        self.app.close()


def leader_name(sql: Sql) -> str | None:
    holder = sql.value("SELECT holder FROM janitor_state WHERE name = 'leader'")
    return None if holder is None else str(holder)


def connections(sql: Sql) -> int:
    row = sql.rows("SHOW GLOBAL STATUS LIKE 'Threads_connected'")
    return int(row[0]["Value"])


def test_soak(
    private_server: PrivateServer,
    proc_groups: Callable[..., ProcGroup],
    tmp_path: Path,
) -> None:
    config = private_server.config("workcraft")
    setup_database_tables(config)
    sql = Sql(config, reconnect_for=60)
    sql.run(RUNS_DDL)
    write_settings(tmp_path, SETTINGS)
    fleet = Fleet(proc_groups(config, app=SOAK_APP, log_format="plain", grace=20.0))
    names = [f"peon-{n}" for n in range(4)] + ["janitor-a", "janitor-b"]
    for name in names:
        fleet.start(name)
    wait_until(
        lambda: sql.count("SELECT COUNT(*) FROM peon WHERE status <> 'OFFLINE'") >= 4,
        60,
        "4 live peons",
        fleet.group.describe,
    )
    producer = Producer(config)
    producer.start()
    rng = random.Random(11)
    faults: list[Fault] = []
    # Each process's RSS once it has run for the warm-up (replacements too), then at the end.
    rss_start: dict[int, tuple[str, int, float]] = {}
    connections_start = 0
    began = time.monotonic()
    next_fault = began + WARM_UP
    dead_lags: list[float] = []
    try:
        while time.monotonic() - began < DURATION:
            time.sleep(0.5)
            fleet.replace_dead()
            now = time.monotonic()
            if not connections_start and now - began >= WARM_UP:
                connections_start = connections(sql)
            for name, proc in fleet.procs.items():
                if proc.pid not in rss_start and now - fleet.started[proc.pid] >= WARM_UP:
                    kib = rss_kib(proc.pid)
                    if kib:
                        rss_start[proc.pid] = (name, kib, now)
            if time.monotonic() < next_fault:
                continue
            next_fault = time.monotonic() + FAULT_EVERY * rng.uniform(0.75, 1.25)
            faults.append(
                inject(
                    rng.choice(["peon", "leader", "freeze", "restart"]),
                    fleet,
                    sql,
                    private_server,
                    rng,
                    dead_lags,
                )
            )
        ended = time.monotonic()
        # Compared: processes alive at the end that were measured at least RSS_SPAN earlier.
        rss_end = {
            pid: rss_kib(pid) for pid, (_, _, at) in rss_start.items() if ended - at >= RSS_SPAN
        }
        connections_end = connections(sql)
    finally:
        producer.stop.set()
        producer.join(60)
    wait_until(
        lambda: sql.count("SELECT COUNT(*) FROM bountyboard WHERE status NOT IN ('SUCCESS')") == 0,
        180,
        "every task to succeed",
        lambda: str(sql.rows("SELECT status, COUNT(*) n FROM bountyboard GROUP BY status")),
        interval=1,
    )
    report = check(
        sql,
        producer,
        faults,
        rss_start,
        rss_end,
        connections_start,
        connections_end,
        dead_lags,
        fleet,
    )
    print("FIGURES soak " + json.dumps(report, sort_keys=True))
    assert report["lost"] == 0, report
    assert report["unexplained_duplicates"] == [], report
    assert not producer.errors, producer.errors[:5]
    assert report["rss_growth"], "no process lived long enough to compare its RSS"
    for pid, growth in report["rss_growth"].items():
        assert growth <= 0.10, (pid, growth, report)
    assert connections_end <= connections_start + 4, report


def inject(
    kind: str,
    fleet: Fleet,
    sql: Sql,
    server: PrivateServer,
    rng: random.Random,
    dead_lags: list[float],
) -> Fault:
    now = time.time()
    if kind == "restart":
        server.restart(down_for=2)
        return Fault("restart", "server", None, now, time.time())
    if kind == "leader":
        holder = leader_name(sql) or ""
        target = next(
            (n for n in fleet.procs if n.startswith("janitor") and n in holder), "janitor-a"
        )
        proc = fleet.procs[target]
        pid = proc.pid
        proc.kill9()
        return Fault("kill -9 leader", target, pid, now, time.time())
    target = rng.choice([n for n in fleet.procs if n.startswith("peon")])
    proc = fleet.procs[target]
    pid = proc.pid
    worker_id = target
    if kind == "peon":
        proc.kill9()
    else:
        proc.freeze()
        time.sleep(DEAD_AFTER + 3)
        proc.thaw()
    killed_at = time.monotonic()
    if kind == "peon":
        try:
            wait_until(
                lambda: (
                    sql.value("SELECT status FROM peon WHERE id = %s", (worker_id,)) == "OFFLINE"
                ),
                DEAD_AFTER + 15,
                "the killed peon declared dead",
            )
            dead_lags.append(time.monotonic() - killed_at)
        except AssertionError:
            dead_lags.append(float("inf"))
    label = "kill -9 peon" if kind == "peon" else "SIGSTOP peon past the dead threshold"
    return Fault(label, target, pid, now, time.time())


def check(
    sql: Sql,
    producer: Producer,
    faults: list[Fault],
    rss_start: dict[int, tuple[str, int, float]],
    rss_end: dict[int, int | None],
    connections_start: int,
    connections_end: int,
    dead_lags: list[float],
    fleet: Fleet,
) -> dict[str, Any]:
    sent = set(producer.sent)
    succeeded = sql.ids("SELECT id FROM bountyboard WHERE status = 'SUCCESS'")
    flaky = sql.ids("SELECT id FROM bountyboard WHERE task_name = 'flaky'")
    runs: dict[str, list[tuple[int, float]]] = {}
    for row in sql.rows("SELECT task_id, pid, started FROM soak_runs ORDER BY started"):
        runs.setdefault(str(row["task_id"]), []).append((int(row["pid"]), float(row["started"])))
    duplicates = {
        task_id: rows
        for task_id, rows in runs.items()
        if len(rows) > (2 if task_id in flaky else 1)
    }
    unexplained = [
        task_id
        for task_id, rows in duplicates.items()
        if not any(explained(pid, started, faults) for pid, started in rows[:-1])
    ]
    growth = {
        f"{name} ({pid})": round((rss_end[pid] or 0) / kib - 1, 3)
        for pid, (name, kib, _) in rss_start.items()
        if rss_end.get(pid)  # alive at the end: killed ones are replaced, not compared
    }
    return {
        "seconds": DURATION,
        "sent": len(sent),
        "succeeded": len(sent & succeeded),
        "lost": len(sent - succeeded),
        "run_more_than_once": len(duplicates),
        "unexplained_duplicates": unexplained,
        "faults": [f"{f.kind}:{f.target}" for f in faults],
        "restarts_by_supervisor": fleet.restarts,
        "rss_start_kib": {f"{name} ({pid})": kib for pid, (name, kib, _) in rss_start.items()},
        "rss_growth": growth,
        "connections": [connections_start, connections_end],
        "dead_peon_noticed_after_s": [round(lag, 1) for lag in dead_lags],
        "producer_errors": len(producer.errors),
    }


def explained(pid: int, started: float, faults: list[Fault]) -> bool:
    """A run cut short by a fault: its process was killed or frozen after it started, or
    the server restarted while it ran."""
    for fault in faults:
        if fault.pid == pid and fault.at >= started:
            return True
        if fault.kind == "restart" and fault.at >= started - 5:
            return True
    return False
