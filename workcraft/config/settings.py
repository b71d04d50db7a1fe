"""``workcraft.config.json``: found from the working directory upwards, validated, frozen.

Nothing is read at import time; callers load the settings and pass them down.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

from workcraft.errors import ConfigError

CONFIG_FILE_NAME = "workcraft.config.json"


@dataclasses.dataclass(frozen=True)
class Settings:
    """Every setting, with the seed's key names. Intervals are seconds (fractions allowed)."""

    # Peon (read at run time by every peon).
    DB_PEON_HEARTBEAT_INTERVAL: float = 5
    DB_POLLING_INTERVAL: float = 5
    DB_POLLING_INTERVAL_RANDOMNESS_MEAN: float = 0
    DB_POLLING_INTERVAL_RANDOMNESS_STDDEV: float = 0
    PEON_SHUTDOWN_GRACE_SECONDS: float = 30
    # How peons claim: "skip_locked" (SELECT ... FOR UPDATE SKIP LOCKED), "optimistic" (an
    # UPDATE that marks rows, then read back: for servers that lack or ignore SKIP LOCKED,
    # such as TiDB and older Vitess), or "auto": optimistic on TiDB/Vitess, else skip_locked.
    CLAIM_MODE: str = "auto"
    # Janitor (the seed's DB_SETUP_* keys, now read when the janitor starts).
    DB_SETUP_BACKOFF_MULTIPLIER_SECONDS: float = 30
    DB_SETUP_BACKOFF_MAX_SECONDS: float = 3600
    DB_SETUP_RUN_SELF_CORRECT_TASK_INTERVAL: float = 10
    DB_SETUP_RUN_REOPEN_FAILED_TASK_INTERVAL: float = 10
    DB_SETUP_WAIT_TIME_BEFORE_WORKER_DECLARED_DEAD: float = 60
    DB_SETUP_CHECK_DEAD_WORKER_INTERVAL: float = 10
    JANITOR_LEADER_RETRY_INTERVAL: float = 5
    # How janitors elect their leader: "get_lock" (a MySQL named lock), "lease" (a row with
    # a term and an expiry, for Galera and Group Replication, where named locks are per
    # node), or "auto": lease on such a cluster, get_lock elsewhere.
    JANITOR_LEADER_MODE: str = "auto"
    # Lease mode: how long a leader's lease lasts without renewal (it renews every retry
    # interval); a standby takes over once it has run out.
    JANITOR_LEASE_SECONDS: float = 15
    # The server closes a janitor connection silent for this long (a frozen or cut-off
    # leader): the bound on failover when the leader's host vanishes rather than dies.
    JANITOR_SESSION_TIMEOUT: float = 15
    JANITOR_SWEEP_BATCH_SIZE: int = 500
    # How often the leader looks for due occurrences of recurring schedules.
    JANITOR_SCHEDULE_INTERVAL: float = 1
    # Retention: finished rows older than this many days are deleted (0 keeps them forever).
    KEEP_SUCCESS_DAYS: float = 7
    KEEP_CANCELLED_DAYS: float = 7
    KEEP_FAILURE_DAYS: float = 30
    KEEP_INVALID_DAYS: float = 30
    KEEP_LOGS_DAYS: float = 30
    KEEP_OFFLINE_PEONS_DAYS: float = 1
    JANITOR_RETENTION_INTERVAL: float = 60
    # How often the leader adds finished runs to the task_totals counters.
    JANITOR_TOTALS_INTERVAL: float = 5
    # A task whose peon died while running it this many times is failed, not retried again.
    TASK_MAX_CRASHES: int = 3

    def validate(self, source: str = "settings") -> None:
        """Cross-key checks; single-key checks happen while parsing."""
        heartbeat = self.DB_PEON_HEARTBEAT_INTERVAL
        dead = self.DB_SETUP_WAIT_TIME_BEFORE_WORKER_DECLARED_DEAD
        if heartbeat <= 0:
            raise ConfigError(f"{source}: DB_PEON_HEARTBEAT_INTERVAL must be greater than 0")
        if dead < 3 * heartbeat:
            raise ConfigError(
                f"{source}: DB_SETUP_WAIT_TIME_BEFORE_WORKER_DECLARED_DEAD ({dead:g} s) must be "
                f"at least 3x DB_PEON_HEARTBEAT_INTERVAL ({heartbeat:g} s), or live peons "
                "would be declared dead"
            )
        for key in (
            "DB_SETUP_RUN_SELF_CORRECT_TASK_INTERVAL",
            "DB_SETUP_RUN_REOPEN_FAILED_TASK_INTERVAL",
            "DB_SETUP_CHECK_DEAD_WORKER_INTERVAL",
            "JANITOR_LEADER_RETRY_INTERVAL",
            "JANITOR_SCHEDULE_INTERVAL",
            "JANITOR_RETENTION_INTERVAL",
            "JANITOR_TOTALS_INTERVAL",
        ):
            if getattr(self, key) <= 0:
                raise ConfigError(f"{source}: {key} must be greater than 0")
        retry = self.JANITOR_LEADER_RETRY_INTERVAL
        if retry > 0 and 2 * retry + 1 > self.JANITOR_SESSION_TIMEOUT:
            raise ConfigError(
                f"{source}: JANITOR_SESSION_TIMEOUT ({self.JANITOR_SESSION_TIMEOUT:g} s) must be "
                f"at least 2x JANITOR_LEADER_RETRY_INTERVAL + 1 ({2 * retry + 1:g} s): the "
                "leader talks on its lock connection once per retry interval"
            )
        if self.JANITOR_SWEEP_BATCH_SIZE < 1 or self.TASK_MAX_CRASHES < 1:
            raise ConfigError(
                f"{source}: JANITOR_SWEEP_BATCH_SIZE and TASK_MAX_CRASHES must be >= 1"
            )

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with some keys changed (validated like a file)."""
        return parse_settings({**dataclasses.asdict(self), **changes}, "overrides")


_FIELDS = {field.name: field for field in dataclasses.fields(Settings)}


# Settings that take a word, and the words they take.
_CHOICES: dict[str, tuple[str, ...]] = {
    "JANITOR_LEADER_MODE": ("auto", "get_lock", "lease"),
    "CLAIM_MODE": ("auto", "skip_locked", "optimistic"),
}


def _parse_value(key: str, value: Any, source: str) -> float | int | str:
    expected = _FIELDS[key].type
    if key in _CHOICES:
        if value not in _CHOICES[key]:
            raise ConfigError(
                f"{source}: {key} must be one of {', '.join(_CHOICES[key])}, got {value!r}"
            )
        return str(value)
    # bool is an int in Python; a JSON true/false is never a valid interval.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{source}: {key} must be a number, got {type(value).__name__} {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ConfigError(f"{source}: {key} must be a non-negative number, got {value!r}")
    if expected in ("int", int):
        if value != int(value):
            raise ConfigError(f"{source}: {key} must be a whole number, got {value!r}")
        return int(value)
    return float(value)


def parse_settings(raw: Any, source: str) -> Settings:
    """Turn a decoded JSON object into validated ``Settings``; every error names the key."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: must hold a JSON object, got {type(raw).__name__}")
    values: dict[str, float | int | str] = {}
    for key, value in raw.items():
        if key not in _FIELDS:
            raise ConfigError(f"{source}: unknown key {key!r}")
        values[key] = _parse_value(key, value, source)
    settings = Settings(**values)  # type: ignore[arg-type]
    settings.validate(source)
    return settings


def find_config_file(start: Path | None = None) -> Path | None:
    """The nearest ``workcraft.config.json`` from ``start`` (default: cwd) upwards."""
    directory = (start or Path.cwd()).resolve()
    for candidate_dir in (directory, *directory.parents):
        candidate = candidate_dir / CONFIG_FILE_NAME
        if candidate.is_file():
            return candidate
    return None


def load_settings(path: Path | None = None, start: Path | None = None) -> Settings:
    """Load ``path``, or the nearest config file, or the defaults when there is none."""
    config_path = path if path is not None else find_config_file(start)
    if config_path is None:
        return Settings()
    try:
        text = config_path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{config_path}: cannot read ({exc.strerror})") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{config_path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    return parse_settings(raw, str(config_path))
