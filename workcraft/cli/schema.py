"""``workcraft setup_database_tables``: create or upgrade the tables."""

from __future__ import annotations

from typing import Any

import click

from workcraft.cli.compat import CompatCommand
from workcraft.cli.options import build_db_config, db_options, load_runtime, runtime_options
from workcraft.data.migrate import setup_database_tables


@click.command("setup-database-tables", cls=CompatCommand)
@db_options
@click.option(
    "--drop-tables/--no-drop-tables", default=False, help="Drop the tables first (loses rows)."
)
@click.option(
    "--drop-original-events/--no-drop-original-events",
    default=False,
    help="Drop workcraft 0.5.27's EVENTs and procedures (needs EVENT and ALTER ROUTINE).",
)
@click.option(
    "--create-database/--no-create-database",
    default=True,
    help="Create the database when it does not exist.",
)
@runtime_options
def setup_database_tables_cmd(**kwargs: Any) -> None:
    """Create the tables (idempotent; upgrades an older schema in place, keeping rows)."""
    load_runtime(kwargs)
    config = build_db_config(kwargs)
    report = setup_database_tables(
        config,
        drop_tables=kwargs["drop_tables"],
        create_database=kwargs["create_database"],
        drop_original_events=kwargs["drop_original_events"],
    )
    click.echo(report.summary(config))
    line = report.original_line(config)
    if line:
        click.echo(line)
