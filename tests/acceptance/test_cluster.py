"""workcraft on a real 3-node MariaDB Galera cluster (``make test-cluster``).

Three private ``mariadbd`` nodes on free local ports (``tests/support/galera.py``; galera-4 is
installed with apt-get when missing). On them: the lease races of the janitors' leader
election; a concurrency key and a unique key raced through two nodes in lockstep; and the
whole system with one janitor and one peon per node, 2,000 tasks and a recurring schedule,
while the node of the leading janitor is killed (``kill -9`` of its server; its janitor and
peon live on, cut off) and later started again to rejoin.

Checked from the rows afterwards:
- exactly one leader at a time: every janitor line in ``logs`` carries its janitor and lease
  term; each term has one janitor, and the last line a leader wrote while leading in term N
  comes before the first line of term N+1 ("lost leadership" and "stepped down" lines are
  written after the fact, so they are not part of a term's span);
- 0 lost: every task SUCCESS and executed at least once;
- duplicates only among tasks the killed node's peon had started before the kill, at most
  as many as it had slots, none run more than twice; crash counts only on the tasks the
  janitor took back from that peon (the claims that lost certification were not crashes);
- each occurrence of the schedule enqueued once (its unique key), across the failover.
"""

from __future__ import annotations

import collections
import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cluster_apps.tasks import CREATE_EXECUTIONS, EXECUTIONS_TABLE
from tests.support.galera import GaleraCluster, ensure_galera
from tests.support.procs import CLUSTER_APP, Proc, ProcGroup, child_env
from tests.support.settings import CLUSTER, write_settings
from tests.support.sql import Sql
from tests.support.waiting import wait_until
from workcraft.data import Database, Queries, RetryPolicy
from workcraft.data.connection import Session, open_connection
from workcraft.data.migrate import setup_database_tables
from workcraft.db import DBConfig
from workcraft.janitor.lease import LeaseLeader
from workcraft.janitor.mode import leader_mode
from workcraft.payload import TaskSpec, build_row

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

DATABASE = "workcraft"
TASKS = 2000
CONCURRENCY = 4  # slots per peon
TASK_SECONDS = 0.05
KILL_AFTER = 600  # tasks done before the leader's node is killed
LEASE = CLUSTER["JANITOR_LEASE_SECONDS"]
STARTUP = 60
RACES = 100


@pytest.fixture(scope="module")
def galera(mariadb_template: Path) -> Iterator[GaleraCluster]:
    """A private 3-node cluster with the workcraft tables, for this module's tests."""
    ensure_galera()
    cluster = GaleraCluster(mariadb_template)
    try:
        started = time.monotonic()
        cluster.start()
        print(f"FIGURES galera: 3 nodes Synced in {time.monotonic() - started:.1f} s")
        setup_database_tables(cluster.nodes[0].config(DATABASE))
        yield cluster
    finally:
        cluster.close()


def node_configs(galera: GaleraCluster) -> list[DBConfig]:
    return [node.config(DATABASE) for node in galera.nodes]


# -- the pieces -----------------------------------------------------------------------------
def test_a_galera_node_is_detected_and_janitor_sessions_read_causally(
    galera: GaleraCluster,
) -> None:
    config = galera.nodes[0].config(DATABASE)
    assert leader_mode(Database(config), "auto") == "lease"
    for causal, expected in ((True, 3), (False, 0)):
        conn: Any = open_connection(config, session=Session(causal_reads=causal))
        try:
            cur = conn.cursor()
            cur.execute("SELECT @@session.wsrep_sync_wait")
            assert cur.fetchone() == (expected,)
        finally:
            conn.close()


def test_lease_races_across_nodes_have_one_winner(galera: GaleraCluster) -> None:
    """One janitor per node, all taking an expired lease at the same instant: exactly one
    wins each race (GET_LOCK would give each node its own winner), and the term grows by
    one per race."""
    configs = node_configs(galera)
    leaders = [
        LeaseLeader(Database(config), f"racer-{index}", LEASE)
        for index, config in enumerate(configs)
    ]
    barrier = threading.Barrier(len(leaders))
    won: list[list[int]] = [[] for _ in leaders]

    def contend(index: int) -> None:
        leader = leaders[index]
        for race in range(RACES):
            barrier.wait(timeout=30)
            leader.held = False
            if leader.acquire():
                won[index].append(race)
            barrier.wait(timeout=30)
            if index == 0:  # between races: the lease expires, whoever holds it
                with Sql(configs[0]) as sql:
                    sql.run(
                        "UPDATE janitor_state SET expires_at = NOW(6) - INTERVAL 1 SECOND"
                        " WHERE name = 'lease'"
                    )
            barrier.wait(timeout=30)

    with Sql(configs[0]) as sql:
        term_before = sql.count("SELECT term FROM janitor_state WHERE name = 'lease'")
    threads = [threading.Thread(target=contend, args=(i,)) for i in range(len(leaders))]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
    finally:
        for leader in leaders:
            leader.release()
    winners = collections.Counter(race for races in won for race in races)
    assert sorted(winners) == list(range(RACES)), "a race nobody won"
    assert set(winners.values()) == {1}, {r: n for r, n in winners.items() if n > 1}
    with Sql(configs[0]) as sql:
        term_after = sql.count("SELECT term FROM janitor_state WHERE name = 'lease'")
    assert term_after - term_before == RACES
    print(f"FIGURES lease races: {RACES}, one winner each; wins per node {[len(w) for w in won]}")


def test_a_concurrency_limit_holds_across_nodes(galera: GaleraCluster) -> None:
    """Two claims on two nodes, at the same instant, of two tasks that share a concurrency
    key with limit 1. A row lock is per node on Galera, so the key's row must be written by
    every keyed claim: then the second COMMIT loses certification, and its retry finds the
    key full. (With the key row only locked, both committed: two tasks ran under limit 1.)"""
    configs = node_configs(galera)
    with Sql(configs[0]) as sql:
        # The key was used before (its first claim inserts the row: that alone conflicts).
        sql.run("INSERT IGNORE INTO concurrency_keys (name) VALUES ('one-at-a-time')")
        for name in ("keyed-a", "keyed-b"):
            sql.run(
                "INSERT INTO bountyboard (id, task_name, concurrency_key, concurrency_limit)"
                " VALUES (%s, %s, 'one-at-a-time', 1)",
                (str(uuid.uuid4()), name),
            )
    barrier = threading.Barrier(2)
    claimed: dict[int, list[str]] = {}

    def claim(index: int) -> None:
        def transaction(q: Queries, attempt: int) -> list[str]:
            tasks = q.tasks.lock_claimable(
                queues=["DEFAULT"], task_names=[f"keyed-{'ab'[index]}"], limit=1
            )
            ids = [task.id for task in tasks]
            if ids:
                worker = f"claimer-{index}"
                marked = q.tasks.mark_running(task_ids=ids, worker_id=worker, session="s")
                # Sent now, not with the COMMIT: both have written before either commits.
                assert marked.count == len(ids)
            if attempt == 1:
                barrier.wait(timeout=30)  # both have claimed before either commits
            return ids

        store = Database(configs[index]).store(f"claimer-{index}", RetryPolicy(give_up_after=30))
        with store:
            claimed[index] = store.transaction(transaction)

    threads = [threading.Thread(target=claim, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    with Sql(configs[0]) as sql:
        sql.run("SET SESSION wsrep_sync_wait = 1")  # every node's commits applied here first
        running = sql.count(
            "SELECT COUNT(*) FROM bountyboard WHERE concurrency_key = 'one-at-a-time'"
            " AND status = 'RUNNING'"
        )
        sql.run("DELETE FROM bountyboard WHERE concurrency_key = 'one-at-a-time'")
    assert sorted(len(ids) for ids in claimed.values()) == [0, 1], claimed
    assert running == 1


def test_a_unique_key_holds_across_nodes(galera: GaleraCluster) -> None:
    """Two producers on two nodes enqueue the same unique key at the same instant: the
    unique index is part of what Galera certifies, so one COMMIT loses (1213), and its retry
    finds the other's task and returns that task's id."""
    configs = node_configs(galera)
    barrier = threading.Barrier(2)
    returned: dict[int, list[str]] = {}

    def send(index: int) -> None:
        row = build_row(TaskSpec(task_name="once", unique_key="cluster-unique"))

        def transaction(q: Queries, attempt: int) -> list[str]:
            ids = q.tasks.insert([row])
            if attempt == 1:
                barrier.wait(timeout=30)  # both have inserted before either commits
            return ids

        with Database(configs[index]).store(f"producer-{index}", RetryPolicy(30)) as store:
            returned[index] = store.transaction(transaction)

    threads = [threading.Thread(target=send, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    with Sql(configs[2]) as sql:
        sql.run("SET SESSION wsrep_sync_wait = 1")
        rows = sql.ids("SELECT id FROM bountyboard WHERE unique_key = 'cluster-unique'")
        sql.run("DELETE FROM bountyboard WHERE unique_key = 'cluster-unique'")
    assert len(rows) == 1
    assert returned == {0: sorted(rows), 1: sorted(rows)}


# -- the whole system, with the leader's node killed ----------------------------------------
def enqueue(sql: Sql, task_ids: list[str], batch: int = 500) -> None:
    conn: Any = sql.conn
    cur = conn.cursor()
    try:
        for start in range(0, len(task_ids), batch):
            rows = [
                (task_id, "record", json.dumps({"task_args": [task_id, TASK_SECONDS]}))
                for task_id in task_ids[start : start + batch]
            ]
            cur.executemany(
                "INSERT INTO bountyboard (id, task_name, payload) VALUES (%s, %s, %s)", rows
            )
    finally:
        cur.close()


def janitor_lines(sql: Sql) -> list[dict[str, Any]]:
    return sql.rows(
        "SELECT janitor, term, message, created_at FROM logs WHERE janitor IS NOT NULL"
        " ORDER BY created_at, id"
    )


def leader_lines(sql: Sql) -> list[dict[str, Any]]:
    return [row for row in janitor_lines(sql) if "became leader" in str(row["message"])]


def after_the_fact(message: str) -> bool:
    """Lines a janitor writes once it no longer leads (or is giving up)."""
    return "lost leadership" in message or "stepped down" in message


def check_one_leader_at_a_time(lines: list[dict[str, Any]]) -> dict[int, tuple[str, Any, Any]]:
    """Each term's janitor, first and last line while leading; asserts the terms never
    overlap and are held by one janitor each."""
    by_term: dict[int, list[dict[str, Any]]] = collections.defaultdict(list)
    for row in lines:
        by_term[int(row["term"])].append(row)
    spans: dict[int, tuple[str, Any, Any]] = {}
    for term, rows in sorted(by_term.items()):
        janitors = {str(row["janitor"]) for row in rows}
        assert len(janitors) == 1, f"term {term} has janitors {janitors}"
        acting = [row for row in rows if not after_the_fact(str(row["message"]))]
        assert acting, f"term {term} has only after-the-fact lines: {rows}"
        assert str(acting[0]["message"]).endswith(f"became leader (lease term {term})"), acting[0]
        spans[term] = (janitors.pop(), acting[0]["created_at"], acting[-1]["created_at"])
    terms = sorted(spans)
    assert terms == list(range(terms[0], terms[0] + len(terms))), f"terms skipped: {terms}"
    for earlier, later in itertools.pairwise(terms):
        assert spans[earlier][2] < spans[later][1], (
            f"term {earlier} wrote until {spans[earlier][2]}, after term {later} began at "
            f"{spans[later][1]}"
        )
    return spans


def test_failover_of_the_leaders_node_mid_run(
    galera: GaleraCluster, proc_groups: Callable[..., ProcGroup], tmp_path: Path
) -> None:
    started = time.monotonic()
    configs = node_configs(galera)
    sqls = [Sql(config, reconnect_for=30) for config in configs]
    try:
        run_failover(galera, configs, sqls, proc_groups, tmp_path, started)
    finally:
        for sql in sqls:
            sql.close()


def run_failover(
    galera: GaleraCluster,
    configs: list[DBConfig],
    sqls: list[Sql],
    proc_groups: Callable[..., ProcGroup],
    tmp_path: Path,
    started: float,
) -> None:
    sqls[0].run(CREATE_EXECUTIONS)
    sqls[0].run("DELETE FROM janitor_state WHERE name = 'lease'")  # the races' leftovers
    sqls[0].run("DELETE FROM logs")
    write_settings(tmp_path, CLUSTER)
    group = proc_groups(None, app=CLUSTER_APP, log_format="plain", grace=10.0)

    def details() -> str:
        nodes = "\n".join(
            f"--- {node.name} error log:\n{node.error_log.read_text()[-1500:]}"
            for node in galera.nodes
        )
        return f"{group.tails(30)}\n{nodes}"

    janitors: list[Proc] = []
    peons: list[Proc] = []
    for index, config in enumerate(configs, start=1):
        env = child_env(config)
        janitors.append(group.janitor(f"jan-{index}", env=env))
        peons.append(group.peon(f"peon-{index}", "--concurrency", str(CONCURRENCY), env=env))

    first = wait_until(lambda: leader_lines(sqls[0]), STARTUP, "a leader", details)[0]
    leader = int(str(first["janitor"]).split("-")[1]) - 1  # the index of the leader's node
    survivor = sqls[(leader + 1) % 3]
    wait_until(
        lambda: survivor.count("SELECT COUNT(*) FROM peon WHERE status = 'IDLE'") == 3,
        STARTUP,
        "three IDLE peons",
        details,
    )

    # 2,000 tasks, a third enqueued through each node.
    task_ids = [str(uuid.uuid4()) for _ in range(TASKS)]
    for index, sql in enumerate(sqls):
        enqueue(sql, task_ids[index::3])
    enqueued = time.monotonic()

    def done() -> int:
        return survivor.count(
            "SELECT COUNT(*) FROM bountyboard WHERE task_name = 'record' AND status = 'SUCCESS'"
        )

    killed_peon = f"peon-{leader + 1}"
    wait_until(
        lambda: (
            done() >= KILL_AFTER
            and survivor.count(
                "SELECT COUNT(*) FROM bountyboard WHERE status = 'RUNNING' AND worker_id = %s",
                (killed_peon,),
            )
        ),
        120,
        f"{KILL_AFTER} tasks done and {killed_peon} running one",
        details,
    )
    done_at_kill = done()
    galera.kill(leader)
    killed = time.monotonic()
    killed_at = survivor.value("SELECT NOW(6)")

    # A janitor on a surviving node takes the lease once it has run out.
    def successor() -> list[dict[str, Any]]:
        return [row for row in leader_lines(survivor) if int(row["term"]) > int(first["term"])]

    new_leader = wait_until(successor, LEASE + 30, "a new leader", details)[0]
    failover = time.monotonic() - killed
    assert new_leader["janitor"] != first["janitor"]

    # The killed node's peon is declared dead and its tasks requeued; then its node returns.
    wait_until(
        lambda: (
            survivor.value("SELECT status FROM peon WHERE id = %s", (killed_peon,)) == "OFFLINE"
        ),
        60,
        f"{killed_peon} to be declared dead",
        details,
    )
    declared_dead = time.monotonic() - killed
    galera.restart(leader)
    rejoined = time.monotonic() - killed

    wait_until(lambda: done() == TASKS, 240, f"all {TASKS} tasks to succeed", details, 0.5)
    all_done = time.monotonic() - enqueued
    # Cut off and back: the killed node's peon registers again under a new session and works.
    wait_until(
        lambda: (
            survivor.value("SELECT status FROM peon WHERE id = %s", (killed_peon,))
            in ("IDLE", "WORKING")
        ),
        60,
        f"{killed_peon} to register again",
        details,
    )
    # The schedule keeps running under the new leader.
    wait_until(
        lambda: (
            survivor.count(
                "SELECT COUNT(*) FROM bountyboard WHERE task_name = 'tick' AND created_at > %s",
                (new_leader["created_at"],),
            )
            >= 3
        ),
        30,
        "three ticks under the new leader",
        details,
    )
    group.check_alive()  # nobody crashed: not the cut-off janitor, not the cut-off peon
    killed_pid = peons[leader].pid
    group.stop_all()
    galera.wait_synced(3)

    sql = survivor
    # -- one leader at a time -----------------------------------------------------------
    spans = check_one_leader_at_a_time(janitor_lines(sql))
    assert spans[int(first["term"])][0] == first["janitor"]
    lease = sql.rows("SELECT holder, term FROM janitor_state WHERE name = 'lease'")[0]
    assert int(lease["term"]) == max(spans)
    failover_db = (new_leader["created_at"] - killed_at).total_seconds()

    # -- nothing lost ---------------------------------------------------------------------
    statuses = dict(
        sql.tuples(
            "SELECT status, COUNT(*) FROM bountyboard WHERE task_name = 'record' GROUP BY status"
        )
    )
    assert statuses == {"SUCCESS": TASKS}, statuses
    executions: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    for row in sql.rows(
        f"SELECT task_id, port, pid, started_at, finished_at FROM {EXECUTIONS_TABLE}"
    ):
        executions[str(row["task_id"])].append(row)
    assert set(executions) == set(task_ids), "a task never executed"

    # -- duplicates only among what the killed node's peon had started ----------------------
    duplicates = {task: runs for task, runs in executions.items() if len(runs) > 1}
    for task, runs in duplicates.items():
        assert len(runs) == 2, (task, runs)
        cut_off = [
            run for run in runs if run["pid"] == killed_pid and run["started_at"] <= killed_at
        ]
        assert cut_off, f"task {task} ran twice, neither time on the killed node: {runs}"
    assert len(duplicates) <= CONCURRENCY, duplicates
    # A task ran twice when the killed node's peon was running it (its run broke off when
    # its node died) or had finished it but not yet written the outcome (lost with the node).
    unfinished = sum(
        1
        for runs in duplicates.values()
        for run in runs
        if run["pid"] == killed_pid and run["finished_at"] is None
    )

    # -- a claim or completion that lost certification is not a crash ------------------------
    # Only the dead peon's tasks were requeued (crash_count 1); the hundreds of 1213s the
    # peons met at COMMIT (figures below) were retried as "not claimed / not written".
    crashed = {
        str(row["id"]): int(row["crash_count"])
        for row in sql.rows("SELECT id, crash_count FROM bountyboard WHERE crash_count > 0")
    }
    requeued = {
        str(row["task_id"])
        for row in sql.rows(
            "SELECT task_id FROM logs WHERE message LIKE %s",
            (f"%reset to PENDING: peon {killed_peon} missed heartbeats%",),
        )
    }
    assert set(crashed.values()) <= {1} and set(crashed) <= requeued, (crashed, requeued)
    assert set(duplicates) <= set(crashed), "a task ran twice without being requeued"

    # -- every schedule occurrence once ---------------------------------------------------
    ticks = sql.tuples(
        "SELECT unique_key, COUNT(*) FROM bountyboard WHERE task_name = 'tick'"
        " GROUP BY unique_key ORDER BY unique_key"
    )
    assert ticks and all(str(key).startswith("schedule:tick@") for key, _ in ticks), ticks
    assert [key for key, count in ticks if count != 1] == []

    # Certification failures and brute-force aborts, summed over the nodes (the killed
    # node's counters restarted with it): the claims and completions that lost a race.
    statuses_now = [node.wsrep_status() for node in galera.nodes]
    conflicts = {
        name: sum(int(status.get(name, 0)) for status in statuses_now)
        for name in ("wsrep_local_cert_failures", "wsrep_local_bf_aborts")
    }
    transfer = "IST" if "IST received" in galera.nodes[leader].error_log.read_text() else "SST"
    print(
        f"FIGURES cluster failover: {TASKS} tasks in {all_done:.1f} s, {done_at_kill} done "
        f"when node{leader + 1} (leader {first['janitor']}, term {first['term']}) was killed; "
        f"new leader {new_leader['janitor']} term {new_leader['term']} after {failover:.1f} s "
        f"(rows: {failover_db:.1f} s); {killed_peon} declared dead after {declared_dead:.1f} s; "
        f"node restarted, rejoined by {transfer} after {rejoined - declared_dead:.1f} s; "
        f"terms {sorted(spans)}; "
        f"duplicates {len(duplicates)} (all started on the killed node, {unfinished} never "
        f"finished; {len(crashed)} requeued from the dead peon); schedule occurrences "
        f"{len(ticks)}, each once; "
        f"cert failures / BF aborts {conflicts}; "
        f"test {time.monotonic() - started:.1f} s"
    )
