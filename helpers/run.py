"""Execute the series with papermill: `python -m helpers.run --profile full|smoke [notebook ...]`.

The defaults in each notebook's `parameters` cell are the full profile. The smoke profile's
parameters live here, in one place; each notebook receives the ones its parameters cell declares.
Executed notebooks go to `artifacts/<profile>/executed/`; the runner prints each notebook's wall
time and peak memory and writes them to a run report. Progress bars become one line per long step
(`SOM_CODES_PROGRESS=lines`, see `helpers.progress`), and kernels get the thread settings of
`helpers.runtime.thread_environment`. Notices from the kernel (`helpers.progress.notice`, e.g. a
damaged checkpoint moved aside and trained again) are repeated on the runner's terminal, with the
notebook's name, while it runs.

`-p NAME VALUE` (or `--parameters NAME VALUE`, repeatable) sets a parameter the notebook declares,
over the profile's value; the value is typed as papermill's `-p` types it, and the lesson's own
parameter check judges it. Such a run writes everything to `artifacts/<profile>-custom/` (executed
notebooks, figures and results, run report), never to `figures/`:

    python -m helpers.run --profile smoke 03 -p som_size 12

SIGTERM or SIGINT (Ctrl-C) stops the whole run: the running cell is interrupted, then papermill and
its kernel (which runs in a session of its own) are terminated. The runner names the notebook it
stopped, keeps no partial executed notebook or log, and exits with 128 + the signal number.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import nbformat
import papermill
import psutil
from papermill.cli import _resolve_type

from helpers.claims import FINDINGS_DIR, check_findings
from helpers.io import ARTIFACTS_DIR, FIGURES_DIR, NOTEBOOKS_DIR, OUTPUT_ENV, PROFILES, save_json
from helpers.progress import NOTICES_ENV, PROGRESS_ENV
from helpers.runtime import thread_environment

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
INTERRUPT_GRACE_S = 10.0  # for the interrupted cell to end and papermill to shut its kernel down
TERMINATE_GRACE_S = 5.0  # after SIGTERM, before SIGKILL
POLL_S = 0.2  # how often the runner looks for notices while a notebook runs

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
        "min_fooled": 10,
        "family_name": "smoke",
        "restarts": 2,
        "restart_steps": 3,
        "n_resamples": 100,
        "n_per_digit": 20,
        "n_folds": 3,
        "adv_n_train": 1000,
        "adv_epochs": 1,
        "lambdas": [0.0, 1.0],
    },
}


class NotebookFailed(RuntimeError):
    """A notebook raised an error; the message names the notebook and the failing cell."""


class FindingsFailed(RuntimeError):
    """The run ended, and some findings of its lessons' text do not hold on its results."""


class UndeclaredParameterError(ValueError):
    """A `-p` parameter that the notebook's parameters cell does not declare."""


class StopRequested(KeyboardInterrupt):
    """SIGTERM or SIGINT arrived while the runner was working (see `stop_on_signals`)."""

    def __init__(self, signum: int = signal.SIGINT) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class RunStopped(RuntimeError):
    """The run was stopped by a signal; the message names the notebook that was running."""

    def __init__(self, notebook: str, signum: int) -> None:
        super().__init__(f"Stopped {notebook} on {signal.Signals(signum).name}: papermill and its "
                         "kernel were ended and no partial executed notebook was kept.")
        self.notebook, self.signum = notebook, signum


@dataclass
class NotebookRun:
    notebook: str
    seconds: float
    peak_memory_mib: float
    parameters: dict[str, Any] | None = None  # the `-p` values, None without any


def discover(notebooks_dir: Path = NOTEBOOKS_DIR) -> list[Path]:
    """The lessons, `NN_name.ipynb`, in reading order."""
    return sorted(notebooks_dir.glob("[0-9][0-9]_*.ipynb"))


def select(names: list[str], notebooks_dir: Path = NOTEBOOKS_DIR) -> list[Path]:
    """Resolve `01`, `01_training` or a path to an `.ipynb` file (anywhere); none given means all."""
    available = discover(notebooks_dir)
    if not names:
        return available
    chosen = []
    for name in names:
        if name.endswith(".ipynb") and Path(name).is_file():
            chosen.append(Path(name))
            continue
        stem = Path(name).stem
        matches = [p for p in available if p.stem == stem or p.stem.split("_")[0] == stem]
        if not matches:
            known = ", ".join(p.stem for p in available)
            raise SystemExit(f"No notebook called {name!r}; known notebooks: {known}.")
        chosen.extend(matches)
    return chosen


def parameters_for(
    notebook: Path, profile: str, overrides: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The profile's parameters that this notebook's parameters cell declares, then `overrides`.

    Every name in `overrides` must be declared, else `UndeclaredParameterError` names them all.
    """
    if profile not in PROFILE_PARAMETERS:
        raise ValueError(f"Unknown profile {profile!r}; choose one of {PROFILES}.")
    declared = papermill.inspect_notebook(str(notebook))
    undeclared = [name for name in overrides or {} if name not in declared]
    if undeclared:
        raise UndeclaredParameterError(
            f"{Path(notebook).stem} has no parameter {', '.join(map(repr, undeclared))}; its parameters "
            f"cell declares: {', '.join(declared)}.")
    return {k: v for k, v in PROFILE_PARAMETERS[profile].items() if k in declared} | (overrides or {})


def custom_dir(profile: str) -> Path:
    """Where a run with `-p` parameters puts its executed notebooks, figures, results and report."""
    return ARTIFACTS_DIR / f"{profile}-custom"


def run_notebook(
    notebook: Path, profile: str, out_dir: Path | None = None, overrides: dict[str, Any] | None = None
) -> NotebookRun:
    """Execute one notebook in a fresh kernel; raise `NotebookFailed` on an error.

    `overrides` (the `-p` values) replace the profile's parameters; the notebook's figures and
    results then go to `custom_dir(profile)`, as do executed notebooks unless `out_dir` is given.
    Papermill writes to hidden files beside the executed notebook and its log, moved into place
    when it ends. If anything interrupts the wait (`StopRequested`, Ctrl-C), papermill and its
    kernel are stopped (`stop_process_tree`) and the hidden files removed before re-raising.
    """
    notebook = Path(notebook)
    parameters = parameters_for(notebook, profile, overrides)
    out_dir = Path(out_dir or (custom_dir(profile) if overrides else ARTIFACTS_DIR / profile) / "executed")
    out_dir.mkdir(parents=True, exist_ok=True)
    executed = out_dir / notebook.name
    log = executed.with_suffix(".log")
    partial = out_dir / f".{notebook.stem}.running.ipynb"
    partial_log = partial.with_suffix(".log")
    notices = out_dir / f".{notebook.stem}.notices"
    notices.unlink(missing_ok=True)
    command = [
        sys.executable, "-m", "papermill", str(notebook), str(partial),
        "--kernel", "python3", "--cwd", str(notebook.parent), "--no-progress-bar",
        "--parameters_yaml", json.dumps(parameters),
    ]
    # One line per long step and the measured thread settings, unless the user set them.
    env = {PROGRESS_ENV: "lines", **thread_environment(), **os.environ, NOTICES_ENV: str(notices)}
    env.pop(OUTPUT_ENV, None)  # only the runner chooses where a run's outputs go
    if overrides:
        env[OUTPUT_ENV] = str(custom_dir(profile) / "figures")
    start = time.perf_counter()
    process = None
    try:
        with open(partial_log, "w") as log_file:
            # A session of its own: a terminal's Ctrl-C reaches only the runner, which stops the rest.
            process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT, env=env,
                                       start_new_session=True)
            status, usage = _wait_relaying_notices(process, notices, notebook.stem)
    except BaseException:
        with _signals_blocked():
            if process is not None:
                stop_process_tree(process)
            partial.unlink(missing_ok=True)
            partial_log.unlink(missing_ok=True)
        raise
    finally:
        notices.unlink(missing_ok=True)
    seconds = time.perf_counter() - start
    os.replace(partial_log, log)
    if partial.exists():
        os.replace(partial, executed)
    else:  # papermill failed before writing: no executed notebook from an earlier run may stay
        executed.unlink(missing_ok=True)
    if os.waitstatus_to_exitcode(status) != 0:
        raise NotebookFailed(f"{notebook.stem} failed: {_failure(executed, log)}")
    # ru_maxrss is in KiB on Linux: the largest of papermill and the kernel it waited for.
    return NotebookRun(notebook.stem, round(seconds, 1), round(usage.ru_maxrss / 1024, 1), overrides or None)


def _wait_relaying_notices(
    process: subprocess.Popen, notices: Path, notebook: str
) -> tuple[int, Any]:
    """Wait for `process`, printing each line the kernel writes to `notices` as it comes.

    Returns the wait status and resource usage of `os.wait4`.
    """
    offset = 0
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        offset = _relay_notices(notices, notebook, offset)
        if pid:
            return status, usage
        time.sleep(POLL_S)


def _relay_notices(path: Path, notebook: str, offset: int) -> int:
    """Print the complete lines of `path` from byte `offset` on, naming the notebook; the new offset."""
    try:
        with open(path, "rb") as file:
            file.seek(offset)
            text = file.read()
    except FileNotFoundError:
        return offset
    complete = text[:text.rfind(b"\n") + 1]
    for line in complete.decode("utf-8", errors="replace").splitlines():
        print(f"{notebook:<28} notice: {line}", flush=True)
    return offset + len(complete)


def stop_process_tree(process: subprocess.Popen) -> None:
    """End `process` (papermill) and every process it started, and reap it.

    The kernel runs in a session of its own (jupyter_client starts it so), so ending papermill's
    process group would leave it running: the processes are collected by parentage instead. The
    kernel is interrupted first, like Jupyter's stop button, so the running cell's cleanup (e.g.
    `atomic_write` removing its temporary file) runs and papermill shuts the kernel down; whatever
    is still running after that gets SIGTERM, then SIGKILL.
    """
    try:
        root = psutil.Process(process.pid)
        tree = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        tree = []
    if len(tree) > 1:
        _send(tree[1:], signal.SIGINT)
        _wait_gone(tree[:1], INTERRUPT_GRACE_S)
    _send(tree, signal.SIGTERM)
    _send(_wait_gone(tree, TERMINATE_GRACE_S), signal.SIGKILL)
    process.wait()


def _send(processes: list[psutil.Process], signum: int) -> None:
    for process in processes:
        try:
            process.send_signal(signum)
        except psutil.NoSuchProcess:
            pass


def _wait_gone(processes: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Wait until none of `processes` runs (a zombie counts as ended); return those still running."""
    deadline = time.monotonic() + timeout
    while True:
        running = [p for p in processes if _is_running(p)]
        if not running or time.monotonic() > deadline:
            return running
        time.sleep(0.05)


def _is_running(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """Within the block, SIGTERM and SIGINT raise `StopRequested`; the old handlers come back after."""
    def raise_stop(signum: int, frame: Any) -> None:
        raise StopRequested(signum)

    previous = {signum: signal.signal(signum, raise_stop) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextmanager
def _signals_blocked() -> Iterator[None]:
    """Hold SIGTERM and SIGINT until the block ends, so that a second Ctrl-C cannot cut a cleanup short."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


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


def run_series(
    profile: str,
    names: list[str] | None = None,
    executed_dir: Path | None = None,
    overrides: dict[str, Any] | None = None,
) -> list[NotebookRun]:
    """Run notebooks in order, printing a line each, and write the run report.

    With `overrides` (the `-p` values), every notebook must declare them (checked before any runs)
    and everything goes to `custom_dir(profile)`, the report too.
    A full-profile run checks each lesson's findings (`helpers.claims.check_findings`) right after it
    runs, printing a line per lesson, and raises `FindingsFailed` at the end if any fail.
    A `KeyboardInterrupt` (Ctrl-C or `StopRequested`) becomes `RunStopped`, naming the notebook.
    """
    notebooks = select(names or [])
    for notebook in notebooks:
        parameters_for(notebook, profile, overrides)
    if overrides:
        values = ", ".join(f"{name}={value!r}" for name, value in overrides.items())
        print(f"Parameters {values} replace the {profile} profile's values; this run writes to "
              f"{custom_dir(profile)}/ only.", flush=True)
    runs, failing = [], {}
    for notebook in notebooks:
        print(f"{notebook.stem:<28} running ({profile} profile) ...", flush=True)
        try:
            run = run_notebook(notebook, profile, executed_dir, overrides)
        except KeyboardInterrupt as stop:
            raise RunStopped(notebook.stem, getattr(stop, "signum", signal.SIGINT)) from None
        print(f"{run.notebook:<28} {run.seconds:8.1f} s  peak {run.peak_memory_mib:8.0f} MiB",
              flush=True)
        runs.append(run)
        if profile == "full" and not overrides and (FINDINGS_DIR / f"{notebook.stem}.py").exists():
            results = FIGURES_DIR / notebook.stem / "results.json"
            failing[notebook.stem] = check_findings(notebook.stem, results, notebook)
    if overrides:
        report_path = custom_dir(profile) / "run_report.json"
    else:
        report_path = (FIGURES_DIR if profile == "full" else ARTIFACTS_DIR / profile) / "run_report.json"
    write_report(report_path, profile, runs, lessons={p.stem for p in discover()})
    failing = {lesson: bad for lesson, bad in failing.items() if bad}
    if failing:
        raise FindingsFailed(
            f"The run finished, but {sum(map(len, failing.values()))} findings or quotes of "
            f"{', '.join(failing)} do not hold on its results (listed above): the lessons' text no longer "
            "says what these results show.")
    return runs


def write_report(
    path: Path, profile: str, runs: list[NotebookRun], lessons: set[str] | None = None
) -> None:
    """Merge these runs into the report at `path` (latest run per notebook) and print the total.

    With `lessons`, earlier entries of notebooks not among them (a lesson renamed or removed since)
    are dropped, so the report lists only lessons that exist.

    A report that cannot be read is moved aside to `<name>.corrupt` (with a message), like a
    damaged checkpoint, and a new one is started.
    """
    entries = {}
    if path.exists():
        try:
            entries = {e["notebook"]: e for e in json.loads(path.read_text())["notebooks"]}
        except (ValueError, KeyError, TypeError) as error:  # damaged JSON or not a run report
            aside = path.with_name(path.name + ".corrupt")
            os.replace(path, aside)
            print(f"Run report {path} cannot be read ({type(error).__name__}); moved it to {aside} "
                  "and starting a new one.")
    if lessons is not None:
        entries = {name: entry for name, entry in entries.items() if name in lessons}
    entries.update({r.notebook: {k: v for k, v in asdict(r).items() if v is not None} for r in runs})
    notebooks = [entries[name] for name in sorted(entries)]
    total = round(sum(e["seconds"] for e in notebooks), 1)
    print(f"{'total (this run)':<28} {sum(r.seconds for r in runs):8.1f} s")
    save_json({"profile": profile, "total_seconds": total, "notebooks": notebooks}, path)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m helpers.run", description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=PROFILES, default="full")
    parser.add_argument("--executed-dir", type=Path, default=None,
                        help="where executed notebooks and their logs go (default: "
                             "artifacts/<profile>/executed, with -p artifacts/<profile>-custom/executed)")
    parser.add_argument("-p", "--parameters", nargs=2, action="append", default=[],
                        metavar=("NAME", "VALUE"),
                        help="set a parameter the notebooks declare, over the profile's value "
                             "(repeatable; typed as papermill's -p types it); the run then writes to "
                             "artifacts/<profile>-custom/")
    parser.add_argument("notebooks", nargs="*",
                        help="e.g. 01, 01_training or a path to an .ipynb file (default: all lessons)")
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line; `parameters` becomes a dict of the `-p` values, typed like papermill's."""
    parser = build_parser()
    args = parser.parse_intermixed_args(argv)
    args.parameters = {name: _resolve_type(value) for name, value in args.parameters}
    if "profile" in args.parameters:
        parser.error("choose the profile with --profile, not with -p profile")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    try:
        with stop_on_signals():
            run_series(args.profile, args.notebooks, args.executed_dir, args.parameters)
    except (NotebookFailed, UndeclaredParameterError, FindingsFailed) as error:
        raise SystemExit(str(error)) from None
    except RunStopped as stopped:
        print(stopped, file=sys.stderr, flush=True)
        raise SystemExit(128 + stopped.signum) from None


if __name__ == "__main__":
    main()
