"""One transaction per pass of the peon's loop: hand finished outcomes in, take new work.

In order: (1) lock our peon row, which proves we still own our id (a peon declared dead
matches nothing and claims nothing), (2) write every outcome with one UPDATE fenced by
session and attempt, (3) lock up to ``claim_limit`` claimable rows (SKIP LOCKED), then
(4) mark them RUNNING and (5) write what our peon row now runs. One COMMIT covers all five,
and they travel in two round trips: (1)-(3) together, (4)-(5) with the COMMIT. On this
machine a round trip costs far more than the statements' own work, so this is most of what
a no-op task costs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence

from workcraft.data import ClaimedTask, Outcome, Queries, Store
from workcraft.errors import DatabaseError, DatabaseUnavailable
from workcraft.peon.runner import unstorable
from workcraft.text import printable

log = logging.getLogger("workcraft.peon")


@dataclasses.dataclass
class ExchangeResult:
    claimed: list[ClaimedTask]
    fenced_out: list[Outcome]  # outcomes not written: the task was reclaimed while it ran
    identity_lost: bool = False


class Exchange:
    def __init__(
        self,
        store: Store,
        worker_id: str,
        queues: Sequence[str],
        task_names: Sequence[str],
        pause_check_interval: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        claim_mode: str = "skip_locked",
    ) -> None:
        self.store = store
        self.worker_id = worker_id
        self.queues = tuple(queues)
        self.task_names = tuple(task_names)
        # Paused queues are read at most once per interval (one primary-key read), so an
        # unpaused queue costs nothing per claim; pause and resume take effect within it.
        self.claim_mode = claim_mode
        self.pause_check_interval = pause_check_interval
        self.clock = clock
        self.paused: frozenset[str] = frozenset()
        self._paused_read_at: float | None = None

    def _claimable_queues(self) -> tuple[str, ...]:
        """Our queues less the paused ones; the pause list is read (in a statement of its own,
        outside any claim transaction) at most once per ``pause_check_interval``."""
        now = self.clock()
        stale = self._paused_read_at is None or now - self._paused_read_at >= (
            self.pause_check_interval
        )
        if stale:
            paused = frozenset(self.store.call(lambda q: q.tasks.paused_queues(self.queues)))
            if paused != self.paused:
                for name in sorted(paused - self.paused):
                    log.warning("queue %s is paused: no claims from it until it is resumed", name)
                for name in sorted(self.paused - paused):
                    log.warning("queue %s was resumed", name)
            self.paused, self._paused_read_at = paused, now
        return tuple(queue for queue in self.queues if queue not in self.paused)

    def work_available(self, now: dt.datetime | None = None) -> bool:
        """The idle poll: one plain read per queue (it also skips a paused queue), no
        transaction, no locks. The pause list proper is read when there is work to claim."""

        def probe(q: Queries) -> bool:
            return any(
                q.tasks.any_claimable(queue=queue, task_names=self.task_names, now=now)
                for queue in self.queues
            )

        return self.store.call(probe)

    def swap(
        self,
        session: str,
        outcomes: list[Outcome],
        running: list[str],
        claim_limit: int,
        now: dt.datetime | None = None,
    ) -> ExchangeResult:
        """Write ``outcomes`` and claim up to ``claim_limit`` tasks due at ``now`` (default:
        the database's clock). ``running`` are the tasks still in flight after these
        outcomes. An outcome the database refuses to store (a permanent
        error, not an outage) is replaced by a FAILURE saying why, instead of killing the
        peon; if even that fails, the task is given back."""
        try:
            return self._transact(session, outcomes, running, claim_limit, now)
        except DatabaseError as exc:
            if not outcomes or isinstance(exc, DatabaseUnavailable):
                raise
            log.error(
                "writing %d outcome(s) failed: %s; writing them one by one", len(outcomes), exc
            )
        fenced_out: list[Outcome] = []
        for outcome in outcomes:
            fenced_out += self._write_alone(session, outcome, running)
        result = self._transact(session, [], running, claim_limit, now)
        result.fenced_out = fenced_out + result.fenced_out
        return result

    def _write_alone(
        self,
        session: str,
        outcome: Outcome,
        running: list[str],
    ) -> list[Outcome]:
        try:
            return self._transact(session, [outcome], running, 0).fenced_out
        except DatabaseUnavailable:
            raise
        except DatabaseError as exc:
            replacement = unstorable(outcome, str(exc))
        try:
            return self._transact(session, [replacement], running, 0).fenced_out
        except DatabaseUnavailable:
            raise
        except DatabaseError as exc:
            log.error(
                "task %s: no outcome could be stored (%s); giving it back", outcome.task.id, exc
            )
            self.release(session, [outcome.task])
            return []

    def _transact(
        self,
        session: str,
        outcomes: list[Outcome],
        running: list[str],
        claim_limit: int,
        now: dt.datetime | None = None,
    ) -> ExchangeResult:
        worker_id = self.worker_id
        queues = self._claimable_queues() if claim_limit else ()

        def transaction(q: Queries, attempt: int) -> ExchangeResult:
            if self.claim_mode == "optimistic":
                return self._optimistic(
                    q, attempt, session, outcomes, running, queues, claim_limit, now
                )
            # Deferred: these two go out with the claim's first statement.
            proof = q.peons.claim_row(peon_id=worker_id, session=session, finished=len(outcomes))
            written = (
                q.tasks.write_outcomes(outcomes=outcomes, worker_id=worker_id, session=session)
                if outcomes
                else None
            )
            claimed = (
                q.tasks.lock_claimable(
                    queues=queues, task_names=self.task_names, limit=claim_limit, now=now
                )
                if queues
                else []
            )
            fenced_out = (
                q.tasks.not_written(outcomes=outcomes, written=written.count, worker_id=worker_id)
                if written is not None
                else []
            )
            if not proof.count:
                # The locked rows stay PENDING; COMMIT just releases their locks.
                return ExchangeResult([], fenced_out, identity_lost=True)
            self._give_back_unreceived(q, attempt, claim_limit, session, running)
            claimed_ids = [task.id for task in claimed]
            if claimed_ids:
                q.tasks.mark_running(task_ids=claimed_ids, worker_id=worker_id, session=session)
            # Deferred too: with the mark, they go out with the COMMIT.
            q.peons.set_running(peon_id=worker_id, session=session, running=running + claimed_ids)
            return ExchangeResult(claimed, fenced_out)

        result = self.store.transaction(transaction)
        for outcome in result.fenced_out:
            log.warning(
                "task %s %s: outcome %s not written: the task was reclaimed while it ran "
                "(this peon no longer owns attempt %d)",
                printable(outcome.task.task_name),
                outcome.task.id,
                outcome.status.value,
                outcome.task.attempt,
            )
        return result

    def _optimistic(
        self,
        q: Queries,
        attempt: int,
        session: str,
        outcomes: list[Outcome],
        running: list[str],
        queues: tuple[str, ...],
        claim_limit: int,
        now: dt.datetime | None,
    ) -> ExchangeResult:
        """Claim mode "optimistic": the claim UPDATE marks rows RUNNING itself, so our row
        proves ownership first (and is written again with what we then run)."""
        worker_id = self.worker_id
        owner, fenced_out = self._settle(
            q, attempt, session, outcomes, running, running, claim_limit
        )
        if not owner:
            return ExchangeResult([], fenced_out, identity_lost=True)
        if not queues:
            return ExchangeResult([], fenced_out)
        claimed = q.tasks.claim_by_update(
            queues=queues,
            task_names=self.task_names,
            limit=claim_limit,
            worker_id=worker_id,
            session=session,
            running=running,
            now=now,
        )
        if claimed:
            q.peons.update_state(
                peon_id=worker_id,
                session=session,
                running=running + [task.id for task in claimed],
                finished=0,
            )
        return ExchangeResult(claimed, fenced_out)

    def _settle(
        self,
        q: Queries,
        attempt: int,
        session: str,
        outcomes: list[Outcome],
        running: list[str],
        running_after: list[str],
        claim_limit: int,
    ) -> tuple[bool, list[Outcome]]:
        """Our peon row's new state (which proves we still own our id) and every outcome,
        fenced: (still the owner, the outcomes not written because the task was taken)."""
        owner = q.peons.update_state(
            peon_id=self.worker_id,
            session=session,
            running=running_after,
            finished=len(outcomes),
        )
        fenced_out = (
            q.tasks.complete(outcomes=outcomes, worker_id=self.worker_id, session=session)
            if outcomes
            else []
        )
        if owner:
            self._give_back_unreceived(q, attempt, claim_limit, session, running)
        return owner, fenced_out

    def _give_back_unreceived(
        self, q: Queries, attempt: int, claim_limit: int, session: str, running: list[str]
    ) -> None:
        """On a retried claim: an earlier attempt's COMMIT may have landed unacknowledged;
        give back any rows it claimed for us that we never received."""
        if attempt > 1 and claim_limit:
            q.tasks.release_all_but(worker_id=self.worker_id, session=session, keep=running)

    def release(self, session: str, tasks: list[ClaimedTask]) -> int:
        """Give tasks we will not finish back to PENDING (fenced)."""

        def release(q: Queries) -> int:
            return sum(
                q.tasks.release(task=task, worker_id=self.worker_id, session=session)
                for task in tasks
            )

        return self.store.call(release)
