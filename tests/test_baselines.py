"""The baselines of lessons 00 and 01 on hand-made labels and images with known answers."""

from __future__ import annotations

import pytest
import torch

from helpers import baselines


def test_class_means_average_each_class_and_keep_the_image_shape() -> None:
    images = torch.tensor([[[[0.0, 1.0]]], [[[1.0, 1.0]]], [[[0.5, 0.0]]]])  # (3, 1, 1, 2)
    means = baselines.class_means(images, torch.tensor([0, 0, 2]), 3)
    assert means.shape == (3, 1, 2)
    torch.testing.assert_close(means[0], torch.tensor([[0.5, 1.0]]))
    torch.testing.assert_close(means[2], torch.tensor([[0.5, 0.0]]))
    assert torch.isnan(means[1]).all()  # a class without images has no mean


def test_class_shares_sum_to_one_with_absent_classes_at_zero() -> None:
    shares = baselines.class_shares(torch.tensor([2, 2, 2, 0]), 4)
    torch.testing.assert_close(shares, torch.tensor([0.25, 0.0, 0.75, 0.0]))


@pytest.mark.parametrize("test_labels, expected", [([1, 1, 0], 2 / 3), ([0, 0, 0], 0.0)])
def test_the_blind_guess_is_the_training_labels_most_common_class(test_labels, expected) -> None:
    train = torch.tensor([1, 1, 1, 0, 0])          # 1 is most common in training, whatever the test says
    assert baselines.blind_guess_accuracy(train, torch.tensor(test_labels)) == pytest.approx(expected)
