"""The leader lock: MySQL ``GET_LOCK`` held on a connection of its own.

The server releases a named lock when the connection that holds it ends (crash, kill -9,
``KILL CONNECTION``, network loss), which is how a standby janitor takes over. We never
reconnect this connection behind the caller's back: a new connection does not hold the
lock, so any error here means "not the leader any more".
"""

from __future__ import annotations

import hashlib
import logging
import threading

from workcraft.data import Database, Queries, RetryPolicy
from workcraft.errors import WorkcraftError
from workcraft.janitor.reach import Reachability

log = logging.getLogger("workcraft.janitor")

# MySQL limits lock names to 64 characters.
_MAX_LOCK_NAME = 64


def lock_name_for(database: str) -> str:
    name = f"workcraft:janitor:{database}"
    if len(name) <= _MAX_LOCK_NAME:
        return name
    return "workcraft:janitor:" + hashlib.sha1(database.encode()).hexdigest()


class LeaderLock:
    mode = "get_lock"
    term = 0  # GET_LOCK has no terms: the lock connection itself is the fence

    def __init__(
        self, db: Database, name: str | None = None, idle_timeout: int | None = None
    ) -> None:
        self.name = name or lock_name_for(db.config.database)
        # give_up_after=0: one try. Retrying would mean a new connection, which has no lock.
        # idle_timeout: a leader that stops talking (frozen, cut off) loses the lock then.
        self._store = db.store(
            "leader-lock", RetryPolicy(give_up_after=0), idle_timeout=idle_timeout
        )
        self._mutex = threading.Lock()
        self.held = False
        self.connection_id: int | None = None
        self._reach = Reachability("leader lock", self._store.config.describe())

    def acquire(self, timeout: float = 0) -> bool:
        """Try to take the lock, waiting up to ``timeout`` seconds."""
        with self._mutex:
            try:
                got = self._store.call(lambda q: q.leader.get_lock(self.name, timeout))
            except WorkcraftError as exc:
                self._reach.failed(exc)
                self._drop()
                return False
            self._reach.succeeded()
            self.held = got
            if got:
                self.connection_id = self._store.connection_id()
            return got

    def check(self) -> bool:
        """Do we still hold it? (``IS_USED_LOCK(name) = CONNECTION_ID()`` on our connection.)"""
        with self._mutex:
            if not self.held:
                return False
            try:
                still = self._store.call(lambda q: q.leader.holds_lock(self.name))
            except WorkcraftError as exc:
                log.warning("leader lock connection lost (%s)", exc)
                self._reach.failed(exc)
                still = False
            if not still:
                self._drop()
            return still

    def fence(self, q: Queries) -> bool:
        """In a sweep's transaction (another connection): does our lock connection still
        hold the lock?"""
        return self.connection_id is not None and q.leader.fence_lock(self.name, self.connection_id)

    def release(self) -> None:
        with self._mutex:
            if self.held:
                try:
                    self._store.call(lambda q: q.leader.release_lock(self.name))
                except WorkcraftError:
                    log.debug("release_lock failed; the lock goes with the connection")
            self._drop()

    def _drop(self) -> None:
        self.held = False
        self.connection_id = None
        self._store.close()
