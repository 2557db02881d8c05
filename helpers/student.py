"""Student editions of the lessons: `python -m helpers.student [--out-dir DIR] [notebook ...]`.

A lesson's coding exercise is a stub cell tagged ``exercise`` and a hidden solution cell tagged
``solution`` (see `helpers.exercises`). The student edition of a lesson drops every solution cell
whose functions a stub already defines, turns any other solution cell into a stub
(`stub_from_solution`), clears all outputs and puts a note on top saying what the copy is. The
notebooks in `notebooks/` stay the teacher edition. Written to `artifacts/student/` by default
(`make student`), ready to hand out.

`with_student_state` lets one execution check both editions: the teacher edition with, after each
solution cell, a cell that puts the student's state back (the stubs rebound, the solution's other
names gone), so that every later cell runs as it runs in the student edition.
"""

from __future__ import annotations

import argparse
import ast
import copy
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_markdown_cell

from helpers.io import ARTIFACTS_DIR, REPO_ROOT, atomic_write, repo_relative
from helpers.run import select

STUDENT_DIR = ARTIFACTS_DIR / "student"
EXERCISE_TAG, SOLUTION_TAG, NOTE_TAG = "exercise", "solution", "student-note"
STUDENT_STATE_TAG = "student-state"
STUB_BODY = 'raise NotImplementedError("your code here")'

NOTE = """> **Student edition of lesson {lesson}.** The solutions of the coding exercises are removed: each
> exercise cell holds a stub for you to fill in, and its check says "not filled in yet" until you do, then
> whether your answer is right. Outputs are cleared: run the cells from the top, in the series' environment
> (its `helpers` package, data and model cache). The answers to the discussion questions at the end stay,
> folded away. The teacher edition, with the solutions, is `notebooks/{lesson}.ipynb` in the course
> repository."""


def _tags(cell: NotebookNode) -> list[str]:
    return cell.metadata.get("tags", [])


def _functions(source: str) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    """The functions a cell defines at its top level."""
    return [node for node in ast.parse(source).body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]


def _bound_names(source: str) -> set[str]:
    """The names a cell binds at its top level (functions, classes, imports, assignments)."""
    names = set()
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
        else:
            names |= {n.id for n in ast.walk(node)
                      if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    return names


def stub_from_solution(source: str) -> str:
    """A solution cell with each top-level function's body replaced by `STUB_BODY`.

    The signature, decorators and docstring stay, and so does every other statement (the check).

    >>> print(stub_from_solution('def double(x):\\n    "Twice x."\\n    return 2 * x\\n\\ncheck(double)'))
    def double(x):
        "Twice x."
        raise NotImplementedError("your code here")
    <BLANKLINE>
    check(double)
    """
    lines = source.splitlines()
    for node in reversed(_functions(source)):  # from the bottom, so earlier line numbers stay valid
        first = node.body[0]
        keep_until = first.end_lineno if ast.get_docstring(node) is not None else first.lineno - 1
        lines[keep_until:node.end_lineno] = [" " * first.col_offset + STUB_BODY]
    return "\n".join(lines)


def student_edition(nb: NotebookNode, lesson: str) -> NotebookNode:
    """A copy of lesson `nb` without solutions and outputs, with a note on top (tagged `NOTE_TAG`).

    A solution cell is dropped when stub cells define all its functions (or it defines none, so that
    there is nothing to stub); otherwise it becomes a visible stub cell tagged `EXERCISE_TAG`.
    """
    stubbed = {node.name for c in nb.cells if EXERCISE_TAG in _tags(c) for node in _functions(c.source)}
    student = copy.deepcopy(nb)
    cells = []
    for cell in student.cells:
        if SOLUTION_TAG in _tags(cell):
            if {node.name for node in _functions(cell.source)} <= stubbed:
                continue
            cell.source = stub_from_solution(cell.source)
            cell.metadata["tags"] = [EXERCISE_TAG if t == SOLUTION_TAG else t for t in _tags(cell)]
            cell.metadata.get("jupyter", {}).pop("source_hidden", None)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cell.metadata.pop("execution", None)
        cell.metadata.pop("papermill", None)
        cells.append(cell)
    note = new_markdown_cell(NOTE.format(lesson=lesson), metadata={"tags": [NOTE_TAG]})
    student.cells = [note, *cells]
    student.metadata.pop("papermill", None)
    nbformat.validate(student)
    return student


def with_student_state(nb: NotebookNode) -> NotebookNode:
    """The teacher edition `nb` with a cell tagged `STUDENT_STATE_TAG` after each solution cell.

    That cell runs what the student edition has in the solution's place (the exercise's stub cell,
    or the stub `student_edition` makes) and deletes the other names the solution bound, so the
    cells after it run in the student edition's state. Executing this notebook once checks both
    editions: every solution against its check, and every cell of the student edition in order.
    Tagged ``remove-cell`` too, so a site built from such a run does not show it.
    """
    stubs = {node.name: cell.source for cell in nb.cells if EXERCISE_TAG in _tags(cell)
             for node in _functions(cell.source)}
    both = copy.deepcopy(nb)
    cells = []
    for cell in both.cells:
        cells.append(cell)
        if SOLUTION_TAG not in _tags(cell):
            continue
        names = [node.name for node in _functions(cell.source)]
        restored = (list(dict.fromkeys(stubs[name] for name in names)) if names and set(names) <= stubs.keys()
                    else [stub_from_solution(cell.source)])
        dropped = sorted(_bound_names(cell.source) - set().union(*map(_bound_names, restored)))
        source = "# The student edition from here on: the exercise's stubs, not the solution.\n"
        source += "\n\n".join(restored)
        if dropped:
            source += f"\n\nfor _name in {dropped!r}:\n    globals().pop(_name, None)\ndel _name"
        cells.append(new_code_cell(source, metadata={"tags": [STUDENT_STATE_TAG, "remove-cell"],
                                                     "jupyter": {"source_hidden": True}}))
    both.cells = cells
    nbformat.validate(both)
    return both


def write_student_edition(notebook: Path, out_dir: Path = STUDENT_DIR) -> Path:
    """Write the student edition of `notebook` to `<out_dir>/<same name>`, atomically; return its path."""
    notebook = Path(notebook)
    student = student_edition(nbformat.read(notebook, as_version=4), notebook.stem)
    path = atomic_write(Path(out_dir) / notebook.name, lambda tmp: nbformat.write(student, tmp))
    path.chmod(0o644)  # a handout: readable by others, unlike the temporary file it was
    return path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m helpers.student", description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=STUDENT_DIR,
                        help="where the student editions go (default: artifacts/student)")
    parser.add_argument("notebooks", nargs="*",
                        help="e.g. 01, 01_training or a path to an .ipynb file (default: all lessons)")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    for notebook in select(args.notebooks):
        path = write_student_edition(notebook, args.out_dir)
        shown = repo_relative(path) if path.resolve().is_relative_to(REPO_ROOT) else path
        print(f"{notebook.stem:<36} -> {shown}")


if __name__ == "__main__":
    main()
