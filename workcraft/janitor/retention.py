"""The retention sweep: finished rows older than their age are deleted, in small batches
(one short transaction each), so the tables do not grow forever. A FAILURE that will still
be retried is never deleted. An age of 0 keeps those rows forever."""

from __future__ import annotations

import datetime as dt

from workcraft.config.settings import Settings
from workcraft.data import Queries
from workcraft.janitor.sweeps import Sweep, SweepResult

DAY = 86_400.0


def _ages(settings: Settings) -> dict[str, float]:
    """Status -> age in seconds, for the statuses a setting keeps."""
    return {
        "SUCCESS": settings.KEEP_SUCCESS_DAYS * DAY,
        "CANCELLED": settings.KEEP_CANCELLED_DAYS * DAY,
        "FAILURE": settings.KEEP_FAILURE_DAYS * DAY,
        "INVALID": settings.KEEP_INVALID_DAYS * DAY,
    }


class Retention(Sweep):
    name = "retention"

    def interval(self) -> float:
        return self.settings.JANITOR_RETENTION_INTERVAL

    def _batch(self, q: Queries, now: dt.datetime | None, result: SweepResult) -> int:
        """Deletes up to one batch of each kind; returns the most any kind deleted, so
        ``run_once`` goes on while some kind still has a full batch."""
        batch = self.settings.JANITOR_SWEEP_BATCH_SIZE
        deleted: dict[str, int] = {}
        for status, age in _ages(self.settings).items():
            if age > 0:
                deleted[f"{status.lower()}_deleted"] = q.janitor.delete_finished(
                    status=status,
                    now=now,
                    age=age,
                    max_crashes=self.settings.TASK_MAX_CRASHES,
                    batch=batch,
                )
        if self.settings.KEEP_LOGS_DAYS > 0:
            deleted["logs_deleted"] = q.janitor.delete_old_logs(
                now=now, age=self.settings.KEEP_LOGS_DAYS * DAY, batch=batch
            )
        if self.settings.KEEP_OFFLINE_PEONS_DAYS > 0:
            deleted["offline_peons_deleted"] = q.janitor.delete_offline_peons(
                now=now, age=self.settings.KEEP_OFFLINE_PEONS_DAYS * DAY, batch=batch
            )
        deleted["throughput_minutes_deleted"] = q.janitor.delete_old_throughput(now)
        for key, count in deleted.items():
            if count:
                result.add(key, count)
        return max(deleted.values(), default=0)
