"""Command-line options shared by every command."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from workcraft.config.database import DBConfig, get_db_config
from workcraft.config.logs import LOG_FORMATS, LOG_LEVELS, configure_logging
from workcraft.config.settings import Settings, load_settings

F = TypeVar("F", bound=Callable[..., Any])


def db_options(fn: F) -> F:
    """The seed's connection flags; they override the environment and ``.env``."""
    options = [
        click.option("--db-host", default=None, help="MySQL host [WK_DB_HOST]"),
        click.option("--db-port", type=int, default=None, help="[WK_DB_PORT]"),
        click.option("--db-user", default=None, help="[WK_DB_USER]"),
        click.option("--db-name", default=None, help="[WK_DB_NAME]"),
        click.option("--db-password", default=None, help="[WK_DB_PASS]", show_default=False),
        click.option("--db-use-ssl/--no-db-use-ssl", default=None, help="[WK_DB_USE_SSL]"),
        click.option("--db-ssl-path", default=None, help="CA file [WK_DB_SSL_PATH]"),
        click.option(
            "--read-from-env/--no-read-from-env",
            default=True,
            help="Read WK_DB_* from the environment and .env (default: yes).",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def runtime_options(fn: F) -> F:
    options = [
        click.option(
            "--config",
            "config_path",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            help="Settings file (default: workcraft.config.json, searched upwards).",
        ),
        click.option(
            "--log-format", type=click.Choice(LOG_FORMATS), default="rich", show_default=True
        ),
        click.option(
            "--log-level",
            type=click.Choice(LOG_LEVELS, case_sensitive=False),
            default="INFO",
            show_default=True,
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def build_db_config(kwargs: dict[str, Any]) -> DBConfig:
    """Pop the connection flags from ``kwargs`` and build the ``DBConfig``."""
    return get_db_config(
        read_from_env=kwargs.pop("read_from_env"),
        host=kwargs.pop("db_host"),
        port=kwargs.pop("db_port"),
        user=kwargs.pop("db_user"),
        database=kwargs.pop("db_name"),
        password=kwargs.pop("db_password"),
        use_ssl=kwargs.pop("db_use_ssl"),
        ssl_path=kwargs.pop("db_ssl_path"),
    )


def load_runtime(kwargs: dict[str, Any], writer_thread: bool = False) -> Settings:
    """Pop the runtime flags, configure logging and load the settings file
    (``writer_thread``: see ``configure_logging``)."""
    configure_logging(kwargs.pop("log_format"), kwargs.pop("log_level"), writer_thread)
    return load_settings(kwargs.pop("config_path"))
