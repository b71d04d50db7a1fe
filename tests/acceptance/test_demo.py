"""``make demo`` as a newcomer runs it: against the configured server, and on a machine where
nothing answers (a throw-away private server, or one line saying how to get one)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from demo.database import NoServer, demo_database
from tests.support.net import free_port
from tests.support.private_server import find_server_binary
from workcraft.db import DBConfig

REPO = Path(__file__).resolve().parents[2]
HIGHLIGHTS = (
    "delayed task: sent with delay=3",
    "priority: page_oncall",
    "FAILURE TaskTimeout",
    "nightly_digest was cancelled while it waited: CANCELLED, never started",
    "was cancelled while it ran",
    "overlaps: 0",
    "recurring schedule: sweep_carts",
)


def run_demo(config: DBConfig) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **config.as_env(), "WK_DEMO_DB_NAME": config.database}
    env["COLUMNS"] = "200"  # one highlight per line
    return subprocess.run(
        [sys.executable, "-m", "demo.run"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )


@pytest.mark.slow
def test_the_demo_shows_every_feature_on_the_configured_server(
    empty_db_config: DBConfig,
) -> None:
    done = run_demo(empty_db_config)
    assert done.returncode == 0, done.stdout + done.stderr
    for line in HIGHLIGHTS:
        assert line in done.stdout, line
    assert "Traceback" not in done.stdout + done.stderr
    assert f"Open the tables in any MySQL GUI: {empty_db_config.database}" in done.stdout
    assert f"web --db-name {empty_db_config.database}` and open http://127.0.0.1:8700/" in (
        done.stdout
    )


@pytest.mark.slow
def test_the_demo_runs_a_throwaway_server_when_nothing_answers(
    empty_db_config: DBConfig,
) -> None:
    try:
        find_server_binary()
    except RuntimeError:
        pytest.skip("no mariadbd/mysqld here")
    nothing_there = DBConfig(port=free_port(), database=empty_db_config.database)
    done = run_demo(nothing_there)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"nothing answers on 127.0.0.1:{nothing_there.port}; running a throw-away" in (
        done.stdout
    )
    assert "FAILURE TaskTimeout" in done.stdout
    assert "The throw-away server and its tables are gone now." in done.stdout
    assert done.stdout.rstrip().endswith("http://127.0.0.1:8700/")  # how to see it


def test_without_any_server_the_demo_says_in_one_line_how_to_get_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_binary() -> str:
        raise RuntimeError("no mariadbd/mysqld on this machine")

    monkeypatch.setattr("demo.database.find_server_binary", no_binary)
    nothing_there = DBConfig(port=free_port())
    with pytest.raises(NoServer) as raised, demo_database(nothing_there, Console()):
        pass
    message = str(raised.value)
    assert "\n" not in message
    assert f"no MySQL/MariaDB server answers on 127.0.0.1:{nothing_there.port}" in message
    assert "apt-get install mariadb-server" in message
