"""The words that mean true and false, wherever the seed accepted them as text
(``--drop_tables=True``, ``WK_DB_USE_SSL=``, ``--read_from_env=False``)."""

from __future__ import annotations

from workcraft.errors import ConfigError

TRUE_WORDS = frozenset({"true", "1", "yes", "on", "y", "t"})
FALSE_WORDS = frozenset({"false", "0", "no", "off", "n", "f", "none"})


def parse_bool(name: str, value: str | bool | None) -> bool:
    """An empty value is false (the seed's ``.env`` has ``WK_DB_USE_SSL=`` for off)."""
    if isinstance(value, bool):
        return value
    text = (value or "").strip().lower()
    if text in TRUE_WORDS:
        return True
    if not text or text in FALSE_WORDS:
        return False
    raise ConfigError(f"{name} must be true or false, got {value!r}")
