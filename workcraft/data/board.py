"""Reads for operators (``workcraft status``): counts, peons, recent janitor actions."""

from __future__ import annotations

from typing import Any

from workcraft.data.cursor import Cursor


class BoardQueries:
    def __init__(self, cur: Cursor) -> None:
        self._cur = cur

    def task_counts(self) -> list[dict[str, Any]]:
        """``{queue, task_name, status, n}`` per group."""
        return self._cur.fetch_all("board_counts")

    def retries_waiting(self, max_crashes: int) -> int:
        return int(self._cur.fetch_value("retries_waiting", {"max_crashes": max_crashes}))

    def peons(self) -> list[dict[str, Any]]:
        return self._cur.fetch_all("peon_list")

    def recent_logs(self, limit: int) -> list[dict[str, Any]]:
        return self._cur.fetch_all("recent_logs", {"limit": limit})
