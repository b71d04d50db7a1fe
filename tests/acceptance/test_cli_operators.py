"""The operator commands as a user runs them: ``tasks list|show|retry|cancel``, ``peons``,
``queues [pause|resume]``, ``status [--json|--watch]``, and the flags that are errors in a
mode. Real ``python -m workcraft`` processes against the real database."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
import uuid
from typing import Any

import pytest

from tests.support.procs import ProcGroup, describe_run
from tests.support.sql import Sql
from tests.support.waiting import wait_until
from workcraft.core import Workcraft
from workcraft.db import DBConfig


def run_json(procs: ProcGroup, *args: str) -> Any:
    result = procs.run(*args, "--json")
    assert result.returncode == 0, describe_run(result)
    return json.loads(result.stdout)


def failed_task(sql: Sql, name: str = "send_email", retry: bool = False) -> str:
    task_id = str(uuid.uuid4())
    result = json.dumps(
        {"error_type": "SMTPError", "message": "no route", "traceback": "Traceback ...\nboom"}
    )
    sql.run(
        "INSERT INTO bountyboard (id, task_name, queue, status, payload, result, retry_on_failure,"
        " retry_count, finished_at, started_at, created_at, attempt, worker_id)"
        " VALUES (%s, %s, 'mail', 'FAILURE', '{\"task_args\": [\"ada@example.com\"]}', %s, %s,"
        " 1, NOW(6), NOW(6) - INTERVAL 1 SECOND, NOW(6) - INTERVAL 2 SECOND, 1, 'peon-1')",
        (task_id, name, result, int(retry)),
    )
    return task_id


def test_tasks_list_and_show(
    procs: ProcGroup, producer: Workcraft, db_config: DBConfig, sql: Sql
) -> None:
    older = failed_task(sql)
    time.sleep(0.01)
    newer = producer.send_task_sync("report", [2026], queue="reports", db_config=db_config)

    rows = run_json(procs, "tasks", "list")
    assert [row["id"] for row in rows] == [newer, older]  # newest first
    assert rows[0]["status"] == "PENDING" and rows[0]["queue"] == "reports"
    assert dt.datetime.fromisoformat(rows[0]["created_at"]).tzinfo is not None  # with its zone
    assert isinstance(rows[0]["retry_count"], int)

    assert [r["id"] for r in run_json(procs, "tasks", "list", "--status", "FAILURE")] == [older]
    assert [r["id"] for r in run_json(procs, "tasks", "list", "--queue", "reports")] == [newer]
    assert [r["id"] for r in run_json(procs, "tasks", "list", "--name", "send_email")] == [older]
    assert [r["id"] for r in run_json(procs, "tasks", "list", "--peon", "peon-1")] == [older]
    assert run_json(procs, "tasks", "list", "--since", "1h", "--limit", "1")[0]["id"] == newer

    detail = run_json(procs, "tasks", "show", older)
    assert detail["payload"] == {"task_args": ["ada@example.com"]}  # real JSON, not a string
    assert detail["result"]["error_type"] == "SMTPError"
    assert detail["result"]["traceback"].endswith("boom")
    assert detail["attempt"] == 1 and detail["retry_count"] == 1
    assert detail["timeline"][0]["event"] == "created"
    human = procs.run("tasks", "show", older)
    assert human.returncode == 0, describe_run(human)
    assert "SMTPError" in human.stdout and "boom" in human.stdout and "Timeline" in human.stdout

    missing = procs.run("tasks", "show", "no-such-task")
    assert missing.returncode == 1
    assert missing.stderr.strip() == "workcraft: error: no task 'no-such-task'"


def test_tasks_retry_and_cancel(
    procs: ProcGroup, producer: Workcraft, db_config: DBConfig, sql: Sql
) -> None:
    first, second = failed_task(sql), failed_task(sql, name="other")
    assert run_json(procs, "tasks", "retry", first, "--yes") == {"matched": 1, "retried": 1}
    assert sql.value("SELECT status FROM bountyboard WHERE id = %s", (first,)) == "PENDING"
    # By filter, asked first: "no" changes nothing, --yes does it.
    refused = procs.run("tasks", "retry", "--status", "FAILURE", "--name", "other")
    assert refused.returncode != 0
    assert sql.value("SELECT status FROM bountyboard WHERE id = %s", (second,)) == "FAILURE"
    done = procs.run("tasks", "retry", "--status", "FAILURE", "--name", "other", "--yes")
    assert done.returncode == 0, describe_run(done)
    assert "1 of 1 task(s) back to PENDING" in done.stdout
    bad = procs.run("tasks", "retry", "--status", "SUCCESS", "--yes")
    assert bad.returncode == 2 and "can be retried" in bad.stderr

    pending = producer.send_task_sync("x", db_config=db_config)
    cancelled = run_json(procs, "tasks", "cancel", pending)
    assert cancelled == {pending: "cancelled"}
    again = procs.run("tasks", "cancel", pending)
    assert again.returncode == 0 and "already finished" in again.stdout
    unknown = procs.run("tasks", "cancel", "nope")
    assert unknown.returncode == 1 and "no task 'nope'" in unknown.stderr


def test_queues_and_peons(
    procs: ProcGroup, producer: Workcraft, db_config: DBConfig, sql: Sql
) -> None:
    producer.send_task_sync("nobody_runs_this", queue="orphans", db_config=db_config)
    # A heartbeat a little ahead: the commands run with the suite's short dead threshold,
    # and a loaded machine may take longer than that to start them.
    sql.run(
        "INSERT INTO peon (id, status, last_heartbeat, queues, tasks, session, concurrency)"
        " VALUES ('p-live', 'IDLE', NOW(6) + INTERVAL 1 MINUTE, '[\"DEFAULT\"]', '[\"x\"]',"
        " 's', 2)"
    )
    queues = {q["name"]: q for q in run_json(procs, "queues")}
    assert queues["orphans"]["pending"] == 1
    assert queues["orphans"]["peons"] == []  # nobody listens: the board says so
    assert queues["DEFAULT"]["peons"] == ["p-live"]
    human = procs.run("queues")
    assert "no live peon listens to this queue" in human.stdout

    assert run_json(procs, "queues", "pause", "orphans") == {"queue": "orphans", "paused": True}
    assert {q["name"]: q for q in run_json(procs, "queues")}["orphans"]["paused"] is True
    assert procs.run("queues", "resume", "orphans").returncode == 0
    assert sql.value("SELECT paused FROM queues WHERE name = 'orphans'") == 0
    bad = procs.run("queues", "pause", "two words")
    assert bad.returncode == 2 and "cannot be named on the command line" in bad.stderr

    (peon,) = run_json(procs, "peons")
    assert peon["id"] == "p-live" and peon["queues"] == ["DEFAULT"] and peon["live"] is True
    assert isinstance(peon["heartbeat_age_s"], float)


def test_status_json_and_unregistered_names(
    procs: ProcGroup, producer: Workcraft, db_config: DBConfig, sql: Sql
) -> None:
    producer.send_task_sync("mystery", db_config=db_config)
    failed_task(sql, retry=True)  # a failure that will be retried: counted apart
    sql.run(
        "INSERT INTO peon (id, status, last_heartbeat, queues, tasks, session)"
        " VALUES ('p1', 'IDLE', NOW(6) + INTERVAL 1 MINUTE, '[\"DEFAULT\",\"mail\"]',"
        " '[\"other\"]', 's')"
    )
    board = run_json(procs, "status")
    assert board["tasks"]["PENDING"] == 1
    assert board["retries_waiting"] == 1
    default = next(q for q in board["queues"] if q["name"] == "DEFAULT")
    assert default["unregistered"] == ["mystery"]
    assert "no peon registers mystery" in procs.run("status").stdout


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (("janitor", "--json"), "--json: only with --once"),
        (("janitor", "--lock-timeout", "3"), "--lock-timeout: only with --once"),
        (("janitor", "--once", "--startup-timeout", "3"), "--startup-timeout: not with --once"),
        (("status", "--watch", "--json"), "does not go with --json"),
        (("status", "--log-level", "bogus"), "'bogus' is not one of"),
        (("tasks", "list", "--since", "yesterday-ish"), "--since"),
        (("tasks", "retry"), "give task ids, or filters"),
        (("tasks", "retry", "some-id", "--limit", "5"), "--limit: only with filters"),
        (("tasks", "retry", "some-id", "--json"), "add --yes"),
    ],
)
def test_flags_that_do_nothing_in_a_mode_are_errors(
    procs: ProcGroup, args: tuple[str, ...], text: str
) -> None:
    result = procs.run(*args)
    assert result.returncode == 2, describe_run(result)
    assert text in result.stderr
    assert "Traceback" not in result.stderr


def test_status_watch_redraws_until_ctrl_c(
    procs: ProcGroup, producer: Workcraft, db_config: DBConfig
) -> None:
    producer.send_task_sync("watched", db_config=db_config)
    watcher = procs.workcraft("status", "--watch", "0.3", name="watch")
    wait_until(
        lambda: watcher.output.count("Tasks (bountyboard") >= 2, 30, "two redraws", watcher.describe
    )
    watcher.send(signal.SIGINT)
    assert watcher.wait(10) == 0, watcher.describe()
    assert "Traceback" not in watcher.output
    assert "stopped watching" in watcher.output


def test_status_watch_on_a_terminal_redraws_in_place(
    procs: ProcGroup, producer: Workcraft, db_config: DBConfig
) -> None:
    """On a terminal the board is redrawn in place (rich.Live moves the cursor back up and
    rewrites it) rather than appended."""
    producer.send_task_sync("watched", db_config=db_config)
    leader, follower = pty.openpty()
    env = {**procs.env(), "COLUMNS": "160", "LINES": "60", "TERM": "xterm-256color"}
    watcher = subprocess.Popen(
        [sys.executable, "-m", "workcraft", "status", "--watch", "0.3"],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        cwd=procs.workdir,
        env=env,
        close_fds=True,
    )
    os.close(follower)
    seen = b""
    try:
        deadline = time.monotonic() + 30
        while seen.count(b"Tasks (bountyboard") < 2 and time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.5)
            if ready:
                seen += os.read(leader, 65536)
        watcher.send_signal(signal.SIGINT)
        assert watcher.wait(10) == 0
        with contextlib.suppress(OSError):
            while select.select([leader], [], [], 0.5)[0]:
                chunk = os.read(leader, 65536)
                if not chunk:
                    break
                seen += chunk
    finally:
        if watcher.poll() is None:
            watcher.kill()
            watcher.wait(10)
        os.close(leader)
    text = seen.decode(errors="replace")
    assert text.count("Tasks (bountyboard") >= 2, text[-2000:]
    assert "\x1b[1A" in text or "\x1b[2K" in text  # the cursor goes back up: redrawn in place
    assert "stopped watching" in text and "Traceback" not in text


def test_peon_and_janitor_can_fail_fast_on_an_unreachable_server(procs: ProcGroup) -> None:
    closed = ["--db_host=127.0.0.1", "--db_port=1", "--read_from_env=False"]
    for command in (
        ["peon", "--workcraft_path=tests.apps.basic.app", "--startup-timeout", "1", *closed],
        ["janitor", "--startup-timeout", "1", *closed],
    ):
        started = time.monotonic()
        result = procs.run(*command, timeout=60)
        assert result.returncode == 1, describe_run(result)
        assert time.monotonic() - started < 20
        assert result.stderr.strip().splitlines()[-1].startswith("workcraft: error: cannot reach")
