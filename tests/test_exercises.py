"""Exercise checks, and every lesson's coding exercise with its hidden, tagged solution."""

from __future__ import annotations

import nbformat
import numpy as np
import pytest
import torch

from helpers import exercises
from helpers.run import discover


def test_check_reports_a_stub_without_raising(capsys) -> None:
    def stub(x):
        raise NotImplementedError

    assert exercises.check("sum", stub, [((1,), 1)]) is None
    assert exercises.check("sum", lambda x: None, [((1,), 1)]) is None
    assert capsys.readouterr().out.count("not filled in yet") == 2


def test_check_says_which_case_is_wrong_and_reports_errors(capsys) -> None:
    cases = [((np.array([1.0, 2.0]),), 3.0), ((np.array([4.0]),), 4.0)]
    assert exercises.check("sum", lambda x: x.sum(), cases) is True
    assert exercises.check("sum", lambda x: x[0], cases) is False
    assert exercises.check("sum", lambda x: x.nope(), cases) is False
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "sum: correct on 2 case(s)."
    assert out[1].startswith("sum: not right yet. Case 1: expected 3.0, got 1.0")
    assert out[2].startswith("sum: case 1 raised AttributeError")


def test_check_compares_tensors_arrays_shapes_and_labels() -> None:
    assert exercises.check("t", lambda: torch.tensor([0.5, 1.0]), [((), np.array([0.5, 1.0]))])
    assert not exercises.check("shape", lambda: np.zeros(3), [((), np.zeros((3, 1)))])
    assert not exercises.check("tol", lambda: 1.001, [((), 1.0)], atol=1e-6)
    assert exercises.check("str", lambda: "fc", [((), "fc")])
    with pytest.raises(ValueError, match="cases must hold at least one"):
        exercises.check("none", lambda: 1, [])


@pytest.mark.parametrize("lesson", discover(), ids=lambda p: p.stem)
def test_every_lesson_has_a_coding_exercise_with_a_hidden_checked_solution(lesson) -> None:
    cells = nbformat.read(lesson, as_version=4).cells
    stubs = [c for c in cells if "exercise" in c.metadata.get("tags", [])]
    solutions = [c for c in cells if "solution" in c.metadata.get("tags", [])]
    assert stubs and len(stubs) == len(solutions)
    for stub in stubs:
        assert stub.cell_type == "code" and "exercises.check(" in stub.source
        assert "NotImplementedError" in stub.source
    for solution in solutions:
        assert solution.cell_type == "code" and "exercises.check(" in solution.source
        assert solution.metadata.get("jupyter", {}).get("source_hidden") is True


def test_a_wrong_array_is_described_in_one_short_line(capsys) -> None:
    expected = np.zeros((10, 28, 28))
    wrong = expected.copy()
    wrong[3, 4, 5] = 0.5
    assert exercises.check("means", lambda: wrong, [((), expected)]) is False
    assert exercises.check("means", lambda: wrong[0], [((), expected)]) is False
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == ("means: not right yet. Case 1: 1 of 7840 values differ; largest gap at index "
                        "(3, 4, 5): expected 0.0, got 0.5.")
    assert lines[1] == "means: not right yet. Case 1: expected shape (10, 28, 28), got shape (28, 28)."
