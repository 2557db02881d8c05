from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest
import torch

from helpers import metrics
from helpers.attacks import AttackSweep, attack_sweep, correctly_classified
from helpers.codes import fit_codebook
from helpers.data import load_split, random_subset
from helpers.models import build_model
from helpers.perturbation import (
    MEASURES,
    perturbation_measures,
    perturbation_table,
    takeover_layer,
    takeover_layers,
    takeover_span,
    takeover_spans,
    unrelated_grid_distance,
)

# A 2 x 2 grid, node k at (row, column) = (k // 2, k % 2).
GRID = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)


@dataclass
class FakeCodebook:
    """The parts of a LayerCodebook that the perturbation measures use."""

    node_labels: dict[str, np.ndarray]
    coordinates: np.ndarray = field(default_factory=lambda: GRID)

    @property
    def layers(self) -> list[str]:
        return list(self.node_labels)


# Six inputs of classes 0, 0, 1, 1, 2, 2; the network is fooled on inputs 1, 3 and 5.
LABELS = np.array([0, 0, 1, 1, 2, 2])
PREDICTIONS = np.array([0, 1, 1, 2, 2, 0])
BOOK = FakeCodebook({"pixels": np.array([0, 1, 2, -1]), "deep": np.array([0, 1, 2, 2])})
CLEAN = {"pixels": np.array([0, 0, 1, 1, 2, 2]), "deep": np.array([0, 0, 1, 1, 2, 3])}
PERTURBED = {"pixels": np.array([0, 1, 1, 3, 2, 0]), "deep": np.array([0, 1, 1, 2, 3, 0])}


def test_measures_of_a_hand_example():
    out = perturbation_measures(BOOK, CLEAN, PERTURBED, LABELS, PREDICTIONS, min_fooled=3)
    assert list(out) == ["pixels", "deep"] and all(list(m) == list(MEASURES) for m in out.values())
    pixels, deep = out["pixels"], out["deep"]
    # Pixels: codes kept at inputs 0, 2, 4; the other three move one grid step.
    assert pixels["code_retention"] == 0.5 and pixels["mean_grid_distance"] == pytest.approx(0.5)
    # Read as [0, 1, 1, -1, 2, 0]: true class at 0, 2, 4; predicted class at all but input 3.
    assert pixels["readout_true"] == pytest.approx(3 / 6)
    assert pixels["readout_adversarial"] == pytest.approx(5 / 6)
    # Fooled inputs 1, 3, 5 are read as [1, -1, 0]: never their class 0, 1, 2; as prediction 1, 2, 0 twice.
    assert pixels["n_fooled"] == 3
    assert pixels["readout_true_fooled"] == 0.0
    assert pixels["readout_adversarial_fooled"] == pytest.approx(2 / 3)
    assert (pixels["readout_adversarial_fooled_low"], pixels["readout_adversarial_fooled_high"]) == \
        metrics.wilson_interval(2, 3)
    assert pixels["homogeneity_clean"] == 0.0  # each clean code holds one class
    assert pixels["homogeneity_clean_chance"] == metrics.homogeneity_chance(CLEAN["pixels"], LABELS)
    # Perturbed codes 0 and 1 each hold two classes: H(class | code) = (4/6) ln 2, H(class) = ln 3.
    assert pixels["homogeneity_perturbed"] == pytest.approx((4 / 6) * math.log(2) / math.log(3))
    assert pixels["homogeneity_perturbed_chance"] == metrics.homogeneity_chance(PERTURBED["pixels"], LABELS)
    assert pixels["homogeneity_perturbed_vs_prediction"] == 0.0  # against the predictions, all pure
    assert pixels["homogeneity_perturbed_vs_prediction_chance"] == \
        metrics.homogeneity_chance(PERTURBED["pixels"], PREDICTIONS)
    # Deep: kept at inputs 0, 2; moves of 1, sqrt 2, 1, sqrt 2 steps; read as [0, 1, 1, 2, 2, 0].
    assert deep["code_retention"] == pytest.approx(2 / 6)
    assert deep["mean_grid_distance"] == pytest.approx((2 + 2 * math.sqrt(2)) / 6)
    assert deep["readout_true"] == pytest.approx(3 / 6) and deep["readout_adversarial"] == 1.0
    assert deep["readout_true_fooled"] == 0.0 and deep["readout_adversarial_fooled"] == 1.0
    assert deep["readout_adversarial_fooled_high"] == 1.0


def test_readout_shares_match_a_by_hand_computation_on_random_codes():
    rng = np.random.default_rng(0)
    book = FakeCodebook({"a": rng.integers(-1, 5, size=4), "b": rng.integers(0, 5, size=4)})
    labels, predictions = rng.integers(0, 5, size=300), rng.integers(0, 5, size=300)
    clean = {layer: rng.integers(0, 4, size=300) for layer in book.layers}
    perturbed = {layer: rng.integers(0, 4, size=300) for layer in book.layers}
    out = perturbation_measures(book, clean, perturbed, torch.as_tensor(labels), torch.as_tensor(predictions))
    fooled = predictions != labels
    for layer in book.layers:
        read = book.node_labels[layer][perturbed[layer]]
        assert out[layer]["readout_true"] == pytest.approx(np.mean(read == labels))
        assert out[layer]["readout_adversarial"] == pytest.approx(np.mean(read == predictions))
        assert out[layer]["n_fooled"] == fooled.sum()
        assert out[layer]["readout_true_fooled"] == pytest.approx(np.mean(read[fooled] == labels[fooled]))
        assert out[layer]["readout_adversarial_fooled"] == \
            pytest.approx(np.mean(read[fooled] == predictions[fooled]))
        read_clean = book.node_labels[layer][clean[layer]]
        assert out[layer]["readout_adversarial_fooled_clean"] == \
            pytest.approx(np.mean(read_clean[fooled] == predictions[fooled]))


def test_fooled_only_measures_need_min_fooled_inputs():
    out = perturbation_measures(BOOK, CLEAN, PERTURBED, LABELS, PREDICTIONS, min_fooled=4)
    for measures in out.values():
        assert measures["n_fooled"] == 3
        fooled_only = [key for key in MEASURES if "_fooled" in key and key != "n_fooled"]
        assert len(fooled_only) == 5 and all(measures[key] is None for key in fooled_only)
        assert measures["readout_true"] is not None


def test_bad_codes_and_settings_are_rejected():
    missing_layer = r"perturbed_codes must hold codes for every codebook layer, got none for \['deep'\]"
    with pytest.raises(ValueError, match=missing_layer):
        perturbation_measures(BOOK, CLEAN, {"pixels": PERTURBED["pixels"]}, LABELS, PREDICTIONS)
    with pytest.raises(ValueError, match=r"labels must have one entry per input of clean_codes \(6\)"):
        perturbation_measures(BOOK, CLEAN, PERTURBED, LABELS[:5], PREDICTIONS)
    with pytest.raises(ValueError, match="clean_codes must hold as many codes at every layer"):
        perturbation_measures(BOOK, {**CLEAN, "deep": CLEAN["deep"][:4]}, PERTURBED, LABELS, PREDICTIONS)
    with pytest.raises(ValueError, match="min_fooled must be an integer >= 1, got 0."):
        perturbation_measures(BOOK, CLEAN, PERTURBED, LABELS, PREDICTIONS, min_fooled=0)


# --- the takeover rule ------------------------------------------------------------------------

TAKEOVER_BOOK = FakeCodebook({layer: np.array([0, 1, 2, 3]) for layer in ("a", "b", "c", "d")})


def read_as_adversarial(shares: dict[str, int], n_fooled: int = 100, n: int = 100):
    """n inputs of class 0, the first n_fooled predicted as class 1; at each layer the first
    shares[layer] inputs sit on node 1 (read as class 1), the others on node 0."""
    labels = np.zeros(n, dtype=int)
    predictions = np.where(np.arange(n) < n_fooled, 1, 0)
    codes = {layer: np.where(np.arange(n) < hits, 1, 0) for layer, hits in shares.items()}
    clean = {layer: np.zeros(n, dtype=int) for layer in shares}
    return clean, codes, labels, predictions


def test_takeover_needs_a_clear_majority_after_layers_clearly_short_of_one():
    # a, b: 30 and 40 of 100, intervals below one half; c: 70 of 100, interval above it.
    clean, codes, labels, predictions = read_as_adversarial({"a": 30, "b": 40, "c": 70, "d": 95})
    measures = perturbation_measures(TAKEOVER_BOOK, clean, codes, labels, predictions)
    assert measures["b"]["readout_adversarial_fooled_high"] < 0.5
    assert takeover_layer(measures, TAKEOVER_BOOK.layers) == "c"
    assert takeover_layer(measures, ["d", "c", "b", "a"]) == "d"  # the first in the order given


def test_takeover_is_undecided_when_an_earlier_layer_may_hold_a_majority():
    # b: 55 of 100 is a bare majority whose Wilson interval holds one half: it may or may not be the first.
    clean, codes, labels, predictions = read_as_adversarial({"a": 30, "b": 55, "c": 70, "d": 95})
    measures = perturbation_measures(TAKEOVER_BOOK, clean, codes, labels, predictions)
    b = measures["b"]
    assert b["readout_adversarial_fooled_low"] < 0.5 < b["readout_adversarial_fooled_high"]
    assert takeover_layer(measures, TAKEOVER_BOOK.layers) == "undecided"
    assert takeover_span(measures, TAKEOVER_BOOK.layers) == ("b", "c")  # the first majority: b or c


def test_takeover_span_names_where_a_majority_may_and_surely_begins():
    clean, codes, labels, predictions = read_as_adversarial({"a": 30, "b": 40, "c": 70, "d": 95})
    measures = perturbation_measures(TAKEOVER_BOOK, clean, codes, labels, predictions)
    assert takeover_span(measures, TAKEOVER_BOOK.layers) == ("c", "c")  # decided
    clean, codes, labels, predictions = read_as_adversarial({"a": 10, "b": 55, "c": 45, "d": 20})
    measures = perturbation_measures(TAKEOVER_BOOK, clean, codes, labels, predictions)
    assert takeover_span(measures, TAKEOVER_BOOK.layers) == ("b", None)  # no layer surely a majority
    assert takeover_layer(measures, TAKEOVER_BOOK.layers) == "undecided"
    clean, codes, labels, predictions = read_as_adversarial({"a": 10, "b": 20, "c": 30, "d": 38})
    measures = perturbation_measures(TAKEOVER_BOOK, clean, codes, labels, predictions)
    assert takeover_span(measures, TAKEOVER_BOOK.layers) == (None, None)
    clean, codes, labels, predictions = read_as_adversarial({"a": 40, "b": 40, "c": 40, "d": 40}, n_fooled=40)
    assert takeover_span(perturbation_measures(TAKEOVER_BOOK, clean, codes, labels, predictions),
                         TAKEOVER_BOOK.layers) is None  # too few fooled


def test_the_baseline_counts_fooled_inputs_whose_clean_code_already_reads_as_their_adversarial_class():
    # 100 inputs of class 0, the first 60 fooled into class 1; clean codes of the first 15 already on node 1.
    clean, codes, labels, predictions = read_as_adversarial({"a": 30, "b": 40, "c": 70, "d": 95}, n_fooled=60)
    clean = {layer: np.where(np.arange(100) < 15, 1, 0) for layer in clean}
    measures = perturbation_measures(TAKEOVER_BOOK, clean, codes, labels, predictions)
    assert all(m["readout_adversarial_fooled_clean"] == pytest.approx(15 / 60) for m in measures.values())
    assert measures["a"]["readout_adversarial_fooled"] == pytest.approx(30 / 60)


def test_takeover_is_none_when_every_layer_is_clearly_short_of_a_majority():
    clean, codes, labels, predictions = read_as_adversarial({"a": 10, "b": 20, "c": 30, "d": 38})
    measures = perturbation_measures(TAKEOVER_BOOK, clean, codes, labels, predictions)
    assert takeover_layer(measures, TAKEOVER_BOOK.layers) == "none"
    clean, codes, labels, predictions = read_as_adversarial({"a": 10, "b": 40, "c": 55, "d": 58})
    measures = perturbation_measures(TAKEOVER_BOOK, clean, codes, labels, predictions)
    assert takeover_layer(measures, TAKEOVER_BOOK.layers) == "undecided"  # c and d: bare majorities


def test_chance_levels_can_be_left_out():
    clean, codes, labels, predictions = read_as_adversarial({"a": 30, "b": 40, "c": 70, "d": 95})
    full = perturbation_measures(TAKEOVER_BOOK, clean, codes, labels, predictions)
    lean = perturbation_measures(TAKEOVER_BOOK, clean, codes, labels, predictions, chance=False)
    for layer, measures in lean.items():
        assert measures == {key: value for key, value in full[layer].items() if not key.endswith("_chance")}
        assert len(measures) == len(MEASURES) - 3


def test_takeover_is_undecided_with_too_few_fooled_inputs():
    clean, codes, labels, predictions = read_as_adversarial({"a": 40, "b": 40, "c": 40, "d": 40}, n_fooled=40)
    measures = perturbation_measures(TAKEOVER_BOOK, clean, codes, labels, predictions)
    assert measures["a"]["readout_adversarial_fooled_low"] is None
    assert takeover_layer(measures, TAKEOVER_BOOK.layers) is None
    # With a lower bar, all 40 fooled inputs are read as their adversarial class from layer a on.
    measures = perturbation_measures(TAKEOVER_BOOK, clean, codes, labels, predictions, min_fooled=30)
    assert takeover_layer(measures, TAKEOVER_BOOK.layers, min_fooled=30) == "a"
    with pytest.raises(ValueError, match="must hold readout_adversarial_fooled_low and _high"):
        takeover_layer(perturbation_measures(TAKEOVER_BOOK, clean, codes, labels, predictions),
                       TAKEOVER_BOOK.layers, min_fooled=30)
    with pytest.raises(ValueError, match="layers must be non-empty and each in measures_by_layer"):
        takeover_layer(measures, ["a", "e"])


# --- the table over a sweep ---------------------------------------------------------------------


def hand_sweep() -> AttackSweep:
    keys = [("pgd", 0.0), ("pgd", 0.1)]
    predictions = {keys[0]: torch.as_tensor(LABELS), keys[1]: torch.as_tensor(PREDICTIONS)}
    return AttackSweep(("pgd",), (0.0, 0.1), torch.as_tensor(LABELS), {k: torch.zeros(6, 1) for k in keys},
                       predictions, {keys[0]: 0.0, keys[1]: 0.5})


def test_perturbation_table_holds_the_measures_of_every_set():
    sweep = hand_sweep()
    perturbed = {("pgd", 0.0): CLEAN, ("pgd", 0.1): PERTURBED}
    table = perturbation_table(BOOK, CLEAN, perturbed, sweep, min_fooled=3)
    assert list(table.columns) == ["attack", "epsilon", "layer", "success_rate", *MEASURES]
    assert len(table) == 4
    assert isinstance(table["layer"].dtype, pd.CategoricalDtype) and table["layer"].cat.ordered
    assert list(table["layer"].cat.categories) == ["pixels", "deep"]
    expected = perturbation_measures(BOOK, CLEAN, PERTURBED, LABELS, PREDICTIONS, min_fooled=3)
    for row in table[table.epsilon == 0.1].itertuples():
        assert row.success_rate == 0.5
        assert {key: getattr(row, key) for key in MEASURES} == pytest.approx(expected[row.layer])
    unperturbed = table[table.epsilon == 0.0]
    assert (unperturbed.code_retention == 1).all() and (unperturbed.n_fooled == 0).all()
    assert unperturbed.readout_adversarial_fooled.isna().all()  # None becomes NaN in the table
    assert table.readout_adversarial_fooled_low.dtype == float
    # Three of three fooled inputs read as adversarial at "deep" is no clear majority (Wilson low 0.44),
    # nor clearly short of one: undecided.
    assert metrics.wilson_interval(3, 3)[0] < 0.5
    assert takeover_layers(table, min_fooled=3) == {("pgd", 0.0): None, ("pgd", 0.1): "undecided"}
    assert takeover_spans(table, min_fooled=3) == {("pgd", 0.0): None, ("pgd", 0.1): ("pixels", None)}
    with pytest.raises(ValueError, match=r"perturbed_codes must hold the codes of every \(attack, epsilon\)"):
        perturbation_table(BOOK, CLEAN, {("pgd", 0.1): PERTURBED}, sweep)


# --- the reference distance ---------------------------------------------------------------------


def test_unrelated_distance_pairs_each_input_with_another():
    two = FakeCodebook({"a": np.zeros(4, dtype=int), "b": np.zeros(4, dtype=int)})
    # With two inputs the other one is forced: nodes 0 and 3 are a diagonal apart.
    assert unrelated_grid_distance(two, {"a": [0, 3], "b": [1, 1]}) == {"a": pytest.approx(math.sqrt(2)),
                                                                       "b": 0.0}
    line = FakeCodebook({"a": np.zeros(50, dtype=int)},
                        coordinates=np.column_stack([np.zeros(50), np.arange(50)]))
    codes = {"a": np.arange(50)}  # every input on its own node: no pair is at distance 0
    first = unrelated_grid_distance(line, codes, seed=1)["a"]
    assert first >= 1 and 10 < first < 25  # random pairs on a line of 50 are ~17 apart
    assert unrelated_grid_distance(line, codes, seed=1)["a"] == first
    assert unrelated_grid_distance(line, codes, seed=2)["a"] != first
    with pytest.raises(ValueError, match="codes must hold at least 2 inputs per layer, got 1."):
        unrelated_grid_distance(two, {"a": [0], "b": [0]})


# --- on a real codebook and a real sweep ---------------------------------------------------------


def test_a_real_codebook_and_sweep():
    torch.manual_seed(0)
    model = build_model("mnist_cnn").eval()
    x, y = load_split("mnist", train=False)
    x, y = random_subset(x, y, 600, seed=0)
    book = fit_codebook(model, x[:300], y[:300], som_size=4, num_iteration=3, pool_size=2, progress=False)
    x_att, y_att = correctly_classified(model, x[300:], y[300:])
    assert len(y_att) >= 10
    sweep = attack_sweep(model, x_att, y_att, attacks=("pgd", "noise"), epsilons=(0.0, 0.3), pgd_steps=2)
    clean = book.encode(model, x_att)
    perturbed = {key: book.encode(model, images) for key, images in sweep.images.items()}
    table = perturbation_table(book, clean, perturbed, sweep, min_fooled=5)
    assert len(table) == 4 * len(book.layers)
    pgd = table[(table.attack == "pgd") & (table.epsilon == 0.3)].set_index("layer")
    for layer in book.layers:
        read = book.node_labels[layer][perturbed["pgd", 0.3][layer]]
        assert pgd.loc[layer, "readout_true"] == pytest.approx(np.mean(read == y_att.numpy()))
        predicted = sweep.predictions["pgd", 0.3].numpy()
        assert pgd.loc[layer, "readout_adversarial"] == pytest.approx(np.mean(read == predicted))
    unperturbed = table[table.epsilon == 0.0]
    assert (unperturbed.code_retention == 1).all() and (unperturbed.mean_grid_distance == 0).all()
    assert (unperturbed.homogeneity_perturbed == unperturbed.homogeneity_clean).all()
    assert set(unrelated_grid_distance(book, clean)) == set(book.layers)
