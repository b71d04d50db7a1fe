"""The janitor: housekeeping sweeps, run by whichever janitor holds the leader lock.

``lock`` (the GET_LOCK leader lock), ``sweeps`` (each ``run_once(now)``), ``service``
(``Janitor``: contend, sweep on APScheduler intervals), ``once`` (``janitor --once``).
"""

from workcraft.janitor.lock import LeaderLock, lock_name_for
from workcraft.janitor.once import LockBusy, sweep_once
from workcraft.janitor.retention import Retention
from workcraft.janitor.schedules import EnqueueSchedules
from workcraft.janitor.service import Janitor
from workcraft.janitor.sweeps import DeadPeons, ReopenFailed, SelfCorrect, Sweep, SweepResult

__all__ = [
    "DeadPeons",
    "EnqueueSchedules",
    "Janitor",
    "LeaderLock",
    "LockBusy",
    "ReopenFailed",
    "Retention",
    "SelfCorrect",
    "Sweep",
    "SweepResult",
    "lock_name_for",
    "sweep_once",
]
