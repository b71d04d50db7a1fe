"""``workcraft peons``: every peon row, with its heartbeat age."""

from __future__ import annotations

import json
from typing import Any

import click
from rich.console import Console

from workcraft.cli.compat import CompatCommand
from workcraft.cli.options import build_db_config, db_options, load_runtime, runtime_options
from workcraft.cli.render import peon_table
from workcraft.data import Database
from workcraft.views.board import snapshot
from workcraft.views.jsonable import jsonable


@click.command("peons", cls=CompatCommand)
@click.option("--json", "as_json", is_flag=True)
@db_options
@runtime_options
def peons_cmd(**kwargs: Any) -> None:
    """Peons: status, host, pid, queues, running/concurrency, tasks done, heartbeat age."""
    settings = load_runtime(kwargs)
    with Database(build_db_config(kwargs)).store("cli") as store:
        board = snapshot(store, settings, log_lines=0)
    if kwargs["as_json"]:
        click.echo(json.dumps(jsonable(board.peons)))
        return
    Console().print(peon_table(board))
