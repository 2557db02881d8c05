"""helpers.detection: grouped folds keep twins together; separable data score 1, noise about 0.5."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.detection import detection_accuracy, held_out_correct, one_hot, transfer_accuracy, twin_folds


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
