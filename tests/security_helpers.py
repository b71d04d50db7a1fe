"""Helpers for ``test_hostile_input.py`` and ``test_security.py``.

Hostile strings, temporary MySQL users (created and dropped by the test), self-made TLS
certificates (``openssl`` CLI), and one-shot ``python -m workcraft`` runs.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from conftest import admin_connection, server_config

from workcraft.db import DBConfig

SECURITY_APP = "security_apps.hostile.app"

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
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def _run_admin(server: DBConfig | None, statements: Sequence[tuple[str, tuple[Any, ...]]]) -> None:
    conn: Any = admin_connection(server or server_config())
    try:
        cur = conn.cursor()
        for statement, params in statements:
            cur.execute(statement, params)
    finally:
        conn.close()


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


# -- one-shot commands ---------------------------------------------------------------------------
def run_workcraft(
    *args: str, env: Mapping[str, str], cwd: Path, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``python -m workcraft ARGS`` to completion, output captured."""
    return subprocess.run(
        [sys.executable, "-m", "workcraft", *args],
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=timeout,
        check=False,
    )


def one_error_line(text: str) -> str:
    """The single line a failing command printed (no traceback, no noise)."""
    lines = [line for line in text.splitlines() if line.strip()]
    assert "Traceback" not in text, f"a traceback was printed:\n{text}"
    assert len(lines) == 1, f"expected exactly one line, got {len(lines)}:\n{text}"
    return lines[0]


def describe(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n--- stdout:\n{result.stdout}--- stderr:\n{result.stderr}"
