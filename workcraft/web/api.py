"""JSON for scripts: ``/api/status`` (what ``workcraft status --json`` prints) and
``/api/tasks/{id}`` (what ``workcraft tasks show --json`` prints; arguments hidden with
``--hide-args``)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from workcraft.views.board import snapshot
from workcraft.views.tasks import task_detail
from workcraft.web.context import web_of
from workcraft.web.format import HIDDEN

LOG_LINES = 10


def status(request: Request) -> Response:
    web = web_of(request)
    with web.stores.borrow() as store:
        board = snapshot(store, web.settings, log_lines=LOG_LINES)
    return JSONResponse(board.as_dict(), headers={"Cache-Control": "no-store"})


def task(request: Request) -> Response:
    web = web_of(request)
    task_id = request.path_params["task_id"]
    with web.stores.borrow() as store:
        detail = task_detail(store, task_id)
    if detail is None:
        return JSONResponse({"error": f"no task {task_id!r}"}, status_code=404)
    if web.options.hide_args:
        detail["payload"] = HIDDEN
    return JSONResponse(detail, headers={"Cache-Control": "no-store"})
