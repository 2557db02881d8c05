"""Says at the start and the end of a test run whether the website's browser test can run here."""

from __future__ import annotations

import shutil

import pytest

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
ENABLE_BROWSER_TEST = "sudo apt-get install chromium chromium-driver (Debian, Ubuntu)"


def browser_binaries() -> tuple[str | None, str | None]:
    """The Chromium and chromedriver on PATH that the browser test uses (None where missing)."""
    return next(filter(None, map(shutil.which, BROWSERS)), None), shutil.which("chromedriver")


def browser_test_notice() -> str | None:
    """Why the browser test of the website will be skipped, and how to enable it; None when it runs."""
    missing = [name for name, path in zip(("chromium", "chromedriver"), browser_binaries()) if not path]
    if not missing:
        return None
    return (f"the website's browser test (tests/test_site.py) is SKIPPED: no {' and no '.join(missing)} "
            f"on PATH. To run it: {ENABLE_BROWSER_TEST}")


def pytest_report_header(config: pytest.Config) -> str:
    chromium, driver = browser_binaries()
    return f"browser test: {browser_test_notice() or f'headless {chromium} with {driver}'}"


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    skipped = [report for report in terminalreporter.stats.get("skipped", [])
               if "test_browser" in report.nodeid]
    notice = browser_test_notice()
    if skipped and notice:
        terminalreporter.write_sep("!", "browser test skipped", yellow=True, bold=True)
        terminalreporter.write_line(notice[0].upper() + notice[1:], yellow=True)
