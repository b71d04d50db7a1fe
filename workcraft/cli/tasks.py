"""``workcraft tasks list | show | retry | cancel``: see and steer single tasks."""

from __future__ import annotations

import functools
import json
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from workcraft.app.control import CANCELLED_RESULT
from workcraft.cli.compat import CompatCommand, CompatGroup
from workcraft.cli.options import build_db_config, db_options, load_runtime, runtime_options
from workcraft.cli.render import when
from workcraft.data import Database, Queries
from workcraft.errors import UsageError, WorkcraftError
from workcraft.models import RETRYABLE_STATUS_NAMES
from workcraft.views.tasks import (
    STATUSES,
    TaskFilter,
    dumps,
    list_tasks,
    parse_since,
    row_summary,
    task_detail,
)


class NotFound(WorkcraftError):
    exit_code = 1


STATUS_CHOICE = click.Choice(STATUSES, case_sensitive=False)
# Tasks retried per transaction (short transactions, however many match).
RETRY_BATCH = 500


def filter_options(fn: Any) -> Any:
    options = [
        click.option(
            "--status", "statuses", multiple=True, type=STATUS_CHOICE, help="Repeat for several."
        ),
        click.option("--queue", default=None),
        click.option("--name", default=None, help="Task name."),
        click.option("--peon", default=None, help="Worker id that ran it."),
        click.option("--since", default=None, help="90s, 15m, 2h, 7d, or an ISO time."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _filter(kwargs: dict[str, Any], q: Queries) -> TaskFilter:
    try:
        since = parse_since(kwargs.pop("since"), q.schema.server_now())
        return TaskFilter(
            statuses=tuple(s.upper() for s in kwargs.pop("statuses")),
            queue=kwargs.pop("queue"),
            name=kwargs.pop("name"),
            peon=kwargs.pop("peon"),
            since=since,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None


@click.group("tasks", cls=CompatGroup)
def tasks_group() -> None:
    """List, inspect, retry and cancel tasks."""


@tasks_group.command("list", cls=CompatCommand)
@filter_options
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON array.")
@db_options
@runtime_options
def list_cmd(**kwargs: Any) -> None:
    """Tasks, newest first."""
    load_runtime(kwargs)
    with Database(build_db_config(kwargs)).store("cli") as store:
        page = store.call(lambda q: list_tasks(q, _filter(kwargs, q), kwargs["limit"]))
    if kwargs["as_json"]:
        click.echo(dumps([row_summary(r) for r in page.rows]))
        return
    table = Table(title=f"Tasks, newest first ({len(page.rows)} shown)")
    for column in ("id", "status", "task", "queue", "created", "finished", "peon", "tries"):
        table.add_column(column)
    for r in page.rows:
        table.add_row(
            r["id"],
            r["status"],
            r["task_name"],
            r["queue"],
            when(r["created_at"]),
            when(r["finished_at"]),
            r["worker_id"] or "",
            f"{r['retry_count']}/{r['retry_limit']}",
        )
    Console().print(table)
    if page.next_cursor:
        click.echo("(more: raise --limit, or narrow with --since / --status)")


@tasks_group.command("show", cls=CompatCommand)
@click.argument("task_id")
@click.option("--json", "as_json", is_flag=True)
@db_options
@runtime_options
def show_cmd(**kwargs: Any) -> None:
    """One task: arguments, result or error with traceback, attempts, timeline."""
    load_runtime(kwargs)
    with Database(build_db_config(kwargs)).store("cli") as store:
        detail = task_detail(store, kwargs["task_id"])
    if detail is None:
        raise NotFound(f"no task {kwargs['task_id']!r}")
    if kwargs["as_json"]:
        click.echo(json.dumps(detail, ensure_ascii=False))
        return
    console = Console()
    table = Table(title=f"Task {detail['id']}", show_header=False)
    table.add_column("field")
    table.add_column("value")
    for key, value in detail.items():
        if key in ("payload", "result", "timeline") or value is None:
            continue
        table.add_row(key, str(value))
    table.add_row("payload", json.dumps(detail["payload"], ensure_ascii=False))
    result = detail["result"]
    traceback = result.pop("traceback", None) if isinstance(result, dict) else None
    table.add_row("result", json.dumps(result, ensure_ascii=False))
    console.print(table)
    if traceback:
        console.print("[bold]traceback[/]")
        console.print(traceback, markup=False, highlight=False)
    timeline = Table(title="Timeline")
    timeline.add_column("at")
    timeline.add_column("event")
    for event in detail["timeline"]:
        timeline.add_row(event["at"], event["event"])
    console.print(timeline)


@tasks_group.command("retry", cls=CompatCommand)
@click.argument("task_ids", nargs=-1)
@filter_options
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--limit", type=click.IntRange(1, 1_000_000), default=10_000, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@db_options
@runtime_options
def retry_cmd(**kwargs: Any) -> None:
    """Run FAILURE / INVALID / CANCELLED tasks again: by ids, or by filter
    (e.g. --status FAILURE --name send_email)."""
    load_runtime(kwargs)
    ids = list(kwargs.pop("task_ids"))
    by_filter = any(kwargs[k] for k in ("statuses", "queue", "name", "peon", "since"))
    if ids and by_filter:
        raise UsageError("give task ids or filters, not both")
    if not ids and not by_filter:
        raise UsageError("give task ids, or filters such as --status FAILURE")
    if ids and _given("limit"):
        raise UsageError("--limit: only with filters (the ids given are all retried)")
    if kwargs["as_json"] and not kwargs["yes"]:
        raise UsageError("--json does not ask for confirmation: add --yes")
    with Database(build_db_config(kwargs)).store("cli") as store:
        if by_filter:
            if not kwargs["statuses"]:
                kwargs["statuses"] = ("FAILURE",)
            if {s.upper() for s in kwargs["statuses"]} - set(RETRYABLE_STATUS_NAMES):
                raise UsageError("only FAILURE, INVALID and CANCELLED tasks can be retried")
            page = store.call(lambda q: list_tasks(q, _filter(kwargs, q), kwargs["limit"]))
            ids = [r["id"] for r in page.rows]
        if not ids:
            _report(kwargs["as_json"], {"matched": 0, "retried": 0}, "no task matches")
            return
        if not kwargs["yes"]:
            click.confirm(f"retry {len(ids)} task(s)?", abort=True)
        retried = 0
        for start in range(0, len(ids), RETRY_BATCH):
            batch = ids[start : start + RETRY_BATCH]
            retried += store.transaction(functools.partial(_retry, batch))
    _report(
        kwargs["as_json"],
        {"matched": len(ids), "retried": retried},
        f"{retried} of {len(ids)} task(s) back to PENDING"
        + (
            ""
            if retried == len(ids)
            else " (the others are not FAILURE/INVALID/CANCELLED, or "
            "another live task holds their unique key)"
        ),
    )


def _given(parameter: str) -> bool:
    """Whether the user set this option (rather than its default)."""
    source = click.get_current_context().get_parameter_source(parameter)
    return source not in (None, click.core.ParameterSource.DEFAULT)


@tasks_group.command("cancel", cls=CompatCommand)
@click.argument("task_ids", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True)
@db_options
@runtime_options
def cancel_cmd(**kwargs: Any) -> None:
    """Cancel tasks: PENDING ones at once; RUNNING ones when their peon next heartbeats."""
    load_runtime(kwargs)
    with Database(build_db_config(kwargs)).store("cli") as store:
        outcomes = {
            task_id: store.call(functools.partial(_cancel, task_id))
            for task_id in kwargs["task_ids"]
        }
    if kwargs["as_json"]:
        click.echo(json.dumps(outcomes))
    else:
        words = {
            "cancelled": "CANCELLED",
            "requested": "cancel requested (it is running; its peon stops it)",
            "finished": "already finished: nothing changed",
            "missing": "no such task",
        }
        for task_id, outcome in outcomes.items():
            click.echo(f"{task_id}: {words[outcome]}")
    missing = [t for t, o in outcomes.items() if o == "missing"]
    if missing:
        raise NotFound(f"no task {', '.join(repr(t) for t in missing)}")


def _retry(task_ids: list[str], q: Queries, _attempt: int) -> int:
    return q.board.retry(task_ids)


def _cancel(task_id: str, q: Queries) -> str:
    return q.tasks.cancel(task_id, CANCELLED_RESULT)


def _report(as_json: bool, value: dict[str, int], text: str) -> None:
    click.echo(json.dumps(value) if as_json else text)
