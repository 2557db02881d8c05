from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from helpers import runtime


def test_seed_everything_repeats_python_numpy_and_torch() -> None:
    def draws() -> tuple:
        return random.random(), np.random.rand(), torch.rand(1).item()

    runtime.seed_everything(3)
    first = draws()
    runtime.seed_everything(3)
    assert draws() == first
    runtime.seed_everything(4)
    assert all(a != b for a, b in zip(draws(), first))


@pytest.mark.parametrize("seed", [-1, 2**32, 1.0])
def test_seed_everything_refuses_what_numpy_cannot_seed(seed) -> None:
    with pytest.raises(ValueError, match=r"^seed must be an integer in \[0, 4294967295\], got "):
        runtime.seed_everything(seed)


def test_default_device_follows_cuda_availability(monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert runtime.default_device() == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert runtime.default_device() == torch.device("cuda")


def test_one_thread_restores_the_thread_count_even_after_an_error() -> None:
    from helpers.runtime import one_thread

    threads = torch.get_num_threads()
    with pytest.raises(RuntimeError, match="inside"):
        with one_thread():
            assert torch.get_num_threads() == 1
            raise RuntimeError("inside")
    assert torch.get_num_threads() == threads
