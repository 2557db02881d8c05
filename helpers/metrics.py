"""Measures of how homogeneous the SOM codes of a network layer are.

A *code* is the flat index of the SOM node that wins for an input, an integer in
``[0, n_nodes)``; a *label* is a class index in ``[0, n_classes)``. All measures use
natural logarithms.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.stats import norm
from sklearn.metrics import normalized_mutual_info_score

from helpers.checks import check_finite
from helpers.som import _check_data

__all__ = [
    "class_node_occupancy",
    "code_diversity",
    "code_retention",
    "homogeneity_chance",
    "homogeneity_index",
    "layer_measures",
    "mean_grid_distance",
    "node_class_counts",
    "node_majority_labels",
    "node_sharing",
    "normalized_mutual_information",
    "readout",
    "readout_accuracy",
    "shuffled_chance",
    "som_quality",
    "wilson_interval",
]


def _check_count(value: int, name: str) -> int:
    """Return ``value`` as an int, refusing anything but a positive integer."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)


def _check_indices(values: Any, name: str, upper: int | None = None) -> np.ndarray:
    """Return a non-empty 1-D integer array with values in ``[0, upper)``."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array, got shape {arr.shape}.")
    if arr.size == 0:
        raise ValueError(f"{name} must be non-empty, got an empty array.")
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name} must hold integers, got dtype {arr.dtype}.")
    if arr.min() < 0:
        raise ValueError(f"{name} must be non-negative, got minimum {int(arr.min())}.")
    if upper is not None and arr.max() >= upper:
        raise ValueError(f"{name} must be < {upper}, got maximum {int(arr.max())}.")
    return arr.astype(np.intp, copy=False)


def _check_same_length(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    if len(a) != len(b):
        raise ValueError(f"{name_a} and {name_b} must have the same length, got {len(a)} and {len(b)}.")


def _check_codes_labels(
    codes: Any, labels: Any, n_nodes: int | None = None, n_classes: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    codes = _check_indices(codes, "codes", n_nodes)
    labels = _check_indices(labels, "labels", n_classes)
    _check_same_length(codes, labels, "codes", "labels")
    return codes, labels


def _check_node_labels(node_labels: Any) -> np.ndarray:
    """Return node labels as a 1-D integer array with values >= -1."""
    arr = np.asarray(node_labels)
    if arr.ndim != 1 or arr.size == 0 or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(
            f"node_labels must be a non-empty 1-D integer array, got {arr.dtype} of shape {arr.shape}."
        )
    if arr.min() < -1:
        raise ValueError(f"node_labels must be >= -1 (-1 marks an empty node), got minimum {int(arr.min())}.")
    return arr.astype(np.intp, copy=False)


def _entropy(counts: np.ndarray) -> np.ndarray:
    """Shannon entropy (nats) of the count vectors along the last axis."""
    p = counts / counts.sum(axis=-1, keepdims=True)
    terms = np.zeros_like(p)
    nonzero = p > 0
    terms[nonzero] = p[nonzero] * np.log(p[nonzero])
    return 0.0 - terms.sum(axis=-1)  # not -sum: a pure count vector gives 0.0, not -0.0


def _contingency(codes: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Counts of (used node, class) pairs: one row per distinct code, one column per class."""
    _, node = np.unique(codes, return_inverse=True)
    n_rows, n_cols = node.max() + 1, labels.max() + 1
    counts = np.bincount(node * n_cols + labels, minlength=n_rows * n_cols)
    return counts.reshape(n_rows, n_cols)


def homogeneity_index(codes: Any, labels: Any) -> float:
    """Return ``H(class | code) / H(class)``: 0 if each code holds one class, 1 if codes
    carry no information about the class.

    Beware the clash of words: this is ``1 - sklearn.metrics.homogeneity_score(labels, codes)``.
    scikit-learn calls a cluster (here a code) homogeneous when it holds a single class,
    whereas the paper calls codes homogeneous when they are *shared* across classes, so a
    high index here means homogeneous codes in the paper's sense. With a single class,
    ``H(class) = 0``; as in scikit-learn (homogeneity 1.0) the index is then 0.0.

    With few inputs per code the index is biased low (a code won by one input is always pure):
    read it against `homogeneity_chance`, the index of the same codes with shuffled labels.

    Examples
    --------
    Each code holds one class, or the codes say nothing about the class:

    >>> homogeneity_index([0, 0, 1, 1], [0, 0, 1, 1])
    0.0
    >>> homogeneity_index([0, 0, 1, 1], [0, 1, 0, 1])
    1.0

    Code 1 holds both classes, codes 0 and 2 one each: a third of the class entropy is left.

    >>> codes, labels = [0, 0, 1, 1, 2, 2], [0, 0, 0, 1, 1, 1]
    >>> round(homogeneity_index(codes, labels), 4)
    0.3333
    >>> from sklearn.metrics import homogeneity_score
    >>> round(1 - homogeneity_score(labels, codes), 4)
    0.3333
    """
    codes, labels = _check_codes_labels(codes, labels)
    table = _contingency(codes, labels)
    class_entropy = _entropy(table.sum(axis=0))
    if class_entropy == 0:
        return 0.0
    node_weights = table.sum(axis=1) / len(codes)
    return float(node_weights @ _entropy(table) / class_entropy)


def homogeneity_chance(codes: Any, labels: Any, n_shuffles: int = 10, seed: int = 0) -> float:
    """Return the chance level of the homogeneity index for these codes and these class counts.

    It is the mean `homogeneity_index` of the same codes against `n_shuffles` random
    permutations of the labels (drawn from ``numpy.random.default_rng(seed)``): codes that know
    nothing of the class. It is below 1 when there are few inputs per code, because a node won by
    few inputs holds few classes by chance alone (with ~1,000 inputs on 225 nodes and 10 classes
    it is about 0.6 to 0.7). An index means "shared codes" only as far as it reaches this level.

    Examples
    --------
    Every input on its own code: each code is pure whatever the labels, so chance is 0.

    >>> homogeneity_chance([0, 1, 2, 3, 4, 5], [0, 0, 0, 1, 1, 1])
    0.0

    One code for all inputs: it holds every class whatever the labels, so chance is 1.

    >>> homogeneity_chance([7, 7, 7, 7, 7, 7], [0, 0, 0, 1, 1, 1])
    1.0

    Two inputs per code: a shuffle puts both classes on some codes, but not on all.

    >>> 0 < homogeneity_chance([0, 0, 1, 1, 2, 2], [0, 0, 0, 1, 1, 1]) < 1
    True
    """
    codes, labels = _check_codes_labels(codes, labels)
    return float(shuffled_chance(homogeneity_index, codes, labels, n_shuffles, seed))


def shuffled_chance(
    measure: Callable[[Any, Any], Any], codes: Any, labels: Any, n_shuffles: int = 10, seed: int = 0
) -> Any:
    """The chance level of any code measure ``measure(codes, labels)``: its mean over `n_shuffles`
    random permutations of the labels (from ``numpy.random.default_rng(seed)``), element by element
    when it returns several numbers. The codes stay; only their link to the class is broken.

    A share of inputs whose code equals its label: one fixed point per permutation on average.

    >>> codes = np.array([0, 1, 2, 3])
    >>> shuffled_chance(lambda c, y: (np.mean(c == y), 1.0), codes, [0, 1, 2, 3], n_shuffles=500)
    array([0.253, 1.   ])
    """
    n_shuffles = _check_count(n_shuffles, "n_shuffles")
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    return np.mean([measure(codes, rng.permutation(labels)) for _ in range(n_shuffles)], axis=0)


def class_node_occupancy(codes: Any, labels: Any, n_classes: int) -> dict[str, Any]:
    """Return how many distinct nodes each class occupies and how many nodes are shared.

    ``nodes_per_class`` has one entry per class (0 for a class absent from ``labels``);
    ``mean_nodes_per_class`` averages it over the classes present; and
    ``multi_class_node_fraction`` is the share of occupied nodes holding two or more classes.
    """
    n_classes = _check_count(n_classes, "n_classes")
    codes, labels = _check_codes_labels(codes, labels, n_classes=n_classes)
    pairs = np.unique(codes * n_classes + labels)
    nodes_per_class = np.bincount(pairs % n_classes, minlength=n_classes)
    _, classes_per_node = np.unique(pairs // n_classes, return_counts=True)
    return {
        "nodes_per_class": nodes_per_class.tolist(),
        "mean_nodes_per_class": float(nodes_per_class[nodes_per_class > 0].mean()),
        "multi_class_node_fraction": float(np.mean(classes_per_node >= 2)),
    }


def code_diversity(codes: Any, n_nodes: int) -> dict[str, Any]:
    """Return the effective number of codes ``exp(H(code))`` and how many nodes are in use."""
    n_nodes = _check_count(n_nodes, "n_nodes")
    codes = _check_indices(codes, "codes", n_nodes)
    counts = np.bincount(codes, minlength=n_nodes)
    nodes_used = int(np.count_nonzero(counts))
    return {
        "effective_codes": float(np.exp(_entropy(counts))),
        "nodes_used": nodes_used,
        "fraction_nodes_used": nodes_used / n_nodes,
    }


def node_class_counts(codes: Any, labels: Any, n_nodes: int, n_classes: int) -> np.ndarray:
    """Return how many inputs of each class each node wins, shape ``(n_nodes, n_classes)``."""
    n_nodes = _check_count(n_nodes, "n_nodes")
    n_classes = _check_count(n_classes, "n_classes")
    codes, labels = _check_codes_labels(codes, labels, n_nodes, n_classes)
    table = np.bincount(codes * n_classes + labels, minlength=n_nodes * n_classes)
    return table.reshape(n_nodes, n_classes)


def node_sharing(class_counts: Any) -> np.ndarray:
    """Return how evenly each node is shared by the classes, shape ``(n_nodes,)``.

    ``class_counts`` is an ``(n_nodes, n_classes)`` table of counts, as from
    `node_class_counts`. Per node: the entropy of its class counts divided by
    ``log(n_classes)``, 0 when it holds one class and 1 when it holds all classes equally; NaN
    for a node that holds no input. It is the per-node ingredient of the homogeneity index.

    Examples
    --------
    >>> node_sharing([[4, 0, 0], [0, 0, 0], [2, 2, 2]])
    array([ 0., nan,  1.])
    >>> round(float(node_sharing([[1, 1, 0, 0]])[0]), 4)  # log 2 / log 4
    0.5
    """
    counts = np.asarray(class_counts)
    if counts.ndim != 2 or counts.shape[1] < 2 or not np.issubdtype(counts.dtype, np.number):
        raise ValueError(
            f"class_counts must be a numeric (n_nodes, n_classes) table with n_classes >= 2, "
            f"got {counts.dtype} of shape {counts.shape}."
        )
    if counts.size and counts.min() < 0:
        raise ValueError(f"class_counts must be non-negative, got minimum {counts.min()!r}.")
    occupied = counts.sum(axis=1) > 0
    sharing = np.full(len(counts), np.nan)
    sharing[occupied] = _entropy(counts[occupied].astype(float)) / np.log(counts.shape[1])
    return sharing


def node_majority_labels(codes: Any, labels: Any, n_nodes: int, n_classes: int) -> np.ndarray:
    """Return the majority class of the inputs each node wins, shape ``(n_nodes,)``.

    Ties go to the smallest class index; nodes that win no input get -1.
    """
    table = node_class_counts(codes, labels, n_nodes, n_classes)
    return np.where(table.sum(axis=1) > 0, table.argmax(axis=1), -1)


def readout(node_labels: Any, codes: Any) -> np.ndarray:
    """Return the class predicted for each input from its code (-1 for unlabeled nodes)."""
    node_labels = _check_node_labels(node_labels)
    codes = _check_indices(codes, "codes", len(node_labels))
    return node_labels[codes]


def readout_accuracy(node_labels: Any, codes: Any, labels: Any) -> float:
    """Return the share of inputs whose code's node label is their class.

    A code landing on an unlabeled node (-1) counts as wrong.
    """
    predicted = readout(node_labels, codes)
    labels = _check_indices(labels, "labels")
    _check_same_length(predicted, labels, "codes", "labels")
    return float(np.mean(predicted == labels))


def normalized_mutual_information(codes: Any, labels: Any) -> float:
    """Return scikit-learn's normalized mutual information between code and class."""
    codes, labels = _check_codes_labels(codes, labels)
    return float(normalized_mutual_info_score(labels, codes))


def som_quality(som: Any, data: Any) -> dict[str, float]:
    """Return MiniSom's quantization and topographic errors of ``som`` on ``data``.

    ``data`` must be finite, one row per input with the SOM's number of features.
    """
    data = check_finite(_check_data(som, np.asarray(data, dtype=float)), "data")
    return {
        "quantization_error": float(som.quantization_error(data)),
        "topographic_error": float(som.topographic_error(data)),
    }


def code_retention(clean_codes: Any, other_codes: Any) -> float:
    """Return the share of inputs whose code is unchanged (e.g. under a perturbation)."""
    clean_codes = _check_indices(clean_codes, "clean_codes")
    other_codes = _check_indices(other_codes, "other_codes")
    _check_same_length(clean_codes, other_codes, "clean_codes", "other_codes")
    return float(np.mean(clean_codes == other_codes))


def mean_grid_distance(clean_codes: Any, other_codes: Any, coordinates: Any) -> float:
    """Return the mean Euclidean distance on the SOM grid between paired codes.

    ``coordinates`` is an ``(n_nodes, 2)`` array of node grid positions.
    """
    coordinates = check_finite(np.asarray(coordinates, dtype=float), "coordinates")
    if coordinates.ndim != 2 or coordinates.shape[1] != 2:
        raise ValueError(f"coordinates must have shape (n_nodes, 2), got {coordinates.shape}.")
    n_nodes = len(coordinates)
    clean_codes = _check_indices(clean_codes, "clean_codes", n_nodes)
    other_codes = _check_indices(other_codes, "other_codes", n_nodes)
    _check_same_length(clean_codes, other_codes, "clean_codes", "other_codes")
    steps = coordinates[clean_codes] - coordinates[other_codes]
    return float(np.linalg.norm(steps, axis=1).mean())


def layer_measures(
    fit_codes: Any,
    fit_labels: Any,
    test_codes: Any,
    test_labels: Any,
    n_nodes: int,
    n_classes: int,
    predictions: Any = None,
    chance: bool = True,
) -> dict[str, float | list]:
    """Return all measures of one layer as a flat JSON-serializable dict.

    Node labels come from the fit codes; every other measure uses the test codes.
    ``homogeneity_index_chance`` is `homogeneity_chance` of the test codes (default shuffles); with
    ``chance=False`` it is left out (it takes most of the time, when measured on many resamples).
    ``readout_agreement`` (readout vs. the network's ``predictions``) is present only
    when ``predictions`` is given.
    """
    node_labels = node_majority_labels(fit_codes, fit_labels, n_nodes, n_classes)
    test_codes, test_labels = _check_codes_labels(test_codes, test_labels, n_nodes, n_classes)
    predicted = node_labels[test_codes]
    measures: dict[str, float | list] = {
        "homogeneity_index": homogeneity_index(test_codes, test_labels),
        **({"homogeneity_index_chance": homogeneity_chance(test_codes, test_labels)} if chance else {}),
        "nmi": normalized_mutual_information(test_codes, test_labels),
        **code_diversity(test_codes, n_nodes),
        **class_node_occupancy(test_codes, test_labels, n_classes),
        "readout_accuracy": float(np.mean(predicted == test_labels)),
        "unlabeled_share": float(np.mean(predicted == -1)),
    }
    if predictions is not None:
        predictions = _check_indices(predictions, "predictions", n_classes)
        _check_same_length(test_codes, predictions, "test_codes", "predictions")
        measures["readout_agreement"] = float(np.mean(predicted == predictions))
    return measures


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Return the Wilson score interval for a share of ``successes`` out of ``n``.

    Unlike the normal approximation, it stays inside [0, 1] and is sound for small ``n`` and for
    shares near 0 or 1 (it is statsmodels' ``proportion_confint(method="wilson")``).

    Examples
    --------
    >>> [round(bound, 4) for bound in wilson_interval(5, 10)]
    [0.2366, 0.7634]
    >>> [round(bound, 4) for bound in wilson_interval(0, 10)]
    [0.0, 0.2775]
    """
    n = _check_count(n, "n")
    if isinstance(successes, bool) or not isinstance(successes, (int, np.integer)) \
            or not 0 <= successes <= n:
        raise ValueError(f"successes must be an integer in [0, n={n}], got {successes!r}.")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}.")
    z = norm.ppf(0.5 + confidence / 2)
    share = successes / n
    denominator = 1 + z**2 / n
    center = (share + z**2 / (2 * n)) / denominator
    half_width = z * np.sqrt(share * (1 - share) / n + z**2 / (4 * n**2)) / denominator
    return float(max(0.0, center - half_width)), float(min(1.0, center + half_width))
