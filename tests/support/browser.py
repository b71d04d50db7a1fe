"""A headless Chromium driven by Selenium, for the dashboard's browser tests, and the
screenshots they leave in ``test-artifacts/screens/`` (not committed: look at them).

Chromium and its driver are Debian's (``apt-get install chromium chromium-driver``; CI's
``scripts/ensure-apt-packages.sh`` installs them). Flags for a machine with no display, no
network and root: no sandbox, no GPU, nothing that phones home; a fresh profile each time.
"""

from __future__ import annotations

import base64
import contextlib
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from tests.support.procs import REPO_ROOT

SCREENS = REPO_ROOT / "test-artifacts" / "screens"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1440,1000",
)
T = TypeVar("T")


def chromium_binaries() -> tuple[str, str] | None:
    """(chromium, chromedriver), or None when either is not installed."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


@contextlib.contextmanager
def chromium(profile: Path) -> Iterator[Any]:
    """A Selenium ``webdriver.Chrome`` on a fresh profile in ``profile``; quit afterwards."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binaries = chromium_binaries()
    assert binaries is not None, "chromium and chromedriver are not installed"
    browser, driver_path = binaries
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def screenshot(driver: Any, name: str) -> Path:
    """The whole page (not just the window) as ``test-artifacts/screens/<name>.png``."""
    SCREENS.mkdir(parents=True, exist_ok=True)
    metrics = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
    size = metrics.get("cssContentSize") or metrics["contentSize"]
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1},
        },
    )
    path = SCREENS / f"{name}.png"
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


def retry_stale(action: Callable[[], T], attempts: int = 5) -> T:
    """Run ``action`` again when the element it used was swapped out by a live refresh."""
    from selenium.common.exceptions import StaleElementReferenceException

    for _ in range(attempts - 1):
        try:
            return action()
        except StaleElementReferenceException:
            continue
    return action()
