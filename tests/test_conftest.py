"""The notice of a skipped browser test, at the start and the end of a run (tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

SKIPPING_TEST = '''
import pytest

def test_browser_sees_the_site():
    pytest.skip("no chromium and chromedriver on PATH")
'''


def test_a_run_without_chromium_says_so_first_and_last_with_the_command_that_enables_it(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeconftest((Path(__file__).parent / "conftest.py").read_text())
    pytester.makepyfile(test_site_in_chromium=SKIPPING_TEST)
    monkeypatch.setenv("PATH", str(pytester.path))  # no browser, no driver
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    lines = result.outlines
    header = next(i for i, line in enumerate(lines) if line.startswith("browser test: "))
    assert "SKIPPED: no chromium and no chromedriver on PATH" in lines[header]
    assert "sudo apt-get install chromium chromium-driver" in lines[header]
    summary = next(i for i, line in enumerate(lines) if "browser test skipped" in line)
    assert summary > header and "To run it: sudo apt-get install" in lines[summary + 1]


def test_a_run_with_chromium_names_the_browser_it_uses(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("chromium", "chromedriver"):
        fake = pytester.path / name
        fake.write_text("#!/bin/sh\n")
        fake.chmod(0o755)
    pytester.makeconftest((Path(__file__).parent / "conftest.py").read_text())
    pytester.makepyfile(test_other_things="def test_nothing():\n    pass\n")
    monkeypatch.setenv("PATH", str(pytester.path))
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.stdout.fnmatch_lines([f"browser test: headless {pytester.path}/chromium with *chromedriver"])
    assert "browser test skipped" not in result.stdout.str()
