"""Loads the named statements of ``sql/*.sql`` once. Only the data layer uses them."""

from __future__ import annotations

import functools
import re
from importlib import resources
from typing import NamedTuple

_HEADER = re.compile(r"^-- ([a-z_]+) --\s*$")


def parse_queries(text: str) -> dict[str, str]:
    """``-- name --`` blocks into {name: sql}; comment lines inside a block are dropped."""
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
    queries: dict[str, str] = {}
    folder = resources.files("workcraft.data").joinpath("sql")
    for file in sorted(folder.iterdir(), key=lambda entry: entry.name):
        if not file.name.endswith(".sql"):
            continue
        for name, sql in parse_queries(file.read_text("utf-8")).items():
            if name in queries:
                raise RuntimeError(f"query {name!r} is defined twice (second in {file.name})")
            queries[name] = sql
    return queries


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


def statement(name: str, **counts: int) -> str:
    """The SQL of one named statement, markers expanded (cached: the same few shapes recur
    on every claim). Running queries goes through the typed methods of ``Queries``; tests and
    benchmarks use this for EXPLAIN."""
    return _statement(name, tuple(sorted(counts.items())))


@functools.lru_cache(maxsize=4096)
def _statement(name: str, counts: tuple[tuple[str, int], ...]) -> str:
    return expand(load_queries()[name], **dict(counts))


_NAMED = re.compile(r"%\(([a-z_]+)\)s")


class Shape(NamedTuple):
    """A statement ready for parameters: its text between the placeholders, and the names
    of the parameters in order (empty when they are given as a sequence)."""

    parts: tuple[bytes, ...]
    names: tuple[str, ...]

    @property
    def sql(self) -> bytes:
        return b"%s".join(self.parts)


@functools.lru_cache(maxsize=4096)
def positional(sql: str) -> Shape:
    """``sql`` cut at its ``%(name)s`` and ``%s`` placeholders, as bytes, with the names in
    order (so a dict of parameters becomes a sequence). Cached: joining the quoted values
    between the parts is then the only work per statement."""
    names = tuple(_NAMED.findall(sql))
    return Shape(tuple(_NAMED.sub("%s", sql).encode("utf-8").split(b"%s")), names)


_VALUES = re.compile(r"\bVALUES\s*\(", re.IGNORECASE)


@functools.lru_cache(maxsize=64)
def multi_row(sql: str) -> tuple[bytes, Shape, bytes]:
    """An ``INSERT ... VALUES (row) [tail]`` statement as (head, row, tail), so that many
    rows become ``head + row, row, ... + tail`` in one statement. The row's parentheses are
    matched (it may call functions); a statement without a VALUES row is a bug."""
    match = _VALUES.search(sql)
    if match is None:
        raise ValueError("not an INSERT ... VALUES (...) statement")
    start = match.end() - 1
    depth = 0
    for end in range(start, len(sql)):
        depth += {"(": 1, ")": -1}.get(sql[end], 0)
        if depth == 0:
            break
    else:
        raise ValueError("unbalanced parentheses in the VALUES row")
    head, row, tail = sql[:start], sql[start : end + 1], sql[end + 1 :]
    return head.encode("utf-8"), positional(row), tail.encode("utf-8")
