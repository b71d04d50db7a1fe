"""The janitor's leader lock: ``GET_LOCK`` on a connection of its own."""

from __future__ import annotations

from workcraft.data.cursor import Cursor


class LeaderQueries:
    def __init__(self, cur: Cursor) -> None:
        self._cur = cur

    def get_lock(self, name: str, timeout: float) -> bool:
        got = self._cur.fetch_value("get_lock", {"name": name, "timeout": max(0.0, timeout)})
        return bool(got == 1)

    def holds_lock(self, name: str) -> bool:
        """``IS_USED_LOCK(name) = CONNECTION_ID()``: this connection holds it."""
        return bool(self._cur.fetch_value("holds_lock", {"name": name}) == 1)

    def release_lock(self, name: str) -> None:
        self._cur.fetch_value("release_lock", {"name": name})
