"""The repository's own conventions: environments agree, notebooks are clean, CI runs the README."""

from __future__ import annotations

import re

import nbformat
import pytest

from helpers.io import REPO_ROOT
from helpers.run import discover

CONDA_NAMES = {"pytorch": "torch"}  # conda-forge name -> pip name
NOTEBOOKS = discover()


def _requirements() -> dict[str, str]:
    pins = {}
    for line in (REPO_ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            pins[name.lower()] = version
    return pins


def _conda_dependencies() -> dict[str, str]:
    text = (REPO_ROOT / "environment.yml").read_text()
    pins = {}
    # conda packages (name=version) and, under pip:, packages that are on PyPI only (name==version)
    for name, version in re.findall(r"^\s+- ([A-Za-z0-9_.-]+)==?([0-9][^\s#]*)", text, flags=re.M):
        pins[CONDA_NAMES.get(name, name).lower()] = version
    pins.pop("python", None)
    return pins


def test_environment_yml_lists_the_same_packages_as_requirements() -> None:
    assert _conda_dependencies() == _requirements()


def test_requirements_pin_the_torch_builds_that_work_here() -> None:
    pins = _requirements()
    assert pins["torch"] == "2.14.1" and pins["torchvision"] == "0.29.1"


def test_there_are_lessons() -> None:
    assert [p.stem[:2] for p in NOTEBOOKS][:2] == ["00", "01"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_without_outputs(path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_has_one_parameters_cell_with_a_profile(path) -> None:
    nb = nbformat.read(path, as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    assert re.search(r'^profile = "full"', tagged[0].source, flags=re.M)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_a_lesson(path) -> None:
    """Title, time and learning goals first; a summary and exercises with hidden solutions at the end."""
    text = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells
                     if c.cell_type == "markdown")
    assert text.startswith(f"# {path.stem[:2]} ")
    assert re.search(r"About \d+ minutes", text.split("Learning goals")[0])
    for heading in ("Learning goals", "## Summary", "<details>"):
        assert heading in text, heading
    assert re.search(r"^## (More )?[Ee]xercises", text, flags=re.M)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_lesson_fits_a_class_and_times_each_section(path) -> None:
    cells = nbformat.read(path, as_version=4).cells
    prose = [c.source for c in cells if c.cell_type == "markdown"]
    assert len(cells) <= 40
    assert len(re.findall(r"\S+", "\n".join(prose))) <= 3500
    sections = [m for m in prose if re.match(r"## \d+\.", m)]
    assert sections and all("Estimated time" in "\n\n".join(m.split("\n\n")[:2]) for m in sections)


def test_ci_runs_the_readme_test_command() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    ci = (REPO_ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and "make figures" in readme
    assert re.search(r"^make test\b", ci, flags=re.M)


def test_nothing_reads_the_shared_folder_at_run_time() -> None:
    outside = "/".join(["..", "shared"])  # the workspace folder beside the checkout
    for path in [*REPO_ROOT.glob("helpers/*.py"), *NOTEBOOKS]:
        assert outside not in path.read_text(), path
