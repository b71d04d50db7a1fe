"""``workcraft peon``: run a worker process."""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

import click

from workcraft.cli.compat import CompatCommand
from workcraft.cli.options import build_db_config, db_options, load_runtime, runtime_options
from workcraft.data import Database
from workcraft.ids import default_process_id
from workcraft.loader import load_app
from workcraft.peon import Peon, PeonOptions


def split_queues(values: tuple[str, ...]) -> tuple[str, ...]:
    """``--queues a,b --queues c`` and ``--queues "a b"`` all mean (a, b, c), in order."""
    queues: list[str] = []
    for value in values:
        for name in value.replace(",", " ").split():
            if name not in queues:
                queues.append(name)
    return tuple(queues) or ("DEFAULT",)


@click.command("peon", cls=CompatCommand)
@click.option(
    "--workcraft-path",
    required=True,
    help="Where the app lives, as MODULE.ATTRIBUTE (e.g. example.workcraft).",
)
@click.option("--worker-id", default=None, help="This peon's id (default: HOSTNAME-PID).")
@click.option(
    "--queues",
    "--queue",
    multiple=True,
    help="Queues to take tasks from, in priority order (repeat or comma-separate).",
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
@runtime_options
def peon_cmd(**kwargs: Any) -> None:
    """Run a worker: claim tasks, run them, heartbeat. Stop with SIGTERM/SIGINT (twice = now)."""
    settings = load_runtime(kwargs)
    config = build_db_config(kwargs)
    app = load_app(kwargs["workcraft_path"])
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
