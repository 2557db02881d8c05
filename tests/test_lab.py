"""`make lab`: the JupyterLab command line, as root and as a normal user."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from helpers import lab, runtime
from helpers.io import NOTEBOOKS_DIR, REPO_ROOT


@pytest.mark.parametrize("euid, allow_root", [(0, True), (1000, False)])
def test_allow_root_exactly_when_running_as_root(monkeypatch, euid, allow_root) -> None:
    monkeypatch.setattr(lab.os, "geteuid", lambda: euid)
    command = lab.lab_command(["--port", "8890"])
    assert command[:4] == [sys.executable, "-m", "jupyterlab", str(NOTEBOOKS_DIR)]
    assert ("--allow-root" in command) == allow_root
    assert command[-2:] == ["--port", "8890"]


def test_the_module_it_runs_is_runnable_in_this_environment() -> None:
    assert importlib.util.find_spec("jupyterlab.__main__") is not None


def test_make_lab_runs_the_module() -> None:
    assert "-m helpers.lab" in (REPO_ROOT / "Makefile").read_text().split("\nlab:")[1].split("\n\n")[0]


def test_kernels_get_the_thread_settings_unless_the_user_set_them(monkeypatch) -> None:
    started = {}
    monkeypatch.setattr(lab.os, "execve", lambda path, args, env: started.update(env=env, args=args))
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    lab.main(["--no-browser"])
    assert started["args"][-1] == "--no-browser"
    assert started["env"]["OMP_WAIT_POLICY"] == "ACTIVE"
    assert started["env"]["OPENBLAS_NUM_THREADS"] == "1"
    assert started["env"]["OMP_NUM_THREADS"] == str(runtime.available_cores())
