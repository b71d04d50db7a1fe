"""The dashboard in a real browser: headless Chromium (Selenium) against a real
``workcraft web`` process, with real peons and a janitor where the page is about them.

Each test does what an operator does -- load the overview, filter tasks, open one, retry a
failed one, pause a queue -- and checks both what the page shows and what the database
holds afterwards; a POST without the page's CSRF token and a ``--read-only`` dashboard
change nothing. Screens worth looking at are saved to ``test-artifacts/screens/``.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import chromium, chromium_binaries, retry_stale, screenshot
from tests.support.procs import ProcGroup
from tests.support.rows import task_row
from tests.support.settings import JANITOR, write_settings
from tests.support.sql import Sql
from tests.support.waiting import wait_until
from tests.support.web import FAILURE_RESULT, WebServer, add_task, start_web
from workcraft.core import Workcraft
from workcraft.db import DBConfig

pytestmark = pytest.mark.slow
STARTUP = 30
PAGE_WAIT = 15  # a page to change after a click, or after a live refresh (every 3 s)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    if chromium_binaries() is None:
        pytest.skip(
            "chromium and chromedriver are not installed (apt-get install chromium "
            "chromium-driver; scripts/ensure-apt-packages.sh does it in CI)"
        )
    with chromium(tmp_path / "chromium-profile") as driver:
        yield driver


@pytest.fixture
def web(procs: ProcGroup) -> WebServer:
    return start_web(procs, timeout=STARTUP)


def by_css(driver: Any, selector: str) -> list[Any]:
    from selenium.webdriver.common.by import By

    return list(driver.find_elements(By.CSS_SELECTOR, selector))


def text(driver: Any, selector: str) -> str:
    """The visible text of the first match ('' when there is none)."""
    found = by_css(driver, selector)
    return str(found[0].text).strip() if found else ""


def wait_for(driver: Any, condition: Callable[[], Any], what: str) -> Any:
    return wait_until(
        lambda: retry_stale(condition),
        PAGE_WAIT,
        what,
        lambda: f"at {driver.current_url}:\n{text(driver, 'main')}",
        interval=0.1,
    )


def click(driver: Any, selector: str) -> None:
    """Click the first match, again if a live refresh swapped it out in between."""
    retry_stale(lambda: by_css(driver, selector)[0].click())


def shown_task_ids(driver: Any) -> list[str]:
    return [row.get_attribute("data-task-id") for row in by_css(driver, "tr[data-task-id]")]


# -- overview ---------------------------------------------------------------------------------
def test_overview_shows_peons_leader_and_refreshes_itself(
    browser: Any,
    procs: ProcGroup,
    producer: Workcraft,
    db_config: DBConfig,
    sql: Sql,
    tmp_path: Path,
) -> None:
    write_settings(tmp_path, JANITOR)
    procs.peon("peon-browser")
    procs.janitor("janitor-browser")
    web = start_web(procs, timeout=STARTUP)
    ids = [producer.send_task_sync("add", [n, n], db_config=db_config) for n in range(5)]
    ids += [producer.send_task_sync("fail", ["no such customer"], db_config=db_config)]
    wait_until(
        lambda: (
            sql.count("SELECT COUNT(*) FROM bountyboard WHERE status IN ('SUCCESS', 'FAILURE')")
            == len(ids)
        ),
        60,
        "the peon to run every task",
        procs.describe,
    )
    browser.get(web.url + "/")
    wait_for(browser, lambda: text(browser, "#count-peons") == "1", "one live peon")
    wait_for(browser, lambda: text(browser, "#leader") == "janitor-browser", "the leader")
    assert text(browser, "#count-pending") == "0"
    browser.execute_script("window.notReloaded = true;")

    # Three delayed tasks: PENDING for an hour. The page shows them without a reload.
    for n in range(3):
        producer.send_task_sync("add", [n, 1], delay=3600, db_config=db_config)
    wait_for(browser, lambda: text(browser, "#count-pending") == "3", "3 pending, live")
    assert browser.execute_script("return window.notReloaded === true;")
    assert sql.count("SELECT COUNT(*) FROM bountyboard WHERE status = 'PENDING'") == 3
    wait_for(
        browser,
        lambda: "success" in text(browser, ".legend") and by_css(browser, "rect.b-success"),
        "the chart to show the runs (counted by the janitor)",
    )
    screenshot(browser, "overview")


# -- tasks --------------------------------------------------------------------------------------
def test_filter_tasks_by_status_and_queue_then_search(
    browser: Any, web: WebServer, sql: Sql
) -> None:
    for n in range(3):
        add_task(sql, status="FAILURE", task_name="mail", queue="io", args=[f"cust-{n}"])
    add_task(sql, status="SUCCESS", task_name="mail", queue="io", args=["cust-9"])
    add_task(sql, status="FAILURE", task_name="resize", queue="images", args=["img-1"])
    add_task(sql, status="PENDING", task_name="resize", queue="images", args=["img-2"])
    browser.get(web.url + "/tasks")
    assert len(shown_task_ids(browser)) == 6

    click(browser, 'input[name="status"][value="FAILURE"]')
    by_css(browser, 'input[name="queue"]')[0].send_keys("io")
    click(browser, '#task-filters button[type="submit"]')
    wait_for(browser, lambda: "queue=io" in browser.current_url, "the filtered list")
    expected = sql.ids("SELECT id FROM bountyboard WHERE status = 'FAILURE' AND queue = 'io'")
    assert set(shown_task_ids(browser)) == expected and len(expected) == 3
    statuses = {badge.text for badge in by_css(browser, "#task-table td .status")}
    assert statuses == {"FAILURE"}
    assert by_css(browser, 'input[name="status"][value="FAILURE"]')[0].is_selected()
    screenshot(browser, "tasks-filtered")

    search = by_css(browser, 'input[name="q"]')[0]
    search.send_keys("cust-1")
    search.submit()
    wait_for(browser, lambda: "q=cust-1" in browser.current_url, "the search")
    assert shown_task_ids(browser) == [
        next(iter(sql.ids("SELECT id FROM bountyboard WHERE payload LIKE '%cust-1%'")))
    ]


def test_open_a_task_from_the_list(browser: Any, web: WebServer, sql: Sql) -> None:
    task_id = add_task(
        sql,
        status="FAILURE",
        task_name="send_invoice",
        queue="billing",
        args=["cust-42", {"amount": 120.5}],
        result=FAILURE_RESULT,
        worker_id="peon-7",
    )
    browser.get(web.url + "/tasks")
    click(browser, f'tr[data-task-id="{task_id}"] a')
    wait_for(browser, lambda: text(browser, "#task-id") == task_id, "the task's page")
    row = task_row(sql, task_id)
    assert text(browser, "#task-status") == row["status"] == "FAILURE"
    assert '"cust-42"' in text(browser, "#payload") and "120.5" in text(browser, "#payload")
    assert text(browser, "#error") == "ValueError: no such customer"
    assert "Traceback (most recent call last)" in text(browser, "#traceback")
    assert "peon-7" in text(browser, "main")
    screenshot(browser, "task-failed")


def test_retry_a_failed_task(browser: Any, web: WebServer, sql: Sql) -> None:
    task_id = add_task(sql, status="FAILURE", task_name="mail", result=FAILURE_RESULT)
    browser.get(f"{web.url}/tasks/{task_id}")
    click(browser, "#retry")
    wait_for(browser, lambda: "done=retried" in browser.current_url, "the retry's answer")
    assert "Sent back to PENDING" in text(browser, ".flash")
    assert text(browser, "#task-status") == "PENDING"
    assert not by_css(browser, "#retry") and by_css(browser, "#cancel")
    assert "Error of an earlier run" in text(browser, ".error-panel h2")
    row = task_row(sql, task_id)
    assert row["status"] == "PENDING" and row["finished_at"] is None
    screenshot(browser, "task-retried")


def test_pause_and_resume_a_queue(browser: Any, web: WebServer, sql: Sql) -> None:
    add_task(sql, queue="mail", age_s=30)
    add_task(sql, queue="reports")
    browser.get(web.url + "/queues")
    click(browser, 'tr[data-queue="mail"] button')
    wait_for(browser, lambda: "done=paused" in browser.current_url, "the pause's answer")
    assert "Queue mail paused" in text(browser, ".flash")
    assert "PAUSED" in text(browser, 'tr[data-queue="mail"]')
    assert "PAUSED" not in text(browser, 'tr[data-queue="reports"]')
    assert sql.rows("SELECT name, paused FROM queues") == [{"name": "mail", "paused": 1}]
    screenshot(browser, "queues-paused")

    click(browser, 'tr[data-queue="mail"] button')
    wait_for(browser, lambda: "done=resumed" in browser.current_url, "the resume's answer")
    assert "PAUSED" not in text(browser, 'tr[data-queue="mail"]')
    assert sql.value("SELECT paused FROM queues WHERE name = 'mail'") == 0


# -- guards -------------------------------------------------------------------------------------
@pytest.fixture
def attacker_site(tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """``publish(html) -> url``: a page on another origin (another port of 127.0.0.1)."""
    site = tmp_path / "attacker"
    site.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(site), **kwargs)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def publish(html: str) -> str:
        (site / "page.html").write_text(html, encoding="utf-8")
        return f"http://127.0.0.1:{server.server_address[1]}/page.html"

    yield publish
    server.shutdown()
    server.server_close()
    thread.join(10)


def test_a_post_without_the_csrf_token_is_refused(
    browser: Any, web: WebServer, sql: Sql, attacker_site: Callable[[str], str]
) -> None:
    task_id = add_task(sql, status="FAILURE", result=FAILURE_RESULT)
    browser.get(f"{web.url}/tasks/{task_id}")  # the browser holds the dashboard's cookie
    page = attacker_site(
        f'<form method="post" action="{web.url}/tasks/retry">'
        f'<input type="hidden" name="task_id" value="{task_id}">'
        '<button id="go" type="submit">Win a prize</button></form>'
    )
    browser.get(page)
    click(browser, "#go")
    wait_for(browser, lambda: by_css(browser, "#refused"), "the dashboard's refusal")
    assert "CSRF token" in text(browser, "#refused")
    assert task_row(sql, task_id)["status"] == "FAILURE"
    screenshot(browser, "csrf-refused")

    # The dashboard's own form with its token field removed fares no better.
    browser.get(f"{web.url}/tasks/{task_id}")
    browser.execute_script("document.querySelector('input[name=csrf_token]').remove();")
    click(browser, "#retry")
    wait_for(browser, lambda: by_css(browser, "#refused"), "the refusal")
    assert task_row(sql, task_id)["status"] == "FAILURE"


def test_read_only_offers_no_action(browser: Any, procs: ProcGroup, sql: Sql) -> None:
    web = start_web(procs, "--read-only", timeout=STARTUP)
    task_id = add_task(sql, status="FAILURE", result=FAILURE_RESULT)
    add_task(sql, queue="mail")
    for path in ("/", f"/tasks/{task_id}", "/queues", "/tasks"):
        browser.get(web.url + path)
        wait_for(browser, lambda: text(browser, "#read-only") == "read-only", "the badge")
        assert by_css(browser, 'form[method="post"]') == [], path
        labels = {button.text for button in by_css(browser, "button")}
        assert not labels & {"Retry", "Cancel", "Pause", "Resume"}, (path, labels)
        if path == "/queues":
            screenshot(browser, "queues-read-only")
    assert task_row(sql, task_id)["status"] == "FAILURE"
    assert sql.count("SELECT COUNT(*) FROM queues") == 0
