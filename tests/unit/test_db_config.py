"""``workcraft.db.get_db_config``: flags > environment > ``.env`` in cwd > defaults."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from workcraft.db import DBConfig, get_db_config
from workcraft.errors import ConfigError

ENV_NAMES = (
    "WK_DB_HOST",
    "WK_DB_PORT",
    "WK_DB_USER",
    "WK_DB_PASS",
    "WK_DB_NAME",
    "WK_DB_USE_SSL",
    "WK_DB_SSL_PATH",
)
SECRET = "S3cret-pw-xyz"


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """No WK_DB_* variables, cwd = an empty tmp_path.

    ``.env`` loading writes into ``os.environ`` behind monkeypatch's back; setting then
    deleting each name makes monkeypatch restore (i.e. remove) whatever ``.env`` added.
    """
    for name in ENV_NAMES:
        monkeypatch.setenv(name, "placeholder")
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    yield tmp_path


def write_dotenv(directory: Path, **values: str) -> None:
    lines = [f"{name}={value}" for name, value in values.items()]
    (directory / ".env").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_defaults(clean_env: Path) -> None:
    config = get_db_config()
    assert config == DBConfig()
    assert (config.host, config.port, config.user, config.password, config.database) == (
        "127.0.0.1",
        3306,
        "root",
        "",
        "workcraft",
    )
    assert config.use_ssl is False
    assert config.ssl_path is None


def test_seed_dotenv_is_read_from_cwd(clean_env: Path) -> None:
    # The seed README's .env, verbatim (quotes and empty values included).
    (clean_env / ".env").write_text(
        'WK_DB_HOST="db.example"\n'
        "WK_DB_PORT=3307\n"
        'WK_DB_USER="wk"\n'
        'WK_DB_PASS="workcraft"\n'
        'WK_DB_NAME="wkdb"\n'
        "WK_DB_USE_SSL=\n"
        "WK_DB_SSL_PATH=\n",
        encoding="utf-8",
    )
    config = get_db_config()
    assert config.host == "db.example"
    assert config.port == 3307
    assert config.user == "wk"
    assert config.password == "workcraft"
    assert config.database == "wkdb"
    assert config.use_ssl is False
    assert config.ssl_path is None


def test_environment_beats_dotenv(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_dotenv(clean_env, WK_DB_HOST="from-dotenv", WK_DB_NAME="dotenv_db", WK_DB_PORT="3307")
    monkeypatch.setenv("WK_DB_HOST", "from-env")
    config = get_db_config()
    assert config.host == "from-env"
    # Keys only in .env still come from it.
    assert config.database == "dotenv_db"
    assert config.port == 3307


def test_dotenv_never_overrides_a_real_variable(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_dotenv(clean_env, WK_DB_PASS="dotenv-pass", WK_DB_USER="dotenv-user")
    monkeypatch.setenv("WK_DB_PASS", "env-pass")
    get_db_config()
    assert os.environ["WK_DB_PASS"] == "env-pass"
    assert get_db_config().password == "env-pass"
    assert get_db_config().user == "dotenv-user"


def test_explicit_overrides_beat_environment_and_dotenv(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_dotenv(clean_env, WK_DB_HOST="from-dotenv", WK_DB_USER="dotenv-user")
    monkeypatch.setenv("WK_DB_HOST", "from-env")
    monkeypatch.setenv("WK_DB_PORT", "3307")
    config = get_db_config(host="from-flag", port=3308, database="flag_db")
    assert config.host == "from-flag"
    assert config.port == 3308
    assert config.database == "flag_db"
    assert config.user == "dotenv-user"


def test_none_overrides_fall_through(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WK_DB_HOST", "from-env")
    config = get_db_config(host=None, port=None, password=None)
    assert config.host == "from-env"
    assert config.port == 3306


def test_read_from_env_false_ignores_environment_and_dotenv(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_dotenv(clean_env, WK_DB_USER="dotenv-user")
    monkeypatch.setenv("WK_DB_HOST", "from-env")
    config = get_db_config(read_from_env=False, database="only_flag")
    assert config == DBConfig(database="only_flag")
    assert "WK_DB_USER" not in os.environ


def test_dotenv_in_a_parent_directory_is_not_read(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_dotenv(clean_env, WK_DB_HOST="parent-dotenv")
    child = clean_env / "child"
    child.mkdir()
    monkeypatch.chdir(child)
    assert get_db_config().host == "127.0.0.1"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", False),
        ("true", True),
        ("True", True),
        ("1", True),
        ("false", False),
        ("0", False),
    ],
)
def test_use_ssl_values(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, value: str, expected: bool
) -> None:
    monkeypatch.setenv("WK_DB_USE_SSL", value)
    assert get_db_config().use_ssl is expected


def test_empty_use_ssl_in_dotenv_is_off(clean_env: Path) -> None:
    write_dotenv(clean_env, WK_DB_USE_SSL="", WK_DB_SSL_PATH="")
    config = get_db_config()
    assert config.use_ssl is False
    assert config.ssl_path is None


@pytest.mark.parametrize("value", ["maybe", "yes please", "2"])
def test_garbage_use_ssl_is_a_config_error(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("WK_DB_USE_SSL", value)
    with pytest.raises(ConfigError, match="WK_DB_USE_SSL"):
        get_db_config()


def test_ssl_enabled_connect_kwargs(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WK_DB_USE_SSL", "true")
    assert get_db_config().connect_kwargs()["ssl_disabled"] is False
    monkeypatch.setenv("WK_DB_USE_SSL", "")
    assert get_db_config().connect_kwargs()["ssl_disabled"] is True


def test_missing_ssl_ca_file_is_a_config_error(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WK_DB_USE_SSL", "true")
    monkeypatch.setenv("WK_DB_SSL_PATH", str(clean_env / "missing-ca.pem"))
    with pytest.raises(ConfigError, match="WK_DB_SSL_PATH"):
        get_db_config()


@pytest.mark.parametrize("value", ["abc", "0", "70000"])
def test_bad_port_is_a_config_error(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("WK_DB_PORT", value)
    with pytest.raises(ConfigError, match="WK_DB_PORT"):
        get_db_config()


def test_empty_password_is_allowed(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WK_DB_PASS", "")
    assert get_db_config().password == ""
    write_dotenv(clean_env, WK_DB_PASS="")
    assert get_db_config().password == ""
    assert get_db_config(read_from_env=False, password="").password == ""


def test_password_never_in_repr_or_describe(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WK_DB_PASS", SECRET)
    config = get_db_config()
    assert config.password == SECRET
    assert SECRET not in repr(config)
    assert SECRET not in str(config)
    assert SECRET not in config.describe()
    assert SECRET not in repr(get_db_config(password=SECRET))


def test_password_not_in_config_error_messages(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WK_DB_PASS", SECRET)
    monkeypatch.setenv("WK_DB_USE_SSL", "garbage")
    with pytest.raises(ConfigError) as info:
        get_db_config()
    assert SECRET not in str(info.value)


def test_as_env_round_trips_through_get_db_config(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a parent hands a child process in WK_DB_* is read back as the same config."""
    original = DBConfig(
        host="db.example", port=3307, user="u", password="p w'\\", database="d", use_ssl=False
    )
    for name, value in original.as_env().items():
        monkeypatch.setenv(name, value)
    assert get_db_config() == original
