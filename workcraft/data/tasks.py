"""Task rows: enqueue, read, claim, complete (fenced), release."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Sequence
from typing import Any, NamedTuple

from workcraft.data.cursor import Cursor, Deferred
from workcraft.data.rows import ClaimedTask, Outcome
from workcraft.models import Task


class TaskRow(NamedTuple):
    """The INSERT parameters of one task, in statement order (``payload.build_row``)."""

    id: str
    task_name: str
    queue: str
    payload: str
    retry_on_failure: int
    retry_limit: int
    priority: int
    run_at: str | None  # Unix seconds, or None for "after the delay"
    delay_us: int
    unique_key: str | None
    timeout_seconds: float | None
    concurrency_key: str | None
    concurrency_limit: int


# Below every INT priority: "from the most urgent one".
_BEFORE_ALL_PRIORITIES = -(2**31) - 1
# Claim statements per queue when concurrency keys turn out full: each round excludes the
# keys found full so far and looks twice as far ahead, so up to 255 x (free slots) full keys
# in front of other work are stepped over in one claim.
_MAX_CLAIM_ROUNDS = 8


class _Claim:
    """The rows one claim takes, and what it learnt about concurrency keys on the way."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.taken: list[ClaimedTask] = []
        self.taken_ids: set[str] = set()
        self.full_keys: set[str] = set()
        self._running: dict[str, int] = {}  # key -> RUNNING now, plus taken in this claim

    @property
    def wanted(self) -> int:
        return self.limit - len(self.taken)

    @property
    def full(self) -> bool:
        return self.wanted <= 0

    def take(self, rows: list[dict[str, Any]], count_running: Callable[[str], int]) -> int:
        """Take what fits; return how many rows were skipped for a full key."""
        skipped = 0
        for row in rows:
            if self.full:
                break
            if row["id"] in self.taken_ids:  # ours already: the rows stay PENDING until marked
                continue
            key = row["concurrency_key"]
            if key is not None:
                if key in self.full_keys:
                    skipped += 1
                    continue
                if key not in self._running:
                    self._running[key] = count_running(key)
                if self._running[key] >= int(row["concurrency_limit"]):
                    self.full_keys.add(key)
                    skipped += 1
                    continue
                self._running[key] += 1
            timeout = row["timeout_seconds"]
            self.taken_ids.add(row["id"])
            self.taken.append(
                ClaimedTask(
                    row["id"],
                    row["task_name"],
                    row["payload"],
                    row["attempt"] + 1,
                    timeout=None if timeout is None else float(timeout),
                    concurrency_key=key,
                )
            )
        return skipped


class TaskQueries:
    def __init__(self, cur: Cursor) -> None:
        self._cur = cur

    def insert(self, rows: Sequence[TaskRow]) -> list[str]:
        """One multi-row INSERT; returns each row's task id. A row whose unique key a live
        task holds is not written: its id is that task's. Rows already there (a retried
        batch whose COMMIT landed unacknowledged) are skipped."""
        self._cur.executemany("insert_task", rows)
        keys = list(dict.fromkeys(row.unique_key for row in rows if row.unique_key))
        if not keys:
            return [row.id for row in rows]
        holders: dict[str, str] = {
            found["unique_active"]: found["id"]
            for found in self._cur.fetch_all("unique_key_holders", keys, keys=len(keys))
        }
        return [holders.get(row.unique_key, row.id) if row.unique_key else row.id for row in rows]

    def get(self, task_id: str) -> Task | None:
        row = self._cur.fetch_one("get_task", {"id": task_id})
        return Task.from_row(row) if row else None

    def any_claimable(
        self, *, queue: str, task_names: Sequence[str], now: dt.datetime | None = None
    ) -> bool:
        """A plain read (no locks): is there a due PENDING task we could take (and the queue
        is not paused)? One index dive per priority whose rows all wait for a later time
        (usually none)."""
        after = _BEFORE_ALL_PRIORITIES
        while True:
            params = [now, queue, after, *task_names, queue]
            row = self._cur.fetch_one("claim_probe", params, names=len(task_names))
            if row is None:
                return False
            if row["due"]:
                return True
            after = int(row["priority"])

    def lock_claimable(
        self,
        *,
        queues: Sequence[str],
        task_names: Sequence[str],
        limit: int,
        now: dt.datetime | None = None,
    ) -> list[ClaimedTask]:
        """Lock up to ``limit`` due PENDING rows (SKIP LOCKED): queue by queue in the order
        given, within a queue the lowest priority first, then the earliest run_at. Usually
        one statement. A task with a concurrency key is taken only while fewer than its
        limit run with that key; a full key is skipped (its tasks wait, others do not). The
        returned attempt is the one ``mark_running`` gives them."""
        claim = _Claim(limit)
        for queue in queues:
            for round_ in range(_MAX_CLAIM_ROUNDS):
                want = claim.wanted * 2**round_
                rows = self._rows_in_claim_order(queue, task_names, claim, want, now)
                skipped = claim.take(rows, self._count_running)
                if not skipped or claim.full or len(rows) < want + len(claim.taken_ids):
                    break
            if claim.full:
                break
        return claim.taken

    def _rows_in_claim_order(
        self,
        queue: str,
        task_names: Sequence[str],
        claim: _Claim,
        wanted: int,
        now: dt.datetime | None,
    ) -> list[dict[str, Any]]:
        """Up to ``wanted`` rows besides those this claim already took (they are still
        PENDING to us), the most urgent priority first, walking on to the next priorities
        when one comes up short."""
        want = wanted + len(claim.taken_ids)
        names, keys = list(task_names), sorted(claim.full_keys) or [""]
        counts = {"names": len(names), "keys": len(keys)}
        params = [queue, queue, now, *names, *keys, want]
        rows = self._cur.fetch_all("claim_most_urgent", params, **counts)
        if len(rows) < want:
            priority = rows[0]["priority"] if rows else self._next_priority(queue, None)
            while priority is not None and len(rows) < want:
                priority = self._next_priority(queue, priority)
                if priority is not None:
                    params = [queue, priority, now, *names, *keys, want - len(rows)]
                    rows += self._cur.fetch_all("claim_at_priority", params, **counts)
        return rows

    def claim_by_update(
        self,
        *,
        queues: Sequence[str],
        task_names: Sequence[str],
        limit: int,
        worker_id: str,
        session: str,
        running: Sequence[str],
        now: dt.datetime | None = None,
    ) -> list[ClaimedTask]:
        """Claim mode "optimistic" (no SKIP LOCKED): UPDATE up to ``limit`` due rows to
        RUNNING under our session, in the same order as ``lock_claimable``, then read back
        what is ours that ``running`` did not hold. The rows are RUNNING when this returns
        (``mark_running`` is not needed)."""
        names = list(task_names)
        wanted = limit
        full_keys: set[str] = set()
        counted: dict[str, int] = {}
        for queue in queues:
            priority = self._next_priority(queue, None)
            while priority is not None and wanted > 0:
                params = [worker_id, session, queue, priority, now, *names, wanted]
                wanted -= self._cur.execute("claim_by_update", params, names=len(names))
                if wanted > 0:
                    wanted -= self._claim_keyed(
                        queue, priority, names, wanted, worker_id, session, now, full_keys, counted
                    )
                priority = self._next_priority(queue, priority) if wanted > 0 else None
            if wanted <= 0:
                break
        if wanted == limit:
            return []
        known = set(running)
        rows = self._cur.fetch_all("running_of_session", [worker_id, session])
        return [
            ClaimedTask(
                row["id"],
                row["task_name"],
                row["payload"],
                row["attempt"],
                timeout=None if row["timeout_seconds"] is None else float(row["timeout_seconds"]),
                concurrency_key=row["concurrency_key"],
            )
            for row in rows
            if row["id"] not in known
        ]

    def _claim_keyed(
        self,
        queue: str,
        priority: int,
        names: list[str],
        wanted: int,
        worker_id: str,
        session: str,
        now: dt.datetime | None,
        full_keys: set[str],
        counted: dict[str, int],
    ) -> int:
        """Keyed tasks, one at a time: lock the key, count it, take the row if it fits."""
        keys = sorted(full_keys) or [""]
        params = [queue, priority, now, *names, *keys, wanted]
        taken = 0
        for row in self._cur.fetch_all(
            "keyed_candidates", params, names=len(names), keys=len(keys)
        ):
            key = row["concurrency_key"]
            if taken >= wanted or key in full_keys:
                continue
            if key not in counted:
                counted[key] = self._count_running(key)
            if counted[key] >= int(row["concurrency_limit"]):
                full_keys.add(key)
                continue
            if self._cur.execute("claim_one_by_update", [worker_id, session, row["id"]]):
                counted[key] += 1
                taken += 1
        return taken

    def server_kind(self) -> tuple[str, str]:
        """(VERSION(), @@version_comment): tells TiDB and Vitess apart from MySQL/MariaDB."""
        row = self._cur.fetch_one("server_kind")
        return (str(row["version"]), str(row["comment"])) if row else ("", "")

    def _count_running(self, key: str) -> int:
        """Lock the key (until this transaction ends), then count its RUNNING tasks."""
        self._cur.execute("lock_concurrency_key", [key])
        return int(self._cur.fetch_value("running_with_key", [key]))

    def _next_priority(self, queue: str, after: int | None) -> int | None:
        bound = _BEFORE_ALL_PRIORITIES if after is None else after
        value = self._cur.fetch_value("next_priority", [queue, bound])
        return None if value is None else int(value)

    def mark_running(self, *, task_ids: Sequence[str], worker_id: str, session: str) -> Deferred:
        """Mark locked rows RUNNING under this peon session, bumping the fencing token.
        Deferred: it goes out with the next statement (in a claim, with the COMMIT)."""
        params = [worker_id, session, *task_ids]
        return self._cur.defer("claim_mark", params, ids=len(task_ids))

    def complete(
        self, *, outcomes: Sequence[Outcome], worker_id: str, session: str
    ) -> list[Outcome]:
        """Write every outcome with one fenced UPDATE; return those it could not write (the
        task was reclaimed while it ran)."""
        written = self.write_outcomes(outcomes=outcomes, worker_id=worker_id, session=session)
        return self.not_written(outcomes=outcomes, written=written.count, worker_id=worker_id)

    def write_outcomes(
        self, *, outcomes: Sequence[Outcome], worker_id: str, session: str
    ) -> Deferred:
        """The fenced UPDATE of ``complete``, deferred: it goes out with the next statement;
        its count is how many outcomes were written (see ``not_written``)."""
        ids = [outcome.task.id for outcome in outcomes]

        def cases(values: list[Any]) -> list[Any]:
            """``WHEN id THEN value`` parameters, in the order of ``ids``."""
            return [item for pair in zip(ids, values, strict=True) for item in pair]

        params = [
            *cases([o.status.value for o in outcomes]),
            *cases([o.result_json for o in outcomes]),
            *cases([int(o.failed) for o in outcomes]),
            *ids,
            worker_id,
            session,
            *cases([o.task.attempt for o in outcomes]),
        ]
        return self._cur.defer("complete_tasks", params, cases=len(ids), ids=len(ids))

    def not_written(
        self, *, outcomes: Sequence[Outcome], written: int, worker_id: str
    ) -> list[Outcome]:
        """The outcomes a fenced UPDATE that matched ``written`` rows did not write."""
        if written == len(outcomes):
            return []
        # Rare: some were reclaimed while they ran (or, on a retried transaction, written by
        # the attempt whose COMMIT acknowledgement was lost). Row by row, find which.
        return [o for o in outcomes if not self._carries(o, worker_id)]

    def _carries(self, outcome: Outcome, worker_id: str) -> bool:
        """Does the row hold this run's outcome (our worker id, our attempt)?"""
        row = self._cur.fetch_one("task_fence_state", {"id": outcome.task.id})
        return bool(
            row
            and row["status"] == outcome.status.value
            and row["worker_id"] == worker_id
            and int(row["attempt"]) == outcome.task.attempt
        )

    def release(self, *, task: ClaimedTask, worker_id: str, session: str) -> bool:
        """Give a task we will not finish back to PENDING (fenced by attempt)."""
        params = {
            "id": task.id,
            "worker_id": worker_id,
            "session": session,
            "attempt": task.attempt,
        }
        return self._cur.execute("release_task", params) > 0

    def release_all_but(self, *, worker_id: str, session: str, keep: Sequence[str]) -> int:
        """Give back every RUNNING row of this session except ``keep`` (rows a lost COMMIT
        acknowledgement claimed for us that we never received)."""
        kept = set(keep)
        rows = self._cur.fetch_all("running_of_session", [worker_id, session])
        orphans = [row["id"] for row in rows if row["id"] not in kept]
        if not orphans:
            return 0
        params = [*orphans, worker_id, session]
        return self._cur.execute("release_orphans", params, ids=len(orphans))

    # -- control ------------------------------------------------------------------------------
    def cancel(self, task_id: str, result_json: str) -> str:
        """``cancelled`` (it had not started, or waited for a retry), ``requested`` (it
        runs: its peon is told), or ``finished`` / ``missing`` (nothing changed)."""
        if self._cur.execute("cancel_waiting", {"id": task_id, "result": result_json}):
            return "cancelled"
        if self._cur.execute("request_cancel", {"id": task_id}):
            return "requested"
        return "finished" if self.get(task_id) is not None else "missing"

    def cancel_requests(
        self, *, task_ids: Collection[str], worker_id: str, session: str
    ) -> set[str]:
        """Which of ``task_ids`` (this peon session's running tasks) someone asked to cancel."""
        if not task_ids:
            return set()
        params = [*task_ids, worker_id, session]
        rows = self._cur.fetch_all("cancel_requests_of_peon", params, ids=len(task_ids))
        return {row["id"] for row in rows}

    def paused_queues(self, queues: Sequence[str]) -> set[str]:
        rows = self._cur.fetch_all("paused_queues", list(queues), names=len(queues))
        return {row["name"] for row in rows}

    def set_queue_paused(self, queue: str, paused: bool) -> None:
        self._cur.execute("set_queue_paused", {"name": queue, "paused": int(paused)})
