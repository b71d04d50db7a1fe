"""``workcraft queues [pause|resume NAME]``: queue depth, oldest due task, paused or not."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import click
from rich.console import Console

from workcraft.cli.compat import CompatCommand, CompatGroup
from workcraft.cli.options import build_db_config, db_options, load_runtime, runtime_options
from workcraft.cli.render import queue_table
from workcraft.data import Database
from workcraft.errors import UsageError
from workcraft.payload import check_queue
from workcraft.views.board import snapshot
from workcraft.views.jsonable import jsonable


@click.group("queues", cls=CompatGroup, invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True)
@db_options
@runtime_options
@click.pass_context
def queues_group(ctx: click.Context, /, **kwargs: Any) -> None:
    """Queues: depth, running, retrying, oldest due task, paused, peons listening."""
    if ctx.invoked_subcommand is not None:
        if kwargs["as_json"]:
            raise UsageError("--json goes after the subcommand (queues pause NAME --json)")
        return
    settings = load_runtime(kwargs)
    with Database(build_db_config(kwargs)).store("cli") as store:
        board = snapshot(store, settings, log_lines=0)
    if kwargs["as_json"]:
        click.echo(json.dumps(jsonable([dataclasses.asdict(q) for q in board.queues])))
        return
    Console().print(queue_table(board.queues, board.capped))


def _set_paused(kwargs: dict[str, Any], paused: bool) -> None:
    load_runtime(kwargs)
    try:
        name = check_queue(kwargs["name"])
    except (TypeError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    with Database(build_db_config(kwargs)).store("cli") as store:
        store.call(lambda q: q.tasks.set_queue_paused(name, paused))
    word = "paused" if paused else "resumed"
    if kwargs["as_json"]:
        click.echo(json.dumps({"queue": name, "paused": paused}))
    else:
        click.echo(f"queue {name} {word}; peons notice within one polling interval")


@queues_group.command("pause", cls=CompatCommand)
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
@db_options
@runtime_options
def pause_cmd(**kwargs: Any) -> None:
    """Peons claim nothing more from NAME (running tasks finish)."""
    _set_paused(kwargs, True)


@queues_group.command("resume", cls=CompatCommand)
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
@db_options
@runtime_options
def resume_cmd(**kwargs: Any) -> None:
    """Peons take from NAME again."""
    _set_paused(kwargs, False)
