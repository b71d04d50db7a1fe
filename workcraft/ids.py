"""Time-ordered task ids (UUIDv7 layout, 36 characters) so inserts append to the primary key."""

from __future__ import annotations

import os
import time
import uuid


def new_task_id(now_ms: int | None = None) -> str:
    """A UUIDv7: 48 bits of Unix milliseconds, version 7, 74 random bits."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version
    value |= ((rand >> 62) & 0xFFF) << 64  # rand_a, 12 bits
    value |= 0b10 << 62  # variant
    value |= rand & ((1 << 62) - 1)  # rand_b, 62 bits
    return str(uuid.UUID(int=value))
