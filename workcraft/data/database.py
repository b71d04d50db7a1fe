"""``Database``: one workcraft database, and the factory for connections (stores) to it.

Peons, janitors and the app take a ``Database`` rather than a ``DBConfig``, so every
connection of a process is made in one place and a test can hand in its own.
"""

from __future__ import annotations

from workcraft.config.database import DBConfig
from workcraft.data.connection import Session
from workcraft.data.store import RetryPolicy, Store


class Database:
    def __init__(self, config: DBConfig) -> None:
        self.config = config

    def store(
        self,
        name: str,
        retry: RetryPolicy | None = None,
        *,
        lock_wait_timeout: int | None = None,
        idle_timeout: int | None = None,
        session: Session | None = None,
        causal_reads: bool = False,
    ) -> Store:
        """A new store (one connection, opened lazily) named ``name`` in log lines.
        ``causal_reads``: see ``Session`` (Galera only)."""
        return Store(
            self.config,
            retry,
            name=name,
            lock_wait_timeout=lock_wait_timeout,
            idle_timeout=idle_timeout,
            session=session,
            causal_reads=causal_reads,
        )

    def describe(self) -> str:
        return self.config.describe()

    def __repr__(self) -> str:
        return f"Database({self.describe()})"

    def check_tables(self, retry: RetryPolicy | None = None) -> None:
        """Raise at once when the tables are missing or the credentials are wrong; an
        unreachable server is waited for as ``retry`` allows."""
        with self.store("check", retry) as store:
            store.call(lambda q: q.schema.tables_present())
