"""The app class: a task registry that can also enqueue.

``workcraft = workcraft()`` as in the seed; ``Workcraft`` is the same class with a
conventional name.
"""

from __future__ import annotations

from workcraft.app.control import Control
from workcraft.app.registry import TaskRegistry
from workcraft.data import RetryPolicy


class Workcraft(TaskRegistry, Control):
    """Register tasks with ``@app.task("name")``; enqueue with ``app.send_task_sync``."""

    def __init__(self, retry: RetryPolicy | None = None) -> None:
        TaskRegistry.__init__(self)
        Control.__init__(self, retry)


# The seed's spelling: ``from workcraft.core import workcraft; workcraft = workcraft()``.
workcraft = Workcraft
