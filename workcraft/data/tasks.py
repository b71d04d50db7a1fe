"""Task rows: enqueue, read, claim, complete (fenced), release."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from workcraft.data.cursor import Cursor
from workcraft.data.rows import ClaimedTask, Outcome
from workcraft.models import Task

# The INSERT columns of a task row, in order: (id, task_name, queue, payload,
# retry_on_failure, retry_limit). ``workcraft.payload.build_row`` makes them.
TaskRow = tuple[str, str, str, str, int, int]


class TaskQueries:
    def __init__(self, cur: Cursor) -> None:
        self._cur = cur

    def insert(self, rows: Sequence[TaskRow], *, retried: bool = False) -> int:
        """One multi-row INSERT. ``retried``: an earlier attempt's COMMIT may have landed, so
        rows already there (our ids) are skipped instead of failing on the duplicate key."""
        return self._cur.executemany("insert_task_if_missing" if retried else "insert_task", rows)

    def get(self, task_id: str) -> Task | None:
        row = self._cur.fetch_one("get_task", {"id": task_id})
        return Task.from_row(row) if row else None

    def any_claimable(self, *, queue: str, task_names: Sequence[str]) -> bool:
        """A plain read (no locks): is there a PENDING task we could take?"""
        params = [queue, *task_names]
        return bool(self._cur.fetch_value("claim_probe", params, names=len(task_names)))

    def lock_claimable(
        self, *, queues: Sequence[str], task_names: Sequence[str], limit: int
    ) -> list[ClaimedTask]:
        """Lock up to ``limit`` PENDING rows, oldest first, queue by queue (SKIP LOCKED).
        The returned attempt is the one ``mark_running`` gives them."""
        claimed: list[ClaimedTask] = []
        for queue in queues:
            params = [queue, *task_names, limit - len(claimed)]
            for row in self._cur.fetch_all("claim_select", params, names=len(task_names)):
                claimed.append(
                    ClaimedTask(row["id"], row["task_name"], row["payload"], row["attempt"] + 1)
                )
            if len(claimed) >= limit:
                break
        return claimed

    def mark_running(self, *, task_ids: Sequence[str], worker_id: str, session: str) -> int:
        """Mark locked rows RUNNING under this peon session, bumping the fencing token."""
        params = [worker_id, session, *task_ids]
        return self._cur.execute("claim_mark", params, ids=len(task_ids))

    def complete(
        self, *, outcomes: Sequence[Outcome], worker_id: str, session: str
    ) -> list[Outcome]:
        """Write every outcome with one fenced UPDATE; return those it could not write (the
        task was reclaimed while it ran)."""
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
        matched = self._cur.execute("complete_tasks", params, cases=len(ids), ids=len(ids))
        if matched == len(outcomes):
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
        kept = list(keep) or [""]
        params = [worker_id, session, *kept]
        return self._cur.execute("release_orphans", params, ids=len(kept))
