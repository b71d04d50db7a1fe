"""Logging set-up: what reaches people and what does not."""

from __future__ import annotations

import logging

import pytest

from workcraft.config.logs import BackgroundHandler, configure_logging


def test_a_sweep_outlasting_its_interval_is_not_a_warning_per_tick(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("plain", "INFO")
    scheduler = logging.getLogger("apscheduler.scheduler")
    scheduler.warning(
        'Execution of job "Janitor.run_sweep" skipped: maximum number of running instances '
        "reached (1)"
    )
    scheduler.warning("a scheduler warning worth reading")
    root = logging.getLogger()
    for handler in root.handlers:
        handler.flush()  # waits for the background writer
    err = capsys.readouterr().err
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    assert "maximum number of running instances" not in err
    assert "a scheduler warning worth reading" in err


@pytest.mark.parametrize("writer_thread", [False, True])
def test_lines_reach_stderr_written_in_place_or_by_the_writer_thread(
    capsys: pytest.CaptureFixture[str], writer_thread: bool
) -> None:
    configure_logging("plain", "INFO", writer_thread=writer_thread)
    root = logging.getLogger()
    try:
        assert isinstance(root.handlers[0], BackgroundHandler) is writer_thread
        logging.getLogger("workcraft.peon").info("task %s SUCCESS", "noop")
        if writer_thread:
            root.handlers[0].flush()  # waits for the writer thread
        # In place, the line is out before info() returns: nothing waits in a buffer.
        assert "workcraft.peon: task noop SUCCESS" in capsys.readouterr().err
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
            handler.close()
