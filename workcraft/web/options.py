"""What ``workcraft web`` was asked for: where to listen, who may look, what it may do."""

from __future__ import annotations

import dataclasses
import ipaddress

from workcraft.errors import UsageError

AUTH_ENV = "WORKCRAFT_WEB_AUTH"


@dataclasses.dataclass(frozen=True)
class Credentials:
    """HTTP basic auth: one user name and password (``USER:PASSWORD``)."""

    user: str
    password: str = dataclasses.field(repr=False)

    @classmethod
    def parse(cls, text: str) -> Credentials:
        user, sep, password = text.partition(":")
        if not sep or not user or not password:
            raise UsageError(
                f"--auth / {AUTH_ENV} must be USER:PASSWORD, both non-empty "
                "(the password may contain ':')"
            )
        return cls(user, password)


@dataclasses.dataclass(frozen=True)
class WebOptions:
    host: str = "127.0.0.1"
    port: int = 8700
    read_only: bool = False  # no action buttons; action POSTs answer 403
    hide_args: bool = False  # task and schedule arguments shown as "hidden" everywhere
    auth: Credentials | None = None
    refresh_seconds: float = 3.0  # live pages poll this often (htmx)
    page_size: int = 50
    # A filtered task search checks at most this many tasks per status per page.
    search_window: int = 5_000
    # How long a request waits for a database that does not answer before saying 503.
    give_up_after: float = 3.0

    def check_binding(self) -> None:
        """Anything but loopback is reachable by others: refuse it without a password."""
        if self.auth is None and not is_loopback(self.host):
            raise UsageError(
                f"binding {self.host} makes the dashboard reachable from other machines: give "
                f"--auth USER:PASSWORD (or {AUTH_ENV}=USER:PASSWORD) for HTTP basic auth, "
                "or bind 127.0.0.1"
            )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve to anything
