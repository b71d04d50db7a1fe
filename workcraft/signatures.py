"""Whether call arguments fit a function, judged by their shape alone."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any


@functools.lru_cache(maxsize=4096)
def misfit(fn: Callable[..., Any], positional_count: int, keywords: tuple[str, ...]) -> str | None:
    """Why ``positional_count`` positional arguments and these keywords cannot bind to
    ``fn`` (None: they can, or ``fn`` has no signature to check, and the call decides).

    Binding looks only at how many positional arguments there are and which keywords, never
    at their values, so the answer is cached per shape: a peon checks every task's
    arguments before calling it, and the same few shapes recur."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    try:
        signature.bind(*([None] * positional_count), **dict.fromkeys(keywords))
    except TypeError as exc:
        return str(exc)
    return None
