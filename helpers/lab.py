"""Open the lessons in JupyterLab: `python -m helpers.lab` (what `make lab` runs).

Jupyter refuses to start as root unless told `--allow-root`; containers and cloud machines often
run as root, so the flag is added exactly when the effective user is root. The kernels inherit the
thread settings of `helpers.runtime.thread_environment` (unless set already).
"""

from __future__ import annotations

import os
import sys

from helpers.io import NOTEBOOKS_DIR
from helpers.runtime import thread_environment


def lab_command(extra: list[str] | None = None) -> list[str]:
    """The command line that starts JupyterLab on `notebooks/` with this interpreter."""
    command = [sys.executable, "-m", "jupyterlab", str(NOTEBOOKS_DIR)]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    return command + list(extra or [])


def main(argv: list[str] | None = None) -> None:
    """Replace this process by JupyterLab; arguments are passed on (e.g. `--port 8890`)."""
    command = lab_command(sys.argv[1:] if argv is None else argv)
    print(" ".join(command), flush=True)
    os.execve(command[0], command, {**thread_environment(), **os.environ})


if __name__ == "__main__":
    main()
