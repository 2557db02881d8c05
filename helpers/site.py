"""Build the website of the executed series: `python -m helpers.site [--profile full|smoke]`.

The site shows the notebooks as `helpers.run` executed them (`artifacts/<profile>/executed/`) and
executes nothing again. `stage` lays out a Sphinx source tree in `artifacts/site/<profile>/source/`
(the files of `site/`, the README its pages include, the README's figures, the executed lessons with
their parameter and solution cells collapsed, a generated lesson map); `build` runs sphinx-build
(myst-nb, sphinx-book-theme) into `artifacts/site/<profile>/html/`. Open `html/index.html` from disk:
every asset is local.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat

from helpers.io import ARTIFACTS_DIR, FIGURES_DIR, PROFILES, REPO_ROOT
from helpers.run import discover, run_notebook
from helpers.student import STUDENT_STATE_TAG

SITE_SOURCES = REPO_ROOT / "site"
COLLAPSED_TAGS = ("parameters", "injected-parameters", "solution")  # shown as "Show code cell source"
RUN_REPORT = FIGURES_DIR / "run_report.json"  # the full profile's run times, for the lesson map
README_IMAGE = re.compile(r"!\[[^\]]*\]\((figures/[^)\s]+)\)")
NBSP = "\u00a0"  # keeps "45 min" and "116 s" on one line in the lesson map's narrow columns


def site_dir(profile: str) -> Path:
    """Where the site of `profile` is staged (`source/`) and built (`html/`)."""
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}, got {profile!r}.")
    return ARTIFACTS_DIR / "site" / profile


def warnings_path(profile: str) -> Path:
    """Sphinx's warnings of the last build (also printed): empty when every page rendered cleanly."""
    return site_dir(profile) / "warnings.txt"


def executed_path(notebook: Path, profile: str) -> Path:
    return ARTIFACTS_DIR / profile / "executed" / notebook.name


def _lesson_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    """The lesson's own cells: without papermill's injected cell and the student-state cells that the
    test suite's smoke run adds (`helpers.student.with_student_state`)."""
    added = {"injected-parameters", STUDENT_STATE_TAG}
    return [c for c in nb.cells if not added & set(c.metadata.get("tags", []))]


def is_current(notebook: Path, executed: Path) -> bool:
    """Whether `executed` ran the notebook's present cells (cells added to the run aside)."""
    cells = nbformat.read(notebook, as_version=4).cells
    ran = _lesson_cells(nbformat.read(executed, as_version=4))
    return [c.source for c in cells] == [c.source for c in ran]


def executed_lessons(profile: str, run_missing: bool = False) -> list[Path]:
    """The executed notebook of every lesson, in reading order.

    A lesson with no executed notebook is run first when `run_missing` is true (papermill,
    `helpers.run`), else it is an error that names the lessons and the command that executes them.
    A lesson executed from an older version of its notebook is shown as it ran, with a warning.
    """
    lessons = discover()
    command = "make figures" if profile == "full" else f"python -m helpers.run --profile {profile}"
    missing = [nb for nb in lessons if not executed_path(nb, profile).exists()]
    if missing and not run_missing:
        raise FileNotFoundError(
            f"No executed notebook in artifacts/{profile}/executed/ for: "
            f"{', '.join(nb.stem for nb in missing)}. Run `{command}` first "
            "(the site shows executed notebooks and executes nothing).")
    for notebook in missing:
        print(f"site: executing {notebook.stem} ({profile} profile), which had no executed notebook",
              flush=True)
        run_notebook(notebook, profile)
    outdated = [nb.stem for nb in lessons if not is_current(nb, executed_path(nb, profile))]
    if outdated:
        print(f"site: warning: {', '.join(outdated)} changed since they were executed; the site shows "
              f"them as they ran (`{command}` refreshes them)", flush=True)
    return [executed_path(nb, profile) for nb in lessons]


def collapsed(cell: nbformat.NotebookNode) -> bool:
    """Parameter and solution cells, and any cell whose source Jupyter shows collapsed."""
    tags = cell.metadata.get("tags", [])
    return (any(tag in tags for tag in COLLAPSED_TAGS)
            or cell.metadata.get("jupyter", {}).get("source_hidden", False))


def blank(output: nbformat.NotebookNode) -> bool:
    """A printed output with nothing but white space in it (the site would show an empty box)."""
    return output.output_type == "stream" and not output.text.strip()


def stage_notebook(executed: Path, destination: Path) -> None:
    """Copy an executed lesson, collapsing the cells `collapsed` picks (myst-nb's `hide-input`) and
    leaving out `blank` outputs and the test suite's student-state cells."""
    nb = nbformat.read(executed, as_version=4)
    nb.cells = [c for c in nb.cells if STUDENT_STATE_TAG not in c.metadata.get("tags", [])]
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [output for output in cell.outputs if not blank(output)]
            if collapsed(cell):
                cell.metadata["tags"] = [*cell.metadata.get("tags", []), "hide-input"]
    nbformat.write(nb, destination)


def lesson_title(nb: nbformat.NotebookNode) -> str:
    first = next(c.source for c in nb.cells if c.cell_type == "markdown")
    return first.splitlines()[0].lstrip("# ").strip()


def class_minutes(nb: nbformat.NotebookNode) -> str:
    """The lesson's stated time in class ("About 45 minutes ..." under its title), kept on one line."""
    first = next(c.source for c in nb.cells if c.cell_type == "markdown")
    match = re.search(r"About (\d+) minutes", first)
    return f"{match.group(1)}{NBSP}min" if match else ""


def readme_summaries(readme: str) -> dict[str, str]:
    """What each lesson teaches, from the README's table of lessons, keyed by notebook stem."""
    rows = re.findall(r"^\| \[[^\]]+\]\(notebooks/(\w+)\.ipynb\) \| (.+?) \|$", readme, flags=re.M)
    return dict(rows)


def run_seconds(report_path: Path = RUN_REPORT) -> dict[str, float]:
    if not report_path.exists():
        return {}
    report = json.loads(report_path.read_text())
    return {entry["notebook"]: entry["seconds"] for entry in report["notebooks"]}


def lesson_map(staged: list[Path], readme: str, seconds: dict[str, float]) -> str:
    """The landing page's table of lessons: link, content, time in class, full-profile run time.

    Times are written with a non-breaking space, so a narrow column never splits "116" from "s".
    """
    summaries = readme_summaries(readme)
    lines = [f"| lesson | what you learn | in{NBSP}class | full{NBSP}run |",
             "|---|---|---|---|"]
    for path in staged:
        nb = nbformat.read(path, as_version=4)
        run = f"{seconds[path.stem]:.0f}{NBSP}s" if path.stem in seconds else ""
        lines.append(f"| [{lesson_title(nb)}](notebooks/{path.name}) | {summaries.get(path.stem, '')} "
                     f"| {class_minutes(nb)} | {run} |")
    return "\n".join(lines) + "\n"


def build_info(profile: str) -> str:
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, check=True,
                                capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = ""
    source = f"`artifacts/{profile}/executed/`" + (f", site built at commit `{commit}`" if commit else "")
    if profile == "full":
        return f"This site shows the full profile, the run that made `figures/` ({source}).\n"
    return ("```{note}\n"
            f"This site shows the **{profile}** profile ({source}): tiny data and short runs that\n"
            "exercise every cell. Its numbers and figures are not the series' results; `make figures`\n"
            "followed by `make site` builds the site of the full run.\n```\n")


def stage(profile: str, run_missing: bool = False) -> Path:
    """Lay out the Sphinx source tree of `profile`'s site afresh; return its folder."""
    executed = executed_lessons(profile, run_missing)
    source = site_dir(profile) / "source"
    shutil.rmtree(source, ignore_errors=True)
    shutil.copytree(SITE_SOURCES, source)
    readme = (REPO_ROOT / "README.md").read_text()
    shutil.copy2(REPO_ROOT / "README.md", source / "README.md")
    for image in README_IMAGE.findall(readme):
        (source / image).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / image, source / image)
    (source / "notebooks").mkdir()
    staged = [source / "notebooks" / path.name for path in executed]
    for path, destination in zip(executed, staged):
        stage_notebook(path, destination)
    (source / "lesson_map.md").write_text(lesson_map(staged, readme, run_seconds()))
    (source / "build_info.md").write_text(build_info(profile))
    return source


def build(profile: str, run_missing: bool = False) -> Path:
    """Stage and build the site of `profile`; return the path of its `index.html`."""
    source = stage(profile, run_missing)
    html = site_dir(profile) / "html"
    shutil.rmtree(html, ignore_errors=True)  # no page of an earlier build (a renamed lesson) stays
    command = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-E",
               "-w", str(warnings_path(profile)), "-d", str(site_dir(profile) / "doctrees"),
               str(source), str(html)]
    subprocess.run(command, check=True)
    return html / "index.html"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="full", choices=PROFILES)
    parser.add_argument("--run-missing", action="store_true",
                        help="first execute the lessons that have no executed notebook")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        index = build(args.profile, args.run_missing)
    except FileNotFoundError as missing:
        raise SystemExit(f"site: {missing}") from None
    print(f"site: built {index.relative_to(REPO_ROOT)} in {time.perf_counter() - start:.0f} s; "
          f"open it in a browser (no network needed)")


if __name__ == "__main__":
    main()
