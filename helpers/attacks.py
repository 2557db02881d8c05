"""L-infinity attacks in pixel space: FGSM, PGD and the random-sign control, in the box [0, 1].

Models take pixels in [0, 1] (normalization is inside the model), so every attack perturbs the
images themselves. Attacks run batched on the model's device with the model in eval mode, take
gradients with respect to the input only (parameter `.grad` is never touched), restore each
module's train/eval mode afterwards, and return detached CPU tensors. `epsilon == 0` returns an
exact copy of the input. Inputs are checked first: pixels in [0, 1] with no NaN, in the shape the
model declares (`input_shape`, if it has one), and labels that are class indices below the number
of classes it declares (`n_classes`) or else the width of its logits on the first input.

`ATTACKS` names them for `attack(name, ...)`. `attack_sweep` runs every attack at every budget on
an attacked set (`correctly_classified`) and keeps the perturbed images, the network's predictions
and the success rates in an `AttackSweep`, which also gives each input's fooling budget.
`robust_inputs` measures robustness: which inputs no iterate of any PGD restart breaks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from helpers.models import check_input_shape, predict_logits
from helpers.progress import track

__all__ = [
    "ATTACKS",
    "AttackSweep",
    "attack",
    "attack_success",
    "attack_sweep",
    "correctly_classified",
    "fgsm",
    "pgd",
    "robust_inputs",
    "sign_noise",
    "sign_noise_attack",
]


def fgsm(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    epsilon: float,
    targeted: bool = False,
    seed: int = 0,
    batch_size: int = 500,
    progress: bool = False,
) -> torch.Tensor:
    """Fast gradient sign method: one step of size `epsilon` along the sign of the loss gradient.

    Untargeted: ascend the cross-entropy of the true labels `y`. Targeted: `y` are the target
    classes and the step descends their cross-entropy. `seed` is unused (FGSM is deterministic);
    it is accepted so that every attack in `ATTACKS` takes the same keywords.
    """
    _check_inputs(model, x, y, epsilon, batch_size)
    if epsilon == 0:
        return _copy(x)

    def run(xb: torch.Tensor, yb: torch.Tensor, _: slice) -> torch.Tensor:
        step = epsilon * _ascent_direction(model, xb, yb, targeted).sign()
        return (xb + step).clamp(0.0, 1.0)

    return _batched(model, x, y, run, batch_size, progress, f"FGSM eps={epsilon:g}")


def pgd(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    epsilon: float,
    step_size: float | None = None,
    steps: int = 10,
    random_start: bool = True,
    targeted: bool = False,
    seed: int = 0,
    batch_size: int = 500,
    progress: bool = False,
    clamp_start: bool = True,
) -> torch.Tensor:
    """Projected gradient descent (Madry et al.): `steps` signed-gradient steps, each followed by a
    projection onto the `epsilon`-ball around `x` and onto [0, 1].

    `step_size` defaults to 2.5 * epsilon / steps. The random start is uniform in
    [-epsilon, epsilon], drawn for the whole input at once from a generator seeded with `seed`,
    so the result does not depend on the device or the batch size. It is clipped to [0, 1] unless
    `clamp_start` is False (Wong et al.'s FGSM-RS training on MNIST): the first gradient is then
    taken where the start falls, and only the projection after the first step clips.
    """
    _check_inputs(model, x, y, epsilon, batch_size)
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps!r}.")
    if step_size is not None and not step_size > 0:
        raise ValueError(f"step_size must be > 0, got {step_size!r}.")
    if epsilon == 0:
        return _copy(x)
    step_size = 2.5 * epsilon / steps if step_size is None else step_size
    start = _uniform_start(x, epsilon, seed) if random_start else None

    def run(xb: torch.Tensor, yb: torch.Tensor, rows: slice) -> torch.Tensor:
        x_adv = xb if start is None else xb + start[rows].to(xb.device)
        x_adv = x_adv.clamp(0.0, 1.0) if clamp_start else x_adv
        for _ in track(range(steps), desc="PGD steps", enabled=progress, leave=False):
            x_adv = x_adv + step_size * _ascent_direction(model, x_adv, yb, targeted).sign()
            x_adv = _project(x_adv, xb, epsilon)
        return x_adv

    return _batched(model, x, y, run, batch_size, progress, f"PGD eps={epsilon:g}")


def robust_inputs(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    epsilon: float,
    steps: int = 40,
    step_size: float | None = None,
    restarts: int = 1,
    seed: int = 0,
    batch_size: int = 500,
) -> np.ndarray:
    """Per input: whether the model still classifies it correctly under PGD with `restarts` restarts.

    Restart `r` is `pgd(model, x, y, epsilon, step_size, steps, seed=seed + r)`, and an input is
    broken as soon as the model misclassifies any iterate of any restart (or the clean input), so
    the share of robust inputs is at most the accuracy on `pgd`'s final iterates. Broken inputs are
    not attacked further, which makes the measure fast on models that are not robust. Restarts keep
    a masked gradient, which stalls one attack from one start, from passing for robustness.
    """
    _check_inputs(model, x, y, epsilon, batch_size)
    if steps < 1 or restarts < 1:
        raise ValueError(f"steps and restarts must be >= 1, got {steps!r} and {restarts!r}.")
    step_size = 2.5 * epsilon / steps if step_size is None else step_size
    device = _device(model)
    labels = y.detach().cpu().to(torch.int64)
    robust = (predict_logits(model, x).argmax(1) == labels).numpy()
    with _eval_mode(model):
        for restart in range(restarts if epsilon > 0 else 0):
            start = _uniform_start(x, epsilon, seed + restart)
            survivors = np.flatnonzero(robust)
            for first in range(0, len(survivors), batch_size):
                rows = torch.from_numpy(survivors[first:first + batch_size])
                broken = _pgd_breaks(model, x[rows].detach().to(device), start[rows].to(device),
                                     labels[rows].to(device), epsilon, step_size, steps)
                robust[rows.numpy()[broken]] = False
    return robust


def _pgd_breaks(
    model: nn.Module, x: torch.Tensor, start: torch.Tensor, y: torch.Tensor,
    epsilon: float, step_size: float, steps: int,
) -> np.ndarray:
    """Per input of one batch: whether any PGD iterate from `x + start` is misclassified."""
    broken = np.zeros(len(x), dtype=bool)
    alive = torch.arange(len(x))
    x_adv = (x + start).clamp(0.0, 1.0)
    for step in range(steps + 1):
        with torch.enable_grad():
            x_var = x_adv.detach().requires_grad_(True)
            logits = model(x_var)
            held = logits.argmax(1) == y
            broken[alive[~held.cpu()].numpy()] = True
            if step == steps or not held.any():
                break
            loss = F.cross_entropy(logits[held], y[held], reduction="sum")
            (grad,) = torch.autograd.grad(loss, x_var)
        alive, x, y = alive[held.cpu()], x[held], y[held]
        x_adv = _project(x_adv[held] + step_size * grad[held].sign(), x, epsilon)
    return broken


def _uniform_start(x: torch.Tensor, epsilon: float, seed: int) -> torch.Tensor:
    """PGD's random start: uniform in [-epsilon, epsilon], drawn for all of `x` from `seed`, on CPU."""
    generator = torch.Generator().manual_seed(seed)
    return (2 * torch.rand(x.shape, generator=generator, dtype=x.dtype) - 1) * epsilon


def _project(x_adv: torch.Tensor, x: torch.Tensor, epsilon: float) -> torch.Tensor:
    """`x_adv` clipped to the epsilon-ball around `x` and to the box [0, 1]."""
    return torch.min(torch.max(x_adv, x - epsilon), x + epsilon).clamp(0.0, 1.0)


def sign_noise(x: torch.Tensor, epsilon: float, seed: int = 0) -> torch.Tensor:
    """The control: `x` plus `epsilon` times a seeded random sign per pixel, clipped to [0, 1].

    Before clipping it has the same L-infinity norm as the attacks, but no direction from the model.
    """
    _check_images(x, epsilon)
    generator = torch.Generator().manual_seed(seed)
    signs = 2 * torch.randint(0, 2, x.shape, generator=generator).to(x.dtype) - 1
    return (_copy(x) + epsilon * signs).clamp(0.0, 1.0)


def sign_noise_attack(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    epsilon: float,
    seed: int = 0,
    batch_size: int = 500,
    progress: bool = False,
) -> torch.Tensor:
    """`sign_noise` with the call signature of the attacks, so that `ATTACKS` can hold it.

    The labels are checked like an attack's (the model runs on the first input only); `batch_size`
    and `progress` are unused (the noise takes no gradient and is drawn for the whole input at once).
    """
    _check_images(x, epsilon, model)
    _check_labels(x, y)
    _check_model_classes(model, x, y)
    return sign_noise(x, epsilon, seed=seed)


ATTACKS: dict[str, Callable[..., torch.Tensor]] = {
    "fgsm": fgsm,
    "pgd": pgd,
    "noise": sign_noise_attack,
}
"""The perturbations by name; each is called as `(model, x, y, epsilon, seed=..., batch_size=...,
progress=...)`, PGD with more options (`steps`, `step_size`, `random_start`, `targeted`)."""


def attack(
    name: str, model: nn.Module, x: torch.Tensor, y: torch.Tensor, epsilon: float, **kwargs: Any
) -> torch.Tensor:
    """Run the perturbation `ATTACKS[name]`: "fgsm", "pgd" or "noise" (the random-sign control).

    Keyword arguments go to the attack function unchanged; every attack accepts `seed`,
    `batch_size` and `progress`.
    """
    if name not in ATTACKS:
        raise ValueError(f"name must be one of {_choices(ATTACKS)}, got {name!r}.")
    return ATTACKS[name](model, x, y, epsilon, **kwargs)


def correctly_classified(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1000
) -> tuple[torch.Tensor, torch.Tensor]:
    """The inputs the model classifies correctly, and their labels: the attacked set.

    Attack success and fooling budgets are only meaningful on inputs that were right when clean.
    """
    _check_images(x, model=model)
    _check_labels(x, y)
    logits = predict_logits(model, x, batch_size)
    _check_classes(y, logits.shape[1])
    correct = logits.argmax(1) == y.cpu()
    return x[correct.to(x.device)], y[correct.to(y.device)]


def attack_success(
    model: nn.Module,
    x_adv: torch.Tensor,
    y: torch.Tensor,
    clean_predictions: torch.Tensor | None = None,
    batch_size: int = 1000,
) -> float:
    """Share of inputs misclassified after an (untargeted) attack.

    With `clean_predictions` (the model's classes on the clean inputs) only the inputs the model
    classified correctly when clean count; without them, all inputs do.
    """
    _check_images(x_adv, model=model, name="x_adv")
    _check_labels(x_adv, y)
    logits = predict_logits(model, x_adv, batch_size)
    _check_classes(y, logits.shape[1])
    y = y.cpu()
    predictions = logits.argmax(1)
    if clean_predictions is None:
        counted = torch.ones_like(y, dtype=torch.bool)
    else:
        if clean_predictions.shape != y.shape:
            raise ValueError(
                f"clean_predictions must have the shape of the labels {tuple(y.shape)}, "
                f"got {tuple(clean_predictions.shape)}."
            )
        counted = clean_predictions.cpu() == y
    if not counted.any():
        raise ValueError(
            "clean_predictions must be right on at least one input (success counts only inputs "
            "classified correctly when clean), got none right."
        )
    return (predictions[counted] != y[counted]).float().mean().item()


@dataclass
class AttackSweep:
    """Every perturbation of an attacked set at every budget, keyed by `(attack, epsilon)`.

    `labels` are the true classes of the attacked set (all classified correctly when clean),
    `images` the perturbed inputs, `predictions` the network's classes for them (int64, CPU) and
    `success` the attack success rate (share misclassified).
    """

    attacks: tuple[str, ...]
    epsilons: tuple[float, ...]
    labels: torch.Tensor
    images: dict[tuple[str, float], torch.Tensor]
    predictions: dict[tuple[str, float], torch.Tensor]
    success: dict[tuple[str, float], float]

    def fooled(self, name: str, epsilon: float) -> np.ndarray:
        """Per input: whether the network misclassifies its perturbed twin (bool array)."""
        key = (name, epsilon)
        if key not in self.predictions:
            raise ValueError(
                f"(name, epsilon) must be a pair of the sweep, attacks {self.attacks} and epsilons "
                f"{self.epsilons}, got {key!r}."
            )
        return (self.predictions[key] != self.labels).numpy()

    def fooling_budget(self, name: str) -> np.ndarray:
        """Per input: the smallest epsilon > 0 of the sweep at which attack `name` fools it.

        `np.inf` for an input that no budget of the sweep fools.
        """
        budget = np.full(len(self.labels), np.inf)
        for epsilon in sorted((eps for eps in self.epsilons if eps > 0), reverse=True):
            budget[self.fooled(name, epsilon)] = epsilon
        return budget


def attack_sweep(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    attacks: Sequence[str] = ("fgsm", "pgd", "noise"),
    epsilons: Sequence[float] = (0.0, 0.05, 0.1, 0.15, 0.2, 0.3),
    pgd_steps: int = 20,
    seed: int = 0,
    progress: bool = False,
) -> AttackSweep:
    """Run every attack in `attacks` at every budget in `epsilons` on the attacked set `x`, `y`.

    Every input must be classified correctly when clean (see `correctly_classified`), so that
    success and fooling budgets count only real flips. `seed` goes to every attack (the PGD start
    and the noise); PGD takes `pgd_steps` steps of the default size.
    """
    _check_labels(x, y)
    attacks = tuple(attacks)
    epsilons = tuple(float(eps) for eps in epsilons)
    for eps in epsilons:
        _check_images(x, eps, model)
    for name in attacks:
        if name not in ATTACKS:
            raise ValueError(f"attacks must hold names from {_choices(ATTACKS)}, got {name!r}.")
    if not attacks or not epsilons:
        raise ValueError(f"attacks and epsilons must be non-empty, got {attacks!r} and {epsilons!r}.")
    if len(set(attacks)) < len(attacks) or len(set(epsilons)) < len(epsilons):
        raise ValueError(f"attacks and epsilons must not repeat, got {attacks!r} and {epsilons!r}.")
    labels = y.detach().cpu().to(torch.int64)
    logits = predict_logits(model, x)
    _check_classes(y, logits.shape[1])
    wrong = int((logits.argmax(1) != labels).sum())
    if wrong:
        raise ValueError(
            "x must hold only inputs the model classifies correctly (pass the attacked set from "
            f"correctly_classified), got {wrong} of {len(y)} misclassified."
        )
    options = {"pgd": {"steps": pgd_steps}}
    images, predictions, success = {}, {}, {}
    pairs = [(name, eps) for name in attacks for eps in epsilons]
    for name, eps in track(pairs, desc="attack sweep", unit="attack", enabled=progress):
        x_adv = attack(name, model, x, y, eps, seed=seed, **options.get(name, {}))
        images[name, eps] = x_adv
        predictions[name, eps] = predict_logits(model, x_adv).argmax(1).to(torch.int64)
        # every input was right when clean, so `attack_success` is the share now wrong
        success[name, eps] = (predictions[name, eps] != labels).float().mean().item()
    return AttackSweep(attacks, epsilons, labels, images, predictions, success)


def _ascent_direction(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, targeted: bool
) -> torch.Tensor:
    """Gradient of the summed cross-entropy w.r.t. the input (negated when targeted)."""
    with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        loss = F.cross_entropy(model(x), y, reduction="sum")
        (grad,) = torch.autograd.grad(loss, x)
    return -grad if targeted else grad


def _batched(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    run: Callable[[torch.Tensor, torch.Tensor, slice], torch.Tensor],
    batch_size: int,
    progress: bool,
    desc: str,
) -> torch.Tensor:
    """Apply `run(x_batch, y_batch, rows)` batch by batch on the model's device; CPU result."""
    device = _device(model)
    out = torch.empty(x.shape, dtype=x.dtype)
    with _eval_mode(model):
        for start in track(range(0, len(x), batch_size), desc=desc, unit="batch", enabled=progress):
            rows = slice(start, start + batch_size)
            xb = x[rows].detach().to(device)
            out[rows] = run(xb, y[rows].to(device), rows).detach().cpu()
    return out


@contextmanager
def _eval_mode(model: nn.Module) -> Iterator[None]:
    """Put every module in eval mode, then restore each module's own mode."""
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for module, training in modes:
            module.training = training


def _device(model: nn.Module) -> torch.device:
    tensor = next(iter(model.parameters()), None)
    if tensor is None:
        tensor = next(iter(model.buffers()), None)
    return torch.device("cpu") if tensor is None else tensor.device


def _copy(x: torch.Tensor) -> torch.Tensor:
    return x.detach().cpu().clone()


def _check_images(
    x: torch.Tensor, epsilon: float | None = None, model: nn.Module | None = None, name: str = "x"
) -> None:
    if epsilon is not None and not 0 <= epsilon <= 1:
        raise ValueError(f"epsilon must be in [0, 1] (pixel units), got {epsilon!r}.")
    if not torch.is_tensor(x) or not x.is_floating_point():
        kind = x.dtype if torch.is_tensor(x) else type(x).__name__
        raise ValueError(f"{name} must be a float tensor of pixels in [0, 1], got {kind}.")
    if torch.isnan(x).any():
        raise ValueError(f"{name} must hold pixels in [0, 1], got {int(torch.isnan(x).sum())} NaN value(s).")
    if x.numel() and not (x.min() >= 0 and x.max() <= 1):
        raise ValueError(
            f"{name} must hold pixels in [0, 1] (the models normalize internally: pass unnormalized "
            f"images), got values in [{x.min().item():g}, {x.max().item():g}]."
        )
    input_shape = getattr(model, "input_shape", None)
    if input_shape is not None:
        check_input_shape(x, input_shape, name)


def _check_labels(x: torch.Tensor, y: torch.Tensor) -> None:
    if not torch.is_tensor(y) or y.dim() != 1 or y.is_floating_point() or y.is_complex() \
            or y.dtype == torch.bool:
        kind = f"{y.dtype} of shape {tuple(y.shape)}" if torch.is_tensor(y) else type(y).__name__
        raise ValueError(f"y must be a 1-D integer tensor of class indices, got {kind}.")
    if len(y) != len(x):
        raise ValueError(f"y must hold one label per input ({len(x)}), got {len(y)} labels.")
    if len(y) and y.min() < 0:
        raise ValueError(f"y must hold class indices >= 0, got {y.min().item()}.")


def _check_classes(y: torch.Tensor, n_classes: int) -> None:
    if len(y) and y.max() >= n_classes:
        raise ValueError(
            f"y must hold class indices in [0, {n_classes}) (the width of the model's logits), "
            f"got {y.max().item()}."
        )


def _check_model_classes(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> None:
    """`_check_classes` against the classes the model declares (`n_classes`), or else against its
    logits on the first input (one forward pass, eval mode)."""
    n_classes = getattr(model, "n_classes", None)
    if n_classes is None and len(x):
        with torch.no_grad(), _eval_mode(model):
            n_classes = model(x[:1].detach().to(_device(model))).shape[1]
    if n_classes is not None:
        _check_classes(y, n_classes)


def _check_inputs(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, epsilon: float, batch_size: int
) -> None:
    _check_images(x, epsilon, model)
    _check_labels(x, y)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size!r}.")
    _check_model_classes(model, x, y)


def _choices(table: dict[str, Any]) -> str:
    return ", ".join(repr(name) for name in table)
