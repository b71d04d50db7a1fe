"""The original's sweepers: workcraft 0.5.27's three EVENTs and the procedures they call.

Its setup created ``run_self_correct_tasks``, ``run_reopen_failed_tasks`` and
``run_check_dead_workers`` (every 10 s, calling ``self_correct_tasks()``,
``reopen_failed_tasks()``, ``check_dead_workers()``) and switched the server's global
``event_scheduler`` ON. Left in place after an upgrade, they keep sweeping beside the janitor
whenever the scheduler is on, by their own rules (``self_correct_tasks`` puts back to PENDING
any RUNNING task whose peon row names another ``current_task``: a peon running several tasks
at once loses all but one). ``setup_database_tables`` reports them in one line and drops them
with ``--drop-original-events``; ``status`` shows the same line. Nothing here changes a global
variable.
"""

from __future__ import annotations

import dataclasses

from workcraft.data.access import Queries
from workcraft.data.schema_upgrade import (
    ORIGINAL_EVENTS,
    ORIGINAL_PROCEDURES,
    drop_original_ddl,
)

DROP_FLAG = "--drop-original-events"


@dataclasses.dataclass(frozen=True)
class OriginalSweepers:
    """What this connection's user can see of them in its database."""

    visible: bool  # False: no EVENT privilege, so information_schema shows no EVENT at all
    events: tuple[str, ...] = ()
    procedures: tuple[str, ...] = ()
    event_scheduler: str = "OFF"  # the server's, read only

    @property
    def present(self) -> bool:
        return bool(self.events or self.procedures)

    @property
    def sweeping(self) -> bool:
        return bool(self.events) and self.event_scheduler == "ON"

    def names(self) -> str:
        parts = []
        if self.events:
            parts.append("EVENTs " + ", ".join(self.events))
        if self.procedures:
            parts.append("procedures " + ", ".join(self.procedures))
        return " and ".join(parts)

    def line(self, database: str) -> str | None:
        """The one line that says they are still there (None when nothing is)."""
        if not self.present:
            return None
        if not self.events:
            state = "no EVENT calls them any more"
        elif self.sweeping:
            state = "they sweep now: the server's event_scheduler is ON"
        else:
            state = (
                "they sweep whenever the server's event_scheduler is ON "
                f"(it is {self.event_scheduler} now)"
            )
        return (
            f"the original workcraft's {self.names()} still exist in {database}; {state}; "
            f"`workcraft setup_database_tables {DROP_FLAG}` drops them"
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "visible": self.visible,
            "events": list(self.events),
            "procedures": list(self.procedures),
            "event_scheduler": self.event_scheduler,
        }


def inspect(q: Queries) -> OriginalSweepers:
    scheduler = q.schema.event_scheduler()
    if not q.schema.can_see_events():
        return OriginalSweepers(visible=False, event_scheduler=scheduler)
    return OriginalSweepers(
        visible=True,
        events=tuple(q.schema.original_events(ORIGINAL_EVENTS)),
        procedures=tuple(q.schema.original_procedures(ORIGINAL_PROCEDURES)),
        event_scheduler=scheduler,
    )


def drop(q: Queries, found: OriginalSweepers) -> list[str]:
    """Drop what ``inspect`` found: the EVENTs first (they call the procedures). Returns
    what was dropped, as ``EVENT name`` / ``PROCEDURE name``."""
    dropped = []
    for kind, names in (("EVENT", found.events), ("PROCEDURE", found.procedures)):
        for name in names:
            q.schema.run_ddl(drop_original_ddl(kind, name))
            dropped.append(f"{kind} {name}")
    return dropped


def invisible_line(database: str, user: str) -> str:
    """For a database made by 0.5.27 whose EVENTs this user cannot see."""
    return (
        f"{database} was made by workcraft 0.5.27; {user} cannot see whether its EVENTs "
        "still exist (that needs the EVENT privilege) — if they do, they sweep whenever the "
        f"server's event_scheduler is ON; run setup_database_tables {DROP_FLAG} as a user "
        f"with the EVENT and ALTER ROUTINE privileges on {database}"
    )
