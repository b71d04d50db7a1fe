"""``workcraft web`` as a real process: it refuses to listen beyond loopback without a
password (one line, exit 2), serves the pages, ``/metrics`` and ``/healthz`` over HTTP with
basic auth from a flag or the environment, and stops cleanly on SIGTERM."""

from __future__ import annotations

import signal

import pytest

from tests.support.net import free_port
from tests.support.procs import ProcGroup, describe_run
from tests.support.web import fetch, start_web

STARTUP = 30


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--host", "0.0.0.0"], {}, "give --auth USER:PASSWORD (or WORKCRAFT_WEB_AUTH"),
        (["--host", "::"], {}, "reachable from other machines"),
        (["--auth", "nopassword"], {}, "must be USER:PASSWORD"),
        ([], {"WORKCRAFT_WEB_AUTH": ":x"}, "must be USER:PASSWORD"),
    ],
)
def test_refuses_what_would_expose_it(
    procs: ProcGroup, args: list[str], env: dict[str, str], message: str
) -> None:
    result = procs.run("web", *args, env={**procs.env(), **env}, timeout=60)
    assert result.returncode == 2, describe_run(result)
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, describe_run(result)
    assert "Traceback" not in result.stderr


def test_serves_pages_metrics_and_healthz_then_stops_on_sigterm(procs: ProcGroup) -> None:
    server = start_web(procs, timeout=STARTUP)
    for path in ("/", "/tasks", "/queues", "/peons", "/schedules", "/janitor"):
        status, body = fetch(server, path)
        assert status == 200 and "workcraft" in body, path
    status, body = fetch(server, "/metrics")
    assert status == 200 and "workcraft_janitor_leader_present 0.0" in body
    assert fetch(server, "/healthz") == (200, "ok\n")
    server.proc.send(signal.SIGTERM)
    assert server.proc.wait(15) == 0
    assert "Traceback" not in server.proc.output


def test_auth_from_the_environment_guards_everything_but_healthz(procs: ProcGroup) -> None:
    server = start_web(
        procs, "--host", "0.0.0.0", env={"WORKCRAFT_WEB_AUTH": "ops:pa:ss"}, timeout=STARTUP
    )
    assert fetch(server, "/metrics", auth=None)[0] == 401
    assert fetch(server, "/metrics", auth=("ops", "pa:ss"))[0] == 200
    assert fetch(server, "/", auth=("ops", "pa:ss"))[0] == 200
    assert fetch(server, "/healthz", auth=None) == (200, "ok\n")


def test_a_database_without_the_tables_is_one_line(procs: ProcGroup) -> None:
    env = {**procs.env(), "WK_DB_NAME": "workcraft_no_such_db_for_web"}
    result = procs.run("web", "--port", str(free_port()), env=env, timeout=60)
    assert result.returncode != 0, describe_run(result)
    assert "workcraft_no_such_db_for_web" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, describe_run(result)
