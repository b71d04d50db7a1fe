"""The claim transaction runs at REPEATABLE READ (it drains ~1.5x faster than READ COMMITTED
here). What that costs, checked: next-key locks can make a producer's INSERT next to a row
being claimed wait for that claim's COMMIT. Producers are not held up while peons claim
hard, and a claim left open by a frozen peon holds them only until the server closes its
silent session (``claim_idle_timeout``)."""

from __future__ import annotations

import contextlib
import statistics
import threading
import time
import uuid
from collections.abc import Iterator

import pytest

from tests.support.sql import Sql
from workcraft.config.settings import Settings
from workcraft.core import Workcraft
from workcraft.data import Database, Queries, RetryPolicy, Session
from workcraft.db import DBConfig
from workcraft.errors import WorkcraftError
from workcraft.peon import Peon, PeonOptions
from workcraft.peon.peon import CLAIM_ISOLATION, claim_idle_timeout

SETTINGS = Settings(
    DB_POLLING_INTERVAL=0.05,
    DB_PEON_HEARTBEAT_INTERVAL=0.2,
    DB_SETUP_WAIT_TIME_BEFORE_WORKER_DECLARED_DEAD=5,
    PEON_SHUTDOWN_GRACE_SECONDS=1,
)
SENDS = 300


def noop_app() -> Workcraft:
    app = Workcraft()

    @app.task("noop")
    def noop() -> None:
        return None

    return app


@pytest.fixture
def draining_peons(db_config: DBConfig) -> Iterator[list[Peon]]:
    """Two peons (concurrency 4) claiming as fast as they can, each in a thread."""
    stop = threading.Event()
    peons = [
        Peon(noop_app(), Database(db_config), SETTINGS, PeonOptions(f"p{n}", concurrency=4))
        for n in (1, 2)
    ]

    def loop(peon: Peon) -> None:
        while not stop.is_set():
            if not peon.step().busy:
                time.sleep(0.001)

    threads = []
    for peon in peons:
        assert peon.start()
        threads.append(threading.Thread(target=loop, args=(peon,), daemon=True))
        threads[-1].start()
    yield peons
    stop.set()
    for thread in threads:
        thread.join(10)
    for peon in peons:
        peon.shutdown()


def test_the_claim_connection_runs_at_repeatable_read(db_config: DBConfig) -> None:
    peon = Peon(noop_app(), Database(db_config), SETTINGS, PeonOptions("p-iso"))
    assert peon.start()
    try:
        peon.step()  # one claim transaction
        level = peon.store.call(lambda q: q.schema.session_isolation())
    finally:
        peon.shutdown()
    assert level == CLAIM_ISOLATION.replace(" ", "-") == "REPEATABLE-READ"


def test_producers_are_not_held_up_while_peons_claim(
    draining_peons: list[Peon], db_config: DBConfig, sql: Sql
) -> None:
    producer = Workcraft()
    waits = []
    try:
        for n in range(SENDS):
            started = time.perf_counter()
            # Alternate with a queue nobody claims, whose rows sort next to DEFAULT's.
            producer.send_task_sync(
                "noop", queue="DEFAULT" if n % 2 else "CLAIMED_NEVER", db_config=db_config
            )
            waits.append(time.perf_counter() - started)
    finally:
        producer.close()
    median, worst = statistics.median(waits), max(waits)
    print(
        f"FIGURES producer send during claims: median {median * 1000:.1f} ms, "
        f"max {worst * 1000:.1f} ms over {SENDS}"
    )
    # An INSERT waits at most for a claim transaction in flight (about a millisecond);
    # a wait on a lock held for long would show here as seconds.
    assert median < 0.05, waits
    assert worst < 2.0, waits
    deadline = time.monotonic() + 30
    while (
        sql.value(
            "SELECT COUNT(*) FROM bountyboard WHERE queue = 'DEFAULT' AND status <> 'SUCCESS'"
        )
        and time.monotonic() < deadline
    ):
        time.sleep(0.05)
    assert sql.value("SELECT COUNT(*) FROM bountyboard WHERE status = 'SUCCESS'") == SENDS // 2


def test_a_claim_left_open_holds_a_neighbouring_insert_until_its_session_times_out(
    db_config: DBConfig, sql: Sql
) -> None:
    """A peon frozen mid-claim: its transaction is open and silent. An INSERT into the gap
    before the row it locked waits, and goes through once the server closes the frozen
    session (rolling it back), not after innodb_lock_wait_timeout's 50 s."""
    idle_timeout = 2
    sql.run(
        "INSERT INTO bountyboard (id, task_name, queue) VALUES (%s, 'noop', 'q')",
        (str(uuid.uuid4()),),
    )
    store = Database(db_config).store(
        "frozen-peon",
        RetryPolicy(give_up_after=0),
        session=Session(isolation=CLAIM_ISOLATION, autocommit=False, idle_timeout=idle_timeout),
    )
    locked = threading.Event()
    thawed = threading.Event()

    def frozen_claim(q: Queries, _attempt: int) -> None:
        assert q.tasks.lock_claimable(queues=["q"], task_names=["noop"], limit=1)
        locked.set()
        thawed.wait(30)  # silent: no statement while "frozen"

    def run() -> None:
        # The server closes the session: the claim never happened.
        with contextlib.suppress(WorkcraftError):
            store.transaction(frozen_claim)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        assert locked.wait(10)
        started = time.perf_counter()
        # 'p' sorts just before 'q' in ix_bountyboard_ready: the gap the claim locked.
        sql.run(
            "INSERT INTO bountyboard (id, task_name, queue) VALUES (%s, 'noop', 'p')",
            (str(uuid.uuid4()),),
        )
        waited = time.perf_counter() - started
    finally:
        thawed.set()
        thread.join(10)
        store.close()
    print(
        f"FIGURES insert beside a frozen claim waited {waited:.2f} s "
        f"(claim session idle timeout {idle_timeout} s)"
    )
    assert idle_timeout - 1 <= waited <= idle_timeout + 5
    assert sql.value("SELECT status FROM bountyboard WHERE queue = 'q'") == "PENDING"


def test_the_claim_sessions_idle_timeout_is_three_polls_within_bounds() -> None:
    assert claim_idle_timeout(Settings()) == 15  # 3 x 5 s polling
    assert claim_idle_timeout(Settings(DB_POLLING_INTERVAL=0.2)) == 10  # at least 10 s
    slow = Settings(DB_POLLING_INTERVAL=60, DB_SETUP_WAIT_TIME_BEFORE_WORKER_DECLARED_DEAD=120)
    assert claim_idle_timeout(slow) == 120  # never past the dead-peon threshold
