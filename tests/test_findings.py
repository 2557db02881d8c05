"""Declared findings, evaluated on results: the check the runner prints after a full run."""

from __future__ import annotations

import json

import nbformat
import pytest
from nbformat.v4 import new_markdown_cell, new_notebook

from helpers import claims, run

TOY_FINDINGS = '''
from helpers.claims import Claims


def findings(results: dict) -> Claims:
    found = Claims(results)
    found.compare("a is above b", "/a", ">", "/b")
    found.quote("/a", "{:.1f}")
    return found
'''


@pytest.fixture
def toy(tmp_path):
    """Lesson 99_toy, whose prose quotes 2.0: its findings module, its notebook, a folder for its results."""
    (tmp_path / "claims").mkdir()
    (tmp_path / "claims" / "99_toy.py").write_text(TOY_FINDINGS)
    (tmp_path / "figures" / "99_toy").mkdir(parents=True)
    prose = "# 99 · Toy\n\nHere a is 2.0, above b, which is 1.5 (`b = 0.25`)."
    lesson = new_notebook(cells=[new_markdown_cell(prose)])
    nbformat.write(lesson, tmp_path / "99_toy.ipynb")
    return tmp_path


def _results(toy, **values) -> object:
    path = toy / "figures" / "99_toy" / "results.json"
    path.write_text(json.dumps(values))
    return path


def _check(toy, **values) -> list[str]:
    return claims.check_findings("99_toy", _results(toy, **values), toy / "99_toy.ipynb", toy / "claims")


@pytest.mark.parametrize("a", [2.0, 2.04, 2.14, 1.86])  # the prose's 2.0, or one unit of 0.1 either side
def test_findings_that_hold_give_one_line(toy, capsys, a) -> None:
    assert _check(toy, a=a, b=1.0) == []
    assert capsys.readouterr().out == "99_toy: all 2 findings and quotes hold\n"


def test_findings_that_fail_are_listed(toy, capsys) -> None:
    assert _check(toy, a=2.5, b=3.0) == ["a is above b", "quote '2.5' (/a)"]  # the prose says 2.0
    assert capsys.readouterr().out.splitlines() == [
        "99_toy: 2 of 2 findings and quotes FAIL on these results:",
        "    FAILS  a is above b", "    FAILS  quote '2.5' (/a)"]


def test_a_finding_with_support_holds_only_when_its_interval_does(toy, capsys) -> None:
    wide = {"/a": [1.2, 1.9, 2.0, 2.1, 2.8]}                  # a resample reaches below b
    assert _check(toy, a=2.0, b=1.5, support={"/a": [1.9, 2.0, 2.1]}) == []
    assert _check(toy, a=2.0, b=1.5, support=wide) == [
        "a is above b (95% interval of the difference: -0.23 to +1.23)"]
    assert _check(toy, a=2.0, b=1.5, support={"/a": {"interval": [1.6, 2.4], "method": "wilson"}}) == []
    assert "FAILS  a is above b (95% interval" in capsys.readouterr().out


def test_a_quote_is_a_number_of_its_own_in_the_prose(toy) -> None:
    assert _check(toy, a=1.5, b=1.0) == []  # 1.5 is in the prose
    assert _check(toy, a=0.5, b=0.0) == ["quote '0.5' (/a)"]  # only inside "1.5"
    assert _check(toy, a=0.25, b=0.0) == ["quote '0.2' (/a)"]  # 0.25 only in inline code


def test_a_lesson_without_a_findings_module_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="99_toy declares no findings: .*99_toy.py is missing"):
        claims.lesson_findings("99_toy", {}, tmp_path)


def test_a_full_run_checks_each_lessons_findings_and_ends_in_an_error_if_one_fails(
    toy, monkeypatch, capsys
) -> None:
    notebook = toy / "99_toy.ipynb"
    monkeypatch.setattr(run, "FIGURES_DIR", toy / "figures")
    monkeypatch.setattr(run, "FINDINGS_DIR", toy / "claims")
    def check(lesson, path, notebook):
        return claims.check_findings(lesson, path, notebook, toy / "claims")

    monkeypatch.setattr(run, "check_findings", check)
    monkeypatch.setattr(run, "parameters_for", lambda *args: {})
    monkeypatch.setattr(run, "run_notebook", lambda path, *args: run.NotebookRun(path.stem, 1.0, 10.0))
    _results(toy, a=2.0, b=1.0)
    run.run_series("full", [str(notebook)])
    assert "99_toy: all 2 findings and quotes hold" in capsys.readouterr().out

    _results(toy, a=0.0, b=1.0)
    with pytest.raises(run.FindingsFailed, match="2 findings or quotes of 99_toy do not hold"):
        run.run_series("full", [str(notebook)])
    run.run_series("smoke", [str(notebook)])  # the findings describe the full profile's results only
    assert "findings" not in capsys.readouterr().out.split("FAIL")[-1]
