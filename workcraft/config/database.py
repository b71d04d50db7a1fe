"""Connection settings (``DBConfig``) and opening a connection.

Precedence: explicit values (flags) > environment > ``.env`` in the working directory >
defaults. The password is kept out of ``repr`` so it never reaches a log or a traceback.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

from workcraft.config.booleans import parse_bool
from workcraft.errors import ConfigError

ENV_PREFIX = "WK_DB_"
# DBConfig field -> environment variable (the seed's names).
ENV_NAMES = {
    "host": ENV_PREFIX + "HOST",
    "port": ENV_PREFIX + "PORT",
    "user": ENV_PREFIX + "USER",
    "password": ENV_PREFIX + "PASS",
    "database": ENV_PREFIX + "NAME",
    "use_ssl": ENV_PREFIX + "USE_SSL",
    "ssl_path": ENV_PREFIX + "SSL_PATH",
}


@dataclasses.dataclass(frozen=True)
class DBConfig:
    host: str = "127.0.0.1"
    port: int = 3306
    user: str = "root"
    password: str = dataclasses.field(default="", repr=False)
    database: str = "workcraft"
    use_ssl: bool = False
    ssl_path: str | None = None
    connect_timeout: float = 5.0

    def describe(self) -> str:
        """Where we connect, for messages (never the password)."""
        return f"{self.user}@{self.host}:{self.port}/{self.database}"

    def as_env(self) -> dict[str, str]:
        """The ``WK_DB_*`` variables that ``get_db_config()`` reads back as this config: how
        to hand connection settings to a child process without putting them in its argv."""
        values = {
            "host": self.host,
            "port": str(self.port),
            "user": self.user,
            "password": self.password,
            "database": self.database,
            "use_ssl": "true" if self.use_ssl else "",
            "ssl_path": self.ssl_path or "",
        }
        return {ENV_NAMES[field]: value for field, value in values.items()}

    def connect_kwargs(self, with_database: bool = True) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password,
            "connection_timeout": max(1, int(self.connect_timeout)),
            "autocommit": True,
            "charset": "utf8mb4",
            "collation": "utf8mb4_unicode_ci",
        }
        if with_database:
            kwargs["database"] = self.database
        if self.use_ssl:
            kwargs["ssl_disabled"] = False
            if self.ssl_path:
                kwargs["ssl_ca"] = self.ssl_path
                kwargs["ssl_verify_cert"] = True
        else:
            kwargs["ssl_disabled"] = True
        return kwargs


def load_dotenv_file(directory: Path | None = None) -> None:
    """Load ``.env`` from the working directory without overriding real variables."""
    from dotenv import load_dotenv

    env_file = (directory or Path.cwd()) / ".env"
    if env_file.is_file():
        load_dotenv(env_file, override=False)


def get_db_config(read_from_env: bool = True, **overrides: Any) -> DBConfig:
    """Build a ``DBConfig`` (the seed's name for it).

    ``overrides`` use the field names of ``DBConfig`` (``host``, ``password`` ...) and win over
    the environment; ``None`` values are ignored so flags that were not given fall through.
    """
    values: dict[str, Any] = {}
    if read_from_env:
        load_dotenv_file()
        env = os.environ
        for field, name in ENV_NAMES.items():
            if name in env:
                values[field] = env[name]
    values.update({key: value for key, value in overrides.items() if value is not None})
    return _build(values)


def _build(values: dict[str, Any]) -> DBConfig:
    default = DBConfig()
    port_raw = values.get("port", default.port)
    try:
        port = int(port_raw)
    except (TypeError, ValueError):
        raise ConfigError(f"{ENV_PREFIX}PORT must be a port number, got {port_raw!r}") from None
    if not 0 < port < 65536:
        raise ConfigError(f"{ENV_PREFIX}PORT must be between 1 and 65535, got {port}")
    ssl_path = values.get("ssl_path") or None
    use_ssl = parse_bool(f"{ENV_PREFIX}USE_SSL", values.get("use_ssl", False))
    if use_ssl and ssl_path and not Path(ssl_path).is_file():
        raise ConfigError(f"{ENV_PREFIX}SSL_PATH: no CA file at {ssl_path}")
    database = str(values.get("database") or default.database)
    return DBConfig(
        host=str(values.get("host") or default.host),
        port=port,
        user=str(values.get("user") or default.user),
        password=str(values.get("password") or ""),
        database=database,
        use_ssl=use_ssl,
        ssl_path=ssl_path,
        connect_timeout=float(values.get("connect_timeout", default.connect_timeout)),
    )
