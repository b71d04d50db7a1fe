"""What every request handler needs, kept on the app (``app.state.web``), never global."""

from __future__ import annotations

import dataclasses
from typing import Any

from prometheus_client import CollectorRegistry
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from workcraft.config.settings import Settings
from workcraft.data import Database
from workcraft.web import csrf
from workcraft.web.options import WebOptions
from workcraft.web.stores import StorePool


@dataclasses.dataclass(frozen=True)
class Web:
    db: Database
    settings: Settings
    options: WebOptions
    stores: StorePool
    templates: Jinja2Templates
    registry: CollectorRegistry
    version: str


def web_of(request: Request) -> Web:
    web: Web = request.app.state.web
    return web


def render(
    request: Request, template: str, context: dict[str, Any], status_code: int = 200
) -> Response:
    """A page: the template with the options, the page's CSRF token (setting the cookie when
    the browser has none yet) and what the layout shows."""
    web = web_of(request)
    token, new = csrf.token(request)
    response = web.templates.TemplateResponse(
        request,
        template,
        {
            **context,
            "options": web.options,
            "csrf_field": csrf.FIELD,
            "csrf_token": token,
            "database": _where(web.db),
            "version": web.version,
        },
        status_code=status_code,
    )
    if new:
        csrf.set_cookie(response, token)
    response.headers["Cache-Control"] = "no-store"
    return response


def _where(db: Database) -> str:
    """The database, for the top bar: host, port and name (not the user)."""
    config = db.config
    return f"{config.host}:{config.port}/{config.database}"
