"""Ids: time-ordered task ids (UUIDv7 layout, 36 characters) so inserts append to the primary
key, and the default id of a peon or janitor process.

The 12 bits after the millisecond carry the sub-millisecond part of the clock (RFC 9562,
method 3), so ids made one after another in a process sort in the order they were made.
"""

from __future__ import annotations

import os
import socket
import time

_SUB_MS_STEPS = 4096  # 12 bits


def new_task_id(now_ns: int | None = None) -> str:
    """A UUIDv7: 48 bits of Unix milliseconds, 12 bits of sub-millisecond time, 62 random."""
    ns = time.time_ns() if now_ns is None else now_ns
    ms, rest_ns = divmod(ns, 1_000_000)
    sub_ms = rest_ns * _SUB_MS_STEPS // 1_000_000
    rand = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version
    value |= sub_ms << 64  # rand_a: clock precision beyond the millisecond
    value |= 0b10 << 62  # variant
    value |= rand  # rand_b
    digits = f"{value:032x}"  # what str(uuid.UUID(int=value)) gives, without its checks
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def default_process_id() -> str:
    """HOSTNAME-PID: the default id of a peon or a janitor."""
    return f"{socket.gethostname()}-{os.getpid()}"
