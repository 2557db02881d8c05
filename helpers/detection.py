"""Adversarial detection: a logistic regression that tells inputs from their perturbed twins.

Each input appears twice, once as it is (class 0) and once perturbed (class 1). A detector must be
scored on twins it never saw in training: folds are grouped by input (`GroupKFold`), so an input and
its twin always fall in the same fold; otherwise the detector could recognise the test input by its
twin in the training set.

>>> rng = np.random.default_rng(0)
>>> clean = rng.normal(size=(40, 3))
>>> detection_accuracy(clean, clean + [10.0, 0.0, 0.0], n_folds=4)
1.0
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold

from helpers.checks import check_int, check_number

__all__ = [
    "detection_accuracy",
    "held_out_correct",
    "one_hot",
    "perturbation_statistics",
    "transfer_accuracy",
    "transplant_pairs",
    "transplanted",
    "twin_folds",
]


def _pair(a: Any, b: Any, name_a: str, name_b: str) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32)
    if a.ndim != 2 or len(a) < 2:
        raise ValueError(f"{name_a} must be a 2-D array with at least two rows, got shape {a.shape}.")
    if b.shape != a.shape:
        raise ValueError(f"{name_b} must have the shape of {name_a} {a.shape} (row i: the twin of row i), "
                         f"got {b.shape}.")
    return a, b


def twin_folds(
    n_inputs: int, n_folds: int = 5, groups: Any = None
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) row indices into ``vstack([a, b])`` for `n_inputs` inputs and their twins.

    Row i and row n_inputs + i (an input and its twin) always land on the same side, and so do all
    inputs of one of `groups` (one label per input; default: each input its own group).
    """
    check_int(n_inputs, "n_inputs", minimum=2)
    groups = np.arange(n_inputs) if groups is None else np.asarray(groups)
    if groups.shape != (n_inputs,):
        raise ValueError(f"groups must hold one label per input ({n_inputs}), got shape {groups.shape}.")
    check_int(n_folds, "n_folds", minimum=2, maximum=len(np.unique(groups)))
    rows = np.zeros((2 * n_inputs, 1))
    return list(GroupKFold(n_splits=n_folds).split(rows, groups=np.tile(groups, 2)))


def _detector(c: float) -> LogisticRegression:
    return LogisticRegression(C=check_number(c, "c", minimum=0, strict_minimum=True), max_iter=1000)


def detection_accuracy(a: Any, b: Any, n_folds: int = 5, c: float = 1.0) -> float:
    """Held-out accuracy of telling rows of `a` (class 0) from their twins in `b` (class 1).

    Mean over `n_folds` folds grouped by input (`twin_folds`) of a logistic regression with inverse
    regularization strength `c`; 0.5 is chance, since both classes have one row per input.
    """
    a, b = _pair(a, b, "a", "b")
    return transfer_accuracy(a, b, {"same": (a, b)}, n_folds, c)["same"]


def transfer_accuracy(
    train_a: Any, train_b: Any, tests: Mapping[str, tuple[Any, Any]], n_folds: int = 5, c: float = 1.0
) -> dict[str, float]:
    """Held-out accuracy, per named test pair, of detectors trained on (`train_a`, `train_b`).

    Every array holds one row per input, in the same order (e.g. clean and PGD at one budget for
    training; clean and PGD at another budget as a test pair). In each grouped fold a detector is fit
    on the training inputs' rows of the training pair and scored on the held-out inputs' rows of each
    test pair, so no input is seen both in training and in a test; the mean over folds is returned.
    """
    scores: dict[str, list[float]] = {name: [] for name in tests}
    for _, name, correct in _held_out(train_a, train_b, tests, n_folds, c):
        scores[name].append(float(correct.mean()))
    return {name: float(np.mean(values)) for name, values in scores.items()}


def held_out_correct(
    train_a: Any, train_b: Any, tests: Mapping[str, tuple[Any, Any]], n_folds: int = 5, c: float = 1.0,
    groups: Any = None,
) -> dict[str, np.ndarray]:
    """Per input, the share of its two rows (the input and its twin) that the held-out detectors of
    `transfer_accuracy` classify right: 0, 0.5 or 1, one value per input and test pair.

    Two detectors scored on the same inputs can then be compared input by input
    (`helpers.statistics.paired_difference`). `groups` keeps inputs together in the folds
    (`twin_folds`), e.g. the two inputs of a `transplant_pairs` pair.
    """
    n = len(np.asarray(train_a))
    correct = {name: np.zeros(n) for name in tests}
    for inputs, name, right in _held_out(train_a, train_b, tests, n_folds, c, groups):
        np.add.at(correct[name], inputs, right / 2)
    return correct


def _held_out(
    train_a: Any, train_b: Any, tests: Mapping[str, tuple[Any, Any]], n_folds: int, c: float,
    groups: Any = None,
) -> Iterator[tuple[np.ndarray, str, np.ndarray]]:
    """For each grouped fold and test pair: the held-out rows' inputs, the pair's name, and whether the
    detector fit on the fold's training rows classifies each held-out row right."""
    train_a, train_b = _pair(train_a, train_b, "train_a", "train_b")
    pairs = {name: _pair(a, b, f"tests[{name!r}][0]", f"tests[{name!r}][1]")
             for name, (a, b) in tests.items()}
    for name, (a, _) in pairs.items():
        if a.shape[0] != len(train_a) or a.shape[1] != train_a.shape[1]:
            raise ValueError(f"tests[{name!r}] must have the shape of train_a {train_a.shape} (same inputs, "
                             f"same features), got {a.shape}.")
    n = len(train_a)
    x_train, y = np.vstack([train_a, train_b]), np.repeat([0, 1], n)
    x_tests = {name: np.vstack(pair) for name, pair in pairs.items()}
    for train, test in twin_folds(n, n_folds, groups):
        detector = _detector(c).fit(x_train[train], y[train])
        for name, x_test in x_tests.items():
            yield test % n, name, detector.predict(x_test[test]) == y[test]


def one_hot(codes: Any, n_nodes: int) -> np.ndarray:
    """SOM codes (node indices) as float32 one-hot rows of length `n_nodes`.

    >>> one_hot([2, 0], 3)
    array([[0., 0., 1.],
           [1., 0., 0.]], dtype=float32)
    """
    check_int(n_nodes, "n_nodes", minimum=1)
    codes = np.asarray(codes)
    integers = codes.ndim == 1 and np.issubdtype(codes.dtype, np.integer)
    if not integers or ((codes < 0) | (codes >= n_nodes)).any():
        raise ValueError(f"codes must be a 1-D array of node indices in [0, {n_nodes}), got {codes[:5]!r}.")
    return np.eye(n_nodes, dtype=np.float32)[codes]


def transplant_pairs(n_inputs: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A seeded random pairing of `n_inputs` inputs: each input's donor, and each input's group.

    Inputs are paired at random and swap within their pair (one group of three takes turns when
    `n_inputs` is odd), so no input is its own donor. Passing the groups to the detectors keeps an
    input, its donor and their twins in one fold: a detector never meets a perturbation in training
    that it is tested on under another label.

    >>> donor, groups = transplant_pairs(5, seed=0)
    >>> bool((donor != np.arange(5)).all()), bool((groups[donor] == groups).all())
    (True, True)
    """
    check_int(n_inputs, "n_inputs", minimum=2)
    order = np.random.default_rng(seed).permutation(n_inputs)
    groups, donor = np.empty(n_inputs, dtype=int), np.empty(n_inputs, dtype=int)
    last = 2 * (n_inputs // 2 - 1)                               # the last pair, or the group of three
    cycles = [order[i:i + 2] for i in range(0, last, 2)] + [order[last:]]
    for group, members in enumerate(cycles):
        groups[members] = group
        donor[members] = np.roll(members, -1)
    return donor, groups


def transplanted(x: torch.Tensor, x_perturbed: torch.Tensor, donor: Any) -> torch.Tensor:
    """Each input `x[i]` plus the perturbation of input `donor[i]` (``x_perturbed - x`` there), clipped
    to [0, 1]: a perturbation with an attack's pattern, computed for another image.

    >>> x = torch.tensor([[0.0, 1.0], [0.5, 0.5]])
    >>> transplanted(x, x + torch.tensor([[0.1, -0.1], [0.2, 0.3]]), [1, 0])
    tensor([[0.2000, 1.0000],
            [0.6000, 0.4000]])
    """
    if x.shape != x_perturbed.shape:
        raise ValueError(f"x_perturbed must have the shape of x {tuple(x.shape)}, "
                         f"got {tuple(x_perturbed.shape)}.")
    donor = np.asarray(donor)
    if donor.shape != (len(x),) or not np.issubdtype(donor.dtype, np.integer):
        raise ValueError(f"donor must hold one input index per input ({len(x)}), got {donor[:5]!r}.")
    return (x + (x_perturbed - x)[torch.as_tensor(donor)]).clamp(0.0, 1.0)


def perturbation_statistics(x: torch.Tensor, x_perturbed: torch.Tensor) -> np.ndarray:
    """Four numbers per input that describe its perturbation ``x_perturbed - x`` but not where it points:
    the share of pixels changed, the mean absolute change, the mean change, and the share of the
    background (pixels at 0) lit. All are 0 for an unperturbed input.

    >>> x = torch.tensor([[0.0, 0.0, 1.0, 0.5]])
    >>> perturbation_statistics(x, torch.tensor([[0.1, 0.0, 1.0, 0.3]])).round(3)
    array([[ 0.5  ,  0.075, -0.025,  0.5  ]], dtype=float32)
    """
    if x.shape != x_perturbed.shape:
        raise ValueError(f"x_perturbed must have the shape of x {tuple(x.shape)}, "
                         f"got {tuple(x_perturbed.shape)}.")
    delta, background = (x_perturbed - x).flatten(1), x.flatten(1) == 0
    lit = ((delta > 0) & background).sum(1) / background.sum(1).clamp(min=1)
    return torch.stack([(delta != 0).float().mean(1), delta.abs().mean(1), delta.mean(1), lit], 1).numpy()
