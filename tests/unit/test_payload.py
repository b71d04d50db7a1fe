"""The producer's per-row work: payload checks, ids, the row's size on the wire, and the
multi-row INSERT text. No database."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from workcraft.app.producer import _STATEMENT_OVERHEAD, _row_bytes
from workcraft.data.queries import multi_row, statement
from workcraft.data.tasks import TaskRow
from workcraft.ids import new_task_id
from workcraft.payload import MAX_JSON_DEPTH, check_queue, encode_json


def nested(depth: int) -> Any:
    value: Any = 1  # a scalar is one level
    for _ in range(depth - 1):
        value = [value]
    return value


def test_nesting_up_to_the_limit_is_stored_and_beyond_it_refused() -> None:
    assert encode_json("x", nested(MAX_JSON_DEPTH)).startswith("[" * (MAX_JSON_DEPTH - 1))
    with pytest.raises(ValueError, match="nested deeper than 31 levels"):
        encode_json("x", nested(MAX_JSON_DEPTH + 1))


def test_brackets_inside_strings_are_not_nesting() -> None:
    text = encode_json("x", {"a": "[" * 100 + "{" * 100, "b": [[1], [2], [3]] * 20})
    assert text.count("[") > MAX_JSON_DEPTH


def test_a_bad_queue_name_is_refused_every_time() -> None:
    for _ in range(3):
        with pytest.raises(ValueError, match="cannot be named on the command line"):
            check_queue("two words")
    assert check_queue("reports") == "reports"
    assert check_queue("reports") == "reports"
    with pytest.raises(TypeError):
        check_queue(["not", "a", "string"])


def test_task_ids_are_uuid7_text_in_the_order_they_were_made() -> None:
    ids = [new_task_id() for _ in range(200)]
    for task_id in ids:
        parsed = uuid.UUID(task_id)
        assert str(parsed) == task_id
        assert parsed.version == 7
        assert parsed.variant == uuid.RFC_4122
    assert ids == sorted(ids)
    assert new_task_id(now_ns=0).startswith("00000000-0000-7000-")


def _reference_row_bytes(row: TaskRow) -> int:
    """Per value: its UTF-8 bytes, one escape byte per quote or backslash, 4 bytes around."""
    size = 0
    for value in row:
        text = str(value)
        size += len(text.encode("utf-8")) + text.count("'") + text.count("\\") + 4
    return size + _STATEMENT_OVERHEAD


@pytest.mark.parametrize(
    "payload",
    ['{"task_args": [], "task_kwargs": {}}', '"it\'s\\\\ 🎉 ünï"', "'" * 50 + "\\" * 50, "\0x"],
)
def test_row_size_counts_bytes_and_escapes(payload: str) -> None:
    row = TaskRow(new_task_id(), "tâsk", "q'", payload, 0, 3, 0, None, 0, None, 1.5, "k\\", 2)
    assert _row_bytes(row) == _reference_row_bytes(row)


def test_the_insert_statement_splits_around_its_values_row() -> None:
    head, row, tail = multi_row(statement("insert_task"))
    assert head.rstrip().endswith(b"VALUES")
    assert row.sql.startswith(b"(") and row.sql.endswith(b")")
    assert b"COALESCE(FROM_UNIXTIME(%s), NOW(6) + INTERVAL %s MICROSECOND)" in row.sql
    assert len(row.parts) - 1 == len(TaskRow._fields)
    assert tail.strip() == b"ON DUPLICATE KEY UPDATE unique_key = unique_key"


def test_a_statement_without_a_values_row_is_refused() -> None:
    with pytest.raises(ValueError, match="not an INSERT"):
        multi_row("UPDATE t SET a = %s")
    with pytest.raises(ValueError, match="unbalanced"):
        multi_row("INSERT INTO t (a) VALUES (COALESCE(%s, 1)")
