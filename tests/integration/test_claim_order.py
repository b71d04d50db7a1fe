"""The claim: which rows it takes (priority, then run_at; never before run_at), what it
locks, and that its plan stays one exact index range per priority however many rows wait
or are scheduled for later (EXPLAIN, and InnoDB's own count of locked rows)."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.sql import Sql, admin_connection
from workcraft.data import Store
from workcraft.data.connection import ISOLATION_SETUP
from workcraft.data.queries import statement
from workcraft.db import DBConfig
from workcraft.peon.peon import CLAIM_ISOLATION

NAMES = ("a", "b")
PAST = dt.datetime(2024, 1, 1)
FUTURE = dt.datetime(2037, 1, 1)


@pytest.fixture
def store(db_config: DBConfig) -> Iterator[Store]:
    with Store(db_config, name="test") as opened:
        yield opened


def add_rows(
    db_config: DBConfig,
    count: int,
    *,
    priority: int = 0,
    run_at: dt.datetime = PAST,
    queue: str = "DEFAULT",
    task_name: str = "a",
    status: str = "PENDING",
) -> list[str]:
    """``count`` rows, run_at one second apart from ``run_at``, in one multi-row INSERT
    per 5,000, then fresh statistics."""
    ids = [str(uuid.uuid4()) for _ in range(count)]
    rows = [
        (task_id, status, task_name, queue, priority, run_at + dt.timedelta(seconds=i))
        for i, task_id in enumerate(ids)
    ]
    conn: Any = admin_connection(db_config, db_config.database)
    try:
        cur = conn.cursor()
        cur.execute("SET time_zone = '+00:00'")
        for start in range(0, len(rows), 5000):
            cur.executemany(
                "INSERT INTO bountyboard (id, status, task_name, queue, payload, priority, run_at)"
                " VALUES (%s, %s, %s, %s, '{}', %s, %s)",
                rows[start : start + 5000],
            )
        cur.execute("ANALYZE TABLE bountyboard")
        cur.fetchall()
    finally:
        conn.close()
    return ids


def claim(store: Store, limit: int, queues: tuple[str, ...] = ("DEFAULT",)) -> list[str]:
    """What the peon's claim locks (rolled back: the rows stay PENDING)."""

    def transaction(q: Any, _attempt: int) -> list[str]:
        tasks = q.tasks.lock_claimable(queues=queues, task_names=NAMES, limit=limit)
        raise _Rollback([task.id for task in tasks])

    try:
        store.transaction(transaction)
    except _Rollback as done:
        return done.ids
    raise AssertionError("unreachable")


class _Rollback(Exception):
    def __init__(self, ids: list[str]) -> None:
        super().__init__("rollback")
        self.ids = ids


def explain(db_config: DBConfig, sql: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
    conn: Any = admin_connection(db_config, db_config.database)
    try:
        cur = conn.cursor(dictionary=True)
        cur.execute("EXPLAIN " + sql, params)
        return list(cur.fetchall())
    finally:
        conn.close()


def locked_rows_of_claim(db_config: DBConfig, sql: str, params: tuple[Any, ...]) -> int:
    """Run a claim statement in a transaction and ask InnoDB how many rows it locked."""
    conn: Any = admin_connection(db_config, db_config.database)
    try:
        cur = conn.cursor()
        cur.execute("SET time_zone = '+00:00'")
        cur.execute(ISOLATION_SETUP[CLAIM_ISOLATION])  # as the peon sets it
        conn.autocommit = False
        conn.start_transaction()
        cur.execute(sql, params)
        assert len(cur.fetchall()) >= 1
        time.sleep(0.15)  # INNODB_TRX is a cache refreshed at most every 0.1 s
        cur.execute(
            "SELECT trx_rows_locked FROM information_schema.INNODB_TRX "
            "WHERE trx_mysql_thread_id = CONNECTION_ID()"
        )
        (locked,) = cur.fetchall()
        conn.rollback()
        return int(locked[0])
    finally:
        conn.close()


def most_urgent_params(limit: int) -> tuple[Any, ...]:
    return ("DEFAULT", "DEFAULT", None, *NAMES, "", limit)  # "": no full concurrency key


# -- order -------------------------------------------------------------------------------
def test_lower_priority_first_then_earliest_run_at(db_config: DBConfig, store: Store) -> None:
    normal = add_rows(db_config, 3, priority=0)
    urgent = add_rows(db_config, 2, priority=-5, run_at=PAST + dt.timedelta(hours=1))
    low = add_rows(db_config, 2, priority=9)
    assert claim(store, 10) == urgent + normal + low
    assert claim(store, 3) == [*urgent, normal[0]]


def test_tasks_are_not_claimed_before_their_run_at(db_config: DBConfig, store: Store) -> None:
    later = add_rows(db_config, 3, priority=-1, run_at=FUTURE)
    due = add_rows(db_config, 2, priority=0)
    assert claim(store, 10) == due
    assert not set(later) & set(claim(store, 10))


def test_queues_are_claimed_in_the_order_given(db_config: DBConfig, store: Store) -> None:
    first = add_rows(db_config, 2, queue="first", priority=5)
    second = add_rows(db_config, 2, queue="second", priority=-5)
    assert claim(store, 3, queues=("first", "second")) == [*first, second[0]]


def test_unregistered_names_do_not_stop_the_claim(db_config: DBConfig, store: Store) -> None:
    add_rows(db_config, 5, task_name="not-ours", priority=-1)
    ours = add_rows(db_config, 2, priority=3)
    assert claim(store, 10) == ours


# -- plans ---------------------------------------------------------------------------------
def assert_in_index_order(plan: list[dict[str, Any]]) -> dict[str, Any]:
    """The claim index, read in the ORDER BY's order (no filesort), so LIMIT stops early."""
    (row,) = [r for r in plan if r["table"] == "bountyboard"]
    assert row["key"] == "ix_bountyboard_ready", plan
    assert row["type"] in ("range", "ref"), plan
    assert "filesort" not in str(row["Extra"] or "").lower(), plan
    return row


def assert_exact_range(plan: list[dict[str, Any]]) -> None:
    """A range on all four key parts: rows scheduled later are outside it, not skipped."""
    row = assert_in_index_order(plan)
    assert row["type"] == "range", plan
    assert int(row["rows"]) < 100, plan  # the optimizer expects a handful, not the backlog


@pytest.mark.parametrize("where", ["ready", "future"], ids=["pending-backlog", "future-backlog"])
def test_claim_plan_and_locks_stay_flat_beside_a_big_backlog(
    db_config: DBConfig, store: Store, where: str
) -> None:
    """50,000 rows waiting (due, or scheduled later at a MORE urgent priority, the case a
    plain ORDER BY priority, run_at scan would read through) beside 5 due rows."""
    if where == "ready":
        add_rows(db_config, 50_000, priority=0)
    else:
        add_rows(db_config, 50_000, priority=-1, run_at=FUTURE)
    add_rows(db_config, 5, priority=0, run_at=PAST - dt.timedelta(days=1))

    for name, params in (
        ("claim_at_priority", ("DEFAULT", 0, None, *NAMES, "", 1)),
        ("claim_most_urgent", most_urgent_params(1)),
    ):
        sql = statement(name, names=len(NAMES), keys=1)
        plan = explain(db_config, sql, params)
        if where == "future":
            assert_exact_range(plan)
        else:
            assert_in_index_order(plan)
        if name == "claim_at_priority":
            # One row taken: its index entry and its clustered record (plus at most the
            # next index entry).
            assert locked_rows_of_claim(db_config, sql, params) <= 3
    started = time.perf_counter()
    claimed = claim(store, 5)
    assert len(claimed) == 5
    assert time.perf_counter() - started < 0.5  # not a scan of 50,000 rows


def test_next_priority_and_probe_are_index_dives(db_config: DBConfig) -> None:
    add_rows(db_config, 2000, priority=-1, run_at=FUTURE)
    add_rows(db_config, 10, priority=2)
    plan = explain(db_config, statement("next_priority"), ("DEFAULT", -(2**31) - 1))
    assert "optimized away" in str(plan[0]["Extra"]).lower(), plan
    params = (None, "DEFAULT", -1, *NAMES, "DEFAULT")
    probe = explain(db_config, statement("claim_probe", names=2), params)
    row, paused = probe  # the paused check is a primary-key read of `queues`, done once
    assert row["key"] == "ix_bountyboard_ready", probe
    assert "filesort" not in str(row["Extra"] or "").lower(), probe
    assert paused["select_type"] == "SUBQUERY", probe  # not DEPENDENT: evaluated once


def test_idle_probe_sees_due_work_behind_future_rows(db_config: DBConfig, store: Store) -> None:
    add_rows(db_config, 100, priority=-3, run_at=FUTURE)
    add_rows(db_config, 100, priority=-2, run_at=FUTURE)

    def probe() -> bool:
        return store.call(lambda q: q.tasks.any_claimable(queue="DEFAULT", task_names=NAMES))

    assert not probe()
    add_rows(db_config, 1, priority=7)
    assert probe()
    assert not store.call(lambda q: q.tasks.any_claimable(queue="DEFAULT", task_names=("other",)))


def test_injected_now_claims_delayed_tasks(db_config: DBConfig, store: Store, sql: Sql) -> None:
    (later,) = add_rows(db_config, 1, run_at=FUTURE)

    def claim_at(now: dt.datetime) -> list[str]:
        return store.call(
            lambda q: [
                t.id
                for t in q.tasks.lock_claimable(
                    queues=("DEFAULT",), task_names=NAMES, limit=5, now=now
                )
            ]
        )

    assert claim_at(FUTURE - dt.timedelta(seconds=1)) == []
    assert claim_at(FUTURE) == [later]
    assert sql.value("SELECT status FROM bountyboard WHERE id = %s", (later,)) == "PENDING"
