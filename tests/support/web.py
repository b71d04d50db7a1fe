"""The dashboard under test: rows arranged with plain SQL, the app in process (Starlette's
``TestClient``), and reading back what a page says.

``add_task`` writes a ``bountyboard`` row as a producer and a peon would have left it
(any status, times relative to the server's clock), so a page can be checked against rows
the test knows; the library's own queries are what is under test.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
import re
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from html import unescape
from typing import Any

from starlette.testclient import TestClient

from tests.support.net import free_port
from tests.support.procs import Proc, ProcGroup
from tests.support.sql import Sql
from tests.support.waiting import wait_until
from workcraft.config.settings import Settings
from workcraft.data import Database
from workcraft.db import DBConfig
from workcraft.web.app import create_app
from workcraft.web.options import WebOptions

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
FAILURE_RESULT = {
    "error_type": "ValueError",
    "message": "no such customer",
    "traceback": 'Traceback (most recent call last):\n  File "tasks.py", line 3\nValueError: '
    "no such customer\n",
}


def add_task(
    sql: Sql,
    *,
    status: str = "PENDING",
    task_name: str = "job",
    queue: str = "DEFAULT",
    args: list[Any] | None = None,
    result: Any = None,
    worker_id: str | None = None,
    age_s: float = 0.0,
    retry_on_failure: bool = False,
    task_id: str | None = None,
) -> str:
    """One task row, created ``age_s`` seconds ago; a finished one finished just now."""
    task_id = task_id or str(uuid.uuid4())
    payload = json.dumps({"task_args": args or [], "task_kwargs": {}})
    finished = status not in ("PENDING", "RUNNING")
    sql.run(
        "INSERT INTO bountyboard (id, status, task_name, queue, payload, result, worker_id,"
        " retry_on_failure, attempt, created_at, run_at, started_at, finished_at) VALUES"
        " (%s, %s, %s, %s, %s, %s, %s, %s, %s,"
        "  NOW(6) - INTERVAL %s MICROSECOND, NOW(6) - INTERVAL %s MICROSECOND,"
        "  IF(%s, NOW(6), NULL), IF(%s, NOW(6), NULL))",
        (
            task_id,
            status,
            task_name,
            queue,
            payload,
            None if result is None else json.dumps(result),
            worker_id,
            int(retry_on_failure),
            0 if status == "PENDING" else 1,
            int(age_s * 1e6),
            int(age_s * 1e6),
            status != "PENDING",
            finished,
        ),
    )
    return task_id


def add_peon(sql: Sql, peon_id: str, queues: list[str], *, silent_s: float = 0.0) -> None:
    sql.run(
        "INSERT INTO peon (id, status, last_heartbeat, queues, hostname, pid, concurrency,"
        " tasks, started_at) VALUES (%s, 'IDLE', NOW(6) - INTERVAL %s MICROSECOND, %s,"
        " 'host-1', 4242, 2, %s, NOW(6))",
        (peon_id, int(silent_s * 1e6), json.dumps(queues), json.dumps(["job"])),
    )


@contextlib.contextmanager
def dashboard(
    db_config: DBConfig, settings: Settings | None = None, **options: Any
) -> Iterator[TestClient]:
    """The app for ``db_config`` with ``WebOptions(**options)``, in process."""
    app = create_app(Database(db_config), settings or Settings(), WebOptions(**options))
    with TestClient(app, follow_redirects=False) as client:
        yield client


def csrf_token(client: TestClient, path: str = "/") -> str:
    """The token a page renders into its forms (after the GET set the cookie)."""
    page = client.get(path)
    assert page.status_code == 200, page.text
    match = CSRF_INPUT.search(page.text)
    if match:
        return match.group(1)
    return str(client.cookies["workcraft_csrf"])


def post(client: TestClient, path: str, token: str | None, **fields: str) -> Any:
    data = dict(fields)
    if token is not None:
        data["csrf_token"] = token
    return client.post(path, data=data)


def text_of(page: str) -> str:
    """The words of a page, tags removed and white space folded: for "the page says X"."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", page)).split())


# -- the real process ---------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class WebServer:
    proc: Proc
    url: str  # http://127.0.0.1:PORT, without a trailing slash


def start_web(
    procs: ProcGroup, *args: str, env: dict[str, str] | None = None, timeout: float = 30
) -> WebServer:
    """``workcraft web`` on a free port with ``args``; returns once /healthz answers."""
    port = free_port()
    proc = procs.workcraft(
        "web",
        f"--port={port}",
        "--log-format=plain",
        *args,
        name=f"web-{port}",
        env={**procs.env(), **(env or {})},
    )
    server = WebServer(proc, f"http://127.0.0.1:{port}")

    def healthy() -> bool:
        if not proc.alive():
            raise AssertionError(f"workcraft web exited early\n{proc.describe()}")
        try:
            return fetch(server, "/healthz", auth=None)[0] == 200
        except (urllib.error.URLError, ConnectionError):
            return False

    wait_until(healthy, timeout, "workcraft web to answer /healthz", proc.describe, 0.1)
    return server


def fetch(server: WebServer, path: str, auth: tuple[str, str] | None = None) -> tuple[int, str]:
    """GET ``path``: (status, body), whatever the status."""
    request = urllib.request.Request(server.url + path)
    if auth is not None:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(answer.status), answer.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        with error:
            return int(error.code), error.read().decode("utf-8")
