"""``workcraft status``: the board, for people (tables) or scripts (``--json``)."""

from __future__ import annotations

import json
from typing import Any

import click
from rich.console import Console

from workcraft.board import snapshot
from workcraft.cli.compat import CompatCommand
from workcraft.cli.options import build_db_config, db_options, load_runtime, runtime_options
from workcraft.cli.render import log_table, peon_table, task_table
from workcraft.data import Database


@click.command("status", cls=CompatCommand)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
@click.option("--logs", "log_lines", type=click.IntRange(0, 1000), default=10, show_default=True)
@db_options
@runtime_options
def status_cmd(**kwargs: Any) -> None:
    """Task counts per queue and status, peons, and the latest janitor actions."""
    settings = load_runtime(kwargs)
    with Database(build_db_config(kwargs)).store("status") as store:
        board = snapshot(store, settings.TASK_MAX_CRASHES, kwargs["log_lines"])
    if kwargs["as_json"]:
        click.echo(json.dumps(board.as_dict(), default=str))
        return
    console = Console()
    console.print(task_table(board))
    console.print(peon_table(board))
    if board.logs:
        console.print(log_table(board))
