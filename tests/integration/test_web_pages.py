"""The dashboard's pages, in process (Starlette's TestClient) against the real database:
each page shows what the rows say, the task list filters, searches and pages with its
keyset cursor, and a task's page shows its arguments, result or error, and timeline."""

from __future__ import annotations

import re

from tests.support.sql import Sql
from tests.support.web import FAILURE_RESULT, add_peon, add_task, dashboard, text_of
from workcraft.db import DBConfig


def task_ids_on(html: str) -> list[str]:
    return re.findall(r'data-task-id="([^"]+)"', html)


def test_overview_shows_counts_backlog_peons_and_leader(db_config: DBConfig, sql: Sql) -> None:
    for n in range(3):
        add_task(sql, task_name="resize", queue="images", age_s=120 + n)
    add_task(sql, status="RUNNING", task_name="resize", queue="images", worker_id="peon-a")
    add_peon(sql, "peon-a", ["images"])
    sql.run(
        "INSERT INTO janitor_state (name, holder, at, detail) VALUES ('leader', 'jan-1', NOW(6),"
        " 'named lock')"
    )
    sql.run(
        "INSERT INTO throughput (minute, status, n) VALUES"
        " (FROM_UNIXTIME(FLOOR(UNIX_TIMESTAMP(NOW()) / 60) * 60 - 120), 'SUCCESS', 7)"
    )
    with dashboard(db_config) as client:
        page = client.get("/")
    assert page.status_code == 200
    html = page.text
    assert re.search(r'id="count-pending">\s*3<', html)
    assert re.search(r'id="count-running">\s*1<', html)
    assert re.search(r'id="count-peons">\s*1<', html)
    assert re.search(r'id="backlog-age">\s*2 min<', html)  # the oldest waited 122 s
    assert re.search(r'id="leader">\s*jan-1<', html)
    assert 'class="bar b-success"' in html and "7 SUCCESS" in html  # the chart's bar
    assert 'hx-trigger="every 3.0s"' in html  # it refreshes itself
    words = text_of(html)
    assert "images" in words and "resize" in words


def test_task_list_filters_by_status_queue_and_name(db_config: DBConfig, sql: Sql) -> None:
    failed = add_task(sql, status="FAILURE", task_name="mail", queue="io", result=FAILURE_RESULT)
    add_task(sql, status="SUCCESS", task_name="mail", queue="io")
    add_task(sql, status="FAILURE", task_name="resize", queue="images")
    with dashboard(db_config) as client:
        assert len(task_ids_on(client.get("/tasks").text)) == 3
        page = client.get("/tasks", params={"status": "FAILURE", "queue": "io", "name": "mail"})
    assert task_ids_on(page.text) == [failed]
    assert 'value="FAILURE" checked' in page.text  # the form shows the filter in force


def test_search_finds_a_task_by_id_and_by_text_in_its_arguments(
    db_config: DBConfig, sql: Sql
) -> None:
    wanted = add_task(sql, args=["invoice-4711", {"to": "ann@example.com"}])
    add_task(sql, args=["invoice-1000"])
    with dashboard(db_config) as client:
        by_id = client.get("/tasks", params={"q": wanted})
        by_text = client.get("/tasks", params={"q": "ann@example"})
        literal = client.get("/tasks", params={"q": "invoice-47%"})
    assert task_ids_on(by_id.text) == [wanted]
    assert task_ids_on(by_text.text) == [wanted]
    assert task_ids_on(literal.text) == []  # % is a character to find, not a wildcard


def test_pages_of_tasks_follow_the_keyset_cursor(db_config: DBConfig, sql: Sql) -> None:
    ids = [add_task(sql, status="SUCCESS", age_s=100 - n) for n in range(7)]  # newest last
    newest_first = list(reversed(ids))
    seen: list[str] = []
    with dashboard(db_config, page_size=3) as client:
        page = client.get("/tasks")
        for _ in range(5):
            seen += task_ids_on(page.text)
            link = re.search(r'id="next-page" href="([^"]+)"', page.text)
            if not link:
                break
            page = client.get(link.group(1).replace("&amp;", "&"))
    assert seen == newest_first


def test_a_rare_match_is_searched_a_window_at_a_time(db_config: DBConfig, sql: Sql) -> None:
    """With a filter other than status, each page checks at most ``search_window`` tasks
    per status and offers to search older ones: never a scan of the whole table."""
    rare = add_task(sql, status="SUCCESS", task_name="rare", age_s=1000)
    for n in range(12):
        add_task(sql, status="SUCCESS", task_name="common", age_s=n)
    found: list[str] = []
    pages = 0
    with dashboard(db_config, search_window=5) as client:
        page = client.get("/tasks", params={"name": "rare"})
        while True:
            pages += 1
            found += task_ids_on(page.text)
            link = re.search(r'id="next-page" href="([^"]+)"', page.text)
            if not link:
                break
            assert "Search older" in page.text
            page = client.get(link.group(1).replace("&amp;", "&"))
    assert found == [rare]
    assert pages == 3  # 13 rows, 5 per window


def test_a_bad_filter_is_a_message_not_an_error(db_config: DBConfig) -> None:
    with dashboard(db_config) as client:
        status = client.get("/tasks", params={"status": "DONE"})
        since = client.get("/tasks", params={"since": "yesterday"})
        cursor = client.get("/tasks", params={"after": "not-a-time|x"})
    assert [status.status_code, since.status_code, cursor.status_code] == [400, 400, 400]
    assert "unknown status 'DONE'" in text_of(status.text)
    assert "give a duration (90s, 15m, 2h, 7d) or an ISO time" in text_of(since.text)
    assert "bad page cursor" in text_of(cursor.text)


def test_task_page_shows_arguments_error_with_traceback_attempts_and_timeline(
    db_config: DBConfig, sql: Sql
) -> None:
    task_id = add_task(
        sql, status="FAILURE", args=["cust-42"], result=FAILURE_RESULT, worker_id="peon-a"
    )
    sql.run(
        "INSERT INTO logs (message, task_id) VALUES ('peon peon-a died; task failed', %s)",
        (task_id,),
    )
    with dashboard(db_config) as client:
        page = client.get(f"/tasks/{task_id}")
    assert page.status_code == 200
    words = text_of(page.text)
    assert "cust-42" in words
    assert "ValueError: no such customer" in words
    assert "Traceback (most recent call last)" in words
    assert "1 run started" in words
    assert "janitor: peon peon-a died; task failed" in words
    assert 'id="retry"' in page.text and 'id="cancel"' not in page.text


def test_unknown_task_and_page_are_404(db_config: DBConfig) -> None:
    with dashboard(db_config) as client:
        assert client.get("/tasks/no-such-task").status_code == 404
        assert client.get("/nowhere").status_code == 404


def test_queues_peons_schedules_and_janitor_pages(db_config: DBConfig, sql: Sql) -> None:
    add_task(sql, queue="mail")
    sql.run("INSERT INTO queues (name, paused) VALUES ('mail', 1)")
    add_peon(sql, "peon-live", ["mail"])
    add_peon(sql, "peon-silent", ["mail"], silent_s=3600)
    sql.run(
        "INSERT INTO schedules (name, task_name, cron, payload, queue) VALUES"
        " ('nightly', 'report', '0 3 * * *', '{\"task_args\": [\"secret-arg\"]}', 'mail')"
    )
    sql.run(
        "INSERT INTO janitor_state (name, at, duration_s, detail) VALUES"
        " ('sweep:dead_peons', NOW(6), 0.004, 'nothing to do')"
    )
    for n in range(5):
        sql.run("INSERT INTO logs (message) VALUES (%s)", (f"line {n}",))
    with dashboard(db_config, page_size=3) as client:
        queues = text_of(client.get("/queues").text)
        peons = client.get("/peons").text
        schedules = text_of(client.get("/schedules").text)
        janitor = client.get("/janitor").text
        older = re.search(r'href="(/janitor\?before=\d+)"', janitor)
        assert older, janitor
        janitor_older = text_of(client.get(older.group(1)).text)
    assert "mail" in queues and "PAUSED" in queues and "Resume" in queues
    assert "peon-live" in peons and "silent" in text_of(peons)
    assert "nightly" in schedules and "0 3 * * *" in schedules and "secret-arg" in schedules
    words = text_of(janitor)
    assert "dead_peons" in words and "4 ms" in words and "nothing to do" in words
    assert "line 4" in words and "line 2" in words and "line 1" not in words
    assert "line 1" in janitor_older and "line 0" in janitor_older


def test_pages_send_security_headers_and_no_store(db_config: DBConfig) -> None:
    with dashboard(db_config) as client:
        page = client.get("/")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
