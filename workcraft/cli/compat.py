"""Accept the seed's command-line spellings beside click's kebab-case ones.

The original workcraft used python-fire, so its README shows ``setup_database_tables``,
``--workcraft_path=x``, ``--read_from_env=False`` and ``--drop_tables=True``. These are
rewritten to ``setup-database-tables``, ``--workcraft-path x``, ``--no-read-from-env`` and
``--drop-tables`` before click parses them.
"""

from __future__ import annotations

from collections.abc import Sequence

import click

from workcraft.config.booleans import FALSE_WORDS, TRUE_WORDS


def _bool_flags(params: Sequence[click.Parameter]) -> dict[str, tuple[str, str | None]]:
    """``--name`` -> (on spelling, off spelling) for every boolean flag."""
    flags: dict[str, tuple[str, str | None]] = {}
    for param in params:
        if isinstance(param, click.Option) and param.is_flag and param.is_bool_flag:
            on = next((opt for opt in param.opts if opt.startswith("--")), None)
            off = next((opt for opt in param.secondary_opts if opt.startswith("--")), None)
            if on:
                for opt in (*param.opts, *param.secondary_opts):
                    flags[opt] = (on, off)
    return flags


def normalise_args(args: Sequence[str], params: Sequence[click.Parameter]) -> list[str]:
    flags = _bool_flags(params)
    out: list[str] = []
    tokens = list(args)
    i = 0
    while i < len(tokens):
        token = tokens[i]
        i += 1
        if token == "--":
            out.extend(tokens[i - 1 :])
            break
        if not token.startswith("--"):
            out.append(token)
            continue
        name, eq, value = token[2:].partition("=")
        option = "--" + name.replace("_", "-")
        if option in flags:
            on, off = flags[option]
            negated = option != on
            if not eq and i < len(tokens) and tokens[i].lower() in TRUE_WORDS | FALSE_WORDS:
                value, eq = tokens[i], "="
                i += 1
            if eq:
                lowered = value.strip().lower()
                if lowered not in TRUE_WORDS | FALSE_WORDS:
                    raise click.BadParameter(
                        f"{value!r} is not true or false", param_hint=f"'--{name}'"
                    )
                truth = (lowered in TRUE_WORDS) != negated
                if truth:
                    out.append(on)
                elif off:
                    out.append(off)
                continue
            out.append(option)
            continue
        out.append(option + (eq + value if eq else ""))
    return out


class CompatCommand(click.Command):
    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, normalise_args(args, self.get_params(ctx)))


class CompatGroup(click.Group):
    command_class = CompatCommand

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return super().get_command(ctx, cmd_name.replace("_", "-"))

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        return (command.name if command else name), command, rest
