"""A fault scenario that needs no peon process: the dead-peon sweep right after a server
restart, in the test process against a private server (the scenarios with real processes
and signals: ``tests/acceptance/test_faults.py``)."""

from __future__ import annotations

from tests.support.sql import Sql
from workcraft.db import DBConfig


def test_no_peon_is_declared_dead_while_the_server_has_just_restarted(
    private_db: DBConfig,
) -> None:
    """Silence that began with a server restart proves nothing: until the server has been
    up for the dead threshold, the dead-peon sweep declares nobody dead."""
    from workcraft.config.settings import Settings
    from workcraft.data import Store
    from workcraft.janitor.sweeps import DeadPeons

    settings = Settings(DB_SETUP_WAIT_TIME_BEFORE_WORKER_DECLARED_DEAD=60)
    sql = Sql(private_db)
    try:
        sql.run(
            "INSERT INTO peon (id, status, last_heartbeat, session) "
            "VALUES ('silent', 'WORKING', NOW(6) - INTERVAL 100 SECOND, 's')"
        )
    finally:
        sql.close()
    with Store(private_db) as store:
        result = DeadPeons(store, settings).run_once()
        assert result.counts == {"skipped_server_restarted": 1}
        assert store.call(lambda q: q.peons.get("silent")).status == "WORKING"  # type: ignore[union-attr]
        result = DeadPeons(store, settings, restart_grace=False).run_once()
        assert result.counts == {"peons_declared_dead": 1}
