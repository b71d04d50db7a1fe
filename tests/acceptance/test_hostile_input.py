"""Hostile input meets real processes: a peon claims and runs tasks with hostile names,
queues and worker ids (and nothing that merely looks alike), garbage rows written with raw
SQL become INVALID with a reason and never stop a peon, and the janitor sweeps rows with
hostile ids. (What a producer stores: ``tests/integration/test_hostile_input.py``.)
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.security_apps.hostile import HOSTILE_TASK_NAMES
from tests.support.procs import SECURITY_APP, ProcGroup
from tests.support.rows import result_of, task_row
from tests.support.security import (
    HOSTILE_SNIPPETS,
    SENTINEL_ID,
    SENTINEL_PEON,
    count_tasks,
    plant_sentinel,
    snapshot,
)
from tests.support.sql import Sql
from workcraft.core import Workcraft
from workcraft.db import DBConfig

# -- hostile task names and queues, claimed and run by a real peon ------------------------------
# --queues splits on commas and whitespace, so queue names given on the command line have none.
CLI_QUEUES = ("%s", "%(x)s", "{ids}", "q'\"\\`", "🎉\U0001d518", "--", "DEFAULT")


@pytest.mark.slow
def test_peon_claims_and_runs_tasks_with_hostile_names_and_queues(
    procs: ProcGroup, producer: Workcraft, sql: Sql, db_config: DBConfig
) -> None:
    before = plant_sentinel(sql)
    sent: dict[str, tuple[str, str, list[Any]]] = {}
    for index, name in enumerate(HOSTILE_TASK_NAMES):
        queue = CLI_QUEUES[index % len(CLI_QUEUES)]
        args = [name, HOSTILE_SNIPPETS[index % len(HOSTILE_SNIPPETS)]]
        task_id = producer.send_task_sync(name, args, db_config=db_config, queue=queue)
        sent[task_id] = (name, queue, args)

    peon = procs.peon(
        "hostile-names",
        "--burst",
        *(f"--queues={queue}" for queue in CLI_QUEUES),
        app=SECURITY_APP,
    )
    assert peon.wait(120) == 0, peon.describe()

    for task_id, (name, queue, args) in sent.items():
        row = task_row(sql, task_id)
        assert row["status"] == "SUCCESS", (name, row, peon.describe())
        assert row["task_name"] == name
        assert row["queue"] == queue
        assert row["worker_id"] == "hostile-names"
        assert result_of(row) == {"ran": name, "args": args, "kwargs": {}}
    assert snapshot(sql) == before
    assert count_tasks(sql) == 1 + len(sent)
    assert "Traceback" not in peon.output


# -- worker ids: stored literally through the real registration path ----------------------------
# NUL cannot travel in argv, so it is covered by the janitor test below (rows made in SQL).
HOSTILE_WORKER_IDS = (
    "'; DROP TABLE bountyboard; --",
    "%s",
    "%(x)s",
    "{ids}",
    "{names}",
    "quote ' double \" back \\ tick `",
    "émoji 🎉 \U0001d518\U0001d52b\U0001d526\U0001d520\U0001d52c\U0001d521\U0001d522",
    "line\nbreak\ttab",
    " padded ",
    "w" * 255,
)


@pytest.mark.slow
@pytest.mark.parametrize("worker_id", HOSTILE_WORKER_IDS, ids=range(len(HOSTILE_WORKER_IDS)))
def test_peon_registers_and_works_under_a_hostile_worker_id(
    procs: ProcGroup, producer: Workcraft, sql: Sql, db_config: DBConfig, worker_id: str
) -> None:
    before = plant_sentinel(sql)
    task_id = producer.send_task_sync("echo", [worker_id], db_config=db_config)

    peon = procs.peon(worker_id, "--burst", app=SECURITY_APP, name="peon")
    assert peon.wait(120) == 0, peon.describe()

    rows = sql.rows("SELECT * FROM peon WHERE id <> %s", (SENTINEL_PEON,))
    assert len(rows) == 1, rows
    assert rows[0]["id"] == worker_id
    assert rows[0]["status"] == "OFFLINE"
    assert rows[0]["tasks_done"] == 1
    row = task_row(sql, task_id)
    assert row["status"] == "SUCCESS", peon.describe()
    assert row["worker_id"] == worker_id
    assert result_of(row) == {"args": [worker_id], "kwargs": {}}
    assert snapshot(sql) == before


@pytest.mark.slow
def test_worker_ids_differing_only_by_trailing_space_are_different_peons(
    procs: ProcGroup, sql: Sql, db_config: DBConfig
) -> None:
    before = plant_sentinel(sql)
    for index, worker_id in enumerate(("twin", "twin ", "twin  ", "TWIN")):
        peon = procs.peon(worker_id, "--burst", app=SECURITY_APP, name=f"peon{index}")
        assert peon.wait(120) == 0, peon.describe()
        assert "taken over" not in peon.output

    ids = {
        str(row["id"]) for row in sql.rows("SELECT id FROM peon WHERE id <> %s", (SENTINEL_PEON,))
    }
    assert ids == {"twin", "twin ", "twin  ", "TWIN"}
    assert snapshot(sql) == before


@pytest.mark.slow
def test_names_and_queues_that_only_look_alike_are_never_claimed(
    procs: ProcGroup, producer: Workcraft, sql: Sql, db_config: DBConfig
) -> None:
    """A peon registered for 'pad' in DEFAULT claims exactly that, nothing that looks alike."""
    before = plant_sentinel(sql)
    exact = [
        producer.send_task_sync("pad", db_config=db_config),
        producer.send_task_sync("café", db_config=db_config),
    ]
    lookalikes = [
        ("pad ", "DEFAULT"),
        ("pad  ", "DEFAULT"),
        (" pad", "DEFAULT"),
        ("pad\t", "DEFAULT"),
        ("pad\n", "DEFAULT"),
        ("pad\x00", "DEFAULT"),
        ("PAD", "DEFAULT"),
        ("Pad", "DEFAULT"),
        ("\uff50\uff41\uff44", "DEFAULT"),  # fullwidth: equal to 'pad' under utf8mb4_unicode_ci
        ("pad\u200b", "DEFAULT"),  # zero-width space
        ("cafe\u0301", "DEFAULT"),  # NFD spelling of 'café'
        ("CAFÉ", "DEFAULT"),
        ("pad", "DEFAULT "),
        ("pad", "default"),
        ("pad", " DEFAULT"),
    ]
    # The API refuses queue names with white space (no --queues could name them); a
    # plain-SQL producer can still write one, and no peon may take it for DEFAULT.
    others = []
    for name, queue in lookalikes:
        if queue.strip() != queue:
            task_id = str(uuid.uuid4())
            sql.run(
                "INSERT INTO bountyboard (id, task_name, queue, payload) VALUES (%s, %s, %s, '{}')",
                (task_id, name, queue),
            )
            others.append(task_id)
        else:
            others.append(producer.send_task_sync(name, db_config=db_config, queue=queue))

    peon = procs.peon("exact", "--burst", app=SECURITY_APP)
    assert peon.wait(120) == 0, peon.describe()

    assert [task_row(sql, task_id)["status"] for task_id in exact] == ["SUCCESS", "SUCCESS"]
    assert result_of(task_row(sql, exact[0])) == "pad ran"
    assert result_of(task_row(sql, exact[1])) == "café ran"
    for task_id, (name, queue) in zip(others, lookalikes, strict=True):
        row = task_row(sql, task_id)
        assert (row["status"], row["worker_id"], row["attempt"]) == ("PENDING", None, 0), (
            name,
            queue,
        )
        assert (row["task_name"], row["queue"]) == (name, queue)
    assert snapshot(sql) == before


# -- 3. garbage rows written with raw SQL -------------------------------------------------------
# (task_name, payload as SQL text or None for NULL, what the reason must mention)
GARBAGE_ROWS: list[tuple[str, str | None, str]] = [
    ("echo", None, "NULL"),
    ("echo", "null", "NULL"),
    ("echo", "[1, 2, 3]", "array"),
    ("echo", '"just a string"', "string"),
    ("echo", "42", "number"),
    ("echo", "true", "boolean"),
    ("echo", '{"task_args": {"a": 1}}', "task_args"),
    ("echo", '{"task_args": "abc"}', "task_args"),
    ("echo", '{"task_args": 7}', "task_args"),
    ("echo", '{"task_kwargs": [1, 2]}', "task_kwargs"),
    ("echo", '{"task_kwargs": "x"}', "task_kwargs"),
    ("echo", '{"prerun_handler_args": {"not": "a list"}}', "prerun_handler_args"),
    ("echo", '{"postrun_handler_kwargs": 3}', "postrun_handler_kwargs"),
    ("strict", '{"task_args": [1, 2, 3]}', "strict"),
    ("strict", '{"task_args": [1]}', "strict"),
    ("strict", "{}", "strict"),
    ("strict", '{"task_kwargs": {"zzz": 1}}', "strict"),
    ("strict", '{"task_args": [1], "task_kwargs": {"a": 2, "b": 3}}', "strict"),
    ("strict", '{"task_kwargs": {"": 1, "a": 1, "b": 2}}', "strict"),
    ("strict", '{"task_kwargs": {"a b": 1, "a": 1, "b": 2}}', "strict"),
]


# (task_name, payload, expected result): good rows interleaved with the garbage.
GOOD_ROWS: list[tuple[str, str, Any]] = [
    ("echo", '{"task_args": [1, "two"]}', {"args": [1, "two"], "kwargs": {}}),
    ("strict", '{"task_args": [1], "task_kwargs": {"b": 2}}', [1, 2]),
    ("echo", "{}", {"args": [], "kwargs": {}}),
    (
        "echo",
        '  {"task_kwargs": {"a b": "c"}, "unknown_key": 1}  ',
        {"args": [], "kwargs": {"a b": "c"}},
    ),
    # Hostile handler kwargs make the handlers raise; the task's status is not affected.
    (
        "strict",
        '{"task_args": [1, 2], "prerun_handler_kwargs": {"task_id": "spoof"}, '
        '"postrun_handler_kwargs": {"result": "spoof", "status": "SUCCESS"}}',
        [1, 2],
    ),
    (
        "echo",
        '{"task_args": ["\\u0000", "\\ud83c\\udf89"]}',
        {"args": ["\x00", "🎉"], "kwargs": {}},
    ),
    ("echo", '{"task_args": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}', None),
]


@pytest.mark.slow
def test_garbage_rows_become_invalid_and_never_stop_the_peon(
    procs: ProcGroup, sql: Sql, db_config: DBConfig
) -> None:
    before = plant_sentinel(sql)
    garbage: dict[str, str] = {}
    good: dict[str, Any] = {}
    rows: list[tuple[str, str, str | None]] = []
    for index in range(max(len(GARBAGE_ROWS), len(GOOD_ROWS))):
        if index < len(GARBAGE_ROWS):
            name, payload, reason = GARBAGE_ROWS[index]
            rows.append((f"{index:08d}-0000-4000-8000-00000000bad0", name, payload))
            garbage[rows[-1][0]] = reason
        if index < len(GOOD_ROWS):
            name, payload, expected = GOOD_ROWS[index]
            rows.append((f"{index:08d}-0000-4000-8000-000000000600", name, payload))
            good[rows[-1][0]] = expected
    for position, (task_id, name, payload) in enumerate(rows):
        sql.run(
            "INSERT INTO bountyboard (id, task_name, payload, created_at) "
            "VALUES (%s, %s, %s, '2020-01-01' + INTERVAL %s SECOND)",
            (task_id, name, payload, position),
        )

    peon = procs.peon("garbage", "--burst", app=SECURITY_APP)
    assert peon.wait(120) == 0, peon.describe()

    for task_id, reason in garbage.items():
        row = task_row(sql, task_id)
        assert row["status"] == "INVALID", (row, peon.describe())
        result = result_of(row)
        assert result["error_type"] == "InvalidTask"
        assert reason in result["message"], (reason, result)
        assert row["worker_id"] == "garbage"
        assert row["finished_at"] is not None
    for task_id, expected in good.items():
        row = task_row(sql, task_id)
        assert row["status"] == "SUCCESS", (row, peon.describe())
        if expected is not None:
            assert result_of(row) == expected
    assert snapshot(sql) == before
    assert "Traceback (most recent call last)" not in peon.stdout


@pytest.mark.slow
def test_number_too_large_for_python_float_does_not_stop_the_peon(
    procs: ProcGroup, sql: Sql, db_config: DBConfig
) -> None:
    """1e400 passes JSON_VALID; Python reads it as inf. The task ends (FAILURE or INVALID)."""
    plant_sentinel(sql)
    sql.run(
        "INSERT INTO bountyboard (id, task_name, payload, created_at) VALUES "
        "('00000001-0000-4000-8000-000000000001', 'echo', '{\"task_args\": [1e400]}', "
        "'2020-01-01'), "
        "('00000002-0000-4000-8000-000000000002', 'echo', '{\"task_args\": [1]}', '2020-01-02')"
    )
    peon = procs.peon("bignum", "--burst", app=SECURITY_APP)
    assert peon.wait(120) == 0, peon.describe()
    assert task_row(sql, "00000001-0000-4000-8000-000000000001")["status"] in ("FAILURE", "INVALID")
    assert task_row(sql, "00000002-0000-4000-8000-000000000002")["status"] == "SUCCESS"


@pytest.mark.slow
@pytest.mark.parametrize("task_name", ["lone_surrogate", "deep_result"])
def test_a_result_the_database_cannot_store_fails_the_task_not_the_peon(
    procs: ProcGroup, producer: Workcraft, sql: Sql, db_config: DBConfig, task_name: str
) -> None:
    """A task returning text that is not valid Unicode (a lone surrogate, as os.fsdecode of a
    non-UTF-8 file name gives) or JSON nested deeper than the server's JSON columns take
    must end as FAILURE with a reason; the peon goes on to the next task and exits 0."""
    plant_sentinel(sql)
    bad = producer.send_task_sync(task_name, db_config=db_config)
    after = producer.send_task_sync("echo", ["next"], db_config=db_config)

    peon = procs.peon("unstorable", "--burst", app=SECURITY_APP)
    code = peon.wait(120)

    assert task_row(sql, bad)["status"] == "FAILURE", peon.describe()
    assert result_of(task_row(sql, bad))["message"]
    assert task_row(sql, after)["status"] == "SUCCESS", peon.describe()
    assert code == 0, peon.describe()


# -- janitor sweeps over hostile ids and names --------------------------------------------------
@pytest.mark.slow
def test_janitor_sweeps_rows_with_hostile_ids_and_names(
    procs: ProcGroup, sql: Sql, db_config: DBConfig
) -> None:
    before = plant_sentinel(sql)
    dead_ids = ["'; DROP TABLE peon; --", "nul\x00id", "%s{ids}", "🎉 \n dead", "dead "]
    for index, peon_id in enumerate(dead_ids):
        task_id = f"{index:08d}-0000-4000-8000-00000000dead"
        sql.run(
            "INSERT INTO peon (id, status, last_heartbeat, current_task, queues, session, "
            "concurrency, running_tasks) VALUES (%s, 'WORKING', NOW(6) - INTERVAL 1 HOUR, %s, "
            "'[\"DEFAULT\"]', UUID(), 1, 1)",
            (peon_id, task_id),
        )
        sql.run(
            "INSERT INTO bountyboard (id, task_name, status, worker_id, peon_session, attempt, "
            "started_at) SELECT %s, %s, 'RUNNING', id, session, 1, NOW(6) FROM peon WHERE id = %s",
            (task_id, HOSTILE_TASK_NAMES[index], peon_id),
        )
    # A live peon whose id equals a dead one's but for the trailing space: left alone.
    sql.run(
        "INSERT INTO peon (id, status, last_heartbeat, queues, session, concurrency) "
        "VALUES ('dead', 'IDLE', NOW(6), '[\"DEFAULT\"]', UUID(), 1)"
    )
    live = sql.rows("SELECT * FROM peon WHERE id = 'dead'")

    janitor = procs.workcraft("janitor", "--once", name="janitor")
    assert janitor.wait(120) == 0, janitor.describe()

    statuses = {
        str(row["id"]): row["status"]
        for row in sql.rows("SELECT id, status FROM peon WHERE id <> %s", (SENTINEL_PEON,))
    }
    assert statuses == {**{peon_id: "OFFLINE" for peon_id in dead_ids}, "dead": "IDLE"}
    tasks = sql.rows("SELECT status, worker_id FROM bountyboard WHERE id <> %s", (SENTINEL_ID,))
    assert [(row["status"], row["worker_id"]) for row in tasks] == [("PENDING", None)] * len(
        dead_ids
    )
    assert sql.rows("SELECT * FROM peon WHERE id = 'dead'") == live
    after = snapshot(sql)
    assert after["sentinel"] == before["sentinel"]
    assert after["peon"] == before["peon"]
    assert after["tables"] == before["tables"]
    assert after["logs"][0] == before["logs"][0]
