"""Run the demo: `python -m demo.run` (what `make demo` does).

Creates the tables in a database of its own (WK_DEMO_DB_NAME, default workcraft_demo; the
other WK_DB_* settings come from the environment or .env; if no server answers there, a
throw-away private one), starts a janitor and three peons, sends tasks, shows them drain,
prints the board, and stops everything it started.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from demo.database import NoServer, demo_database
from demo.highlights import SCHEDULED_TASK, Sent, highlights
from demo.tasks import app
from workcraft.cli.render import board_view
from workcraft.config.settings import Settings
from workcraft.data import Store
from workcraft.data.migrate import setup_database_tables
from workcraft.db import DBConfig, get_db_config
from workcraft.janitor.totals import SETTLE, CountFinished
from workcraft.payload import TaskSpec
from workcraft.views.board import snapshot

DEMO_SETTINGS = {
    "DB_PEON_HEARTBEAT_INTERVAL": 1,
    "DB_POLLING_INTERVAL": 0.2,
    "DB_SETUP_BACKOFF_MULTIPLIER_SECONDS": 0.5,
    "DB_SETUP_BACKOFF_MAX_SECONDS": 2,
    "DB_SETUP_RUN_SELF_CORRECT_TASK_INTERVAL": 1,
    "DB_SETUP_RUN_REOPEN_FAILED_TASK_INTERVAL": 0.25,
    "DB_SETUP_WAIT_TIME_BEFORE_WORKER_DECLARED_DEAD": 10,
    "DB_SETUP_CHECK_DEAD_WORKER_INTERVAL": 1,
    "JANITOR_LEADER_RETRY_INTERVAL": 1,
    "JANITOR_SCHEDULE_INTERVAL": 0.25,
    "JANITOR_TOTALS_INTERVAL": 0.5,
    "PEON_SHUTDOWN_GRACE_SECONDS": 5,
}
PEONS = 3
TIMEOUT_SECONDS = 120
DELAY = 3.0
IMAGES = 60
# Wait for the recurring schedule to have run this often before stopping.
SCHEDULED_RUNS = 2


def demo_tasks() -> list[TaskSpec]:
    rng = random.Random(7)
    tasks = [
        TaskSpec("resize_image", [f"photo-{i}.jpg", rng.choice([640, 1280])]) for i in range(IMAGES)
    ]
    tasks += [TaskSpec("send_reminder", ["ada"], delay=DELAY)]
    tasks += [TaskSpec("fetch_price", [symbol]) for symbol in ("ACME", "INIT", "WKC", "ZUG") * 5]
    tasks += [
        TaskSpec("flaky_charge", [1000 + i, round(rng.uniform(5, 90), 2)], retry_on_failure=True)
        for i in range(25)
    ]
    tasks += [
        TaskSpec("doomed_export", [f"q{i}"], retry_on_failure=True, retry_limit=1) for i in range(3)
    ]
    # Arguments that do not fit the function: INVALID, and the peons carry on.
    tasks.append(TaskSpec("resize_image", ["no-width.jpg"]))
    tasks.append(TaskSpec("crunch_numbers", [500]))
    tasks.append(TaskSpec("build_report", ["q3"]))
    tasks.append(TaskSpec("nightly_digest", delay=60))
    tasks += [
        TaskSpec("sync_account", ["acct-42", part], concurrency_key="acct-42") for part in range(4)
    ]
    # Sent last, taken first.
    tasks.append(TaskSpec("page_oncall", ["db-latency"], priority=-10))
    return tasks


def child_env(config: DBConfig) -> dict[str, str]:
    """Connection settings go to children in the environment, never on the command line."""
    env = {**os.environ, **config.as_env()}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path.cwd()), env.get("PYTHONPATH")]))
    return env


def start(args: list[str], log_path: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    log_file = open(log_path, "wb")  # noqa: SIM115 - closed when the child is reaped
    return subprocess.Popen(
        [sys.executable, "-m", "workcraft", *args],
        stdout=log_file,
        stderr=subprocess.STDOUT,
        env=env,
    )


def stop_all(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main() -> int:
    console = Console()
    wanted = get_db_config(database=os.environ.get("WK_DEMO_DB_NAME", "workcraft_demo"))
    try:
        with demo_database(wanted, console) as (config, kept):
            return run_demo(console, config, kept)
    except NoServer as exc:
        console.print(f"[red]workcraft demo: {exc}[/]", soft_wrap=True)
        return 1


def run_demo(console: Console, config: DBConfig, kept: bool) -> int:
    settings = Settings(**DEMO_SETTINGS)  # type: ignore[arg-type]
    setup_database_tables(config, drop_tables=True)
    console.print(f"[bold]workcraft demo[/] - tables ready in {config.describe()}")

    workdir = Path(tempfile.mkdtemp(prefix="workcraft-demo-"))
    config_file = workdir / "workcraft.config.json"
    config_file.write_text(json.dumps(DEMO_SETTINGS, indent=2))
    common = [f"--config={config_file}", "--log-format=plain"]
    env = child_env(config)
    processes = [start(["janitor", *common], workdir / "janitor.log", env)]
    processes += [
        start(
            [
                "peon",
                "--workcraft_path=demo.tasks.app",
                f"--worker-id=demo-peon-{n}",
                "--concurrency=2",
                *common,
            ],
            workdir / f"peon-{n}.log",
            env,
        )
        for n in range(1, PEONS + 1)
    ]
    console.print(f"started 1 janitor and {PEONS} peons (logs in {workdir})")
    try:
        tasks = demo_tasks()
        ids = app.send_tasks_sync(tasks, db_config=config)
        by_name = {task.task_name: task_id for task, task_id in zip(tasks, ids, strict=True)}
        sent = Sent(
            images=ids[:IMAGES],
            urgent=ids[-1],
            delayed=by_name["send_reminder"],
            delay=DELAY,
            timed_out=by_name["crunch_numbers"],
            cancelled_pending=by_name["nightly_digest"],
            cancelled_running=by_name["build_report"],
            accounts=[i for t, i in zip(tasks, ids, strict=True) if t.concurrency_key],
        )
        console.print(f"sent {len(tasks)} tasks")
        app.cancel_task_sync(sent.cancelled_pending, config)  # PENDING: CANCELLED at once
        finished = drain(console, config, settings, len(tasks), sent.cancelled_running)
    finally:
        stop_all(processes)
    with Store(config, name="demo") as store:
        # The janitor counts finished runs a moment after they finish; count the last ones.
        time.sleep(SETTLE.total_seconds())
        CountFinished(store, settings).run_once()
        board = snapshot(store, settings, log_lines=8)
    console.print(board_view(board))
    failed = [p.args for p in processes if p.returncode not in (0, -signal.SIGTERM)]
    if not finished:
        console.print(f"[red]tasks did not finish within {TIMEOUT_SECONDS} s[/]")
        return 1
    if failed:
        console.print(f"[red]processes exited badly: {failed}[/] (logs in {workdir})")
        return 1
    scheduled = board.total_of(SCHEDULED_TASK, "SUCCESS")
    for line in highlights(app, config, sent, scheduled):
        console.print(f"[cyan]>[/] {line}")
    app.close()
    console.print(
        f"[green]done[/]: {board.total('SUCCESS')} runs succeeded, {board.total('FAILURE')} "
        f"failed for good (a retried failure counts by its last run), "
        f"{board.total('INVALID')} invalid, "
        f"{board.total('CANCELLED')} cancelled. "
        + (
            f"Open the tables in any MySQL GUI: {config.database}.bountyboard / peon / logs"
            if kept
            else "The throw-away server and its tables are gone now."
        )
    )
    web = f"`{_workcraft_command()} web --db-name {config.database}`"
    console.print(
        f"Dashboard: run {web} and open http://127.0.0.1:8700/ (the web extra; make install "
        "installs it)"
        if kept
        else f"Dashboard: start a MySQL/MariaDB server of your own on {config.host}:"
        f"{config.port}, run make demo again (its tables are then kept), then {web} and open "
        "http://127.0.0.1:8700/",
        markup=False,
        highlight=False,
    )
    return 0


def _workcraft_command() -> str:
    """The ``workcraft`` script next to this Python (``.venv/bin/workcraft`` for make demo)."""
    script = Path(sys.executable).parent / "workcraft"
    if not script.exists():
        return "workcraft"
    try:
        return str(script.relative_to(Path.cwd()))
    except ValueError:
        return str(script)


def drain(
    console: Console, config: DBConfig, settings: Settings, total: int, to_cancel: str
) -> bool:
    """Until every task sent is finished and the schedule has run a few times; ``to_cancel``
    is cancelled once it runs (its peon sees the request at its next heartbeat)."""
    columns = (TextColumn("draining"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    deadline = time.monotonic() + TIMEOUT_SECONDS
    cancelled = False
    with Store(config, name="demo") as store, Progress(*columns, console=console) as progress:
        bar = progress.add_task("tasks", total=total)
        while time.monotonic() < deadline:
            if not cancelled:
                task = app.get_task_sync(to_cancel, config)
                if task is not None and task.status == "RUNNING":
                    cancelled = app.cancel_task_sync(to_cancel, config)
            board = snapshot(store, settings, log_lines=0)
            scheduled = board.total_of(SCHEDULED_TASK)
            progress.update(bar, completed=min(total, total + scheduled - board.unfinished))
            if (
                board.unfinished == 0
                and board.total_of(SCHEDULED_TASK, "SUCCESS") >= SCHEDULED_RUNS
            ):
                return True
            time.sleep(0.3)
    return False


if __name__ == "__main__":
    sys.exit(main())
