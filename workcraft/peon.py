"""The peon: registers, heartbeats, claims, runs tasks, writes outcomes. It never sweeps.

One main thread owns the claim/complete connection. Each pass of its loop is at most one
transaction that (1) updates our peon row, proving we still own our id, (2) writes every
finished outcome, fenced by attempt, and (3) claims up to the number of free slots with
``FOR UPDATE SKIP LOCKED``. Worker threads only run task functions. An idle peon sends one
plain read per poll (``claim_probe``) plus its heartbeat.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import queue
import random
import signal
import socket
import threading
import time
import uuid
from types import FrameType
from typing import Any

from workcraft.core import Workcraft
from workcraft.db import DBConfig
from workcraft.errors import DatabaseError, DatabaseUnavailable, WorkcraftError
from workcraft.heartbeat import Heartbeat
from workcraft.models import PeonStatus
from workcraft.runner import ClaimedTask, Outcome, execute, unstorable
from workcraft.settings import Settings
from workcraft.store import Cursor, RetryPolicy, Store
from workcraft.text import printable

log = logging.getLogger("workcraft.peon")


@dataclasses.dataclass(frozen=True)
class PeonOptions:
    worker_id: str
    queues: tuple[str, ...] = ("DEFAULT",)
    concurrency: int = 1
    burst: bool = False


def default_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclasses.dataclass
class SyncResult:
    claimed: list[ClaimedTask]
    fenced_out: list[Outcome]
    identity_lost: bool = False


def _claimed_task(row: dict[str, Any]) -> ClaimedTask:
    return ClaimedTask(
        id=row["id"],
        task_name=row["task_name"],
        payload=row["payload"],
        attempt=int(row["attempt"]) + 1,  # claim_mark bumps it in the same transaction
    )


class IdentityTakenOver(WorkcraftError):
    """Another process registered with our worker id while we were running."""


class Peon:
    def __init__(
        self,
        app: Workcraft,
        db_config: DBConfig,
        settings: Settings,
        options: PeonOptions,
    ) -> None:
        if options.concurrency < 1:
            raise ValueError("concurrency must be >= 1")
        if not options.queues:
            raise ValueError("a peon needs at least one queue")
        self.app = app
        self.db_config = db_config
        self.settings = settings
        self.options = options
        self.task_names = tuple(sorted(app.tasks))
        # First signal: drain. Second signal (or grace period over): stop now.
        self.stopping = threading.Event()
        self.hard_stop = threading.Event()
        self.identity_lost = threading.Event()
        self.wake = threading.Event()
        self.store = Store(db_config, RetryPolicy.forever(self.hard_stop), name="peon")
        self.session = ""
        self.heartbeat: Heartbeat | None = None
        self.in_flight: dict[str, ClaimedTask] = {}
        self.work: queue.SimpleQueue[ClaimedTask | None] = queue.SimpleQueue()
        self.done: queue.SimpleQueue[Outcome] = queue.SimpleQueue()
        self.threads: list[threading.Thread] = []
        self.stop_deadline: float | None = None
        self.tasks_done = 0

    # -- lifecycle ------------------------------------------------------------------------
    def run(self) -> int:
        """Run until signalled (or, with ``burst``, until nothing is left). Returns 0."""
        # While the database is unreachable at start, the first signal ends the wait.
        try:
            with Store(self.db_config, RetryPolicy.forever(self.stopping), name="peon") as store:
                self._register(store)
        except DatabaseUnavailable:
            if self.stopping.is_set():
                log.warning("stopped before the database became reachable")
                return 0
            raise
        try:
            self._run_setup_handler()
            self._set_status(PeonStatus.IDLE)
            self._start_threads()
            log.info(
                "peon %s ready: queues %s, concurrency %d, tasks %s",
                self.options.worker_id,
                ",".join(self.options.queues),
                self.options.concurrency,
                ", ".join(self.task_names),
            )
            self._loop()
        finally:
            self._shutdown()
        return 0

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if self.stopping.is_set():
            log.warning("%s again: stopping now; unfinished tasks go back to PENDING", name)
            self.hard_stop.set()
        else:
            grace = self.settings.PEON_SHUTDOWN_GRACE_SECONDS
            log.warning(
                "%s: no more claims; waiting up to %g s for %d running task(s) "
                "(send it again to stop now)",
                name,
                grace,
                len(self.in_flight),
            )
            self.stop_deadline = time.monotonic() + grace
            self.stopping.set()
        self.wake.set()

    def request_stop(self) -> None:
        """Programmatic first signal (tests, embedding)."""
        self.stop_deadline = time.monotonic() + self.settings.PEON_SHUTDOWN_GRACE_SECONDS
        self.stopping.set()
        self.wake.set()

    # -- registration ---------------------------------------------------------------------
    def _register(self, store: Store) -> None:
        self.session = str(uuid.uuid4())
        store.execute(
            "register_peon",
            {
                "id": self.options.worker_id,
                "queues": json.dumps(list(self.options.queues)),
                "hostname": socket.gethostname(),
                "pid": os.getpid(),
                "session": self.session,
                "concurrency": self.options.concurrency,
            },
        )
        self.identity_lost.clear()
        if self.heartbeat is not None:
            self.heartbeat.stop()
        self.heartbeat = Heartbeat(
            Store(self.db_config, RetryPolicy.forever(self.hard_stop), name="heartbeat"),
            self.options.worker_id,
            self.session,
            self.settings.DB_PEON_HEARTBEAT_INTERVAL,
            on_lost=self._on_identity_lost,
        )
        self.heartbeat.start()

    def _on_identity_lost(self) -> None:
        self.identity_lost.set()
        self.wake.set()

    def _set_status(self, status: PeonStatus) -> None:
        self.store.execute(
            "set_peon_status",
            {"status": status.value, "id": self.options.worker_id, "session": self.session},
        )

    def _run_setup_handler(self) -> None:
        handler = self.app.handlers.setup
        if handler is None:
            return
        try:
            handler()
        except Exception:
            log.exception("setup handler raised; the peon carries on")

    # -- worker threads -------------------------------------------------------------------
    def _start_threads(self) -> None:
        for index in range(self.options.concurrency):
            thread = threading.Thread(target=self._work, name=f"task-{index}", daemon=True)
            thread.start()
            self.threads.append(thread)

    def _work(self) -> None:
        while True:
            task = self.work.get()
            if task is None:
                return
            name = printable(task.task_name)
            # One INFO line per task (when it ends, with its duration); the start is DEBUG:
            # at thousands of tasks a second, logging is a large share of a peon's CPU.
            log.debug("task %s %s started (attempt %d)", name, task.id, task.attempt)
            outcome = execute(self.app, task)
            log.info(
                "task %s %s %s in %.3f s",
                name,
                task.id,
                outcome.status.value,
                outcome.seconds,
            )
            self.done.put(outcome)
            self.wake.set()

    # -- main loop ------------------------------------------------------------------------
    def _poll_wait(self) -> float:
        jitter = 0.0
        stddev = self.settings.DB_POLLING_INTERVAL_RANDOMNESS_STDDEV
        mean = self.settings.DB_POLLING_INTERVAL_RANDOMNESS_MEAN
        if mean or stddev:
            jitter = max(0.0, random.gauss(mean, stddev))
        return self.settings.DB_POLLING_INTERVAL + jitter

    def _collect(self) -> list[Outcome]:
        outcomes: list[Outcome] = []
        while True:
            try:
                outcomes.append(self.done.get_nowait())
            except queue.Empty:
                return outcomes

    def _loop(self) -> None:
        probe_first = False  # after an empty claim, idle polls use the cheap probe
        while not self.hard_stop.is_set():
            self.wake.clear()
            outcomes = self._collect()
            draining = self.stopping.is_set() or self.identity_lost.is_set()
            free = self.options.concurrency - len(self.in_flight) + len(outcomes)
            want = free if (free > 0 and not draining) else 0
            if want and probe_first and not outcomes and not self._work_available():
                want = 0
            claimed: list[ClaimedTask] = []
            if outcomes or want:
                result = self._sync(outcomes, want)
                claimed = result.claimed
                if result.identity_lost and not self.identity_lost.is_set():
                    self._on_identity_lost()
                probe_first = bool(want) and not claimed
                self._dispatch(claimed)
            if self.identity_lost.is_set() and not self.in_flight and self.done.empty():
                self._recover_identity()
                continue
            if self.stopping.is_set():
                if not self.in_flight and self.done.empty():
                    return
                if self.stop_deadline is not None and time.monotonic() > self.stop_deadline:
                    log.warning("grace period over; stopping now")
                    self.hard_stop.set()
                    return
            if self.options.burst and not self.in_flight and not claimed and self.done.empty():
                log.info("burst: nothing left to run in %s", ",".join(self.options.queues))
                return
            if claimed or not self.done.empty():
                continue
            if draining or len(self.in_flight) >= self.options.concurrency:
                self.wake.wait(0.5)
            else:
                self.wake.wait(self._poll_wait())

    def _dispatch(self, claimed: list[ClaimedTask]) -> None:
        for task in claimed:
            self.in_flight[task.id] = task
            self.work.put(task)

    def _work_available(self) -> bool:
        def probe(cur: Cursor) -> bool:
            for queue_name in self.options.queues:
                params = [queue_name, *self.task_names]
                if cur.fetch_value("claim_probe", params, names=len(self.task_names)):
                    return True
            return False

        return self.store.call(probe)

    def _peon_state(self, running: list[str], done: int) -> dict[str, Any]:
        return {
            "status": (PeonStatus.WORKING if running else PeonStatus.IDLE).value,
            "current_task": running[0] if running else None,
            "running_tasks": len(running),
            "done": done,
            "id": self.options.worker_id,
            "session": self.session,
        }

    def _sync(self, outcomes: list[Outcome], claim_limit: int) -> SyncResult:
        """Write outcomes and claim; an outcome the database refuses to store (a permanent
        error, not an outage) becomes a FAILURE saying why, instead of killing the peon."""
        try:
            return self._transact(outcomes, claim_limit)
        except DatabaseError as exc:
            if not outcomes or isinstance(exc, DatabaseUnavailable):
                raise
            log.error(
                "writing %d outcome(s) failed: %s; writing them one by one", len(outcomes), exc
            )
        fenced_out: list[Outcome] = []
        for outcome in outcomes:
            fenced_out += self._write_alone(outcome)
        result = self._transact([], claim_limit)
        result.fenced_out = fenced_out + result.fenced_out
        return result

    def _write_alone(self, outcome: Outcome) -> list[Outcome]:
        try:
            return self._transact([outcome], 0).fenced_out
        except DatabaseUnavailable:
            raise
        except DatabaseError as exc:
            replacement = unstorable(outcome, str(exc))
        try:
            return self._transact([replacement], 0).fenced_out
        except DatabaseUnavailable:
            raise
        except DatabaseError as exc:
            log.error(
                "task %s: no outcome could be stored (%s); giving it back", outcome.task.id, exc
            )
            self._release([outcome.task])
            self.in_flight.pop(outcome.task.id, None)
            return []

    def _transact(self, outcomes: list[Outcome], claim_limit: int) -> SyncResult:
        """One transaction: prove ownership, write outcomes (fenced), claim up to a limit."""
        finished = {outcome.task.id for outcome in outcomes}
        running = [task_id for task_id in self.in_flight if task_id not in finished]
        worker_id, session = self.options.worker_id, self.session

        def transaction(cur: Cursor, attempt: int) -> SyncResult:
            # Lock the rows we would claim first (SKIP LOCKED), so the peon row can be set
            # to its final state in one statement that also proves we still own our id.
            rows = self._select_claims(cur, claim_limit) if claim_limit else []
            claimed_ids = [row["id"] for row in rows]
            state = self._peon_state(running + claimed_ids, len(outcomes))
            owner = cur.execute("update_peon_state", state)
            fenced_out = self._complete(cur, outcomes) if outcomes else []
            if not owner:
                # The selected rows stay PENDING; COMMIT just releases their locks.
                return SyncResult([], fenced_out, identity_lost=True)
            if attempt > 1 and claim_limit:
                # An earlier attempt's COMMIT may have landed unacknowledged: give back
                # any rows it claimed for us that we never received.
                keep = running or [""]
                cur.execute("release_orphans", [worker_id, session, *keep], ids=len(keep))
            if claimed_ids:
                params = [worker_id, session, *claimed_ids]
                cur.execute("claim_mark", params, ids=len(claimed_ids))
            return SyncResult([_claimed_task(row) for row in rows], fenced_out)

        result = self.store.transaction(transaction)
        for task_id in finished:
            self.in_flight.pop(task_id, None)
        self.tasks_done += len(outcomes)
        for outcome in result.fenced_out:
            log.warning(
                "task %s %s: outcome %s not written: the task was reclaimed while it ran "
                "(this peon no longer owns attempt %d)",
                printable(outcome.task.task_name),
                outcome.task.id,
                outcome.status.value,
                outcome.task.attempt,
            )
        return result

    def _complete(self, cur: Cursor, outcomes: list[Outcome]) -> list[Outcome]:
        """Write all outcomes with one fenced UPDATE; return the ones it could not write."""
        ids = [outcome.task.id for outcome in outcomes]

        def cases(values: list[Any]) -> list[Any]:
            """``WHEN id THEN value`` parameters, in the order of ``ids``."""
            return [item for pair in zip(ids, values, strict=True) for item in pair]

        params = [
            *cases([o.status.value for o in outcomes]),
            *cases([o.result_json for o in outcomes]),
            *cases([int(o.failed) for o in outcomes]),
            *ids,
            self.options.worker_id,
            self.session,
            *cases([o.task.attempt for o in outcomes]),
        ]
        matched = cur.execute("complete_tasks", params, cases=len(ids), ids=len(ids))
        if matched == len(outcomes):
            return []
        # Rare: some were reclaimed while they ran (or, on a retried transaction, written
        # by the attempt whose COMMIT acknowledgement was lost). Row by row, find which.
        return [outcome for outcome in outcomes if not self._written(cur, outcome)]

    def _written(self, cur: Cursor, outcome: Outcome) -> bool:
        """Does the row carry this run's outcome (our worker id, our attempt)?"""
        row = cur.fetch_one("task_fence_state", {"id": outcome.task.id})
        return bool(
            row
            and row["status"] == outcome.status.value
            and row["worker_id"] == self.options.worker_id
            and int(row["attempt"]) == outcome.task.attempt
        )

    def _select_claims(self, cur: Cursor, limit: int) -> list[dict[str, Any]]:
        """Lock up to ``limit`` claimable rows, oldest first, queue by queue."""
        rows: list[dict[str, Any]] = []
        for queue_name in self.options.queues:
            params = [queue_name, *self.task_names, limit - len(rows)]
            rows += cur.fetch_all("claim_select", params, names=len(self.task_names))
            if len(rows) >= limit:
                break
        return rows

    def _recover_identity(self) -> None:
        """Our row was declared dead or taken over; in-flight work is over."""
        row = self.store.fetch_one("peon_row", {"id": self.options.worker_id})
        if row is not None and row["session"] != self.session and row["status"] != "OFFLINE":
            raise IdentityTakenOver(
                f"peon id {self.options.worker_id!r} was taken over by another live process; "
                "stopping (give each peon its own --worker-id)"
            )
        if self.stopping.is_set():
            return
        log.warning("peon %s: registering again with a new session", self.options.worker_id)
        self._register(self.store)
        self._set_status(PeonStatus.IDLE)

    # -- shutdown -------------------------------------------------------------------------
    def _shutdown(self) -> None:
        """Write what finished, give back what did not, mark OFFLINE."""
        try:
            outcomes = self._collect()
            if outcomes:
                self._sync(outcomes, 0)  # fenced: written only where we still own the run
            self._release_unfinished()
            self.store.execute(
                "mark_peon_offline", {"id": self.options.worker_id, "session": self.session}
            )
            log.info("peon %s OFFLINE after %d task(s)", self.options.worker_id, self.tasks_done)
        except WorkcraftError as exc:
            log.error("could not record shutdown (%s); the janitor will clean up", exc)
        finally:
            for _ in self.threads:
                self.work.put(None)
            if self.heartbeat is not None:
                self.heartbeat.stop()
            self.store.close()

    def _release_unfinished(self) -> None:
        if not self.in_flight:
            return
        released = self._release(list(self.in_flight.values()))
        log.warning("%d unfinished task(s) returned to PENDING", released)
        self.in_flight.clear()

    def _release(self, tasks: list[ClaimedTask]) -> int:
        """Give tasks we will not finish back to PENDING (fenced)."""

        def release(cur: Cursor) -> int:
            count = 0
            for task in tasks:
                count += cur.execute(
                    "release_task",
                    {
                        "id": task.id,
                        "worker_id": self.options.worker_id,
                        "session": self.session,
                        "attempt": task.attempt,
                    },
                )
            return count

        return self.store.call(release)

    def threads_busy(self) -> bool:
        """True while a task function is still running (it cannot be interrupted)."""
        return bool(self.in_flight) or any(
            thread.is_alive() and thread is not threading.current_thread()
            for thread in self.threads
        )
