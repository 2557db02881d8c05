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
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold

from helpers.checks import check_int, check_number

__all__ = ["detection_accuracy", "held_out_correct", "one_hot", "twin_folds", "transfer_accuracy"]


def _pair(a: Any, b: Any, name_a: str, name_b: str) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32)
    if a.ndim != 2 or len(a) < 2:
        raise ValueError(f"{name_a} must be a 2-D array with at least two rows, got shape {a.shape}.")
    if b.shape != a.shape:
        raise ValueError(f"{name_b} must have the shape of {name_a} {a.shape} (row i: the twin of row i), "
                         f"got {b.shape}.")
    return a, b


def twin_folds(n_inputs: int, n_folds: int = 5) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) row indices into ``vstack([a, b])`` for `n_inputs` inputs and their twins.

    Row i and row n_inputs + i (an input and its twin) always land on the same side.
    """
    check_int(n_inputs, "n_inputs", minimum=2)
    check_int(n_folds, "n_folds", minimum=2, maximum=n_inputs)
    groups = np.tile(np.arange(n_inputs), 2)
    return list(GroupKFold(n_splits=n_folds).split(np.zeros((2 * n_inputs, 1)), groups=groups))


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
    train_a: Any, train_b: Any, tests: Mapping[str, tuple[Any, Any]], n_folds: int = 5, c: float = 1.0
) -> dict[str, np.ndarray]:
    """Per input, the share of its two rows (the input and its twin) that the held-out detectors of
    `transfer_accuracy` classify right: 0, 0.5 or 1, one value per input and test pair.

    Two detectors scored on the same inputs can then be compared input by input
    (`helpers.statistics.paired_difference`).
    """
    n = len(np.asarray(train_a))
    correct = {name: np.zeros(n) for name in tests}
    for inputs, name, right in _held_out(train_a, train_b, tests, n_folds, c):
        np.add.at(correct[name], inputs, right / 2)
    return correct


def _held_out(
    train_a: Any, train_b: Any, tests: Mapping[str, tuple[Any, Any]], n_folds: int, c: float
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
    for train, test in twin_folds(n, n_folds):
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
