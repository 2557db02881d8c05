from __future__ import annotations

import json
import math

import numpy as np
import pytest
from minisom import MiniSom
from sklearn.metrics import homogeneity_score, normalized_mutual_info_score

from helpers.metrics import (
    class_node_occupancy,
    code_diversity,
    code_retention,
    homogeneity_chance,
    homogeneity_index,
    layer_measures,
    mean_grid_distance,
    node_class_counts,
    node_majority_labels,
    node_sharing,
    normalized_mutual_information,
    readout,
    readout_accuracy,
    shuffled_chance,
    som_quality,
    wilson_interval,
)

# Three classes, two codes each, every code used by exactly one class.
PURE_LABELS = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2, 0, 1, 2])
PURE_CODES = 2 * PURE_LABELS + np.array([0, 1, 1, 0, 1, 0, 1, 0, 0, 0, 0, 1])


def independent_codes(n_nodes: int = 4, n_classes: int = 3, copies: int = 2):
    """Every class spread evenly over the same nodes: each (node, class) pair `copies` times."""
    node, label, _ = np.indices((n_nodes, n_classes, copies))
    return node.ravel(), label.ravel()


# --- homogeneity index -----------------------------------------------------------------


def test_class_pure_codes_give_index_zero():
    assert homogeneity_index(PURE_CODES, PURE_LABELS) == 0.0


def test_single_code_gives_index_one():
    assert homogeneity_index(np.zeros(12, dtype=int), PURE_LABELS) == 1.0


def test_codes_independent_of_class_give_index_one():
    codes, labels = independent_codes()
    assert homogeneity_index(codes, labels) == pytest.approx(1.0, abs=1e-12)
    assert normalized_mutual_information(codes, labels) == pytest.approx(0.0, abs=1e-12)


def test_intermediate_case_by_hand():
    # Node 0 holds classes {0, 0, 1, 1}, node 1 holds {0, 0}.
    codes = np.array([0, 0, 0, 0, 1, 1])
    labels = np.array([0, 0, 1, 1, 0, 0])
    # H(class): class 0 has 4/6, class 1 has 2/6 -> ln 3 - (2/3) ln 2.
    h_class = -(2 / 3) * math.log(2 / 3) - (1 / 3) * math.log(1 / 3)
    assert h_class == pytest.approx(math.log(3) - (2 / 3) * math.log(2))
    # H(class | code): node 0 (weight 4/6) has entropy ln 2, node 1 (weight 2/6) has 0.
    h_class_given_code = (4 / 6) * math.log(2) + (2 / 6) * 0.0
    expected = h_class_given_code / h_class  # about 0.726
    assert expected == pytest.approx(0.7260, abs=1e-4)
    assert homogeneity_index(codes, labels) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_index_is_one_minus_sklearn_homogeneity(seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 4, size=300)
    codes = rng.integers(0, 25, size=300) + 5 * (labels == 0)  # some class dependence
    expected = 1.0 - homogeneity_score(labels, codes)
    assert homogeneity_index(codes, labels) == pytest.approx(expected, abs=1e-12)


def test_single_class_is_index_zero_like_sklearn():
    codes = np.array([0, 3, 3, 7])
    labels = np.zeros(4, dtype=int)
    assert homogeneity_index(codes, labels) == 0.0
    assert homogeneity_index(codes, labels) == 1.0 - homogeneity_score(labels, codes)


# --- chance level of the index ------------------------------------------------------------


def test_chance_of_distinct_codes_is_zero_and_of_one_code_is_one():
    labels = np.array([0, 1, 2, 0, 1, 2, 0, 1])
    assert homogeneity_chance(np.arange(8), labels) == 0.0
    assert homogeneity_chance(np.full(8, 3), labels) == 1.0


def test_chance_is_the_mean_index_over_seeded_label_shuffles():
    rng = np.random.default_rng(3)
    codes, labels = rng.integers(0, 6, size=40), rng.integers(0, 3, size=40)
    shuffles = np.random.default_rng(11)
    by_hand = np.mean([homogeneity_index(codes, shuffles.permutation(labels)) for _ in range(4)])
    assert homogeneity_chance(codes, labels, n_shuffles=4, seed=11) == pytest.approx(by_hand, abs=1e-15)


def test_chance_of_1000_inputs_on_225_nodes_is_well_below_one():
    # Codes that know nothing of the class still score far below 1: few inputs per node.
    rng = np.random.default_rng(0)
    codes, labels = rng.integers(0, 225, size=1000), rng.integers(0, 10, size=1000)
    chance = homogeneity_chance(codes, labels)
    assert 0.55 < chance < 0.75
    # The index of such codes is itself a draw from that chance distribution.
    assert homogeneity_index(codes, labels) == pytest.approx(chance, abs=0.02)
    # With ten times the inputs per node the bias shrinks towards 1.
    many_codes, many_labels = rng.integers(0, 225, size=20000), rng.integers(0, 10, size=20000)
    assert homogeneity_chance(many_codes, many_labels, n_shuffles=2) > chance + 0.2


def test_chance_is_deterministic_given_the_seed():
    rng = np.random.default_rng(1)
    codes, labels = rng.integers(0, 30, size=200), rng.integers(0, 10, size=200)
    first = homogeneity_chance(codes, labels, seed=5)
    assert homogeneity_chance(codes, labels, seed=5) == first
    assert homogeneity_chance(codes, labels, seed=6) != first
    with pytest.raises(ValueError, match="n_shuffles must be a positive integer, got 0."):
        homogeneity_chance(codes, labels, n_shuffles=0)


# --- node sharing -----------------------------------------------------------------------------


def test_node_sharing_by_hand():
    counts = np.array([[5, 0, 0, 0], [0, 0, 0, 0], [1, 1, 1, 1], [2, 2, 0, 0], [3, 1, 0, 0]])
    expected_last = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25)) / math.log(4)
    np.testing.assert_allclose(node_sharing(counts), [0.0, np.nan, 1.0, 0.5, expected_last])


def test_node_sharing_weighted_by_node_gives_the_homogeneity_index():
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 5, size=400)
    codes = rng.integers(0, 12, size=400) + 3 * (labels == 1)
    counts = node_class_counts(codes, labels, n_nodes=15, n_classes=5)
    weights = counts.sum(axis=1) / len(codes)
    occupied = weights > 0
    class_share = np.bincount(labels) / len(labels)
    class_entropy = -(class_share * np.log(class_share)).sum()
    rebuilt = weights[occupied] @ node_sharing(counts)[occupied] * math.log(5) / class_entropy
    assert rebuilt == pytest.approx(homogeneity_index(codes, labels), abs=1e-12)


def test_node_sharing_rejects_bad_tables():
    with pytest.raises(ValueError, match=r"class_counts must be a numeric \(n_nodes, n_classes\) table"):
        node_sharing([1, 2, 3])
    with pytest.raises(ValueError, match="n_classes >= 2"):
        node_sharing([[1], [2]])
    with pytest.raises(ValueError, match="class_counts must be non-negative"):
        node_sharing([[1, -1]])


# --- Wilson interval --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("successes", "n", "low", "high"),
    [(5, 10, 0.2366, 0.7634), (0, 10, 0.0, 0.2775), (10, 10, 0.7225, 1.0), (27, 30, 0.7438, 0.9654),
     (60, 100, 0.5020, 0.6906)],
)
def test_wilson_interval_known_values(successes, n, low, high):
    # Reference: Wilson's formula with z = 1.959964 (statsmodels' proportion_confint, "wilson").
    assert wilson_interval(successes, n) == (pytest.approx(low, abs=1e-4), pytest.approx(high, abs=1e-4))


def test_wilson_interval_by_the_formula_and_its_confidence():
    z = 1.6448536269514722  # 90%
    p, n = 18 / 30, 30
    center = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    expected = (pytest.approx(center - half), pytest.approx(center + half))
    assert wilson_interval(18, 30, confidence=0.9) == expected
    low95, high95 = wilson_interval(18, 30)
    assert low95 < center - half and high95 > center + half


def test_wilson_interval_rejects_bad_counts():
    with pytest.raises(ValueError, match="n must be a positive integer, got 0."):
        wilson_interval(0, 0)
    with pytest.raises(ValueError, match=r"successes must be an integer in \[0, n=10\], got 11."):
        wilson_interval(11, 10)
    with pytest.raises(ValueError, match="successes must be an integer"):
        wilson_interval(2.5, 10)
    with pytest.raises(ValueError, match=r"confidence must be in \(0, 1\), got 1.0."):
        wilson_interval(2, 10, confidence=1.0)


def test_nmi_matches_sklearn():
    rng = np.random.default_rng(7)
    labels = rng.integers(0, 3, size=100)
    codes = rng.integers(0, 9, size=100)
    expected = normalized_mutual_info_score(labels, codes)
    assert normalized_mutual_information(codes, labels) == pytest.approx(expected)
    assert normalized_mutual_information(PURE_LABELS, PURE_LABELS) == pytest.approx(1.0)


# --- occupancy and diversity ------------------------------------------------------------


def test_class_node_occupancy_by_hand():
    codes = np.array([0, 0, 1, 1, 2, 3])
    labels = np.array([0, 1, 1, 1, 2, 2])
    out = class_node_occupancy(codes, labels, n_classes=4)
    # class 0 -> {0}, class 1 -> {0, 1}, class 2 -> {2, 3}, class 3 absent.
    assert out["nodes_per_class"] == [1, 2, 2, 0]
    assert out["mean_nodes_per_class"] == pytest.approx(5 / 3)  # over the classes present
    # Occupied nodes 0, 1, 2, 3; only node 0 holds two classes.
    assert out["multi_class_node_fraction"] == pytest.approx(1 / 4)


def test_occupancy_of_pure_and_independent_codes():
    pure = class_node_occupancy(PURE_CODES, PURE_LABELS, n_classes=3)
    assert pure["nodes_per_class"] == [2, 2, 2]
    assert pure["multi_class_node_fraction"] == 0.0
    codes, labels = independent_codes()
    shared = class_node_occupancy(codes, labels, n_classes=3)
    assert shared["nodes_per_class"] == [4, 4, 4]
    assert shared["multi_class_node_fraction"] == 1.0


@pytest.mark.parametrize("k", [1, 2, 5, 16])
def test_effective_codes_of_uniform_use(k):
    codes = np.tile(np.arange(k), 3)
    out = code_diversity(codes, n_nodes=20)
    assert out["effective_codes"] == pytest.approx(k)
    assert out["nodes_used"] == k
    assert out["fraction_nodes_used"] == pytest.approx(k / 20)


def test_effective_codes_of_uneven_use():
    codes = np.array([0, 0, 0, 1])  # p = (3/4, 1/4)
    entropy = -0.75 * math.log(0.75) - 0.25 * math.log(0.25)
    assert code_diversity(codes, n_nodes=2)["effective_codes"] == pytest.approx(math.exp(entropy))


# --- readout ------------------------------------------------------------------------------


def test_majority_labels_with_ties_and_empty_nodes():
    codes = np.array([0, 0, 0, 1, 1, 3])
    labels = np.array([2, 2, 1, 0, 1, 2])
    node_labels = node_majority_labels(codes, labels, n_nodes=5, n_classes=3)
    # node 0: two 2s beat one 1; node 1: 0 and 1 tie -> 0; nodes 2 and 4 empty.
    np.testing.assert_array_equal(node_labels, [2, 0, -1, 2, -1])


def test_readout_with_unlabeled_nodes():
    node_labels = np.array([2, 0, -1, 2, -1])
    codes = np.array([0, 1, 2, 3, 4, 0])
    labels = np.array([2, 1, 0, 2, 0, 2])
    np.testing.assert_array_equal(readout(node_labels, codes), [2, 0, -1, 2, -1, 2])
    assert readout_accuracy(node_labels, codes, labels) == pytest.approx(3 / 6)


def test_class_pure_codes_read_out_perfectly():
    node_labels = node_majority_labels(PURE_CODES, PURE_LABELS, n_nodes=6, n_classes=3)
    np.testing.assert_array_equal(node_labels, [0, 0, 1, 1, 2, 2])
    assert readout_accuracy(node_labels, PURE_CODES, PURE_LABELS) == 1.0


# --- layer bundle ----------------------------------------------------------------------------


def test_layer_measures_bundle():
    fit_codes = np.array([0, 0, 0, 1, 1, 3])
    fit_labels = np.array([2, 2, 1, 0, 1, 2])
    test_codes = np.array([0, 1, 2, 3, 4, 0])
    test_labels = np.array([2, 1, 0, 2, 0, 2])
    predictions = np.array([2, 0, 0, 1, 0, 2])
    out = layer_measures(fit_codes, fit_labels, test_codes, test_labels, 5, 3, predictions)
    json.dumps(out)
    assert set(out) == {
        "homogeneity_index", "homogeneity_index_chance", "nmi", "effective_codes", "nodes_used",
        "fraction_nodes_used",
        "mean_nodes_per_class", "multi_class_node_fraction", "nodes_per_class",
        "readout_accuracy", "unlabeled_share", "readout_agreement",
    }  # fmt: skip
    assert out["homogeneity_index"] == homogeneity_index(test_codes, test_labels)
    assert out["homogeneity_index_chance"] == homogeneity_chance(test_codes, test_labels)
    assert out["nmi"] == normalized_mutual_information(test_codes, test_labels)
    assert out["nodes_used"] == 5
    assert out["nodes_per_class"] == [2, 1, 2]  # class 0 on codes 2 and 4
    # Readout from the fit codes is [2, 0, -1, 2, -1, 2] (see the readout tests).
    assert out["readout_accuracy"] == pytest.approx(3 / 6)
    assert out["unlabeled_share"] == pytest.approx(2 / 6)
    assert out["readout_agreement"] == pytest.approx(3 / 6)
    assert all(type(v) in (float, int, list) for v in out.values())

    without = layer_measures(fit_codes, fit_labels, test_codes, test_labels, 5, 3)
    assert "readout_agreement" not in without
    lean = layer_measures(fit_codes, fit_labels, test_codes, test_labels, 5, 3, predictions, chance=False)
    assert lean == {key: value for key, value in out.items() if key != "homogeneity_index_chance"}


# --- SOM quality and adversarial comparisons --------------------------------------------------


def test_som_quality_matches_minisom():
    rng = np.random.default_rng(0)
    data = rng.normal(size=(60, 3))
    som = MiniSom(3, 4, 3, sigma=1.0, learning_rate=0.5, random_seed=0)
    som.train_random(data, 200)
    out = som_quality(som, data)
    assert out == {
        "quantization_error": pytest.approx(som.quantization_error(data)),
        "topographic_error": pytest.approx(som.topographic_error(data)),
    }
    assert all(type(v) is float for v in out.values())


def test_code_retention_by_hand():
    assert code_retention([0, 1, 2, 3], [0, 1, 3, 0]) == pytest.approx(0.5)
    assert code_retention([4, 4], [4, 4]) == 1.0


def test_mean_grid_distance_by_hand():
    coordinates = np.array([[0, 0], [3, 4], [0, 4], [3, 0]])
    # 0 -> 1 is a 3-4-5 step, 0 -> 0 stays, 2 -> 3 is the other diagonal (also 5).
    assert mean_grid_distance([0, 0, 2], [1, 0, 3], coordinates) == pytest.approx(10 / 3)


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("codes", "labels", "match"),
    [
        ([0, 1, 2], [0, 1], "same length"),
        ([0, -1], [0, 1], "codes must be non-negative"),
        ([0, 1], [0, -2], "labels must be non-negative"),
        ([0.0, 1.0], [0, 1], "codes must hold integers"),
        ([0, 1], [True, False], "labels must hold integers"),
        ([], [], "codes must be non-empty"),
        ([[0, 1]], [[0, 1]], "codes must be a 1-D array"),
    ],
)
def test_bad_codes_or_labels(codes, labels, match):
    with pytest.raises(ValueError, match=match):
        homogeneity_index(codes, labels)


def test_out_of_range_indices():
    with pytest.raises(ValueError, match="codes must be < 4"):
        code_diversity([0, 4], n_nodes=4)
    with pytest.raises(ValueError, match="labels must be < 2"):
        class_node_occupancy([0, 1], [0, 2], n_classes=2)
    with pytest.raises(ValueError, match="codes must be < 3"):
        readout([0, 1, -1], [3])
    with pytest.raises(ValueError, match="predictions must be < 2"):
        layer_measures([0], [0], [0], [1], 1, 2, predictions=[5])
    with pytest.raises(ValueError, match="n_nodes must be a positive integer"):
        code_diversity([0], n_nodes=0)


def test_bad_node_labels_coordinates_and_pairs():
    with pytest.raises(ValueError, match="node_labels must be >= -1"):
        readout([0, -2], [0])
    with pytest.raises(ValueError, match="node_labels must be a non-empty 1-D integer array"):
        readout([0.5, 1.0], [0])
    with pytest.raises(ValueError, match=r"coordinates must have shape \(n_nodes, 2\)"):
        mean_grid_distance([0], [0], np.zeros((4, 3)))
    with pytest.raises(ValueError, match="clean_codes and other_codes must have the same length"):
        code_retention([0, 1], [0])
    with pytest.raises(ValueError, match="codes and labels must have the same length"):
        readout_accuracy([0, 1], [0, 1], [0])


def trained_som(data: np.ndarray) -> MiniSom:
    som = MiniSom(3, 4, data.shape[1], sigma=1.0, learning_rate=0.5, random_seed=0)
    som.train_random(data, 50)
    return som


def test_som_quality_names_a_feature_count_that_does_not_fit_the_som():
    data = np.random.default_rng(0).normal(size=(20, 3))
    with pytest.raises(ValueError, match=r"data must have 3 features \(the SOM's input length\), got 2\."):
        som_quality(trained_som(data), data[:, :2])


def test_som_quality_refuses_nan_rather_than_a_silent_topographic_error():
    data = np.random.default_rng(0).normal(size=(20, 3))
    bad = data.copy()
    bad[5, 1] = np.nan
    with pytest.raises(ValueError, match=r"data must be finite \(no NaN or infinity\), got 1 NaN"):
        som_quality(trained_som(data), bad)


def test_mean_grid_distance_refuses_nan_coordinates():
    with pytest.raises(ValueError, match=r"coordinates must be finite \(no NaN or infinity\), got 1 NaN"):
        mean_grid_distance([0, 1], [1, 0], [[0.0, 0.0], [np.nan, 1.0]])



def test_shuffled_chance_averages_a_measure_over_label_permutations() -> None:
    def share_in_place(codes, labels):   # inputs whose code equals their label, and a constant
        return np.mean(codes == labels), 2.0

    codes = np.arange(5)
    # labels all equal: every permutation is the same labelling, so chance is the measure itself
    np.testing.assert_allclose(shuffled_chance(share_in_place, codes, [1] * 5, 3), [0.2, 2.0])
    # distinct labels: one fixed point per permutation on average, a share of 1/5
    assert shuffled_chance(share_in_place, codes, codes, 4000, seed=1)[0] == pytest.approx(0.2, abs=0.01)
    # the series' chance of the homogeneity index is this control applied to the index
    rng = np.random.default_rng(3)
    codes, labels = rng.integers(0, 20, 200), rng.integers(0, 10, 200)
    chance = homogeneity_chance(codes, labels, 7, 5)
    assert shuffled_chance(homogeneity_index, codes, labels, 7, seed=5) == chance
    with pytest.raises(ValueError, match="n_shuffles"):
        shuffled_chance(homogeneity_index, codes, labels, 0)
