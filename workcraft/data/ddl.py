"""The vocabulary ``schema.py`` declares tables in (columns, indexes, tables) and the few
statements built from identifiers: quoted, checked, never from values."""

from __future__ import annotations

import dataclasses
import re

# Names, queues and worker ids compare byte for byte and without PAD SPACE ('x' <> 'x '), so
# a peon never claims a task whose name only looks like one it registered. MySQL 8 and
# MariaDB spell that collation differently; setup picks the first the server has.
NO_PAD_BINARY_COLLATIONS = ("utf8mb4_0900_bin", "utf8mb4_nopad_bin")
DEFAULT_BINARY_COLLATION = "utf8mb4_bin"
BINARY_COLLATION_TOKEN = "{binary}"


def enum_type(values: tuple[str, ...]) -> str:
    return "enum(" + ",".join(f"'{value}'" for value in values) + ")"


@dataclasses.dataclass(frozen=True)
class Column:
    name: str
    type: str  # normalised, as information_schema.COLUMNS.COLUMN_TYPE shows it
    rest: str  # NULL-ness, defaults, collation
    # Run once, right after the column is added to an existing table (a constant statement).
    backfill: str | None = None

    def ddl(self, binary_collation: str = DEFAULT_BINARY_COLLATION) -> str:
        rest = self.rest.replace(BINARY_COLLATION_TOKEN, binary_collation)
        return f"`{self.name}` {self.type} {rest}".strip()

    @property
    def not_null(self) -> bool:
        return "NOT NULL" in self.rest

    @property
    def binary(self) -> bool:
        return BINARY_COLLATION_TOKEN in self.rest

    @property
    def default_sql(self) -> str:
        """Our default as an SQL expression (a NULL found where we say NOT NULL gets it)."""
        match = re.search(r"DEFAULT (\S+)", self.rest)
        if match:
            return match.group(1)
        return "0" if self.type.startswith(("int", "bigint", "tiny", "double")) else "''"

    @property
    def int_default(self) -> str | None:
        """The default of an integer column, as information_schema shows it ('3')."""
        match = re.search(r"DEFAULT (-?\d+)\b", self.rest)
        return match.group(1) if match and self.type.startswith(("int", "bigint", "tiny")) else None


@dataclasses.dataclass(frozen=True)
class Index:
    name: str
    columns: str
    unique: bool = False

    def ddl(self) -> str:
        return f"{'UNIQUE ' if self.unique else ''}KEY `{self.name}` ({self.columns})"

    @property
    def column_names(self) -> tuple[str, ...]:
        """The columns as information_schema names them: ``("status", "queue")``."""
        return tuple(part.strip().strip("`") for part in self.columns.split(","))


@dataclasses.dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    primary_key: str
    indexes: tuple[Index, ...] = ()
    obsolete_indexes: tuple[str, ...] = ()

    def create_ddl(self, binary_collation: str = DEFAULT_BINARY_COLLATION) -> str:
        parts = [column.ddl(binary_collation) for column in self.columns]
        parts.append(f"PRIMARY KEY ({self.primary_key})")
        parts += [index.ddl() for index in self.indexes]
        body = ",\n  ".join(parts)
        return (
            f"CREATE TABLE IF NOT EXISTS `{self.name}` (\n  {body}\n)"
            " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci"
        )


_IDENTIFIER = re.compile(r"^[A-Za-z0-9_]+$")


def normalise_type(column_type: str) -> str:
    """Make MariaDB's and MySQL's spellings comparable (int(11) = int, longtext = json)."""
    text = column_type.strip()
    keyword, sep, rest = text.partition("(")
    text = keyword.lower() + sep + rest  # enum values keep their case
    text = re.sub(r"^(int|bigint|smallint|mediumint)\(\d+\)", r"\1", text)
    if text == "longtext":
        return "json"  # MariaDB stores JSON as LONGTEXT with a JSON_VALID check
    return text


def quote_identifier(name: str) -> str:
    """Backtick a name read from information_schema; refuse anything unusual."""
    if not _IDENTIFIER.match(name):
        raise ValueError(f"unexpected identifier {name!r}")
    return f"`{name}`"


def create_database_ddl(database: str) -> str:
    """``CREATE DATABASE`` for a user-chosen name: an identifier, quoted, never a value."""
    if not database or "\x00" in database or len(database) > 64:
        raise ValueError(f"invalid database name {database!r}")
    quoted = database.replace("`", "``")
    return (
        f"CREATE DATABASE IF NOT EXISTS `{quoted}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
    )
