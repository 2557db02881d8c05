"""Uncertainty of what the lessons compare: bootstrap intervals over models and over images.

`paired_difference`: two measures taken on the same inputs (two detectors scored on the same
images, say), their mean difference and its percentile interval over resampled inputs. A finding
"a beats b" is supported when the whole interval lies above zero; an interval that crosses zero
leaves the comparison undecided:

>>> clear = paired_difference([1, 1, 1, 0] * 50, [1, 0, 0, 0] * 50)
>>> clear["difference"], clear["low"] > 0
(0.5, True)
>>> close = paired_difference([1, 1, 0, 0] * 50, [1, 0, 1, 0] * 25 + [1, 1, 0, 0] * 25)
>>> close["difference"], close["low"] < 0 < close["high"]
(0.0, True)

`bootstrap_support`: the support of every number a measure of sampled images gives, stored in a
lesson's results for its findings. The measure is a function of the rows of the sample it reads
(``rows``, an index array); called on resamples of the rows, it gives each number's bootstrap
replicates, keyed by JSON pointer. Every measure of one sample resampled with the same seed shares
the resamples, so two of its numbers compare *paired*: `support_interval` of their difference.

>>> labels = np.array([0] * 150 + [1] * 50)
>>> support = bootstrap_support(lambda rows: {"share": float(np.mean(labels[rows]))}, 200, "/probe")
>>> list(support), len(support["/probe/share"])
(['/probe/share'], 200)
>>> low, high = support_interval(support["/probe/share"], 0.5)       # a share of 0.25 against one half
>>> high < 0                                                         # "under half": supported
True

`wilson_support`: the support of a share measured once on n inputs, its Wilson interval.

`rank_correlation`: relations across a handful of models, a rank correlation with its interval.

With ten or so models a correlation is a rough estimate; the interval says how rough. It is the
percentile interval of Spearman's rho over resamples of the models (pairs drawn with replacement),
as ``scipy.stats.bootstrap(..., paired=True, method="percentile")`` computes it, except that a
resample on which rho is undefined (one of the two variables constant, likely when many models tie)
is left out and counted instead of turning the whole interval into NaN.

>>> result = rank_correlation([1, 2, 3, 4, 5, 6], [2, 4, 6, 8, 10, 12])
>>> result["rho"], result["low"], result["high"]
(1.0, 1.0, 1.0)

With so few models the bootstrap interval runs into its boundary (a resample that happens to be perfectly
monotone gives rho = -1 or +1 exactly), so `permutation_p_value` gives the exact two-sided p-value of rho
beside it: the share of all orderings of y whose |rho| is at least the observed one. Four models in the
same order: 2 of the 24 orderings are as extreme.

>>> round(permutation_p_value([1, 2, 3, 4], [10, 20, 30, 40]), 4)
0.0833

`partial_rank_correlation`: rho of x and y once z's ranks are accounted for (the correlation of the
residuals of the ranks of x and y after a linear fit on the ranks of z). Two measures that both follow a
third have a partial correlation near zero.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
from scipy.stats import rankdata

from helpers.checks import check_finite, check_int, check_number
from helpers.metrics import wilson_interval

__all__ = ["bootstrap_support", "paired_difference", "partial_rank_correlation", "permutation_p_value",
           "rank_correlation", "support_interval", "wilson_support"]

MAX_EXACT_PERMUTATIONS = 10
"""Up to this many pairs `permutation_p_value` enumerates every ordering (10! = 3.6 million, seconds here)."""

SUPPORT_RESAMPLES = 200
"""Bootstrap resamples stored per number: enough for a 95% percentile interval, small enough to commit."""

Support = Sequence[float | None] | Mapping[str, Any]
"""A number's support in a lesson's results: its bootstrap replicates (a list; None where a resample
leaves the number undefined), or an interval computed otherwise, ``{"interval": [low, high], "method":
...}`` (a Wilson interval of a proportion, say)."""


def bootstrap_support(
    measure: Callable[[np.ndarray], Any], n: int, prefix: str = "", n_resamples: int = SUPPORT_RESAMPLES,
    seed: int = 0,
) -> dict[str, list[float | None]]:
    """Bootstrap replicates of every number in ``measure(rows)`` (a number, or dicts of them), keyed by the
    JSON pointer `prefix` + its path: the numbers computed on `n_resamples` resamples of the `n` sampled
    inputs (rows drawn with replacement; the same `seed` draws the same rows, which pairs measures of one
    sample), centred on the number of the whole sample. The centring removes the bootstrap's bias and keeps
    its spread: a resample repeats about a third of its inputs, which lowers entropies such as the
    homogeneity index (here by about 0.01), while a mean is left as it is. Replicates are rounded to 3
    decimals; a number the measure leaves out or sets to None on a resample is None there, and one that is
    None on the whole sample has no support.
    """
    check_int(n, "n", minimum=2)
    rows = _resampled_rows(n, n_resamples, 0.95, seed)
    whole = _numbers(measure(np.arange(n)), prefix)
    replicates = [_numbers(measure(r), prefix) for r in rows]
    support = {}
    for pointer in (p for p, value in whole.items() if value is not None):
        values = np.array([np.nan if numbers.get(pointer) is None else numbers[pointer]
                           for numbers in replicates])
        if np.isfinite(values).any():
            values += whole[pointer] - np.nanmean(values)
            support[pointer] = [None if np.isnan(v) else round(float(v), 3) for v in values]
    return support


def wilson_support(share: float, n: int) -> dict[str, Any]:
    """The support of a share of `n` inputs measured once (a topographic error, a training record's robust
    accuracy): its 95% Wilson interval, as `support_interval` reads it.

    >>> wilson_support(0.5, 10)
    {'interval': [0.2366, 0.7634], 'method': 'Wilson, 10 images'}
    """
    low, high = wilson_interval(round(check_number(share, "share", minimum=0, maximum=1) * n), n)
    return {"interval": [round(low, 4), round(high, 4)], "method": f"Wilson, {n} images"}


def _numbers(tree: Any, prefix: str) -> dict[str, float | None]:
    """The numbers of a nested dict by JSON pointer; booleans and strings are left out."""
    if isinstance(tree, Mapping):
        escaped = {key: str(key).replace("~", "~0").replace("/", "~1") for key in tree}
        return {pointer: number for key, value in tree.items()
                for pointer, number in _numbers(value, f"{prefix}/{escaped[key]}").items()}
    if tree is None:
        return {prefix: None}
    if isinstance(tree, (int, float, np.integer, np.floating)) and not isinstance(tree, bool):
        return {prefix: float(tree) if np.isfinite(tree) else None}
    return {}


def support_interval(
    left: Support | float, right: Support | float = 0.0, confidence: float = 0.95
) -> tuple[float, float]:
    """The `confidence` interval of left - right, each a number or its support.

    Two replicate lists of one length are paired (the difference is taken resample by resample, on the
    resamples where both are defined); replicates against a number shift by it; an interval
    ``{"interval": [low, high]}`` combines with anything by its ends (the widest difference), as does a
    replicate list of another length (an unpaired sample).
    """
    if _is_replicates(left) and _is_replicates(right) and len(left) == len(right):
        pairs = np.array([(a, b) for a, b in zip(left, right) if a is not None and b is not None],
                         dtype=float)
        if len(pairs) == 0:
            return float("nan"), float("nan")
        return _percentile_interval(pairs[:, 0] - pairs[:, 1], confidence)
    (left_low, left_high), (right_low, right_high) = (_ends(side, confidence) for side in (left, right))
    return left_low - right_high, left_high - right_low


def _is_replicates(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str)


def _ends(value: Support | float, confidence: float) -> tuple[float, float]:
    """A number as a point interval, replicates as their percentile interval, an interval as itself."""
    if isinstance(value, Mapping):
        low, high = value["interval"]
        return float(low), float(high)
    if _is_replicates(value):
        defined = np.array([v for v in value if v is not None], dtype=float)
        return _percentile_interval(defined, confidence) if len(defined) else (float("nan"), float("nan"))
    return float(value), float(value)


def rank_correlation(
    x: Any, y: Any, n_resamples: int = 2000, confidence: float = 0.95, seed: int = 0
) -> dict[str, float | int]:
    """Spearman's rho of paired values, with a bootstrap percentile interval over the pairs.

    Returns ``rho``, ``low``, ``high``, ``n`` (pairs) and ``n_undefined`` (resamples left out
    because one variable was constant in them). ``rho`` is NaN when it is undefined on the data.
    """
    x, y = _paired(x, y, ("x", "y"), minimum=3)
    rows = _resampled_rows(len(x), n_resamples, confidence, seed)
    rhos = _spearman_rows(x[rows], y[rows])
    defined = rhos[~np.isnan(rhos)]
    low, high = _percentile_interval(defined, confidence) if len(defined) else (np.nan, np.nan)
    return {"rho": float(_spearman_rows(x[None], y[None])[0]), "low": float(low), "high": float(high),
            "n": len(x), "n_undefined": int(n_resamples - len(defined))}


def permutation_p_value(x: Any, y: Any, n_resamples: int = 100_000, seed: int = 0) -> float:
    """Two-sided permutation p-value of Spearman's rho of paired values: the share of orderings of y whose
    |rho| is at least the observed |rho| (within 1e-12). Exact, over all n! orderings, for at most 10
    pairs; beyond that over `n_resamples` random orderings (seeded), as (hits + 1) / (n_resamples + 1)."""
    x, y = _paired(x, y, ("x", "y"), minimum=3)
    rx, ry = (rankdata(v) - (len(v) + 1) / 2 for v in (x, y))
    norm = np.sqrt((rx ** 2).sum() * (ry ** 2).sum())
    if norm == 0:
        return float("nan")
    observed = abs(rx @ ry / norm) - 1e-12
    if len(x) <= MAX_EXACT_PERMUTATIONS:
        return float(np.mean(np.abs(ry[_orderings(len(x))] @ rx / norm) >= observed))
    check_int(n_resamples, "n_resamples", minimum=1)
    orderings = np.random.default_rng(seed).permuted(np.tile(np.arange(len(x)), (n_resamples, 1)), axis=1)
    return float((np.sum(np.abs(ry[orderings] @ rx / norm) >= observed) + 1) / (n_resamples + 1))


@lru_cache(maxsize=2)
def _orderings(n: int) -> np.ndarray:
    """All n! permutations of range(n), one per row (int8)."""
    return np.array(list(itertools.permutations(range(n))), dtype=np.int8)


def partial_rank_correlation(x: Any, y: Any, z: Any) -> float:
    """Spearman's partial correlation of x and y given z: Pearson's r of the ranks of x and y after each is
    regressed on the ranks of z (NaN where a residual is constant)."""
    x, y = _paired(x, y, ("x", "y"), minimum=4)
    _, z = _paired(x, z, ("x", "z"), minimum=4)
    design = np.column_stack([np.ones(len(z)), rankdata(z)])
    residuals = [r - design @ np.linalg.lstsq(design, r, rcond=None)[0] for r in (rankdata(x), rankdata(y))]
    norm = np.sqrt(np.prod([(r ** 2).sum() for r in residuals]))
    return float(residuals[0] @ residuals[1] / norm) if norm > 1e-12 else float("nan")


def _spearman_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman's rho of each row pair (Pearson of average ranks); NaN where a row is constant."""
    rx, ry = (rankdata(v, axis=1) for v in (x, y))
    rx, ry = rx - rx.mean(1, keepdims=True), ry - ry.mean(1, keepdims=True)
    norm = np.sqrt((rx ** 2).sum(1) * (ry ** 2).sum(1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norm > 0, (rx * ry).sum(1) / norm, np.nan)


def paired_difference(
    a: Any, b: Any, n_resamples: int = 2000, confidence: float = 0.95, seed: int = 0
) -> dict[str, float | int]:
    """mean(a) - mean(b) for two measures of the same inputs (``a[i]`` and ``b[i]`` of input i), with
    the percentile interval of that difference over resamples of the inputs (drawn with replacement).

    Returns ``difference``, ``low``, ``high`` and ``n`` (inputs).
    """
    a, b = _paired(a, b, ("a", "b"), minimum=2)
    rows = _resampled_rows(len(a), n_resamples, confidence, seed)
    low, high = _percentile_interval((a - b)[rows].mean(1), confidence)
    return {"difference": float(a.mean() - b.mean()), "low": float(low), "high": float(high), "n": len(a)}


def _paired(u: Any, v: Any, names: tuple[str, str], minimum: int) -> tuple[np.ndarray, np.ndarray]:
    """Two finite 1-D float arrays of equal length >= `minimum`, one value per input each."""
    u, v = (np.asarray(check_finite(w, name), dtype=float) for w, name in zip((u, v), names))
    if u.ndim != 1 or u.shape != v.shape or len(u) < minimum:
        raise ValueError(f"{names[0]} and {names[1]} must be 1-D of equal length >= {minimum}, "
                         f"got shapes {u.shape} and {v.shape}.")
    return u, v


def _resampled_rows(n: int, n_resamples: int, confidence: float, seed: int) -> np.ndarray:
    """Row indices of `n_resamples` bootstrap resamples of `n` inputs, (n_resamples, n), seeded."""
    check_int(n_resamples, "n_resamples", minimum=1)
    check_number(confidence, "confidence", minimum=0, maximum=1, strict_minimum=True)
    return np.random.default_rng(seed).integers(0, n, size=(n_resamples, n))


def _percentile_interval(values: np.ndarray, confidence: float) -> tuple[float, float]:
    """The central `confidence` percentile interval of bootstrap `values`."""
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)
