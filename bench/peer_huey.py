"""The Huey app the Huey consumer runs (``bench.peer_huey.huey``): SQL storage on MySQL.

The database URL comes from WKBENCH_HUEY_URL (peewee's ``mysql://`` form, PyMySQL driver).
Importing this module connects (Huey creates its tables), so import it only after the
database exists.
"""

from __future__ import annotations

import os
import time

from huey.contrib.sql_huey import SqlHuey

QUEUE_NAME = "wkbench"
huey = SqlHuey(QUEUE_NAME, database=os.environ["WKBENCH_HUEY_URL"])


@huey.task()  # type: ignore[untyped-decorator]
def noop() -> float:
    """No work; the returned clock (stored in Huey's result store) times the drain."""
    return time.time()
