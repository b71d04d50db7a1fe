"""``Queries``: every typed data-layer method, grouped by what it touches.

A ``Store`` hands one to ``call``/``transaction`` callbacks: ``q.tasks.complete(...)``,
``q.peons.heartbeat(...)``, ``q.janitor.silent_peons(...)``. Nothing outside ``workcraft.data``
names a query or builds a parameter list.
"""

from __future__ import annotations

from workcraft.data.board import BoardQueries
from workcraft.data.cursor import Cursor
from workcraft.data.inspection import SchemaQueries
from workcraft.data.janitor import JanitorQueries
from workcraft.data.leader import LeaderQueries
from workcraft.data.peons import PeonQueries
from workcraft.data.schedules import ScheduleQueries
from workcraft.data.tasks import TaskQueries


class Queries:
    __slots__ = ("board", "janitor", "leader", "peons", "schedules", "schema", "tasks")

    def __init__(self, cur: Cursor) -> None:
        self.tasks = TaskQueries(cur)
        self.peons = PeonQueries(cur)
        self.janitor = JanitorQueries(cur)
        self.leader = LeaderQueries(cur)
        self.schedules = ScheduleQueries(cur)
        self.board = BoardQueries(cur)
        self.schema = SchemaQueries(cur)
