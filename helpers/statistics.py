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

`rank_correlation`: relations across a handful of models, a rank correlation with its interval.

With ten or so models a correlation is a rough estimate; the interval says how rough. It is the
percentile interval of Spearman's rho over resamples of the models (pairs drawn with replacement),
as ``scipy.stats.bootstrap(..., paired=True, method="percentile")`` computes it, except that a
resample on which rho is undefined (one of the two variables constant, likely when many models tie)
is left out and counted instead of turning the whole interval into NaN.

>>> result = rank_correlation([1, 2, 3, 4, 5, 6], [2, 4, 6, 8, 10, 12])
>>> result["rho"], result["low"], result["high"]
(1.0, 1.0, 1.0)
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import rankdata

from helpers.checks import check_finite, check_int, check_number

__all__ = ["paired_difference", "rank_correlation"]


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
