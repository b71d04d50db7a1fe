"""The seed's import path for connection settings: ``from workcraft.db import get_db_config``."""

from workcraft.config.database import DBConfig, get_db_config

__all__ = ["DBConfig", "get_db_config"]
