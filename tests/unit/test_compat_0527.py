"""workcraft 0.5.27's names and forms, without a database: its models, the task-id
convention, its ``--queues`` list and peon flags, and how its static send/get calls are told
from the README's. (Against the database: tests/integration/test_compat_0527.py.)"""

from __future__ import annotations

import datetime as dt
import json
import warnings
from collections.abc import Iterator
from typing import Any

import click
import pytest

from workcraft.cli import cli
from workcraft.cli.peon import split_queues
from workcraft.compat.deprecation import forget_warnings
from workcraft.compat.producer import GET_0527, SEND_0527, producer_method
from workcraft.compat.queues import QueueListError, parse_queue_list
from workcraft.compat.task import OriginalTask
from workcraft.core import Workcraft
from workcraft.data import ClaimedTask
from workcraft.models import DBConfig, Task, TaskPayload, TaskStatus
from workcraft.peon.runner import execute

CFG = DBConfig(host="db", port=3306, user="u", password="p", database="d", use_ssl=False)


@pytest.fixture(autouse=True)
def fresh_warnings() -> Iterator[None]:
    """Each test sees the one-time warnings as a new process would."""
    forget_warnings()
    yield
    forget_warnings()


# -- models ---------------------------------------------------------------------------------
def test_task_payload_defaults_and_json() -> None:
    payload = TaskPayload(task_args=(1, 2), prerun_handler_kwargs={"q": 1})
    assert payload.task_args == [1, 2]
    # pydantic's model_dump_json: compact, every field.
    assert payload.model_dump_json() == (
        '{"task_args":[1,2],"task_kwargs":{},"prerun_handler_args":[],'
        '"prerun_handler_kwargs":{"q":1},"postrun_handler_args":[],"postrun_handler_kwargs":{}}'
    )
    assert payload.model_dump()["prerun_handler_kwargs"] == {"q": 1}
    assert TaskPayload.model_validate({"task_args": [3], "extra": 1}) == TaskPayload(task_args=[3])


@pytest.mark.parametrize(
    "kwargs",
    [{"task_args": "ab"}, {"task_args": 3}, {"task_kwargs": [1]}, {"postrun_handler_args": None}],
)
def test_task_payload_refuses_wrong_types(kwargs: dict[str, Any]) -> None:
    with pytest.raises(TypeError):
        TaskPayload(**kwargs)


def test_task_from_db_data_keeps_result_text() -> None:
    row = {
        "id": "t1",
        "task_name": "add",
        "status": "SUCCESS",
        "created_at": "2024-11-30T01:02:03",
        "updated_at": dt.datetime(2024, 11, 30, 1, 2, 4),
        "worker_id": "w",
        "queue": "DEFAULT",
        "payload": '{"task_args": [1, 2]}',
        "result": "3",
        "retry_on_failure": 0,
        "retry_count": 0,
        "retry_limit": 3,
    }
    task = Task.from_db_data(row)
    assert isinstance(task, Task) and isinstance(task, OriginalTask)
    assert task.result == "3"
    assert task.payload == TaskPayload(task_args=[1, 2])
    assert task.task_args == [1, 2]
    assert task.status is TaskStatus.SUCCESS
    assert task.created_at == dt.datetime(2024, 11, 30, 1, 2, 3)
    assert list(task.model_dump()) == [
        "id", "task_name", "status", "created_at", "updated_at", "worker_id", "queue",
        "payload", "result", "retry_on_failure", "retry_count", "retry_limit",
    ]  # fmt: skip


def test_original_task_from_ours_reencodes_the_result() -> None:
    ours = Task.from_row(
        {
            "id": "t1", "status": "FAILURE", "task_name": "x", "queue": "q",
            "payload": '{"task_args": [1]}', "result": '{"error_type": "E"}', "worker_id": None,
            "retry_on_failure": 1, "retry_count": 1, "retry_limit": 3, "attempt": 1,
            "created_at": None, "updated_at": None,
        }
    )  # fmt: skip
    original = OriginalTask.from_task(ours)
    assert json.loads(original.result or "") == {"error_type": "E"}
    assert original.payload.task_args == [1]
    assert original.will_retry


# -- the task id ----------------------------------------------------------------------------
def test_first_parameter_task_id_gets_the_id_and_warns_once() -> None:
    app = Workcraft()
    with pytest.warns(DeprecationWarning, match=r"pass_task_id=True") as caught:

        @app.task("add")
        def add(task_id: str, a: int, b: int) -> int:
            return a + b

        @app.task("echo")
        def echo(task_id: str, *args: Any) -> Any:
            return task_id

    assert len(caught) == 1
    assert caught[0].filename == __file__  # points at the decorator line
    assert app.task_id_rules == {"add": "when-unfilled", "echo": "when-unfilled"}
    assert app.task_arguments("add", "t1", [1, 2], {}) == ["t1", 1, 2]
    assert app.task_arguments("echo", "t1", ["x"], {}) == ["t1", "x"]  # both fit: the id


def test_a_task_id_the_producer_fills_is_left_alone() -> None:
    """README-style tasks whose first parameter ``task_id`` is a key their producer sends."""
    app = Workcraft()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)

        @app.task("record")
        def record(task_id: str) -> str:
            return task_id

        @app.task("sleep_for")
        def sleep_for(task_id: str, seconds: float) -> float:
            return seconds

        @app.task("maybe")
        def maybe(task_id: str, value: Any = None) -> Any:
            return value

    assert app.task_arguments("record", "t1", ["key"], {}) == ["key"]
    assert app.task_arguments("record", "t1", [], {"task_id": "key"}) == []
    assert app.task_arguments("record", "t1", [], {}) == ["t1"]
    assert app.task_arguments("sleep_for", "t1", ["key", 3], {}) == ["key", 3]
    assert app.task_arguments("sleep_for", "t1", [3], {}) == ["t1", 3]
    # Both fit: the task id, as 0.5.27 did (pass_task_id=False says otherwise).
    assert app.task_arguments("maybe", "t1", ["key"], {}) == ["t1", "key"]
    # Fits neither way: as sent with the id; the run is INVALID.
    assert app.task_arguments("record", "t1", ["a", "b"], {}) == ["t1", "a", "b"]


def test_readme_tasks_and_explicit_choices_do_not_warn() -> None:
    app = Workcraft()
    with warnings.catch_warnings():
        warnings.simplefilter("error")

        @app.task("plain")
        def plain(a: int) -> int:
            return a

        @app.task("keyword_only")
        def keyword_only(*, task_id: str) -> str:
            return task_id

        @app.task("named_task_id_but_an_argument", pass_task_id=False)
        def other(task_id: str) -> str:
            return task_id

        @app.task("asks", pass_task_id=True)
        def asks(the_id: str) -> str:
            return the_id

    assert app.task_id_rules == {"asks": "always"}
    assert app.task_arguments("plain", "t1", [1], {}) == [1]
    assert app.task_arguments("named_task_id_but_an_argument", "t1", [], {}) == []
    assert app.task_arguments("asks", "t1", [], {}) == ["t1"]


def test_pass_task_id_needs_a_positional_parameter() -> None:
    app = Workcraft()
    with pytest.raises(TypeError, match="no positional argument"):

        @app.task("x", pass_task_id=True)
        def x(*, a: int) -> None: ...


def test_runner_gives_each_style_what_it_asked_for() -> None:
    app = Workcraft()
    seen: list[tuple[str, Any]] = []

    @app.prerun_handler()
    def prerun(task_id: str, task_name: str) -> None:
        seen.append(("prerun", task_id))

    @app.task("add", pass_task_id=True)
    def add(task_id: str, a: int, b: int) -> list[Any]:
        return [task_id, a + b]

    @app.task("multiply")
    def multiply(a: int, b: int) -> int:
        return a * b

    @app.task("named", pass_task_id=False)
    def named(task_id: str, value: int) -> list[Any]:
        return [task_id, value]

    def run(name: str, payload: dict[str, Any]) -> Any:
        outcome = execute(app, ClaimedTask("t-1", name, json.dumps(payload), 1))
        assert outcome.status is TaskStatus.SUCCESS, outcome.result_json
        return json.loads(outcome.result_json)

    assert run("add", {"task_args": [1, 2]}) == ["t-1", 3]
    assert run("multiply", {"task_args": [6, 7]}) == 42
    assert run("named", {"task_args": ["mine", 5]}) == ["mine", 5]
    assert seen == [("prerun", "t-1")] * 3
    # Arguments that do not fit once the id is counted: INVALID, as for any task.
    outcome = execute(app, ClaimedTask("t-2", "add", '{"task_args": [1, 2, 3]}', 1))
    assert outcome.status is TaskStatus.INVALID


# -- the command line -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("[q1,q2]", ["q1", "q2"]),
        ('["q1", "q2"]', ["q1", "q2"]),
        ("['a', 'b']", ["a", "b"]),
        ("[DEFAULT]", ["DEFAULT"]),
        (" [a , b] ", ["a", "b"]),
    ],
)
def test_fire_queue_lists(value: str, expected: list[str]) -> None:
    assert parse_queue_list(value) == expected
    assert list(split_queues((value,))) == expected


@pytest.mark.parametrize("value", ["[q1,", "[]", "[a,,b]", "[a]]", "[['a']]", "['']"])
def test_broken_queue_lists_are_errors(value: str) -> None:
    with pytest.raises(QueueListError):
        parse_queue_list(value)
    with pytest.raises(click.BadParameter):
        split_queues((value,))


def test_queue_lists_mix_with_other_spellings() -> None:
    assert split_queues(("[a,b]", "c,a", "d e")) == ("a", "b", "c", "d", "e")


def peon_params(*args: str) -> dict[str, Any]:
    command = cli.commands["peon"]
    ctx = command.make_context("peon", list(args))
    return dict(ctx.params)


def test_peon_takes_0527_flags() -> None:
    params = peon_params(
        "--workcraft_path=tasks.workcraft",
        "--queues=[q1,q2]",
        "--load_db_config_from_env=False",
        "--db_host=h",
        "--db_password=",
        "--worker_id=w1",
    )
    assert params["workcraft_path"] == "tasks.workcraft"
    assert params["queues"] == ("[q1,q2]",)
    assert params["load_db_config_from_env"] is False
    assert params["db_host"] == "h" and params["db_password"] == ""
    assert params["worker_id"] == "w1"
    assert peon_params("tasks.workcraft")["workcraft_path_argument"] == "tasks.workcraft"


# -- which form a send / get call is ---------------------------------------------------------
class FakeApp:
    """Records the README call a 0.5.27 call was turned into; no database."""

    closed = 0

    def close(self) -> None:
        FakeApp.closed += 1

    @producer_method(SEND_0527)
    def send_task_sync(self, task_name: str, *args: Any, **kwargs: Any) -> Any:
        return ("readme", task_name, args, kwargs)

    @producer_method(GET_0527)
    def get_task_sync(self, task_id: str, db_config: DBConfig | None = None) -> Any:
        return None


def test_class_call_is_0527_and_uses_a_short_lived_app() -> None:
    before = FakeApp.closed
    with pytest.warns(DeprecationWarning, match="app.send_task_sync") as caught:
        sent = FakeApp.send_task_sync(
            db_config=CFG,
            payload=TaskPayload(task_args=[1], postrun_handler_args=["p"]),
            task_name="add",
            queue="q",
        )
        FakeApp.send_task_sync(CFG, TaskPayload(), "add")  # warned once only
    assert len(caught) == 1 and caught[0].filename == __file__
    assert FakeApp.closed == before + 2
    _, name, args, kwargs = sent
    assert name == "add"
    assert args == ([1], {}, [], {}, ["p"], {})
    assert kwargs == {"retry_on_failure": False, "db_config": CFG, "queue": "q", "retry_limit": 3}


def test_instance_calls_are_told_apart() -> None:
    app = FakeApp()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert app.send_task_sync("add", [1], db_config=CFG)[0] == "readme"
        assert app.send_task_sync(task_name="add", db_config=CFG)[0] == "readme"
        assert FakeApp.send_task_sync(app, "add", [1])[0] == "readme"  # unbound README call
        assert app.get_task_sync("t1", CFG) is None
        assert app.get_task_sync(task_id="t1", db_config=CFG) is None
    with pytest.warns(DeprecationWarning):
        assert app.send_task_sync(CFG, TaskPayload(task_args=[2]), "add")[2][0] == [2]
    with pytest.warns(DeprecationWarning):
        assert app.get_task_sync(CFG, "t1") is None


def test_0527_form_checks_its_arguments() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(TypeError, match="payload must be a TaskPayload"):
            FakeApp.send_task_sync(CFG, [1, 2], "add")
        with pytest.raises(TypeError, match="db_config must be a DBConfig"):
            FakeApp.send_task_sync(db_config="x", payload=TaskPayload(), task_name="add")
        with pytest.raises(TypeError, match=r"0\.5\.27's form"):
            FakeApp.send_task_sync(CFG, TaskPayload())


def test_the_old_handler_attributes_are_the_apps_handlers() -> None:
    app = Workcraft()

    def setup() -> None: ...

    def postrun(task_id: str, task_name: str, result: Any, status: Any) -> None: ...

    app.setup_handler_fn = setup  # 0.5.27 code assigns these directly
    assert app.handlers.setup is setup
    app.postrun_handler()(postrun)  # and reads what the README's decorators set
    assert app.postrun_handler_fn is postrun
    assert app.prerun_handler_fn is None
