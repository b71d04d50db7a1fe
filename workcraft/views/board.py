"""The board: what an operator wants at a glance, read in one go with bounded queries.

Counts of PENDING and RUNNING tasks are live (each side reads at most ``cap`` index entries:
beyond that the board says "at least"); FAILUREs waiting for a retry are counted apart from
final ones; finished runs come from the ``task_totals`` counters the janitor keeps, so a
table of millions is never counted.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

from workcraft.config.settings import Settings
from workcraft.data import Queries, Store
from workcraft.models import FINISHED_STATUS_NAMES, STATUS_NAMES
from workcraft.views.jsonable import jsonable, utc

STATUSES = STATUS_NAMES
FINAL = FINISHED_STATUS_NAMES
DEFAULT_CAP = 100_000


@dataclasses.dataclass
class QueueInfo:
    name: str
    pending: int
    running: int
    retrying: int
    oldest_due_age_s: float | None
    paused: bool
    peons: list[str]  # live peons that listen to it
    unregistered: list[str]  # PENDING task names no live peon of this queue registers


@dataclasses.dataclass
class Board:
    at: dt.datetime
    cap: int
    live: list[dict[str, Any]]
    waiting_retry: list[dict[str, Any]]
    totals: list[dict[str, Any]]
    last_minute: dict[str, int]
    queues: list[QueueInfo]
    peons: list[dict[str, Any]]
    leader: dict[str, Any] | None
    sweeps: list[dict[str, Any]]
    logs: list[dict[str, Any]]

    # -- sums ---------------------------------------------------------------------------------
    def total(self, status: str | None = None) -> int:
        """PENDING / RUNNING: tasks now; final statuses: outcomes counted by the janitor (a
        FAILURE that will be retried is not one: it is in ``retries_waiting``)."""
        live = sum(int(r["n"]) for r in self.live if status in (None, r["status"]))
        counted = sum(int(r["total"]) for r in self.totals if status in (None, r["status"]))
        return live + counted

    def total_of(self, task_name: str, status: str | None = None) -> int:
        rows = [*self.live, *({**r, "n": r["total"]} for r in self.totals)]
        return sum(
            int(r["n"])
            for r in rows
            if r["task_name"] == task_name and status in (None, r["status"])
        )

    @property
    def retries_waiting(self) -> int:
        return sum(int(r["n"]) for r in self.waiting_retry)

    @property
    def unfinished(self) -> int:
        """Tasks that will still run: PENDING, RUNNING, or FAILURE with a retry to come."""
        return self.total("PENDING") + self.total("RUNNING") + self.retries_waiting

    @property
    def capped(self) -> bool:
        """More PENDING tasks than the cap: every PENDING count is a lower bound (the cap
        applies to the status as a whole, so no single queue need reach it)."""
        return self.total("PENDING") >= self.cap

    def live_peons(self) -> list[dict[str, Any]]:
        return [p for p in self.peons if p["live"]]

    # -- shapes -------------------------------------------------------------------------------
    def rows_by_task(self) -> list[dict[str, Any]]:
        """One row per (queue, task name): every status, retries waiting apart."""
        rows: dict[tuple[str, str], dict[str, Any]] = {}

        def row(queue: str, name: str) -> dict[str, Any]:
            return rows.setdefault(
                (queue, name),
                {"queue": queue, "task_name": name, **dict.fromkeys(STATUSES, 0), "retrying": 0},
            )

        for r in self.live:
            row(r["queue"], r["task_name"])[r["status"]] += int(r["n"])
        for r in self.totals:
            row(r["queue"], r["task_name"])[r["status"]] += int(r["total"])
        for r in self.waiting_retry:
            row(r["queue"], r["task_name"])["retrying"] += int(r["n"])
        return [rows[key] for key in sorted(rows)]

    def as_dict(self) -> dict[str, Any]:
        return dict(
            jsonable(
                {
                    "at": self.at,
                    "tasks": {status: self.total(status) for status in STATUSES},
                    "retries_waiting": self.retries_waiting,
                    "count_cap": self.cap,
                    "finished_last_minute": self.last_minute,
                    "by_task": self.rows_by_task(),
                    "queues": [dataclasses.asdict(q) for q in self.queues],
                    "peons": self.peons,
                    "leader": self.leader,
                    "sweeps": self.sweeps,
                    "logs": self.logs,
                }
            )
        )


def _peon(row: dict[str, Any], dead_after: float) -> dict[str, Any]:
    silent = float(row["silent_s"] or 0)
    return {
        "id": row["id"],
        "status": row["status"],
        "live": row["status"] != "OFFLINE" and silent < dead_after,
        "hostname": row["hostname"],
        "pid": row["pid"],
        "queues": _json_list(row["queues"]),
        "tasks": _json_list(row["tasks"]),
        "concurrency": row["concurrency"],
        "running_tasks": row["running_tasks"],
        "tasks_done": row["tasks_done"],
        "current_task": row["current_task"],
        "last_heartbeat": utc(row["last_heartbeat"]),
        "heartbeat_age_s": round(silent, 3),
        "started_at": utc(row["started_at"]),
    }


def _json_list(text: Any) -> list[Any]:
    try:
        value = json.loads(text or "[]")
    except ValueError:
        return []
    return value if isinstance(value, list) else []


def _queues(q: Queries, board_rows: dict[str, Any], now: dt.datetime) -> list[QueueInfo]:
    live_peons = board_rows["peons"]
    paused = {r["name"]: bool(r["paused"]) for r in q.board.queue_rows()}
    names = set(q.board.pending_queues()) | set(paused)
    for peon in live_peons:
        names |= set(peon["queues"])
    for r in board_rows["live"]:
        names.add(r["queue"])
    infos = []
    for name in sorted(names):
        listening = [p for p in live_peons if name in p["queues"]]
        registered = {t for p in listening for t in p["tasks"]}
        pending_names = sorted(
            {
                r["task_name"]
                for r in board_rows["live"]
                if r["queue"] == name and r["status"] == "PENDING"
            }
        )
        oldest = q.board.oldest_due(name, now)
        infos.append(
            QueueInfo(
                name=name,
                pending=_sum(board_rows["live"], name, "PENDING"),
                running=_sum(board_rows["live"], name, "RUNNING"),
                retrying=sum(int(r["n"]) for r in board_rows["waiting"] if r["queue"] == name),
                oldest_due_age_s=None if oldest is None else (now - oldest).total_seconds(),
                paused=paused.get(name, False),
                peons=[p["id"] for p in listening],
                unregistered=[t for t in pending_names if t not in registered],
            )
        )
    return infos


def _sum(rows: list[dict[str, Any]], queue: str, status: str) -> int:
    return sum(int(r["n"]) for r in rows if r["queue"] == queue and r["status"] == status)


def janitor_view(
    states: list[dict[str, Any]], leader_stale: float
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The leader (None when no janitor has led yet) and the last run of each sweep, from
    the ``janitor_state`` rows."""
    leader_row = next((s for s in states if s["name"] == "leader"), None)
    leader = None
    if leader_row is not None and leader_row["holder"]:
        age = float(leader_row["age_s"] or 0)
        leader = {
            "holder": leader_row["holder"],
            "mode": leader_row["detail"],
            "term": leader_row["term"],
            "seen_age_s": round(age, 3),
            "present": age <= leader_stale,
        }
    sweeps = [
        {
            "sweep": s["name"].split(":", 1)[1],
            "last_run": utc(s["at"]),
            "age_s": round(float(s["age_s"] or 0), 3),
            "duration_s": s["duration_s"],
            "result": s["detail"],
        }
        for s in states
        if s["name"].startswith("sweep:")
    ]
    return leader, sweeps


def leader_stale_after(settings: Settings) -> float:
    """A leader not seen for this long is reported absent (it renews every retry interval)."""
    return 3 * settings.JANITOR_LEADER_RETRY_INTERVAL


def snapshot(
    store: Store,
    settings: Settings,
    log_lines: int = 10,
    cap: int = DEFAULT_CAP,
) -> Board:
    dead_after = settings.DB_SETUP_WAIT_TIME_BEFORE_WORKER_DECLARED_DEAD
    leader_stale = leader_stale_after(settings)

    def read(q: Queries) -> Board:
        now = q.schema.server_now()
        live = q.board.live_counts(cap)
        waiting = q.board.retries_waiting(settings.TASK_MAX_CRASHES, cap)
        peons = [_peon(row, dead_after) for row in q.board.peons()]
        leader, sweeps = janitor_view(q.board.janitor_states(), leader_stale)
        rows = {"live": live, "waiting": waiting, "peons": [p for p in peons if p["live"]]}
        return Board(
            at=utc(now) or now,
            cap=cap,
            live=live,
            waiting_retry=waiting,
            totals=q.board.totals(),
            last_minute=q.board.finished_recently(60),
            queues=_queues(q, rows, now),
            peons=peons,
            leader=leader,
            sweeps=sweeps,
            logs=[
                {
                    "id": r["id"],
                    "message": r["message"],
                    "at": utc(r["created_at"]),
                    "task_id": r["task_id"],
                }
                for r in q.board.recent_logs(log_lines)
            ]
            if log_lines
            else [],
        )

    return store.call(read)
