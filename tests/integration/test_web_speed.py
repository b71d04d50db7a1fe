"""The dashboard's hot paths read index ranges, never the whole bountyboard: every
statement the overview, ``/metrics``, ``status`` and the task list send is recorded while
they run on a table of 20,000 rows, then EXPLAINed; none may scan bountyboard (type ALL)."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from rich.console import Console

from tests.support.bulk import insert_tasks
from tests.support.sql import Sql
from tests.support.web import dashboard
from workcraft.cli.render import queue_table, task_table
from workcraft.config.settings import Settings
from workcraft.data import Database
from workcraft.data.cursor import Cursor
from workcraft.data.queries import statement
from workcraft.db import DBConfig
from workcraft.views.board import snapshot

Sent = list[tuple[str, Any, dict[str, int]]]


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sent]:
    """Every named statement the data layer runs (name, parameters, expansions); the
    statements still run on the real server."""
    recorded: Sent = []
    for method in ("fetch_all", "fetch_value", "execute"):
        original: Callable[..., Any] = getattr(Cursor, method)

        def recording(
            self: Cursor,
            name: str,
            params: Any = (),
            _original: Callable[..., Any] = original,
            **expansions: int,
        ) -> Any:
            recorded.append((name, params, expansions))
            return _original(self, name, params, **expansions)

        monkeypatch.setattr(Cursor, method, recording)
    yield recorded


def explain(sql: Sql, name: str, params: Any, expansions: dict[str, int]) -> list[dict[str, Any]]:
    conn: Any = sql.conn
    cur = conn.cursor(dictionary=True)
    cur.execute("EXPLAIN " + statement(name, **expansions), params)
    rows = list(cur.fetchall())
    cur.close()
    return rows


def scans_of_bountyboard(sql: Sql, recorded: Sent) -> dict[str, list[dict[str, Any]]]:
    scans = {}
    for name, params, expansions in recorded:
        plan = explain(sql, name, params, expansions)
        on_tasks = [row for row in plan if row["table"] in ("bountyboard", "b")]
        if any(row["type"] == "ALL" or not row["key"] for row in on_tasks):
            scans[name] = plan
    return scans


@pytest.fixture
def filled(sql: Sql) -> Sql:
    insert_tasks(sql, 20_000)
    return sql


def test_overview_metrics_and_status_never_scan_the_task_table(
    db_config: DBConfig, filled: Sql, sent: Sent
) -> None:
    with dashboard(db_config) as client:
        for path in ("/", "/metrics", "/queues", "/api/status"):
            assert client.get(path).status_code == 200, path
    with Database(db_config).store("status") as store:
        snapshot(store, Settings())  # what `workcraft status` reads
    names = {name for name, _, _ in sent}
    assert {"live_counts", "retries_waiting", "oldest_due_at_priority"} <= names
    assert {"finished_recently", "throughput_since", "next_pending_queue"} <= names
    assert scans_of_bountyboard(filled, sent) == {}


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"status": "FAILURE"},
        {"queue": "queue_3", "name": "task_3"},
        {"q": "item-19"},
        {"q": "00000001-0000-7000-8000-000000000001"},
        {"peon": "peon-3", "status": ["SUCCESS", "FAILURE"], "since": "1h"},
    ],
)
def test_task_list_reads_index_ranges(
    db_config: DBConfig, filled: Sql, sent: Sent, query: dict[str, Any]
) -> None:
    with dashboard(db_config) as client:
        page = client.get("/tasks", params=query)
        assert page.status_code == 200
        assert "data-task-id" in page.text
    assert sent
    assert scans_of_bountyboard(filled, sent) == {}


def test_a_backlog_beyond_the_cap_is_counted_in_a_bounded_read(
    db_config: DBConfig, filled: Sql, sent: Sent
) -> None:
    """1,000 PENDING and 400 retries waiting, cap 300: each count reads 300 entries and
    the board says so; below the cap the counts are exact."""
    with Database(db_config).store("status") as store:
        capped = snapshot(store, Settings(), cap=300)
        exact = snapshot(store, Settings())
    assert capped.total("PENDING") == 300 and capped.capped
    assert capped.retries_waiting == 300
    assert exact.total("PENDING") == 1000 and not exact.capped
    assert exact.retries_waiting == 400
    assert exact.total("RUNNING") == capped.total("RUNNING") == 20
    names = {name for name, _, _ in sent}
    assert {"live_counts_capped", "retries_waiting_capped", "live_counts"} <= names
    assert scans_of_bountyboard(filled, sent) == {}
    # The command line marks every PENDING count of a capped board as a lower bound.
    assert ">=" in rendered(task_table(capped)) and ">=" in rendered(
        queue_table(capped.queues, True)
    )
    assert ">=" not in rendered(task_table(exact))


def rendered(table: Any) -> str:
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(table)
    return console.export_text()
