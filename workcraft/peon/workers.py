"""The peon's worker threads: each takes a claimed task, runs it, hands back the outcome.

Only the peon's main thread talks to the database; workers never do. ``in_flight`` holds
every task handed out whose outcome has not been written yet.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

from workcraft.data import ClaimedTask, Outcome
from workcraft.text import printable

log = logging.getLogger("workcraft.peon")


class WorkerPool:
    def __init__(
        self,
        size: int,
        run: Callable[[ClaimedTask], Outcome],
        wake: threading.Event,
    ) -> None:
        self.size = size
        self._run = run
        self._wake = wake
        self.in_flight: dict[str, ClaimedTask] = {}
        self._work: queue.SimpleQueue[ClaimedTask | None] = queue.SimpleQueue()
        self._done: queue.SimpleQueue[Outcome] = queue.SimpleQueue()
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        for index in range(self.size):
            thread = threading.Thread(target=self._work_loop, name=f"task-{index}", daemon=True)
            thread.start()
            self.threads.append(thread)

    @property
    def free(self) -> int:
        return self.size - len(self.in_flight)

    def submit(self, tasks: list[ClaimedTask]) -> None:
        for task in tasks:
            self.in_flight[task.id] = task
            self._work.put(task)

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

    def forget(self, task_id: str) -> None:
        self.in_flight.pop(task_id, None)

    def idle(self) -> bool:
        return not self.in_flight and self._done.empty()

    def stop(self) -> None:
        """Ask every thread to end after its current task (they are daemons)."""
        for _ in self.threads:
            self._work.put(None)

    def busy(self) -> bool:
        """True while a task function is still running (it cannot be interrupted)."""
        return bool(self.in_flight) or any(
            thread.is_alive() and thread is not threading.current_thread()
            for thread in self.threads
        )

    def _work_loop(self) -> None:
        while True:
            task = self._work.get()
            if task is None:
                return
            name = printable(task.task_name)
            # One INFO line per task (when it ends, with its duration); the start is DEBUG:
            # at thousands of tasks a second, logging is a large share of a peon's CPU.
            log.debug("task %s %s started (attempt %d)", name, task.id, task.attempt)
            outcome = self._run(task)
            log.info(
                "task %s %s %s in %.3f s",
                name,
                task.id,
                outcome.status.value,
                outcome.seconds,
            )
            self._done.put(outcome)
            self._wake.set()
