"""workcraft: a database-only worker library with MySQL as the single source of truth."""

from __future__ import annotations

import contextlib

# The connector's C extension links its own OpenSSL; it only loads if it is imported before
# anything pulls in Python's ssl module. Importing it here (and nothing else) keeps the fast
# path available to every program that imports workcraft first. Missing is fine.
with contextlib.suppress(ImportError):
    import _mysql_connector  # noqa: F401

from workcraft.app import Workcraft, workcraft
from workcraft.config.database import DBConfig, get_db_config
from workcraft.models import PeonStatus, Task, TaskStatus
from workcraft.peon.context import CurrentTask, TaskCancelled, TaskTimeout, current_task

__all__ = [
    "CurrentTask",
    "DBConfig",
    "PeonStatus",
    "Task",
    "TaskCancelled",
    "TaskStatus",
    "TaskTimeout",
    "Workcraft",
    "current_task",
    "get_db_config",
    "workcraft",
]
