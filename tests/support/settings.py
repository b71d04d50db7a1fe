"""``write_settings``: the one way tests and benchmarks write a ``workcraft.config.json``.

Every process a test starts reads its intervals from the file in its working directory (or
from ``--config``), so the file decides how fast a test can be. The presets name the sets
of intervals the suites use; a test overrides only what its scenario is about.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Final

# Peon tests: quick polls and heartbeats; the grace period is overridden where it matters.
FAST: Final[Mapping[str, float]] = MappingProxyType(
    {
        "DB_POLLING_INTERVAL": 0.1,
        "DB_PEON_HEARTBEAT_INTERVAL": 0.5,
        "DB_SETUP_WAIT_TIME_BEFORE_WORKER_DECLARED_DEAD": 5,
        "PEON_SHUTDOWN_GRACE_SECONDS": 10,
    }
)

# Janitor tests: sweeps every 0.2 s, a peon is dead after 3 s of silence.
JANITOR: Final[Mapping[str, float]] = MappingProxyType(
    {
        "DB_PEON_HEARTBEAT_INTERVAL": 0.5,
        "DB_POLLING_INTERVAL": 0.05,
        "DB_SETUP_WAIT_TIME_BEFORE_WORKER_DECLARED_DEAD": 3,
        "DB_SETUP_CHECK_DEAD_WORKER_INTERVAL": 0.2,
        "DB_SETUP_RUN_SELF_CORRECT_TASK_INTERVAL": 0.2,
        "DB_SETUP_RUN_REOPEN_FAILED_TASK_INTERVAL": 0.2,
        "JANITOR_LEADER_RETRY_INTERVAL": 0.5,
        "PEON_SHUTDOWN_GRACE_SECONDS": 2,
    }
)

# Fault scenarios: fast intervals; each test overrides what its scenario is about.
FAULT: Final[Mapping[str, float]] = MappingProxyType(
    {
        "DB_POLLING_INTERVAL": 0.05,
        "DB_PEON_HEARTBEAT_INTERVAL": 0.5,
        "DB_SETUP_WAIT_TIME_BEFORE_WORKER_DECLARED_DEAD": 5,
        "DB_SETUP_CHECK_DEAD_WORKER_INTERVAL": 0.3,
        "DB_SETUP_RUN_SELF_CORRECT_TASK_INTERVAL": 0.3,
        "DB_SETUP_RUN_REOPEN_FAILED_TASK_INTERVAL": 0.3,
        "JANITOR_LEADER_RETRY_INTERVAL": 0.5,
        "PEON_SHUTDOWN_GRACE_SECONDS": 15,
    }
)

# The Galera cluster test: lease-mode janitors with a 3 s lease. A killed node stalls the
# survivors' commits for ~3 s until it is evicted, so the dead threshold leaves room for that.
CLUSTER: Final[Mapping[str, float]] = MappingProxyType(
    {
        "DB_POLLING_INTERVAL": 0.1,
        "DB_PEON_HEARTBEAT_INTERVAL": 0.5,
        "DB_SETUP_WAIT_TIME_BEFORE_WORKER_DECLARED_DEAD": 8,
        "DB_SETUP_CHECK_DEAD_WORKER_INTERVAL": 0.5,
        "DB_SETUP_RUN_SELF_CORRECT_TASK_INTERVAL": 0.5,
        "DB_SETUP_RUN_REOPEN_FAILED_TASK_INTERVAL": 0.5,
        "JANITOR_LEADER_RETRY_INTERVAL": 0.5,
        "JANITOR_LEASE_SECONDS": 3,
        "JANITOR_SCHEDULE_INTERVAL": 0.5,
        "PEON_SHUTDOWN_GRACE_SECONDS": 5,
    }
)

# The seed README's workcraft.config.json, verbatim (its values are the defaults).
SEED: Final[Mapping[str, float]] = MappingProxyType(
    {
        "DB_PEON_HEARTBEAT_INTERVAL": 5,
        "DB_POLLING_INTERVAL": 5,
        "DB_SETUP_BACKOFF_MULTIPLIER_SECONDS": 30,
        "DB_SETUP_BACKOFF_MAX_SECONDS": 3600,
        "DB_SETUP_RUN_SELF_CORRECT_TASK_INTERVAL": 10,
        "DB_SETUP_RUN_REOPEN_FAILED_TASK_INTERVAL": 10,
        "DB_SETUP_WAIT_TIME_BEFORE_WORKER_DECLARED_DEAD": 60,
        "DB_SETUP_CHECK_DEAD_WORKER_INTERVAL": 10,
    }
)

# Nothing: workcraft's defaults for every key the overrides do not give (the benchmarks).
DEFAULTS: Final[Mapping[str, float]] = MappingProxyType({})


def write_settings(
    directory: Path,
    base: Mapping[str, object] | str = FAST,
    *,
    name: str = "workcraft",
    **overrides: object,
) -> Path:
    """Write ``<directory>/<name>.config.json`` and return its path.

    ``base`` is a preset (or any mapping) that ``overrides`` are laid over; the default name
    is the file a process finds in its working directory. ``base`` may also be the raw text
    of the file, for the tests of the parser (invalid JSON, wrong top-level type); it then
    takes no overrides.
    """
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.config.json"
    if isinstance(base, str):
        if overrides:
            raise TypeError("raw settings text takes no overrides")
        text = base
    else:
        text = json.dumps({**base, **overrides}, indent=2)
    path.write_text(text, encoding="utf-8")
    return path
