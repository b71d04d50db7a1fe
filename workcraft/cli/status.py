"""``workcraft status [--watch [SECONDS]] [--json]``: the board, once or live."""

from __future__ import annotations

import contextlib
import json
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

import click
from rich.console import Console, Group
from rich.live import Live

from workcraft.cli.compat import CompatCommand
from workcraft.cli.options import build_db_config, db_options, load_runtime, runtime_options
from workcraft.cli.render import board_view, with_note
from workcraft.compat import sweepers
from workcraft.data import Database
from workcraft.errors import UsageError
from workcraft.views.board import snapshot


@click.command("status", cls=CompatCommand)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
@click.option("--logs", "log_lines", type=click.IntRange(0, 1000), default=10, show_default=True)
@click.option(
    "--watch",
    type=click.FloatRange(0.2, 3600),
    is_flag=False,
    flag_value=2.0,
    default=None,
    help="Redraw in place every SECONDS (default 2) until Ctrl-C.",
)
@db_options
@runtime_options
def status_cmd(**kwargs: Any) -> None:
    """Counts per queue and task (retries waiting apart from final failures), throughput,
    oldest due task, queues, peons, the janitor leader, recent janitor actions."""
    settings = load_runtime(kwargs)
    if kwargs["watch"] is not None and kwargs["as_json"]:
        raise UsageError("--watch redraws a board for people; it does not go with --json")
    with Database(build_db_config(kwargs)).store("status") as store:
        # Read once: the original's EVENTs change only when someone drops them.
        found = store.call(sweepers.inspect)
        note = found.line(store.config.database)
        if kwargs["watch"] is None:
            board = snapshot(store, settings, kwargs["log_lines"])
            if kwargs["as_json"]:
                data = board.as_dict()
                data["original_sweepers"] = found.as_dict() if found.present else None
                click.echo(json.dumps(data, ensure_ascii=False))
            else:
                Console().print(with_note(board_view(board), note))
            return
        console = Console()

        def view() -> Group:
            return with_note(board_view(snapshot(store, settings, kwargs["log_lines"])), note)

        with ctrl_c_sets() as stop:
            if console.is_terminal:
                watch_live(console, view, kwargs["watch"], stop)
            else:  # piped or logged: Live would print nothing until the end, so append boards
                while not stop.is_set():
                    console.print(view())
                    console.print()
                    stop.wait(kwargs["watch"])
        console.print("stopped watching")


@contextlib.contextmanager
def ctrl_c_sets() -> Iterator[threading.Event]:
    """An event that Ctrl-C (SIGINT) sets, in place of KeyboardInterrupt: an interrupt that
    lands inside the connector's C code can come back as a lost-connection error, which the
    store retries, and the watch would go on."""
    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda _signum, _frame: stop.set())
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)


def watch_live(
    console: Console, view: Callable[[], Group], every: float, stop: threading.Event
) -> None:
    with Live(view(), console=console, screen=False, auto_refresh=False) as live:
        while not stop.wait(every):
            live.update(view(), refresh=True)
