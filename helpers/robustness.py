"""Robust accuracy measured the field's way: the attacks of AutoAttack's standard suite (Croce & Hein
2020), taken from the Adversarial Robustness Toolbox (ART), run one after the other.

`autoattack_suite` runs APGD with cross-entropy, APGD with the difference-of-logits-ratio loss, its
targeted version (towards each of the most likely wrong classes) and the black-box Square attack. Each
attack runs only on the images that the clean model and every earlier attack left correctly classified,
and the suite records which attack broke each image first. An image the suite cannot break is counted
robust: an upper bound on the model's true robust accuracy, and the tightest this series measures.

Every adversarial input an ART attack returns is checked here: it must lie in the epsilon ball around
its image and in [0, 1], and the model's own prediction on it decides whether it broke the image.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from art.attacks.evasion import AutoProjectedGradientDescent, SquareAttack
from art.estimators.classification import PyTorchClassifier
from torch import nn

from helpers.attacks import robust_inputs
from helpers.io import FIGURES_DIR
from helpers.models import predict_logits
from helpers.runtime import one_thread

__all__ = ["RECORD", "SUITE", "Evaluation", "SuiteResult", "art_classifier", "autoattack_suite",
           "load_record", "robustness_record", "summary"]

SUITE = ("APGD-CE", "APGD-DLR", "APGD-DLR, targeted", "Square")
"""AutoAttack's standard suite in its order (APGD-T stands for the targeted DLR attack)."""

RECORD = FIGURES_DIR / "bench" / "robustness_{lesson}.json"
"""The committed record of ``python -m helpers.bench robustness --lesson NN``, which lessons read."""

TOLERANCE = 1e-5
"""How far (in pixel units) an adversarial input may leave the epsilon ball or [0, 1]: float32 rounding."""


@dataclass
class SuiteResult:
    """Which attack of the suite broke each image first ("clean" for a clean mistake, "" if none did)."""

    epsilon: float
    broken_by: np.ndarray
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def robust(self) -> np.ndarray:
        """Per image: True where no attack of the suite broke it (and the clean input is right)."""
        return self.broken_by == ""

    def accuracy_after(self) -> dict[str, float]:
        """Robust accuracy after the clean check and after each attack in turn (the last is the suite's)."""
        stages = ("clean", *SUITE)
        return {stage: float(np.mean(~np.isin(self.broken_by, stages[:k + 1])))
                for k, stage in enumerate(stages)}

    def broken_counts(self) -> dict[str, int]:
        """Images each stage broke that every earlier stage had left correct."""
        return {stage: int(np.sum(self.broken_by == stage)) for stage in ("clean", *SUITE)}


def art_classifier(
    model: nn.Module, n_classes: int = 10, input_shape: tuple[int, ...] = (1, 28, 28)
) -> PyTorchClassifier:
    """`model` (returning logits) as an ART classifier on inputs in [0, 1], on the CPU."""
    return PyTorchClassifier(model=model.eval(), loss=nn.CrossEntropyLoss(), input_shape=input_shape,
                             nb_classes=n_classes, clip_values=(0.0, 1.0), device_type="cpu")


def autoattack_suite(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    epsilon: float,
    apgd_iterations: int = 100,
    n_targets: int = 3,
    square_queries: int = 1000,
    seed: int = 0,
    batch_size: int = 250,
) -> SuiteResult:
    """Run AutoAttack's suite at L-infinity budget `epsilon` on images `x` (N, C, H, W in [0, 1]), labels `y`.

    APGD-CE and APGD-DLR run `apgd_iterations` iterations from one random start; the targeted DLR attack
    runs once towards each of the `n_targets` classes the model ranks highest after the true one
    (AutoAttack's standard version uses 9); Square makes `square_queries` queries. Each stage attacks only
    the images still correct, in that order. Seeded: the same call gives the same result. Runs on one torch
    thread: this small CNN's max-pooling ran about 8 times slower on two threads of a busy 2-core CPU.
    """
    if not 0 <= epsilon <= 1:
        raise ValueError(f"epsilon must be in [0, 1], got {epsilon!r}.")
    if not (apgd_iterations >= 1 and square_queries >= 1 and 0 <= n_targets <= 9):
        raise ValueError("apgd_iterations and square_queries must be >= 1 and n_targets in 0..9, got "
                         f"{apgd_iterations!r}, {square_queries!r} and {n_targets!r}.")
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"x and y must hold the same number (> 0) of images, got {len(x)} and {len(y)}.")
    images, labels = x.detach().cpu().numpy().astype(np.float32), y.detach().cpu().numpy().astype(int)
    if images.min() < 0 or images.max() > 1:
        raise ValueError("images must lie in [0, 1].")
    model = model.cpu().eval()
    logits = predict_logits(model, x).numpy()
    classifier = art_classifier(model, n_classes=logits.shape[1], input_shape=tuple(images.shape[1:]))
    broken_by = np.where(logits.argmax(1) == labels, "", "clean").astype(object)
    result = SuiteResult(epsilon=float(epsilon), broken_by=broken_by)
    if epsilon == 0:
        return result
    ranked = np.argsort(-logits, axis=1)
    targets = [np.array([_nth_other(row, label, k) for row, label in zip(ranked, labels)])
               for k in range(n_targets)]

    def apgd(loss: str, targeted: bool) -> AutoProjectedGradientDescent:
        return _apgd(classifier, epsilon, apgd_iterations, loss, targeted, batch_size)

    stages = [("APGD-CE", apgd("cross_entropy", False), None),
              ("APGD-DLR", apgd("difference_logits_ratio", False), None)]
    stages += [("APGD-DLR, targeted", apgd("difference_logits_ratio", True), target) for target in targets]
    stages += [("Square", SquareAttack(classifier, norm=np.inf, eps=epsilon, max_iter=square_queries,
                                       batch_size=batch_size, verbose=False), None)]
    for name, attack, target in stages:
        rows = np.flatnonzero(result.broken_by == "")
        if len(rows) == 0:
            break
        with one_thread(), _seeded(seed), _quiet(), _timed(result.seconds, name):
            wanted = labels[rows] if target is None else target[rows]
            adversarial = attack.generate(images[rows], y=_one_hot(wanted, classifier.nb_classes))
        _check_budget(adversarial, images[rows], epsilon)
        predicted = predict_logits(model, torch.from_numpy(adversarial)).argmax(1).numpy()
        result.broken_by[rows[predicted != labels[rows]]] = name
    result.broken_by = result.broken_by.astype(str)
    return result


def _nth_other(ranked: np.ndarray, label: int, k: int) -> int:
    """The `k`-th (from 0) class of `ranked` other than `label`."""
    return int([c for c in ranked if c != label][k])


def _apgd(classifier: PyTorchClassifier, epsilon: float, iterations: int, loss: str, targeted: bool,
          batch_size: int) -> AutoProjectedGradientDescent:
    """ART's APGD at budget `epsilon`, one random start, AutoAttack's initial step of 2 * epsilon."""
    return AutoProjectedGradientDescent(classifier, norm=np.inf, eps=epsilon, eps_step=2 * epsilon,
                                        max_iter=iterations, targeted=targeted, nb_random_init=1,
                                        batch_size=batch_size, loss_type=loss, verbose=False)


def _one_hot(classes: np.ndarray, n_classes: int) -> np.ndarray:
    return np.eye(n_classes, dtype=np.float32)[classes]


def _check_budget(adversarial: np.ndarray, images: np.ndarray, epsilon: float) -> None:
    """Raise if an attack returned an input outside the epsilon ball or outside [0, 1]."""
    if adversarial.shape != images.shape:
        raise RuntimeError(f"the attack returned shape {adversarial.shape}, expected {images.shape}.")
    step = float(np.abs(adversarial - images).max())
    if step > epsilon + TOLERANCE or adversarial.min() < -TOLERANCE or adversarial.max() > 1 + TOLERANCE:
        raise RuntimeError(f"the attack left the budget: largest change {step:.6f} > epsilon {epsilon:g}, "
                           f"or values outside [0, 1].")


@contextlib.contextmanager
def _seeded(seed: int) -> Iterator[None]:
    """ART draws its random starts and squares from numpy's global generator: seed it, then restore it."""
    state = np.random.get_state()
    np.random.seed(seed)
    torch_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)
        torch.random.set_rng_state(torch_state)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence ART's per-call info logging."""
    logger = logging.getLogger("art")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


@contextlib.contextmanager
def _timed(seconds: dict[str, float], name: str) -> Iterator[None]:
    """Add the seconds the block takes to `seconds[name]`."""
    start = time.perf_counter()
    try:
        yield
    finally:
        seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - start


def load_record(lesson: str) -> dict[str, Any]:
    """The committed robustness record of lesson `lesson` ("06"), written by the robustness benchmark."""
    path = Path(str(RECORD).format(lesson=lesson))
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run python -m helpers.bench robustness "
                                f"--lesson {lesson}.")
    return json.loads(path.read_text())


def summary(result: SuiteResult) -> dict[str, Any]:
    """A JSON-ready summary: robust accuracy after each stage, images broken by each, seconds per attack."""
    return {"epsilon": result.epsilon, "n_images": len(result.broken_by),
            "accuracy_after": result.accuracy_after(), "broken_by": result.broken_counts(),
            "seconds": {k: round(v, 1) for k, v in result.seconds.items()}}


@dataclass(frozen=True)
class Evaluation:
    """Settings of `robustness_record`: AutoAttack's suite; PGD over its iterations, restarts and budget."""

    apgd_iterations: int = 100
    n_targets: int = 3
    square_queries: int = 1000
    pgd_steps: tuple[int, ...] = (10, 20, 40, 100, 200)
    pgd_restarts: tuple[int, ...] = (1, 5, 10)
    restart_steps: int = 40
    sweep_epsilons: tuple[float, ...] = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5)
    sweep_steps: int = 40
    seed: int = 0


def robustness_record(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, suite_epsilons: tuple[float, ...], pgd_epsilon: float,
    settings: Evaluation = Evaluation(),
) -> dict[str, Any]:
    """One model's robustness record on images `x`, `y`: AutoAttack's suite at each of `suite_epsilons`
    (`summary`, plus which images it left robust), and PGD's robust accuracy (`attacks.robust_inputs`)
    against its iterations and restarts at `pgd_epsilon` and against the budget up to 0.5, where the
    image of all grays 0.5 is within reach of every input and robust accuracy must fall to about 0."""
    def pgd(epsilon: float, steps: int, restarts: int = 1) -> float:
        with one_thread():
            return float(robust_inputs(model, x, y, epsilon, steps=steps, restarts=restarts,
                                       seed=settings.seed).mean())

    suites = {}
    for epsilon in suite_epsilons:
        result = autoattack_suite(model, x, y, epsilon, settings.apgd_iterations, settings.n_targets,
                                  settings.square_queries, settings.seed)
        suites[f"{epsilon:g}"] = {**summary(result), "robust": result.robust.astype(int).tolist()}
    return {
        "autoattack": suites,
        "pgd_steps": {str(steps): pgd(pgd_epsilon, steps) for steps in settings.pgd_steps},
        "pgd_restarts": {str(r): pgd(pgd_epsilon, settings.restart_steps, r) for r in settings.pgd_restarts},
        "pgd_epsilon": pgd_epsilon,
        "epsilon_sweep": {f"{eps:g}": pgd(eps, settings.sweep_steps) for eps in settings.sweep_epsilons},
    }
