"""The papermill runner and a smoke run of every notebook."""

from __future__ import annotations

import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from helpers import run
from helpers.io import ARTIFACTS_DIR


def _notebook(path, *sources):
    cells = [new_code_cell(s) for s in sources]
    cells[0].metadata["tags"] = ["parameters"]
    nb = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3",
                                                             "display_name": "Python 3",
                                                             "language": "python"}})
    nbformat.write(nb, path)
    return path


def test_profile_parameters_go_only_to_declared_names(tmp_path) -> None:
    path = _notebook(tmp_path / "99_demo.ipynb", 'profile = "full"\nepochs = 5', "x = 1")
    assert run.parameters_for(path, "smoke") == {"profile": "smoke", "epochs": 1}
    assert run.parameters_for(path, "full") == {"profile": "full"}
    with pytest.raises(ValueError, match="Unknown profile"):
        run.parameters_for(path, "fast")


def test_failing_notebook_names_itself_and_the_cell_error(tmp_path) -> None:
    path = _notebook(tmp_path / "98_broken.ipynb", 'profile = "full"',
                     "raise ValueError(f'boom in {profile}')")
    expected = r"98_broken failed: code cell 2 \(.raise ValueError.*\): ValueError: boom in smoke"
    with pytest.raises(run.NotebookFailed, match=expected):
        run.run_notebook(path, "smoke", out_dir=tmp_path / "out")


def test_successful_run_reports_time_and_memory(tmp_path) -> None:
    path = _notebook(tmp_path / "97_ok.ipynb", 'profile = "full"',
                     "import numpy as np\nblock = np.ones(50_000_000)  # 400 MB")
    result = run.run_notebook(path, "smoke", out_dir=tmp_path / "out")
    assert result.notebook == "97_ok" and result.seconds > 0
    assert result.peak_memory_mib > 400  # the kernel's peak, not the runner's
    executed = nbformat.read(tmp_path / "out" / "97_ok.ipynb", as_version=4)
    assert 'profile = "smoke"' in executed.cells[1].source


def test_report_merges_runs_per_notebook(tmp_path) -> None:
    report = tmp_path / "run_report.json"
    run.write_report(report, "smoke", [run.NotebookRun("00_a", 1.0, 10.0)])
    run.write_report(report, "smoke", [run.NotebookRun("01_b", 2.0, 20.0),
                                       run.NotebookRun("00_a", 3.0, 30.0)])
    data = json.loads(report.read_text())
    assert [e["notebook"] for e in data["notebooks"]] == ["00_a", "01_b"]
    assert data["total_seconds"] == 5.0


def test_select_by_number_or_name_and_unknown_names() -> None:
    assert [p.stem for p in run.select(["01"])] == ["01_training"]
    assert [p.stem for p in run.select(["00_overview"])] == ["00_overview"]
    with pytest.raises(SystemExit, match="No notebook called '42'"):
        run.select(["42"])


@pytest.mark.parametrize("path", run.discover(), ids=lambda p: p.stem)
def test_notebook_runs_with_the_smoke_profile(path) -> None:
    result = run.run_notebook(path, "smoke")
    print(f"{result.notebook}: {result.seconds} s, peak {result.peak_memory_mib} MiB")
    results = ARTIFACTS_DIR / "smoke" / "figures" / path.stem / "results.json"
    assert json.loads(results.read_text())["profile"] == "smoke"
