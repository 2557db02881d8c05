"""helpers.detection: grouped folds keep twins together; separable data score 1, noise about 0.5."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers.detection import (
    detection_accuracy,
    held_out_correct,
    one_hot,
    perturbation_statistics,
    transfer_accuracy,
    transplant_pairs,
    transplanted,
    twin_folds,
)


def test_grouped_folds_never_split_an_input_from_its_twin() -> None:
    n = 23
    seen = np.zeros(2 * n, dtype=int)
    for train, test in twin_folds(n, n_folds=5):
        test_inputs, train_inputs = set(test % n), set(train % n)
        assert not test_inputs & train_inputs
        assert set(test) == {i for i in range(2 * n) if i % n in test_inputs}
        seen[test] += 1
    assert (seen == 1).all()          # every row is held out exactly once


def test_a_detector_on_separable_twins_is_perfect() -> None:
    rng = np.random.default_rng(1)
    clean = rng.normal(size=(60, 5))
    assert detection_accuracy(clean, clean + [0, 0, 10.0, 0, 0], n_folds=5) == 1.0


def test_a_detector_on_twins_that_do_not_differ_is_at_chance() -> None:
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(300, 20)), rng.normal(size=(300, 20))   # both classes drawn alike
    assert abs(detection_accuracy(a, b, n_folds=5) - 0.5) < 0.08


def test_an_identical_twin_cannot_be_detected() -> None:
    rng = np.random.default_rng(3)
    a = rng.normal(size=(100, 4))
    assert detection_accuracy(a, a.copy()) <= 0.5 + 1e-12    # the same row in both classes: at most chance


def test_transfer_uses_the_test_pair_and_can_fail_where_training_succeeds() -> None:
    rng = np.random.default_rng(4)
    clean = rng.normal(size=(80, 2))
    shifted_x, shifted_y = clean + [10.0, 0.0], clean + [0.0, 10.0]
    scores = transfer_accuracy(clean, shifted_x, {"seen": (clean, shifted_x), "unseen": (clean, shifted_y)})
    assert scores["seen"] == 1.0
    assert scores["unseen"] < 0.75   # a shift it never saw


def test_bad_inputs_get_clear_errors() -> None:
    with pytest.raises(ValueError, match="b must have the shape of a"):
        detection_accuracy(np.zeros((10, 3)), np.zeros((9, 3)))
    with pytest.raises(ValueError, match="n_folds must be"):
        twin_folds(4, n_folds=5)
    with pytest.raises(ValueError, match="codes must be"):
        one_hot([0, 3], 3)
    with pytest.raises(ValueError, match="tests\\['other'\\] must have the shape of train_a"):
        transfer_accuracy(np.zeros((10, 3)), np.ones((10, 3)), {"other": (np.zeros((8, 3)), np.ones((8, 3)))})


def test_one_hot_marks_the_node_of_each_code() -> None:
    assert one_hot(np.array([1, 1, 0]), 2).tolist() == [[0, 1], [0, 1], [1, 0]]


def test_held_out_correct_gives_each_input_the_share_of_its_two_rows_the_detectors_got_right() -> None:
    rng = np.random.default_rng(3)
    clean = rng.normal(size=(60, 4))
    twins = clean + rng.normal(scale=0.5, size=(60, 4)) + [0.8, 0.0, 0.0, 0.0]  # hard to tell apart
    per_input = held_out_correct(clean, twins, {"same": (clean, twins)}, n_folds=5)["same"]
    assert per_input.shape == (60,) and set(np.unique(per_input)) <= {0.0, 0.5, 1.0}
    assert 0.0 < per_input.mean() < 1.0
    # 60 inputs in 5 grouped folds of 12: the mean over inputs is the mean over folds
    assert per_input.mean() == pytest.approx(detection_accuracy(clean, twins, n_folds=5))


@pytest.mark.parametrize("n", [2, 3, 10, 11])
def test_transplant_pairs_give_every_input_another_donor_of_its_group(n) -> None:
    donor, groups = transplant_pairs(n, seed=n)
    assert (donor != np.arange(n)).all() and sorted(donor) == list(range(n))   # a derangement
    assert (groups[donor] == groups).all()
    sizes = np.bincount(groups)
    assert (sizes == 2).sum() == n // 2 - n % 2 and (sizes == 3).sum() == n % 2


def test_grouped_folds_keep_a_group_together() -> None:
    _, groups = transplant_pairs(21, seed=0)
    for _, test in twin_folds(21, n_folds=4, groups=groups):
        held_out = np.unique(test % 21)
        assert set(np.flatnonzero(np.isin(groups, groups[held_out]))) == set(held_out)


def test_transplanted_perturbations_come_from_the_donor_and_stay_in_range() -> None:
    x = torch.rand(6, 1, 4, 4)
    perturbed = (x + 0.1 * torch.randn(6, 1, 4, 4)).clamp(0, 1)
    donor, _ = transplant_pairs(6, seed=0)
    out = transplanted(x, perturbed, donor)
    assert out.min() >= 0 and out.max() <= 1
    assert torch.allclose(out, (x + (perturbed - x)[donor]).clamp(0, 1))
    assert torch.equal(transplanted(x, perturbed, np.arange(6)), perturbed)    # its own donor: the same


def test_perturbation_statistics_of_a_known_perturbation() -> None:
    x = torch.zeros(2, 1, 2, 2)
    x[:, 0, 0, 0] = 1.0                                      # one stroke pixel, three background pixels
    perturbed = x.clone()
    perturbed[1, 0, 0, 0], perturbed[1, 0, 1, 1] = 0.8, 0.2  # dims the stroke, lights one background pixel
    stats = perturbation_statistics(x, perturbed)
    assert stats[0].tolist() == [0, 0, 0, 0]
    assert stats[1] == pytest.approx([0.5, 0.1, 0.0, 1 / 3], abs=1e-6)


def test_a_shared_perturbation_leaks_unless_its_two_images_share_a_fold() -> None:
    # b[i] carries the perturbation of a[donor[i]]: without the groups, a detector meets a perturbation
    # labelled "a" in training and the same one labelled "b" in the test fold, and scores below chance
    rng = np.random.default_rng(5)
    images, perturbations = rng.normal(size=(200, 30)), rng.normal(scale=2.0, size=(200, 30))
    donor, groups = transplant_pairs(200, seed=1)
    a, b = images + perturbations, images + perturbations[donor]
    leaky = held_out_correct(a, b, {"t": (a, b)}, n_folds=5)["t"].mean()
    grouped = held_out_correct(a, b, {"t": (a, b)}, n_folds=5, groups=groups)["t"].mean()
    assert leaky < 0.4
    assert abs(grouped - 0.5) < 0.1
