"""Where the demo runs: the configured server if one answers, else a throw-away private
server (if a ``mariadbd``/``mysqld`` binary is installed) that lives only as long as the demo."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator

import mysql.connector
from rich.console import Console

from tests.support.private_server import (
    ServerUnavailable,
    find_server_binary,
    throwaway_server,
)
from workcraft.db import DBConfig

# Client error 2003: "Can't connect to MySQL server" (nothing listens there).
NOTHING_LISTENS = 2003


class NoServer(RuntimeError):
    """No server answers and none can be started here; the message says what to do."""


def answers(config: DBConfig) -> bool:
    """True if a server answers at the configured address (even if it then refuses us: that
    error is the user's to see, from the demo's first real connection)."""
    kwargs = {**config.connect_kwargs(with_database=False), "connection_timeout": 3}
    try:
        mysql.connector.connect(**kwargs).close()
    except mysql.connector.Error as exc:
        return exc.errno != NOTHING_LISTENS
    return True


@contextlib.contextmanager
def demo_database(config: DBConfig, console: Console) -> Iterator[tuple[DBConfig, bool]]:
    """The config to run against, and whether its tables outlive the demo."""
    if answers(config):
        yield config, True
        return
    where = f"{config.host}:{config.port}"
    try:
        find_server_binary()
    except RuntimeError:
        raise NoServer(
            f"no MySQL/MariaDB server answers on {where} and none is installed here: "
            "apt-get install mariadb-server (or set WK_DB_HOST/WK_DB_PORT to a running one)"
        ) from None
    console.print(
        f"nothing answers on {where}; running a throw-away MariaDB server for this demo in a "
        "temporary directory (stopped and deleted at the end)"
    )
    try:
        with throwaway_server() as private:
            yield dataclasses.replace(private, database=config.database), False
    except ServerUnavailable as exc:
        raise NoServer(f"the throw-away server did not start: {exc}") from None
