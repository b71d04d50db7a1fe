"""The janitor: housekeeping sweeps, run by whichever janitor holds the leader lock."""

from workcraft.janitor.lock import LeaderLock, lock_name_for
from workcraft.janitor.service import Janitor
from workcraft.janitor.sweeps import DeadPeons, ReopenFailed, SelfCorrect, Sweep, SweepResult

__all__ = [
    "DeadPeons",
    "Janitor",
    "LeaderLock",
    "ReopenFailed",
    "SelfCorrect",
    "Sweep",
    "SweepResult",
    "lock_name_for",
]
