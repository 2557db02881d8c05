"""What the labels and the raw pixels alone give, before any network: the baselines lessons 00 and 01
read their results against, and the references of the exercises that build them.

>>> labels = torch.tensor([0, 0, 0, 1])
>>> class_shares(labels, 3)
tensor([0.7500, 0.2500, 0.0000])
>>> blind_guess_accuracy(labels, torch.tensor([0, 1, 1, 1]))
0.25
"""

from __future__ import annotations

import torch

__all__ = ["blind_guess_accuracy", "class_means", "class_shares"]


def class_means(images: torch.Tensor, labels: torch.Tensor, n_classes: int) -> torch.Tensor:
    """The mean image of each class, shape (n_classes, *image shape without channels), summed in
    float64 so that 60,000 images add up without rounding drift; NaN for a class without images."""
    sums = torch.zeros(n_classes, images[0].numel(), dtype=torch.float64)
    sums.index_add_(0, labels, images.flatten(1).double())
    sums /= torch.bincount(labels, minlength=n_classes)[:, None]
    return sums.float().view(n_classes, *images.shape[2:])


def class_shares(labels: torch.Tensor, n_classes: int) -> torch.Tensor:
    """The share of each class among `labels`: the probabilities of the best bet that never looks at the
    image (lowest cross-entropy on images drawn like these)."""
    return torch.bincount(labels, minlength=n_classes) / len(labels)


def blind_guess_accuracy(train_labels: torch.Tensor, test_labels: torch.Tensor) -> float:
    """The test accuracy of the best rule that never looks at the image: always answer the most common
    class of the training labels."""
    return (test_labels == torch.bincount(train_labels).argmax()).float().mean().item()
