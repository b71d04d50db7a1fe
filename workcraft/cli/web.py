"""``workcraft web``: the dashboard and ``/metrics`` (needs ``pip install 'workcraft[web]'``)."""

from __future__ import annotations

import logging
import os
import signal
from typing import Any

import click

from workcraft.cli.compat import CompatCommand
from workcraft.cli.options import build_db_config, db_options, load_runtime, runtime_options
from workcraft.config.settings import Settings
from workcraft.data import Database
from workcraft.errors import UsageError
from workcraft.web.options import AUTH_ENV, Credentials, WebOptions

log = logging.getLogger("workcraft.web")
EXTRA_MODULES = ("starlette", "uvicorn", "jinja2", "multipart", "prometheus_client")


@click.command("web", cls=CompatCommand)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8700, show_default=True)
@click.option("--read-only", is_flag=True, help="Show no actions; action requests get 403.")
@click.option("--hide-args", is_flag=True, help="Show task arguments as 'hidden' everywhere.")
@click.option(
    "--auth",
    default=None,
    metavar="USER:PASSWORD",
    help="HTTP basic auth for every page and /metrics (not /healthz); required to bind "
    "anything but loopback [WORKCRAFT_WEB_AUTH].",
)
@db_options
@runtime_options
def web_cmd(**kwargs: Any) -> None:
    """Serve the dashboard: overview, tasks, queues, peons, schedules, the janitor's log;
    retry, cancel, pause and resume; /metrics for Prometheus, /healthz."""
    settings = load_runtime(kwargs)
    _check_extra()
    auth_text = kwargs["auth"] if kwargs["auth"] is not None else os.environ.get(AUTH_ENV)
    options = WebOptions(
        host=kwargs["host"],
        port=kwargs["port"],
        read_only=kwargs["read_only"],
        hide_args=kwargs["hide_args"],
        auth=Credentials.parse(auth_text) if auth_text else None,
    )
    options.check_binding()
    db = Database(build_db_config(kwargs))
    db.check_tables()
    _serve(db, settings, options)


def _check_extra() -> None:
    import importlib.util

    missing = [name for name in EXTRA_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        raise UsageError(
            f"workcraft web needs the web extra ({', '.join(missing)} not installed): "
            "pip install 'workcraft[web]'"
        )


def _serve(db: Database, settings: Settings, options: WebOptions) -> None:
    import uvicorn

    from workcraft.web.app import create_app

    app = create_app(db, settings, options)
    host = f"[{options.host}]" if ":" in options.host else options.host
    log.info(
        "starting the dashboard on http://%s:%d/ (%s%s%s), database %s",
        host,
        options.port,
        "basic auth" if options.auth else "no auth",
        ", read-only" if options.read_only else "",
        ", arguments hidden" if options.hide_args else "",
        db.describe(),
    )
    # uvicorn re-raises the signal that stopped it once it has shut down gracefully: a
    # SIGTERM is then a clean exit (0), as for peons and janitors. One before uvicorn has
    # taken over stops the command at once, the same way.
    signal.signal(signal.SIGTERM, _stopped)
    # log_config=None: uvicorn's loggers go through workcraft's logging setup.
    uvicorn.run(
        app,
        host=options.host,
        port=options.port,
        log_config=None,
        access_log=False,
        server_header=False,
        proxy_headers=False,
    )


def _stopped(signum: int, frame: object) -> None:
    raise SystemExit(0)
