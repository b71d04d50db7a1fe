"""Recurring schedules: peons register them, the janitor leader enqueues each occurrence
exactly once (two janitors, a stale janitor, a restart), only the latest after a downtime,
and stops for schedules no live peon registers any more. Time is injected (``now=``)."""

from __future__ import annotations

import datetime as dt
import json
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.sql import Sql
from workcraft.app.schedules import Schedule
from workcraft.config.settings import Settings
from workcraft.core import Workcraft
from workcraft.data import Database, Store
from workcraft.db import DBConfig
from workcraft.errors import UsageError
from workcraft.janitor import EnqueueSchedules
from workcraft.janitor.schedules import occurrence_key
from workcraft.loader import load_app
from workcraft.peon import Peon, PeonOptions

SETTINGS = Settings(DB_PEON_HEARTBEAT_INTERVAL=1, DB_SETUP_WAIT_TIME_BEFORE_WORKER_DECLARED_DEAD=60)
T0 = dt.datetime(2030, 1, 1, 12, 0, 30)  # naive UTC, as sweeps take it


def make_app() -> Workcraft:
    app = Workcraft()

    @app.task("tick", every=60)
    def tick() -> None: ...

    @app.task("nightly", cron="0 3 * * *")
    def nightly() -> None: ...

    @app.task("report")
    def report(team: str, *, full: bool = False) -> str:
        return team

    app.schedule(
        "report-ops",
        "report",
        cron="*/5 * * * *",
        task_args=["ops"],
        task_kwargs={"full": True},
        queue="reports",
        priority=-1,
    )
    return app


@pytest.fixture
def registered(db_config: DBConfig, sql: Sql) -> Iterator[Peon]:
    """A peon (in this process) that registered the app's schedules. The sweeps here run at
    injected times in 2030, so the registration is dated to cover them."""
    peon = Peon(make_app(), Database(db_config), SETTINGS, PeonOptions(worker_id="sched-peon"))
    assert peon.start()
    assert peon.registration.heartbeat is not None
    peon.registration.heartbeat.stop_event.set()  # its touches would move seen_at back
    sql.run("UPDATE schedules SET seen_at = '2037-01-01'")
    yield peon
    peon.shutdown()


@pytest.fixture
def make_sweep(db_config: DBConfig) -> Iterator[Callable[[], EnqueueSchedules]]:
    stores: list[Store] = []

    def make() -> EnqueueSchedules:
        store = Store(db_config, name=f"sweep-{len(stores)}")
        stores.append(store)
        return EnqueueSchedules(store, SETTINGS)

    yield make
    for store in stores:
        store.close()


def schedules(sql: Sql) -> dict[str, dict[str, object]]:
    return {str(r["name"]): r for r in sql.rows("SELECT * FROM schedules")}


def tasks(sql: Sql, name: str | None = None) -> list[dict[str, object]]:
    query = "SELECT * FROM bountyboard"
    if name is not None:
        return sql.rows(query + " WHERE task_name = %s ORDER BY run_at", (name,))
    return sql.rows(query)


def test_peons_register_their_schedules(registered: Peon, sql: Sql) -> None:
    rows = schedules(sql)
    assert set(rows) == {"tick", "nightly", "report-ops"}
    assert rows["tick"]["every_seconds"] == 60 and rows["tick"]["cron"] is None
    assert rows["nightly"]["cron"] == "0 3 * * *"
    ops = rows["report-ops"]
    assert (ops["task_name"], ops["queue"], ops["priority"]) == ("report", "reports", -1)
    assert json.loads(str(ops["payload"])) == {"task_args": ["ops"], "task_kwargs": {"full": True}}
    assert all(row["active"] == 1 and row["next_run_at"] is None for row in rows.values())


def test_each_occurrence_is_enqueued_once(
    registered: Peon, make_sweep: Callable[[], EnqueueSchedules], sql: Sql
) -> None:
    sweep = make_sweep()
    first = sweep.run_once(now=T0)
    assert first.counts == {"schedules_started": 3}
    assert tasks(sql) == []  # a new schedule waits for its first occurrence
    assert schedules(sql)["tick"]["next_run_at"] == dt.datetime(2030, 1, 1, 12, 1)
    assert schedules(sql)["report-ops"]["next_run_at"] == dt.datetime(2030, 1, 1, 12, 5)

    at_tick = dt.datetime(2030, 1, 1, 12, 1, 0, 500)
    assert sweep.run_once(now=at_tick).counts == {"scheduled_tasks": 1}
    assert sweep.run_once(now=at_tick).counts == {}  # same moment again: nothing
    (tick,) = tasks(sql, "tick")
    assert tick["unique_key"] == "schedule:tick@2030-01-01T12:01:00.000000Z"
    assert schedules(sql)["tick"]["last_task_id"] == tick["id"]

    at_report = dt.datetime(2030, 1, 1, 12, 5, 1)
    assert sweep.run_once(now=at_report).counts == {"scheduled_tasks": 2}
    (report,) = tasks(sql, "report")
    assert (report["queue"], report["priority"]) == ("reports", -1)
    assert json.loads(str(report["payload"])) == {
        "task_args": ["ops"],
        "task_kwargs": {"full": True},
    }


def test_after_a_downtime_only_the_latest_missed_occurrence_runs(
    registered: Peon, make_sweep: Callable[[], EnqueueSchedules], sql: Sql
) -> None:
    sweep = make_sweep()
    sweep.run_once(now=T0)
    later = T0 + dt.timedelta(hours=3, seconds=10)  # 180 ticks missed, a nightly not yet
    result = sweep.run_once(now=later)
    assert result.counts == {"scheduled_tasks": 2}  # one tick, one report
    (tick,) = tasks(sql, "tick")
    assert tick["unique_key"] == "schedule:tick@2030-01-01T15:00:00.000000Z"
    assert any("missed occurrences" in m and "tick" in m for m in result.messages)
    assert schedules(sql)["tick"]["next_run_at"] == dt.datetime(2030, 1, 1, 15, 1)


def test_two_janitors_racing_enqueue_every_occurrence_once(
    registered: Peon, make_sweep: Callable[[], EnqueueSchedules], sql: Sql
) -> None:
    sweeps = [make_sweep(), make_sweep()]
    sweeps[0].run_once(now=T0)
    moments = [T0 + dt.timedelta(seconds=15 * n) for n in range(1, 41)]  # 10 minutes
    errors: list[BaseException] = []
    # Both janitors see the same clock: each moment, both sweep at once. (Without the
    # barrier one thread's clock could run minutes ahead while the other holds the row,
    # which is a downtime for the one ahead: "only the latest missed occurrence".)
    together = threading.Barrier(2, timeout=30)

    def run(sweep: EnqueueSchedules) -> None:
        try:
            for moment in moments:
                together.wait()
                sweep.run_once(now=moment)
        except BaseException as exc:
            errors.append(exc)
            together.abort()

    threads = [threading.Thread(target=run, args=(sweep,)) for sweep in sweeps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    ticks = [row["unique_key"] for row in tasks(sql, "tick")]
    assert len(ticks) == len(set(ticks)) == 10  # 12:01 ... 12:10
    assert len(tasks(sql, "report")) == 2  # 12:05 and 12:10


def test_a_stale_janitor_cannot_enqueue_an_occurrence_again(
    registered: Peon,
    make_sweep: Callable[[], EnqueueSchedules],
    sql: Sql,
    db_config: DBConfig,
) -> None:
    """A leader frozen after reading a due schedule wakes up after the new leader enqueued
    it (and the task even finished): its conditional UPDATE matches nothing."""
    sweep = make_sweep()
    sweep.run_once(now=T0)
    occurrence = dt.datetime(2030, 1, 1, 12, 1)
    sweep.run_once(now=occurrence)
    sql.run("UPDATE bountyboard SET status = 'SUCCESS'")  # the key is free again
    with Store(db_config, name="stale") as store:
        recorded = store.call(
            lambda q: q.schedules.record_occurrence(
                name="tick",
                occurrence=occurrence,
                next_run_at=occurrence + dt.timedelta(minutes=1),
                task_id="stale-task",
            )
        )
    assert not recorded
    assert len(tasks(sql, "tick")) == 1


def test_a_schedule_no_live_peon_registers_goes_inactive(
    registered: Peon, make_sweep: Callable[[], EnqueueSchedules], sql: Sql
) -> None:
    sweep = make_sweep()
    sweep.run_once(now=T0)
    # Removed from the code: the peons that run now no longer touch it.
    sql.run("UPDATE schedules SET seen_at = %s WHERE name = 'nightly'", (T0,))
    sql.run(
        "UPDATE schedules SET seen_at = %s WHERE name <> 'nightly'", (T0 + dt.timedelta(days=1),)
    )
    result = sweep.run_once(now=T0 + dt.timedelta(days=1))
    assert result.counts.get("schedules_deactivated") == 1
    assert schedules(sql)["nightly"]["active"] == 0
    assert tasks(sql, "nightly") == []
    assert any("Schedule nightly is inactive" in m for m in result.messages)
    # A peon with it in its code brings it back (its heartbeat touches it).
    assert registered.registration.heartbeat is not None
    registered.registration.heartbeat.beat()
    assert schedules(sql)["nightly"]["active"] == 1


def test_changing_the_timing_restarts_the_schedule(
    registered: Peon,
    make_sweep: Callable[[], EnqueueSchedules],
    sql: Sql,
    db_config: DBConfig,
) -> None:
    make_sweep().run_once(now=T0)
    changed = Schedule("tick", "tick", every=30)
    with Store(db_config, name="peon2") as store:
        store.call(lambda q: q.schedules.upsert(changed.definition()))
    assert schedules(sql)["tick"]["next_run_at"] is None
    unchanged = Schedule("nightly", "nightly", cron="0 3 * * *")
    with Store(db_config, name="peon3") as store:
        store.call(lambda q: q.schedules.upsert(unchanged.definition()))
    assert schedules(sql)["nightly"]["next_run_at"] is not None


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        ({"cron": "61 * * * *"}, "invalid cron '61 \\* \\* \\* \\*'"),
        ({"cron": "* * *"}, "Wrong number of fields"),
        ({"every": 0}, "every must be a number of seconds > 0"),
        ({"every": -5}, "every must be a number of seconds > 0"),
        ({"every": "60"}, "every must be a number of seconds > 0"),
        ({"cron": "* * * * *", "every": 60}, "cron or every"),
        ({}, "cron or every"),
    ],
)
def test_bad_schedules_raise_naming_the_schedule(kwargs: dict[str, object], text: str) -> None:
    app = Workcraft()
    with pytest.raises(ValueError, match=f"schedule 'nightly': .*{text}"):
        app.schedule("nightly", "job", **kwargs)  # type: ignore[arg-type]
    if kwargs:
        with pytest.raises(ValueError, match="schedule 'nightly'"):
            app.task("nightly", **kwargs)(lambda: None)  # type: ignore[arg-type]


def test_a_bad_schedule_is_reported_at_peon_start(tmp_path: Path) -> None:
    (tmp_path / "bad_schedule_app.py").write_text(
        "from workcraft.core import workcraft\n"
        "app = workcraft()\n"
        "@app.task('hourly', cron='0 25 * * *')\n"
        "def hourly():\n"
        "    pass\n",
        encoding="utf-8",
    )
    sys.path.insert(0, str(tmp_path))
    try:
        with pytest.raises(UsageError, match="schedule 'hourly': invalid cron"):
            load_app("bad_schedule_app.app")
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("bad_schedule_app", None)


def test_occurrence_keys_fit_the_column() -> None:
    moment = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
    assert occurrence_key("x", moment) == "schedule:x@2030-01-01T00:00:00.000000Z"
    assert len(occurrence_key("n" * 255, moment)) <= 255
