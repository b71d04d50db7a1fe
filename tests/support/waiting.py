"""``wait_until``: the one polling loop of the tests and the benchmarks.

Real processes and a real server take their time; a test that sleeps a fixed amount is
either slow or flaky. Polling with a deadline is neither, and a deadline that says what it
was waiting for (plus, optionally, the children's logs) makes a failure readable.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    predicate: Callable[[], T],
    timeout: float,
    message: str | Callable[[], str] = "the condition",
    details: Callable[[], str] | None = None,
    interval: float = 0.05,
) -> T:
    """Call ``predicate`` every ``interval`` s until it returns something truthy; return that.

    After ``timeout`` s raise ``AssertionError`` naming ``message`` (a string, or a callable
    for text that is only worth building on failure) followed by ``details()`` if given.
    Falsy values (None, False, 0, an empty list) all mean "not yet".
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            text = message() if callable(message) else message
            extra = f"\n{details()}" if details is not None else ""
            raise AssertionError(f"timed out after {timeout:g} s waiting for {text}{extra}")
        time.sleep(interval)
