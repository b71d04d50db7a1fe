"""The dashboard's actions: retry or cancel a task, pause or resume a queue.

POST only (plain HTML forms: they work without JavaScript), each checked against the CSRF
cookie, refused with 403 on a ``--read-only`` dashboard, logged with who asked, and answered
with a redirect (303) to the page that shows the outcome.
"""

from __future__ import annotations

import logging
from urllib.parse import quote, urlencode

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from workcraft.app.control import CANCELLED_RESULT
from workcraft.data import Queries
from workcraft.payload import check_queue
from workcraft.web import csrf
from workcraft.web.context import render, web_of

log = logging.getLogger("workcraft.web")


class Refused(Exception):
    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message


async def _form(request: Request) -> FormData:
    """The form of an allowed action, or ``Refused``."""
    if web_of(request).options.read_only:
        raise Refused(403, "This dashboard is read-only: it takes no actions.")
    form = await request.form()
    if not csrf.valid(request, form):
        raise Refused(
            403, "Missing or wrong CSRF token: reload the page and try again (cookies on)."
        )
    return form


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    if not isinstance(value, str) or not value.strip():
        raise Refused(400, f"The form has no {name}.")
    return value.strip()


def _who(request: Request) -> str:
    client = request.client.host if request.client else "?"
    user = web_of(request).options.auth
    return f"{user.user}@{client}" if user else client


def _refusal(request: Request, refused: Refused) -> Response:
    context = {"page": "", "message": refused.message}
    return render(request, "refused.html", context, refused.status_code)


def _to_task(task_id: str, done: str) -> RedirectResponse:
    return RedirectResponse(f"/tasks/{quote(task_id, safe='')}?done={done}", status_code=303)


async def retry(request: Request) -> Response:
    try:
        task_id = _field(await _form(request), "task_id")
    except Refused as refused:
        return _refusal(request, refused)
    web = web_of(request)

    def run() -> int:
        with web.stores.borrow() as store:
            return store.transaction(lambda q, _attempt: q.board.retry([task_id]))

    retried = await run_in_threadpool(run)
    log.info("web: %s retried task %s: %s", _who(request), task_id, bool(retried))
    return _to_task(task_id, "retried" if retried else "not-retried")


async def cancel(request: Request) -> Response:
    try:
        task_id = _field(await _form(request), "task_id")
    except Refused as refused:
        return _refusal(request, refused)
    web = web_of(request)

    def run() -> str:
        with web.stores.borrow() as store:
            return store.call(lambda q: q.tasks.cancel(task_id, CANCELLED_RESULT))

    outcome = await run_in_threadpool(run)
    log.info("web: %s cancelled task %s: %s", _who(request), task_id, outcome)
    return _to_task(task_id, outcome)


async def _set_paused(request: Request, paused: bool) -> Response:
    try:
        name = _field(await _form(request), "queue")
        try:
            queue = check_queue(name)
        except (TypeError, ValueError) as exc:
            raise Refused(400, str(exc)) from None
    except Refused as refused:
        return _refusal(request, refused)
    web = web_of(request)

    def run(q: Queries) -> None:
        q.tasks.set_queue_paused(queue, paused)

    def call() -> None:
        with web.stores.borrow() as store:
            store.call(run)

    await run_in_threadpool(call)
    word = "paused" if paused else "resumed"
    log.info("web: %s %s queue %s", _who(request), word, queue)
    query = urlencode({"done": word, "queue": queue})
    return RedirectResponse(f"/queues?{query}", status_code=303)


async def pause(request: Request) -> Response:
    return await _set_paused(request, True)


async def resume(request: Request) -> Response:
    return await _set_paused(request, False)
