"""The ``workcraft`` command line (also ``python -m workcraft``): one click group, one module
per command; ``main`` turns every expected error into one line and an exit code."""

from __future__ import annotations

import os
import sys

import click

from workcraft.cli.compat import CompatGroup
from workcraft.cli.janitor import janitor_cmd
from workcraft.cli.peon import peon_cmd
from workcraft.cli.peons import peons_cmd
from workcraft.cli.queues import queues_group
from workcraft.cli.schema import setup_database_tables_cmd
from workcraft.cli.status import status_cmd
from workcraft.cli.tasks import tasks_group
from workcraft.cli.web import web_cmd
from workcraft.errors import WorkcraftError


@click.group(cls=CompatGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="workcraft")
def cli() -> None:
    """workcraft: a database-only worker library. MySQL is the queue and the dashboard."""


cli.add_command(setup_database_tables_cmd)
cli.add_command(peon_cmd)
cli.add_command(janitor_cmd)
cli.add_command(status_cmd)
cli.add_command(tasks_group)
cli.add_command(peons_cmd)
cli.add_command(queues_group)
cli.add_command(web_cmd)


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
