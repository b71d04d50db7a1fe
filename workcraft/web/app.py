"""``create_app(db, settings, options)``: the dashboard as a Starlette app, with no global
state, so tests run it in process (``TestClient``) and ``workcraft web`` under uvicorn."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from importlib import metadata

import jinja2
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from workcraft.config.settings import Settings
from workcraft.data import Database, RetryPolicy
from workcraft.errors import WorkcraftError
from workcraft.web import actions, api, metrics, pages
from workcraft.web.auth import BasicAuth
from workcraft.web.context import Web, render
from workcraft.web.format import FILTERS
from workcraft.web.options import WebOptions
from workcraft.web.stores import StorePool

log = logging.getLogger("workcraft.web")

# Scripts and styles only from this server; no framing; the chart is inline SVG markup.
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        b"frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    ),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers)


def _templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("workcraft.web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(FILTERS)
    return Jinja2Templates(env=env)


def _version() -> str:
    try:
        return metadata.version("workcraft")
    except metadata.PackageNotFoundError:
        return "dev"


async def _database_error(request: Request, exc: Exception) -> Response:
    log.warning("web: %s %s: %s", request.method, request.url.path, exc)
    context = {"page": "", "message": f"Database error: {exc}"}
    return render(request, "refused.html", context, 503)


async def _not_found(request: Request, exc: Exception) -> Response:
    return render(request, "missing.html", {"page": "", "what": request.url.path}, 404)


def routes() -> list[Route | Mount]:
    return [
        Route("/", pages.overview, name="overview"),
        Route("/tasks", pages.tasks, name="tasks"),
        Route("/tasks/retry", actions.retry, methods=["POST"], name="retry"),
        Route("/tasks/cancel", actions.cancel, methods=["POST"], name="cancel"),
        Route("/tasks/{task_id:path}", pages.task, name="task"),
        Route("/queues", pages.queues, name="queues"),
        Route("/queues/pause", actions.pause, methods=["POST"], name="pause"),
        Route("/queues/resume", actions.resume, methods=["POST"], name="resume"),
        Route("/peons", pages.peons, name="peons"),
        Route("/schedules", pages.schedules, name="schedules"),
        Route("/janitor", pages.janitor, name="janitor"),
        Route("/api/status", api.status, name="api_status"),
        Route("/api/tasks/{task_id:path}", api.task, name="api_task"),
        Route("/metrics", metrics.metrics, name="metrics"),
        Route("/healthz", metrics.healthz, name="healthz"),
        Mount("/static", StaticFiles(packages=[("workcraft.web", "static")]), name="static"),
    ]


def create_app(db: Database, settings: Settings, options: WebOptions) -> Starlette:
    """The dashboard for ``db``. Its connections (one per concurrent request, a few kept
    idle) are closed when the app shuts down."""
    stores = StorePool(db, RetryPolicy(give_up_after=options.give_up_after))

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            stores.close()

    app = Starlette(
        routes=routes(),
        middleware=[Middleware(SecurityHeaders), Middleware(BasicAuth, credentials=options.auth)],
        exception_handlers={WorkcraftError: _database_error, 404: _not_found},
        lifespan=lifespan,
    )
    app.state.web = Web(
        db=db,
        settings=settings,
        options=options,
        stores=stores,
        templates=_templates(),
        registry=metrics.registry_for(stores, settings),
        version=_version(),
    )
    return app
