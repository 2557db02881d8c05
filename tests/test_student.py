"""Student editions: stubs kept, solutions gone, outputs cleared, a note on top; every lesson still runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from helpers import run, student
from helpers.student import EXERCISE_TAG, NOTE_TAG, SOLUTION_TAG, STUDENT_STATE_TAG

LESSONS = run.discover()

SOLUTION = '''def double(x: float) -> float:
    """Twice x."""
    y = x + x
    return y


@cache
def halve(x):
    return x / 2


check("double", double, [((1.0,), 2.0)])'''

STUB = '''def double(x: float) -> float:
    """Twice x."""
    raise NotImplementedError("your code here")


@cache
def halve(x):
    raise NotImplementedError("your code here")


check("double", double, [((1.0,), 2.0)])'''


def _tagged(source: str, tag: str, **metadata) -> nbformat.NotebookNode:
    return new_code_cell(source, metadata={"tags": [tag], **metadata})


def _toy_lesson(with_stub: bool) -> nbformat.NotebookNode:
    printed = [new_output("stream", name="stdout", text="1\n")]
    executed = new_code_cell("x = 1", execution_count=3, outputs=printed)
    cells = [new_markdown_cell("# 99 · Toy"), executed]
    if with_stub:
        cells.append(_tagged(STUB, EXERCISE_TAG))
    cells.append(_tagged(SOLUTION, SOLUTION_TAG, jupyter={"source_hidden": True}))
    cells.append(new_markdown_cell("## Summary"))
    return new_notebook(cells=cells)


def test_stub_from_solution_keeps_signatures_docstrings_decorators_and_the_check() -> None:
    assert student.stub_from_solution(SOLUTION) == STUB


def test_a_solution_with_its_own_stub_is_dropped_and_outputs_are_cleared() -> None:
    lesson = _toy_lesson(with_stub=True)
    edition = student.student_edition(lesson, "99_toy")
    assert [c.metadata.get("tags", []) for c in edition.cells] == [[NOTE_TAG], [], [], [EXERCISE_TAG], []]
    assert "99_toy" in edition.cells[0].source and "notebooks/99_toy.ipynb" not in edition.cells[0].source
    assert edition.cells[2].outputs == [] and edition.cells[2].execution_count is None
    assert SOLUTION_TAG in lesson.cells[-2].metadata["tags"] and lesson.cells[1].outputs  # the input is kept


def test_a_solution_without_a_stub_becomes_one_visible_exercise_cell() -> None:
    edition = student.student_edition(_toy_lesson(with_stub=False), "99_toy")
    (exercise,) = [c for c in edition.cells if EXERCISE_TAG in c.metadata.get("tags", [])]
    assert exercise.source == STUB and "source_hidden" not in exercise.metadata.get("jupyter", {})
    assert not any(SOLUTION_TAG in c.metadata.get("tags", []) for c in edition.cells)


def test_cli_writes_a_bundle_of_the_chosen_lessons_and_replaces_only_a_bundle(tmp_path, capsys) -> None:
    bundle = tmp_path / "handout"
    student.main(["--out-dir", str(bundle), "00", "01_training"])
    written = sorted(p.name for p in (bundle / "notebooks").iterdir())
    assert written == ["00_overview.ipynb", "01_training.ipynb"]
    assert "(2 lessons, no solutions)" in capsys.readouterr().out
    student.main(["--out-dir", str(bundle), "02"])  # a bundle is replaced as a whole
    assert [p.name for p in (bundle / "notebooks").iterdir()] == ["02_som_per_layer.ipynb"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["handout"]  # no staging folder left
    (tmp_path / "mine").mkdir()
    with pytest.raises(FileExistsError, match="exists and is not a student bundle"):
        student.write_bundle(tmp_path / "mine")


def _solution_lines_unseen(lesson: nbformat.NotebookNode, shown: set[str]) -> list[str]:
    """The lines of the lesson's solution cells (of 25 characters or more) that no cell the student sees
    has (`shown`: the lines of every lesson's other cells)."""
    return [line for line in _solution_lines(lesson) - shown if len(line) >= 25]


def test_the_bundle_holds_what_a_student_needs_and_no_solution(tmp_path) -> None:
    bundle = student.write_bundle(tmp_path / "handout")
    files = [p for p in bundle.rglob("*") if p.is_file()]
    names = {p.relative_to(bundle).as_posix() for p in files}
    assert {f"notebooks/{p.name}" for p in LESSONS} <= names
    assert {"README.md", "Makefile", "requirements.txt", "environment.yml", "pyproject.toml",
            "helpers/__init__.py", "helpers/run.py", "data/MNIST/raw/train-images-idx3-ubyte.gz",
            "data/MNIST/raw/SHA256SUMS", "figures/bench/robustness_06.json"} <= names
    assert not any(name.startswith(("tests/", "artifacts/", ".ci/")) for name in names)
    teacher = {path: nbformat.read(path, as_version=4) for path in LESSONS}
    shown = {line.strip() for lesson in teacher.values() for c in lesson.cells
             if SOLUTION_TAG not in c.metadata.get("tags", []) for line in c.source.splitlines()}
    for path in LESSONS:  # every notebook is a student edition, and no solution is anywhere
        edition = nbformat.read(bundle / "notebooks" / path.name, as_version=4)
        assert NOTE_TAG in edition.cells[0].metadata["tags"]
        assert not any(SOLUTION_TAG in c.metadata.get("tags", []) for c in edition.cells)
        assert "notebooks/" not in edition.cells[0].source  # it names no teacher edition
        cells = [c.source for c in teacher[path].cells if SOLUTION_TAG in c.metadata.get("tags", [])]
        lines = _solution_lines_unseen(teacher[path], shown)
        assert cells and lines
        for file in files:  # no solution cell anywhere; no solution line in any notebook or text
            content = file.read_bytes().decode("utf-8", errors="ignore")
            assert not [cell for cell in cells if cell in content], (path.stem, file)
            if file.suffix != ".py":  # the helpers may share a line with a solution (the reference)
                assert not [line for line in lines if line in content], (path.stem, file)
    readme = (bundle / "README.md").read_text()
    assert "make check" in readme and "make lab" in readme
    assert "requirements.txt" in (bundle / "Makefile").read_text()


def test_a_lesson_runs_from_the_bundle_alone(tmp_path) -> None:
    """The smoke run of lesson 00's student edition, with the bundle's own helpers and data."""
    bundle = student.write_bundle(tmp_path / "handout", run.select(["00"]))
    env = {**os.environ, "PYTHONPATH": str(bundle)}
    done = subprocess.run([sys.executable, "-m", "helpers.run", "--profile", "smoke", "00"], cwd=bundle,
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    executed = nbformat.read(bundle / "artifacts" / "smoke" / "executed" / "00_overview.ipynb", as_version=4)
    assert NOTE_TAG in executed.cells[0].metadata["tags"]
    outputs = [o for c in executed.cells if c.cell_type == "code" for o in c.outputs]
    assert outputs and not [o for o in outputs if o.output_type == "error"]


def _solution_lines(lesson: nbformat.NotebookNode) -> set[str]:
    """The code lines of the lesson's solution cells that no other cell of the lesson has."""
    def lines(cells: list) -> set[str]:
        return {line.strip() for c in cells for line in c.source.splitlines() if line.strip()}
    solutions = [c for c in lesson.cells if SOLUTION_TAG in c.metadata.get("tags", [])]
    return lines(solutions) - lines([c for c in lesson.cells if c not in solutions])


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_student_edition_is_the_lesson_without_solutions_and_outputs(path: Path, tmp_path) -> None:
    lesson = nbformat.read(path, as_version=4)
    stubs = [c.source for c in lesson.cells if EXERCISE_TAG in c.metadata.get("tags", [])]
    hidden = _solution_lines(lesson)
    assert stubs and hidden, "every lesson has a coding exercise: a stub and its solution"

    written = student.write_student_edition(path, tmp_path / "student")
    edition = nbformat.read(written, as_version=4)
    assert edition.cells[0].metadata["tags"] == [NOTE_TAG] and "Student edition" in edition.cells[0].source
    assert [c.source for c in edition.cells if EXERCISE_TAG in c.metadata.get("tags", [])] == stubs
    assert not any(SOLUTION_TAG in c.metadata.get("tags", []) for c in edition.cells)
    code = [c.source for c in edition.cells if c.cell_type == "code"]
    code_lines = {line.strip() for source in code for line in source.splitlines()}
    assert not hidden & code_lines
    assert all(not c.outputs and c.execution_count is None for c in edition.cells if c.cell_type == "code")
    prose = "\n".join(c.source for c in edition.cells if c.cell_type == "markdown")
    assert not re.search(r"hidden (solution|cell)|solution cell|cell below holds", prose, flags=re.I)

    # Executed in tests/test_run.py, in the same run as the teacher edition (`with_student_state`).
    assert [c.source for c in edition.cells[1:]] == [c.source for c in lesson.cells
                                                     if SOLUTION_TAG not in c.metadata.get("tags", [])]


def _check(name: str, function, cases: list) -> None:
    """Like `exercises.check`: a stub is reported, not raised."""
    try:
        for arguments, _ in cases:
            function(*arguments)
    except NotImplementedError:
        print(f"{name}: not filled in yet")


def _run_cells(nb: nbformat.NotebookNode) -> dict:
    """Execute a notebook's code cells in order in one namespace, as a kernel would; return it."""
    namespace: dict = {"cache": lambda f: f, "check": _check}
    for cell in nb.cells:
        if cell.cell_type == "code":
            exec(cell.source, namespace)
    return namespace


def test_after_the_solution_the_student_state_comes_back() -> None:
    lesson = _toy_lesson(with_stub=True)
    lesson.cells[3].source += "\nscratch = double(2.0)"  # the solution binds a name the stub does not
    lesson.cells.append(new_code_cell("after = [name in globals() for name in ('scratch', 'halve')]"))
    both = student.with_student_state(lesson)
    (state,) = [c for c in both.cells if STUDENT_STATE_TAG in c.metadata.get("tags", [])]
    assert both.cells.index(state) == 4 and "remove-cell" in state.metadata["tags"]
    assert [c for c in both.cells if c is not state] == lesson.cells

    namespace = _run_cells(both)
    assert namespace["after"] == [False, True]
    with pytest.raises(NotImplementedError, match="your code here"):
        namespace["double"](1.0)


def test_a_solution_without_a_stub_is_followed_by_its_own_stub() -> None:
    both = student.with_student_state(_toy_lesson(with_stub=False))
    (state,) = [c for c in both.cells if STUDENT_STATE_TAG in c.metadata.get("tags", [])]
    assert state.source.endswith(STUB)
