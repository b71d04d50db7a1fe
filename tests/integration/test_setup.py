"""``setup_database_tables`` in the test process (the command line end to end:
``tests/acceptance/test_setup.py``; the claim query on the schema it makes:
``tests/integration/test_claim_order.py``)."""

from __future__ import annotations

from tests.support.schema import ALL_TABLES, schema_snapshot
from workcraft.data.migrate import setup_database_tables
from workcraft.db import DBConfig


def test_setup_in_process_is_idempotent(empty_db_config: DBConfig) -> None:
    first = setup_database_tables(empty_db_config)
    assert first.database_created
    assert set(ALL_TABLES) <= set(first.tables_created)
    before = schema_snapshot(empty_db_config.database)
    second = setup_database_tables(empty_db_config)
    assert not second.changed
    assert schema_snapshot(empty_db_config.database) == before
