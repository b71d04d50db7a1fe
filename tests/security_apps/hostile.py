"""A workcraft app whose task names are hostile strings, plus tasks for garbage payloads.

Every task returns something that says which function ran, so a test can tell that the
right task (and not one whose name merely looks alike) was claimed.
"""

from __future__ import annotations

from typing import Any

from workcraft.core import Workcraft

app = Workcraft()

# Task names a peon registers and claims with, each run by ``hostile_task``. They are
# passed to MySQL only as parameters; ``{ids}`` / ``{names}`` are the library's own
# placeholder markers in its SQL text.
HOSTILE_TASK_NAMES: tuple[str, ...] = (
    "'; DROP TABLE bountyboard; --",
    "%s",
    "%(x)s",
    "{ids}",
    "{names}",
    "quote ' double \" back \\ tick `",
    "emoji 🎉 astral \U0001d518\U0001d52b\U0001d526",
    "nul \x00 byte",
    "ctrl-z \x1a newline \n tab \t",
    "x" * 255,
)


def _make_hostile(name: str) -> Any:
    def hostile_task(*args: Any, **kwargs: Any) -> dict[str, Any]:
        return {"ran": name, "args": list(args), "kwargs": kwargs}

    return hostile_task


for _name in HOSTILE_TASK_NAMES:
    app.task(_name)(_make_hostile(_name))


@app.task("pad")
def pad() -> str:
    """Claimed only for exactly 'pad' (not 'pad ', 'PAD', '\uff50\uff41\uff44' ...)."""
    return "pad ran"


@app.task("café")
def cafe() -> str:
    """NFC spelling; the NFD spelling 'cafe\\u0301' is another name."""
    return "café ran"


@app.task("echo")
def echo(*args: Any, **kwargs: Any) -> dict[str, Any]:
    return {"args": list(args), "kwargs": kwargs}


@app.task("strict")
def strict(a: Any, b: Any) -> list[Any]:
    """Two positional-or-keyword parameters: anything else does not bind."""
    return [a, b]


@app.task("lone_surrogate")
def lone_surrogate() -> str:
    """Returns text that cannot be encoded as UTF-8 (what os.fsdecode(b'\\xff') gives)."""
    return "bad \udcff byte"


@app.prerun_handler()
def prerun(task_id: str, task_name: str, *args: Any, **kwargs: Any) -> None:
    """Hostile handler args from the payload must never affect the task's status."""


@app.postrun_handler()
def postrun(task_id: str, task_name: str, result: Any, status: Any, *args: Any, **kw: Any) -> None:
    pass


@app.task("deep_result")
def deep_result(depth: int = 40) -> Any:
    """A result nested deeper than MariaDB's JSON columns accept (31 levels)."""
    value: Any = "bottom"
    for _ in range(depth):
        value = [value]
    return value
