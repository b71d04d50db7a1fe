"""One ``DeprecationWarning`` per old form and process: enough to be seen, never a flood
(a producer loop calling the old form a million times warns once)."""

from __future__ import annotations

import threading
import warnings

UPGRADE_GUIDE = "docs/upgrading.md"

_lock = threading.Lock()
_warned: set[str] = set()


def warn_once(form: str, message: str, stacklevel: int = 2) -> None:
    """Warn about ``form`` the first time it is used in this process. ``stacklevel`` counts
    from the caller of ``warn_once`` (2 = the caller's caller)."""
    with _lock:
        if form in _warned:
            return
        _warned.add(form)
    warnings.warn(f"{message} (see {UPGRADE_GUIDE})", DeprecationWarning, stacklevel + 1)


def forget_warnings() -> None:
    """Warn again from now on (for tests that check the warning itself)."""
    with _lock:
        _warned.clear()
