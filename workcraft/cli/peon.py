"""``workcraft peon``: run a worker process.

It also takes workcraft 0.5.27's peon flags: the app as a positional argument or
``--workcraft_path``, ``--queues="[q1,q2]"`` (python-fire's list) and
``--load_db_config_from_env=False`` (0.5.27's name for ``--read_from_env``).
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

import click

from workcraft.cli.compat import CompatCommand
from workcraft.cli.options import build_db_config, db_options, load_runtime, runtime_options
from workcraft.compat.queues import QueueListError, is_list_spelling, parse_queue_list
from workcraft.data import Database
from workcraft.errors import UsageError
from workcraft.ids import default_process_id
from workcraft.loader import load_app
from workcraft.payload import check_queue
from workcraft.peon import Peon, PeonOptions

log = logging.getLogger("workcraft.peon")


def split_queues(values: tuple[str, ...]) -> tuple[str, ...]:
    """``--queues a,b --queues c``, ``--queues "a b"`` and 0.5.27's ``--queues="[a,b]"``
    all mean (a, b, c), in order."""
    queues: list[str] = []
    for value in values:
        if is_list_spelling(value):
            try:
                names = [check_queue(name) for name in parse_queue_list(value)]
            except (QueueListError, ValueError, TypeError) as exc:
                raise click.BadParameter(str(exc), param_hint="'--queues'") from None
        else:
            names = value.replace(",", " ").split()
        for name in names:
            if name not in queues:
                queues.append(name)
    return tuple(queues) or ("DEFAULT",)


def app_path(kwargs: dict[str, Any]) -> str:
    """The app, from ``--workcraft_path`` or (as python-fire allowed) the first argument."""
    flag, positional = kwargs.pop("workcraft_path"), kwargs.pop("workcraft_path_argument")
    if flag and positional and flag != positional:
        raise UsageError(f"two apps given: --workcraft_path={flag} and {positional}")
    path = flag or positional
    if not path:
        raise UsageError("missing --workcraft_path=MODULE.ATTRIBUTE (e.g. example.workcraft)")
    return str(path)


def original_env_flag(ctx: click.Context, kwargs: dict[str, Any]) -> None:
    """0.5.27's ``--load_db_config_from_env`` sets ``--read_from_env``; both, disagreeing,
    is an error."""
    value = kwargs.pop("load_db_config_from_env")
    if value is None:
        return
    given = ctx.get_parameter_source("read_from_env") is click.core.ParameterSource.COMMANDLINE
    if given and kwargs["read_from_env"] != value:
        raise UsageError("--load_db_config_from_env and --read_from_env disagree; give one")
    kwargs["read_from_env"] = value


@click.command("peon", cls=CompatCommand)
@click.argument("workcraft_path_argument", metavar="[MODULE.ATTRIBUTE]", required=False)
@click.option(
    "--workcraft-path",
    default=None,
    help="Where the app lives, as MODULE.ATTRIBUTE (e.g. example.workcraft).",
)
@click.option("--worker-id", default=None, help="This peon's id (default: HOSTNAME-PID).")
@click.option(
    "--queues",
    "--queue",
    multiple=True,
    help="Queues to take tasks from, in priority order (repeat, comma-separate, or [a,b]).",
)
@click.option("--concurrency", type=click.IntRange(1, 512), default=1, show_default=True)
@click.option("--burst", is_flag=True, help="Exit 0 once the queues hold nothing runnable.")
@click.option(
    "--startup-timeout",
    type=click.FloatRange(0),
    default=None,
    help="Exit 1 if the database is unreachable this many seconds at start (default: wait).",
)
@db_options
@click.option(
    "--load-db-config-from-env/--no-load-db-config-from-env",
    default=None,
    hidden=True,
    help="workcraft 0.5.27's name for --read-from-env.",
)
@runtime_options
@click.pass_context
def peon_cmd(ctx: click.Context, /, **kwargs: Any) -> None:
    """Run a worker: claim tasks, run them, heartbeat. Stop with SIGTERM/SIGINT (twice = now)."""
    # Several worker threads log a line per task each: one writer thread batches them.
    settings = load_runtime(kwargs, writer_thread=kwargs["concurrency"] > 1)
    original_env_flag(ctx, kwargs)
    config = build_db_config(kwargs)
    app = load_app(app_path(kwargs))
    if app.task_id_rules:
        log.info(
            "called with the task id first (workcraft 0.5.27's convention; see "
            "workcraft.compat.taskid): %s",
            ", ".join(f"{name} ({rule})" for name, rule in sorted(app.task_id_rules.items())),
        )
    options = PeonOptions(
        worker_id=kwargs["worker_id"] or default_process_id(),
        queues=split_queues(kwargs["queues"]),
        concurrency=kwargs["concurrency"],
        burst=kwargs["burst"],
        startup_timeout=kwargs["startup_timeout"],
    )
    peon = Peon(app, Database(config), settings, options)
    peon.install_signal_handlers()
    code = peon.run()
    if peon.threads_busy():
        # A task function that ignored the grace period cannot be interrupted; its task is
        # already back to PENDING, so leave without waiting for the thread.
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)
