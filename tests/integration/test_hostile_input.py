"""Hostile input in the test process, against the real server.

Whatever a producer sends (quotes, backslashes, NUL, astral characters, SQL, the connector's
``%s`` and the library's own ``{ids}`` markers) is stored and returned literally, never turns
into SQL, and never touches another row; what cannot be stored is refused clearly at send
time; text that is not JSON never gets into the table. (Peons and janitors meeting hostile
rows: ``tests/acceptance/test_hostile_input.py``.)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import mysql.connector
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.support.security import (
    HOSTILE_SNIPPETS,
    SENTINEL_ID,
    canonical,
    count_tasks,
    json_depth,
    plant_sentinel,
    snapshot,
)
from tests.support.sql import Sql
from workcraft.core import Workcraft
from workcraft.db import DBConfig
from workcraft.errors import PayloadTooLarge, WorkcraftError
from workcraft.models import TaskStatus
from workcraft.payload import TaskSpec

# The examples re-arrange the tables themselves (plant_sentinel) at the start of each one, so
# sharing the function-scoped fixtures across the examples of one test is deliberate.
HYPOTHESIS = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# -- strategies ---------------------------------------------------------------------------------
snippets = st.sampled_from(HOSTILE_SNIPPETS)
# Text up to 255 characters (the column width): hostile snippets glued together, arbitrary
# unicode (hypothesis includes NUL and astral characters), and a snippet repeated to the limit.
names = (
    st.one_of(
        st.lists(st.one_of(snippets, st.text(max_size=8)), min_size=1, max_size=12).map("".join),
        st.text(min_size=1, max_size=255),
        st.tuples(snippets, st.integers(1, 255)).map(lambda pair: (pair[0] * 255)[: pair[1]]),
    )
    .map(lambda text: text[:255])
    .filter(bool)
)


def _commandline_safe(text: str) -> str:
    """The queue-name rule: no white space, commas or control characters, no '[' first or
    ']' last (those are refused at send time, tested below), so each stored queue can be
    named with --queues."""
    kept = "".join(ch for ch in text if ch.isprintable() and not ch.isspace() and ch != ",")
    return kept.lstrip("[").rstrip("]")


queues = names.map(_commandline_safe).filter(bool)
json_text = st.one_of(snippets, st.text(max_size=20), st.lists(snippets, max_size=4).map("".join))
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    # What MySQL 8's binary JSON holds exactly (MariaDB keeps the text anyway).
    st.integers(-(2**63), 2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0, -0.0, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 2**53 + 1]),
    json_text,
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(json_text, children, max_size=4)
    ),
    max_leaves=15,
)
task_args = st.lists(json_values, max_size=5)
task_kwargs = st.dictionaries(json_text, json_values, max_size=5)


# -- fixtures and helpers -----------------------------------------------------------------------
def assert_stored_literally(
    producer: Workcraft,
    sql: Sql,
    db_config: DBConfig,
    task_id: str,
    name: str,
    queue: str,
    payload: dict[str, Any],
) -> None:
    task = producer.get_task_sync(task_id, db_config)
    assert task is not None
    assert task.id == task_id
    assert task.task_name == name
    assert task.queue == queue
    assert canonical(task.payload) == canonical(payload)
    assert task.status is TaskStatus.PENDING
    assert task.worker_id is None
    # The database compares the stored values exactly (binary, no pad) with what was sent.
    found = sql.value(
        "SELECT COUNT(*) FROM bountyboard WHERE id = %s AND task_name = %s AND queue = %s",
        (task_id, name, queue),
    )
    assert found == 1


# -- 1. names, queues, args and kwargs are stored literally -------------------------------------
@HYPOTHESIS
@given(name=names, queue=queues, args=task_args, kwargs=task_kwargs, pre=task_args)
def test_send_task_sync_stores_hostile_values_literally(
    producer: Workcraft,
    sql: Sql,
    db_config: DBConfig,
    name: str,
    queue: str,
    args: list[Any],
    kwargs: dict[str, Any],
    pre: list[Any],
) -> None:
    assume(json_depth(args) <= 20 and json_depth(kwargs) <= 20 and json_depth(pre) <= 20)
    before = plant_sentinel(sql)

    task_id = producer.send_task_sync(
        name,
        args,
        task_kwargs=kwargs,
        prerun_handler_args=pre,
        postrun_handler_kwargs=kwargs,
        db_config=db_config,
        queue=queue,
    )

    payload = {
        "task_args": args,
        "task_kwargs": kwargs,
        "prerun_handler_args": pre,
        "postrun_handler_kwargs": kwargs,
    }
    assert_stored_literally(producer, sql, db_config, task_id, name, queue, payload)
    assert count_tasks(sql) == 2
    assert snapshot(sql) == before


@pytest.mark.parametrize(
    "queue",
    [
        "two words",
        "a,b",
        "tab\there",
        "new\nline",
        "nul\x00",
        "trailing ",
        "[a,b]",
        "[a",
        "b]",
        "nbsp\u00a0x",
    ],
)
def test_queue_names_no_command_line_can_carry_are_refused(
    producer: Workcraft, sql: Sql, db_config: DBConfig, queue: str
) -> None:
    """One rule: every stored queue can be named with --queues; others are refused, naming
    the queue, before anything is written."""
    with pytest.raises(ValueError, match=r"cannot be named on the command line|cannot begin with"):
        producer.send_task_sync("x", db_config=db_config, queue=queue)
    with pytest.raises(ValueError, match="queue"):
        producer.send_tasks_sync(
            [{"task_name": "x"}, {"task_name": "x", "queue": queue}], db_config=db_config
        )
    with pytest.raises(ValueError, match="queue"):
        producer.pause_queue_sync(queue, db_config)
    assert count_tasks(sql) == 0


@HYPOTHESIS
@given(
    items=st.lists(
        st.tuples(names, queues, task_args, task_kwargs, st.booleans()), min_size=1, max_size=6
    )
)
def test_send_tasks_sync_stores_hostile_batches_literally(
    producer: Workcraft,
    sql: Sql,
    db_config: DBConfig,
    items: list[tuple[str, str, list[Any], dict[str, Any], bool]],
) -> None:
    assume(all(json_depth(args) <= 20 and json_depth(kw) <= 20 for _, _, args, kw, _ in items))
    before = plant_sentinel(sql)
    specs: list[TaskSpec | dict[str, Any]] = [
        TaskSpec(name, args, kwargs, queue=queue)
        if as_spec
        else {"task_name": name, "task_args": args, "task_kwargs": kwargs, "queue": queue}
        for name, queue, args, kwargs, as_spec in items
    ]

    ids = producer.send_tasks_sync(specs, db_config=db_config)

    assert len(ids) == len(set(ids)) == len(items)
    for task_id, (name, queue, args, kwargs, _) in zip(ids, items, strict=True):
        payload = {"task_args": args, "task_kwargs": kwargs}
        assert_stored_literally(producer, sql, db_config, task_id, name, queue, payload)
    assert count_tasks(sql) == 1 + len(items)
    assert snapshot(sql) == before


@HYPOTHESIS
@given(task_id=st.one_of(names, st.just(SENTINEL_ID + "' OR '1'='1")))
def test_get_task_sync_with_a_hostile_id_finds_nothing(
    producer: Workcraft, sql: Sql, db_config: DBConfig, task_id: str
) -> None:
    before = plant_sentinel(sql)
    assert producer.get_task_sync(task_id, db_config) is None
    assert snapshot(sql) == before
    assert count_tasks(sql) == 1


# -- 2. payloads larger than max_allowed_packet -------------------------------------------------
@pytest.mark.parametrize(
    ("label", "char"),
    [("ascii", "x"), ("two-byte", "é"), ("three-byte", "€"), ("four-byte", "🎉")],
)
def test_payload_larger_than_max_allowed_packet_is_refused_at_send_time(
    producer: Workcraft, sql: Sql, db_config: DBConfig, label: str, char: str
) -> None:
    before = plant_sentinel(sql)
    limit = int(str(sql.value("SELECT @@max_allowed_packet")))
    # Fewer characters than the limit, more bytes than it (for the multibyte ones).
    text = char * (limit // len(char.encode("utf-8")) + 1)
    assert len(text.encode("utf-8")) > limit

    with pytest.raises(PayloadTooLarge) as single:
        producer.send_task_sync("big-args", [text], db_config=db_config)
    with pytest.raises(PayloadTooLarge) as keyed:
        producer.send_task_sync("big-kwargs", task_kwargs={"k": text}, db_config=db_config)
    with pytest.raises(PayloadTooLarge) as batch:
        producer.send_tasks_sync(
            [TaskSpec("small-1"), TaskSpec("big-batch", [text]), TaskSpec("small-2")],
            db_config=db_config,
        )

    for info, name in ((single, "big-args"), (keyed, "big-kwargs"), (batch, "big-batch")):
        message = str(info.value)
        assert "max_allowed_packet" in message
        assert name in message
        assert len(message) < 500, "the message must not echo the payload"
    assert count_tasks(sql) == 1, "nothing of a refused batch is inserted"
    assert snapshot(sql) == before
    # The producer's connection is still usable afterwards.
    task_id = producer.send_task_sync("after", ["ok"], db_config=db_config)
    assert_stored_literally(
        producer,
        sql,
        db_config,
        task_id,
        "after",
        "DEFAULT",
        {"task_args": ["ok"], "task_kwargs": {}},
    )


def _near_limit_cases(limit: int) -> Iterator[tuple[str, str]]:
    """Generated one at a time: each is up to max_allowed_packet bytes."""
    overhead = len(json.dumps({"task_args": [""], "task_kwargs": {}}))
    for gap in (400, 300, 200, 160, 140, 120, 100, 60, 20, 0):
        yield f"ascii, JSON {gap} bytes under the limit", "x" * (limit - overhead - gap)
    # JSON text well under the limit that the SQL statement inflates (\' and \\ escapes).
    yield "quotes, 0.6 x limit", "'" * int(limit * 0.6)
    yield "backslashes, 0.3 x limit (4 bytes each once escaped)", "\\" * int(limit * 0.3)
    yield "NUL, 0.2 x limit", "\x00" * int(limit * 0.2)


@pytest.mark.slow
def test_payloads_near_max_allowed_packet_are_stored_or_refused_clearly(
    producer: Workcraft, sql: Sql, db_config: DBConfig
) -> None:
    """Every payload is either stored literally or refused with PayloadTooLarge at send time,
    never sent to the server to fail there ("Got a packet bigger than ...")."""
    before = plant_sentinel(sql)
    limit = int(str(sql.value("SELECT @@max_allowed_packet")))
    wrong: list[str] = []
    for label, text in _near_limit_cases(limit):
        try:
            task_id = producer.send_task_sync("near-limit", [text], db_config=db_config)
        except PayloadTooLarge:
            continue
        except WorkcraftError as exc:
            wrong.append(f"{label}: {type(exc).__name__}: {exc}")
            continue
        task = producer.get_task_sync(task_id, db_config)
        assert task is not None
        assert task.task_args == [text], label
        sql.run("DELETE FROM bountyboard WHERE id = %s", (task_id,))
    assert snapshot(sql) == before
    assert not wrong, "payloads that reached the server and failed there:\n" + "\n".join(wrong)


# -- arguments nested too deep ------------------------------------------------------------------
def _nested(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = [value]
    return value


def test_arguments_nested_deeper_than_the_server_allows_are_refused_clearly(
    producer: Workcraft, sql: Sql, db_config: DBConfig
) -> None:
    """MariaDB's JSON_VALID (the JSON column's CHECK) refuses nesting of 32 levels; MySQL 8
    allows 100. Deep arguments are stored literally or refused with ValueError/TypeError,
    never a DatabaseError about a CHECK constraint."""
    before = plant_sentinel(sql)
    shallow = _nested(25)
    task_id = producer.send_task_sync("deep", [shallow], db_config=db_config)
    assert_stored_literally(
        producer,
        sql,
        db_config,
        task_id,
        "deep",
        "DEFAULT",
        {"task_args": [shallow], "task_kwargs": {}},
    )
    sql.run("DELETE FROM bountyboard WHERE id = %s", (task_id,))

    for depth in (30, 40, 200):
        deep = _nested(depth)
        try:
            task_id = producer.send_task_sync("deep", [deep], db_config=db_config)
        except (ValueError, TypeError) as exc:
            assert not isinstance(exc, WorkcraftError)
            continue
        except WorkcraftError as exc:
            pytest.fail(f"depth {depth}: {type(exc).__name__}: {exc}")
        task = producer.get_task_sync(task_id, db_config)
        assert task is not None
        assert task.task_args == [deep]
        sql.run("DELETE FROM bountyboard WHERE id = %s", (task_id,))
    assert snapshot(sql) == before


# -- 3. garbage written with raw SQL ------------------------------------------------------------
@pytest.mark.parametrize("text", ["not json", "{bad", "", "{'single': 'quotes'}", "NaN", "[1,]"])
def test_text_that_is_not_json_is_refused_by_the_database(sql: Sql, text: str) -> None:
    before = plant_sentinel(sql)
    with pytest.raises(mysql.connector.Error):
        sql.run(
            "INSERT INTO bountyboard (id, task_name, payload) VALUES (UUID(), 'echo', %s)",
            (text,),
        )
    assert count_tasks(sql) == 1
    assert snapshot(sql) == before
