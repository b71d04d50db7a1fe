"""What a janitor says when the database goes and comes back.

The leader lock (or lease) is asked every retry interval, leader or not: the janitor's one
regular contact with the server, so it is what notices an outage, once, and its end."""

from __future__ import annotations

import logging

from workcraft.errors import DatabaseUnavailable, WorkcraftError

log = logging.getLogger("workcraft.janitor")


class Reachability:
    def __init__(self, what: str, where: str) -> None:
        self.what = what  # "leader lock" / "leader lease"
        self.where = where
        self.unreachable = False

    def failed(self, exc: WorkcraftError) -> None:
        if isinstance(exc, DatabaseUnavailable):
            if not self.unreachable:
                self.unreachable = True
                log.warning("janitor: database unavailable (%s); retrying", exc)
        else:
            log.error("janitor: %s query failed: %s", self.what, exc)

    def succeeded(self) -> None:
        if self.unreachable:
            self.unreachable = False
            log.warning("janitor: database %s is back", self.where)
