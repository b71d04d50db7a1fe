"""A few idle stores kept for the request threads: a store is one connection and not
thread-safe, so each request borrows one for itself and gives it back."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from workcraft.data import Database, RetryPolicy, Store

KEEP_IDLE = 8


class StorePool:
    def __init__(
        self,
        db: Database,
        retry: RetryPolicy | None = None,
        name: str = "web",
        keep: int = KEEP_IDLE,
    ) -> None:
        self._db = db
        self._retry = retry
        self._name = name
        self._keep = keep
        self._idle: list[Store] = []
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def borrow(self) -> Iterator[Store]:
        with self._lock:
            store = self._idle.pop() if self._idle else None
        if store is None:
            store = self._db.store(self._name, self._retry)
        try:
            yield store
        finally:
            with self._lock:
                kept = len(self._idle) < self._keep
                if kept:
                    self._idle.append(store)
            if not kept:
                store.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for store in idle:
            store.close()
