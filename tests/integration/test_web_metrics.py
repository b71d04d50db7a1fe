"""``/metrics`` and ``/healthz``, in process against the real database: every metric the
README lists, with the values the rows say, and a 503 (not a traceback) when the database
does not answer."""

from __future__ import annotations

import dataclasses
import re

from prometheus_client.parser import text_string_to_metric_families

from tests.support.net import free_port
from tests.support.procs import REPO_ROOT
from tests.support.sql import Sql
from tests.support.web import add_peon, add_task, dashboard
from workcraft.db import DBConfig


def scrape(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """{(sample name, sorted labels): value} of a Prometheus text exposition."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_say_what_the_tables_say(db_config: DBConfig, sql: Sql) -> None:
    add_task(sql, queue="mail", task_name="send", age_s=90)
    add_task(sql, queue="mail", task_name="send", age_s=30)
    add_task(sql, status="RUNNING", queue="mail", task_name="send", worker_id="p1")
    add_task(sql, status="FAILURE", queue="mail", task_name="send", retry_on_failure=True)
    sql.run(
        "INSERT INTO task_totals (queue, task_name, status, total) VALUES"
        " ('mail', 'send', 'SUCCESS', 1234), ('mail', 'send', 'FAILURE', 5)"
    )
    sql.run("INSERT INTO queues (name, paused) VALUES ('mail', 1)")
    add_peon(sql, "p1", ["mail"])
    add_peon(sql, "p2", ["mail"], silent_s=3600)  # dead: not counted
    sql.run(
        "INSERT INTO janitor_state (name, holder, at, detail) VALUES"
        " ('leader', 'jan-1', NOW(6) - INTERVAL 2 SECOND, 'named lock'),"
        " ('sweep:dead_peons', NULL, NOW(6) - INTERVAL 4 SECOND, NULL)"
    )
    sql.run("UPDATE janitor_state SET duration_s = 0.25 WHERE name = 'sweep:dead_peons'")
    with dashboard(db_config) as client:
        answer = client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=")
    metrics = scrape(answer.text)
    labels = (("queue", "mail"), ("task_name", "send"))

    def task(status: str) -> tuple[tuple[str, str], ...]:
        return tuple(sorted((*labels, ("status", status))))

    assert metrics[("workcraft_tasks", task("PENDING"))] == 2
    assert metrics[("workcraft_tasks", task("RUNNING"))] == 1
    assert metrics[("workcraft_tasks", task("RETRYING"))] == 1
    assert metrics[("workcraft_tasks_finished_total", task("SUCCESS"))] == 1234
    assert metrics[("workcraft_tasks_finished_total", task("FAILURE"))] == 5
    assert 89 <= metrics[("workcraft_queue_oldest_due_seconds", (("queue", "mail"),))] < 120
    assert metrics[("workcraft_queue_paused", (("queue", "mail"),))] == 1
    assert metrics[("workcraft_peons", (("status", "IDLE"),))] == 1
    assert metrics[("workcraft_peons", (("status", "WORKING"),))] == 0
    assert metrics[("workcraft_janitor_leader_present", ())] == 1
    assert 2 <= metrics[("workcraft_janitor_leader_seen_seconds", ())] < 10
    sweep = (("sweep", "dead_peons"),)
    assert metrics[("workcraft_sweep_duration_seconds", sweep)] == 0.25
    assert 4 <= metrics[("workcraft_sweep_last_run_seconds", sweep)] < 30


def test_metrics_of_an_empty_database_still_name_peons_and_leader(db_config: DBConfig) -> None:
    """The alert rules compare these with 0: they are there even when nothing is."""
    with dashboard(db_config) as client:
        metrics = scrape(client.get("/metrics").text)
    assert sum(v for (name, _), v in metrics.items() if name == "workcraft_peons") == 0
    assert ("workcraft_peons", (("status", "IDLE"),)) in metrics
    assert metrics[("workcraft_janitor_leader_present", ())] == 0


def test_healthz_and_metrics_say_503_when_the_database_does_not_answer(
    db_config: DBConfig,
) -> None:
    gone = dataclasses.replace(db_config, port=free_port(), connect_timeout=1.0)
    with dashboard(gone, give_up_after=0.5) as client:
        health = client.get("/healthz")
        metrics = client.get("/metrics")
        page = client.get("/")
    assert health.status_code == 503 and health.text == "database unavailable\n"
    assert metrics.status_code == 503 and metrics.text.startswith("# workcraft: database")
    assert page.status_code == 503 and "Database error" in page.text


def test_the_readme_names_exactly_the_metrics_served(db_config: DBConfig, sql: Sql) -> None:
    """The README's metric table and alert rules use the names /metrics serves."""
    add_task(sql, status="FAILURE", retry_on_failure=True)
    add_task(sql)
    sql.run(
        "INSERT INTO task_totals (queue, task_name, status, total) VALUES ('q', 'j', 'SUCCESS', 1)"
    )
    sql.run(
        "INSERT INTO janitor_state (name, holder, at, duration_s) VALUES ('leader', 'j', NOW(6),"
        " NULL), ('sweep:totals', NULL, NOW(6), 0.1)"
    )
    with dashboard(db_config) as client:
        served = {name for name, _ in scrape(client.get("/metrics").text)}
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Dashboard and metrics", 1)[1].split("\n## ", 1)[0]
    table = set(re.findall(r"^\| `(workcraft_[a-z_]+)` \|", section, re.MULTILINE))
    rules = section.split("groups:", 1)[1]
    assert table == served
    assert set(re.findall(r"workcraft_[a-z_]+", rules)) <= served
