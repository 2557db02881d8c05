"""Model families: networks of one architecture trained to differ in how well they generalize and
how robust they are (lesson 06).

A family is a tuple of `Member`s, each a short name, the lever it pulls and a `TrainConfig`, so
every model is cached and keyed like any other. `assess` measures one member on a `Probe`, the data
and settings shared by every member so that their numbers compare: accuracies and the
generalization gap, robust accuracy over a PGD budget sweep, the homogeneity profile of its SOM
codes with chance levels, and where PGD's adversarial class takes over its codes.

`FAMILIES["full"]` is sized for a 2-core laptop CPU; `FAMILIES["smoke"]` pulls the same levers on
tiny budgets so that CI runs the lesson in seconds. To grow a family on a bigger machine, add
members: more seeds of each configuration (the spread between seeds is the noise floor of every
relation), more training-set sizes and noise levels, longer training, or adversarial training at
more budgets.
"""

from __future__ import annotations

import multiprocessing
import time
import warnings
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from scipy.stats import spearmanr

from helpers import attacks, metrics, perturbation
from helpers.checks import check_choice
from helpers.codes import fit_codebook
from helpers.data import load_split
from helpers.models import predict_logits
from helpers.plots import MODEL_COLORS
from helpers.statistics import SUPPORT_RESAMPLES, bootstrap_support
from helpers.training import (
    CHECKPOINT_DIR,
    TrainConfig,
    correct_on_test_set,
    load_or_train,
    training_accuracy,
)

__all__ = ["FAMILIES", "LEVERS", "WONG_MNIST", "Member", "Probe", "assess", "member_colors", "model_family",
           "relation_at_every_budget", "train_missing"]

LEVERS = {
    "reference": "lesson 01's model: the full training set, 2 epochs",
    "training-set size": "fewer training images, trained for about as many steps",
    "training length": "the same images, trained for fewer or more epochs",
    "label noise": "a share of the training labels replaced by random wrong classes",
    "adversarial training": "trained on perturbed inputs (FGSM with random start, or plain FGSM)",
}
"""What each lever of a family changes, in words for the lesson's table."""


@dataclass(frozen=True)
class Member:
    """One model of a family: a short name for plots and tables, its lever, its configuration."""

    name: str
    lever: str
    config: TrainConfig

    def __post_init__(self) -> None:
        check_choice(self.lever, "lever", LEVERS)


WONG_MNIST = dict(batch_size=100, lr=5e-3, lr_schedule="cyclic", adversarial="fgsm_rs", adv_epsilon=0.3,
                  adv_step_size=0.375, adv_start="unclamped")
"""Wong, Rice & Kolter's (2020) FGSM-RS recipe for MNIST at epsilon 0.3: step 1.25 * epsilon, a random
start left unclipped, batches of 100, Adam with a cyclic learning rate peaking at 5e-3."""


def _members(*rows: tuple[str, str, dict]) -> tuple[Member, ...]:
    return tuple(Member(name, lever, TrainConfig(**options)) for name, lever, options in rows)


FAMILIES: dict[str, tuple[Member, ...]] = {
    "full": _members(
        ("standard", "reference", dict(epochs=2)),
        ("500 images", "training-set size", dict(n_train=500, epochs=30)),
        ("1,000 images", "training-set size", dict(n_train=1000, epochs=15)),
        ("5,000 images", "training-set size", dict(n_train=5000, epochs=4)),
        ("5,000 images, 1 epoch", "training length", dict(n_train=5000, epochs=1)),
        ("40% noise, 4 epochs", "label noise", dict(n_train=5000, label_noise=0.4, epochs=4)),
        ("40% noise, memorized", "label noise",
         dict(n_train=500, label_noise=0.4, epochs=80, batch_size=64)),
        ("FGSM-RS, ε = 0.1", "adversarial training",
         dict(n_train=10000, epochs=3, adversarial="fgsm_rs", adv_epsilon=0.1)),
        ("FGSM-RS, ε = 0.3", "adversarial training", dict(epochs=4, **WONG_MNIST)),
        ("plain FGSM, ε = 0.3", "adversarial training",
         dict(n_train=10000, epochs=2, adversarial="fgsm", adv_epsilon=0.3)),
    ),
    "smoke": _members(
        ("standard", "reference", dict(n_train=1000, epochs=1)),
        ("300 images", "training-set size", dict(n_train=300, epochs=1)),
        ("40% noise", "label noise", dict(n_train=500, label_noise=0.4, epochs=1)),
        ("FGSM-RS, ε = 0.3", "adversarial training", dict(n_train=500, epochs=1, **WONG_MNIST)),
        ("plain FGSM, ε = 0.3", "adversarial training",
         dict(n_train=500, epochs=1, adversarial="fgsm", adv_epsilon=0.3)),
    ),
}
"""The families by name; every member trains with seed 0, so "standard" is lesson 01's model."""


def model_family(name: str) -> tuple[Member, ...]:
    """The members of family `name` ("full" or "smoke")."""
    return FAMILIES[check_choice(name, "family", FAMILIES)]


def member_colors(members: Sequence[Member]) -> dict[str, str]:
    """Each member's colour in the series' palette (`plots.MODEL_COLORS`, which names every model of the
    full family); a member it does not name (the smoke family's "300 images") takes the colour of the full
    family's first member with the same lever.

    >>> colors = member_colors(model_family("smoke"))
    >>> colors["standard"] == MODEL_COLORS["standard"], colors["300 images"] == MODEL_COLORS["500 images"]
    (True, True)
    """
    first_of_lever = {m.lever: m.name for m in reversed(FAMILIES["full"])}
    return {m.name: MODEL_COLORS.get(m.name, MODEL_COLORS[first_of_lever[m.lever]]) for m in members}


def relation_at_every_budget(homogeneity: pd.Series, robust: pd.DataFrame, clean: pd.Series) -> pd.DataFrame:
    """Spearman's rho across the models of a layer's homogeneity with their robustness at every budget.

    `homogeneity` holds one index per model, `robust` one row per model and one column per budget (the
    robust accuracy: an image the model gets wrong unattacked counts as broken), `clean` each model's
    accuracy on the same attacked images. One row per budget, two columns: rho with the robust accuracy
    ("robust accuracy") and with the robust share among the images the model gets right ("robust among the
    correct", `robust / clean`, since PGD breaks every image the model already gets wrong). NaN where rho is
    undefined (a constant column). Lesson 06's key exercise, and its reference.

    >>> models = pd.Index(["a", "b", "c", "d"])
    >>> relation_at_every_budget(pd.Series([0.1, 0.2, 0.3, 0.4], models),
    ...                          pd.DataFrame({0.1: [0.8, 0.6, 0.5, 0.1]}, models),
    ...                          pd.Series([1.0, 0.7, 0.9, 0.2], models))
         robust accuracy  robust among the correct
    0.1             -1.0                      -0.8
    """
    robust, clean = robust.loc[homogeneity.index], clean.loc[homogeneity.index]
    among = robust.div(clean, axis=0)

    def rho(outcome: pd.Series) -> float:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # spearmanr warns on a constant column, and returns NaN
            return float(spearmanr(homogeneity, outcome).statistic)

    return pd.DataFrame({"robust accuracy": [rho(robust[eps]) for eps in robust.columns],
                         "robust among the correct": [rho(among[eps]) for eps in robust.columns]},
                        index=robust.columns)


def _train_in_worker(config: TrainConfig, cache_dir: Path) -> float:
    """Worker of `train_missing`: train and cache `config` (on one thread, as `train` does); its seconds."""
    _, record = load_or_train(config, cache_dir=cache_dir, progress=False)
    return record["train_seconds"]


def _cost(config: TrainConfig) -> float:
    """Relative training cost: images seen, twice for adversarial training (attack, then update)."""
    return (config.n_train or 60000) * config.epochs * (1 if config.adversarial is None else 2)


def train_missing(
    members: Sequence[Member], workers: int = 2, cache_dir: Path = CHECKPOINT_DIR
) -> Iterator[tuple[Member, float | None]]:
    """Each member with its training seconds (None when it was cached), as soon as its model is ready.

    Cached members come first. The reference member is lesson 01's model and is trained in this
    process, as lesson 01 trains it. The other missing members train in the background, side by side
    in `workers` processes of one torch thread each, the costliest first, and come in the order they
    finish, so the caller can measure one model while others train. This CNN's layers are too small
    to keep two threads busy: on a 2-core CPU two trainings side by side finish about 1.3 times
    sooner than one after the other. They always train this way, so their weights do not depend on
    what ran before.
    """
    if not (isinstance(workers, int) and workers >= 1):
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}.")
    missing = [m for m in members if not m.config.checkpoint_path(cache_dir).exists()]
    others = sorted((m for m in missing if m.lever != "reference"), key=lambda m: -_cost(m.config))
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(_train_in_worker, m.config, cache_dir): m for m in others}
        if others:
            print(f"Training {len(others)} models in the background, {workers} at a time: "
                  f"{', '.join(m.name for m in others)}")
        yield from ((m, None) for m in members if m not in missing)
        for member in (m for m in missing if m.lever == "reference"):
            yield member, load_or_train(member.config, cache_dir=cache_dir)[1]["train_seconds"]
        for future in as_completed(futures):
            yield futures[future], future.result()


@dataclass(frozen=True)
class Probe:
    """What every member is measured with: SOM-fit images (training set), test images whose codes
    are measured, test images that are attacked, and the settings of SOMs and attacks."""

    x_fit: torch.Tensor
    y_fit: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    x_attack: torch.Tensor
    y_attack: torch.Tensor
    epsilons: Sequence[float]
    pgd_steps: int = 20
    som_size: int = 10
    som_iterations: int = 20
    pool_size: int | None = 4
    min_fooled: int = 50
    seed: int = 0


def assess(
    member: Member, probe: Probe, device: torch.device | None = None, cache_dir: Path = CHECKPOINT_DIR,
    n_resamples: int = SUPPORT_RESAMPLES,
) -> dict[str, Any]:
    """Train (or load) one member and measure it on `probe`; a JSON-ready record.

    - ``accuracy``: on its training images with the labels it was trained on and with the true
      labels (`training_accuracy`), on the whole test set, and the generalization gap (training
      accuracy on its own labels minus test accuracy);
    - ``robust_accuracy``: share of the attacked images that PGD (`pgd_steps` steps, one start)
      cannot break at each budget of `probe.epsilons` (`attacks.robust_inputs`), and
      ``fgsm_accuracy`` at the same budgets: far above the PGD value is the mark of a masked gradient;
      ``attacked_accuracy``, the clean accuracy on the attacked images, and ``robust_among_correct``,
      the robust share of the attacked images the model classifies right (clean mistakes left out);
    - ``layers``: per layer, the homogeneity index of the test codes with its chance level, the
      readout accuracy, and the share of PGD-fooled inputs (at the largest budget, among the
      attacked images the model gets right) read as their adversarial class, with its 95% interval;
      ``takeover_layer`` as in lesson 05 (None with fewer than `min_fooled` fooled);
    - ``support``: bootstrap replicates (`n_resamples`) of the test accuracy (over the test set), the
      robust and FGSM accuracies and the robust share among the correct (over the attacked images), the
      index and readout accuracy (over the
      code images) and the readout of the fooled inputs, keyed by JSON pointer within the record. Every
      member resamples the same images with the same rows (seed `probe.seed`), so two members' numbers
      compare paired; the fooled inputs differ between members, and their readouts compare unpaired.
    """
    cached = member.config.checkpoint_path(cache_dir).exists()
    model, record = load_or_train(member.config, cache_dir=cache_dir, device=device, progress=False)
    start = time.perf_counter()
    codebook = fit_codebook(model, probe.x_fit, probe.y_fit, som_size=probe.som_size,
                            num_iteration=probe.som_iterations, pool_size=probe.pool_size,
                            seed=probe.seed, progress=False)
    y_test = probe.y_test.numpy()
    test_codes = codebook.encode(model, probe.x_test)
    clean = codebook.measures(test_codes, y_test)
    trained = training_accuracy(model, member.config, n_max=5000)
    x_attack, y_attack = probe.x_attack, probe.y_attack
    robust = {f"{eps:g}": attacks.robust_inputs(model, x_attack, y_attack, eps, steps=probe.pgd_steps,
                                               seed=probe.seed).astype(float) for eps in probe.epsilons}
    fgsm = {f"{eps:g}": _correct(model, attacks.fgsm(model, x_attack, y_attack, eps), y_attack)
            for eps in probe.epsilons}
    correct = _correct(model, x_attack, y_attack)
    x_right, y_right = attacks.correctly_classified(model, probe.x_attack, probe.y_attack)
    key = ("pgd", max(probe.epsilons))
    sweep = attacks.attack_sweep(model, x_right, y_right, attacks=key[:1], epsilons=key[1:],
                                 pgd_steps=probe.pgd_steps, seed=probe.seed)
    codes_right = codebook.encode(model, x_right)
    codes_fooling = codebook.encode(model, sweep.images[key])
    moved = perturbation.perturbation_measures(codebook, codes_right, codes_fooling, y_right,
                                               sweep.predictions[key], probe.min_fooled)
    layers = {layer: {"homogeneity_index": clean[layer]["homogeneity_index"],
                      "homogeneity_index_chance": clean[layer]["homogeneity_index_chance"],
                      "readout_accuracy": clean[layer]["readout_accuracy"],
                      **{name: moved[layer][name] for name in ("readout_adversarial_fooled",
                                                               "readout_adversarial_fooled_low",
                                                               "readout_adversarial_fooled_high")}}
              for layer in codebook.layers}
    test_accuracy = record["test_accuracy"]
    test_right = correct_on_test_set(record)
    if test_right is None:                                  # a checkpoint from before records kept it
        test_right = _correct(model, *load_split(member.config.dataset, train=False))
    support = _support(codebook, test_right.astype(float), trained["trained_labels"], robust, fgsm, correct,
                       test_codes, y_test,
                       (codes_right, codes_fooling, y_right.numpy(), sweep.predictions[key].numpy()), probe,
                       n_resamples)
    return {
        "name": member.name,
        "lever": member.lever,
        "config": member.config.as_dict(),
        "checkpoint": member.config.checkpoint_path().name,
        "cached": cached,
        "train_seconds": record["train_seconds"],
        "assess_seconds": time.perf_counter() - start,
        "accuracy": {"train_trained_labels": trained["trained_labels"],
                     "train_true_labels": trained["true_labels"],
                     "test": test_accuracy, "gap": trained["trained_labels"] - test_accuracy},
        "robust_accuracy": {eps: float(value.mean()) for eps, value in robust.items()},
        "fgsm_accuracy": {eps: float(value.mean()) for eps, value in fgsm.items()},
        "attacked_accuracy": float(correct.mean()),
        "robust_among_correct": {eps: float(value.sum() / correct.sum()) for eps, value in robust.items()},
        "takeover_epsilon": key[1],
        "n_fooled": int(sweep.fooled(*key).sum()),
        "takeover_layer": perturbation.takeover_layer(moved, codebook.layers, probe.min_fooled),
        "layers": layers,
        **({"record_robust_accuracy": record["robust_accuracy"]} if "robust_accuracy" in record else {}),
        "support": support,
    }


def _correct(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> np.ndarray:
    """1.0 where the model classifies an input right, else 0.0."""
    return (predict_logits(model, x).argmax(1) == y).numpy().astype(float)


def _support(
    codebook: Any, test_correct: np.ndarray, train_accuracy: float, robust: dict[str, np.ndarray],
    fgsm: dict[str, np.ndarray], correct: np.ndarray, test_codes: dict[str, np.ndarray], y_test: np.ndarray,
    fooling: tuple,
    probe: Probe, n_resamples: int,
) -> dict[str, list]:
    """`assess`'s bootstrap replicates, over the test set (test accuracy, and the gap to the accuracy on the
    model's own training images, which are not a sample), the attacked images, the code images and the
    fooled inputs (``fooling``: clean and perturbed codes, true and predicted classes of the inputs the
    model got right)."""
    def over_attacked(rows: np.ndarray) -> dict:
        return {"robust_accuracy": {eps: v[rows].mean() for eps, v in robust.items()},
                "fgsm_accuracy": {eps: v[rows].mean() for eps, v in fgsm.items()},
                "attacked_accuracy": correct[rows].mean(),
                "robust_among_correct": {eps: v[rows].sum() / max(correct[rows].sum(), 1)
                                         for eps, v in robust.items()}}

    def over_codes(rows: np.ndarray) -> dict:
        return {"layers": {layer: {"homogeneity_index": metrics.homogeneity_index(codes[rows], y_test[rows]),
                                   "readout_accuracy": float(np.mean(codebook.readout(layer, codes[rows])
                                                                     == y_test[rows]))}
                           for layer, codes in test_codes.items()}}

    clean, perturbed, labels, predictions = fooling

    def over_fooled(rows: np.ndarray) -> dict:
        moved = perturbation.perturbation_measures(
            codebook, {layer: c[rows] for layer, c in clean.items()},
            {layer: c[rows] for layer, c in perturbed.items()}, labels[rows], predictions[rows],
            probe.min_fooled, chance=False)
        return {"layers": {layer: {"readout_adversarial_fooled": m["readout_adversarial_fooled"]}
                           for layer, m in moved.items()}}

    def over_test(rows: np.ndarray) -> dict:
        test = test_correct[rows].mean()
        return {"accuracy": {"test": test, "gap": train_accuracy - test}}

    support = bootstrap_support(over_test, len(test_correct), n_resamples=n_resamples, seed=probe.seed)
    support |= bootstrap_support(over_attacked, len(probe.y_attack), n_resamples=n_resamples, seed=probe.seed)
    support |= bootstrap_support(over_codes, len(y_test), n_resamples=n_resamples, seed=probe.seed)
    if len(labels) >= 2:
        support |= bootstrap_support(over_fooled, len(labels), n_resamples=n_resamples, seed=probe.seed)
    return support

