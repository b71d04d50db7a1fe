"""``janitor --once``: take the leader lock, run every sweep once, give the lock back. For
cron jobs and CI, where no janitor runs all the time."""

from __future__ import annotations

from workcraft.config.settings import Settings
from workcraft.data import Database, RetryPolicy
from workcraft.errors import WorkcraftError
from workcraft.janitor.service import Janitor
from workcraft.janitor.sweeps import SweepResult


class LockBusy(WorkcraftError):
    """Another janitor held the leader lock for the whole wait."""

    exit_code = 1


def sweep_once(
    db: Database, settings: Settings, janitor_id: str | None, lock_timeout: float
) -> list[SweepResult]:
    """Every sweep once, under the leader lock (waiting up to ``lock_timeout`` for it, and
    for an unreachable server)."""
    db.check_tables(RetryPolicy(give_up_after=lock_timeout))
    janitor = Janitor(db, settings, janitor_id, quiet=True)
    try:
        if not janitor.try_lead(lock_timeout):
            raise LockBusy(f"another janitor holds {janitor.lock.name}; waited {lock_timeout:g} s")
        return janitor.run_all_once()
    finally:
        janitor.step_down()
        janitor.close()
