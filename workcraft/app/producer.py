"""The producer API: enqueue tasks, read them back, wait for them.

Nothing here opens a connection until a method is called; each thread gets its own
connection per database (``close()`` closes this thread's).

``send_task_sync`` and ``get_task_sync`` also answer workcraft 0.5.27's static-method calls
(``Workcraft.send_task_sync(db_config=, payload=, task_name=)``): see
``workcraft.compat.producer``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from workcraft.compat.producer import GET_0527, SEND_0527, producer_method
from workcraft.config.database import DBConfig, get_db_config
from workcraft.data import Database, Queries, RetryPolicy, Store
from workcraft.data.foreign import insert_on_connection
from workcraft.data.tasks import TaskRow
from workcraft.errors import PayloadTooLarge
from workcraft.models import Task
from workcraft.payload import TaskSpec, build_row, coerce_spec

# Rows per multi-row INSERT: big enough to amortise the commit, small enough for
# max_allowed_packet with ordinary payloads (the size is checked anyway).
DEFAULT_BATCH_SIZE = 1000


class Producer:
    """``send_task_sync`` and friends; mixed into the app class."""

    def __init__(self, retry: RetryPolicy | None = None) -> None:
        self._retry = retry
        self._local = threading.local()
        self._max_packets: dict[DBConfig, int] = {}

    # -- connections --------------------------------------------------------------------
    def _store(self, db_config: DBConfig | None) -> Store:
        """One store per thread and database config, owned by this app."""
        config = db_config or get_db_config()
        stores: dict[DBConfig, Store] = getattr(self._local, "stores", None) or {}
        self._local.stores = stores
        store = stores.get(config)
        if store is None:
            store = stores[config] = Database(config).store("producer", self._retry)
        return store

    def close(self) -> None:
        """Close this thread's producer connections."""
        for store in (getattr(self._local, "stores", None) or {}).values():
            store.close()
        self._local.stores = {}

    def _max_packet(self, store: Store) -> int:
        """The server's max_allowed_packet, asked once per database."""
        limit = self._max_packets.get(store.config)
        if limit is None:
            limit = self._max_packets[store.config] = store.call(
                lambda q: q.schema.max_allowed_packet()
            )
        return limit

    # -- producer API -------------------------------------------------------------------
    @producer_method(SEND_0527)
    def send_task_sync(
        self,
        task_name: str,
        task_args: Sequence[Any] | None = None,
        task_kwargs: Mapping[str, Any] | None = None,
        prerun_handler_args: Sequence[Any] | None = None,
        prerun_handler_kwargs: Mapping[str, Any] | None = None,
        postrun_handler_args: Sequence[Any] | None = None,
        postrun_handler_kwargs: Mapping[str, Any] | None = None,
        retry_on_failure: bool = False,
        db_config: DBConfig | None = None,
        queue: str = "DEFAULT",
        retry_limit: int = 3,
        *,
        run_at: dt.datetime | None = None,
        delay: float | None = None,
        priority: int = 0,
        unique_key: str | None = None,
        timeout: float | None = None,
        concurrency_key: str | None = None,
        concurrency_limit: int = 1,
        connection: Any = None,
    ) -> str:
        """Enqueue one task and return its id. Bad arguments raise before any I/O.

        ``run_at`` (aware, or naive = UTC) or ``delay`` (seconds): not claimed before then.
        ``priority``: lower runs first within a queue. ``unique_key``: while a task with this
        key is not finished, nothing is written and that task's id is returned. ``timeout``
        (seconds): a longer run ends FAILURE (``TaskTimeout``). ``concurrency_key`` /
        ``concurrency_limit``: at most that many tasks with the key RUNNING at once.
        ``connection``: a DB-API connection of the caller (mysql-connector, PyMySQL,
        mysqlclient); the INSERT runs in *its* transaction and is never committed here.
        """
        spec = TaskSpec(
            task_name=task_name,
            task_args=task_args,
            task_kwargs=task_kwargs,
            prerun_handler_args=prerun_handler_args,
            prerun_handler_kwargs=prerun_handler_kwargs,
            postrun_handler_args=postrun_handler_args,
            postrun_handler_kwargs=postrun_handler_kwargs,
            retry_on_failure=retry_on_failure,
            retry_limit=retry_limit,
            queue=queue,
            run_at=run_at,
            delay=delay,
            priority=priority,
            unique_key=unique_key,
            timeout=timeout,
            concurrency_key=concurrency_key,
            concurrency_limit=concurrency_limit,
        )
        return self.send_tasks_sync([spec], db_config=db_config, connection=connection)[0]

    def send_tasks_sync(
        self,
        tasks: Iterable[TaskSpec | Mapping[str, Any]],
        db_config: DBConfig | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        *,
        connection: Any = None,
    ) -> list[str]:
        """Enqueue many tasks with multi-row INSERTs (one round trip and commit per batch);
        returns their ids in order (for a unique key already held: the holder's id)."""
        rows = [build_row(coerce_spec(item)) for item in tasks]
        if not rows:
            return []
        if connection is not None:
            if db_config is not None:
                raise ValueError("give db_config or connection, not both")
            return insert_on_connection(connection, rows)
        store = self._store(db_config)
        ids: list[str] = []
        for batch in _batches(rows, batch_size, self._max_packet(store)):
            ids += store.transaction(functools.partial(_insert, batch))
        return ids

    @producer_method(GET_0527)
    def get_task_sync(self, task_id: str, db_config: DBConfig | None = None) -> Task | None:
        return self._store(db_config).call(lambda q: q.tasks.get(task_id))

    def wait_for_task_sync(
        self,
        task_id: str,
        db_config: DBConfig | None = None,
        timeout: float | None = 60.0,
        poll_interval: float = 0.2,
    ) -> Task:
        """Poll until the task is final (SUCCESS, FAILURE, INVALID or CANCELLED);
        ``TimeoutError`` otherwise."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            task = self.get_task_sync(task_id, db_config)
            final = _final(task_id, task, deadline, timeout)
            if final is not None:
                return final
            time.sleep(poll_interval)

    # -- asyncio twins ------------------------------------------------------------------
    async def send_task(self, task_name: str, *args: Any, **kwargs: Any) -> str:
        return await asyncio.to_thread(self.send_task_sync, task_name, *args, **kwargs)

    async def send_tasks(
        self, tasks: Iterable[TaskSpec | Mapping[str, Any]], **kw: Any
    ) -> list[str]:
        return await asyncio.to_thread(self.send_tasks_sync, list(tasks), **kw)

    async def get_task(self, task_id: str, db_config: DBConfig | None = None) -> Task | None:
        return await asyncio.to_thread(self.get_task_sync, task_id, db_config)

    async def wait_for_task(
        self,
        task_id: str,
        db_config: DBConfig | None = None,
        timeout: float | None = 60.0,
        poll_interval: float = 0.2,
    ) -> Task:
        return await asyncio.to_thread(
            self.wait_for_task_sync, task_id, db_config, timeout, poll_interval
        )


def _final(
    task_id: str, task: Task | None, deadline: float | None, timeout: float | None
) -> Task | None:
    """``task`` once it is final, else None; raises when it is missing or time is up."""
    if task is None:
        raise LookupError(f"no task with id {task_id!r}")
    if task.status.is_final:
        return task
    if deadline is not None and time.monotonic() >= deadline:
        raise TimeoutError(f"task {task_id} still {task.status} after {timeout} s")
    return None


# Bytes of INSERT text around the values, with room to spare.
_STATEMENT_OVERHEAD = 512


def _batches(rows: list[TaskRow], batch_size: int, max_packet: int) -> list[list[TaskRow]]:
    """Rows grouped into INSERTs of at most ``batch_size`` rows and half the server's
    ``max_allowed_packet``; a single row over the limit raises ``PayloadTooLarge``."""
    batches: list[list[TaskRow]] = [[]]
    size = 0
    for row in rows:
        row_size = _row_bytes(row)
        if row_size > max_packet:
            raise PayloadTooLarge(
                f"task {row.task_name!r}: payload of {row_size} bytes exceeds the server's "
                f"max_allowed_packet ({max_packet} bytes)"
            )
        if batches[-1] and (len(batches[-1]) >= batch_size or size + row_size > max_packet // 2):
            batches.append([])
            size = 0
        batches[-1].append(row)
        size += row_size
    return batches


def _row_bytes(row: TaskRow) -> int:
    """What a row adds to the INSERT statement on the wire, in bytes (max_allowed_packet
    counts bytes): UTF-8, plus one escape byte per quote or backslash."""
    text = "\0".join(map(str, row))  # one string: a few C calls per row, not four per value
    escapes = text.count("'") + text.count("\\")
    return len(text.encode("utf-8")) + escapes + 3 * len(row) + 1 + _STATEMENT_OVERHEAD


def _insert(batch: list[TaskRow], q: Queries, _attempt: int) -> list[str]:
    return q.tasks.insert(batch)
