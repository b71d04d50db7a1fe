"""``workcraft janitor``: APScheduler runs the sweeps, but only while we hold the leader lock.

Any number of janitors may run. Each keeps trying the lock every
``JANITOR_LEADER_RETRY_INTERVAL`` seconds; the holder checks it still holds it before every
sweep and stops sweeping the moment it does not.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType

from workcraft.config.settings import Settings
from workcraft.data import Database, RetryPolicy
from workcraft.errors import WorkcraftError
from workcraft.ids import default_process_id
from workcraft.janitor.lease import LeaseLeader
from workcraft.janitor.lock import LeaderLock
from workcraft.janitor.mode import Leadership, leader_mode
from workcraft.janitor.retention import Retention
from workcraft.janitor.schedules import EnqueueSchedules
from workcraft.janitor.sweeps import (
    DeadPeons,
    NotLeader,
    ReopenFailed,
    SelfCorrect,
    Sweep,
    SweepResult,
)
from workcraft.janitor.totals import CountFinished

log = logging.getLogger("workcraft.janitor")

# Seconds a sweep waits for a row lock before giving up until its next run, so a peon frozen
# mid-transaction cannot hold the janitor, or its shutdown.
SWEEP_LOCK_WAIT = 5

# Every sweep the leader runs, each on its own interval (``Sweep.interval``).
SWEEPS: tuple[type[Sweep], ...] = (
    DeadPeons,
    SelfCorrect,
    ReopenFailed,
    EnqueueSchedules,
    Retention,
    CountFinished,
)


class Janitor:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        janitor_id: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        quiet: bool = False,
    ) -> None:
        settings.validate()
        self.db = db
        self.settings = settings
        self.janitor_id = janitor_id or default_process_id()
        self.clock = clock
        # janitor --once (a cron job): leadership is not news, so it is neither written to
        # `logs` nor logged above DEBUG.
        self.quiet = quiet
        self.stop_event = threading.Event()
        # Every janitor connection is closed by the server after this much silence, so a
        # frozen janitor's lock and row locks are released (sweep connections idle between
        # runs simply reconnect).
        idle = math.ceil(settings.JANITOR_SESSION_TIMEOUT)
        self.mode = leader_mode(db, settings.JANITOR_LEADER_MODE)
        self.lock: Leadership = (
            LeaseLeader(db, self.janitor_id, settings.JANITOR_LEASE_SECONDS, idle_timeout=idle)
            if self.mode == "lease"
            else LeaderLock(db, idle_timeout=idle)
        )
        # One store per sweep: APScheduler runs each job in its own thread, never twice.
        # A sweep gives up after a short outage instead of waiting it out, so the next run
        # re-checks leadership first (the lock does not survive a server restart).
        sweep_retry = RetryPolicy(give_up_after=2.0, stop_event=self.stop_event)
        # causal_reads: on a Galera node a sweep sees what peons wrote through other nodes
        # (a heartbeat, a completion) before it judges a peon dead or a task orphaned.
        self.sweeps: list[Sweep] = [
            cls(
                db.store(
                    cls.name,
                    sweep_retry,
                    lock_wait_timeout=SWEEP_LOCK_WAIT,
                    idle_timeout=idle,
                    causal_reads=True,
                ),
                settings,
            )
            for cls in SWEEPS
        ]
        # Leadership lines are also logged locally; during an outage they are not worth
        # blocking a sweep thread for.
        self.log_store = db.store("janitor", sweep_retry, idle_timeout=idle, causal_reads=True)
        self.runs: dict[str, int] = {sweep.name: 0 for sweep in self.sweeps}
        self._leader = False
        self._leader_mutex = threading.Lock()
        self._lost_at: float | None = None

    # -- leadership -----------------------------------------------------------------------
    @property
    def is_leader(self) -> bool:
        return self._leader

    def _write_log(self, message: str) -> None:
        if self.quiet:
            log.debug("%s", message)
            return
        log.warning("%s", message)
        term = self.lock.term
        try:
            self.log_store.call(
                lambda q: q.janitor.add_log(message, janitor=self.janitor_id, term=term)
            )
        except WorkcraftError as exc:
            log.error("could not write to logs: %s", exc)

    def try_lead(self, timeout: float = 0) -> bool:
        """Take the leader lock if it is free (waiting up to ``timeout``)."""
        if self.lock.acquire(timeout):
            with self._leader_mutex:
                self._leader = True
            self._record_leader()
            how = (
                f"lease term {self.lock.term}" if self.mode == "lease" else f"lock {self.lock.name}"
            )
            self._write_log(f"Janitor {self.janitor_id} became leader ({how})")
            return True
        return False

    def still_leader(self) -> bool:
        """Re-check the lock; on loss, step down at once and say so."""
        with self._leader_mutex:
            if not self._leader:
                return False
            if self.lock.check():
                return True
            self._leader = False
            self._lost_at = self.clock()
        why = (
            "its lease was lost or expired"
            if self.mode == "lease"
            else "its lock connection is gone"
        )
        self._write_log(f"Janitor {self.janitor_id} lost leadership: {why}; stopped sweeping")
        return False

    def _may_contend(self, retry: float) -> bool:
        """After losing the lock, sit out two retry intervals so a standby (which tries
        every interval) takes over; we only take it back if nobody else did."""
        return self._lost_at is None or self.clock() - self._lost_at >= 2 * retry

    def _record_leader(self) -> None:
        try:
            term = self.lock.term
            self.log_store.call(lambda q: q.janitor.record_leader(self.janitor_id, self.mode, term))
        except WorkcraftError as exc:
            log.debug("could not record leadership: %s", exc)

    def step_down(self) -> None:
        with self._leader_mutex:
            was_leader, self._leader = self._leader, False
        self.lock.release()
        if was_leader:
            self._write_log(f"Janitor {self.janitor_id} stepped down (shutting down)")

    # -- sweeping -------------------------------------------------------------------------
    def run_sweep(self, sweep: Sweep, now: dt.datetime | None = None) -> SweepResult | None:
        """One sweep, only if we (still) lead. Returns None when we did not sweep."""
        if self.stop_event.is_set() or not self.still_leader():
            return None
        started = time.monotonic()
        sweep.author = (self.janitor_id, self.lock.term)
        try:
            result = sweep.run_once(now, fence=self.lock.fence)
        except NotLeader as exc:
            log.warning("%s", exc)
            self.still_leader()  # says so, and steps down
            return None
        except WorkcraftError as exc:
            log.error("sweep %s failed: %s", sweep.name, exc)
            return None
        self.runs[sweep.name] += 1
        took = time.monotonic() - started
        summary = ", ".join(f"{k}={v}" for k, v in result.counts.items()) or "nothing to do"
        log.debug(
            "janitor %s: sweep %s done in %.3f s: %s", self.janitor_id, sweep.name, took, summary
        )
        try:  # for boards and /metrics: when each sweep last ran and how long it took
            sweep.store.call(lambda q: q.janitor.record_sweep(sweep.name, took, summary))
        except WorkcraftError as exc:
            log.debug("could not record sweep %s: %s", sweep.name, exc)
        return result

    def run_all_once(self, now: dt.datetime | None = None) -> list[SweepResult]:
        results = []
        for sweep in self.sweeps:
            result = self.run_sweep(sweep, now)
            if result is not None:
                results.append(result)
        return results

    # -- service --------------------------------------------------------------------------
    def install_signal_handlers(self) -> None:
        def stop(signum: int, _frame: FrameType | None) -> None:
            log.warning("%s: janitor stopping", signal.Signals(signum).name)
            self.stop_event.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)

    def serve(self) -> None:
        """Contend for the lock and sweep on schedule until ``stop_event`` is set."""
        from apscheduler.schedulers.background import BackgroundScheduler

        scheduler = BackgroundScheduler(timezone=dt.timezone.utc)
        for sweep in self.sweeps:
            scheduler.add_job(
                self.run_sweep,
                "interval",
                args=[sweep],
                seconds=sweep.interval(),
                id=sweep.name,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,
            )
        scheduler.start()
        retry = self.settings.JANITOR_LEADER_RETRY_INTERVAL
        # "started; contending" is what operators' scripts and the process tests wait for.
        log.info(
            "janitor %s started; contending for %s (%s mode)",
            self.janitor_id,
            self.lock.name,
            self.mode,
        )
        try:
            while not self.stop_event.is_set():
                if self._leader:
                    if self.still_leader():
                        self._record_leader()
                elif self._may_contend(retry) and self.try_lead():
                    # Sweep right away rather than waiting a whole interval.
                    for job in scheduler.get_jobs():
                        job.modify(next_run_time=dt.datetime.now(dt.timezone.utc))
                self.stop_event.wait(retry)
        finally:
            scheduler.shutdown(wait=True)
            self.step_down()
            self.close()

    def close(self) -> None:
        for sweep in self.sweeps:
            sweep.store.close()
        self.log_store.close()
