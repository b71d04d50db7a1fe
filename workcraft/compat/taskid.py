"""Which tasks are called with the task id first.

workcraft 0.5.27 called every task as ``fn(task_id, *task_args, **task_kwargs)``; the
README's tasks take only their own arguments, and some README-style tasks have a first
parameter named ``task_id`` that their producer fills (a key of its own). One app may hold
all of these, and none may get an argument it did not ask for:

1. ``@app.task("name", pass_task_id=True)`` or ``False`` says it outright.
2. Otherwise, when the first parameter is a positional one named ``task_id`` (0.5.27's
   convention: ``def add(task_id, a, b)``), the task id is passed first — unless the
   arguments sent fit the function only without it: then the producer filled ``task_id``
   itself and they are passed as sent. Decided at registration that the rule applies (it
   warns once, naming the explicit forms); decided per run which case it is.
3. Every other task gets exactly its ``task_args`` / ``task_kwargs``.

Where both fit (``def f(task_id, x=None)`` sent ``["k"]``) the task id wins, as in 0.5.27;
``pass_task_id=False`` says otherwise. Any task can read its own id without a parameter:
``workcraft.current_task().id``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from workcraft.compat.deprecation import warn_once
from workcraft.signatures import misfit

PARAMETER = "task_id"
_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def _parameters(fn: Callable[..., Any]) -> list[inspect.Parameter] | None:
    try:
        return list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):  # some builtins have no signature
        return None


ALWAYS = "always"
WHEN_UNFILLED = "when-unfilled"


def takes_task_id(
    fn: Callable[..., Any], task_name: str, explicit: bool | None, stacklevel: int = 2
) -> str | None:
    """``ALWAYS`` (asked for), ``WHEN_UNFILLED`` (0.5.27's convention: see module doc) or
    None. ``stacklevel``: where the warning points, counted from the caller (2 = its
    caller)."""
    parameters = _parameters(fn)
    if explicit is not None:
        if not isinstance(explicit, bool):
            raise TypeError(f"pass_task_id must be True, False or None, got {explicit!r}")
        if explicit and parameters is not None and not _takes_a_positional(parameters):
            raise TypeError(
                f"task {task_name!r}: pass_task_id=True, but {fn!r} takes no positional "
                "argument to receive the task id"
            )
        return ALWAYS if explicit else None
    if not parameters:
        return None
    first = parameters[0]
    if first.name != PARAMETER or first.kind not in _POSITIONAL:
        return None
    warn_once(
        "task_id-first",
        f"task {task_name!r} has a first parameter `task_id`: it gets the task id (workcraft "
        "0.5.27's convention) unless the arguments sent fill it. Say which with "
        f"@app.task({task_name!r}, pass_task_id=True) or pass_task_id=False; a task can "
        "also read workcraft.current_task().id",
        stacklevel=stacklevel + 1,
    )
    return WHEN_UNFILLED


def call_arguments(
    fn: Callable[..., Any],
    rule: str | None,
    task_id: str,
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
) -> list[Any]:
    """The positional arguments of one run under ``rule`` (``takes_task_id``'s answer)."""
    if rule is None:
        return list(args)
    with_id = [task_id, *args]
    if rule == WHEN_UNFILLED and not _fits(fn, with_id, kwargs) and _fits(fn, args, kwargs):
        return list(args)  # the producer filled task_id itself
    return with_id


def _fits(fn: Callable[..., Any], args: Sequence[Any], kwargs: Mapping[str, Any]) -> bool:
    return misfit(fn, len(args), tuple(kwargs)) is None


def _takes_a_positional(parameters: list[inspect.Parameter]) -> bool:
    return any(
        p.kind in _POSITIONAL or p.kind is inspect.Parameter.VAR_POSITIONAL for p in parameters
    )
