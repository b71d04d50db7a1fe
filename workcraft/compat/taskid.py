"""Which tasks are called with the task id first.

workcraft 0.5.27 called every task as ``fn(task_id, *task_args, **task_kwargs)``; the
README's tasks take only their own arguments. One app may hold both, so it is decided per
function, once, when it is registered:

1. ``@app.task("name", pass_task_id=True)`` or ``False`` says it outright.
2. Otherwise a task takes the id when its first parameter is a positional one named
   ``task_id`` (0.5.27's convention: ``def add(task_id, a, b)``). That is inferred, so it
   warns once (``DeprecationWarning``) with the two explicit forms.
3. Every other task gets exactly its ``task_args`` / ``task_kwargs``.

A README-style task whose first parameter is named ``task_id`` but means something the
producer sends says ``pass_task_id=False``. Any task can read its own id without taking a
parameter: ``workcraft.current_task().id``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from workcraft.compat.deprecation import warn_once

PARAMETER = "task_id"
_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def _parameters(fn: Callable[..., Any]) -> list[inspect.Parameter] | None:
    try:
        return list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):  # some builtins have no signature
        return None


def takes_task_id(
    fn: Callable[..., Any], task_name: str, explicit: bool | None, stacklevel: int = 2
) -> bool:
    """Whether ``fn`` is called with the task id as its first argument (see module doc).
    ``stacklevel``: where the warning points, counted from the caller (2 = its caller)."""
    parameters = _parameters(fn)
    if explicit is not None:
        if not isinstance(explicit, bool):
            raise TypeError(f"pass_task_id must be True, False or None, got {explicit!r}")
        if explicit and parameters is not None and not _takes_a_positional(parameters):
            raise TypeError(
                f"task {task_name!r}: pass_task_id=True, but {fn!r} takes no positional "
                "argument to receive the task id"
            )
        return explicit
    if not parameters:
        return False
    first = parameters[0]
    if first.name != PARAMETER or first.kind not in _POSITIONAL:
        return False
    warn_once(
        "task_id-first",
        f"task {task_name!r} takes the task id as its first parameter `task_id` (workcraft "
        f"0.5.27's convention); it still gets it. Say so with @app.task({task_name!r}, "
        "pass_task_id=True), or drop the parameter and read workcraft.current_task().id",
        stacklevel=stacklevel + 1,
    )
    return True


def _takes_a_positional(parameters: list[inspect.Parameter]) -> bool:
    return any(
        p.kind in _POSITIONAL or p.kind is inspect.Parameter.VAR_POSITIONAL for p in parameters
    )
