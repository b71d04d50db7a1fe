"""The seed's python-fire spellings, rewritten for click against the real command."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from workcraft.cli import cli
from workcraft.cli.compat import normalise_args


@pytest.fixture
def params() -> list[click.Parameter]:
    command = cli.commands["setup-database-tables"]
    return list(command.params)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--read_from_env=False"], ["--no-read-from-env"]),
        (["--read_from_env=True"], ["--read-from-env"]),
        (["--drop_tables=True"], ["--drop-tables"]),
        (["--drop_tables=False"], ["--no-drop-tables"]),
        (["--drop_tables=true"], ["--drop-tables"]),
        (["--drop_tables=1"], ["--drop-tables"]),
        (["--drop_tables"], ["--drop-tables"]),
        (["--drop_tables", "True"], ["--drop-tables"]),
        (["--drop_tables", "False"], ["--no-drop-tables"]),
        (["--db_password=test"], ["--db-password=test"]),
        (["--db_password="], ["--db-password="]),
        (["--db_port", "3307"], ["--db-port", "3307"]),
        (["--worker-id=test1"], ["--worker-id=test1"]),
        (["--no-read-from-env"], ["--no-read-from-env"]),
        (["--drop-tables"], ["--drop-tables"]),
        (["--db-name", "x_y"], ["--db-name", "x_y"]),
        # Negative spellings with a value: --no-drop-tables=True means "do not drop".
        (["--no_drop_tables=True"], ["--no-drop-tables"]),
        (["--no_drop_tables=False"], ["--drop-tables"]),
        # Values are never rewritten, only option names.
        (["--db_name=my_db"], ["--db-name=my_db"]),
        # After "--" nothing is touched.
        (["--", "--drop_tables=True"], ["--", "--drop_tables=True"]),
    ],
)
def test_normalise_args(
    params: list[click.Parameter], args: list[str], expected: list[str]
) -> None:
    assert normalise_args(args, params) == expected


def test_seed_readme_example(params: list[click.Parameter]) -> None:
    args = ["--read_from_env=False", "--db_password=test", "--drop_tables=True"]
    assert normalise_args(args, params) == [
        "--no-read-from-env",
        "--db-password=test",
        "--drop-tables",
    ]


@pytest.mark.parametrize("value", ["maybe", "2", ""])
def test_bad_bool_value_is_an_error(params: list[click.Parameter], value: str) -> None:
    with pytest.raises(click.BadParameter) as info:
        normalise_args([f"--drop_tables={value}"], params)
    assert "drop_tables" in info.value.format_message()


def test_click_parses_the_seed_spelling() -> None:
    """The whole group accepts the seed's command name and flags (no database involved)."""
    command = cli.commands["setup-database-tables"]
    ctx = command.make_context(
        "setup_database_tables",
        ["--read_from_env=False", "--db_password=test", "--drop_tables=True", "--db_port=3307"],
    )
    assert ctx.params["read_from_env"] is False
    assert ctx.params["drop_tables"] is True
    assert ctx.params["db_password"] == "test"
    assert ctx.params["db_port"] == 3307


def test_group_resolves_the_underscore_command_name() -> None:
    result = CliRunner().invoke(cli, ["setup_database_tables", "--help"])
    assert result.exit_code == 0, result.output
    assert "--drop-tables" in result.output


def test_group_rejects_a_bad_bool_with_usage_error() -> None:
    result = CliRunner().invoke(cli, ["setup_database_tables", "--drop_tables=maybe"])
    assert result.exit_code == 2
    assert "maybe" in result.output
