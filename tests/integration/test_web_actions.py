"""The dashboard's actions and its guards, in process against the real database: retry,
cancel, pause and resume change the rows; a POST without the page's CSRF token, a
``--read-only`` dashboard and a missing password change nothing; ``--hide-args`` hides
arguments on every page and in the API."""

from __future__ import annotations

import base64
import json

import pytest

from tests.support.rows import result_of, task_row
from tests.support.sql import Sql
from tests.support.web import (
    FAILURE_RESULT,
    add_task,
    csrf_token,
    dashboard,
    post,
    text_of,
)
from workcraft.db import DBConfig
from workcraft.web.options import Credentials


def test_retry_sends_a_failed_task_back_to_pending(db_config: DBConfig, sql: Sql) -> None:
    task_id = add_task(sql, status="FAILURE", result=FAILURE_RESULT)
    with dashboard(db_config) as client:
        token = csrf_token(client, f"/tasks/{task_id}")
        answer = post(client, "/tasks/retry", token, task_id=task_id)
        assert answer.status_code == 303
        assert answer.headers["location"] == f"/tasks/{task_id}?done=retried"
        page = client.get(answer.headers["location"])
    assert task_row(sql, task_id)["status"] == "PENDING"
    assert "Sent back to PENDING" in text_of(page.text)
    assert 'id="retry"' not in page.text  # a PENDING task offers cancel, not retry


def test_retry_of_a_task_that_did_not_fail_changes_nothing(db_config: DBConfig, sql: Sql) -> None:
    task_id = add_task(sql, status="SUCCESS", result=5)
    with dashboard(db_config) as client:
        answer = post(client, "/tasks/retry", csrf_token(client), task_id=task_id)
        assert answer.headers["location"].endswith("done=not-retried")
    assert task_row(sql, task_id)["status"] == "SUCCESS"


def test_cancel_a_pending_task_and_ask_a_running_one_to_stop(db_config: DBConfig, sql: Sql) -> None:
    pending = add_task(sql)
    running = add_task(sql, status="RUNNING", worker_id="peon-a")
    with dashboard(db_config) as client:
        token = csrf_token(client)
        first = post(client, "/tasks/cancel", token, task_id=pending)
        second = post(client, "/tasks/cancel", token, task_id=running)
    assert first.headers["location"].endswith("done=cancelled")
    assert second.headers["location"].endswith("done=requested")
    row = task_row(sql, pending)
    assert row["status"] == "CANCELLED" and result_of(row)["error_type"] == "Cancelled"
    assert task_row(sql, running)["cancel_requested"] == 1


def test_pause_and_resume_a_queue(db_config: DBConfig, sql: Sql) -> None:
    add_task(sql, queue="mail")
    with dashboard(db_config) as client:
        token = csrf_token(client, "/queues")
        paused = post(client, "/queues/pause", token, queue="mail")
        assert paused.status_code == 303
        assert sql.value("SELECT paused FROM queues WHERE name = 'mail'") == 1
        page = client.get(paused.headers["location"])
        assert "Queue mail paused" in text_of(page.text)
        assert 'action="/queues/resume"' in page.text
        post(client, "/queues/resume", token, queue="mail")
    assert sql.value("SELECT paused FROM queues WHERE name = 'mail'") == 0


def test_a_queue_name_that_cannot_be_named_is_refused(db_config: DBConfig, sql: Sql) -> None:
    with dashboard(db_config) as client:
        answer = post(client, "/queues/pause", csrf_token(client), queue="a,b")
    assert answer.status_code == 400
    assert sql.count("SELECT COUNT(*) FROM queues") == 0


@pytest.mark.parametrize("token", [None, "", "x" * 43, "forged"])
def test_a_post_without_the_pages_csrf_token_is_refused(
    db_config: DBConfig, sql: Sql, token: str | None
) -> None:
    task_id = add_task(sql, status="FAILURE", result=FAILURE_RESULT)
    with dashboard(db_config) as client:
        csrf_token(client)  # the browser holds a cookie, the attacker's form has no token
        answer = post(client, "/tasks/retry", token, task_id=task_id)
        paused = post(client, "/queues/pause", token, queue="DEFAULT")
    assert answer.status_code == 403 and paused.status_code == 403
    assert "CSRF" in text_of(answer.text)
    assert task_row(sql, task_id)["status"] == "FAILURE"
    assert sql.count("SELECT COUNT(*) FROM queues") == 0


def test_a_token_without_its_cookie_is_refused(db_config: DBConfig, sql: Sql) -> None:
    task_id = add_task(sql, status="FAILURE", result=FAILURE_RESULT)
    with dashboard(db_config) as client:
        token = csrf_token(client)
        client.cookies.clear()
        answer = post(client, "/tasks/retry", token, task_id=task_id)
    assert answer.status_code == 403
    assert task_row(sql, task_id)["status"] == "FAILURE"


def test_actions_are_post_only(db_config: DBConfig, sql: Sql) -> None:
    with dashboard(db_config) as client:
        assert client.get("/queues/pause", params={"queue": "mail"}).status_code == 405
        # GET /tasks/<id> is a task's page: "retry" is looked up as a task id, not run.
        assert client.get("/tasks/retry", params={"task_id": "x"}).status_code == 404
    assert sql.count("SELECT COUNT(*) FROM queues") == 0


def test_read_only_offers_no_action_and_refuses_posts(db_config: DBConfig, sql: Sql) -> None:
    task_id = add_task(sql, status="FAILURE", result=FAILURE_RESULT)
    add_task(sql, queue="mail")
    with dashboard(db_config, read_only=True) as client:
        pages = [client.get(path).text for path in ("/", f"/tasks/{task_id}", "/queues")]
        token = csrf_token(client)
        answer = post(client, "/tasks/retry", token, task_id=task_id)
        paused = post(client, "/queues/pause", token, queue="mail")
    for html in pages:
        assert 'method="post"' not in html
        assert "read-only" in html
    assert answer.status_code == 403 and paused.status_code == 403
    assert "read-only" in text_of(answer.text)
    assert task_row(sql, task_id)["status"] == "FAILURE"
    assert sql.count("SELECT COUNT(*) FROM queues") == 0


def test_hide_args_hides_arguments_on_pages_and_in_the_api(db_config: DBConfig, sql: Sql) -> None:
    task_id = add_task(sql, status="SUCCESS", args=["api-key-123"], result={"sent": 3})
    sql.run(
        "INSERT INTO schedules (name, task_name, every_seconds, payload) VALUES"
        " ('tick', 'job', 60, '{\"task_args\": [\"api-key-123\"]}')"
    )
    with dashboard(db_config, hide_args=True) as client:
        page = client.get(f"/tasks/{task_id}").text
        api = client.get(f"/api/tasks/{task_id}").json()
        schedules = client.get("/schedules").text
        search = client.get("/tasks", params={"q": "api-key"}).text
        by_id = client.get("/tasks", params={"q": task_id}).text
    for html in (page, schedules, search):
        assert "api-key-123" not in html
    assert "hidden" in text_of(page) and '"sent": 3' in text_of(page)  # the result still shows
    assert api["payload"] == "hidden" and api["result"] == {"sent": 3}
    assert task_id not in search  # text in arguments is no search key when they are hidden
    assert task_id in by_id


def test_api_status_is_the_boards_json(db_config: DBConfig, sql: Sql) -> None:
    add_task(sql, queue="mail")
    with dashboard(db_config) as client:
        board = client.get("/api/status").json()
    assert board["tasks"]["PENDING"] == 1
    assert [q["name"] for q in board["queues"]] == ["mail"]
    json.dumps(board)


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def test_basic_auth_guards_every_page_and_metrics_but_not_healthz(db_config: DBConfig) -> None:
    with dashboard(db_config, auth=Credentials("ops", "s3cret:with-colon")) as client:
        for path in ("/", "/tasks", "/metrics", "/api/status", "/static/workcraft.css"):
            refused = client.get(path)
            assert refused.status_code == 401, path
            assert refused.headers["www-authenticate"].startswith("Basic")
            assert client.get(path, headers=basic("ops", "wrong")).status_code == 401
            assert client.get(path, headers=basic("ops", "s3cret:with-colon")).status_code == 200
        assert client.get("/healthz").text == "ok\n"
        assert client.post("/queues/pause", data={"queue": "x"}).status_code == 401
