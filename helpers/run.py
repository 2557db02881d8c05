"""Execute the series with papermill: `python -m helpers.run --profile full|smoke [notebook ...]`.

The defaults in each notebook's `parameters` cell are the full profile. The smoke profile's
parameters live here, in one place; each notebook receives the ones its parameters cell declares.
Executed notebooks go to `artifacts/<profile>/executed/`; the runner prints each notebook's wall
time and peak memory and writes them to a run report.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import nbformat
import papermill

from helpers.io import ARTIFACTS_DIR, FIGURES_DIR, NOTEBOOKS_DIR, PROFILES, save_json

PROFILE_PARAMETERS: dict[str, dict[str, Any]] = {
    "full": {"profile": "full"},
    "smoke": {
        "profile": "smoke",
        "seeds": [0, 1],
        "epochs": 1,
        "n_train": 2000,
        "n_som_fit": 1000,
        "n_test": 500,
        "som_size": 6,
        "som_sizes": [4, 6],
        "pool_sizes": [2, 4],
        "som_iterations": 5,
        "toy_iterations": 5,
        "n_attack": 100,
        "epsilons": [0.0, 0.1, 0.3],
        "pgd_steps": 3,
    },
}


class NotebookFailed(RuntimeError):
    """A notebook raised an error; the message names the notebook and the failing cell."""


@dataclass
class NotebookRun:
    notebook: str
    seconds: float
    peak_memory_mib: float


def discover(notebooks_dir: Path = NOTEBOOKS_DIR) -> list[Path]:
    """The lessons, `NN_name.ipynb`, in reading order."""
    return sorted(notebooks_dir.glob("[0-9][0-9]_*.ipynb"))


def select(names: list[str], notebooks_dir: Path = NOTEBOOKS_DIR) -> list[Path]:
    """Resolve `01`, `01_training` or a path to notebook files; none given means all."""
    available = discover(notebooks_dir)
    if not names:
        return available
    chosen = []
    for name in names:
        stem = Path(name).stem
        matches = [p for p in available if p.stem == stem or p.stem.split("_")[0] == stem]
        if not matches:
            known = ", ".join(p.stem for p in available)
            raise SystemExit(f"No notebook called {name!r}; known notebooks: {known}.")
        chosen.extend(matches)
    return chosen


def parameters_for(notebook: Path, profile: str) -> dict[str, Any]:
    """The profile's parameters that this notebook's parameters cell declares."""
    if profile not in PROFILE_PARAMETERS:
        raise ValueError(f"Unknown profile {profile!r}; choose one of {PROFILES}.")
    declared = papermill.inspect_notebook(str(notebook))
    return {k: v for k, v in PROFILE_PARAMETERS[profile].items() if k in declared}


def run_notebook(notebook: Path, profile: str, out_dir: Path | None = None) -> NotebookRun:
    """Execute one notebook in a fresh kernel; raise `NotebookFailed` on an error."""
    notebook = Path(notebook)
    out_dir = Path(out_dir or ARTIFACTS_DIR / profile / "executed")
    out_dir.mkdir(parents=True, exist_ok=True)
    executed = out_dir / notebook.name
    log = executed.with_suffix(".log")
    command = [
        sys.executable, "-m", "papermill", str(notebook), str(executed),
        "--kernel", "python3", "--cwd", str(notebook.parent), "--no-progress-bar",
        "--parameters_yaml", json.dumps(parameters_for(notebook, profile)),
    ]
    start = time.perf_counter()
    with open(log, "w") as log_file:
        process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise NotebookFailed(f"{notebook.stem} failed: {_failure(executed, log)}")
    # ru_maxrss is in KiB on Linux: the largest of papermill and the kernel it waited for.
    return NotebookRun(notebook.stem, round(seconds, 1), round(usage.ru_maxrss / 1024, 1))


def _failure(executed: Path, log: Path) -> str:
    """The failing cell's error from the executed notebook, or the tail of the log."""
    if executed.exists():
        nb = nbformat.read(executed, as_version=4)
        code = [c for c in nb.cells  # numbered as in the source notebook, without papermill's cell
                if c.cell_type == "code" and "injected-parameters" not in c.metadata.get("tags", [])]
        for number, cell in enumerate(code, start=1):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    first_line = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
                    return (f"code cell {number} ({first_line[:60]!r}): "
                            f"{output['ename']}: {output['evalue']} (see {executed})")
    tail = log.read_text(errors="replace").strip().splitlines()[-15:]
    return "\n".join(tail) + f"\n(full log: {log})"


def run_series(profile: str, names: list[str] | None = None) -> list[NotebookRun]:
    """Run notebooks in order, printing a line each, and write the run report."""
    runs = []
    for notebook in select(names or []):
        print(f"{notebook.stem:<28} running ({profile} profile) ...", flush=True)
        run = run_notebook(notebook, profile)
        print(f"{run.notebook:<28} {run.seconds:8.1f} s  peak {run.peak_memory_mib:8.0f} MiB",
              flush=True)
        runs.append(run)
    report_path = (FIGURES_DIR if profile == "full" else ARTIFACTS_DIR / profile) / "run_report.json"
    write_report(report_path, profile, runs)
    return runs


def write_report(path: Path, profile: str, runs: list[NotebookRun]) -> None:
    """Merge these runs into the report at `path` (latest run per notebook) and print the total."""
    entries = {}
    if path.exists():
        entries = {e["notebook"]: e for e in json.loads(path.read_text())["notebooks"]}
    entries.update({r.notebook: asdict(r) for r in runs})
    notebooks = [entries[name] for name in sorted(entries)]
    total = round(sum(e["seconds"] for e in notebooks), 1)
    print(f"{'total (this run)':<28} {sum(r.seconds for r in runs):8.1f} s")
    save_json({"profile": profile, "total_seconds": total, "notebooks": notebooks}, path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=PROFILES, default="full")
    parser.add_argument("notebooks", nargs="*", help="e.g. 01 or 01_training (default: all)")
    args = parser.parse_args(argv)
    try:
        run_series(args.profile, args.notebooks)
    except NotebookFailed as error:
        raise SystemExit(str(error)) from None


if __name__ == "__main__":
    main()
