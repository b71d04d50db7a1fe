"""The peon table: registration, heartbeats and each peon's own state."""

from __future__ import annotations

import json
from collections.abc import Sequence

from workcraft.data.cursor import Cursor, Deferred
from workcraft.data.rows import PeonRow
from workcraft.models import PeonStatus


def _running_state(running: Sequence[str]) -> dict[str, object]:
    """The peon row's columns that say what it runs."""
    return {
        "status": (PeonStatus.WORKING if running else PeonStatus.IDLE).value,
        "current_task": running[0] if running else None,
        "running_tasks": len(running),
        "running_ids": json.dumps(list(running)),
    }


class PeonQueries:
    def __init__(self, cur: Cursor) -> None:
        self._cur = cur

    def register(
        self,
        *,
        peon_id: str,
        session: str,
        queues: Sequence[str],
        hostname: str,
        pid: int,
        concurrency: int,
        task_names: Sequence[str] = (),
    ) -> None:
        """Insert our row, or take an existing one over with a new session (PREPARING)."""
        self._cur.execute(
            "register_peon",
            {
                "id": peon_id,
                "queues": json.dumps(list(queues)),
                "hostname": hostname,
                "pid": pid,
                "session": session,
                "concurrency": concurrency,
                "tasks": json.dumps(sorted(task_names)),
            },
        )

    def heartbeat(self, *, peon_id: str, session: str) -> bool:
        """False once our row is OFFLINE, gone, or registered by another session."""
        return self._cur.execute("heartbeat", {"id": peon_id, "session": session}) > 0

    def get(self, peon_id: str) -> PeonRow | None:
        row = self._cur.fetch_one("peon_row", {"id": peon_id})
        return PeonRow(row["id"], row["status"], row["session"]) if row else None

    def set_status(self, *, peon_id: str, session: str, status: PeonStatus) -> bool:
        params = {"status": status.value, "id": peon_id, "session": session}
        return self._cur.execute("set_peon_status", params) > 0

    def update_state(
        self, *, peon_id: str, session: str, running: Sequence[str], finished: int
    ) -> bool:
        """Our row after this transaction: WORKING/IDLE, what runs, a heartbeat. False if we
        no longer own the id (then nothing else in the transaction may be claimed)."""
        params = {**_running_state(running), "done": finished, "id": peon_id, "session": session}
        return self._cur.execute("update_peon_state", params) > 0

    def claim_row(self, *, peon_id: str, session: str, finished: int) -> Deferred:
        """Lock our row at the start of a claim transaction, counting ``finished`` tasks;
        its count is 0 if we no longer own the id (then nothing may be marked RUNNING).
        Deferred: it goes out with the next statement."""
        params = {"done": finished, "id": peon_id, "session": session}
        return self._cur.defer("claim_peon_row", params)

    def set_running(self, *, peon_id: str, session: str, running: Sequence[str]) -> None:
        """What runs once this transaction commits (after ``claim_row``). Deferred: it goes
        out with the COMMIT."""
        params = {**_running_state(running), "id": peon_id, "session": session}
        self._cur.defer("set_peon_running", params)

    def mark_offline(self, *, peon_id: str, session: str) -> None:
        self._cur.execute("mark_peon_offline", {"id": peon_id, "session": session})
