"""The papermill runner and a smoke run of every notebook."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import matplotlib
import nbformat
import papermill
import psutil
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from helpers import exercises, run, runtime, student
from helpers.io import ARTIFACTS_DIR, REPO_ROOT
from helpers.student import EXERCISE_TAG, SOLUTION_TAG, STUDENT_STATE_TAG


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


@pytest.mark.parametrize("damaged", ['{"profile": "smoke", "notebooks": [', "", '{"profile": "smoke"}'])
def test_unreadable_report_is_moved_aside_and_started_again(tmp_path, capsys, damaged) -> None:
    report = tmp_path / "run_report.json"
    report.write_text(damaged)
    run.write_report(report, "smoke", [run.NotebookRun("01_b", 2.0, 20.0)])
    aside = tmp_path / "run_report.json.corrupt"
    assert f"Run report {report} cannot be read" in capsys.readouterr().out
    assert aside.read_text() == damaged
    assert [e["notebook"] for e in json.loads(report.read_text())["notebooks"]] == ["01_b"]


def test_report_drops_entries_of_lessons_that_no_longer_exist(tmp_path) -> None:
    report = tmp_path / "run_report.json"
    run.write_report(report, "full", [run.NotebookRun("04_old_name", 5.0, 10.0),
                                      run.NotebookRun("00_a", 1.0, 10.0)])
    run.write_report(report, "full", [run.NotebookRun("04_new_name", 2.0, 20.0)],
                     lessons={"00_a", "04_new_name"})
    data = json.loads(report.read_text())
    assert [e["notebook"] for e in data["notebooks"]] == ["00_a", "04_new_name"]
    assert data["total_seconds"] == 3.0


def test_select_by_number_or_name_and_unknown_names() -> None:
    assert [p.stem for p in run.select(["01"])] == ["01_training"]
    assert [p.stem for p in run.select(["00_overview"])] == ["00_overview"]
    with pytest.raises(SystemExit, match="No notebook called '42'"):
        run.select(["42"])


@pytest.mark.parametrize("path", run.discover(), ids=lambda p: p.stem)
def test_lesson_and_its_student_edition_run_with_the_smoke_profile(path, tmp_path) -> None:
    """One papermill run checks both editions (`student.with_student_state`): the teacher edition's
    cells in order, and after the solution the student's stubs again, so every later cell runs as in
    the student edition."""
    lesson = nbformat.read(path, as_version=4)
    both = tmp_path / path.name
    nbformat.write(student.with_student_state(lesson), both)
    result = run.run_notebook(both, "smoke")
    print(f"{result.notebook}: {result.seconds} s, peak {result.peak_memory_mib} MiB")
    results = ARTIFACTS_DIR / "smoke" / "figures" / path.stem / "results.json"
    assert json.loads(results.read_text())["profile"] == "smoke"
    executed = nbformat.read(ARTIFACTS_DIR / "smoke" / "executed" / path.name, as_version=4)
    for cell in executed.cells:
        tags = cell.metadata.get("tags", [])
        text = "".join(o.get("text", "") for o in cell.get("outputs", []) if o["output_type"] == "stream")
        if EXERCISE_TAG in tags or STUDENT_STATE_TAG in tags:  # a stub, not filled in, says so; no error
            assert "not filled in yet" in text
        if SOLUTION_TAG in tags:  # the hidden solution passes the same check
            assert exercises.CORRECT in text and "not right" not in text
    teacher_only = {SOLUTION_TAG, STUDENT_STATE_TAG, "injected-parameters"}
    student_cells = [c.source for c in executed.cells if not teacher_only & set(c.metadata.get("tags", []))]
    assert student_cells == [c.source for c in student.student_edition(lesson, path.stem).cells[1:]]


def _wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.2)


def _is_running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name)
def test_signal_stops_the_whole_run_and_keeps_no_partial_file(tmp_path, signum) -> None:
    pids, results, out = tmp_path / "pids.txt", tmp_path / "results", tmp_path / "executed"
    results.mkdir()
    path = _notebook(
        tmp_path / "99_sleepy.ipynb", 'profile = "full"',
        "import os, subprocess, sys\n"  # the kernel starts a process of its own, too
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
        f"open({str(pids)!r}, 'w').write(f'{{os.getppid()}} {{os.getpid()}} {{child.pid}}')",
        "import pathlib, time\nfrom helpers.io import atomic_write\n"
        f"atomic_write(pathlib.Path({str(results)!r}) / 'result.txt',\n"
        "             lambda tmp: (tmp.write_text('half'), time.sleep(600)))",
    )
    runner = subprocess.Popen(
        [sys.executable, "-m", "helpers.run", "--profile", "smoke", "--executed-dir", str(out), str(path)],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    run_pids: list[int] = []
    try:
        _wait_for(lambda: any(results.iterdir()), 240, "the notebook's last cell to start writing")
        run_pids = [int(pid) for pid in pids.read_text().split()]  # papermill, kernel, kernel's child
        assert all(_is_running(pid) for pid in run_pids)
        runner.send_signal(signum)
        stdout, stderr = runner.communicate(timeout=60)
        assert runner.returncode == 128 + signum
        assert f"Stopped 99_sleepy on {signum.name}" in stderr
        _wait_for(lambda: not any(_is_running(pid) for pid in run_pids), 5, "the run's processes to end")
        assert list(results.iterdir()) == []  # the interrupted cell's cleanup ran
        assert list(out.iterdir()) == []  # no partial executed notebook, no log
    finally:
        runner.kill()
        for pid in run_pids:
            if _is_running(pid):
                os.kill(pid, signal.SIGKILL)


def test_usage_line_names_the_module_command(capsys) -> None:
    with pytest.raises(SystemExit):
        run.main(["--help"])
    assert capsys.readouterr().out.startswith("usage: python -m helpers.run ")


def test_notebooks_under_the_runner_show_one_line_per_long_step(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("SOM_CODES_PROGRESS", raising=False)
    path = _notebook(
        tmp_path / "96_progress.ipynb", 'profile = "full"',
        "import numpy as np\nfrom helpers.som import fit_layer_soms\n"
        "data = np.random.default_rng(0).random((200, 8))\n"
        "soms = fit_layer_soms({'a': data, 'b': data, 'c': data}, size=4, num_iteration=300,"
        " progress=True)",
        "from helpers.training import TrainConfig, load_or_train\n"
        f"model, record = load_or_train(TrainConfig(epochs=2, n_train=1000), cache_dir={str(tmp_path)!r})",
    )
    run.run_notebook(path, "smoke", out_dir=tmp_path / "out")
    executed = nbformat.read(tmp_path / "out" / "96_progress.ipynb", as_version=4)
    text = "".join(o.get("text", "") for c in executed.cells for o in c.get("outputs", []))
    lines = text.splitlines()
    assert "\r" not in text and "%|" not in text  # no progress bar
    assert len(lines) == 4, lines
    assert lines[0].startswith("SOM per layer: 3 layers in ")
    assert lines[1].startswith("No cached checkpoint")
    assert lines[2].startswith("epoch 1/2: 8 steps in ") and ", loss " in lines[2]
    assert lines[3].startswith("epoch 2/2: 8 steps in ")


def test_kernels_get_the_thread_settings_unless_the_user_set_them(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    path = _notebook(
        tmp_path / "95_threads.ipynb", 'profile = "full"',
        "import os\nimport numpy, torch\nfrom threadpoolctl import threadpool_info\n"
        "blas = [p['num_threads'] for p in threadpool_info() if p['internal_api'] == 'openblas']\n"
        "print(os.environ['OMP_WAIT_POLICY'], torch.get_num_threads(), blas)",
    )
    run.run_notebook(path, "smoke", out_dir=tmp_path / "out")
    executed = nbformat.read(tmp_path / "out" / "95_threads.ipynb", as_version=4)
    assert executed.cells[-1].outputs[0]["text"] == f"ACTIVE {runtime.available_cores()} [1]\n"


_BAD_PARAMETERS = [("som_size", -3), ("n_attack", 0), ("epochs", -1)]


@pytest.mark.parametrize("path", run.discover(), ids=lambda p: p.stem)
def test_a_bad_parameter_stops_the_lesson_at_its_check_before_anything_is_written(path, monkeypatch) -> None:
    """The lesson's code cells run here in order, the bad value set after the parameters cell as papermill
    injects it, until the first error: no kernel to start (the runner's own path through papermill and a
    lesson's check is tested with `-p` below)."""
    declared = papermill.inspect_notebook(str(path))
    name, bad = next(((n, v) for n, v in _BAD_PARAMETERS if n in declared), ("seed", -1))
    out = ARTIFACTS_DIR / "smoke" / "figures" / path.stem
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*")} if out.exists() else {}
    monkeypatch.chdir(path.parent)
    namespace: dict = {}
    with matplotlib.rc_context(), pytest.raises(ValueError, match=f"{name} must be .*got {bad}"):
        for cell in [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]:
            failing = cell.source
            exec(compile(cell.source, f"{path.stem} cell", "exec"), namespace)
            if "parameters" in cell.metadata.get("tags", []):
                namespace.update(profile="smoke", **{name: bad})
    assert "checks.check_parameters(" in failing
    after = {p: p.stat().st_mtime_ns for p in out.rglob("*")} if out.exists() else {}
    assert after == before


def test_a_repaired_checkpoint_is_reported_whole_on_the_runners_terminal(
    tmp_path, capsys, monkeypatch
) -> None:
    import torch

    from helpers.training import TrainConfig, load_or_train

    monkeypatch.setattr(run, "ARTIFACTS_DIR", tmp_path / "artifacts")  # the run report goes there
    config, cache = TrainConfig(seed=0, epochs=0), tmp_path / "cache"
    load_or_train(config, cache_dir=cache, progress=False)
    checkpoint = config.checkpoint_path(cache)
    checkpoint.write_bytes(checkpoint.read_bytes()[:checkpoint.stat().st_size // 2])  # half-written
    path = _notebook(tmp_path / "94_repair.ipynb", 'profile = "full"',
                     "from helpers.training import TrainConfig, load_or_train\n"
                     f"_ = load_or_train(TrainConfig(seed=0, epochs=0), cache_dir={str(cache)!r})")
    capsys.readouterr()
    run.main(["--profile", "smoke", "--executed-dir", str(tmp_path / "out"), str(path)])

    aside = checkpoint.with_name(checkpoint.name + ".corrupt")
    with pytest.raises(Exception) as unreadable:
        torch.load(aside, weights_only=True)
    reason = f"{type(unreadable.value).__name__}: {str(unreadable.value).strip().splitlines()[0]}"
    message = (f"Cached checkpoint {checkpoint} cannot be read ({reason}). "
               f"Moved it to {aside} and training again.")
    notices = [line for line in capsys.readouterr().out.splitlines() if " notice: " in line]
    assert notices == [f"{'94_repair':<28} notice: {message}"]
    executed = nbformat.read(tmp_path / "out" / "94_repair.ipynb", as_version=4)
    text = "".join(o.get("text", "") for o in executed.cells[-1].outputs if o["output_type"] == "stream")
    assert message in text.splitlines()


def test_the_parameters_option_is_repeatable_and_types_values_like_papermill() -> None:
    args = run.parse_args(["--profile", "smoke", "03", "-p", "som_size", "12", "--parameters", "lr", "0.5",
                           "-p", "name", "abc", "-p", "flag", "True", "-p", "limit", "None", "04",
                           "-p", "som_size", "-3"])
    assert args.notebooks == ["03", "04"]
    assert args.parameters == {"som_size": -3, "lr": 0.5, "name": "abc", "flag": True, "limit": None}
    with pytest.raises(SystemExit):
        run.parse_args(["-p", "profile", "smoke"])


def test_a_parameter_given_with_p_reaches_the_notebook(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(run, "ARTIFACTS_DIR", tmp_path / "artifacts")
    path = _notebook(tmp_path / "93_value.ipynb", 'profile = "full"\nepochs = 5\nvalue = 1',
                     "print(profile, epochs, repr(value))")
    result = run.run_notebook(path, "smoke", overrides={"value": 2.5, "epochs": 3})
    assert result.parameters == {"value": 2.5, "epochs": 3}
    executed = nbformat.read(tmp_path / "artifacts" / "smoke-custom" / "executed" / path.name, as_version=4)
    assert executed.cells[-1].outputs[0]["text"] == "smoke 3 2.5\n"  # over the smoke profile's epochs


def test_a_full_profile_run_with_p_writes_nothing_to_figures(tmp_path, monkeypatch, capsys) -> None:
    from helpers.io import FIGURES_DIR

    report = FIGURES_DIR / "run_report.json"
    before = report.stat().st_mtime_ns if report.exists() else None
    monkeypatch.setattr(run, "ARTIFACTS_DIR", tmp_path / "artifacts")
    monkeypatch.setattr(run, "FIGURES_DIR", tmp_path / "figures")  # where a default full run reports
    path = _notebook(tmp_path / "92_custom.ipynb", 'profile = "full"\nvalue = 1',
                     "from helpers.io import output_dir, save_results\n"
                     "print(save_results({'value': value}, output_dir('92_custom', profile)))")
    run.main(["--profile", "full", str(path), "-p", "value", "7"])

    custom = tmp_path / "artifacts" / "full-custom"
    assert "this run writes to " + str(custom) in capsys.readouterr().out
    assert json.loads((custom / "figures" / "92_custom" / "results.json").read_text()) == {"value": 7}
    assert (custom / "executed" / "92_custom.ipynb").exists()
    entries = json.loads((custom / "run_report.json").read_text())["notebooks"]
    assert [(e["notebook"], e["parameters"]) for e in entries] == [("92_custom", {"value": 7})]
    assert not (tmp_path / "figures").exists() and not (FIGURES_DIR / "92_custom").exists()
    assert (report.stat().st_mtime_ns if report.exists() else None) == before


def test_an_undeclared_parameter_is_a_clear_error_before_anything_runs(tmp_path) -> None:
    path = _notebook(tmp_path / "91_declared.ipynb", 'profile = "full"\nsom_size = 15', "x = 1")
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as error:
        run.main(["--profile", "smoke", "--executed-dir", str(out), str(path), "-p", "som_sise", "12"])
    assert str(error.value) == ("91_declared has no parameter 'som_sise'; its parameters cell declares: "
                                "profile, som_size.")
    assert not out.exists()


def test_a_bad_value_given_with_p_fails_at_the_lessons_own_check(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(run, "ARTIFACTS_DIR", tmp_path / "artifacts")
    with pytest.raises(SystemExit) as error:
        run.main(["--profile", "smoke", "03", "-p", "som_size", "-3"])
    message = str(error.value)
    assert message.startswith("03_homogeneity failed: code cell ") and "ValueError: " in message
    assert "som_size must be" in message and "got -3" in message
