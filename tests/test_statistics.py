from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from helpers import statistics
from helpers.statistics import paired_difference, rank_correlation


def test_rho_is_spearmans_and_the_interval_holds_it():
    rng = np.random.default_rng(1)
    x = rng.normal(size=12)
    y = x + rng.normal(scale=1.0, size=12)
    result = rank_correlation(x, y, seed=3)
    assert result["rho"] == pytest.approx(stats.spearmanr(x, y).statistic)
    assert result["low"] <= result["rho"] <= result["high"]
    assert result["n"] == 12 and result["n_undefined"] == 0


def test_interval_agrees_with_scipys_bootstrap():
    rng = np.random.default_rng(2)
    x = rng.normal(size=15)
    y = 0.5 * x + rng.normal(size=15)
    ours = rank_correlation(x, y, n_resamples=4000, seed=0)
    reference = stats.bootstrap((x, y), lambda a, b: stats.spearmanr(a, b).statistic, paired=True,
                                vectorized=False, n_resamples=4000, method="percentile",
                                rng=np.random.default_rng(5)).confidence_interval
    assert ours["low"] == pytest.approx(reference.low, abs=0.05)
    assert ours["high"] == pytest.approx(reference.high, abs=0.05)


def test_a_monotone_relation_has_rho_one_and_a_degenerate_interval():
    result = rank_correlation([1, 2, 3, 4, 5], [10, 20, 25, 100, 101])
    assert (result["rho"], result["low"], result["high"]) == (1.0, 1.0, 1.0)
    assert rank_correlation([1, 2, 3, 4, 5], [5, 4, 3, 2, 1])["rho"] == -1.0


def test_resamples_with_a_constant_variable_are_left_out_and_counted():
    x = np.arange(8.0)
    y = np.array([0, 0, 0, 0, 0, 0, 1, 2.0])   # most resamples of y are constant
    result = rank_correlation(x, y, n_resamples=500, seed=0)
    assert 0 < result["n_undefined"] < 500
    assert np.isfinite(result["low"]) and np.isfinite(result["high"])
    assert np.isnan(rank_correlation(x, np.zeros(8))["rho"])


def test_the_same_seed_gives_the_same_interval():
    x, y = np.arange(10.0), np.array([3, 1, 4, 1, 5, 9, 2, 6, 5, 3.0])
    assert rank_correlation(x, y, seed=7) == rank_correlation(x, y, seed=7)


@pytest.mark.parametrize(("x", "y", "match"), [
    ([1, 2], [1, 2], "equal length >= 3"),
    ([1, 2, 3], [1, 2], "equal length >= 3"),
    ([1, 2, np.nan], [1, 2, 3], "x must be finite"),
])
def test_bad_input_is_rejected(x, y, match):
    with pytest.raises(ValueError, match=match):
        rank_correlation(x, y)


def test_paired_difference_interval_agrees_with_scipys_paired_bootstrap():
    rng = np.random.default_rng(4)
    a = rng.integers(0, 2, size=300).astype(float)
    b = np.where(rng.random(300) < 0.8, a, 1 - a)  # the same inputs, measured another way
    ours = paired_difference(a, b, n_resamples=4000, seed=0)
    reference = stats.bootstrap((a, b), lambda u, v: u.mean() - v.mean(), paired=True, vectorized=False,
                                n_resamples=4000, method="percentile",
                                rng=np.random.default_rng(5)).confidence_interval
    assert ours["difference"] == pytest.approx(a.mean() - b.mean())
    assert ours["low"] == pytest.approx(reference.low, abs=0.01)
    assert ours["high"] == pytest.approx(reference.high, abs=0.01)
    assert ours["n"] == 300


def test_paired_difference_pairs_the_inputs():
    shared = np.random.default_rng(0).normal(size=200)  # a large spread that both measures share
    paired = paired_difference(shared + 0.1, shared)
    assert paired["low"] == pytest.approx(0.1) and paired["high"] == pytest.approx(0.1)


@pytest.mark.parametrize("a, b, match", [
    ([1.0, 2.0], [1.0], "a and b must be 1-D of equal length >= 2"),
    ([1.0, np.nan], [1.0, 2.0], "a must be finite"),
])
def test_paired_difference_rejects_bad_input(a, b, match):
    with pytest.raises(ValueError, match=match):
        paired_difference(a, b)


def test_bootstrap_support_pairs_the_numbers_of_one_sample():
    from helpers.statistics import bootstrap_support, support_interval

    x = np.random.default_rng(1).normal(size=300)
    support = bootstrap_support(lambda rows: {"a": {"mean": x[rows].mean()}, "b": x[rows].mean() - 0.05,
                                              "name": "not a number"}, 300, "/m")
    assert sorted(support) == ["/m/a/mean", "/m/b"]
    # a constant shift: every resample moves both means together, so the paired interval is the shift
    assert support_interval(support["/m/a/mean"], support["/m/b"]) == pytest.approx((0.05, 0.05), abs=1e-3)
    # unpaired (another seed), the same difference spreads over the sampling noise of both means
    other = bootstrap_support(lambda rows: x[rows].mean() - 0.05, 300, "/m/b", seed=1)
    low, high = support_interval(support["/m/a/mean"], other["/m/b"][:150])
    assert low < 0 < 0.05 < high
    # the percentile interval of one mean agrees with scipy's bootstrap
    from scipy.stats import bootstrap

    scipy = bootstrap((x,), np.mean, n_resamples=2000, method="percentile", random_state=0)
    assert support_interval(support["/m/a/mean"]) == pytest.approx(tuple(scipy.confidence_interval), abs=0.03)


def test_bootstrap_support_marks_undefined_resamples():
    from helpers.statistics import bootstrap_support, support_interval

    labels = np.array([0] * 5 + [1] * 5)
    def share(rows):
        return {"share": labels[rows].mean() if labels[rows].sum() > 2 else None}

    support = bootstrap_support(share, 10, n_resamples=50)
    assert None in support["/share"] and any(v is not None for v in support["/share"])
    low, high = support_interval(support["/share"], 0.0)
    assert 0.2 <= low <= high <= 1.0


def test_bootstrap_support_is_centred_on_the_whole_sample():
    from helpers.metrics import homogeneity_index
    from helpers.statistics import bootstrap_support

    rng = np.random.default_rng(0)
    codes, labels = rng.integers(0, 100, 1000), rng.integers(0, 10, 1000)
    support = bootstrap_support(lambda rows: homogeneity_index(codes[rows], labels[rows]), 1000, "/h")["/h"]
    # resamples repeat inputs, which lowers the index; centred, the replicates straddle the whole sample's
    assert np.mean(support) == pytest.approx(homogeneity_index(codes, labels), abs=1e-3)
    assert min(support) < homogeneity_index(codes, labels) < max(support)


def test_permutation_p_value_counts_orderings_by_hand() -> None:
    # four pairs in the same order: rho = 1, and 2 of the 24 orderings reach |rho| = 1
    assert statistics.permutation_p_value([1, 2, 3, 4], [1, 2, 3, 4]) == pytest.approx(2 / 24)
    # three pairs, rho = 0.5: orderings give rho in {1, .5, .5, -.5, -.5, -1}, all of |rho| >= 0.5
    assert statistics.permutation_p_value([1, 2, 3], [1, 3, 2]) == pytest.approx(1.0)


def test_permutation_p_value_agrees_with_scipys_rho_over_every_ordering() -> None:
    import itertools

    from scipy.stats import spearmanr
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=7), rng.normal(size=7)
    y = y + x
    observed = abs(spearmanr(x, y).statistic)
    expected = np.mean([abs(spearmanr(x, y[list(order)]).statistic) >= observed - 1e-12
                        for order in itertools.permutations(range(7))])
    assert statistics.permutation_p_value(x, y) == pytest.approx(expected, abs=1e-9)


def test_permutation_p_value_beyond_ten_pairs_draws_orderings() -> None:
    # twelve pairs in the same order: only 2 of 12! orderings are as extreme, so p is about 1 / (n + 1)
    assert statistics.permutation_p_value(range(12), range(12), n_resamples=999) == pytest.approx(1e-3)
    shuffled = [5, 1, 9, 0, 11, 3, 7, 2, 10, 4, 8, 6]
    unrelated = statistics.permutation_p_value(range(12), shuffled, n_resamples=2000)
    assert unrelated > 0.2


def test_partial_rank_correlation_matches_the_formula_and_removes_a_shared_cause() -> None:
    from scipy.stats import spearmanr
    rng = np.random.default_rng(0)
    z = rng.normal(size=40)
    x, y = z + 0.3 * rng.normal(size=40), z + 0.3 * rng.normal(size=40)
    r_xy, r_xz, r_yz = (spearmanr(a, b).statistic for a, b in ((x, y), (x, z), (y, z)))
    expected = (r_xy - r_xz * r_yz) / np.sqrt((1 - r_xz ** 2) * (1 - r_yz ** 2))
    partial = statistics.partial_rank_correlation(x, y, z)
    assert partial == pytest.approx(expected, abs=1e-12)
    assert r_xy > 0.8 and abs(partial) < 0.4                 # both follow z; little is left between them
