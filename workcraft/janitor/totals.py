"""The counters sweep: final outcomes are added to ``task_totals`` per queue, task name and
status, window by window of ``finished_at`` (a FAILURE the janitor will retry is no outcome
yet: the board shows it as retrying, and its last run is counted when it ends), so boards
and ``/metrics`` read a few counter rows instead of counting a table of millions. The
watermark moves with a fenced UPDATE in the same transaction as the additions, so two
janitors never count a window twice. The window ends a little before now: a run whose
COMMIT is still in flight is counted next time.
"""

from __future__ import annotations

import datetime as dt

from workcraft.data import Queries
from workcraft.janitor.sweeps import Sweep, SweepResult
from workcraft.models import FINISHED_STATUS_NAMES

WATERMARK = "counted_until"
# Runs finished this recently are left for the next window (their COMMIT may be in flight).
SETTLE = dt.timedelta(seconds=2)
EPOCH = dt.datetime(1970, 1, 1, 0, 0, 1)


class CountFinished(Sweep):
    name = "totals"

    def interval(self) -> float:
        return self.settings.JANITOR_TOTALS_INTERVAL

    def _batch(self, q: Queries, now: dt.datetime | None, result: SweepResult) -> int:
        q.janitor.ensure_state(WATERMARK)
        row = q.janitor.state(WATERMARK)
        after = row["at"] if row else None
        until = (now or q.schema.server_now()) - SETTLE
        start = after or EPOCH
        if until <= start:
            return 0
        if not q.janitor.advance_watermark(WATERMARK, after=after, until=until):
            return 0  # another janitor counted this window first
        crashes = self.settings.TASK_MAX_CRASHES
        for status in FINISHED_STATUS_NAMES:
            for queue, task_name, n in q.janitor.finished_counts(
                status=status, after=start, until=until, max_crashes=crashes
            ):
                q.janitor.add_to_totals(queue=queue, task_name=task_name, status=status, n=n)
                result.add(f"{status.lower()}_counted", n)
            for minute, n in q.janitor.finished_per_minute(
                status=status, after=start, until=until, max_crashes=crashes
            ):
                q.janitor.add_to_throughput(minute=minute, status=status, n=n)
        return 0  # one window per run
