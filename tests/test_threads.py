"""Thread settings for the lessons' kernels (helpers.runtime): usable cores, passive waiting."""

from __future__ import annotations

import pytest

from helpers import runtime


@pytest.mark.parametrize("cpu_max, expected", [
    ("max 100000\n", 8),  # no quota: the affinity decides
    ("150000 100000\n", 2),  # 1.5 cores of quota: 2 threads
    ("50000 100000\n", 1),
    ("1600000 100000\n", 8),  # a quota above the affinity does not add cores
    (None, 8),  # no cgroup v2 file
])
def test_available_cores_is_the_affinity_capped_by_the_cgroup_quota(
    tmp_path, monkeypatch, cpu_max, expected
) -> None:
    monkeypatch.setattr(runtime.os, "sched_getaffinity", lambda pid: set(range(8)), raising=False)
    path = tmp_path / "cpu.max"
    if cpu_max is not None:
        path.write_text(cpu_max)
    assert runtime.available_cores(path) == expected


def test_thread_environment_uses_the_available_cores_and_passive_waiting(monkeypatch) -> None:
    monkeypatch.setattr(runtime, "available_cores", lambda: 3)
    assert runtime.thread_environment() == {
        "OMP_NUM_THREADS": "3", "OMP_WAIT_POLICY": "PASSIVE", "OPENBLAS_NUM_THREADS": "1",
    }
