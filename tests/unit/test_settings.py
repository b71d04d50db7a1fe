"""``workcraft.config.settings``: the seed's ``workcraft.config.json``, found upwards and
validated."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from tests.support.settings import SEED, write_settings
from workcraft.config.settings import (
    CONFIG_FILE_NAME,
    Settings,
    find_config_file,
    load_settings,
    parse_settings,
)
from workcraft.errors import ConfigError

# The example from the seed README, verbatim.
SEED_CONFIG = SEED


def test_defaults_match_the_seed_readme() -> None:
    defaults = dataclasses.asdict(Settings())
    for key, value in SEED_CONFIG.items():
        assert defaults[key] == value, key


def test_seed_readme_file_loads_to_the_defaults(tmp_path: Path) -> None:
    path = write_settings(tmp_path, SEED_CONFIG)
    assert load_settings(path) == Settings()


def test_missing_explicit_file_is_an_error_and_empty_object_is_defaults(tmp_path: Path) -> None:
    # An explicit path that does not exist is an error, not a silent fallback...
    with pytest.raises(ConfigError, match=CONFIG_FILE_NAME):
        load_settings(tmp_path / CONFIG_FILE_NAME)
    # ...while an empty object is the defaults.
    assert load_settings(write_settings(tmp_path, {})) == Settings()


def test_config_is_found_from_cwd_upwards(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_settings(tmp_path, {"DB_POLLING_INTERVAL": 2})
    nested = tmp_path / "project" / "src"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)

    assert find_config_file() == path.resolve()
    assert load_settings().DB_POLLING_INTERVAL == 2


def test_nearest_config_file_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_settings(tmp_path, {"DB_POLLING_INTERVAL": 2})
    nested = tmp_path / "project"
    nested.mkdir()
    near = write_settings(nested, {"DB_POLLING_INTERVAL": 3})
    monkeypatch.chdir(nested)

    assert find_config_file() == near.resolve()
    assert load_settings().DB_POLLING_INTERVAL == 3


def test_start_directory_can_be_given(tmp_path: Path) -> None:
    path = write_settings(tmp_path, {"DB_POLLING_INTERVAL": 4})
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    assert find_config_file(nested) == path.resolve()
    assert load_settings(start=nested).DB_POLLING_INTERVAL == 4


def test_fractional_intervals_are_accepted(tmp_path: Path) -> None:
    path = write_settings(
        tmp_path,
        {
            "DB_PEON_HEARTBEAT_INTERVAL": 0.5,
            "DB_POLLING_INTERVAL": 0.25,
            "DB_SETUP_WAIT_TIME_BEFORE_WORKER_DECLARED_DEAD": 1.5,
            "DB_SETUP_CHECK_DEAD_WORKER_INTERVAL": 0.1,
        },
    )
    settings = load_settings(path)
    assert settings.DB_PEON_HEARTBEAT_INTERVAL == 0.5
    assert settings.DB_POLLING_INTERVAL == 0.25
    assert settings.DB_SETUP_WAIT_TIME_BEFORE_WORKER_DECLARED_DEAD == 1.5
    assert settings.DB_SETUP_CHECK_DEAD_WORKER_INTERVAL == 0.1


@pytest.mark.parametrize(
    ("content", "key"),
    [
        pytest.param({"DB_POLLING_INTERVALL": 5}, "DB_POLLING_INTERVALL", id="unknown-key"),
        pytest.param({"DB_POLLING_INTERVAL": "5"}, "DB_POLLING_INTERVAL", id="string"),
        pytest.param({"DB_POLLING_INTERVAL": True}, "DB_POLLING_INTERVAL", id="bool"),
        pytest.param({"DB_POLLING_INTERVAL": None}, "DB_POLLING_INTERVAL", id="null"),
        pytest.param({"DB_POLLING_INTERVAL": [5]}, "DB_POLLING_INTERVAL", id="list"),
        pytest.param(
            {"DB_SETUP_CHECK_DEAD_WORKER_INTERVAL": -1},
            "DB_SETUP_CHECK_DEAD_WORKER_INTERVAL",
            id="negative",
        ),
        pytest.param({"DB_POLLING_INTERVAL": -0.5}, "DB_POLLING_INTERVAL", id="negative-fraction"),
        pytest.param({"KEEP_SUCCESS_DAYS": -1}, "KEEP_SUCCESS_DAYS", id="negative-retention"),
        pytest.param({"KEEP_LOGS_DAYS": -0.5}, "KEEP_LOGS_DAYS", id="negative-log-retention"),
        pytest.param(
            {"JANITOR_SWEEP_BATCH_SIZE": 1.5}, "JANITOR_SWEEP_BATCH_SIZE", id="int-with-fraction"
        ),
    ],
)
def test_bad_value_names_file_and_key(tmp_path: Path, content: dict[str, Any], key: str) -> None:
    path = write_settings(tmp_path, content)
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    message = str(info.value)
    assert str(path) in message
    assert key in message


def test_invalid_json_names_the_file(tmp_path: Path) -> None:
    path = write_settings(tmp_path, '{"DB_POLLING_INTERVAL": 5,,}')
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    message = str(info.value)
    assert str(path) in message
    assert "JSON" in message


def test_invalid_json_found_upwards_names_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_settings(tmp_path, "{not json")
    nested = tmp_path / "sub"
    nested.mkdir()
    monkeypatch.chdir(nested)
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert str(path.resolve()) in str(info.value)


def test_top_level_must_be_an_object(tmp_path: Path) -> None:
    path = write_settings(tmp_path, "[1, 2]")
    with pytest.raises(ConfigError, match="object"):
        load_settings(path)


def test_dead_threshold_below_three_heartbeats_is_refused(tmp_path: Path) -> None:
    path = write_settings(
        tmp_path,
        {"DB_PEON_HEARTBEAT_INTERVAL": 5, "DB_SETUP_WAIT_TIME_BEFORE_WORKER_DECLARED_DEAD": 14},
    )
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    message = str(info.value)
    assert str(path) in message
    assert "DB_SETUP_WAIT_TIME_BEFORE_WORKER_DECLARED_DEAD" in message
    assert "DB_PEON_HEARTBEAT_INTERVAL" in message


def test_dead_threshold_of_exactly_three_heartbeats_is_accepted(tmp_path: Path) -> None:
    path = write_settings(
        tmp_path,
        {"DB_PEON_HEARTBEAT_INTERVAL": 5, "DB_SETUP_WAIT_TIME_BEFORE_WORKER_DECLARED_DEAD": 15},
    )
    assert load_settings(path).DB_SETUP_WAIT_TIME_BEFORE_WORKER_DECLARED_DEAD == 15


def test_zero_heartbeat_is_refused() -> None:
    with pytest.raises(ConfigError, match="DB_PEON_HEARTBEAT_INTERVAL"):
        parse_settings({"DB_PEON_HEARTBEAT_INTERVAL": 0}, "inline")


def test_settings_are_frozen() -> None:
    settings = Settings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.DB_POLLING_INTERVAL = 1  # type: ignore[misc]


def test_with_overrides_is_validated() -> None:
    settings = Settings().with_overrides(DB_POLLING_INTERVAL=0.5)
    assert settings.DB_POLLING_INTERVAL == 0.5
    with pytest.raises(ConfigError, match="DB_POLLING_INTERVAL"):
        Settings().with_overrides(DB_POLLING_INTERVAL=-1)
