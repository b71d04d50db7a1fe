"""How numbers, times and JSON look on the pages (Jinja filters)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from workcraft.cli.render import ago
from workcraft.views.jsonable import jsonable

HIDDEN = "hidden"


def when(value: dt.datetime | str | None) -> str:
    """UTC to the second: ``2025-01-31 12:00:05``."""
    if value is None or value == "":
        return "-"
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value.strftime("%Y-%m-%d %H:%M:%S")


def num(value: Any) -> str:
    """Thousands separated: 1,234,567."""
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return "-" if value is None else str(value)


def seconds(value: Any) -> str:
    """A duration measured in seconds: 0.004 s, 1.2 s, 3 min."""
    if value is None:
        return "-"
    number = float(value)
    if number < 1:
        return f"{number * 1000:.0f} ms"
    return ago(number)


def pretty_json(value: Any) -> str:
    if value == HIDDEN:
        return HIDDEN
    return json.dumps(jsonable(value), indent=2, ensure_ascii=False, sort_keys=False)


def short_id(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 13 else text[:8] + "…" + text[-4:]


FILTERS = {
    "ago": ago,
    "when": when,
    "num": num,
    "seconds": seconds,
    "pretty_json": pretty_json,
    "short_id": short_id,
}
