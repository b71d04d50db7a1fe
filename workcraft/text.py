"""Making untrusted names safe to show in one log line."""

from __future__ import annotations

MAX_SHOWN = 120


def printable(value: object) -> str:
    """Control characters escaped (a newline in a task name cannot forge a log line),
    long values shortened."""
    text = str(value)
    if not text.isprintable():
        text = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 1] + "…"
