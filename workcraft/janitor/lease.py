"""Lease-mode leadership, for clusters where ``GET_LOCK`` is per node (Galera, MySQL Group
Replication): one row (``janitor_state`` 'lease') holds the holder, a term that grows with
every change of leader, and an expiry the leader pushes forward every retry interval. A
standby takes the lease once it has expired. Holding it is believed only after COMMIT
(``take_lease`` then read back); sweeps are fenced by their term (``fence``)."""

from __future__ import annotations

import logging
import threading
import uuid

from workcraft.data import Database, Queries, RetryPolicy
from workcraft.errors import WorkcraftError
from workcraft.janitor.reach import Reachability

log = logging.getLogger("workcraft.janitor")


class LeaseLeader:
    mode = "lease"

    def __init__(
        self,
        db: Database,
        janitor_id: str,
        lease_seconds: float,
        idle_timeout: int | None = None,
    ) -> None:
        # Unique per process, even if two janitors are started with the same --janitor-id.
        self.holder = f"{janitor_id} {uuid.uuid4().hex[:8]}"
        self.lease_seconds = lease_seconds
        self.name = "janitor_state 'lease'"
        # causal_reads: on Galera, the lease is read and renewed as the whole cluster last
        # wrote it, not as this node has applied it so far.
        self._store = db.store(
            "leader-lease",
            RetryPolicy(give_up_after=1.0),
            idle_timeout=idle_timeout,
            causal_reads=True,
        )
        self._mutex = threading.Lock()
        self.held = False
        self.term = 0
        self._reach = Reachability("leader lease", self._store.config.describe())

    def _take(self) -> bool:
        holder, term, valid = self._store.call(
            lambda q: q.leader.take_lease(self.holder, self.lease_seconds)
        )
        if holder == self.holder and valid and (not self.held or term == self.term):
            self.held, self.term = True, term
            return True
        self.held = False
        return False

    def acquire(self, timeout: float = 0) -> bool:
        """Take the lease if it is free or expired (one try; ``timeout`` is for GET_LOCK)."""
        with self._mutex:
            try:
                got = self._take()
            except WorkcraftError as exc:
                self._reach.failed(exc)
                self.held = False
                return False
            self._reach.succeeded()
            return got

    def check(self) -> bool:
        """Renew the lease; False once it was lost (expired and taken, or a new term)."""
        with self._mutex:
            if not self.held:
                return False
            try:
                return self._take()
            except WorkcraftError as exc:
                log.warning("leader lease could not be renewed (%s)", exc)
                self._reach.failed(exc)
                self.held = False
                return False

    def fence(self, q: Queries) -> bool:
        """In a sweep's transaction: are we still the holder of this term?"""
        return q.leader.fence_lease(self.holder, self.term)

    def release(self) -> None:
        with self._mutex:
            if self.held:
                try:
                    self._store.call(lambda q: q.leader.give_up_lease(self.holder, self.term))
                except WorkcraftError:
                    log.debug("could not give the lease up; it expires by itself")
            self.held = False
            self._store.close()
