"""The data layer: the only code that knows SQL.

- ``sql/*.sql``: every statement, by name, with a line of why.
- ``store.Store``: one connection, retries, transactions; hands out ``access.Queries``.
- ``tasks``, ``peons``, ``janitor``, ``leader``, ``board``, ``inspection``: typed methods.
- ``database.Database``: makes stores for one database.
- ``schema`` and ``migrate``: the tables, and creating or upgrading them.
"""

from workcraft.data.access import Queries
from workcraft.data.connection import Session
from workcraft.data.database import Database
from workcraft.data.rows import ClaimedTask, Outcome
from workcraft.data.store import RetryPolicy, Store

__all__ = ["ClaimedTask", "Database", "Outcome", "Queries", "RetryPolicy", "Session", "Store"]
