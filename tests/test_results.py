"""The committed full-profile results (`figures/`) meet the series' targets and hold every measure."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from helpers.io import FIGURES_DIR, REPO_ROOT
from helpers.run import discover

LAYERS = ["pixels", "conv1", "conv2", "conv3", "fc", "logits"]
CODE_MEASURES = {"homogeneity_index", "homogeneity_index_chance", "nmi", "effective_codes",
                 "fraction_nodes_used", "mean_nodes_per_class", "multi_class_node_fraction",
                 "readout_accuracy", "readout_agreement", "quantization_error", "topographic_error"}


def results(notebook: str) -> dict:
    return json.loads((FIGURES_DIR / notebook / "results.json").read_text())


def homogeneity_entries(node: object, path: str = "") -> Iterator[tuple[str, dict, str]]:
    """(path, mapping, key) for every number stored under a key that names a homogeneity index."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "claims":
                continue
            if "homogeneity" in key and not key.endswith("_chance") and isinstance(value, (int, float)):
                yield path, node, key
            yield from homogeneity_entries(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from homogeneity_entries(value, f"{path}/{i}")


@pytest.mark.parametrize("path", discover(), ids=lambda p: p.stem)
def test_every_lesson_has_full_profile_results_and_a_timing(path) -> None:
    assert results(path.stem)["profile"] == "full"
    report = json.loads((FIGURES_DIR / "run_report.json").read_text())
    assert path.stem in {entry["notebook"] for entry in report["notebooks"]}


def test_figures_hold_only_current_lessons() -> None:
    lessons = {p.stem for p in discover()}
    folders = {p.name for p in FIGURES_DIR.iterdir() if p.is_dir()}
    assert folders == lessons | {"bench"}  # bench/: the records of `python -m helpers.bench`
    report = json.loads((FIGURES_DIR / "run_report.json").read_text())
    assert {entry["notebook"] for entry in report["notebooks"]} == lessons


@pytest.mark.parametrize("path", discover(), ids=lambda p: p.stem)
def test_every_homogeneity_index_is_stored_with_its_chance_level(path) -> None:
    missing = [f"{where}/{key}" for where, mapping, key in homogeneity_entries(results(path.stem))
               if not isinstance(mapping.get(f"{key}_chance"), (int, float))]
    assert missing == []


def test_every_seed_reaches_the_accuracy_target() -> None:
    trained = results("01_training")["trained"]
    assert len(trained) >= 3
    assert all(seed["test_accuracy"] >= 0.985 for seed in trained.values())


def test_homogeneity_results_hold_every_measure_per_layer_with_seed_spread() -> None:
    data = results("03_homogeneity")
    for condition in ("trained", "untrained"):
        for statistic in ("mean", "std"):
            for layer in LAYERS:
                assert CODE_MEASURES <= set(data[condition][statistic][layer])
        assert len(data[condition]["per_seed"]) >= 3


def test_pgd_at_the_largest_epsilon_fools_most_correct_inputs() -> None:
    attacks = results("04_adversarial_examples")["attacks"]
    largest = max(attacks["pgd"], key=float)
    assert attacks["pgd"][largest]["success_rate"] >= 0.9


def test_adversarial_codes_hold_every_perturbation_measure_per_layer() -> None:
    attacks = results("05_adversarial_codes")["attacks"]
    for name in ("fgsm", "pgd", "noise"):
        for epsilon in attacks[name].values():
            for layer in LAYERS:
                assert {"code_retention", "mean_grid_distance", "readout_true", "readout_adversarial",
                        "homogeneity_clean", "homogeneity_perturbed"} <= set(epsilon["layers"][layer])


def _strings(node: object) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


@pytest.mark.parametrize("path", discover(), ids=lambda p: p.stem)
def test_results_name_no_path_of_the_machine_that_made_them(path) -> None:
    text = (FIGURES_DIR / path.stem / "results.json").read_text()
    data = json.loads(text)
    data.pop("support", None)  # its keys are JSON pointers into the results, which start with "/" too
    assert str(REPO_ROOT) not in text
    assert [s for s in _strings(data) if s.startswith(("/", "~"))] == []


def test_the_model_family_spans_generalization_and_robustness_with_every_measure() -> None:
    data = results("06_generalization_vs_vulnerability")
    models = data["models"]
    epsilon = f"{data['parameters']['epsilon']:g}"
    assert len(models) >= 10
    test = [m["accuracy"]["test"] for m in models.values()]
    robust = [m["robust_accuracy"][epsilon] for m in models.values()]
    assert max(test) - min(test) >= 0.10
    assert max(robust) - min(robust) >= 0.50
    for model in models.values():
        assert {"train_trained_labels", "train_true_labels", "test", "gap"} <= set(model["accuracy"])
        assert model["train_seconds"] > 0 and model["config"]["seed"] == 0
        for layer in LAYERS:
            assert {"homogeneity_index", "homogeneity_index_chance"} <= set(model["layers"][layer])
    for outcomes in data["relations"].values():
        for relation in outcomes.values():
            assert relation["low"] <= relation["rho"] <= relation["high"] and relation["n"] == len(models)


def test_relu_bitvectors_results_hold_fiedler_and_detection_per_layer() -> None:
    data = results("07_relu_bitvectors")
    relu_layers = ["conv1", "conv2", "conv3", "fc"]
    assert data["layers"] == relu_layers
    for variant in ("trained", "untrained", "trained_after_pooling", "trained_unnormalized_Laplacian"):
        for layer in relu_layers:
            record = data["fiedler"][variant][layer]
            assert len(record["pairs"]) == 45
            assert 0.5 <= record["min"] <= record["mean"] <= 1 and record["sd"] >= 0
    for lens in ("bits", "SOM_codes"):
        for task in ("clean_vs_PGD", "clean_vs_noise", "PGD_vs_noise"):
            assert set(data["detection"]["held_out"][lens][task]) == set(relu_layers)
    assert "clean_vs_FGSM" in data["detection"]["transfer_bits"]["clean_vs_PGD"]
