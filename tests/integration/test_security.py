"""Security in the test process: the password never shows in a config's repr or in an API
exception, and TLS is real (a private MariaDB with certificates made by ``openssl``).
(Processes, ``ps``, least privilege: ``tests/acceptance/test_security.py``.)
"""

from __future__ import annotations

import dataclasses
import traceback
from pathlib import Path

import pytest

from tests.support.net import free_port
from tests.support.private_server import PrivateServer
from tests.support.procs import child_env
from tests.support.security import TlsFiles, distinctive_secret, session_cipher, tls_env, use_env
from workcraft.core import Workcraft
from workcraft.data import RetryPolicy, Store
from workcraft.db import DBConfig, get_db_config
from workcraft.errors import DatabaseError, DatabaseUnavailable


# -- helpers ------------------------------------------------------------------------------------
def exception_text(exc: BaseException) -> str:
    """Everything a program could print about an exception, chained ones included."""
    parts = [str(exc), repr(exc), "".join(traceback.format_exception(exc))]
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        parts += [str(current), repr(current), repr(getattr(current, "args", ()))]
        current = current.__cause__ or current.__context__
    return "\n".join(parts)


# -- 4. credentials -----------------------------------------------------------------------------
def test_password_is_not_in_the_repr_of_the_config(
    secret_config: DBConfig, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret = secret_config.password
    monkeypatch.chdir(tmp_path)  # no .env from elsewhere
    for key, value in child_env(secret_config).items():
        if key.startswith("WK_DB_"):
            monkeypatch.setenv(key, value)
    from_env = get_db_config()
    assert from_env.password == secret
    from_flags = get_db_config(read_from_env=False, password=secret, user=secret_config.user)
    for config in (secret_config, from_env, from_flags):
        for text in (repr(config), str(config), f"{config}", f"{config!r}", config.describe()):
            assert secret not in text


def test_password_is_not_in_api_exceptions(secret_config: DBConfig, db_config: DBConfig) -> None:
    secret = secret_config.password
    wrong_password = distinctive_secret("wrong")
    app = Workcraft(retry=RetryPolicy(give_up_after=1.0))
    try:
        # The user works with its password...
        task_id = app.send_task_sync("echo", ["fine"], db_config=secret_config)
        task = app.get_task_sync(task_id, secret_config)
        assert task is not None
        # ...and the errors for a wrong password or an unreachable server never show it.
        wrong = dataclasses.replace(secret_config, password=wrong_password)
        unreachable = dataclasses.replace(secret_config, port=free_port())
        failures: list[BaseException] = []
        for config in (wrong, unreachable):
            with pytest.raises(DatabaseError) as sending:
                app.send_task_sync("echo", ["x"], db_config=config)
            with pytest.raises(DatabaseError) as reading:
                app.get_task_sync(task_id, config)
            failures += [sending.value, reading.value]
    finally:
        app.close()
    assert "access denied" in str(failures[0]).lower()
    assert isinstance(failures[2], DatabaseUnavailable)
    for failure in failures:
        text = exception_text(failure)
        assert secret not in text
        assert wrong_password not in text


# -- 5. TLS -------------------------------------------------------------------------------------
def test_tls_session_is_encrypted_with_the_configured_ca(
    tls_server: PrivateServer,
    tls_files: TlsFiles,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    config = use_env(monkeypatch, tmp_path, tls_env(tls_server.config("mysql"), tls_files.ca))
    assert config.use_ssl
    assert config.ssl_path == str(tls_files.ca)
    with Store(config, name="tls-check") as store:
        assert session_cipher(store) != ""
    # Without a CA (encrypt, do not verify) the session is encrypted too.
    no_ca = use_env(monkeypatch, tmp_path, tls_env(tls_server.config("mysql"), None))
    with Store(no_ca, name="tls-check") as store:
        assert session_cipher(store) != ""


def test_api_with_a_wrong_ca_raises_a_clear_tls_error(
    tls_server: PrivateServer, tls_files: TlsFiles
) -> None:
    config = dataclasses.replace(
        tls_server.config("wk_wrong_ca"), use_ssl=True, ssl_path=str(tls_files.wrong_ca)
    )
    app = Workcraft()
    try:
        with pytest.raises(DatabaseError) as info:
            app.send_task_sync("echo", db_config=config)
    finally:
        app.close()
    message = str(info.value)
    assert "certificate" in message.lower(), message
    # Not "cannot reach the database": retrying cannot fix a certificate.
    assert not isinstance(info.value, DatabaseUnavailable), message
