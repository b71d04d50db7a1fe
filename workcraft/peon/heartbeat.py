"""The peon's heartbeat: a thread with its own connection, so a busy peon still beats."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Sequence

from workcraft.data import Queries, Store
from workcraft.errors import WorkcraftError

log = logging.getLogger("workcraft.peon")


class Heartbeat(threading.Thread):
    """Every ``interval`` seconds, ``UPDATE peon SET last_heartbeat = NOW(6)`` (and the
    ``seen_at`` of its app's schedules), and asks which of its running tasks someone wants
    cancelled (a primary-key read of the ids it runs).

    If the update matches nothing (the janitor declared us dead, or another process took
    our id over) it calls ``on_lost`` once and ends: the peon must stop claiming under
    this identity.
    """

    def __init__(
        self,
        store: Store,
        peon_id: str,
        session: str,
        interval: float,
        on_lost: Callable[[], None],
        schedule_names: Sequence[str] = (),
        on_cancel: Callable[[set[str]], None] | None = None,
        running: Callable[[], Collection[str]] = tuple,
    ) -> None:
        super().__init__(name=f"heartbeat-{peon_id}", daemon=True)
        self.store = store
        self.peon_id = peon_id
        self.session = session
        self.interval = interval
        self.on_lost = on_lost
        self.schedule_names = tuple(schedule_names)
        self.on_cancel = on_cancel
        self.running = running  # the ids of the tasks it runs now: asked about cancels
        self.stop_event = threading.Event()

    def beat(self) -> bool:
        """One heartbeat; False if our row is gone, OFFLINE or someone else's. A live peon
        also says its schedules are still in its code."""

        cancels: set[str] = set()

        def beat(q: Queries) -> bool:
            alive = q.peons.heartbeat(peon_id=self.peon_id, session=self.session)
            if alive:
                q.schedules.touch(self.schedule_names)
                task_ids = self.running() if self.on_cancel is not None else ()
                if task_ids:
                    cancels.update(
                        q.tasks.cancel_requests(
                            task_ids=task_ids, worker_id=self.peon_id, session=self.session
                        )
                    )
            return alive

        alive = self.store.call(beat)
        if cancels and self.on_cancel is not None:
            self.on_cancel(cancels)
        return alive

    def run(self) -> None:
        while not self.stop_event.wait(self.interval):
            try:
                alive = self.beat()
            except WorkcraftError as exc:  # permanent error: say so, keep trying
                log.error("heartbeat failed: %s", exc)
                continue
            if not alive and not self.stop_event.is_set():
                log.warning(
                    "peon %s: heartbeat found our row OFFLINE, gone or taken over; "
                    "no more claims under this identity",
                    self.peon_id,
                )
                self.on_lost()
                return

    def stop(self) -> None:
        self.stop_event.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout=2)
        self.store.close()
