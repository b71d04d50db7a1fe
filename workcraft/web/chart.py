"""The overview's throughput chart: finished runs per minute for the last hour, as the
geometry of a stacked bar chart that a template draws as inline SVG (no chart library, no
script). Counts come from the ``throughput`` table the janitor's counters sweep keeps."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Iterable
from typing import Any

from workcraft.models import FINISHED_STATUS_NAMES

# Bottom to top in each bar.
STACK = FINISHED_STATUS_NAMES
WIDTH, HEIGHT = 1200, 200
LEFT, RIGHT, TOP, BOTTOM = 48, 8, 10, 24  # room for the axis labels
LABEL_EVERY = 15  # minutes between time labels


@dataclasses.dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    status: str
    title: str


@dataclasses.dataclass(frozen=True)
class Tick:
    at: float  # x for time ticks, y for count ticks
    label: str


@dataclasses.dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: float
    right: float
    top: float
    bottom: float
    bars: list[Bar]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    total: int
    peak: int
    minutes: int


def nice_ceiling(value: int) -> int:
    """The smallest 1, 2 or 5 times a power of ten that is >= value (at least 1)."""
    if value <= 1:
        return 1
    power = int(10 ** math.floor(math.log10(value)))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power  # pragma: no cover - the loop always returns


def throughput_chart(rows: Iterable[dict[str, Any]], now: dt.datetime, minutes: int = 60) -> Chart:
    """``rows``: ``{minute, status, n}`` (naive UTC minutes); ``now``: naive UTC."""
    last = now.replace(second=0, microsecond=0)
    first = last - dt.timedelta(minutes=minutes - 1)
    counts: list[dict[str, int]] = [{} for _ in range(minutes)]
    for row in rows:
        index = int((row["minute"] - first).total_seconds() // 60)
        if 0 <= index < minutes and row["status"] in STACK:
            slot = counts[index]
            slot[row["status"]] = slot.get(row["status"], 0) + int(row["n"])
    peak = max((sum(slot.values()) for slot in counts), default=0)
    top_value = nice_ceiling(peak)
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    step = plot_w / minutes
    bars = []
    for index, slot in enumerate(counts):
        base = float(HEIGHT - BOTTOM)
        stamp = (first + dt.timedelta(minutes=index)).strftime("%H:%M")
        for status in STACK:
            n = slot.get(status, 0)
            if not n:
                continue
            height = n / top_value * plot_h
            base -= height
            bars.append(
                Bar(
                    x=round(LEFT + index * step + 1, 2),
                    y=round(base, 2),
                    width=round(max(step - 2, 1), 2),
                    height=round(height, 2),
                    status=status,
                    title=f"{stamp} UTC: {n:,} {status}",
                )
            )
    y_ticks = [
        Tick(round(HEIGHT - BOTTOM - fraction * plot_h, 2), f"{round(top_value * fraction):,}")
        for fraction in ((0, 0.5, 1) if top_value >= 2 else (0, 1))
    ]
    x_ticks = [
        Tick(
            round(LEFT + index * step + step / 2, 2),
            (first + dt.timedelta(minutes=index)).strftime("%H:%M"),
        )
        for index in range(minutes)
        if (first + dt.timedelta(minutes=index)).minute % LABEL_EVERY == 0
    ]
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        right=WIDTH - RIGHT,
        top=TOP,
        bottom=HEIGHT - BOTTOM,
        bars=bars,
        y_ticks=y_ticks,
        x_ticks=x_ticks,
        total=sum(sum(slot.values()) for slot in counts),
        peak=peak,
        minutes=minutes,
    )
