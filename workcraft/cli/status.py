"""``workcraft status [--watch [SECONDS]] [--json]``: the board, once or live."""

from __future__ import annotations

import json
import time
from typing import Any

import click
from rich.console import Console
from rich.live import Live

from workcraft.cli.compat import CompatCommand
from workcraft.cli.options import build_db_config, db_options, load_runtime, runtime_options
from workcraft.cli.render import board_view
from workcraft.config.settings import Settings
from workcraft.data import Database, Store
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
        if kwargs["watch"] is None:
            board = snapshot(store, settings, kwargs["log_lines"])
            if kwargs["as_json"]:
                click.echo(json.dumps(board.as_dict(), ensure_ascii=False))
            else:
                Console().print(board_view(board))
            return
        console = Console()
        try:
            if console.is_terminal:
                watch_live(console, store, settings, kwargs["watch"], kwargs["log_lines"])
            else:  # piped or logged: Live would print nothing until the end, so append boards
                while True:
                    console.print(board_view(snapshot(store, settings, kwargs["log_lines"])))
                    console.print()
                    time.sleep(kwargs["watch"])
        except KeyboardInterrupt:
            console.print("stopped watching")


def watch_live(
    console: Console, store: Store, settings: Settings, every: float, log_lines: int
) -> None:
    board = snapshot(store, settings, log_lines)
    with Live(board_view(board), console=console, screen=False, auto_refresh=False) as live:
        while True:
            time.sleep(every)
            live.update(board_view(snapshot(store, settings, log_lines)), refresh=True)
