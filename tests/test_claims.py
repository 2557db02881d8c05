"""The lessons' text against their committed results: every claim holds, every quoted number matches.

Each lesson computes a `claims` section into `figures/<lesson>/results.json` (see `helpers.claims`).
Here every claim is re-evaluated on the committed numbers, every quoted text is checked against its
value and must appear in the lesson's prose, and every other number in the prose must be declared as a
constant (a parameter or a textbook value), so that no result is copied into the text unchecked.
"""

from __future__ import annotations

import copy
import json
import re

import nbformat
import pytest

from helpers import claims
from helpers.io import FIGURES_DIR
from helpers.run import discover

LESSONS = discover()
_FENCED = re.compile(r"```.*?```", re.S)
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_LINK_TARGET = re.compile(r"\]\([^)]*\)|https?://\S+|arXiv[: ]\s*\d{4}\.\d{4,5}")
_PROSE_NUMBER = re.compile(r"(?<![\w.])(?:\d+(?:\.\d+)?\s?%|\d+\.\d+(?![\d.]))")


def results(lesson) -> dict:
    return json.loads((FIGURES_DIR / lesson.stem / "results.json").read_text())


def prose(lesson) -> str:
    """The lesson's markdown, without code (fenced blocks, inline code) and link targets."""
    nb = nbformat.read(lesson, as_version=4)
    text = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")
    return _LINK_TARGET.sub(" ", _INLINE_CODE.sub(" ", _FENCED.sub(" ", text)))


def prose_numbers(text: str) -> set[str]:
    return {re.sub(r"\s", "", n) for n in _PROSE_NUMBER.findall(text)}


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_every_claim_and_quote_of_the_lesson_holds_on_its_committed_results(lesson) -> None:
    data = results(lesson)
    assert "claims" in data, f"{lesson.stem} stores no claims section"
    assert claims.failed(data["claims"], data) == []


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_quoted_texts_appear_in_the_lesson_and_no_number_is_quoted_unchecked(lesson) -> None:
    record = results(lesson)["claims"]
    text = prose(lesson)
    quoted = {q["text"] for q in record["quotes"]}
    declared = quoted | {c["text"] for c in record["constants"]}
    assert [t for t in quoted if t not in text] == [], "quoted texts missing from the prose"
    assert sorted(prose_numbers(text) - {re.sub(r"\s", "", t) for t in declared}) == []


@pytest.mark.parametrize("lesson", [p for p in LESSONS if p.stem >= "02"], ids=lambda p: p.stem)
def test_lessons_that_read_codes_make_claims(lesson) -> None:
    assert len(results(lesson)["claims"]["claims"]) >= 3


def test_a_results_file_that_contradicts_a_claim_fails_the_check() -> None:
    for lesson in LESSONS:
        data = results(lesson)
        numeric = [c for c in data["claims"]["claims"] if c["op"] in (">", "<", ">=", "<=")
                   and isinstance(c["left"], str) and c["left"].startswith("/")]
        if not numeric:
            continue
        claim = numeric[0]
        edited = copy.deepcopy(data)
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
        assert claim["statement"] in claims.failed(edited["claims"], edited)
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
    with pytest.raises(ValueError, match="op must be one of"):
        c.compare("bad", "/a", "!=", "/b")
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


def test_prose_numbers_skip_code_links_and_versions() -> None:
    text = "See [arXiv 2205.10952](https://arxiv.org/abs/2205.10952): 0.42 at conv1, 98% fooled, v2.3.6"
    cleaned = _LINK_TARGET.sub(" ", _INLINE_CODE.sub(" ", text + " `eps=0.3`"))
    assert prose_numbers(cleaned) == {"0.42", "98%"}
