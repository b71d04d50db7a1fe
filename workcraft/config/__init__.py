"""Configuration passed into peons, janitors and commands: where the database is
(``DBConfig``), how they behave (``Settings``), and how they log."""

from workcraft.config.database import DBConfig, get_db_config
from workcraft.config.settings import Settings, load_settings

__all__ = ["DBConfig", "Settings", "get_db_config", "load_settings"]
