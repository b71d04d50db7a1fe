"""Real ``Janitor`` objects in the test process: leadership, losing it, sweeping only while
leading. Each janitor's lock lives on its own connection, as in a janitor process."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

import pytest

from tests.support.sql import Sql, admin_connection
from workcraft.config.settings import Settings
from workcraft.data import Database
from workcraft.db import DBConfig
from workcraft.janitor import Janitor, LockBusy, sweep_once
from workcraft.janitor.service import SWEEPS

SETTINGS = Settings(
    DB_PEON_HEARTBEAT_INTERVAL=1,
    DB_SETUP_WAIT_TIME_BEFORE_WORKER_DECLARED_DEAD=3,
    JANITOR_LEADER_RETRY_INTERVAL=0.2,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def make_janitor(db_config: DBConfig) -> Iterator[Callable[..., Janitor]]:
    made: list[Janitor] = []

    def make(janitor_id: str, clock: Callable[[], float] | None = None) -> Janitor:
        janitor = Janitor(Database(db_config), SETTINGS, janitor_id, clock=clock or FakeClock())
        made.append(janitor)
        return janitor

    yield make
    for janitor in made:
        janitor.step_down()
        janitor.close()


def kill_connection(config: DBConfig, connection_id: int) -> None:
    conn = admin_connection(config)
    try:
        conn.cursor().execute("KILL CONNECTION %s", (connection_id,))  # type: ignore[attr-defined]
    finally:
        conn.close()  # type: ignore[attr-defined]


def lock_connection_id(janitor: Janitor) -> int:
    return janitor.lock._store.connection_id()


def logs(sql: Sql) -> list[str]:
    return [str(r["message"]) for r in sql.rows("SELECT message FROM logs ORDER BY id")]


def test_one_leader_and_the_standby_waits(make_janitor: Callable[..., Janitor]) -> None:
    first, second = make_janitor("j1"), make_janitor("j2")
    assert first.try_lead()
    assert not second.try_lead()
    assert first.still_leader()
    first.step_down()
    assert second.try_lead()


def test_a_leader_that_loses_its_lock_connection_stops_sweeping_and_a_standby_leads(
    make_janitor: Callable[..., Janitor], db_config: DBConfig, sql: Sql
) -> None:
    clock = FakeClock()
    leader, standby = make_janitor("j1", clock), make_janitor("j2")
    assert leader.try_lead()
    sql.run(
        "INSERT INTO peon (id, status, last_heartbeat, session)"
        " VALUES ('gone', 'IDLE', NOW(6) - INTERVAL 1 HOUR, 's')"
    )
    kill_connection(db_config, lock_connection_id(leader))
    dead_peons = leader.sweeps[0]
    assert leader.run_sweep(dead_peons) is None  # re-checked the lock first: not leading
    assert not leader.is_leader
    assert sql.value("SELECT status FROM peon WHERE id = 'gone'") == "IDLE"
    assert any("j1 lost leadership" in line for line in logs(sql))
    # The standby takes the lock; the old leader sits out two retry intervals first.
    assert standby.try_lead()
    assert not leader._may_contend(SETTINGS.JANITOR_LEADER_RETRY_INTERVAL)
    clock.now += 2 * SETTINGS.JANITOR_LEADER_RETRY_INTERVAL + 0.01
    assert leader._may_contend(SETTINGS.JANITOR_LEADER_RETRY_INTERVAL)
    assert not leader.try_lead()
    result = standby.run_sweep(standby.sweeps[0], now=None)
    assert result is not None
    assert sql.value("SELECT status FROM peon WHERE id = 'gone'") == "OFFLINE"


def test_sweeps_take_an_injected_now(make_janitor: Callable[..., Janitor], sql: Sql) -> None:
    janitor = make_janitor("j1")
    assert janitor.try_lead()
    sql.run(
        "INSERT INTO peon (id, status, last_heartbeat, session)"
        " VALUES ('quiet', 'IDLE', '2030-01-01 00:00:00', 's')"
    )
    dead_peons = janitor.sweeps[0]
    early = janitor.run_sweep(dead_peons, now=dt.datetime(2030, 1, 1, 0, 0, 2))
    assert early is not None and early.counts == {}
    late = janitor.run_sweep(dead_peons, now=dt.datetime(2030, 1, 1, 0, 0, 4))
    assert late is not None and late.counts == {"peons_declared_dead": 1}


def test_sweep_once_refuses_while_another_janitor_leads(
    make_janitor: Callable[..., Janitor], db_config: DBConfig
) -> None:
    leader = make_janitor("j1")
    assert leader.try_lead()
    with pytest.raises(LockBusy, match="another janitor holds"):
        sweep_once(Database(db_config), SETTINGS, "cron", lock_timeout=0.2)
    leader.step_down()
    results = sweep_once(Database(db_config), SETTINGS, "cron", lock_timeout=1)
    assert [r.sweep for r in results] == [cls.name for cls in SWEEPS]
