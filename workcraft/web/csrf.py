"""Double-submit CSRF tokens: a random token in an HttpOnly, SameSite=Strict cookie, rendered
into every action form by the server; a POST whose form token does not match its cookie is
refused (403). Another site can make a browser send the cookie (not with SameSite=Strict,
but older browsers) yet cannot read it, so it cannot fill in the form field."""

from __future__ import annotations

import hmac
import re
import secrets

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

COOKIE = "workcraft_csrf"
FIELD = "csrf_token"
_WELL_FORMED = re.compile(r"^[A-Za-z0-9_-]{43}$")  # token_urlsafe(32)


def token(request: Request) -> tuple[str, bool]:
    """The request's token (from its cookie), or a new one; True when it is new and the
    response must set the cookie."""
    current = request.cookies.get(COOKIE, "")
    if _WELL_FORMED.match(current):
        return current, False
    return secrets.token_urlsafe(32), True


def set_cookie(response: Response, value: str) -> None:
    response.set_cookie(COOKIE, value, httponly=True, samesite="strict", path="/")


def valid(request: Request, form: FormData) -> bool:
    cookie = request.cookies.get(COOKIE, "")
    sent = form.get(FIELD)
    if not isinstance(sent, str) or not _WELL_FORMED.match(cookie):
        return False
    return hmac.compare_digest(sent.encode("utf-8"), cookie.encode("utf-8"))
