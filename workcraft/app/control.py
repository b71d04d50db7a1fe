"""Steering tasks and queues from code: cancel a task, pause and resume a queue. Mixed into
the app class next to the producer (it uses the producer's per-thread connections)."""

from __future__ import annotations

import asyncio
import json

from workcraft.app.producer import Producer
from workcraft.config.database import DBConfig
from workcraft.payload import check_queue

CANCELLED_RESULT = json.dumps(
    {"error_type": "Cancelled", "message": "cancelled before it ran (or while it waited)"}
)


class Control(Producer):
    def cancel_task_sync(self, task_id: str, db_config: DBConfig | None = None) -> bool:
        """Cancel a task. PENDING (delayed or not) or waiting for a retry: CANCELLED at once,
        it never runs. RUNNING: a cancel request its peon sees within one heartbeat (an
        async task is cancelled; a sync task sees ``workcraft.current_task().cancel_requested``);
        the run ends CANCELLED and is never retried. True if either happened; False for a
        finished or unknown task (nothing changes)."""
        if not isinstance(task_id, str) or not task_id:
            raise TypeError(f"task_id must be a non-empty string, got {task_id!r}")
        outcome = self._store(db_config).call(lambda q: q.tasks.cancel(task_id, CANCELLED_RESULT))
        return outcome in ("cancelled", "requested")

    def pause_queue_sync(self, name: str, db_config: DBConfig | None = None) -> None:
        """Peons claim nothing more from this queue (running tasks finish) until it is
        resumed; they notice within one polling interval."""
        queue = check_queue(name)
        self._store(db_config).call(lambda q: q.tasks.set_queue_paused(queue, True))

    def resume_queue_sync(self, name: str, db_config: DBConfig | None = None) -> None:
        """Peons take from this queue again within one polling interval."""
        queue = check_queue(name)
        self._store(db_config).call(lambda q: q.tasks.set_queue_paused(queue, False))

    async def cancel_task(self, task_id: str, db_config: DBConfig | None = None) -> bool:
        return await asyncio.to_thread(self.cancel_task_sync, task_id, db_config)

    async def pause_queue(self, name: str, db_config: DBConfig | None = None) -> None:
        await asyncio.to_thread(self.pause_queue_sync, name, db_config)

    async def resume_queue(self, name: str, db_config: DBConfig | None = None) -> None:
        await asyncio.to_thread(self.resume_queue_sync, name, db_config)
