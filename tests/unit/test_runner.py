"""``workcraft.peon.runner.execute``: one claimed task in, one outcome out. No database."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from workcraft.core import Workcraft
from workcraft.data import ClaimedTask, Outcome
from workcraft.models import TaskStatus
from workcraft.peon.runner import execute


class Calls:
    """Records handler calls as (args, kwargs)."""

    def __init__(self) -> None:
        self.prerun: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
        self.postrun: list[tuple[tuple[Any, ...], dict[str, Any]]] = []


def make_app(calls: Calls | None = None) -> Workcraft:
    app = Workcraft()

    @app.task("add")
    def add(a: int, b: int, c: int = 0) -> int:
        return a + b + c

    @app.task("async_add")
    async def async_add(a: int, b: int) -> int:
        await asyncio.sleep(0)
        return a + b

    @app.task("boom")
    def boom(message: str) -> None:
        raise ValueError(message)

    @app.task("exits")
    def exits() -> None:
        raise SystemExit(3)

    @app.task("returns_set")
    def returns_set() -> Any:
        return {1, 2}

    @app.task("returns_object")
    def returns_object() -> Any:
        return object()

    @app.task("returns_nan")
    def returns_nan() -> float:
        return float("nan")

    @app.task("no_args")
    def no_args() -> str:
        return "ok"

    if calls is not None:

        @app.prerun_handler()
        def prerun(*args: Any, **kwargs: Any) -> None:
            calls.prerun.append((args, kwargs))

        @app.postrun_handler()
        def postrun(*args: Any, **kwargs: Any) -> None:
            calls.postrun.append((args, kwargs))

    return app


def run(app: Workcraft, task_name: str, payload: Any, task_id: str = "task-1") -> Outcome:
    raw = payload if isinstance(payload, (str, bytes)) or payload is None else json.dumps(payload)
    return execute(app, ClaimedTask(id=task_id, task_name=task_name, payload=raw, attempt=1))


def result_of(outcome: Outcome) -> Any:
    return json.loads(outcome.result_json)


def test_sync_task_success() -> None:
    outcome = run(make_app(), "add", {"task_args": [1, 2], "task_kwargs": {"c": 3}})
    assert outcome.status is TaskStatus.SUCCESS
    assert result_of(outcome) == 6
    assert not outcome.failed
    assert outcome.seconds >= 0
    assert outcome.task.id == "task-1"


def test_payload_as_bytes_and_missing_keys() -> None:
    app = make_app()
    assert result_of(run(app, "add", b'{"task_args": [2, 3]}')) == 5
    # Every payload key is optional.
    outcome = run(app, "no_args", "{}")
    assert outcome.status is TaskStatus.SUCCESS
    assert result_of(outcome) == "ok"


def test_async_task_success() -> None:
    outcome = run(make_app(), "async_add", {"task_args": [20, 22]})
    assert outcome.status is TaskStatus.SUCCESS
    assert result_of(outcome) == 42


def test_exception_is_failure_with_details() -> None:
    outcome = run(make_app(), "boom", {"task_args": ["it broke"]})
    assert outcome.status is TaskStatus.FAILURE
    assert outcome.failed
    result = result_of(outcome)
    assert result["error_type"] == "ValueError"
    assert result["message"] == "it broke"
    assert "Traceback" in result["traceback"]
    assert "ValueError: it broke" in result["traceback"]
    assert "boom" in result["traceback"]


def test_system_exit_fails_the_task_not_the_runner() -> None:
    outcome = run(make_app(), "exits", {})
    assert outcome.status is TaskStatus.FAILURE
    assert result_of(outcome)["error_type"] == "SystemExit"


@pytest.mark.parametrize("task_name", ["returns_set", "returns_object", "returns_nan"])
def test_non_json_result_is_failure(task_name: str) -> None:
    outcome = run(make_app(), task_name, {})
    assert outcome.status is TaskStatus.FAILURE
    result = result_of(outcome)
    assert result["error_type"] == "TypeError"
    assert "not JSON-serialisable" in result["message"]


@pytest.mark.parametrize(
    ("task_name", "payload", "reason"),
    [
        ("add", "[1, 2]", "payload must be a JSON object, got an array"),
        ("add", "5", "payload must be a JSON object"),
        ("add", '"text"', "payload must be a JSON object"),
        ("add", None, "payload is NULL"),
        ("add", "this is not json", "payload must be a JSON object"),
        ("add", '{"task_args": 5}', "task_args must be a JSON array"),
        ("add", '{"task_args": {"a": 1}}', "task_args must be a JSON array"),
        ("add", '{"task_kwargs": [1]}', "task_kwargs must be a JSON object"),
        ("add", '{"prerun_handler_args": "x"}', "prerun_handler_args must be a JSON array"),
        ("add", '{"postrun_handler_kwargs": 3}', "postrun_handler_kwargs must be a JSON object"),
        ("add", '{"task_args": [1e999, 2]}', "holds the number 1e999, too large for a float"),
        ("add", '{"task_args": [1]}', "arguments do not fit add"),
        ("add", '{"task_args": [1, 2, 3, 4]}', "arguments do not fit add"),
        ("add", '{"task_args": [1, 2], "task_kwargs": {"d": 1}}', "arguments do not fit add"),
        ("no_args", '{"task_args": [1]}', "arguments do not fit no_args"),
        ("not_registered", '{"task_args": []}', "no task named 'not_registered'"),
    ],
)
def test_invalid_payloads(task_name: str, payload: str | None, reason: str) -> None:
    calls = Calls()
    outcome = run(make_app(calls), task_name, payload)
    assert outcome.status is TaskStatus.INVALID
    assert not outcome.failed
    result = result_of(outcome)
    assert result["error_type"] == "InvalidTask"
    assert reason in result["message"]


def test_handlers_get_ids_names_and_payload_args() -> None:
    calls = Calls()
    payload = {
        "task_args": [1, 2],
        "task_kwargs": {"c": 3},
        "prerun_handler_args": ["pre", 1],
        "prerun_handler_kwargs": {"pk": True},
        "postrun_handler_args": ["post"],
        "postrun_handler_kwargs": {"qk": [1, 2]},
    }
    outcome = run(make_app(calls), "add", payload, task_id="abc-123")
    assert outcome.status is TaskStatus.SUCCESS
    assert calls.prerun == [(("abc-123", "add", "pre", 1), {"pk": True})]
    assert len(calls.postrun) == 1
    args, kwargs = calls.postrun[0]
    assert args == ("abc-123", "add", 6, TaskStatus.SUCCESS, "post")
    assert args[3] == "SUCCESS"
    assert kwargs == {"qk": [1, 2]}


def test_handlers_without_extra_args() -> None:
    calls = Calls()
    run(make_app(calls), "add", {"task_args": [1, 1]}, task_id="t")
    assert calls.prerun == [(("t", "add"), {})]
    assert calls.postrun == [(("t", "add", 2, TaskStatus.SUCCESS), {})]


def test_postrun_sees_failure() -> None:
    calls = Calls()
    run(make_app(calls), "boom", {"task_args": ["bad"]}, task_id="t")
    (args, _kwargs) = calls.postrun[0]
    assert args[:2] == ("t", "boom")
    assert args[2]["error_type"] == "ValueError"
    assert args[2]["message"] == "bad"
    assert args[3] is TaskStatus.FAILURE


def test_async_handlers_are_awaited() -> None:
    app = make_app()
    seen: list[tuple[Any, ...]] = []

    @app.prerun_handler()
    async def prerun(task_id: str, task_name: str) -> None:
        await asyncio.sleep(0)
        seen.append(("pre", task_id, task_name))

    @app.postrun_handler()
    async def postrun(task_id: str, task_name: str, result: Any, status: TaskStatus) -> None:
        seen.append(("post", task_id, task_name, result, status))

    outcome = run(app, "add", {"task_args": [1, 2]}, task_id="t")
    assert outcome.status is TaskStatus.SUCCESS
    assert seen == [("pre", "t", "add"), ("post", "t", "add", 3, TaskStatus.SUCCESS)]


@pytest.mark.parametrize("task_name", ["add", "boom"])
def test_raising_handlers_do_not_change_the_status(task_name: str) -> None:
    app = make_app()

    @app.prerun_handler()
    def prerun(task_id: str, task_name: str) -> None:
        raise RuntimeError("prerun broke")

    @app.postrun_handler()
    def postrun(task_id: str, task_name: str, result: Any, status: TaskStatus) -> None:
        raise RuntimeError("postrun broke")

    outcome = run(app, task_name, {"task_args": [1, 2] if task_name == "add" else ["x"]})
    if task_name == "add":
        assert outcome.status is TaskStatus.SUCCESS
        assert result_of(outcome) == 3
    else:
        assert outcome.status is TaskStatus.FAILURE
        assert result_of(outcome)["error_type"] == "ValueError"


def test_handler_with_wrong_signature_does_not_change_the_status() -> None:
    app = make_app()

    @app.postrun_handler()
    def postrun(task_id: str) -> None:  # too few parameters: calling it raises TypeError
        raise AssertionError("never called successfully")

    outcome = run(app, "add", {"task_args": [1, 2]})
    assert outcome.status is TaskStatus.SUCCESS
    assert result_of(outcome) == 3
