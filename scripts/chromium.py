"""Headless Chromium for the report's browser tests and scripts/measure_report.py:
Debian's `chromium` driven through Debian's `chromium-driver` by Selenium. Never a
downloaded browser: without both binaries the tests skip with one line saying why
(scripts/_chromium.sh installs them when it may).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

CHROMIUM_NAMES = ("chromium", "chromium-browser")
DRIVER_NAMES = ("chromedriver",)
WINDOW = (1280, 900)


def missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (requirements.txt)"
    if not any(shutil.which(name) for name in CHROMIUM_NAMES):
        return "chromium is not installed (Debian package chromium; scripts/_chromium.sh)"
    if not any(shutil.which(name) for name in DRIVER_NAMES):
        return (
            "chromedriver is not installed (Debian package chromium-driver; scripts/_chromium.sh)"
        )
    return None


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium WebDriver that records the console; quit on exit."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary = next(p for p in map(shutil.which, CHROMIUM_NAMES) if p)
    driver_path = next(p for p in map(shutil.which, DRIVER_NAMES) if p)
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in (
        "--headless=new",
        "--no-sandbox",  # as root (containers, CI) Chromium refuses to start without it
        "--disable-dev-shm-usage",  # a small /dev/shm in containers
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
        "--disable-background-networking",  # no update checks or other traffic of its own
        "--disable-component-update",
        "--disable-sync",
        "--metrics-recording-only",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # The driver given by path: Selenium Manager never looks for (or downloads) one.
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    try:
        driver.set_page_load_timeout(60)
        yield driver
    finally:
        driver.quit()


def console_problems(driver: Any) -> list[dict[str, Any]]:
    """Console entries of level WARNING or SEVERE (errors, CSP violations, failed loads)."""
    return [e for e in driver.get_log("browser") if e.get("level") in ("SEVERE", "WARNING")]
