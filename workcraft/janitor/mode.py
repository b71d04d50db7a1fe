"""Which leader election a janitor uses: ``get_lock`` (a MySQL named lock on a connection of
its own: the server frees it when the connection dies) or ``lease`` (a row with holder, term
and expiry, for clusters where named locks are per node). ``auto`` picks ``lease`` on a
Galera node or a Group Replication member, ``get_lock`` elsewhere."""

from __future__ import annotations

import logging
from typing import Protocol

from workcraft.data import Database, Queries, RetryPolicy
from workcraft.errors import ConfigError

log = logging.getLogger("workcraft.janitor")

MODES = ("auto", "get_lock", "lease")


class Leadership(Protocol):
    mode: str
    name: str
    term: int
    held: bool

    def acquire(self, timeout: float = 0) -> bool: ...

    def check(self) -> bool: ...

    def fence(self, q: Queries) -> bool: ...

    def release(self) -> None: ...


def leader_mode(db: Database, setting: str) -> str:
    """``get_lock`` or ``lease`` for this server (``auto`` asks the server what it is)."""
    if setting not in MODES:
        raise ConfigError(f"JANITOR_LEADER_MODE must be one of {', '.join(MODES)}, got {setting!r}")
    if setting != "auto":
        return setting

    def on_a_cluster(q: Queries) -> bool:
        return q.leader.is_galera_node() or q.leader.is_group_replication_member()

    with db.store("mode", RetryPolicy(give_up_after=None)) as store:
        clustered = store.call(on_a_cluster)
    mode = "lease" if clustered else "get_lock"
    log.info("janitor leader mode: %s (JANITOR_LEADER_MODE=auto)", mode)
    return mode
