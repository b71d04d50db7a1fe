"""Lease-mode leadership (for clusters where GET_LOCK is per node), in the test process:
one holder at a time, a term that grows with every change of leader, takeover after expiry,
and sweeps fenced by their term so a deposed leader writes nothing."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from tests.support.sql import Sql
from workcraft.cli.render import headline
from workcraft.config.settings import Settings
from workcraft.data import Database
from workcraft.db import DBConfig
from workcraft.errors import ConfigError
from workcraft.janitor import Janitor
from workcraft.janitor.lease import LeaseLeader
from workcraft.janitor.mode import leader_mode
from workcraft.janitor.sweeps import DeadPeons, NotLeader
from workcraft.views.board import snapshot

LEASE = 1.0
SETTINGS = Settings(
    DB_PEON_HEARTBEAT_INTERVAL=1,
    DB_SETUP_WAIT_TIME_BEFORE_WORKER_DECLARED_DEAD=3,
    JANITOR_LEADER_RETRY_INTERVAL=0.2,
    JANITOR_LEADER_MODE="lease",
    JANITOR_LEASE_SECONDS=LEASE,
)


@pytest.fixture
def make_leader(db_config: DBConfig) -> Iterator[Callable[[str], LeaseLeader]]:
    made: list[LeaseLeader] = []

    def make(janitor_id: str) -> LeaseLeader:
        leader = LeaseLeader(Database(db_config), janitor_id, LEASE)
        made.append(leader)
        return leader

    yield make
    for leader in made:
        leader.release()


def test_one_holder_and_a_new_term_after_expiry(make_leader: Callable[[str], LeaseLeader]) -> None:
    first, second = make_leader("j1"), make_leader("j2")
    assert first.acquire()
    assert first.term == 1
    assert not second.acquire()
    assert first.check()  # renewal keeps the term
    assert first.term == 1
    time.sleep(LEASE + 0.3)  # the leader froze: no renewal
    assert second.acquire()
    assert second.term == 2
    assert not first.check()  # woken up: the lease is someone else's
    assert not first.held


def test_a_leader_retaking_its_lapsed_lease_gets_a_new_term(
    make_leader: Callable[[str], LeaseLeader],
) -> None:
    leader = make_leader("j1")
    assert leader.acquire()
    time.sleep(LEASE + 0.3)
    assert not leader.check()  # lapsed: this term is over, even with nobody else around
    assert leader.acquire()
    assert leader.term == 2


def test_release_lets_a_standby_lead_at_once(make_leader: Callable[[str], LeaseLeader]) -> None:
    first, second = make_leader("j1"), make_leader("j2")
    assert first.acquire()
    first.release()
    assert second.acquire()
    assert second.term == 2


def test_a_deposed_leaders_sweep_writes_nothing(
    make_leader: Callable[[str], LeaseLeader], db_config: DBConfig, sql: Sql
) -> None:
    old, new = make_leader("old"), make_leader("new")
    assert old.acquire()
    sql.run(
        "INSERT INTO peon (id, status, last_heartbeat, session)"
        " VALUES ('gone', 'IDLE', NOW(6) - INTERVAL 1 HOUR, 's')"
    )
    time.sleep(LEASE + 0.3)
    assert new.acquire()
    store = Database(db_config).store("old-sweep")
    try:
        with pytest.raises(NotLeader):
            DeadPeons(store, SETTINGS, restart_grace=False).run_once(fence=old.fence)
    finally:
        store.close()
    assert sql.value("SELECT status FROM peon WHERE id = 'gone'") == "IDLE"
    with Database(db_config).store("new-sweep") as store:
        result = DeadPeons(store, SETTINGS, restart_grace=False).run_once(fence=new.fence)
    assert result.counts == {"peons_declared_dead": 1}


def test_janitors_in_lease_mode_log_their_term(db_config: DBConfig, sql: Sql) -> None:
    first = Janitor(Database(db_config), SETTINGS, "lease-a")
    second = Janitor(Database(db_config), SETTINGS, "lease-b")
    try:
        assert first.mode == second.mode == "lease"
        assert first.try_lead()
        assert not second.try_lead()
        sql.run(
            "INSERT INTO peon (id, status, last_heartbeat, session)"
            " VALUES ('gone', 'IDLE', NOW(6) - INTERVAL 1 HOUR, 's')"
        )
        result = first.run_sweep(first.sweeps[0])
        assert result is not None and result.counts == {"peons_declared_dead": 1}
        rows = sql.rows("SELECT message, janitor, term FROM logs ORDER BY id")
        assert rows[0]["message"] == "Janitor lease-a became leader (lease term 1)"
        assert {(r["janitor"], r["term"]) for r in rows} == {("lease-a", 1)}
        leader = sql.rows("SELECT holder, term, detail FROM janitor_state WHERE name = 'leader'")
        assert leader == [{"holder": "lease-a", "term": 1, "detail": "lease"}]
        # status shows the mode, the holder and the term
        with Database(db_config).store("status") as store:
            board = snapshot(store, SETTINGS, log_lines=0)
        assert board.leader is not None and board.leader["term"] == 1
        assert "janitor leader lease-a (lease, term 1;" in headline(board).plain
    finally:
        first.step_down()
        second.step_down()
        first.close()
        second.close()


def test_auto_mode_is_get_lock_on_a_single_server(db_config: DBConfig) -> None:
    assert leader_mode(Database(db_config), "auto") == "get_lock"
    assert leader_mode(Database(db_config), "lease") == "lease"
    with pytest.raises(ConfigError, match="JANITOR_LEADER_MODE"):
        leader_mode(Database(db_config), "raft")
    with pytest.raises(ConfigError, match="JANITOR_LEADER_MODE must be one of"):
        Settings().with_overrides(JANITOR_LEADER_MODE="raft")
