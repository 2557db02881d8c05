"""Student editions of the lessons, in a folder to hand out: `python -m helpers.student [--out-dir DIR]
[notebook ...]` (what `make student` runs).

A lesson's coding exercise is a stub cell tagged ``exercise`` and a hidden solution cell tagged
``solution`` (see `helpers.exercises`). The student edition of a lesson drops every solution cell
whose functions a stub already defines, turns any other solution cell into a stub
(`stub_from_solution`), clears all outputs and puts a note on top saying what the copy is. The
notebooks in `notebooks/` stay the teacher edition.

`write_bundle` makes the hand-out (`artifacts/student/` by default): the student editions in
`notebooks/`, the `helpers` package, the MNIST files, the committed evaluation records the lessons read,
the requirements, and a README and Makefile of its own. It holds no teacher edition and no solution.

`with_student_state` lets one execution check both editions: the teacher edition with, after each
solution cell, a cell that puts the student's state back (the stubs rebound, the solution's other
names gone), so that every later cell runs as it runs in the student edition.
"""

from __future__ import annotations

import argparse
import ast
import copy
import shutil
import tempfile
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_markdown_cell

from helpers.io import ARTIFACTS_DIR, FIGURES_DIR, REPO_ROOT, atomic_write, repo_relative
from helpers.run import select

STUDENT_DIR = ARTIFACTS_DIR / "student"
EXERCISE_TAG, SOLUTION_TAG, NOTE_TAG = "exercise", "solution", "student-note"
STUDENT_STATE_TAG = "student-state"
STUB_BODY = 'raise NotImplementedError("your code here")'

NOTE = """> **Student edition of lesson {lesson}.** Each coding exercise holds a stub for you to fill in; its
> check says "not filled in yet" until you do, then whether your answer is right, and the cells that use
> your function take the series' own version until yours passes. Outputs are cleared: run the cells from the
> top (README.md at the top of the hand-out says how to set up). The answers to the discussion questions at
> the end stay, folded away."""

BUNDLE_MARK = ".student-bundle"
"""The file that marks a folder as a bundle `write_bundle` made, so that it may replace it."""

BUNDLE_README = """# SOM codes of deep networks: the lessons, student edition

How does a deep network represent its inputs, layer by layer? These notebooks answer that question
hands-on, on a laptop CPU (no GPU needed). Each coding exercise holds a stub for you to fill in, with a
check that tells you whether your answer is right.

## Two commands

On Linux or macOS with Python 3.10+ (with its `venv` module) and `make`:

```bash
make check   # sets up .venv (about 5 GB of packages, once) and runs every lesson quickly to check the setup
make lab     # opens the lessons in Jupyter Lab
```

Open the lessons in order, starting with `notebooks/00_overview.ipynb`, and run each from the top. A
lesson that needs a trained model trains it on the spot the first time (a few minutes on a CPU) and keeps it
in `artifacts/checkpoints/`. Everything the lessons need is in this folder: the MNIST files in `data/`,
the series' `helpers` package, and in `figures/bench/` the evaluations too long to run in class.

With conda instead of `make`: `conda env create -f environment.yml`, `conda activate som-codes`,
`pip install -e . --no-deps`, then `jupyter lab notebooks/`.
"""

BUNDLE_MAKEFILE = """# The student edition's two commands: `make check` and `make lab`.
VENV ?= .venv
PYTHON := $(VENV)/bin/python

.PHONY: install check lab

$(VENV)/.installed:
\tpython3 -m venv $(VENV)
\t$(PYTHON) -m pip install -r requirements.txt
\t$(PYTHON) -m pip install -q --no-deps --no-build-isolation -e .
\ttouch $@

install: $(VENV)/.installed

# Every lesson top to bottom with tiny settings (a few minutes): is everything in place?
check: install
\t$(PYTHON) -m helpers.run --profile smoke

lab: install
\t$(PYTHON) -m helpers.lab $(LAB_ARGS)
"""


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


def _bundled_files() -> dict[Path, Path]:
    """What the bundle copies from this checkout besides the lessons: {source: path in the bundle}."""
    sources = [*sorted((REPO_ROOT / "helpers").glob("*.py")),
               *sorted((REPO_ROOT / "data" / "MNIST" / "raw").glob("*.gz")),
               REPO_ROOT / "data" / "MNIST" / "raw" / "SHA256SUMS",
               *sorted((FIGURES_DIR / "bench").glob("*.json")),
               *(REPO_ROOT / name for name in ("requirements.txt", "environment.yml", "pyproject.toml"))]
    return {source: source.relative_to(REPO_ROOT) for source in sources}


def write_bundle(out_dir: Path = STUDENT_DIR, notebooks: list[Path] | None = None) -> Path:
    """Write the hand-out folder `out_dir` (see the module's docstring) for `notebooks` (default: every
    lesson) and return it. It replaces an earlier bundle there, but no other folder."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not (out_dir / BUNDLE_MARK).exists():
        raise FileExistsError(f"{out_dir} exists and is not a student bundle; choose another --out-dir "
                              "or remove it.")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    try:
        for notebook in notebooks or select([]):
            write_student_edition(notebook, staging / "notebooks")
        for source, target in _bundled_files().items():
            (staging / target).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, staging / target)
        (staging / "README.md").write_text(BUNDLE_README)
        (staging / "Makefile").write_text(BUNDLE_MAKEFILE)
        (staging / BUNDLE_MARK).write_text("made by python -m helpers.student\n")
        staging.chmod(0o755)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        staging.rename(out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out_dir


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m helpers.student", description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=STUDENT_DIR,
                        help="the folder to write (default: artifacts/student)")
    parser.add_argument("notebooks", nargs="*",
                        help="e.g. 01, 01_training or a path to an .ipynb file (default: all lessons)")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    notebooks = select(args.notebooks)
    bundle = write_bundle(args.out_dir, notebooks)
    shown = repo_relative(bundle) if bundle.resolve().is_relative_to(REPO_ROOT) else bundle
    print(f"The student bundle ({len(notebooks)} lessons, no solutions) is in {shown}/: "
          "hand out that folder.")


if __name__ == "__main__":
    main()
