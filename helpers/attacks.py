"""L-infinity attacks in pixel space: FGSM, PGD and the random-sign control, in the box [0, 1].

Models take pixels in [0, 1] (normalization is inside the model), so every attack perturbs the
images themselves. Attacks run batched on the model's device with the model in eval mode, take
gradients with respect to the input only (parameter `.grad` is never touched), restore each
module's train/eval mode afterwards, and return detached CPU tensors. `epsilon == 0` returns an
exact copy of the input.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from helpers.training import predict_logits

__all__ = ["ATTACKS", "attack", "attack_success", "fgsm", "pgd", "sign_noise"]

ATTACKS = ("fgsm", "pgd", "noise")


def fgsm(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    epsilon: float,
    targeted: bool = False,
    batch_size: int = 500,
    progress: bool = False,
) -> torch.Tensor:
    """Fast gradient sign method: one step of size `epsilon` along the sign of the loss gradient.

    Untargeted: ascend the cross-entropy of the true labels `y`. Targeted: `y` are the target
    classes and the step descends their cross-entropy.
    """
    _check_inputs(x, y, epsilon, batch_size)
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
) -> torch.Tensor:
    """Projected gradient descent (Madry et al.): `steps` signed-gradient steps, each followed by a
    projection onto the `epsilon`-ball around `x` and onto [0, 1].

    `step_size` defaults to 2.5 * epsilon / steps. The random start is uniform in
    [-epsilon, epsilon], drawn for the whole input at once from a generator seeded with `seed`,
    so the result does not depend on the device or the batch size.
    """
    _check_inputs(x, y, epsilon, batch_size)
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}.")
    if step_size is not None and not step_size > 0:
        raise ValueError(f"step_size must be > 0, got {step_size}.")
    if epsilon == 0:
        return _copy(x)
    step_size = 2.5 * epsilon / steps if step_size is None else step_size
    start = None
    if random_start:
        generator = torch.Generator().manual_seed(seed)
        start = (2 * torch.rand(x.shape, generator=generator, dtype=x.dtype) - 1) * epsilon

    def run(xb: torch.Tensor, yb: torch.Tensor, rows: slice) -> torch.Tensor:
        x_adv = xb if start is None else (xb + start[rows].to(xb.device)).clamp(0.0, 1.0)
        for _ in tqdm(range(steps), desc="PGD steps", disable=not progress, leave=False):
            x_adv = x_adv + step_size * _ascent_direction(model, x_adv, yb, targeted).sign()
            x_adv = torch.min(torch.max(x_adv, xb - epsilon), xb + epsilon).clamp(0.0, 1.0)
        return x_adv

    return _batched(model, x, y, run, batch_size, progress, f"PGD eps={epsilon:g}")


def sign_noise(x: torch.Tensor, epsilon: float, seed: int = 0) -> torch.Tensor:
    """The control: `x` plus `epsilon` times a seeded random sign per pixel, clipped to [0, 1].

    Before clipping it has the same L-infinity norm as the attacks, but no direction from the model.
    """
    _check_images(x, epsilon)
    generator = torch.Generator().manual_seed(seed)
    signs = 2 * torch.randint(0, 2, x.shape, generator=generator).to(x.dtype) - 1
    return (_copy(x) + epsilon * signs).clamp(0.0, 1.0)


def attack(
    name: str, model: nn.Module, x: torch.Tensor, y: torch.Tensor, epsilon: float, **kwargs: Any
) -> torch.Tensor:
    """Run an attack by name: "fgsm", "pgd" or "noise" (`sign_noise`, which ignores the model).

    Keyword arguments go to the attack function unchanged.
    """
    if name == "fgsm":
        return fgsm(model, x, y, epsilon, **kwargs)
    if name == "pgd":
        return pgd(model, x, y, epsilon, **kwargs)
    if name == "noise":
        _check_labels(x, y)
        return sign_noise(x, epsilon, **kwargs)
    raise ValueError(f"Unknown attack {name!r}; known attacks: {', '.join(ATTACKS)}.")


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
    _check_labels(x_adv, y)
    y = y.cpu()
    predictions = predict_logits(model, x_adv, batch_size).argmax(1)
    if clean_predictions is None:
        counted = torch.ones_like(y, dtype=torch.bool)
    else:
        if clean_predictions.shape != y.shape:
            raise ValueError(
                f"clean_predictions has shape {tuple(clean_predictions.shape)}, "
                f"labels have shape {tuple(y.shape)}."
            )
        counted = clean_predictions.cpu() == y
    if not counted.any():
        raise ValueError("No input was classified correctly when clean: success is undefined.")
    return (predictions[counted] != y[counted]).float().mean().item()


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
        for start in tqdm(range(0, len(x), batch_size), desc=desc, disable=not progress):
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


def _check_images(x: torch.Tensor, epsilon: float) -> None:
    if not 0 <= epsilon <= 1:
        raise ValueError(f"epsilon must be in [0, 1] (pixel units), got {epsilon}.")
    if not torch.is_tensor(x) or not x.is_floating_point():
        raise ValueError("x must be a float tensor of pixels in [0, 1].")
    if x.numel() and not (x.min() >= 0 and x.max() <= 1):
        raise ValueError(
            f"Inputs must be pixels in [0, 1], got values in [{x.min().item():g}, "
            f"{x.max().item():g}]; the models normalize internally, pass unnormalized images."
        )


def _check_labels(x: torch.Tensor, y: torch.Tensor) -> None:
    if not torch.is_tensor(y) or y.dim() != 1 or y.is_floating_point() or y.is_complex() \
            or y.dtype == torch.bool:
        raise ValueError("Labels must be a 1-D integer tensor of class indices.")
    if len(y) != len(x):
        raise ValueError(f"x has {len(x)} inputs but y has {len(y)} labels.")


def _check_inputs(x: torch.Tensor, y: torch.Tensor, epsilon: float, batch_size: int) -> None:
    _check_images(x, epsilon)
    _check_labels(x, y)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
