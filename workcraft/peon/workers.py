"""The peon's worker threads ("slots"): each takes a claimed task, runs it, hands back the
outcome. Only the peon's main thread talks to the database; workers never do.

The main thread also watches them (``watch``):
- a run past its timeout ends FAILURE (``TaskTimeout``) at once: the outcome is written by
  the main thread, the slot gets a new thread, and the old one is told to stop (an async
  task is cancelled; a sync one gets ``TaskTimeout`` raised inside it, which takes effect at
  its next Python bytecode, not inside a blocking C call). Whatever the old thread finishes
  with later is discarded. At most ``size`` such abandoned threads are kept alive; beyond
  that a slot waits for one of them to end, so the thread count stays bounded.
- a thread that died holding a task (it cannot, short of a bug) fails the task and is
  replaced.
Cancel requests (seen by the heartbeat) reach the run through its ``Slot``.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from workcraft.data import ClaimedTask, Outcome
from workcraft.peon.context import TaskTimeout
from workcraft.peon.runner import RunControl, timed_out, worker_died
from workcraft.text import printable

log = logging.getLogger("workcraft.peon")

Runner = Callable[[ClaimedTask, RunControl], Outcome]


class Run:
    """One run of one task in one thread: the ``RunControl`` the runner sees. Its lock
    decides, exactly once, whether the worker's outcome or the main thread's timeout wins."""

    def __init__(
        self, task: ClaimedTask, thread: threading.Thread, started: float, timeout: float | None
    ) -> None:
        self.task = task
        self.thread = thread
        self.started = started
        self.deadline = None if timeout is None else started + timeout
        self.cancel = threading.Event()
        self.lock = threading.Lock()
        self.over = False  # an outcome was taken (the worker's or the timeout's)
        self._timed_out = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._async_task: asyncio.Task[Any] | None = None

    @property
    def timed_out(self) -> bool:
        return self._timed_out

    def attach_loop(self, loop: asyncio.AbstractEventLoop, task: asyncio.Task[Any]) -> None:
        with self.lock:
            self._loop, self._async_task = loop, task
            stop = self.cancel.is_set() or self._timed_out
        if stop:
            loop.call_soon(task.cancel)

    def detach_loop(self) -> None:
        with self.lock:
            self._loop = self._async_task = None

    def request_cancel(self) -> None:
        with self.lock:
            self.cancel.set()
            if self._loop is not None and self._async_task is not None:
                self._loop.call_soon_threadsafe(self._async_task.cancel)

    def time_out(self) -> bool:
        """Claim the outcome for the timeout and stop the run; False if it just ended."""
        with self.lock:
            if self.over:
                return False
            self.over = self._timed_out = True
            if self._loop is not None and self._async_task is not None:
                self._loop.call_soon_threadsafe(self._async_task.cancel)
            elif self.thread.ident is not None:
                ctypes.pythonapi.PyThreadState_SetAsyncExc(
                    ctypes.c_ulong(self.thread.ident), ctypes.py_object(TaskTimeout)
                )
            return True

    def finish(self) -> bool:
        """Claim the outcome for the worker; False if the timeout already took it."""
        with self.lock:
            if self.over:
                return False
            self.over = True
            return True


class Slot:
    """A place for one worker thread; ``run`` is what that thread runs now."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.thread: threading.Thread | None = None
        self.run: Run | None = None


class WorkerPool:
    def __init__(
        self,
        size: int,
        run: Runner,
        wake: threading.Event,
        timeout_of: Callable[[ClaimedTask], float | None] = lambda task: task.timeout,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.size = size
        self._run = run
        self._wake = wake
        self._timeout_of = timeout_of
        self._clock = clock
        self.in_flight: dict[str, ClaimedTask] = {}
        self._work: queue.SimpleQueue[ClaimedTask | None] = queue.SimpleQueue()
        self._done: queue.SimpleQueue[Outcome] = queue.SimpleQueue()
        self.slots = [Slot(index) for index in range(size)]
        self.abandoned: list[threading.Thread] = []
        self._stopping = False

    # -- threads ----------------------------------------------------------------------------
    def start(self) -> None:
        for slot in self.slots:
            self._start_thread(slot)

    def _start_thread(self, slot: Slot) -> None:
        thread = threading.Thread(
            target=self._work_loop, args=(slot,), name=f"task-{slot.index}", daemon=True
        )
        slot.thread, slot.run = thread, None
        thread.start()

    def _work_loop(self, slot: Slot) -> None:
        me = threading.current_thread()
        try:
            while True:
                task = self._work.get()
                if task is None:
                    return
                self._run_one(slot, task)
                if slot.thread is not me:  # abandoned while it ran: a new thread has the slot
                    return
        except BaseException:
            if slot.thread is me and not self._stopping:
                log.exception("worker thread %s ended unexpectedly", me.name)

    def _run_one(self, slot: Slot, task: ClaimedTask) -> None:
        run = Run(task, threading.current_thread(), self._clock(), self._timeout_of(task))
        slot.run = run
        # One INFO line per task (when it ends, with its duration); the start is DEBUG: at
        # thousands of tasks a second, logging is a large share of a peon's CPU.
        log.debug(
            "task %s %s started (attempt %d)", printable(task.task_name), task.id, task.attempt
        )
        outcome = self._run(task, run)
        if not run.finish():
            log.debug("task %s: late outcome after its timeout discarded", task.id)
            return
        if slot.run is run:
            slot.run = None
        _log_outcome(outcome)
        self._done.put(outcome)
        self._wake.set()

    # -- what the main thread does ------------------------------------------------------------
    @property
    def free(self) -> int:
        """Slots that can take a task now."""
        busy_threads = sum(1 for slot in self.slots if slot.thread is None)
        return self.size - len(self.in_flight) - busy_threads

    def submit(self, tasks: list[ClaimedTask]) -> None:
        for task in tasks:
            self.in_flight[task.id] = task
            self._work.put(task)

    def request_cancel(self, task_ids: Iterable[str]) -> None:
        """Tell the runs of these tasks that a cancel was asked (from the heartbeat)."""
        wanted = set(task_ids)
        for slot in self.slots:
            run = slot.run
            if run is not None and run.task.id in wanted and not run.cancel.is_set():
                log.warning(
                    "task %s %s: cancel requested", printable(run.task.task_name), run.task.id
                )
                run.request_cancel()

    def watch(self) -> None:
        """Time out runs past their deadline; replace dead or abandoned threads."""
        now = self._clock()
        self.abandoned = [thread for thread in self.abandoned if thread.is_alive()]
        for slot in self.slots:
            thread, run = slot.thread, slot.run
            outcome: Outcome | None
            if thread is None:
                self._restart_if_room(slot)
                continue
            if run is not None and run.deadline is not None and now >= run.deadline:
                if not run.time_out():
                    continue
                outcome = timed_out(run.task, run.deadline - run.started, now - run.started)
            elif not thread.is_alive() and not self._stopping:
                if run is not None and not run.finish():
                    continue
                outcome = worker_died(run.task, now - run.started) if run is not None else None
                log.error("worker thread %s ended; starting a new one", thread.name)
            else:
                continue
            self.abandoned.append(thread)
            slot.thread = slot.run = None
            if outcome is not None:
                _log_outcome(outcome)
                self._done.put(outcome)
            self._restart_if_room(slot)

    def _restart_if_room(self, slot: Slot) -> None:
        if len(self.abandoned) <= self.size:
            self._start_thread(slot)
        else:
            log.warning(
                "%d worker threads are stuck past their timeout; slot %d waits for one to end",
                len(self.abandoned),
                slot.index,
            )

    def next_deadline(self) -> float | None:
        runs = [slot.run for slot in self.slots]
        deadlines = [run.deadline for run in runs if run is not None and run.deadline is not None]
        return min(deadlines) if deadlines else None

    def collect(self) -> list[Outcome]:
        """Outcomes finished since the last call (their tasks stay in flight until written)."""
        outcomes: list[Outcome] = []
        while True:
            try:
                outcomes.append(self._done.get_nowait())
            except queue.Empty:
                return outcomes

    def has_outcomes(self) -> bool:
        return not self._done.empty()

    def written(self, task_ids: set[str]) -> None:
        """These tasks' outcomes are in the database (or were fenced out): no longer ours."""
        for task_id in task_ids:
            self.in_flight.pop(task_id, None)

    def idle(self) -> bool:
        return not self.in_flight and self._done.empty()

    def stop(self) -> None:
        """Ask every thread to end after its current task (they are daemons)."""
        self._stopping = True
        for _ in self.slots:
            self._work.put(None)

    def busy(self) -> bool:
        """True while a task function is still running (it cannot be interrupted)."""
        threads = [slot.thread for slot in self.slots if slot.thread is not None]
        return bool(self.in_flight) or any(
            thread.is_alive() and thread is not threading.current_thread()
            for thread in [*threads, *self.abandoned]
        )


def _log_outcome(outcome: Outcome) -> None:
    """One line per task; a failure says why (its traceback at DEBUG)."""
    if not log.isEnabledFor(logging.INFO):
        return
    task = outcome.task
    name = printable(task.task_name)
    if outcome.status.value in ("FAILURE", "INVALID"):
        error = outcome.error
        log.info(
            "task %s %s %s in %.3f s: %s: %s",
            name,
            task.id,
            outcome.status.value,
            outcome.seconds,
            printable(error.get("error_type", "?")),
            printable(error.get("message", "")),
        )
        if error.get("traceback") and log.isEnabledFor(logging.DEBUG):
            log.debug("task %s %s traceback:\n%s", name, task.id, error["traceback"])
        return
    log.info("task %s %s %s in %.3f s", name, task.id, outcome.status.value, outcome.seconds)
