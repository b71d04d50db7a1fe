"""The peon's row over its life, as Solid Queue's ``Registrable``: register (PREPARING),
heartbeat from a thread, report IDLE, deregister (OFFLINE). If a heartbeat finds the row
gone, OFFLINE or taken over, ``lost`` is set and the peon stops claiming under that session;
``recover`` then registers again, or stops the peon if another live process owns the id."""

from __future__ import annotations

import dataclasses
import os
import socket
import threading
import uuid
from collections.abc import Callable, Collection, Sequence

from workcraft.data import Database, Queries, RetryPolicy, Store
from workcraft.data.schedules import ScheduleDefinition
from workcraft.errors import WorkcraftError
from workcraft.models import PeonStatus
from workcraft.peon.heartbeat import Heartbeat


class IdentityTakenOver(WorkcraftError):
    """Another process registered with our worker id while we were running."""


@dataclasses.dataclass(frozen=True)
class Identity:
    """Who this peon says it is in its row."""

    worker_id: str
    queues: tuple[str, ...]
    concurrency: int
    task_names: tuple[str, ...] = ()
    hostname: str = dataclasses.field(default_factory=socket.gethostname)
    pid: int = dataclasses.field(default_factory=os.getpid)


class Registration:
    def __init__(
        self,
        db: Database,
        identity: Identity,
        heartbeat_interval: float,
        hard_stop: threading.Event,
        on_lost: Callable[[], None],
        schedules: Sequence[ScheduleDefinition] = (),
        on_cancel: Callable[[set[str]], None] | None = None,
        running: Callable[[], Collection[str]] = tuple,
    ) -> None:
        self.db = db
        self.identity = identity
        self.schedules = tuple(schedules)
        self.on_cancel = on_cancel
        self.running = running
        self.heartbeat_interval = heartbeat_interval
        self.hard_stop = hard_stop
        self.on_lost = on_lost
        self.session = ""
        self.lost = threading.Event()
        self.heartbeat: Heartbeat | None = None

    @property
    def worker_id(self) -> str:
        return self.identity.worker_id

    def register(self, store: Store) -> None:
        """A new session in our row (PREPARING), our app's schedules, and a heartbeat
        thread for both."""
        session = str(uuid.uuid4())
        identity = self.identity

        def write(q: Queries) -> None:
            q.peons.register(
                peon_id=identity.worker_id,
                session=session,
                queues=identity.queues,
                hostname=identity.hostname,
                pid=identity.pid,
                concurrency=identity.concurrency,
                task_names=identity.task_names,
            )
            for schedule in self.schedules:
                q.schedules.upsert(schedule)

        store.call(write)
        self.session = session
        self.lost.clear()
        self.stop_heartbeat()
        self.heartbeat = Heartbeat(
            self.db.store("heartbeat", RetryPolicy.forever(self.hard_stop)),
            identity.worker_id,
            session,
            self.heartbeat_interval,
            on_lost=self._lost,
            schedule_names=[schedule.name for schedule in self.schedules],
            on_cancel=self.on_cancel,
            running=self.running,
        )
        self.heartbeat.start()

    def _lost(self) -> None:
        self.lost.set()
        self.on_lost()

    def mark_lost(self) -> None:
        """The claim transaction found our row not ours any more."""
        if not self.lost.is_set():
            self._lost()

    def set_status(self, store: Store, status: PeonStatus) -> None:
        store.call(
            lambda q: q.peons.set_status(
                peon_id=self.worker_id, session=self.session, status=status
            )
        )

    def recover(self, store: Store) -> None:
        """After ``lost``: register again, unless another live process owns the id now."""
        row = store.call(lambda q: q.peons.get(self.worker_id))
        if row is not None and row.session != self.session and row.status != "OFFLINE":
            raise IdentityTakenOver(
                f"peon id {self.worker_id!r} was taken over by another live process; "
                "stopping (give each peon its own --worker-id)"
            )
        self.register(store)
        self.set_status(store, PeonStatus.IDLE)

    def deregister(self, store: Store) -> None:
        """OFFLINE (only our own session's row)."""
        store.call(lambda q: q.peons.mark_offline(peon_id=self.worker_id, session=self.session))

    def stop_heartbeat(self) -> None:
        if self.heartbeat is not None:
            self.heartbeat.stop()
            self.heartbeat = None
