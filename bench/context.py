"""What a benchmark run is given: its sizes, a scratch folder, and a console to report to."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from rich.console import Console


@dataclasses.dataclass(frozen=True)
class Sizes:
    """How big each benchmark is; ``quick()`` is a smoke run of about a minute."""

    drain_tasks: int = 20_000
    drain_peons: tuple[int, ...] = (1, 2, 4)
    drain_concurrency: tuple[int, ...] = (1, 8)
    baseline_processes: int = 2
    enqueue_single: int = 3_000
    enqueue_bulk: int = 20_000
    enqueue_batch: int = 1_000
    latency_samples: int = 50
    latency_intervals: tuple[float, ...] = (0.05, 1.0)
    backlog_pending: tuple[int, ...] = (1_000, 100_000, 1_000_000)
    backlog_finished: int = 1_000_000
    backlog_samples: int = 200
    idle_seconds: float = 10.0
    peer_workers: int = 4

    @classmethod
    def quick(cls) -> Sizes:
        return cls(
            drain_tasks=3_000,
            enqueue_single=1_000,
            enqueue_bulk=5_000,
            latency_samples=15,
            backlog_pending=(1_000, 50_000, 100_000),
            backlog_finished=100_000,
            backlog_samples=100,
            idle_seconds=5.0,
        )


@dataclasses.dataclass
class Context:
    sizes: Sizes
    quick: bool
    workdir: Path  # configs and child-process logs
    console: Console
    peon_log_level: str = "WARNING"

    def note(self, message: str) -> None:
        self.console.log(message)
