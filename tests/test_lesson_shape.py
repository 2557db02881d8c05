"""Lessons a class can follow: a core of one question, exercises that feed it, colours from one palette.

The core of a lesson is everything before its "## Going further" heading (the whole lesson if it has
none): at most 2,000 words of prose and four figures, with a time at the top that adds up.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest

from helpers.io import REPO_ROOT
from helpers.run import discover

LESSONS = discover()
GOING_FURTHER = "## Going further"
CORE_WORDS, CORE_FIGURES, CLASS_MINUTES = 2000, 4, 60
READING_WORDS_PER_MINUTE = 150
FIGURE_CALL = re.compile(r"\b(?:save_and_show|plt\.show)\(")
# A colour given as a literal (a name, a hex code, a gray level, "C1", "tab:blue") instead of from
# helpers.plots; "none" (hollow markers) and white (text on dark cells) are not colours of a thing.
LITERAL_COLOUR = re.compile(
    r"""\b(?:color|colors|c|palette|facecolor|edgecolor|fc|ec|mfc|mec|markerfacecolor|markeredgecolor)"""
    r"""\s*=\s*(["'])(?!(?:none|white|w)\1)[^"']*\1""")
HEX_COLOUR = re.compile(r"""["']#[0-9a-fA-F]{6}["']""")
OWN_PALETTE = re.compile(r"sns\.color_palette\(|OKABE_ITO")


def _cells(path: Path) -> list[nbformat.NotebookNode]:
    return nbformat.read(path, as_version=4).cells


def _core(cells: list[nbformat.NotebookNode]) -> list[nbformat.NotebookNode]:
    starts = [i for i, c in enumerate(cells)
              if c.cell_type == "markdown" and c.source.startswith(GOING_FURTHER)]
    return cells[:starts[0]] if starts else cells


def _words(cells: list[nbformat.NotebookNode]) -> int:
    return len(re.findall(r"\S+", "\n".join(c.source for c in cells if c.cell_type == "markdown")))


def _tagged(cells: list[nbformat.NotebookNode], tag: str) -> list[nbformat.NotebookNode]:
    return [c for c in cells if tag in c.metadata.get("tags", [])]


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_the_core_has_at_most_2000_words_and_four_figures(path) -> None:
    core = _core(_cells(path))
    assert _words(core) <= CORE_WORDS
    figures = sum(len(FIGURE_CALL.findall(c.source)) for c in core if c.cell_type == "code")
    assert figures <= CORE_FIGURES


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_the_stated_time_adds_up_and_fits_a_class(path) -> None:
    """"About N minutes: a reading, b …, c …" with N = a + b + c = the core's section times, N <= 60."""
    core = _core(_cells(path))
    text = "\n".join(c.source for c in core if c.cell_type == "markdown")
    stated = re.search(r"About (\d+) minutes: ([^.\n]*)", text)
    assert stated, "the time at the top"
    total, parts = int(stated[1]), [int(n) for n in re.findall(r"(\d+) [a-z]", stated[2])]
    reading = re.search(r"(\d+) reading", stated[2])
    assert reading and sum(parts) == total <= CLASS_MINUTES
    assert int(reading[1]) >= _words(core) / READING_WORDS_PER_MINUTE
    sections = [int(n) for n in re.findall(r"Estimated time: (\d+) min", text)]
    assert sum(sections) == total


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_the_key_exercise_feeds_a_later_cell_and_one_asks_for_a_control(path) -> None:
    cells = _core(_cells(path))
    fed = False
    for index, stub in enumerate(cells):
        if "exercise" not in stub.metadata.get("tags", []):
            continue
        names = [n.name for n in ast.parse(stub.source).body if isinstance(n, ast.FunctionDef)]
        later = [c.source for c in cells[index + 1:]
                 if c.cell_type == "code" and "solution" not in c.metadata.get("tags", [])]
        fed |= any(re.search(rf'exercises\.feed\(\s*"[^"]+",\s*{name}\b', source)
                   for name in names for source in later)
    assert fed, "no exercise's function goes through exercises.feed into a later cell"
    assert _tagged(cells, "control"), "no exercise tagged 'control' (a control or a decision)"


@pytest.mark.parametrize("path", [*LESSONS, *sorted((REPO_ROOT / "helpers").glob("*.py"))],
                         ids=lambda p: p.name)
def test_colours_come_from_the_series_palette(path) -> None:
    if path.name == "plots.py":
        pytest.skip("the palette itself")
    sources = ([c.source for c in _cells(path) if c.cell_type == "code"] if path.suffix == ".ipynb"
               else [path.read_text()])
    for source in sources:
        for pattern in (LITERAL_COLOUR, HEX_COLOUR, OWN_PALETTE):
            found = pattern.search(source)
            assert not found, f"{found[0]!r}: take the colour from helpers.plots"


@pytest.mark.parametrize("source, literal", [
    ('ax.plot(x, color="tab:blue")', True), ("ax.scatter(x, y, c='#123456')", True),
    ('ax.axhline(0, color="0.6")', True), ('ax.plot(x, mfc="none")', False),
    ('ax.text(0, 0, "a", color="white")', False), ("ax.plot(x, color=plots.color('pgd'))", False),
])
def test_the_literal_colour_pattern_tells_literals_from_palette_colours(source, literal) -> None:
    assert bool(LITERAL_COLOUR.search(source) or HEX_COLOUR.search(source)) == literal
