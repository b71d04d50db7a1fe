"""The workcraft app the benchmark peons run: ``--workcraft-path=bench.apps.app``."""

from __future__ import annotations

import time

from workcraft.core import Workcraft

app = Workcraft()


@app.task("noop")
def noop() -> None:
    """Does nothing: the drain benchmarks measure the queue, not the work."""


@app.task("clock")
def clock() -> float:
    """Returns the wall clock at the moment the function starts (pickup latency)."""
    return time.time()
