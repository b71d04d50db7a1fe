"""HTTP basic auth for the whole dashboard (when ``--auth`` is given), ``/healthz`` aside.

Prometheus scrapes ``/metrics`` with the same credentials (``basic_auth`` in its scrape
config). The comparison takes the same time whatever the guess (``hmac.compare_digest``).
"""

from __future__ import annotations

import base64
import binascii
import hmac

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from workcraft.web.options import Credentials

OPEN_PATHS = frozenset({"/healthz"})
CHALLENGE = {"WWW-Authenticate": 'Basic realm="workcraft", charset="UTF-8"'}


def authorized(header: str | None, credentials: Credentials) -> bool:
    scheme, _, encoded = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    user, sep, password = decoded.partition(b":")
    user_ok = hmac.compare_digest(user, credentials.user.encode("utf-8"))
    password_ok = hmac.compare_digest(password, credentials.password.encode("utf-8"))
    return bool(sep) and user_ok and password_ok


class BasicAuth:
    """ASGI middleware: 401 with a challenge unless the request carries the credentials."""

    def __init__(self, app: ASGIApp, credentials: Credentials | None) -> None:
        self.app = app
        self.credentials = credentials

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or self.credentials is None
            or scope["path"] in OPEN_PATHS
            or authorized(Headers(scope=scope).get("authorization"), self.credentials)
        ):
            await self.app(scope, receive, send)
            return
        response = PlainTextResponse("authentication required\n", 401, headers=CHALLENGE)
        await response(scope, receive, send)
