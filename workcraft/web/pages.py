"""The pages: overview, tasks, one task, queues, peons, schedules, the janitor's log.

Every handler borrows one store for the request, reads with the bounded queries of the
views (``snapshot``, ``list_tasks``, ``task_detail``) and renders a template. Live pages
poll themselves with htmx (``hx-select`` takes the fresh ``#live`` part of the page).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from workcraft.data import Queries
from workcraft.models import RETRYABLE_STATUS_NAMES, decode_json
from workcraft.views.board import FINAL, STATUSES, janitor_view, leader_stale_after, snapshot
from workcraft.views.tasks import Page, TaskFilter, list_tasks, parse_since, task_detail
from workcraft.web.chart import throughput_chart
from workcraft.web.context import render, web_of
from workcraft.web.format import HIDDEN

CHART_MINUTES = 60
OVERVIEW_LOG_LINES = 8
SINCE_CHOICES = (
    ("", "any time"),
    ("15m", "15 min"),
    ("1h", "1 hour"),
    ("1d", "1 day"),
    ("7d", "7 days"),
)
RETRYABLE = RETRYABLE_STATUS_NAMES
# What an action did, shown once after its redirect (fixed texts: nothing is reflected).
DONE = {
    "retried": "Sent back to PENDING: it runs again.",
    "not-retried": "Not retried: it is not FAILURE, INVALID or CANCELLED now, or another "
    "live task holds its unique key.",
    "cancelled": "Cancelled: it will not run.",
    "requested": "Cancel requested: its peon stops it within one heartbeat.",
    "finished": "Already finished: nothing changed.",
    "missing": "No such task.",
    "paused": "paused: peons take nothing more from it (running tasks finish).",
    "resumed": "resumed: peons take from it again within one polling interval.",
}


def _done(request: Request) -> str | None:
    return DONE.get(request.query_params.get("done", ""))


def _naive(at: dt.datetime) -> dt.datetime:
    return at.astimezone(dt.timezone.utc).replace(tzinfo=None) if at.tzinfo else at


def overview(request: Request) -> Response:
    web = web_of(request)
    with web.stores.borrow() as store:
        board = snapshot(store, web.settings, log_lines=OVERVIEW_LOG_LINES)
        now = _naive(board.at)
        since = now.replace(second=0, microsecond=0) - dt.timedelta(minutes=CHART_MINUTES)
        points = store.call(lambda q: q.board.throughput_since(since))
    due = [q.oldest_due_age_s for q in board.queues if q.oldest_due_age_s is not None]
    context = {
        "page": "overview",
        "board": board,
        "chart": throughput_chart(points, now, CHART_MINUTES),
        "oldest_due": max(due) if due else None,
        "live_peons": board.live_peons(),
        "finished": {s: board.total(s) for s in FINAL},
        "statuses": STATUSES,
    }
    return render(request, "overview.html", context)


def _task_filter_form(request: Request) -> dict[str, Any]:
    params = request.query_params
    return {
        "statuses": [s for s in params.getlist("status") if s],
        "queue": params.get("queue", "").strip(),
        "name": params.get("name", "").strip(),
        "peon": params.get("peon", "").strip(),
        "since": params.get("since", "").strip(),
        "q": params.get("q", "").strip(),
        "after": params.get("after") or None,
    }


def tasks(request: Request) -> Response:
    web = web_of(request)
    form = _task_filter_form(request)
    text = form["q"] or None
    note = None
    if text and web.options.hide_args:
        note = "Arguments are hidden on this dashboard: the search matches task ids only."

    def read(q: Queries) -> Page:
        if text and len(text) <= 36:
            row = q.board.task_by_id(text)
            if row is not None:
                return Page([row], None)
        if text and web.options.hide_args:
            return Page([], None)
        wanted = TaskFilter(
            statuses=tuple(s.upper() for s in form["statuses"]),
            queue=form["queue"] or None,
            name=form["name"] or None,
            peon=form["peon"] or None,
            since=parse_since(form["since"] or None, q.schema.server_now()),
            text=text,
        )
        return list_tasks(
            q, wanted, web.options.page_size, form["after"], window=web.options.search_window
        )

    error = None
    try:
        with web.stores.borrow() as store:
            page = store.call(read)
    except ValueError as exc:  # a status, "since" or cursor that does not parse
        error, page = str(exc), Page([], None)
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != "after" and v]
    context = {
        "page": "tasks",
        "form": form,
        "result": page,
        "error": error,
        "note": note,
        "statuses": STATUSES,
        "since_choices": SINCE_CHOICES,
        "filtered": bool(kept),
        "next_url": None
        if page.next_cursor is None
        else "/tasks?" + urlencode([*kept, ("after", page.next_cursor)]),
        "first_url": "/tasks?" + urlencode(kept) if form["after"] else None,
        "window": web.options.search_window,
    }
    return render(request, "tasks.html", context, 400 if error else 200)


def _error_parts(result: Any) -> dict[str, Any] | None:
    """A failed run's result: ``{error_type, message, traceback}`` (the peon writes it)."""
    if isinstance(result, dict) and ("error_type" in result or "traceback" in result):
        return {
            "type": result.get("error_type"),
            "message": result.get("message"),
            "traceback": result.get("traceback"),
            "rest": {
                k: v for k, v in result.items() if k not in ("error_type", "message", "traceback")
            },
        }
    return None


def task(request: Request) -> Response:
    web = web_of(request)
    task_id = request.path_params["task_id"]
    with web.stores.borrow() as store:
        detail = task_detail(store, task_id)
    if detail is None:
        return render(request, "missing.html", {"page": "tasks", "what": f"task {task_id}"}, 404)
    if web.options.hide_args:
        detail["payload"] = HIDDEN
    status = detail["status"]
    context = {
        "page": "tasks",
        "task": detail,
        "error": _error_parts(detail["result"]) if status != "SUCCESS" else None,
        "can_retry": status in RETRYABLE,
        "can_cancel": status == "PENDING"
        or detail["will_retry"]
        or (status == "RUNNING" and not detail["cancel_requested"]),
        "done": _done(request),
        "waited": _between(detail["run_at"], detail["started_at"]),
        "ran_for": _between(detail["started_at"], detail["finished_at"]),
    }
    return render(request, "task.html", context)


def _between(start: str | None, end: str | None) -> float | None:
    """Seconds from one ISO time of a task's detail to another (None if either is not)."""
    if not start or not end:
        return None
    seconds = (dt.datetime.fromisoformat(end) - dt.datetime.fromisoformat(start)).total_seconds()
    return seconds if seconds >= 0 else None


def queues(request: Request) -> Response:
    web = web_of(request)
    with web.stores.borrow() as store:
        board = snapshot(store, web.settings, log_lines=0)
    context = {
        "page": "queues",
        "board": board,
        "done": _done(request),
        "done_queue": request.query_params.get("queue"),
    }
    return render(request, "queues.html", context)


def peons(request: Request) -> Response:
    web = web_of(request)
    with web.stores.borrow() as store:
        board = snapshot(store, web.settings, log_lines=0)
    listed = sorted(board.peons, key=lambda p: (not p["live"], p["status"] == "OFFLINE", p["id"]))
    context = {
        "page": "peons",
        "peons": listed,
        "live": len(board.live_peons()),
        "dead_after": web.settings.DB_SETUP_WAIT_TIME_BEFORE_WORKER_DECLARED_DEAD,
    }
    return render(request, "peons.html", context)


def schedules(request: Request) -> Response:
    web = web_of(request)
    with web.stores.borrow() as store:
        rows = store.call(lambda q: q.board.schedules())
    for row in rows:
        row["payload"] = HIDDEN if web.options.hide_args else decode_json(row["payload"])
        row["active"] = bool(row["active"])
    return render(request, "schedules.html", {"page": "schedules", "schedules": rows})


def janitor(request: Request) -> Response:
    web = web_of(request)
    try:
        before = int(request.query_params.get("before") or 0) or None
    except ValueError:
        before = None
    size = web.options.page_size

    def read(q: Queries) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        return q.board.janitor_states(), q.board.logs_before(before, size + 1)

    with web.stores.borrow() as store:
        states, lines = store.call(read)
    leader, sweeps = janitor_view(states, leader_stale_after(web.settings))
    more = len(lines) > size
    lines = lines[:size]
    context = {
        "page": "janitor",
        "leader": leader,
        "sweeps": sweeps,
        "lines": lines,
        "older_url": f"/janitor?before={lines[-1]['id']}" if more and lines else None,
        "newest_url": "/janitor" if before else None,
    }
    return render(request, "janitor.html", context)
