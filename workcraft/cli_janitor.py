"""``workcraft janitor``: run the housekeeping sweeps under the leader lock."""

from __future__ import annotations

import json
from typing import Any

import click

from workcraft.cli_compat import CompatCommand
from workcraft.cli_options import build_db_config, db_options, load_runtime, runtime_options
from workcraft.errors import WorkcraftError
from workcraft.janitor.service import Janitor
from workcraft.store import RetryPolicy, Store


class LockBusy(WorkcraftError):
    exit_code = 1


@click.command("janitor", cls=CompatCommand)
@click.option("--once", is_flag=True, help="Take the lock, run every sweep once, print, exit.")
@click.option(
    "--lock-timeout",
    type=float,
    default=30.0,
    show_default=True,
    help="With --once: how long to wait for the leader lock.",
)
@click.option("--json", "as_json", is_flag=True, help="With --once: print JSON.")
@click.option("--janitor-id", default=None, help="Name in logs (default: HOSTNAME-PID).")
@db_options
@runtime_options
def janitor_cmd(**kwargs: Any) -> None:
    """Sweep dead peons, orphaned tasks and failed tasks due for a retry (leader only)."""
    settings = load_runtime(kwargs)
    config = build_db_config(kwargs)
    janitor = Janitor(config, settings, kwargs["janitor_id"])
    # Missing tables or bad credentials: exit at once with the reason. An unreachable
    # server: wait for it (with --once, no longer than the lock timeout).
    give_up = kwargs["lock_timeout"] if kwargs["once"] else None
    with Store(config, RetryPolicy(give_up_after=give_up), name="janitor") as store:
        store.fetch_value("tables_present")
    if not kwargs["once"]:
        janitor.install_signal_handlers()
        janitor.serve()
        return
    try:
        if not janitor.try_lead(kwargs["lock_timeout"]):
            raise LockBusy(
                f"another janitor holds {janitor.lock.name}; waited {kwargs['lock_timeout']:g} s"
            )
        results = janitor.run_all_once()
    finally:
        janitor.step_down()
        janitor.close()
    if kwargs["as_json"]:
        click.echo(json.dumps({r.sweep: r.counts for r in results}))
        return
    for result in results:
        counts = ", ".join(f"{k}={v}" for k, v in result.counts.items()) or "nothing to do"
        click.echo(f"{result.sweep}: {counts}")
        for message in result.messages:
            click.echo(f"  {message}")
