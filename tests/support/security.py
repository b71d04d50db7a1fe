"""For the hostile-input and security tests: hostile strings, sentinel rows nothing may
touch, throw-away MySQL users, self-made TLS certificates (``openssl`` CLI) and the
environment a TLS client is started with.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import subprocess
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.support.procs import child_env
from tests.support.sql import Sql, server_config
from workcraft.data import Store
from workcraft.db import DBConfig, get_db_config

if TYPE_CHECKING:  # only the type: bench imports this package without pytest
    import pytest

# Strings that break naive quoting or formatting: SQL, the connector's %-placeholders, the
# library's own {ids}/{names} markers, escapes MySQL treats specially (\0, \Z, quotes,
# backslash), control characters, astral-plane characters, bidi/BOM marks.
HOSTILE_SNIPPETS: tuple[str, ...] = (
    "'; DROP TABLE bountyboard; --",
    '"; DELETE FROM peon; --',
    "%s",
    "%(x)s",
    "%%",
    "{ids}",
    "{names}",
    "{0}",
    "'",
    '"',
    "\\",
    "\\'",
    "`",
    "\x00",
    "\x1a",
    "\n",
    "\r\n",
    "\t",
    " ",
    "/*",
    "*/",
    "-- ",
    "#",
    "é",
    "e\u0301",
    "🎉",
    "\U0001d518\U0001d52b\U0001d526\U0001d520\U0001d52c\U0001d521\U0001d522",
    "\u202e",
    "\ufeff",
    "\u2028",
)


def json_depth(value: Any) -> int:
    """How deeply lists and objects nest in a JSON value."""
    if isinstance(value, list):
        return 1 + max((json_depth(item) for item in value), default=0)
    if isinstance(value, dict):
        return 1 + max((json_depth(item) for item in value.values()), default=0)
    return 0


def canonical(value: Any) -> str:
    """JSON text that tells 1 from 1.0 from True, and -0.0 from 0.0."""
    return json.dumps(value, sort_keys=True, ensure_ascii=True, allow_nan=False)


def distinctive_secret(label: str = "pw") -> str:
    """A password no log line could contain by accident."""
    return f"Wk{label}-{uuid.uuid4().hex}-Zq"


def unique_user(prefix: str = "wks") -> str:
    """A user name no other test uses."""
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def _run_admin(server: DBConfig | None, statements: Sequence[tuple[str, tuple[Any, ...]]]) -> None:
    with Sql(server or server_config(), with_database=False) as sql:
        for statement, params in statements:
            sql.run(statement, params)


@contextlib.contextmanager
def mysql_user(
    password: str,
    grants: Sequence[tuple[str, str]],
    server: DBConfig | None = None,
    name: str | None = None,
    require_ssl: bool = False,
) -> Iterator[str]:
    """A user ``name@'%'`` with ``grants`` = [(privileges, object)], dropped afterwards.

    ``object`` is written as SQL (``\\`db\\`.*`` or ``\\`db\\`.\\`table\\```); the user
    name and password are always parameters.
    """
    user = name or unique_user()
    create = "CREATE USER %s@'%%' IDENTIFIED BY %s" + (" REQUIRE SSL" if require_ssl else "")
    statements: list[tuple[str, tuple[Any, ...]]] = [(create, (user, password))]
    for privileges, target in grants:
        statements.append((f"GRANT {privileges} ON {target} TO %s@'%%'", (user,)))
    _run_admin(server, statements)
    try:
        yield user
    finally:
        _run_admin(server, [("DROP USER IF EXISTS %s@'%%'", (user,))])


def run_sql(server: DBConfig, statements: Sequence[str]) -> None:
    """Execute ``statements`` on ``server`` as its admin, no default database."""
    _run_admin(server, [(statement, ()) for statement in statements])


# -- TLS material ------------------------------------------------------------------------------
def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(
        ["openssl", *args],
        cwd=cwd,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        timeout=120,
    )


def make_ca(directory: Path, name: str) -> tuple[Path, Path]:
    """A self-signed CA: (certificate, key)."""
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        str(key),
        "-out",
        str(cert),
        "-days",
        "3",
        "-subj",
        f"/CN=workcraft test {name}",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
        cwd=directory,
    )
    return cert, key


def make_server_cert(directory: Path, ca_cert: Path, ca_key: Path) -> tuple[Path, Path]:
    """A server certificate for 127.0.0.1 signed by the CA: (certificate, key)."""
    directory.mkdir(parents=True, exist_ok=True)
    cert, key, csr = directory / "server.pem", directory / "server.key", directory / "server.csr"
    ext = directory / "server.ext"
    ext.write_text(
        "subjectAltName=IP:127.0.0.1\n"
        "basicConstraints=CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\n",
        encoding="utf-8",
    )
    _openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        str(key),
        "-out",
        str(csr),
        "-subj",
        "/CN=127.0.0.1",
        cwd=directory,
    )
    _openssl(
        "x509",
        "-req",
        "-in",
        str(csr),
        "-CA",
        str(ca_cert),
        "-CAkey",
        str(ca_key),
        "-CAcreateserial",
        "-out",
        str(cert),
        "-days",
        "3",
        "-extfile",
        str(ext),
        cwd=directory,
    )
    return cert, key


@dataclasses.dataclass(frozen=True)
class TlsFiles:
    """A CA, a server certificate and key it signed, and a second CA that signed nothing."""

    ca: Path
    cert: Path
    key: Path
    wrong_ca: Path


def make_tls_files(root: Path) -> TlsFiles:
    """Everything the TLS tests need, made under ``root`` (openssl, a second or two)."""
    ca, ca_key = make_ca(root / "ca", "ca")
    cert, key = make_server_cert(root / "server", ca, ca_key)
    wrong_ca, _ = make_ca(root / "other", "other-ca")
    return TlsFiles(ca, cert, key, wrong_ca)


def tls_env(config: DBConfig, ca: Path | None) -> dict[str, str]:
    """A child's environment for ``config`` with TLS on, verifying with ``ca`` (None: encrypt
    without verifying)."""
    env = child_env(config)
    env["WK_DB_USE_SSL"] = "true"
    env["WK_DB_SSL_PATH"] = str(ca) if ca is not None else ""
    return env


def use_env(monkeypatch: pytest.MonkeyPatch, cwd: Path, env: dict[str, str]) -> DBConfig:
    """``get_db_config()`` as a program started in ``cwd`` with ``env`` would build it."""
    monkeypatch.chdir(cwd)
    for key, value in env.items():
        if key.startswith("WK_DB_"):
            monkeypatch.setenv(key, value)
    return get_db_config()


def session_cipher(store: Store) -> str:
    """The TLS cipher of the Store's own session ("" when unencrypted)."""
    return store.call(lambda q: q.schema.session_cipher())


def one_error_line(text: str) -> str:
    """The single line a failing command printed (no traceback, no noise)."""
    lines = [line for line in text.splitlines() if line.strip()]
    assert "Traceback" not in text, f"a traceback was printed:\n{text}"
    assert len(lines) == 1, f"expected exactly one line, got {len(lines)}:\n{text}"
    return lines[0]


# -- sentinel rows ------------------------------------------------------------------------------
SENTINEL_ID = "00000000-0000-4000-8000-00000000beef"
SENTINEL_PEON = "sentinel-peon"


def plant_sentinel(sql: Sql) -> dict[str, Any]:
    """Empty tables plus one row in each that nothing in the test may change."""
    for table in ("bountyboard", "peon", "logs"):
        sql.run(f"DELETE FROM {table}")
    sql.run(
        "INSERT INTO bountyboard (id, task_name, queue, payload, status, result, "
        "retry_on_failure, retry_count, retry_limit, created_at) VALUES "
        "(%s, 'sentinel-not-registered', 'DEFAULT', %s, 'PENDING', %s, 1, 2, 5, "
        "'2001-02-03 04:05:06.789012')",
        (SENTINEL_ID, '{"task_args": ["keep me"]}', '{"previous": "result"}'),
    )
    sql.run(
        "INSERT INTO peon (id, status, queues, last_heartbeat) VALUES "
        # OFFLINE for an hour: younger than the retention sweep's KEEP_OFFLINE_PEONS_DAYS.
        "(%s, 'OFFLINE', '[\"DEFAULT\"]', NOW(6) - INTERVAL 1 HOUR)",
        (SENTINEL_PEON,),
    )
    sql.run("INSERT INTO logs (message) VALUES ('sentinel log line')")
    return snapshot(sql)


def snapshot(sql: Sql) -> dict[str, Any]:
    """The sentinel rows, every log line and the table list: equal snapshots before and
    after mean nothing outside the test's own rows was touched."""
    return {
        "sentinel": sql.rows("SELECT * FROM bountyboard WHERE id = %s", (SENTINEL_ID,)),
        "peon": sql.rows("SELECT * FROM peon WHERE id = %s", (SENTINEL_PEON,)),
        "logs": sql.rows("SELECT * FROM logs ORDER BY id"),
        "tables": sql.rows(
            "SELECT TABLE_NAME FROM information_schema.TABLES "
            "WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME"
        ),
    }


def count_tasks(sql: Sql) -> int:
    return int(str(sql.value("SELECT COUNT(*) FROM bountyboard")))
