"""Loads ``sql/queries.sql`` into named statements, once."""

from __future__ import annotations

import functools
import re
from importlib import resources

_HEADER = re.compile(r"^-- ([a-z_]+) --\s*$")


def parse_queries(text: str) -> dict[str, str]:
    queries: dict[str, str] = {}
    name: str | None = None
    lines: list[str] = []

    def flush() -> None:
        if name is not None:
            sql = "\n".join(line for line in lines if not line.lstrip().startswith("--"))
            queries[name] = sql.strip()

    for line in text.splitlines():
        match = _HEADER.match(line)
        if match:
            flush()
            name, lines = match.group(1), []
        elif name is not None:
            lines.append(line)
    flush()
    return queries


@functools.lru_cache(maxsize=1)
def load_queries() -> dict[str, str]:
    text = resources.files("workcraft").joinpath("sql/queries.sql").read_text("utf-8")
    return parse_queries(text)


# What a marker repeats, and what it joins the copies with.
_REPEATS = {"cases": ("WHEN %s THEN %s", " ")}
_LIST = ("%s", ", ")


def expand(sql: str, **counts: int) -> str:
    """Replace ``{ids}``-style markers with that many ``%s`` placeholders (at least one);
    ``{cases}`` becomes that many ``WHEN %s THEN %s``. Placeholders only, never values."""
    for marker, count in counts.items():
        piece, joiner = _REPEATS.get(marker, _LIST)
        sql = sql.replace("{" + marker + "}", joiner.join([piece] * max(count, 1)))
    return sql
