"""Fault scenarios: real peon and janitor processes, real signals, a real server.

1. the database restarts (twice) while 4 peons and a janitor drain 5,000 tasks;
2. the database is down when the peon and the janitor start;
3. kill storm: ``kill -9`` a random peon every ~2 s while 5,000 tasks run;
4. janitor leader kill storm: three janitors, the leader ``kill -9``-ed again and again;
5. poison pill: a task that kills its own peon (``os._exit``, segfault);
6. a long task of a heartbeating peon, and a peon frozen with SIGSTOP.

Tests that stop the server use a private MariaDB (``private_server``); the others use the
shared test database. Executions are counted in the side table ``executions`` that the
tasks of ``tests/fault_apps/tasks.py`` write to. Raw SQL goes through ``Sql`` connections
that reconnect after a server restart. Every test prints a ``FIGURES`` line (run with
``-s``) that ``docs/reliability.md`` quotes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import os
import random
import re
import signal
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.private_server import PrivateServer
from tests.support.procs import FAULT_APP, Proc, ProcGroup
from tests.support.rows import log_lines, peon_row, status_counts, task_row
from tests.support.settings import FAULT, write_settings
from tests.support.sql import Sql
from tests.support.waiting import wait_until
from workcraft.data.migrate import setup_database_tables
from workcraft.db import DBConfig

STARTUP = 40  # Python start, imports, first connection, on a busy 2-core machine
SIGTERM = signal.SIGTERM
LEADER_LINE = re.compile(r"^Janitor (\S+) became leader")
SWEEP_LINE = re.compile(r"^janitor (\S+): sweep (\S+) done in ([0-9.]+) s")

RECONNECT_FOR = 30  # how long raw SQL keeps retrying while the server is away

Spawn = Callable[[DBConfig], ProcGroup]
OpenSql = Callable[..., Sql]

EXECUTIONS_DDL = (
    "CREATE TABLE IF NOT EXISTS executions ("
    " id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,"
    " task_id CHAR(36) NOT NULL,"
    " pid INT NOT NULL,"
    " token CHAR(36) NOT NULL,"
    " started_at DATETIME(6) NOT NULL,"
    " UNIQUE KEY ux_executions_token (token),"
    " KEY ix_executions_task (task_id))"
)


# -- fixtures -----------------------------------------------------------------------------------
@pytest.fixture
def private_db(private_db: DBConfig) -> DBConfig:
    """The shared ``private_db`` (workcraft tables on the test's own server) plus the
    ``executions`` table."""
    with Sql(private_db) as sql:
        create_executions(sql)
    return private_db


@pytest.fixture
def spawn(proc_groups: Callable[..., ProcGroup]) -> Spawn:
    """``spawn(config)`` -> a group for the fault_apps tasks (plain logs, a 20 s grace at
    teardown) in ``tmp_path``; all stopped in teardown."""

    def make(config: DBConfig) -> ProcGroup:
        return proc_groups(config, app=FAULT_APP, log_format="plain", grace=20.0)

    return make


# -- rows ---------------------------------------------------------------------------------------
def create_executions(sql: Sql) -> None:
    """The side table the fault_apps tasks write one row to per execution (emptied)."""
    sql.run(EXECUTIONS_DDL)
    sql.run("DELETE FROM executions")


def enqueue_many(sql: Sql, task_name: str, count: int, *args: Any, batch: int = 500) -> list[str]:
    """``count`` plain-SQL enqueues (multi-row INSERTs); each task's first arg is its id."""
    ids = [str(uuid.uuid4()) for _ in range(count)]
    for start in range(0, count, batch):
        chunk = ids[start : start + batch]
        placeholders = ", ".join(["(%s, %s, %s)"] * len(chunk))
        params: list[Any] = []
        for task_id in chunk:
            params += [task_id, task_name, json.dumps({"task_args": [task_id, *args]})]
        sql.run(f"INSERT INTO bountyboard (id, task_name, payload) VALUES {placeholders}", params)
    return ids


def enqueue(sql: Sql, task_name: str, *args: Any) -> str:
    return enqueue_many(sql, task_name, 1, *args)[0]


def execution_counts(sql: Sql) -> dict[str, int]:
    return {
        str(row["task_id"]): int(row["n"])
        for row in sql.rows("SELECT task_id, COUNT(*) AS n FROM executions GROUP BY task_id")
    }


def executions_of(sql: Sql, task_id: str) -> int:
    return sql.count("SELECT COUNT(*) FROM executions WHERE task_id = %s", (task_id,))


def utc(timestamp: float) -> dt.datetime:
    """A ``time.time()`` value as the naive UTC datetime the ``executions`` table holds."""
    return dt.datetime.fromtimestamp(timestamp, tz=dt.timezone.utc).replace(tzinfo=None)


def tasks_started_between(sql: Sql, start: float, end: float) -> set[str]:
    """Tasks with an execution that began (task's own clock) in [start, end]."""
    rows = sql.rows(
        "SELECT DISTINCT task_id FROM executions WHERE started_at BETWEEN %s AND %s",
        (utc(start), utc(end)),
    )
    return {str(row["task_id"]) for row in rows}


def json_log_entries(text: str) -> list[dict[str, Any]]:
    """The JSON log lines of a ``--log-format json`` process (other lines are skipped)."""
    entries = []
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        with contextlib.suppress(ValueError):
            entries.append(json.loads(line))
    return entries


def parse_ts(value: str) -> float:
    return dt.datetime.fromisoformat(value).timestamp()


# -- helpers ------------------------------------------------------------------------------------
def wait_for_idle_peons(sql: Sql, procs: ProcGroup, *worker_ids: str) -> None:
    marks = ", ".join(["%s"] * len(worker_ids))
    wait_until(
        lambda: (
            sql.count(
                f"SELECT COUNT(*) FROM peon WHERE status = 'IDLE' AND id IN ({marks})", worker_ids
            )
            == len(worker_ids)
        ),
        STARTUP,
        f"peons {worker_ids} IDLE",
        procs.tails,
        interval=0.2,
    )


def leaders(sql: Sql) -> list[str]:
    """Janitor ids from the "became leader" lines of ``logs``, oldest first."""
    found = []
    for line in log_lines(sql, "Janitor % became leader%"):
        match = LEADER_LINE.match(line)
        assert match, line
        found.append(match.group(1))
    return found


def wait_for_leader(sql: Sql, procs: ProcGroup, after: int = 0) -> str:
    """The janitor id of the (after+1)-th "became leader" line, once it is written."""
    found = wait_until(
        lambda: leaders(sql)[after:] or None,
        STARTUP,
        f"a 'became leader' line number {after + 1}",
        procs.tails,
        interval=0.1,
    )
    return found[-1]


def wait_for_successes(
    sql: Sql,
    count: int,
    procs: ProcGroup,
    timeout: float,
    workers: Callable[[], list[Proc]],
    what: str = "",
) -> None:
    """Wait for ``count`` SUCCESS rows; fail at once if every peon in ``workers()`` exited."""

    def done() -> bool:
        running = [proc for proc in workers() if proc.returncode is None]
        assert running, f"every peon exited before {count} tasks were done\n{procs.tails()}"
        return sql.count("SELECT COUNT(*) FROM bountyboard WHERE status = 'SUCCESS'") >= count

    wait_until(
        done,
        timeout,
        what or f"{count} tasks SUCCESS",
        lambda: f"{status_counts(sql)}\n{log_lines(sql)[-20:]}\n{procs.tails()}",
        interval=0.2,
    )


# What a peon / a janitor logs once its signal handlers are installed.
READY_MARKS = ("ready: queues", "contending for")


def stop_and_expect_zero(procs: list[Proc], timeout: float = 30) -> None:
    """SIGTERM each process once it is up (a replacement may still be starting); all exit 0."""
    for proc in procs:
        wait_until(
            lambda proc=proc: any(mark in proc.output for mark in READY_MARKS),
            STARTUP,
            f"{proc.name} up before SIGTERM",
            proc.describe,
            interval=0.1,
        )
    for proc in procs:
        proc.send(SIGTERM)
    for proc in procs:
        assert proc.wait(timeout) == 0, proc.describe()


def figures(line: str) -> None:
    """Print a ``FIGURES`` line (``-s``); also append it to $WK_FAULT_FIGURES when set
    (pytest-xdist does not show a worker's output)."""
    print(f"\n{line}")
    path = os.environ.get("WK_FAULT_FIGURES")
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(line + "\n")


def lines_with(proc: Proc, text: str) -> list[str]:
    return [line for line in proc.output.splitlines() if text in line]


@dataclasses.dataclass
class RunFigures:
    lost: int
    duplicated: set[str]
    unexplained: set[str]  # duplicated, but not by a fault the test injected
    executions: int
    counts: dict[str, int]

    def assert_duplicates_explained(self, fault: str) -> None:
        assert self.unexplained == set(), (
            f"{len(self.unexplained)} task(s) ran more than once but were not RUNNING "
            f"{fault}: {[(t, self.counts[t]) for t in sorted(self.unexplained)[:10]]}"
        )


def check_every_task_ran(sql: Sql, ids: list[str], allowed_duplicates: set[str]) -> RunFigures:
    """All SUCCESS and none lost (asserted here); which tasks ran more than once."""
    assert status_counts(sql) == {"SUCCESS": len(ids)}
    counts = execution_counts(sql)
    lost = [task_id for task_id in ids if counts.get(task_id, 0) == 0]
    assert lost == [], f"{len(lost)} task(s) SUCCESS without an execution: {lost[:5]}"
    assert set(counts) == set(ids)
    duplicated = {task_id for task_id, n in counts.items() if n > 1}
    return RunFigures(
        lost=len(lost),
        duplicated=duplicated,
        unexplained=duplicated - allowed_duplicates,
        executions=sum(counts.values()),
        counts=counts,
    )


# -- 1. database restart mid-run -----------------------------------------------------------------
@pytest.mark.slow
def test_database_restarts_twice_mid_run(
    private_server: PrivateServer,
    private_db: DBConfig,
    spawn: Spawn,
    tmp_path: Path,
    open_sql: OpenSql,
) -> None:
    total, cuts, down_for = 5000, 2, 5.0
    write_settings(tmp_path, FAULT)
    sql = open_sql(private_db, reconnect_for=60)
    procs = spawn(private_db)
    janitor = procs.janitor("jan-restart")
    peon_ids = [f"restart-{i}" for i in range(4)]
    peons = [procs.peon(worker_id, "--concurrency=2") for worker_id in peon_ids]
    wait_for_idle_peons(sql, procs, *peon_ids)
    wait_for_leader(sql, procs)
    ids = enqueue_many(sql, "record", total)

    # "RUNNING at a cut": RUNNING in a query right before the stop, plus every task whose
    # execution began between that query and the restart (claimed before the server went
    # down: nothing can be claimed while it is down).
    snapshots: list[set[str]] = []
    windows: list[tuple[float, float]] = []
    for cut in range(1, cuts + 1):
        goal = cut * total // (cuts + 2)
        wait_for_successes(
            sql, goal, procs, 60, workers=lambda: peons, what=f"{goal} SUCCESS before cut {cut}"
        )
        before = time.time()
        snapshots.append(sql.ids("SELECT id FROM bountyboard WHERE status = 'RUNNING'"))
        private_server.stop()
        sql.close()
        time.sleep(down_for)
        windows.append((before, time.time()))
        private_server.start()

    wait_for_successes(sql, total, procs, timeout=75, workers=lambda: peons)
    running_at_cuts = set().union(*snapshots)
    for start, end in windows:
        running_at_cuts |= tasks_started_between(sql, start, end)
    run = check_every_task_ran(sql, ids, running_at_cuts)

    exited = [proc.name for proc in [*peons, janitor] if proc.returncode is not None]
    figures(
        f"FIGURES restart: tasks={total} cuts={cuts} down_for={down_for:g}s "
        f"running_at_cuts={'+'.join(str(len(found)) for found in snapshots)} "
        f"lost={run.lost} duplicated={len(run.duplicated)} "
        f"unexplained={len(run.unexplained)} executions={run.executions} "
        f"processes_exited={len(exited)}"
    )
    for proc in [*peons, janitor]:
        assert proc.returncode is None, f"{proc.name} exited\n{proc.describe()}"
        assert "Traceback" not in proc.output, proc.describe()
        went = lines_with(proc, "unavailable")
        back = lines_with(proc, "is back")
        assert len(went) >= cuts and len(back) >= cuts, proc.describe()
        # Once per outage and per connection, not once per retry.
        assert len(went) <= 4 * cuts, went
    stop_and_expect_zero([*peons, janitor])
    run.assert_duplicates_explained("at a cut")


# -- 2. database down at start -------------------------------------------------------------------
def wait_until_leader(sql: Sql, name: str, timeout: float = 15) -> None:
    wait_until(
        lambda: leaders(sql) == [name],
        timeout,
        lambda: f"{name} as the only leader; leaders: {leaders(sql)}",
        interval=0.2,
    )


@pytest.mark.slow
def test_database_down_at_start(
    private_server: PrivateServer,
    private_db: DBConfig,
    spawn: Spawn,
    tmp_path: Path,
    open_sql: OpenSql,
) -> None:
    total = 50
    write_settings(tmp_path, FAULT)
    private_server.stop()
    procs = spawn(private_db)
    peon = procs.peon("early-peon")
    janitor = procs.janitor("early-janitor")
    for proc in (peon, janitor):
        proc.wait_for_output("unavailable", timeout=STARTUP)
    time.sleep(4)  # waiting, not spinning: the log must stay short
    for proc in (peon, janitor):
        assert proc.returncode is None, proc.describe()
        assert "Traceback" not in proc.output, proc.describe()
        lines = proc.output.strip().splitlines()
        assert 1 <= len(lines) <= 5, proc.describe()
        assert len(lines_with(proc, "unavailable")) == 1, proc.describe()
    waited_lines = {proc.name: len(proc.output.strip().splitlines()) for proc in (peon, janitor)}

    private_server.start()
    setup_database_tables(private_db)  # idempotent: the tables were there before the stop
    sql = open_sql(private_db, reconnect_for=RECONNECT_FOR)
    ids = enqueue_many(sql, "record", total)
    wait_for_successes(sql, total, procs, timeout=60, workers=lambda: [peon])
    run = check_every_task_ran(sql, ids, set())
    for proc in (peon, janitor):
        # The janitor may still be in its backoff sleep (up to 5 s) when the peon is done.
        proc.wait_for_output("is back", timeout=STARTUP)
        assert "Traceback" not in proc.output, proc.describe()
    wait_until_leader(sql, "early-janitor")
    stop_and_expect_zero([peon, janitor])
    figures(
        f"FIGURES down-at-start: tasks={total} log_lines_while_waiting="
        f"{waited_lines['early-peon']}/{waited_lines['early-janitor']} lost={run.lost} "
        f"duplicated={len(run.duplicated)}"
    )
    run.assert_duplicates_explained("(there was no fault while they ran)")


# -- 3. kill storm -----------------------------------------------------------------------------
@pytest.mark.slow
def test_kill_storm(db_config: DBConfig, spawn: Spawn, tmp_path: Path, open_sql: OpenSql) -> None:
    total, every, max_kills = 5000, 1.5, 30
    write_settings(
        tmp_path,
        FAULT,
        DB_PEON_HEARTBEAT_INTERVAL=0.3,
        DB_SETUP_WAIT_TIME_BEFORE_WORKER_DECLARED_DEAD=1.5,
        DB_SETUP_CHECK_DEAD_WORKER_INTERVAL=0.3,
        DB_SETUP_RUN_SELF_CORRECT_TASK_INTERVAL=0.3,
        TASK_MAX_CRASHES=10,
    )
    sql = open_sql(db_config, reconnect_for=RECONNECT_FOR)
    create_executions(sql)
    procs = spawn(db_config)
    janitor = procs.janitor("jan-storm")
    serial = 0

    def new_peon() -> tuple[str, Proc]:
        nonlocal serial
        serial += 1
        worker_id = f"storm-{serial}"
        return worker_id, procs.peon(worker_id, "--concurrency=2")

    live = dict(new_peon() for _ in range(4))
    wait_for_idle_peons(sql, procs, *live)
    wait_for_leader(sql, procs)
    ids = enqueue_many(sql, "record", total)

    rng = random.Random()
    killed: list[str] = []
    running_under_killed: set[str] = set()
    deadline = time.monotonic() + 75
    while len(killed) < max_kills and time.monotonic() < deadline:
        time.sleep(every)
        if sql.count("SELECT COUNT(*) FROM bountyboard WHERE status = 'SUCCESS'") == total:
            break
        # Only a peon that has registered can be declared dead: on a loaded machine a new
        # one may take longer than a round to start.
        registered = sql.ids("SELECT id FROM peon WHERE status <> 'OFFLINE'") & set(live)
        if not registered:
            continue
        victim_id = rng.choice(sorted(registered))
        victim = live.pop(victim_id)
        # Freeze it first, so the RUNNING set read next is exactly what it holds at the kill.
        victim.freeze()
        time.sleep(0.2)
        running_under_killed |= sql.ids(
            "SELECT id FROM bountyboard WHERE status = 'RUNNING' AND worker_id = %s",
            (victim_id,),
        )
        victim.kill9()
        killed.append(victim_id)
        worker_id, proc = new_peon()
        live[worker_id] = proc

    wait_for_successes(sql, total, procs, timeout=60, workers=lambda: list(live.values()))
    run = check_every_task_ran(sql, ids, running_under_killed)
    marks = ", ".join(["%s"] * len(killed))
    wait_until(
        lambda: (
            sql.count(
                f"SELECT COUNT(*) FROM peon WHERE status = 'OFFLINE' AND id IN ({marks})", killed
            )
            == len(killed)
        ),
        15,
        "every killed peon declared dead (OFFLINE)",
        lambda: f"{log_lines(sql)[-20:]}",
        interval=0.2,
    )
    max_crashes = sql.count("SELECT MAX(crash_count) FROM bountyboard")
    for proc in live.values():
        assert proc.returncode is None, proc.describe()
    assert janitor.returncode is None, janitor.describe()
    stop_and_expect_zero([*live.values(), janitor])
    figures(
        f"FIGURES kill-storm: tasks={total} kills={len(killed)} "
        f"running_at_kills={len(running_under_killed)} lost={run.lost} "
        f"duplicated={len(run.duplicated)} unexplained={len(run.unexplained)} "
        f"executions={run.executions} max_crash_count={max_crashes}"
    )
    assert len(killed) >= 4, f"only {len(killed)} kills happened before the run ended"
    run.assert_duplicates_explained("under a peon when it was killed")


# -- 4. janitor leader kill storm ----------------------------------------------------------------
def sweep_intervals(proc: Proc) -> list[tuple[float, float, str]]:
    """(start, end, sweep) of every sweep this janitor logged: [ts - duration, ts]."""
    intervals = []
    for entry in json_log_entries(proc.stderr):
        match = SWEEP_LINE.match(str(entry.get("message", "")))
        if match:
            end = parse_ts(str(entry["ts"]))
            intervals.append((end - float(match.group(3)), end, match.group(2)))
    return intervals


@pytest.mark.slow
def test_janitor_leader_kill_storm(
    db_config: DBConfig, spawn: Spawn, tmp_path: Path, open_sql: OpenSql
) -> None:
    kills, tolerance = 10, 0.005
    write_settings(
        tmp_path,
        FAULT,
        DB_SETUP_CHECK_DEAD_WORKER_INTERVAL=0.2,
        DB_SETUP_RUN_SELF_CORRECT_TASK_INTERVAL=0.2,
        DB_SETUP_RUN_REOPEN_FAILED_TASK_INTERVAL=0.2,
        JANITOR_LEADER_RETRY_INTERVAL=0.3,
    )
    sql = open_sql(db_config, reconnect_for=RECONNECT_FOR)
    procs = spawn(db_config)
    janitors: dict[str, Proc] = {}

    def start_janitor(janitor_id: str) -> None:
        janitors[janitor_id] = procs.janitor(janitor_id, "--log-level=DEBUG", log_format="json")

    for janitor_id in ("j1", "j2", "j3"):
        start_janitor(janitor_id)

    def plant_orphan() -> str:
        """A RUNNING task whose peon is gone: only a sweeping leader puts it back."""
        task_id = enqueue(sql, "record")
        sql.run(
            "UPDATE bountyboard SET status = 'RUNNING', worker_id = 'ghost', attempt = 1,"
            " peon_session = UUID(), started_at = NOW(6) WHERE id = %s",
            (task_id,),
        )
        return task_id

    def swept(proc: Proc) -> int:
        return len(sweep_intervals(proc))

    leader_periods: list[str] = []
    orphans: list[str] = []
    for round_number in range(kills + 1):
        leader_id = wait_for_leader(sql, procs, after=round_number)
        leader = janitors[leader_id]
        assert leader.returncode is None, leader.describe()
        leader_periods.append(leader_id)
        orphan = plant_orphan()
        orphans.append(orphan)
        wait_until(
            lambda orphan=orphan: task_row(sql, orphan)["status"] == "PENDING",
            20,
            f"leader {leader_id} to requeue orphan {orphan}",
            procs.tails,
            interval=0.1,
        )
        wait_until(
            lambda leader=leader: swept(leader) >= 3,
            20,
            f"sweep lines from leader {leader_id}",
            procs.tails,
            interval=0.1,
        )
        if round_number < kills:
            leader.kill9()
            start_janitor(f"j{len(janitors) + 1}")

    alive = [proc for proc in janitors.values() if proc.returncode is None]
    assert len(alive) == 3
    stop_and_expect_zero(alive)

    # Each leader period had sweep lines, from that leader.
    by_janitor = {janitor_id: sweep_intervals(proc) for janitor_id, proc in janitors.items()}
    for janitor_id in leader_periods:
        assert by_janitor[janitor_id], f"leader {janitor_id} never swept"
    # Only janitors that led ever swept.
    assert {jid for jid, found in by_janitor.items() if found} <= set(leader_periods)
    assert len(set(leader_periods)) == kills + 1, leader_periods

    # Never two janitors sweeping at once.
    intervals = sorted(
        (start, end, janitor_id, sweep)
        for janitor_id, found in by_janitor.items()
        for start, end, sweep in found
    )
    latest_end: dict[str, tuple[float, str]] = {}
    overlaps = []
    for start, end, janitor_id, sweep in intervals:
        for other, (other_end, other_sweep) in latest_end.items():
            if other != janitor_id and other_end > start + tolerance:
                overlaps.append((other, other_sweep, other_end, janitor_id, sweep, start))
        if end > latest_end.get(janitor_id, (0.0, ""))[0]:
            latest_end[janitor_id] = (end, sweep)
    assert overlaps == [], overlaps[:5]

    # Every planted orphan was put back exactly once.
    for orphan in orphans:
        assert len(log_lines(sql, f"Task {orphan} %reset to PENDING%")) == 1
    figures(
        f"FIGURES janitor-storm: leaders={len(leader_periods)} kills={kills} "
        f"sweeps={len(intervals)} overlaps={len(overlaps)} orphans_requeued={len(orphans)}"
    )


# -- 5. poison pill ------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize(("task_name", "exit_code"), [("die_exit", 1), ("die_segfault", -11)])
def test_poison_pill_is_failed_after_three_crashes(
    db_config: DBConfig,
    spawn: Spawn,
    tmp_path: Path,
    task_name: str,
    exit_code: int,
    open_sql: OpenSql,
) -> None:
    good_total, max_restarts = 20, 8
    write_settings(
        tmp_path,
        FAULT,
        DB_PEON_HEARTBEAT_INTERVAL=0.3,
        DB_SETUP_WAIT_TIME_BEFORE_WORKER_DECLARED_DEAD=1.5,
        DB_SETUP_CHECK_DEAD_WORKER_INTERVAL=0.3,
        DB_SETUP_RUN_SELF_CORRECT_TASK_INTERVAL=0.3,
    )  # TASK_MAX_CRASHES: the default, 3
    sql = open_sql(db_config, reconnect_for=RECONNECT_FOR)
    create_executions(sql)
    procs = spawn(db_config)
    janitor = procs.janitor("jan-poison")
    serial = 0

    def new_peon() -> Proc:
        nonlocal serial
        serial += 1
        return procs.peon(f"poison-{serial}")

    slots = [new_peon(), new_peon()]
    wait_for_idle_peons(sql, procs, "poison-1", "poison-2")
    wait_for_leader(sql, procs)
    poison = enqueue(sql, task_name)
    good = enqueue_many(sql, "record", good_total)

    # The supervisor: whenever a peon dies, start another one (bounded).
    deaths: list[int | None] = []

    def supervise() -> bool:
        for index, proc in enumerate(slots):
            if proc.returncode is not None:
                deaths.append(proc.returncode)
                assert len(deaths) <= max_restarts, f"{deaths}\n{procs.tails()}"
                slots[index] = new_peon()
        done = sql.count(
            "SELECT COUNT(*) FROM bountyboard WHERE status = 'SUCCESS' AND task_name = 'record'"
        )
        return done == good_total and task_row(sql, poison)["status"] == "FAILURE"

    wait_until(
        supervise,
        75,
        "the poison pill FAILURE and every good task SUCCESS",
        lambda: f"{status_counts(sql)}\n{log_lines(sql)[-20:]}\n{procs.tails()}",
        interval=0.2,
    )
    row = task_row(sql, poison)
    result = json.loads(str(row["result"]))
    assert result["error_type"] == "PeonCrashed", result
    assert "3 times" in result["message"], result
    assert row["crash_count"] == 3
    assert executions_of(sql, poison) == 3
    assert deaths == [exit_code] * 3, deaths
    counts = execution_counts(sql)
    assert all(counts.get(task_id) == 1 for task_id in good), counts
    assert any(f"Task {poison}" in line and "marked FAILURE" in line for line in log_lines(sql))

    time.sleep(1)  # nothing runs it again
    assert executions_of(sql, poison) == 3
    assert all(proc.returncode is None for proc in slots), procs.tails()
    stop_and_expect_zero([*slots, janitor])
    figures(
        f"FIGURES poison-{task_name}: good_tasks={good_total} peon_deaths={len(deaths)} "
        f"poison_executions=3 good_lost=0 good_duplicated=0"
    )


# -- 6. a long task, and a frozen peon --------------------------------------------------------
LONG_SETTINGS: dict[str, Any] = {
    "DB_PEON_HEARTBEAT_INTERVAL": 0.3,
    "DB_SETUP_WAIT_TIME_BEFORE_WORKER_DECLARED_DEAD": 2,
    "DB_SETUP_CHECK_DEAD_WORKER_INTERVAL": 0.2,
    "DB_SETUP_RUN_SELF_CORRECT_TASK_INTERVAL": 0.2,
}


@pytest.mark.slow
def test_long_task_of_a_heartbeating_peon_is_never_reclaimed(
    db_config: DBConfig, spawn: Spawn, tmp_path: Path, open_sql: OpenSql
) -> None:
    seconds = 6.0  # three times the dead threshold
    write_settings(tmp_path, FAULT, **LONG_SETTINGS)
    sql = open_sql(db_config, reconnect_for=RECONNECT_FOR)
    create_executions(sql)
    procs = spawn(db_config)
    janitor = procs.janitor("jan-long")
    peon = procs.peon("long-peon")
    spare = procs.peon("spare-peon")  # would take the task if it were ever reset
    wait_for_idle_peons(sql, procs, "long-peon", "spare-peon")
    wait_for_leader(sql, procs)

    task_id = enqueue(sql, "sleep_for", seconds)
    wait_until(
        lambda: task_row(sql, task_id)["status"] == "SUCCESS",
        seconds + 30,
        "the long task SUCCESS",
        procs.tails,
        interval=0.2,
    )
    row = task_row(sql, task_id)
    assert executions_of(sql, task_id) == 1
    assert row["crash_count"] == 0 and row["attempt"] == 1
    assert json.loads(str(row["result"])) == {
        "pid": int(row_pid(sql, str(row["worker_id"]))),
        "run": 1,
    }
    lines = log_lines(sql)
    assert not [line for line in lines if "reset to PENDING" in line], lines
    assert not [line for line in lines if "declared dead" in line], lines
    stop_and_expect_zero([peon, spare, janitor])
    figures(f"FIGURES long-task: seconds={seconds:g} dead_after=2 executions=1 reclaimed=0")


def row_pid(sql: Sql, worker_id: str) -> int:
    row = peon_row(sql, worker_id)
    assert row is not None, worker_id
    return int(row["pid"])


@pytest.mark.slow
def test_frozen_peon_is_declared_dead_and_its_late_result_is_not_written(
    db_config: DBConfig, spawn: Spawn, tmp_path: Path, open_sql: OpenSql
) -> None:
    write_settings(tmp_path, FAULT, **LONG_SETTINGS)
    sql = open_sql(db_config, reconnect_for=RECONNECT_FOR)
    create_executions(sql)
    procs = spawn(db_config)
    janitor = procs.janitor("jan-frozen")
    frozen = procs.peon("frozen-peon")
    wait_for_idle_peons(sql, procs, "frozen-peon")
    wait_for_leader(sql, procs)

    task_id = enqueue(sql, "sleep_for", 5)
    wait_until(
        lambda: task_row(sql, task_id)["status"] == "RUNNING" and executions_of(sql, task_id) == 1,
        STARTUP,
        "frozen-peon running the task",
        procs.tails,
        interval=0.1,
    )
    old = peon_row(sql, "frozen-peon")
    assert old is not None and task_row(sql, task_id)["worker_id"] == "frozen-peon"
    old_session = str(old["session"])

    frozen.freeze()
    rescuer = procs.peon("rescuer-peon")
    wait_until(
        lambda: (peon_row(sql, "frozen-peon") or {}).get("status") == "OFFLINE",
        20,
        "frozen-peon declared dead",
        lambda: f"{log_lines(sql)}\n{procs.tails()}",
        interval=0.1,
    )
    wait_until(
        lambda: task_row(sql, task_id)["status"] == "SUCCESS",
        STARTUP,
        "the task SUCCESS on the rescuer",
        lambda: f"{task_row(sql, task_id)}\n{procs.tails()}",
        interval=0.2,
    )
    done = task_row(sql, task_id)
    assert done["worker_id"] == "rescuer-peon"
    assert json.loads(str(done["result"])) == {"pid": rescuer.pid, "run": 2}

    frozen.thaw()
    frozen.wait_for_output("not written", timeout=30)
    warning = lines_with(frozen, "not written")
    assert len(warning) == 1 and task_id in warning[0], warning
    after = task_row(sql, task_id)
    assert (after["status"], after["worker_id"], after["result"], after["attempt"]) == (
        "SUCCESS",
        "rescuer-peon",
        done["result"],
        done["attempt"],
    )

    # It stops claiming under its old session (it may come back under a new one).
    more = enqueue_many(sql, "record", 20)
    wait_until(
        lambda: (
            sql.count(
                "SELECT COUNT(*) FROM bountyboard WHERE status = 'SUCCESS' AND task_name = 'record'"
            )
            == len(more)
        ),
        STARTUP,
        "20 more tasks SUCCESS",
        procs.tails,
        interval=0.2,
    )
    under_old = sql.ids("SELECT id FROM bountyboard WHERE peon_session = %s", (old_session,))
    assert under_old <= {task_id}, under_old
    row = peon_row(sql, "frozen-peon")
    assert row is not None and str(row["session"]) != old_session, row
    assert frozen.returncode is None, frozen.describe()
    assert "Traceback" not in frozen.output, frozen.describe()
    assert executions_of(sql, task_id) == 2
    assert all(executions_of(sql, task_id) == 1 for task_id in more)
    stop_and_expect_zero([frozen, rescuer, janitor])
    figures(
        "FIGURES frozen-peon: frozen_for_task=5s dead_after=2 executions=2 "
        "late_result_written=0 claims_under_old_session=0"
    )
