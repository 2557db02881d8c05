"""The lessons' text against their committed results, through the findings declared outside the lessons.

Each lesson's findings and quotes are declared in `tests/claims/<lesson>.py` (see `helpers.claims`) and
evaluated here on the committed `figures/<lesson>/results.json`: every finding holds, every quoted value
is printed in the lesson's prose (within one unit of its last digit), and every other number in the
prose is declared as a constant (a parameter or a textbook value), so that no result is copied into the
text unchecked. The notebooks hold no claim bookkeeping.
"""

from __future__ import annotations

import copy
import json
import re

import nbformat
import pytest
from nbformat.v4 import new_markdown_cell, new_notebook

from helpers import claims
from helpers.io import FIGURES_DIR, REPO_ROOT
from helpers.run import discover

LESSONS = discover()
_PROSE_NUMBER = re.compile(r"(?<![\w.])(?:\d+(?:\.\d+)?\s?%|\d+\.\d+(?![\d.]))")


def results(lesson) -> dict:
    return json.loads((FIGURES_DIR / lesson.stem / "results.json").read_text())


def findings(lesson) -> claims.Claims:
    return claims.lesson_findings(lesson.stem, results(lesson))


def prose_numbers(text: str) -> set[str]:
    return {re.sub(r"\s", "", n) for n in _PROSE_NUMBER.findall(text)}


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_findings_are_declared_outside_the_lesson_and_its_results(lesson) -> None:
    assert (claims.FINDINGS_DIR / f"{lesson.stem}.py").exists()
    code = [c.source for c in nbformat.read(lesson, as_version=4).cells if c.cell_type == "code"]
    assert not [source for source in code if "Claims(" in source or "claims." in source]
    assert "claims" not in results(lesson)


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_every_finding_and_quote_of_the_lesson_holds_on_its_committed_results(lesson) -> None:
    found = findings(lesson)
    assert claims.failed(found.as_dict(), found.results, claims.lesson_prose(lesson)) == []


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_quotes_print_no_more_digits_than_their_uncertainty_supports(lesson) -> None:
    found = findings(lesson)
    assert [q["text"] for q in found.quotes if not claims.quote_precision_supported(q, found.results)] == []


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_no_number_in_the_prose_is_quoted_unchecked(lesson) -> None:
    found, text = findings(lesson), claims.lesson_prose(lesson)
    declared = {claims.quoted_text(q, found.results, text) for q in found.quotes}
    declared |= {c["text"] for c in found.constants}
    assert sorted(prose_numbers(text) - {re.sub(r"\s", "", t).lstrip("+-−") for t in declared if t}) == []


@pytest.mark.parametrize("lesson", [p for p in LESSONS if p.stem >= "02"], ids=lambda p: p.stem)
def test_lessons_that_read_codes_make_claims(lesson) -> None:
    assert len(findings(lesson).claims) >= 3


def test_a_results_file_that_contradicts_a_claim_fails_the_check() -> None:
    for lesson in LESSONS:
        found = findings(lesson)
        numeric = [c for c in found.claims if c["op"] in (">", "<", ">=", "<=")
                   and isinstance(c["left"], str) and c["left"].startswith("/")
                   and isinstance(claims.resolve(found.results, c["right"]), (int, float))]
        if not numeric:
            continue
        claim = numeric[0]
        edited = copy.deepcopy(results(lesson))
        *parents, leaf = claim["left"][1:].split("/")
        target = edited
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        right = claims.resolve(edited, claim["right"])
        # move the left value to the wrong side of the right one
        flipped = right - 1.0 if claim["op"].startswith(">") else right + 1.0
        if isinstance(target, list):
            target[int(leaf)] = flipped
        else:
            target[leaf] = flipped
        assert claim["statement"] in claims.failed(found.as_dict(), edited)
        return
    pytest.fail("no lesson makes a numeric claim")


def test_claims_compare_with_margins_and_operators() -> None:
    results_ = {"a": 0.30, "b": 0.25, "layer": "fc", "none": None}
    c = claims.Claims(results_)
    assert c.compare("a above b", "/a", ">", "/b", margin=0.04)
    assert not c.compare("a above b by a lot", "/a", ">", "/b", margin=0.1)
    assert c.compare("b below a", "/b", "<", 0.3, margin=0.01)
    assert c.compare("a near b", "/a", "~=", "/b", margin=0.05)
    assert not c.compare("a near b, tightly", "/a", "~=", "/b", margin=0.01)
    assert c.compare("takeover deep", "/layer", "in", ["conv3", "fc"])
    assert not c.compare("missing value is not above", "/none", ">", 0.0)
    assert [x["holds"] for x in c.claims] == [True, False, True, True, False, True, False]
    assert c.compare("a at most a tenth above b", "/a", "<", "/b", margin=-0.1)
    with pytest.raises(ValueError, match="op must be one of"):
        c.compare("bad", "/a", "!=", "/b")
    with pytest.raises(ValueError, match="margin must be a finite number"):
        c.compare("bad", "/a", "~=", "/b", margin=-0.1)
    with pytest.raises(KeyError, match="pointer '/c' names nothing"):
        claims.resolve(results_, "/c")


def test_quotes_match_within_one_unit_of_the_last_digit() -> None:
    data = {"share": 0.9876, "index": {"conv1": 0.418}}
    c = claims.Claims(data)
    assert c.quote("/share", "{:.1%}") == "98.8%"
    assert c.quote("/index/conv1", "{:.2f}") == "0.42"
    assert claims.failed(c.as_dict(), data) == []
    data["index"]["conv1"] = 0.429            # 0.43 when printed: still within one unit of "0.42"
    assert claims.failed(c.as_dict(), data) == []
    data["index"]["conv1"] = 0.44
    assert claims.failed(c.as_dict(), data) == ["quote '0.42' (/index/conv1)"]


def test_prose_numbers_skip_code_links_and_versions(tmp_path) -> None:
    text = "See [arXiv 2205.10952](https://arxiv.org/abs/2205.10952): 0.42 at conv1, 98% fooled, v2.3.6"
    nbformat.write(new_notebook(cells=[new_markdown_cell(text + " `eps=0.3`\n```\n0.5\n```")]),
                   tmp_path / "lesson.ipynb")
    assert prose_numbers(claims.lesson_prose(tmp_path / "lesson.ipynb")) == {"0.42", "98%"}


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_every_compared_value_has_its_support_or_a_reason_for_none(lesson) -> None:
    found = findings(lesson)
    assert found.lacking_support() == []
    assert all(u["reason"] for u in found.unsupported)


def test_a_value_without_support_must_be_declared() -> None:
    c = claims.Claims({"a": 0.3, "b": 0.1, "support": {"/a": [0.29, 0.3, 0.31]}})
    c.compare("a above b", "/a", ">", "/b")
    assert c.lacking_support() == ["/b"]
    c.without_support("^/b$", "a constant of the setup")
    assert c.lacking_support() == []


def test_the_readme_headline_holds_on_the_committed_results() -> None:
    found = claims.lesson_findings("readme", claims.series_results())
    prose = claims.headline_prose(REPO_ROOT / "README.md")
    assert claims.failed(found.as_dict(), found.results, prose) == []
    assert found.lacking_support() == []
    declared = {claims.quoted_text(q, found.results, prose) for q in found.quotes}
    declared |= {c["text"] for c in found.constants}
    assert sorted(prose_numbers(prose) - {re.sub(r"\s", "", t).lstrip("-−") for t in declared if t}) == []
