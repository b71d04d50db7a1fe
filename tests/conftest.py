"""Shared fixtures, and the layers the suite is made of. The helpers live in ``tests/support``.

Every test that needs a database gets one of its own on the real server (never mocked):
``db_config`` is a database per pytest-xdist worker with the workcraft tables, emptied before
each test; ``empty_db_config`` is a brand-new name with nothing in it, dropped afterwards.

Layers, by directory (each test also gets the marker of its layer, e.g. ``-m unit``):
``unit`` has no database and no processes, ``integration`` has the real database with the
code under test in the test process, ``acceptance`` runs real processes and sends real
signals. A test that asks for a fixture its layer may not use is a collection error.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.private_server import PrivateServer, init_datadir
from tests.support.procs import ProcGroup
from tests.support.security import TlsFiles, distinctive_secret, make_tls_files, mysql_user
from tests.support.settings import write_settings
from tests.support.sql import Sql, admin_connection, drop_database, server_config, unique_db_name
from workcraft.core import Workcraft
from workcraft.data.ddl import quote_identifier
from workcraft.data.migrate import setup_database_tables
from workcraft.data.schema import TABLES
from workcraft.db import DBConfig

TESTS_DIR = Path(__file__).resolve().parent
# Every table but the schema version, emptied before each test that uses ``db_config``.
TABLES_TO_EMPTY = tuple(table.name for table in TABLES if table.name != "workcraft_schema")

# -- layers ---------------------------------------------------------------------------------------
LAYERS = ("unit", "integration", "acceptance")
DATABASE_FIXTURES = frozenset(
    {
        "worker_db_config",
        "db_config",
        "empty_db_config",
        "sql",
        "open_sql",
        "mariadb_template",
        "private_server",
        "private_db",
        "secret_config",
        "tls_server",
    }
)
PROCESS_FIXTURES = frozenset({"proc_groups", "procs"})
FORBIDDEN = {
    "unit": DATABASE_FIXTURES | PROCESS_FIXTURES,
    "integration": PROCESS_FIXTURES,
    "acceptance": frozenset(),
}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--soak", action="store_true", help="run the 10-minute soak (make soak); skipped otherwise"
    )
    parser.addoption(
        "--cluster",
        action="store_true",
        help="also run the tests marked cluster, which start a private 3-node Galera "
        "cluster (`make test-cluster`); without it they are deselected",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test with its layer; refuse a test outside the layers or one that uses a
    fixture its layer must not (a database in ``unit``, processes in ``integration``).
    Tests marked ``cluster`` run only with ``--cluster``."""
    if not config.getoption("--cluster"):
        cluster = [item for item in items if item.get_closest_marker("cluster")]
        if cluster:
            config.hook.pytest_deselected(items=cluster)
            items[:] = [item for item in items if not item.get_closest_marker("cluster")]
    problems = []
    skip_soak = pytest.mark.skip(reason="the soak runs with --soak (make soak)")
    for item in items:
        if "soak" in item.keywords and not config.getoption("--soak"):
            item.add_marker(skip_soak)
        parts = item.path.resolve().relative_to(TESTS_DIR).parts
        layer = parts[0] if len(parts) > 1 else ""
        if layer not in LAYERS:
            problems.append(f"{item.nodeid}: not in tests/{{{','.join(LAYERS)}}}/")
            continue
        item.add_marker(getattr(pytest.mark, layer))
        used = FORBIDDEN[layer].intersection(getattr(item, "fixturenames", ()))
        if used:
            problems.append(f"{item.nodeid}: a {layer} test uses {', '.join(sorted(used))}")
    if problems:
        raise pytest.UsageError("tests in the wrong layer:\n" + "\n".join(problems))


# -- outcome of the running test (for teardowns that print logs only on failure) ------------------
PHASE_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    item.stash.setdefault(PHASE_REPORTS, {})[report.when] = report
    return report


def has_failed(node: pytest.Item) -> bool:
    """Whether the test's setup or call has failed (asked during its teardown)."""
    return any(report.failed for report in node.stash.get(PHASE_REPORTS, {}).values())


# -- databases ------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def worker_db_config() -> Iterator[DBConfig]:
    config = server_config(unique_db_name("wkw"))
    setup_database_tables(config)
    yield config
    drop_database(config.database)


@pytest.fixture
def db_config(worker_db_config: DBConfig) -> DBConfig:
    """The worker's database with the workcraft tables, emptied for this test."""
    with Sql(worker_db_config) as sql:
        for table in TABLES_TO_EMPTY:
            sql.run("DELETE FROM " + quote_identifier(table))
    return worker_db_config


@pytest.fixture
def empty_db_config() -> Iterator[DBConfig]:
    """A database name nobody uses (the database does not exist); dropped afterwards."""
    config = server_config(unique_db_name())
    yield config
    drop_database(config.database)


@pytest.fixture
def sql(db_config: DBConfig) -> Iterator[Sql]:
    """Raw SQL on ``db_config``, for arranging and checking rows."""
    helper = Sql(db_config)
    yield helper
    helper.close()


@pytest.fixture
def open_sql() -> Iterator[Callable[..., Sql]]:
    """``open_sql(config, reconnect_for=0)`` -> an ``Sql`` on any database; all closed in
    teardown."""
    opened: list[Sql] = []

    def make(config: DBConfig, reconnect_for: float = 0.0) -> Sql:
        helper = Sql(config, reconnect_for=reconnect_for)
        opened.append(helper)
        return helper

    yield make
    for helper in opened:
        helper.close()


# -- the library in the test process --------------------------------------------------------------
@pytest.fixture
def producer() -> Iterator[Workcraft]:
    """An app for enqueueing from the test process (its connections closed afterwards)."""
    app = Workcraft()
    yield app
    app.close()


# -- processes ------------------------------------------------------------------------------------
@pytest.fixture
def proc_groups(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[..., ProcGroup]]:
    """``proc_groups(db_config, **options)`` -> a ``ProcGroup`` working in ``tmp_path``.

    Every group is stopped in teardown; if the test failed, the children's logs are printed
    (pytest shows them as "Captured stdout teardown")."""
    groups: list[ProcGroup] = []

    def make(db_config: DBConfig | None = None, **options: Any) -> ProcGroup:
        group = ProcGroup(tmp_path, db_config, **options)
        groups.append(group)
        return group

    yield make
    for group in groups:
        group.stop_all()
    if has_failed(request.node):
        for group in groups:
            print(group.describe())


@pytest.fixture
def procs(proc_groups: Callable[..., ProcGroup], tmp_path: Path, db_config: DBConfig) -> ProcGroup:
    """Peons (``tests/apps/basic.py`` by default) on ``db_config`` with the ``FAST``
    settings in ``tmp_path``; all stopped afterwards."""
    write_settings(tmp_path)
    return proc_groups(db_config)


# -- private servers ------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def mariadb_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An initialised, never-started data directory, copied by each private server."""
    template = tmp_path_factory.mktemp("mariadb-template") / "data"
    init_datadir(template)
    return template


@pytest.fixture
def private_server(mariadb_template: Path) -> Iterator[PrivateServer]:
    """A MariaDB of the test's own on a free port: stop/start it freely."""
    server = PrivateServer(mariadb_template)
    server.start()
    yield server
    server.close()


@pytest.fixture
def private_db(private_server: PrivateServer) -> DBConfig:
    """The workcraft tables on the test's own server (database ``workcraft``)."""
    config = private_server.config("workcraft")
    setup_database_tables(config)
    return config


# -- security -------------------------------------------------------------------------------------
@pytest.fixture
def secret_config(db_config: DBConfig) -> Iterator[DBConfig]:
    """The test database, reached as a user of its own with a distinctive password."""
    secret = distinctive_secret()
    with mysql_user(secret, [("ALL PRIVILEGES", f"`{db_config.database}`.*")]) as user:
        yield dataclasses.replace(db_config, user=user, password=secret)


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A CA, a server certificate it signed, and an unrelated CA (made once per worker)."""
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def tls_server(mariadb_template: Path, tls_files: TlsFiles) -> Iterator[PrivateServer]:
    """A private server with TLS (``tls_files``), shared by the TLS tests of a worker."""
    server = PrivateServer(mariadb_template, tls=(tls_files.ca, tls_files.cert, tls_files.key))
    server.start(timeout=120)
    try:
        conn: Any = admin_connection(server.config("mysql"))
        try:
            cur = conn.cursor()
            cur.execute("SHOW VARIABLES LIKE 'have_ssl'")
            assert cur.fetchall() == [("have_ssl", "YES")], "the private server has no TLS"
        finally:
            conn.close()
        yield server
    finally:
        server.close()
