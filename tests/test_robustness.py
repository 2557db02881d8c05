"""AutoAttack's suite (helpers.robustness) and the committed robustness records the lessons read."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from helpers import robustness
from helpers.attacks import robust_inputs
from helpers.bench import ROBUSTNESS_RECORD, robustness_models
from helpers.data import load_split
from helpers.training import TrainConfig, load_or_train

STAGES = ("clean", *robustness.SUITE)
QUICK = dict(apgd_iterations=10, n_targets=1, square_queries=20)


def corner_model() -> nn.Sequential:
    """Three classes on 6 x 6 images: class k scores 2 * pixel k of the top row, so that pixel lit alone
    makes class k (Square needs images larger than a few pixels)."""
    model = nn.Sequential(nn.Flatten(), nn.Linear(36, 3))
    with torch.no_grad():
        model[1].weight.copy_(2 * torch.eye(3, 36))
        model[1].bias.zero_()
    return model.eval()


def corner_images(n: int = 24, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Images whose class is the one pixel of 0..2 that is lit, all others dark; plus one clean mistake."""
    generator = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=generator)
    x = torch.zeros(n, 1, 6, 6)
    x.view(n, 36)[torch.arange(n), y] = 0.8
    y[0] = (y[0] + 1) % 3                                  # image 0 is misclassified before any attack
    return x, y


@pytest.fixture(scope="module")
def mnist(tmp_path_factory):
    """A briefly trained MNIST CNN and 60 test images."""
    model, _ = load_or_train(TrainConfig(seed=0, epochs=1, n_train=3000),
                             cache_dir=tmp_path_factory.mktemp("checkpoints"), progress=False)
    x, y = load_split("mnist", train=False)
    return model, x[:60], y[:60]


def test_at_budget_zero_only_clean_mistakes_count() -> None:
    x, y = corner_images()
    result = robustness.autoattack_suite(corner_model(), x, y, 0.0, **QUICK)
    assert result.broken_by[0] == "clean" and (result.broken_by[1:] == "").all()
    assert result.accuracy_after()["Square"] == pytest.approx(23 / 24)


def test_a_budget_that_reaches_every_class_breaks_every_image() -> None:
    """At 0.5 every image can dim its pixel to 0.3 and light another to 0.5: the first attack breaks all."""
    x, y = corner_images()
    result = robustness.autoattack_suite(corner_model(), x, y, 0.5, **QUICK)
    assert result.broken_counts() == {"clean": 1, "APGD-CE": 23, "APGD-DLR": 0, "APGD-DLR, targeted": 0,
                                      "Square": 0}
    assert not result.robust.any()


def test_too_small_a_budget_breaks_nothing() -> None:
    """Below 0.4 (half the gap between the lit pixel's 0.8 and a dark one) no image changes class."""
    x, y = corner_images()
    result = robustness.autoattack_suite(corner_model(), x, y, 0.39, **QUICK)
    assert result.broken_counts()["clean"] == 1 and result.robust.sum() == 23


def test_stages_count_each_image_once_and_the_suite_beats_one_start_pgd(mnist) -> None:
    model, x, y = mnist
    result = robustness.autoattack_suite(model, x, y, 0.15, **QUICK)
    counts, after = result.broken_counts(), result.accuracy_after()
    assert sum(counts.values()) + result.robust.sum() == len(x)
    assert list(after.values()) == sorted(after.values(), reverse=True)
    assert after["Square"] == pytest.approx(result.robust.mean())
    assert result.robust.mean() <= robust_inputs(model, x, y, 0.15, steps=10).mean()
    assert result.robust.mean() < after["clean"]                # the attacks break something here


def test_same_seed_same_result(mnist) -> None:
    model, x, y = mnist
    runs = [robustness.autoattack_suite(model, x[:20], y[:20], 0.1, seed=3, **QUICK).broken_by
            for _ in range(2)]
    np.testing.assert_array_equal(*runs)


def test_an_input_outside_the_budget_or_the_box_is_caught() -> None:
    images = np.full((2, 1, 2, 2), 0.5, dtype=np.float32)
    robustness._check_budget(images + 0.1, images, 0.1)
    with pytest.raises(RuntimeError, match="left the budget"):
        robustness._check_budget(images + 0.11, images, 0.1)
    with pytest.raises(RuntimeError, match="left the budget"):
        robustness._check_budget(images * 0 - 0.01, images * 0, 0.1)


@pytest.mark.parametrize("bad", [dict(epsilon=-0.1), dict(epsilon=1.5), dict(n_targets=10),
                                 dict(apgd_iterations=0), dict(square_queries=0)])
def test_bad_settings_are_rejected(bad) -> None:
    x, y = corner_images()
    settings = {"epsilon": 0.1, **QUICK, **bad}
    with pytest.raises(ValueError):
        robustness.autoattack_suite(corner_model(), x, y, **settings)


def test_images_outside_the_box_and_mismatched_labels_are_rejected() -> None:
    x, y = corner_images()
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        robustness.autoattack_suite(corner_model(), x + 1, y, 0.1, **QUICK)
    with pytest.raises(ValueError, match="same number"):
        robustness.autoattack_suite(corner_model(), x, y[:-1], 0.1, **QUICK)


@pytest.mark.parametrize("lesson", ["06", "08"])
def test_the_committed_record_covers_the_lessons_models(lesson) -> None:
    """A stale record (other checkpoints, too few images, a stage counted twice) fails here."""
    record = json.loads(ROBUSTNESS_RECORD.with_name(f"robustness_{lesson}.json").read_text())
    wanted = robustness_models(lesson)
    assert record["n_test"] >= 1000 and set(record["models"]) == set(wanted)
    for name, (config, suite_epsilons, pgd_epsilon) in wanted.items():
        model = record["models"][name]
        assert model["checkpoint"] == config.checkpoint_path().name
        assert set(model["autoattack"]) == {f"{eps:g}" for eps in suite_epsilons}
        assert model["pgd_epsilon"] == pgd_epsilon
        for suite in model["autoattack"].values():
            after = list(suite["accuracy_after"].values())
            assert list(suite["accuracy_after"]) == list(STAGES) and after == sorted(after, reverse=True)
            assert sum(suite["broken_by"].values()) + sum(suite["robust"]) == record["n_test"]
            assert after[-1] == pytest.approx(np.mean(suite["robust"]))
        assert model["epsilon_sweep"]["0.5"] <= 0.01            # every input can reach the all-gray image
