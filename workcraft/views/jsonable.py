"""Real JSON types for ``--json`` and the dashboard's API: ISO 8601 times with their zone,
numbers as numbers, JSON columns decoded (lists as lists, not strings of JSON)."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
from typing import Any

UTC = dt.timezone.utc


def utc(value: dt.datetime | None) -> dt.datetime | None:
    """Naive datetimes from the database are UTC (workcraft's sessions are at +00:00)."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return utc(value).isoformat()  # type: ignore[union-attr]
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return value.decode("utf-8", errors="replace")
    return value
