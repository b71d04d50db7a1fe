"""python-fire's list spelling of ``--queues``, as workcraft 0.5.27's peon took it.

``--queues="[q1,q2]"`` (the shell removes the quotes: the value is ``[q1,q2]``),
``--queues='["q1", "q2"]'`` and ``--queues=[DEFAULT]`` are lists; each is the queues it
names, never queues called ``[q1`` and ``q2]``. Queue names cannot be ``[...]`` (see
``workcraft.payload.check_queue``), so a bracketed value is always this list.
"""

from __future__ import annotations

_QUOTES = ("'", '"')


class QueueListError(ValueError):
    """A value that starts like a list but is not one."""


def is_list_spelling(value: str) -> bool:
    return value.strip().startswith("[")


def parse_queue_list(value: str) -> list[str]:
    """``[a,b]`` / ``['a', "b"]`` -> ``["a", "b"]``; anything else bracketed is an error."""
    text = value.strip()
    if not text.startswith("["):
        raise QueueListError(f"{value!r} is not a [list]")
    if not text.endswith("]") or text.count("[") != 1 or text.count("]") != 1:
        raise QueueListError(
            f"{value!r} is not a complete [a,b] list; quote the whole list when it has "
            "spaces: --queues='[a, b]'"
        )
    names: list[str] = []
    for item in text[1:-1].split(","):
        name = item.strip()
        if len(name) >= 2 and name[0] == name[-1] and name[0] in _QUOTES:
            name = name[1:-1].strip()
        if not name:
            if item.strip() or text[1:-1].strip():
                raise QueueListError(f"{value!r} has an empty queue name")
            continue
        names.append(name)
    if not names:
        raise QueueListError(f"{value!r} names no queue")
    return names
