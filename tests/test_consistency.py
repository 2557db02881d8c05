"""Consistency measures between real and adversarial representations: known values and references."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.distance import hamming
from sklearn.metrics.pairwise import cosine_similarity as sklearn_cosine

from helpers.consistency import (
    cosine_similarity,
    dominant_class_share,
    equal_bit_share,
    layer_consistency,
    shuffled_class_agreement,
    sweep_models,
    top_inputs,
    topk_overlap,
    unit_class_agreement,
)


def test_cosine_similarity_known_values():
    a = [[1.0, 0.0], [1.0, 2.0], [1.0, 2.0], [3.0, -1.0]]
    b = [[0.0, 5.0], [2.0, 4.0], [-1.0, -2.0], [0.3, -0.1]]  # orthogonal, parallel, opposite, scaled
    np.testing.assert_allclose(cosine_similarity(a, b), [0.0, 1.0, -1.0, 1.0], atol=1e-12)


def test_cosine_similarity_of_a_row_with_itself_is_exactly_one():
    rows = np.random.default_rng(0).normal(size=(50, 30))
    assert (cosine_similarity(rows, rows) == 1.0).all()


def test_cosine_similarity_zero_rows():
    a = [[0.0, 0.0], [0.0, 0.0], [1.0, 1.0]]
    b = [[0.0, 0.0], [1.0, 0.0], [0.0, 0.0]]
    np.testing.assert_array_equal(cosine_similarity(a, b), [1.0, 0.0, 0.0])


def test_cosine_similarity_matches_sklearn_diagonal():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(40, 17)), rng.normal(size=(40, 17))
    np.testing.assert_allclose(cosine_similarity(a, b), np.diag(sklearn_cosine(a, b)), atol=1e-12)


def test_topk_overlap_known_values():
    a = np.array([[4.0, 3.0, 2.0, 1.0]] * 3)
    b = np.array([[4.0, 3.0, 2.0, 1.0], [1.0, 2.0, 3.0, 4.0], [4.0, 1.0, 3.0, 2.0]])
    # identical sets {0, 1}; disjoint {2, 3}; half overlapping {0, 2}: 1 shared of 3 units.
    np.testing.assert_allclose(topk_overlap(a, b, k=2), [1.0, 0.0, 1 / 3])
    np.testing.assert_allclose(topk_overlap(a, b, k=4), [1.0, 1.0, 1.0])  # k = n_features: all units
    np.testing.assert_allclose(topk_overlap(a[:1], b[2:], k=3), [0.5])  # {0,1,2} vs {0,2,3}: 2 of 4


def test_topk_overlap_ties_go_to_the_lower_index():
    # All-equal rows pick units 0 and 1; the other row's top two are units 1 and 3.
    np.testing.assert_allclose(topk_overlap([[2.0, 2.0, 2.0, 2.0]], [[0.0, 5.0, 0.0, 5.0]], k=2), [1 / 3])
    np.testing.assert_allclose(topk_overlap([[2.0, 2.0, 2.0, 2.0]], [[5.0, 5.0, 0.0, 0.0]], k=2), [1.0])


def test_topk_overlap_counts_only_active_units():
    # One active unit each, different ones: disjoint active sets score 0 (the inactive zeros are not "top"),
    # although the top-3 index sets by value would share two of four units.
    assert topk_overlap([[2.0, 0.0, 0.0, 0.0]], [[0.0, 3.0, 0.0, 0.0]], k=3)[0] == 0.0
    # {0, 1} active against {0}: 1 shared of 2; no active unit in either row: identical.
    np.testing.assert_allclose(topk_overlap([[2.0, 1.0, 0.0], [0.0, 0.0, 0.0]],
                                            [[5.0, 0.0, 0.0], [0.0, 0.0, 0.0]], k=2), [0.5, 1.0])


def test_topk_overlap_equals_jaccard_of_active_top_sets():
    rng = np.random.default_rng(3)
    a, b = np.maximum(rng.normal(size=(30, 12)) - 1, 0), np.maximum(rng.normal(size=(30, 12)) - 1, 0)
    expected = []
    for row_a, row_b in zip(a, b):
        sets = [{int(j) for j in np.argsort(-r, kind="stable")[:5] if r[j] > 0} for r in (row_a, row_b)]
        union = sets[0] | sets[1]
        expected.append(len(sets[0] & sets[1]) / len(union) if union else 1.0)
    np.testing.assert_allclose(topk_overlap(a, b, k=5), expected)


@pytest.mark.parametrize("k", [0, 5, 2.0, True])
def test_topk_overlap_refuses_bad_k(k):
    with pytest.raises(ValueError, match=r"k must be an integer in \[1, 4\], got"):
        topk_overlap(np.ones((2, 4)), np.ones((2, 4)), k=k)


def test_equal_bit_share_known_values():
    a = [[1.0, 0.0, 2.0, -1.0], [1.0, 1.0, 1.0, 1.0]]
    b = [[3.0, -2.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]
    np.testing.assert_allclose(equal_bit_share(a, b), [0.75, 0.0])


def test_equal_bit_share_matches_scipy_hamming():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(30, 23)), rng.normal(size=(30, 23))
    expected = [1 - hamming(row_a > 0, row_b > 0) for row_a, row_b in zip(a, b)]
    np.testing.assert_allclose(equal_bit_share(a, b), expected)


@pytest.mark.parametrize("measure", [cosine_similarity, equal_bit_share])
def test_measures_refuse_mismatched_shapes(measure):
    with pytest.raises(ValueError, match=r"a and b must have the same shape .*\(3, 4\) and \(3, 5\)"):
        measure(np.ones((3, 4)), np.ones((3, 5)))
    with pytest.raises(ValueError, match="a must be a non-empty 2-D numeric array"):
        measure(np.ones(4), np.ones(4))
    with pytest.raises(ValueError, match="b must be finite"):
        measure(np.ones((2, 2)), [[1.0, np.nan], [0.0, 1.0]])


def _layers(rng, n_inputs=60):
    return {"conv1": np.maximum(rng.normal(size=(n_inputs, 40)), 0),
            "fc": np.maximum(rng.normal(size=(n_inputs, 12)), 0)}


def test_layer_consistency_of_identical_inputs_is_one_everywhere():
    acts = _layers(np.random.default_rng(3))
    codes = {"fc": np.arange(60) % 7}
    result = layer_consistency(acts, acts, k={"conv1": 10, "fc": 3}, clean_codes=codes, twin_codes=codes)
    assert set(result) == {"conv1", "fc"}
    for layer, values in result.items():
        assert values.pop("mean_squared_gap") == 0.0
        assert values.pop("mean_squared_activation") == pytest.approx((acts[layer] ** 2).mean())
    assert result["conv1"] == {"cosine_similarity": 1.0, "topk_overlap": 1.0, "equal_bit_share": 1.0}
    assert result["fc"] == {"cosine_similarity": 1.0, "topk_overlap": 1.0, "equal_bit_share": 1.0,
                            "code_retention": 1.0}


def test_shrinking_a_layer_shrinks_the_squared_gap_but_not_the_scale_free_measures():
    rng = np.random.default_rng(5)
    clean = _layers(rng)
    twin = {layer: values + rng.uniform(0, 0.5, values.shape) for layer, values in clean.items()}
    full = layer_consistency(clean, twin, k=3)
    shrunk = layer_consistency({k: v / 4 for k, v in clean.items()}, {k: v / 4 for k, v in twin.items()}, k=3)
    for layer in clean:
        assert full[layer]["mean_squared_gap"] == pytest.approx(((clean[layer] - twin[layer]) ** 2).mean())
        assert shrunk[layer]["mean_squared_gap"] == pytest.approx(full[layer]["mean_squared_gap"] / 16)
        scale = full[layer]["mean_squared_activation"]
        assert shrunk[layer]["mean_squared_activation"] == pytest.approx(scale / 16)
        for measure in ("cosine_similarity", "topk_overlap", "equal_bit_share"):
            assert shrunk[layer][measure] == pytest.approx(full[layer][measure])


def test_layer_consistency_of_shuffled_twins_is_lower():
    rng = np.random.default_rng(4)
    acts = _layers(rng)
    order = rng.permutation(60)
    shuffled = {layer: values[order] for layer, values in acts.items()}
    codes = np.arange(60) % 7
    result = layer_consistency(acts, shuffled, k=3,
                               clean_codes={"fc": codes}, twin_codes={"fc": codes[order]})
    for layer, values in result.items():
        assert values["cosine_similarity"] < 0.9 and values["topk_overlap"] < 0.9
        assert values["equal_bit_share"] < 0.9
        np.testing.assert_allclose(values["cosine_similarity"],
                                   cosine_similarity(acts[layer], shuffled[layer]).mean())
    assert result["fc"]["code_retention"] == np.mean(codes == codes[order])


def test_layer_consistency_refuses_mismatches():
    acts = _layers(np.random.default_rng(5))
    with pytest.raises(ValueError, match="clean and twin must hold the same non-empty set of layers"):
        layer_consistency(acts, {"fc": acts["fc"]}, k=3)
    with pytest.raises(ValueError, match="k must give a top-k size for every layer"):
        layer_consistency(acts, acts, k={"fc": 3})
    with pytest.raises(ValueError, match=r"at layer 'fc': k must be an integer in \[1, 12\], got 13"):
        layer_consistency(acts, acts, k=13)
    with pytest.raises(ValueError, match=r"clean\['fc'\] and twin\['fc'\] must have the same shape"):
        layer_consistency(acts, {**acts, "fc": acts["fc"][:-1]}, k=3)
    with pytest.raises(ValueError, match="clean_codes and twin_codes must be given together"):
        layer_consistency(acts, acts, k=3, clean_codes={"fc": np.zeros(60, int)})
    with pytest.raises(ValueError, match=r"clean_codes\['fc'\] must have one code per input \(60\), got 59"):
        layer_consistency(acts, acts, k=3, clean_codes={"fc": np.zeros(59, int)},
                          twin_codes={"fc": np.zeros(59, int)})


def test_top_inputs_orders_by_activation_then_index():
    acts = np.array([[1.0, 0.0], [3.0, 0.0], [2.0, 0.0], [3.0, 1.0]])
    np.testing.assert_array_equal(top_inputs(acts, top=3), [[1, 3, 2], [3, 0, 1]])
    with pytest.raises(ValueError, match=r"top must be an integer in \[1, 4\], got 5"):
        top_inputs(acts, top=5)


def test_unit_class_agreement_known_answer():
    labels = np.array([3, 3, 3, 5, 5, 5, 7, 7])
    real = np.zeros((8, 3))
    real[labels == 3, 0] = [5.0, 6.0, 7.0]  # unit 0 fires only for class 3 ...
    real[labels == 5, 1] = [1.0, 2.0, 3.0]  # unit 1 only for class 5 ...
    real[labels == 7, 2] = [4.0, 4.0]       # unit 2 only for class 7 ...
    twin = np.zeros((8, 3))
    twin[labels == 3, 0] = [1.0, 1.0, 1.0]  # ... and for class 3 on the adversarial set too;
    twin[labels == 3, 1] = [9.0, 8.0, 7.0]  # ... but for class 3 there;
    twin[[0, 3, 6], 2] = [1.0, 2.0, 3.0]    # ... but for classes 3, 5 and 7 there.
    np.testing.assert_allclose(unit_class_agreement(real, twin, labels, top=3), [1.0, 0.0, 1 / 3])


def test_unit_class_agreement_dominant_class_is_the_most_frequent():
    labels = np.array([1, 2, 2, 0])
    real = np.array([[9.0], [8.0], [7.0], [0.0]])      # top 3 real: classes 1, 2, 2 -> dominant 2
    twin = np.array([[0.0], [1.0], [5.0], [6.0]])      # top 3 twin: classes 0, 2, 2
    np.testing.assert_allclose(unit_class_agreement(real, twin, labels, top=3), [2 / 3])


def test_unit_class_agreement_refuses_bad_labels_and_top():
    acts = np.ones((4, 2))
    with pytest.raises(ValueError, match=r"labels must be .* one class per input \(4\), got .* shape \(3,\)"):
        unit_class_agreement(acts, acts, [0, 1, 2], top=2)
    with pytest.raises(ValueError, match="labels must be a 1-D integer array"):
        unit_class_agreement(acts, acts, [0.0, 1.0, 2.0, 3.0], top=2)
    with pytest.raises(ValueError, match="labels must be non-negative classes, got -1."):
        unit_class_agreement(acts, acts, [0, 1, 2, -1], top=2)
    with pytest.raises(ValueError, match=r"top must be an integer in \[1, 4\], got 0"):
        unit_class_agreement(acts, acts, [0, 1, 2, 3], top=0)
    with pytest.raises(ValueError, match="clean_acts and twin_acts must have the same shape"):
        unit_class_agreement(acts, np.ones((4, 3)), [0, 1, 2, 3], top=2)


def test_consistency_per_input_gives_one_value_per_input_whose_means_are_the_layer_measures():
    from helpers.consistency import consistency_per_input, layer_consistency

    rng = np.random.default_rng(0)
    clean = {"fc": np.maximum(rng.normal(size=(7, 12)), 0)}
    twin = {"fc": np.maximum(clean["fc"] + rng.normal(scale=0.5, size=(7, 12)), 0)}
    codes_clean, codes_twin = {"fc": np.array([0, 1, 2, 3, 4, 5, 6])}, {"fc": np.array([0, 1, 9, 3, 9, 5, 9])}
    per_input = consistency_per_input(clean, twin, 3, codes_clean, codes_twin)["fc"]
    assert all(values.shape == (7,) for values in per_input.values())
    assert list(per_input["code_retention"]) == [1, 1, 0, 1, 0, 1, 0]
    means = layer_consistency(clean, twin, 3, codes_clean, codes_twin)["fc"]
    assert means == pytest.approx({name: values.mean() for name, values in per_input.items()})
    assert means["mean_squared_gap"] == pytest.approx(((clean["fc"] - twin["fc"]) ** 2).mean())


def test_dominant_class_share_is_the_agreement_of_random_twins():
    rng = np.random.default_rng(4)
    real, labels = rng.random((400, 6)), rng.integers(0, 4, 400)
    dominant = [np.bincount(labels[np.argsort(-real[:, u], kind="stable")[:10]], minlength=4).argmax()
                for u in range(6)]
    np.testing.assert_allclose(dominant_class_share(real, labels, top=10),
                               [np.mean(labels == d) for d in dominant])
    # twins in random order agree with the dominant class about as often, on average over many draws
    draws = [unit_class_agreement(real, rng.random((400, 6)), labels, top=10).mean() for _ in range(200)]
    assert abs(np.mean(draws) - dominant_class_share(real, labels, top=10).mean()) < 0.02


def test_shuffled_twins_give_the_dominant_class_share_and_shuffled_labels_do_not():
    rng = np.random.default_rng(5)
    labels = np.where(rng.random(600) < 0.5, 0, rng.integers(1, 10, 600))      # class 0: half the inputs
    real = rng.random((600, 30)) + 2.0 * (labels[:, None] == np.arange(30) % 3)  # unit u prefers class u % 3
    twin = real + 0.01 * rng.random(real.shape)
    chance = dominant_class_share(real, labels, top=20).mean()
    assert abs(shuffled_class_agreement(real, twin, labels, top=20) - chance) < 0.02
    assert shuffled_class_agreement(real, twin, labels, top=20, seed=1) != shuffled_class_agreement(
        real, twin, labels, top=20)
    # shuffling the labels moves the dominant class with them: far above chance for twins like their inputs
    shuffled_labels = np.mean([unit_class_agreement(real, twin, rng.permutation(labels), top=20)
                               for _ in range(10)])
    assert shuffled_labels > chance + 0.2
    # another agreement function is shuffled the same way
    assert shuffled_class_agreement(real, twin, labels, top=20, agreement=lambda *args: np.ones(30)) == 1.0


def test_lesson_08s_robustness_record_is_of_the_models_the_lesson_trains():
    """A stale record (of models trained with other settings) fails: python -m helpers.bench robustness
    --lesson 08 writes it anew."""
    from helpers.bench import ROBUSTNESS_RECORD, robustness_models
    from helpers.io import FIGURES_DIR

    main = Path(str(ROBUSTNESS_RECORD).format(lesson="08"))
    records = {path.name: json.loads(path.read_text()) for path in main.parent.glob("robustness_08*.json")}
    wanted = {name: config.checkpoint_path().name for name, (config, _, _) in robustness_models("08").items()}
    assert list(records) == [main.name]              # one record: every model on the same 1,000 images
    record = records[main.name]
    assert record["n_test"] >= 1000 and len(wanted) == 8
    assert {name: m["checkpoint"] for name, m in record["models"].items()} == wanted
    for model in record["models"].values():
        suite = model["autoattack"]["0.2"]
        assert sum(suite["broken_by"].values()) + sum(suite["robust"]) == record["n_test"]
    results = json.loads((FIGURES_DIR / "08_consistency" / "results.json").read_text())
    assert {name: results["models"][name]["checkpoint"] for name in wanted} == wanted
    assert {name: m["checkpoint"] for name, m in results["robustness_record"].items()} == wanted


def test_the_sweep_trains_seeds_of_lambda_0_and_the_regularized_lambda_with_the_recipe():
    models = sweep_models((0.0, 1.0, 10.0), regularized=1.0, seeds=(0, 1, 2))
    assert [(c.consistency, c.seed) for c in models.values()] == [
        (0.0, 0), (1.0, 0), (10.0, 0), (0.0, 1), (1.0, 1), (0.0, 2), (1.0, 2)]
    config = models["λ = 1, seed 2"]
    assert (config.adv_start, config.lr_schedule, config.batch_size, config.adv_epsilon) == (
        "unclamped", "cyclic", 100, 0.2)
    assert config.adv_step_size == pytest.approx(1.25 * 0.2)
