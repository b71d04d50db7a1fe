"""Whether call arguments fit a function, judged by their shape alone."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

# Shapes with more keywords, or longer names, than this are checked without the cache: a
# payload's keyword names come from whoever sent the task, and each cached shape keeps its
# names (and an error message repeating them), so the cache stays within a few MB.
CACHED_KEYWORDS = 32
CACHED_KEYWORD_CHARACTERS = 1024


def misfit(fn: Callable[..., Any], positional_count: int, keywords: tuple[str, ...]) -> str | None:
    """Why ``positional_count`` positional arguments and these keywords cannot bind to
    ``fn`` (None: they can, or ``fn`` has no signature to check, and the call decides).

    Binding looks only at how many positional arguments there are and which keywords, never
    at their values, so the answer is cached per shape: a peon checks every task's
    arguments before calling it, and the same few shapes recur."""
    if len(keywords) > CACHED_KEYWORDS or sum(map(len, keywords)) > CACHED_KEYWORD_CHARACTERS:
        return _misfit(fn, positional_count, keywords)
    return _cached_misfit(fn, positional_count, keywords)


def _misfit(fn: Callable[..., Any], positional_count: int, keywords: tuple[str, ...]) -> str | None:
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    try:
        signature.bind(*([None] * positional_count), **dict.fromkeys(keywords))
    except TypeError as exc:
        return str(exc)
    return None


_cached_misfit = functools.lru_cache(maxsize=1024)(_misfit)
