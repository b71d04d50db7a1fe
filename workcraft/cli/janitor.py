"""``workcraft janitor``: run the housekeeping sweeps under the leader lock."""

from __future__ import annotations

import json
from typing import Any

import click

from workcraft.cli.compat import CompatCommand
from workcraft.cli.options import build_db_config, db_options, load_runtime, runtime_options
from workcraft.data import Database, RetryPolicy
from workcraft.errors import UsageError
from workcraft.janitor import Janitor, sweep_once


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
@click.option(
    "--startup-timeout",
    type=click.FloatRange(0),
    default=None,
    help="Without --once: exit 1 if the database is unreachable this long at start.",
)
@db_options
@runtime_options
@click.pass_context
def janitor_cmd(ctx: click.Context, /, **kwargs: Any) -> None:
    """Sweep dead peons, orphaned tasks, failed tasks due for a retry, schedules, old rows
    (leader only)."""
    # Flags that would do nothing in this mode are an error, not silently ignored.
    given = {
        flag
        for name, flag in (("lock_timeout", "--lock-timeout"), ("as_json", "--json"))
        if ctx.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT
    }
    if not kwargs["once"] and given:
        raise UsageError(f"{' and '.join(sorted(given))}: only with --once")
    if kwargs["once"] and kwargs["startup_timeout"] is not None:
        raise UsageError("--startup-timeout: not with --once (it waits --lock-timeout)")
    settings = load_runtime(kwargs)
    db = Database(build_db_config(kwargs))
    if kwargs["once"]:
        results = sweep_once(db, settings, kwargs["janitor_id"], kwargs["lock_timeout"])
        if kwargs["as_json"]:
            click.echo(json.dumps({r.sweep: r.counts for r in results}))
            return
        for result in results:
            counts = ", ".join(f"{k}={v}" for k, v in result.counts.items()) or "nothing to do"
            click.echo(f"{result.sweep}: {counts}")
            for message in result.messages:
                click.echo(f"  {message}")
        return
    # Missing tables or bad credentials: exit at once with the reason. An unreachable
    # server: wait for it.
    db.check_tables(RetryPolicy(give_up_after=kwargs["startup_timeout"]))
    janitor = Janitor(db, settings, kwargs["janitor_id"])
    janitor.install_signal_handlers()
    janitor.serve()
