"""The janitor's leader lock: ``GET_LOCK`` on a connection of its own."""

from __future__ import annotations

import mysql.connector

from workcraft.data.cursor import Cursor

# Unknown table, unknown database (no performance_schema), no SELECT privilege on it.
_NO_SUCH_TABLE_OR_ACCESS = frozenset({1146, 1049, 1142, 1044})


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

    # -- lease mode --------------------------------------------------------------------------
    def take_lease(self, holder: str, lease_seconds: float) -> tuple[str | None, int, bool]:
        """Take or renew the lease; returns (holder, term, valid) as the row says now."""
        self._cur.execute("ensure_lease_row")
        params = {"holder": holder, "lease_us": round(lease_seconds * 1_000_000)}
        self._cur.execute("take_lease", params)
        return self.lease()

    def lease(self) -> tuple[str | None, int, bool]:
        row = self._cur.fetch_one("lease_row")
        if row is None:
            return (None, 0, False)
        return (row["holder"], int(row["term"]), bool(row["valid"]))

    def give_up_lease(self, holder: str, term: int) -> None:
        self._cur.execute("give_up_lease", {"holder": holder, "term": term})

    def fence_lease(self, holder: str, term: int) -> bool:
        return self._cur.execute("fence_lease", {"holder": holder, "term": term}) > 0

    def fence_lock(self, name: str, connection_id: int) -> bool:
        value = self._cur.fetch_value("fence_lock", {"name": name, "connection": connection_id})
        return bool(value == 1)

    # -- what kind of server ------------------------------------------------------------------
    def is_galera_node(self) -> bool:
        row = self._cur.fetch_one("galera_node")
        return bool(row and str(row["Value"]).upper() == "ON")

    def is_group_replication_member(self) -> bool:
        try:
            return int(self._cur.fetch_value("group_replication_members") or 0) > 0
        except mysql.connector.Error as exc:
            if exc.errno in _NO_SUCH_TABLE_OR_ACCESS:  # not MySQL Group Replication
                return False
            raise
