"""The ``workcraft`` command line (also ``python -m workcraft``)."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from workcraft.cli_compat import CompatGroup
from workcraft.cli_janitor import janitor_cmd
from workcraft.cli_options import build_db_config, db_options, load_runtime, runtime_options
from workcraft.cli_peon import peon_cmd
from workcraft.cli_status import status_cmd
from workcraft.errors import WorkcraftError


@click.group(cls=CompatGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="workcraft")
def cli() -> None:
    """workcraft: a database-only worker library. MySQL is the queue and the dashboard."""


@cli.command("setup-database-tables")
@db_options
@click.option(
    "--drop-tables/--no-drop-tables", default=False, help="Drop the tables first (loses rows)."
)
@click.option(
    "--create-database/--no-create-database",
    default=True,
    help="Create the database when it does not exist.",
)
@runtime_options
def setup_database_tables_cmd(**kwargs: Any) -> None:
    """Create the tables (idempotent; upgrades an older schema in place, keeping rows)."""
    from workcraft.setup import setup_database_tables

    load_runtime(kwargs)
    config = build_db_config(kwargs)
    report = setup_database_tables(
        config, drop_tables=kwargs["drop_tables"], create_database=kwargs["create_database"]
    )
    parts = []
    if report.database_created:
        parts.append(f"created database {config.database}")
    if report.tables_dropped:
        parts.append("dropped " + ", ".join(report.tables_dropped))
    if report.tables_created:
        parts.append("created " + ", ".join(report.tables_created))
    if report.statements:
        parts.append(f"upgraded schema with {len(report.statements)} statement(s)")
    summary = "; ".join(parts) if parts else "tables already up to date"
    click.echo(f"workcraft schema v{report.version_after} in {config.describe()}: {summary}")


cli.add_command(peon_cmd)
cli.add_command(janitor_cmd)
cli.add_command(status_cmd)


def main(argv: list[str] | None = None) -> None:
    """Entry point: one clear line and a non-zero exit for every expected error."""
    try:
        cli.main(args=argv, prog_name="workcraft", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except WorkcraftError as exc:
        click.echo(f"workcraft: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # a bug: say so in one line; the traceback on request
        if os.environ.get("WORKCRAFT_DEBUG"):
            raise
        click.echo(
            f"workcraft: internal error: {type(exc).__name__}: {exc} "
            "(set WORKCRAFT_DEBUG=1 for the traceback)",
            err=True,
        )
        sys.exit(1)
