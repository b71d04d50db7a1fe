"""The claim path without SKIP LOCKED (``CLAIM_MODE=optimistic``, for TiDB and older Vitess),
forced on MariaDB: same order, same limits, nothing claimed twice, nothing claimed by a peon
that lost its identity. Real peons in threads of the test process."""

from __future__ import annotations

import threading
import time
from typing import Any

from tests.support.sql import Sql
from workcraft import current_task
from workcraft.config.settings import Settings
from workcraft.core import Workcraft
from workcraft.data import Database, Store
from workcraft.db import DBConfig
from workcraft.peon import Peon, PeonOptions
from workcraft.peon.peon import detect_claim_mode

SETTINGS = Settings(DB_POLLING_INTERVAL=0.05, DB_PEON_HEARTBEAT_INTERVAL=1, CLAIM_MODE="optimistic")


def test_auto_detects_skip_locked_on_mariadb(db_config: DBConfig) -> None:
    with Store(db_config, name="detect") as store:
        assert detect_claim_mode(store) == "skip_locked"


def test_order_and_delays_are_kept(db_config: DBConfig, producer: Workcraft) -> None:
    producer.send_tasks_sync(
        [
            {"task_name": "mark", "task_args": [3], "priority": 5},
            {"task_name": "mark", "task_args": [1], "priority": -1},
            {"task_name": "mark", "task_args": [2], "priority": 0},
            {"task_name": "mark", "task_args": [0], "priority": -9, "delay": 3600},
        ],
        db_config=db_config,
    )
    order: list[int] = []
    app = Workcraft()

    @app.task("mark")
    def mark(n: int) -> None:
        order.append(n)

    options = PeonOptions(worker_id="opt-order", burst=True)
    peon = Peon(app, Database(db_config), SETTINGS, options)
    assert peon.exchange.claim_mode == "optimistic"
    assert peon.run() == 0
    assert order == [1, 2, 3]


def test_limits_hold_and_nothing_runs_twice(
    db_config: DBConfig, producer: Workcraft, sql: Sql
) -> None:
    runs: list[tuple[str, str, float, float]] = []
    lock = threading.Lock()
    app = Workcraft()

    @app.task("keyed")
    def keyed(key: str) -> None:
        started = time.monotonic()
        time.sleep(0.01)
        with lock:
            runs.append((current_task().id, key, started, time.monotonic()))

    limits = {"a": 1, "b": 2}
    specs: list[dict[str, Any]] = [
        {"task_name": "keyed", "task_args": [k], "concurrency_key": k, "concurrency_limit": lim}
        for n in range(40)
        for k, lim in [list(limits.items())[n % 2]]
    ]
    specs += [{"task_name": "keyed", "task_args": ["-"]} for _ in range(40)]
    ids = producer.send_tasks_sync(specs, db_config=db_config)
    peons = [
        Peon(
            app,
            Database(db_config),
            SETTINGS,
            PeonOptions(worker_id=f"opt-{n}", concurrency=3, burst=True),
        )
        for n in range(4)
    ]
    threads = [threading.Thread(target=peon.run) for peon in peons]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    while sql.value("SELECT COUNT(*) FROM bountyboard WHERE status = 'SUCCESS'") != len(ids):
        assert time.monotonic() < deadline, "not drained"
        time.sleep(0.05)
    for peon in peons:
        peon.request_stop()
    for thread in threads:
        thread.join(15)
    assert sorted(r[0] for r in runs) == sorted(ids)  # each once
    for key, limit in limits.items():
        events = sorted(
            [(r[2], 1) for r in runs if r[1] == key] + [(r[3], -1) for r in runs if r[1] == key]
        )
        level = peak = 0
        for _, change in events:
            level += change
            peak = max(peak, level)
        assert peak <= limit, (key, peak)


def test_a_peon_that_lost_its_identity_claims_nothing(
    db_config: DBConfig, producer: Workcraft, sql: Sql
) -> None:
    app = Workcraft()

    @app.task("x")
    def x() -> None: ...

    peon = Peon(app, Database(db_config), SETTINGS, PeonOptions(worker_id="opt-lost"))
    assert peon.start()
    try:
        sql.run("UPDATE peon SET status = 'OFFLINE' WHERE id = 'opt-lost'")
        producer.send_task_sync("x", db_config=db_config)
        assert peon.step().claimed == []
        assert sql.value("SELECT status FROM bountyboard") == "PENDING"
    finally:
        peon.shutdown()
