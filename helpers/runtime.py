"""The machine a lesson runs on: which device computes, and the seeds that make a run repeatable."""

from __future__ import annotations

import math
import os
import random
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

from helpers.checks import check_parameters


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch."""
    check_parameters(seed=seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def default_device() -> torch.device:
    """CUDA when available, else CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@contextmanager
def one_thread() -> Iterator[None]:
    """torch computes on one CPU thread inside the block; the thread count is restored after it.

    Training runs this way so that a model's weights do not depend on how many threads the machine
    has: with more threads, torch splits sums over a batch differently, and the rounding of those
    splits moved weights by about 1e-5 within 24 steps, enough to change a later figure.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


def available_cores(cpu_max: Path = CGROUP_CPU_MAX) -> int:
    """CPU cores this process may use: its CPU affinity, capped by a cgroup v2 CPU quota if any."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        quota, period = cpu_max.read_text().split()[:2]
    except (OSError, ValueError):  # no cgroup v2 file (macOS, cgroup v1): the affinity decides
        return cores
    return cores if quota == "max" else max(1, min(cores, math.ceil(int(quota) / int(period))))


def thread_environment() -> dict[str, str]:
    """Thread settings for a process that will run torch and numpy, e.g. a lesson's kernel.

    They must be in its environment before torch and numpy load, so the runner and
    `python -m helpers.lab` pass them to the kernels; a variable the user has set wins. Measured on
    a shared 2-core machine (see the README): torch's OpenMP threads busy-wait for each other, which
    made a training step 4x slower with 2 threads than with 1 unless they wait passively, and
    numpy's OpenBLAS threads made SOM fitting 2-3x slower than one thread.
    """
    return {
        "OMP_NUM_THREADS": str(available_cores()),  # torch (and OpenMP libraries): usable cores
        "OMP_WAIT_POLICY": "PASSIVE",  # sleep, not spin, while waiting for the other threads
        "OPENBLAS_NUM_THREADS": "1",  # numpy's BLAS: one thread
    }
