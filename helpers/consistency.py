"""Consistency of real and adversarial representations (Dong et al. 2017, adapted to MNIST).

Each measure compares two aligned activation arrays of shape (n_inputs, n_features): row i of the
first (a real input's representation at one layer) against row i of the second (its adversarial
twin's). Calling the same function with the noise twin instead gives the control. The study
measured consistency with WordNet distances between ImageNet classes, which MNIST has no
counterpart for; these measures (cosine similarity, top-k overlap, equal ReLU bits and, per unit,
agreement of the true classes that activate it most) are the series' adaptation. The share of
inputs keeping their SOM code is `helpers.metrics.code_retention`, which `layer_consistency` calls
when codes are given.

`sweep_models` gives the models of lesson 08's consistency sweep, which the lesson trains and
``python -m helpers.bench robustness --lesson 08`` evaluates: Wong et al.'s FGSM-RS recipe with a
consistency weight λ, over several seeds for λ = 0 and the regularized λ.

>>> real = np.array([[1.0, 0.0, 2.0], [0.0, 3.0, 0.0]])
>>> twin = np.array([[2.0, 0.0, 4.0], [3.0, 0.0, 0.0]])
>>> cosine_similarity(real, twin)
array([1., 0.])
>>> equal_bit_share(real, twin).round(3)
array([1.   , 0.333])
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from helpers import metrics
from helpers.checks import check_finite, check_int
from helpers.family import WONG_MNIST
from helpers.training import TrainConfig

__all__ = [
    "LAMBDAS",
    "REGULARIZED_LAMBDA",
    "SEEDS",
    "consistency_per_input",
    "cosine_similarity",
    "dominant_class_share",
    "equal_bit_share",
    "layer_consistency",
    "mean_over_inputs",
    "sweep_config",
    "shuffled_class_agreement",
    "sweep_models",
    "top_inputs",
    "topk_overlap",
    "unit_class_agreement",
]


LAMBDAS = (0.0, 0.1, 1.0, 10.0)
"""Consistency weights of lesson 08's sweep; 0 is adversarial training on clean and perturbed inputs."""
REGULARIZED_LAMBDA = 1.0
"""The sweep's weight that the lesson calls consistency-regularized."""
SEEDS = (0, 1, 2)
"""Training seeds of λ = 0 and of the regularized λ (the other weights train seed 0 only)."""


def sweep_config(lam: float, seed: int = 0, epsilon: float = 0.2, n_train: int | None = 10000,
                 epochs: int = 2) -> TrainConfig:
    """FGSM-RS training with Wong et al.'s recipe (`family.WONG_MNIST`: unclipped random start, step
    1.25 * `epsilon`, batches of 100, cyclic learning rate) at `epsilon`, on clean and perturbed inputs,
    with consistency weight `lam` at fc."""
    recipe = {**WONG_MNIST, "adv_epsilon": epsilon, "adv_step_size": 1.25 * epsilon}
    return TrainConfig(seed=seed, n_train=n_train, epochs=epochs, consistency=lam, **recipe)


def sweep_models(lambdas: tuple[float, ...] = LAMBDAS, regularized: float = REGULARIZED_LAMBDA,
                 seeds: tuple[int, ...] = SEEDS, **budget: Any) -> dict[str, TrainConfig]:
    """The sweep's models by name: "λ = 1" for the first seed, "λ = 1, seed 2" for the others, which
    only λ = 0 and `regularized` train. `budget` goes to `sweep_config` (epsilon, n_train, epochs).

    >>> list(sweep_models((0.0, 1.0, 10.0), seeds=(0, 1)))
    ['λ = 0', 'λ = 1', 'λ = 10', 'λ = 0, seed 1', 'λ = 1, seed 1']
    """
    models = {f"λ = {lam:g}": sweep_config(lam, seeds[0], **budget) for lam in sorted(lambdas)}
    for seed in seeds[1:]:
        models |= {f"λ = {lam:g}, seed {seed}": sweep_config(lam, seed, **budget)
                   for lam in sorted({0.0, regularized})}
    return models


def _check_activations(values: Any, name: str) -> np.ndarray:
    """``values`` as a finite float64 array of shape (n_inputs, n_features), both at least 1."""
    array = np.asarray(values)
    if array.ndim != 2 or 0 in array.shape or not np.issubdtype(array.dtype, np.number):
        raise ValueError(f"{name} must be a non-empty 2-D numeric array (n_inputs, n_features), "
                         f"got {array.dtype} of shape {array.shape}.")
    return check_finite(array, name).astype(np.float64, copy=False)


def _check_pair(a: Any, b: Any, name_a: str = "a", name_b: str = "b") -> tuple[np.ndarray, np.ndarray]:
    a, b = _check_activations(a, name_a), _check_activations(b, name_b)
    if a.shape != b.shape:
        raise ValueError(f"{name_a} and {name_b} must have the same shape (aligned inputs), "
                         f"got {a.shape} and {b.shape}.")
    return a, b


def _top_mask(a: np.ndarray, k: int) -> np.ndarray:
    """Boolean mask of the k largest active (> 0) entries of each row, fewer where fewer are active;
    among equal values the lower index wins."""
    order = np.argsort(-a, axis=1, kind="stable")[:, :k]
    mask = np.zeros(a.shape, dtype=bool)
    np.put_along_axis(mask, order, True, axis=1)
    return mask & (a > 0)


def cosine_similarity(a: Any, b: Any) -> np.ndarray:
    """Cosine similarity of each row of `a` with the same row of `b`, in [-1, 1].

    A pair of all-zero rows counts as identical (1.0); an all-zero row against a non-zero one as
    unrelated (0.0), since a zero vector has no direction.

    >>> cosine_similarity([[1, 0], [1, 1], [0, 0], [0, 0]], [[0, 2], [-3, -3], [0, 0], [1, 0]])
    array([ 0., -1.,  1.,  0.])
    """
    a, b = _check_pair(a, b)
    dots = np.einsum("ij,ij->i", a, b)
    # sqrt of the product of squared norms: exactly 1.0 for identical rows, where dot == |a|^2 == |b|^2
    norms = np.sqrt(np.einsum("ij,ij->i", a, a) * np.einsum("ij,ij->i", b, b))
    both_zero = ~a.any(axis=1) & ~b.any(axis=1)
    similarity = np.divide(dots, norms, out=np.zeros(len(a)), where=norms > 0)
    similarity[both_zero] = 1.0
    return np.clip(similarity, -1.0, 1.0)


def topk_overlap(a: Any, b: Any, k: int) -> np.ndarray:
    """Jaccard overlap |A & B| / |A | B| of the sets of the `k` most activated units of each row of `a`
    and `b`.

    Only active units (activation > 0) count as "top": a row with fewer than `k` active units
    contributes only those, so two rows with disjoint active units score 0 (two rows with none, 1).
    Equal activations are ranked by unit index, the lower index first, so the sets (and the overlap)
    are deterministic.

    >>> topk_overlap([[3, 2, 1, 0], [3, 2, 1, 0]], [[1, 2, 3, 0], [0, 1, 2, 3]], k=2)
    array([0.33333333, 0.        ])
    >>> topk_overlap([[1, 1, 1, 0]], [[0, 1, 1, 1]], k=2)  # ties: units 0 and 1, then 1 and 2
    array([0.33333333])
    >>> topk_overlap([[2, 0, 0, 0], [0, 0, 0, 0]], [[0, 0, 3, 1], [0, 0, 0, 0]], k=3)  # few active units
    array([0., 1.])
    """
    a, b = _check_pair(a, b)
    k = check_int(k, "k", minimum=1, maximum=a.shape[1])
    top_a, top_b = _top_mask(a, k), _top_mask(b, k)
    shared, either = (top_a & top_b).sum(axis=1), (top_a | top_b).sum(axis=1)
    return np.divide(shared, either, out=np.ones(len(a)), where=either > 0)


def equal_bit_share(a: Any, b: Any) -> np.ndarray:
    """Share of units with the same ReLU on/off state (activation > 0) in each row of `a` and `b`.

    >>> equal_bit_share([[0.5, 0.0, 2.0, 0.0]], [[1.0, 0.0, 0.0, 3.0]])
    array([0.5])
    """
    a, b = _check_pair(a, b)
    return ((a > 0) == (b > 0)).mean(axis=1)


def layer_consistency(
    clean: Mapping[str, Any],
    twin: Mapping[str, Any],
    k: int | Mapping[str, int],
    clean_codes: Mapping[str, Any] | None = None,
    twin_codes: Mapping[str, Any] | None = None,
) -> dict[str, dict[str, float]]:
    """Per layer of `clean`, the mean over inputs of each measure between `clean` and `twin`
    (the means of `consistency_per_input`).

    Besides the three measures above, ``mean_squared_gap`` is the mean over inputs and units of
    (clean - twin)^2, the quantity consistency-regularized training penalizes, and
    ``mean_squared_activation`` the mean of clean^2, its scale: a network can shrink the gap by
    shrinking the layer, which leaves the scale-free measures unchanged.

    `k` is the top-k size of every layer, or one per layer. With `clean_codes` and `twin_codes` (SOM
    codes per layer, e.g. from `LayerCodebook.encode`), `code_retention` is added for the layers
    they hold.

    >>> acts = {"fc": np.array([[1.0, 0.0, 2.0], [0.0, 3.0, 1.0]])}
    >>> layer_consistency(acts, {"fc": 2 * acts["fc"]}, k=2)["fc"]
    {'cosine_similarity': 1.0, 'topk_overlap': 1.0, 'equal_bit_share': 1.0, 'mean_squared_gap': 2.5, \
'mean_squared_activation': 2.5}
    """
    return mean_over_inputs(consistency_per_input(clean, twin, k, clean_codes, twin_codes))


def mean_over_inputs(per_input: Mapping[str, Mapping[str, np.ndarray]]) -> dict[str, dict[str, float]]:
    """`consistency_per_input`'s measures averaged over the inputs: `layer_consistency`."""
    return {layer: {name: float(values.mean()) for name, values in measures.items()}
            for layer, measures in per_input.items()}


def consistency_per_input(
    clean: Mapping[str, Any],
    twin: Mapping[str, Any],
    k: int | Mapping[str, int],
    clean_codes: Mapping[str, Any] | None = None,
    twin_codes: Mapping[str, Any] | None = None,
) -> dict[str, dict[str, np.ndarray]]:
    """`layer_consistency`'s measures before the mean over inputs: one value per input (the squared gap
    and activation averaged over the layer's units; ``code_retention`` 1.0 where the code is kept), so
    that their uncertainty can be resampled over the inputs."""
    if not clean or set(clean) != set(twin):
        raise ValueError(f"clean and twin must hold the same non-empty set of layers, "
                         f"got {sorted(clean)!r} and {sorted(twin)!r}.")
    if isinstance(k, Mapping) and not set(clean) <= set(k):
        raise ValueError(f"k must give a top-k size for every layer {sorted(clean)!r}, got {dict(k)!r}.")
    if (clean_codes is None) != (twin_codes is None):
        raise ValueError("clean_codes and twin_codes must be given together, got only one of them.")
    if clean_codes is not None and set(clean_codes) != set(twin_codes):
        raise ValueError(f"clean_codes and twin_codes must hold the same layers, "
                         f"got {sorted(clean_codes)!r} and {sorted(twin_codes)!r}.")
    results = {}
    for layer in clean:
        a, b = _check_pair(clean[layer], twin[layer], f"clean[{layer!r}]", f"twin[{layer!r}]")
        layer_k = k[layer] if isinstance(k, Mapping) else k
        try:
            overlap = topk_overlap(a, b, layer_k)
        except ValueError as error:
            raise ValueError(f"at layer {layer!r}: {error}") from None
        results[layer] = {
            "cosine_similarity": cosine_similarity(a, b),
            "topk_overlap": overlap,
            "equal_bit_share": equal_bit_share(a, b),
            "mean_squared_gap": ((a - b) ** 2).mean(1),
            "mean_squared_activation": (a ** 2).mean(1),
        }
        if clean_codes is not None and layer in clean_codes:
            if len(clean_codes[layer]) != len(a):
                raise ValueError(f"clean_codes[{layer!r}] must have one code per input ({len(a)}), "
                                 f"got {len(clean_codes[layer])}.")
            metrics.code_retention(clean_codes[layer], twin_codes[layer])          # checks the codes
            kept = np.asarray(clean_codes[layer]) == np.asarray(twin_codes[layer])
            results[layer]["code_retention"] = kept.astype(float)
    return results


def top_inputs(activations: Any, top: int) -> np.ndarray:
    """(n_features, top): for each unit, the indices of the `top` inputs that activate it most.

    Most active first; equal activations are ranked by input index, the lower index first.

    >>> top_inputs([[0.0, 5.0], [2.0, 1.0], [2.0, 3.0]], top=2)
    array([[1, 2],
           [0, 2]])
    """
    acts = _check_activations(activations, "activations")
    top = check_int(top, "top", minimum=1, maximum=acts.shape[0])
    return np.argsort(-acts.T, axis=1, kind="stable")[:, :top]


def unit_class_agreement(clean_acts: Any, twin_acts: Any, labels: Any, top: int = 20) -> np.ndarray:
    """Per unit, the share of its `top` most activating twin inputs whose true class is its dominant class.

    A unit's dominant class is the most frequent true class among its `top` most activating real
    inputs (ties go to the smaller class). Does the neuron "detect" the same thing on real and on
    adversarial inputs? `labels` are the true classes, shared by an input and its twin. This is the
    series' adaptation of the study's WordNet-based measure, which MNIST has no counterpart for.

    >>> real = [[9.0, 0.0], [8.0, 1.0], [0.0, 7.0], [0.0, 6.0]]
    >>> adversarial = [[9.0, 5.0], [8.0, 4.0], [0.0, 0.0], [0.0, 0.0]]
    >>> unit_class_agreement(real, adversarial, labels=[3, 3, 1, 1], top=2)
    array([1., 0.])
    """
    clean_acts, twin_acts = _check_pair(clean_acts, twin_acts, "clean_acts", "twin_acts")
    labels, dominant = _dominant_classes(clean_acts, labels, top)
    twin_classes = labels[top_inputs(twin_acts, top)]
    return (twin_classes == dominant[:, None]).mean(axis=1)


def dominant_class_share(clean_acts: Any, labels: Any, top: int = 20) -> np.ndarray:
    """Per unit, the share of all inputs whose true class is its dominant class (`unit_class_agreement`):
    the agreement expected if its top twins were drawn at random, the measure's chance level
    (about 0.1 for ten balanced classes).

    >>> dominant_class_share([[9.0], [8.0], [0.0], [1.0]], labels=[3, 3, 1, 2], top=2)
    array([0.5])
    """
    clean_acts = _check_activations(clean_acts, "clean_acts")
    labels, dominant = _dominant_classes(clean_acts, labels, top)
    return (labels[None, :] == dominant[:, None]).mean(axis=1)


def shuffled_class_agreement(clean_acts: Any, twin_acts: Any, labels: Any, top: int = 20,
                             n_shuffles: int = 10, seed: int = 0, agreement: Any = None) -> float:
    """The chance level of `unit_class_agreement`, by a control: its mean over the units when each twin
    is paired with another input's real activations and label (the twins' rows shuffled), averaged over
    `n_shuffles` permutations from ``np.random.default_rng(seed)``.

    The real inputs and their labels stay as they are, so each unit keeps its dominant class; only the
    link between a twin and its input is broken. On average this gives `dominant_class_share`.
    `agreement` is the agreement function to shuffle (`unit_class_agreement` when None).

    >>> real = [[9.0], [8.0], [1.0], [0.0]]
    >>> round(shuffled_class_agreement(real, real, labels=[3, 3, 1, 1], top=2, n_shuffles=400), 2)
    0.5
    """
    agreement = unit_class_agreement if agreement is None else agreement
    twin_acts = np.asarray(twin_acts)
    n_shuffles = check_int(n_shuffles, "n_shuffles", minimum=1)
    rng = np.random.default_rng(seed)
    shuffles = (twin_acts[rng.permutation(len(twin_acts))] for _ in range(n_shuffles))
    return float(np.mean([np.mean(agreement(clean_acts, shuffled, labels, top)) for shuffled in shuffles]))


def _dominant_classes(clean_acts: np.ndarray, labels: Any, top: int) -> tuple[np.ndarray, np.ndarray]:
    """The checked `labels`, and per unit the most frequent class of its `top` most activating inputs."""
    labels = np.asarray(labels)
    if labels.shape != (len(clean_acts),) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be a 1-D integer array with one class per input ({len(clean_acts)}), "
                         f"got {labels.dtype} of shape {labels.shape}.")
    if (labels < 0).any():
        raise ValueError(f"labels must be non-negative classes, got {int(labels.min())!r}.")
    top = check_int(top, "top", minimum=1, maximum=len(clean_acts))
    clean_classes = labels[top_inputs(clean_acts, top)]  # (n_units, top)
    counts = np.apply_along_axis(np.bincount, 1, clean_classes, minlength=int(labels.max()) + 1)
    return labels, counts.argmax(axis=1)
