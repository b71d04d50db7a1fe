"""The peon: registers, heartbeats, claims, runs tasks, writes outcomes. It never sweeps.

The main thread owns the claim/complete connection and runs ``step()`` in a loop: collect
finished outcomes, hand them in and claim up to the free slots in one transaction
(``Exchange``), give the claims to the worker threads (``WorkerPool``). An idle peon sends
one plain read per poll plus its heartbeat (``Registration``).

A test can drive a peon in its own process: ``start()``, then ``step()`` as often as it
likes (or ``run()`` in a thread), then ``shutdown()``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import logging
import math
import random
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType

from workcraft.app import Workcraft
from workcraft.config.settings import Settings
from workcraft.data import ClaimedTask, Database, RetryPolicy, Session, Store
from workcraft.errors import DatabaseUnavailable, WorkcraftError
from workcraft.ids import default_process_id
from workcraft.models import PeonStatus
from workcraft.peon.exchange import Exchange
from workcraft.peon.registration import Identity, Registration
from workcraft.peon.runner import execute, run_setup_handler
from workcraft.peon.workers import WorkerPool

log = logging.getLogger("workcraft.peon")

# The claim/complete connection's isolation level. REPEATABLE READ (the server's default)
# drains about 1.5x faster than READ COMMITTED on MariaDB 10.11 here; its price is next-key
# locks: a producer inserting next to a row being claimed waits for that claim's COMMIT
# (about a millisecond). docs/performance.md has the measurements.
CLAIM_ISOLATION = "REPEATABLE READ"
# The shortest the server may keep a silent claim connection (see claim_idle_timeout).
MIN_CLAIM_IDLE_TIMEOUT = 10


def claim_idle_timeout(settings: Settings) -> int:
    """How long the server keeps the claim connection when it says nothing: a peon frozen
    mid-claim (SIGSTOP, a stalled VM) holds row and gap locks until then, and a producer
    inserting next to them waits as long. An idle peon polls on it every polling interval,
    so three of those (at least 10 s), and never beyond the dead-peon threshold. A busy
    peon's silent connection simply reconnects."""
    polls = 3 * settings.DB_POLLING_INTERVAL
    dead = settings.DB_SETUP_WAIT_TIME_BEFORE_WORKER_DECLARED_DEAD
    return math.ceil(min(dead, max(MIN_CLAIM_IDLE_TIMEOUT, polls)))


@dataclasses.dataclass(frozen=True)
class PeonOptions:
    worker_id: str = dataclasses.field(default_factory=default_process_id)
    queues: tuple[str, ...] = ("DEFAULT",)
    concurrency: int = 1
    burst: bool = False
    # How long to wait for an unreachable database at start (None: as long as it takes).
    startup_timeout: float | None = None


@dataclasses.dataclass(frozen=True)
class Step:
    """What one pass of the loop did."""

    claimed: list[ClaimedTask]
    written: int  # outcomes handed in (fenced-out ones included)
    fenced_out: int

    @property
    def busy(self) -> bool:
        return bool(self.claimed)


def detect_claim_mode(store: Store) -> str:
    """``optimistic`` on servers whose SKIP LOCKED cannot be trusted (TiDB accepts it and
    takes no lock; older Vitess refuses it), ``skip_locked`` elsewhere."""
    version, comment = store.call(lambda q: q.tasks.server_kind())
    if "tidb" in version.lower() or "vitess" in comment.lower():
        return "optimistic"
    return "skip_locked"


class Peon:
    def __init__(
        self,
        app: Workcraft,
        db: Database,
        settings: Settings,
        options: PeonOptions,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if options.concurrency < 1:
            raise ValueError("concurrency must be >= 1")
        if not options.queues:
            raise ValueError("a peon needs at least one queue")
        self.app = app
        self.db = db
        self.settings = settings
        self.options = options
        self.clock = clock
        # First signal: drain. Second signal (or grace period over): stop now.
        self.stopping = threading.Event()
        self.hard_stop = threading.Event()
        self.wake = threading.Event()
        self.stop_deadline: float | None = None
        self.tasks_done = 0
        self.store = db.store(
            "peon",
            RetryPolicy.forever(self.hard_stop),
            session=Session(
                isolation=CLAIM_ISOLATION,
                autocommit=False,
                idle_timeout=claim_idle_timeout(settings),
            ),
        )
        self.registration = Registration(
            db,
            Identity(
                options.worker_id, options.queues, options.concurrency, tuple(sorted(app.tasks))
            ),
            settings.DB_PEON_HEARTBEAT_INTERVAL,
            self.hard_stop,
            on_lost=self.wake.set,
            on_cancel=self._on_cancel_requests,
            running=lambda: tuple(self.pool.in_flight),
            schedules=[schedule.definition() for schedule in app.schedules.values()],
        )
        self.exchange = Exchange(
            self.store,
            options.worker_id,
            options.queues,
            sorted(app.tasks),
            pause_check_interval=settings.DB_POLLING_INTERVAL,
            clock=clock,
            claim_mode="optimistic" if settings.CLAIM_MODE == "optimistic" else "skip_locked",
        )
        self.pool = WorkerPool(
            options.concurrency,
            functools.partial(execute, app),
            self.wake,
            timeout_of=lambda task: task.timeout or app.timeouts.get(task.task_name),
            clock=clock,
        )
        self._probe_first = False  # after an empty claim, idle polls use the cheap probe

    @property
    def worker_id(self) -> str:
        return self.options.worker_id

    @property
    def session(self) -> str:
        return self.registration.session

    def _on_cancel_requests(self, task_ids: set[str]) -> None:
        """From the heartbeat thread: these running tasks were asked to stop."""
        self.pool.request_cancel(task_ids)

    # -- lifecycle ------------------------------------------------------------------------
    def run(self) -> int:
        """Run until signalled (or, with ``burst``, until nothing is left). Returns 0."""
        if not self.start():
            return 0
        try:
            self._loop()
        finally:
            self.shutdown()
        return 0

    def start(self) -> bool:
        """Register, run the setup handler, start the workers. False if asked to stop
        while the database was still unreachable."""
        # While the database is unreachable at start, the first signal ends the wait.
        try:
            wait = RetryPolicy(give_up_after=self.options.startup_timeout, stop_event=self.stopping)
            with self.db.store("peon", wait) as store:
                self.registration.register(store)
        except DatabaseUnavailable:
            if self.stopping.is_set():
                log.warning("stopped before the database became reachable")
                return False
            raise
        if self.settings.CLAIM_MODE == "auto":
            self.exchange.claim_mode = detect_claim_mode(self.store)
        for schedule in self.app.schedules.values():
            if schedule.task_name not in self.app.tasks:
                log.warning(
                    "schedule %s runs task %s, which this app does not register: a peon "
                    "with that task must run it",
                    schedule.name,
                    schedule.task_name,
                )
        run_setup_handler(self.app)
        self.registration.set_status(self.store, PeonStatus.IDLE)
        self.pool.start()
        log.info(
            "peon %s ready: queues %s, concurrency %d, %s claims, tasks %s",
            self.worker_id,
            ",".join(self.options.queues),
            self.options.concurrency,
            self.exchange.claim_mode,
            ", ".join(self.exchange.task_names),
        )
        return True

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if self.stopping.is_set():
            log.warning("%s again: stopping now; unfinished tasks go back to PENDING", name)
            self.hard_stop.set()
            self.wake.set()
            return
        log.warning(
            "%s: no more claims; waiting up to %g s for %d running task(s) "
            "(send it again to stop now)",
            name,
            self.settings.PEON_SHUTDOWN_GRACE_SECONDS,
            len(self.pool.in_flight),
        )
        self.request_stop()

    def request_stop(self) -> None:
        """The first signal: claim nothing more, finish what runs within the grace period."""
        self.stop_deadline = self.clock() + self.settings.PEON_SHUTDOWN_GRACE_SECONDS
        self.stopping.set()
        self.wake.set()

    # -- one pass -------------------------------------------------------------------------
    def step(self, now: dt.datetime | None = None) -> Step:
        """Hand in finished outcomes and claim up to the free slots, in one transaction.
        ``now`` (naive UTC) stands in for the database clock when deciding which tasks are
        due, so a test can claim a delayed task without waiting for it."""
        self.wake.clear()
        self.pool.watch()
        outcomes = self.pool.collect()
        draining = self.stopping.is_set() or self.registration.lost.is_set()
        free = self.pool.free + len(outcomes)
        want = free if (free > 0 and not draining) else 0
        if want and self._probe_first and not outcomes and not self.exchange.work_available(now):
            want = 0
        if not outcomes and not want:
            return Step([], 0, 0)
        finished = {outcome.task.id for outcome in outcomes}
        running = [task_id for task_id in self.pool.in_flight if task_id not in finished]
        result = self.exchange.swap(self.session, outcomes, running, want, now)
        self.pool.written(finished)
        self.tasks_done += len(outcomes)
        if result.identity_lost:
            self.registration.mark_lost()
        self._probe_first = bool(want) and not result.claimed
        self.pool.submit(result.claimed)
        return Step(result.claimed, len(outcomes), len(result.fenced_out))

    # -- the loop -------------------------------------------------------------------------
    def _loop(self) -> None:
        while not self.hard_stop.is_set():
            step = self.step()
            if self.registration.lost.is_set() and self.pool.idle():
                if self.stopping.is_set():
                    return
                log.warning("peon %s: registering again with a new session", self.worker_id)
                self.registration.recover(self.store)
                continue
            if self.stopping.is_set():
                if self.pool.idle():
                    return
                if self.stop_deadline is not None and self.clock() > self.stop_deadline:
                    log.warning("grace period over; stopping now")
                    self.hard_stop.set()
                    return
            if self.options.burst and self.pool.idle() and not step.busy:
                log.info("burst: nothing left to run in %s", ",".join(self.options.queues))
                return
            if step.busy or self.pool.has_outcomes():
                continue
            if self.stopping.is_set() or self.registration.lost.is_set() or not self.pool.free:
                self.wake.wait(self._until_deadline(0.5))
            else:
                self.wake.wait(self._until_deadline(self._poll_wait()))

    def _until_deadline(self, wait: float) -> float:
        """``wait``, or less when a running task's timeout comes first."""
        deadline = self.pool.next_deadline()
        if deadline is None:
            return wait
        return max(0.0, min(wait, deadline - self.clock()))

    def _poll_wait(self) -> float:
        jitter = 0.0
        stddev = self.settings.DB_POLLING_INTERVAL_RANDOMNESS_STDDEV
        mean = self.settings.DB_POLLING_INTERVAL_RANDOMNESS_MEAN
        if mean or stddev:
            jitter = max(0.0, random.gauss(mean, stddev))
        return self.settings.DB_POLLING_INTERVAL + jitter

    # -- shutdown -------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Write what finished, give back what did not, mark OFFLINE, stop the threads."""
        try:
            outcomes = self.pool.collect()
            if outcomes:
                # Fenced: written only where we still own the run.
                finished = {outcome.task.id for outcome in outcomes}
                running = [t for t in self.pool.in_flight if t not in finished]
                self.exchange.swap(self.session, outcomes, running, 0)
                self.pool.written(finished)
                self.tasks_done += len(outcomes)
            unfinished = list(self.pool.in_flight.values())
            if unfinished:
                released = self.exchange.release(self.session, unfinished)
                log.warning("%d unfinished task(s) returned to PENDING", released)
                self.pool.in_flight.clear()
            # The heartbeat stops first: one that fires after OFFLINE would report the row
            # taken over.
            self.registration.stop_heartbeat()
            self.registration.deregister(self.store)
            log.info("peon %s OFFLINE after %d task(s)", self.worker_id, self.tasks_done)
        except WorkcraftError as exc:
            log.error("could not record shutdown (%s); the janitor will clean up", exc)
        finally:
            self.pool.stop()
            self.registration.stop_heartbeat()
            self.store.close()

    def threads_busy(self) -> bool:
        """True while a task function is still running (it cannot be interrupted)."""
        return self.pool.busy()
