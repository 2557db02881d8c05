"""Training, evaluation and the checkpoint cache that lets every notebook run on its own.

`load_or_train(config)` returns the model for a training configuration: from the cache when a
checkpoint for exactly that configuration exists, otherwise trained on the spot (with a message).
The cache key is a hash of every configuration field that is set; fields left at `None` are not
part of the key, so options added later with a `None` default keep existing keys valid (an option
added later whose default has a name, like `lr_schedule="cosine"`, stores that name as `None`).

Adversarial training is such an option: `TrainConfig(adversarial="fgsm_rs", adv_epsilon=0.3)`
trains on perturbed inputs (see `ADVERSARIAL_TRAINING`) and records the model's PGD robust
accuracy on a fixed held-out set, which exposes catastrophic overfitting (an FGSM-trained model
whose PGD accuracy collapses). Wong et al.'s MNIST recipe, which makes FGSM-RS robust at 0.3, adds
`adv_start="unclamped"` and `lr_schedule="cyclic"` (see `ADVERSARIAL_STARTS` and `LR_SCHEDULES`).
Consistency regularization (Dong et al. 2017) is another:
`consistency=1.0` on top of adversarial training trains on clean and perturbed inputs together and
pulls their representations together at `consistency_layers` (default: fc), see `batch_loss`.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from helpers.attacks import fgsm, pgd, robust_inputs
from helpers.checks import check_choice, check_parameters
from helpers.data import dataset_info, load_split, random_subset, with_label_noise
from helpers.io import ARTIFACTS_DIR, atomic_write
from helpers.models import ARCHITECTURES, ProbedCNN, build_model, predict_logits
from helpers.progress import notice, track
from helpers.runtime import default_device, one_thread, seed_everything

CHECKPOINT_DIR = ARTIFACTS_DIR / "checkpoints"

ADVERSARIAL_TRAINING = {
    "fgsm_rs": "FGSM with random start (Wong, Rice & Kolter 2020): a uniform start in the epsilon "
               "ball, one signed step of adv_step_size (default 1.25 * epsilon), projected",
    "pgd": "PGD (Madry et al. 2018): a uniform random start, then adv_steps signed steps of "
           "adv_step_size (default 2.5 * epsilon / adv_steps), each projected",
    "fgsm": "plain FGSM: no random start, one signed step of epsilon (the known failure: "
            "catastrophic overfitting)",
}
"""The adversarial training methods by name; every perturbation stays in the L-infinity ball of
radius `adv_epsilon` around the image and in [0, 1]."""

ADVERSARIAL_STARTS = {
    "clamped": "the random start is clipped to the image range [0, 1] before the gradient step "
               "(the default, as `attacks.pgd` attacks)",
    "unclamped": "the random start stays where it falls, outside [0, 1] too; only the projection "
                 "after the step clips (Wong et al.'s MNIST training: on MNIST's mostly black "
                 "pixels a clipped start loses half its spread, and FGSM-RS at 0.3 then collapses)",
}
"""Where FGSM-RS and PGD training take their first gradient: `TrainConfig.adv_start`."""

LR_SCHEDULES = {
    "cosine": "the learning rate starts at lr and decays to 0 along a half cosine (the default)",
    "cyclic": "the learning rate rises linearly from 0 to lr over the first 2/5 of the steps and "
              "falls linearly back to 0 (Wong et al.'s one cycle)",
}
"""How the learning rate changes over training: `TrainConfig.lr_schedule`."""

CYCLIC_PEAK = 0.4
"""The share of the training steps after which the cyclic schedule peaks."""

DEFAULT_CONSISTENCY_LAYERS = ("fc",)
"""Where consistency regularization compares a real input and its twin when no layer is named: the
last hidden layer."""

WEIGHTS = "one CPU thread"
"""How training computes, part of every cache key: on the CPU it runs on one thread (`train`), so a cache
written before that rule (with the machine's threads) is not taken for it."""

ROBUST_EVALUATION = {"attack": "pgd", "steps": 40, "random_start": True, "seed": 0, "n_test": 500}
"""How an adversarially trained model's robust accuracy is measured after training: the series'
PGD at `adv_epsilon` on the first `n_test` test images."""


class CheckpointMismatchError(RuntimeError):
    """A cached checkpoint does not belong to the configuration it was looked up for."""


class CorruptCheckpointError(RuntimeError):
    """A cached checkpoint file cannot be read as a model of its configuration (damaged or stale)."""


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a trained model. `epochs=0` is the untrained initialization."""

    dataset: str = "mnist"
    arch: str = "mnist_cnn"
    seed: int = 0
    epochs: int = 2
    batch_size: int = 128
    lr: float = 2e-3
    n_train: int | None = None
    label_noise: float = 0.0
    adversarial: str | None = None
    adv_epsilon: float | None = None
    adv_step_size: float | None = None
    adv_steps: int | None = None
    consistency: float | None = None
    consistency_layers: tuple[str, ...] | None = None
    adv_start: str | None = None
    lr_schedule: str | None = None

    def __post_init__(self) -> None:
        dataset_info(self.dataset)
        check_choice(self.arch, "arch", ARCHITECTURES)
        if self.adversarial is not None:
            check_choice(self.adversarial, "adversarial", ADVERSARIAL_TRAINING)
        # The defaults are stored as None, so that the keys from before these options stay valid.
        for name, choices, default in (("adv_start", ADVERSARIAL_STARTS, "clamped"),
                                       ("lr_schedule", LR_SCHEDULES, "cosine")):
            value = getattr(self, name)
            if value is not None and check_choice(value, name, choices) == default:
                object.__setattr__(self, name, None)
        check_parameters(seed=self.seed, epochs=self.epochs, batch_size=self.batch_size, lr=self.lr,
                         n_train=self.n_train, label_noise=self.label_noise,
                         adv_epsilon=self.adv_epsilon, adv_step_size=self.adv_step_size,
                         adv_steps=self.adv_steps, consistency=self.consistency)
        self._check_adversarial_options()
        self._check_consistency_options()

    def _check_adversarial_options(self) -> None:
        """The adv_* options must fit the method: none without one, epsilon always with one."""
        options = {"adv_epsilon": self.adv_epsilon, "adv_step_size": self.adv_step_size,
                   "adv_steps": self.adv_steps, "adv_start": self.adv_start}
        if self.adversarial is None:
            given = ", ".join(f"{name}={value!r}" for name, value in options.items() if value is not None)
            if given:
                raise ValueError(
                    f"adversarial must be one of {_names(ADVERSARIAL_TRAINING)} when {given} is set "
                    f"(the adv_* options configure adversarial training), got None."
                )
            return
        if self.adv_epsilon is None:
            raise ValueError(f"adv_epsilon must be a number in (0, 1] when adversarial is "
                             f"{self.adversarial!r}, got None.")
        if self.adversarial == "pgd" and self.adv_steps is None:
            raise ValueError("adv_steps must be an integer >= 1 when adversarial is 'pgd', got None.")
        if self.adversarial != "pgd" and self.adv_steps is not None:
            raise ValueError(f"adv_steps must be None when adversarial is {self.adversarial!r} "
                             f"(one step; only 'pgd' takes steps), got {self.adv_steps!r}.")
        if self.adversarial == "fgsm" and self.adv_step_size is not None:
            raise ValueError("adv_step_size must be None when adversarial is 'fgsm' (its step is "
                             f"adv_epsilon; 'fgsm_rs' takes a step size), got {self.adv_step_size!r}.")
        if self.adversarial == "fgsm" and self.adv_start is not None:
            raise ValueError("adv_start must be None when adversarial is 'fgsm' (it has no random "
                             f"start), got {self.adv_start!r}.")

    def _check_consistency_options(self) -> None:
        """Consistency regularization compares a real input with its adversarial twin at probe layers."""
        if self.consistency is not None and self.adversarial is None:
            raise ValueError(f"adversarial must be one of {_names(ADVERSARIAL_TRAINING)} when "
                             f"consistency={self.consistency!r} is set (the twins come from "
                             "adversarial training), got None.")
        if self.consistency_layers is None:
            return
        if self.consistency is None:
            raise ValueError(f"consistency must be a number >= 0 when consistency_layers="
                             f"{self.consistency_layers!r} is set, got None.")
        layers = list(ProbedCNN.probe_nodes.values())  # every architecture is a ProbedCNN
        if (not isinstance(self.consistency_layers, tuple) or not self.consistency_layers
                or not set(self.consistency_layers) <= set(layers)):
            raise ValueError(f"consistency_layers must be a non-empty tuple of probe layers of "
                             f"{self.arch!r} ({', '.join(map(repr, layers))}), "
                             f"got {self.consistency_layers!r}.")

    def as_dict(self) -> dict[str, Any]:
        """The fields that are set (not None), i.e. what the cache key covers."""
        return {k: v for k, v in asdict(self).items() if v is not None}

    @property
    def key(self) -> str:
        """The cache key: a hash of the set fields and of how the weights are computed (`WEIGHTS`)."""
        blob = json.dumps({**self.as_dict(), "weights": WEIGHTS}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def checkpoint_path(self, cache_dir: Path = CHECKPOINT_DIR) -> Path:
        return Path(cache_dir) / f"{self.dataset}_{self.arch}_{self.key}.pt"


def evaluate(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1000
) -> dict[str, float]:
    """Mean cross-entropy loss and accuracy."""
    scores = _scores(model, x, y, batch_size)
    return {"loss": scores["loss"], "accuracy": scores["accuracy"]}


def _scores(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1000) -> dict[str, Any]:
    """`evaluate`'s loss and accuracy, and whether each input is classified right (``correct``)."""
    logits = predict_logits(model, x, batch_size)
    correct = logits.argmax(1) == y
    return {"loss": F.cross_entropy(logits, y).item(), "accuracy": correct.float().mean().item(),
            "correct": correct.numpy()}


def correct_on_test_set(record: dict[str, Any]) -> np.ndarray | None:
    """Whether the trained model classifies each test image right, from its training record (a bool per
    image, in the test set's order), or None for a record written before records kept it."""
    stored = record.get("test_correct")
    if stored is None:
        return None
    bits = np.unpackbits(np.frombuffer(bytes.fromhex(stored["bits"]), dtype=np.uint8))
    return bits[:stored["n"]].astype(bool)


def training_data(config: TrainConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """The training images and (possibly noisy) labels a configuration trains on."""
    x, y = load_split(config.dataset, train=True)
    if config.n_train is not None:
        x, y = random_subset(x, y, config.n_train, seed=config.seed)
    if config.label_noise > 0:
        y = with_label_noise(y, config.label_noise, dataset_info(config.dataset).n_classes, config.seed)
    return x, y


def adversarial_inputs(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, config: TrainConfig, seed: int
) -> torch.Tensor:
    """The perturbed twins of a training batch under `config.adversarial`, on the batch's device.

    `seed` seeds the random start (FGSM-RS and PGD), so a training run is reproducible. The
    attacks of `helpers.attacks` restore the model's train mode and leave parameter gradients alone.
    """
    epsilon = config.adv_epsilon
    if config.adversarial == "fgsm":
        return fgsm(model, x, y, epsilon, batch_size=len(x)).to(x.device)
    if config.adversarial == "fgsm_rs":
        steps = 1
        step_size = 1.25 * epsilon if config.adv_step_size is None else config.adv_step_size
    else:
        steps, step_size = config.adv_steps, config.adv_step_size
    x_adv = pgd(model, x, y, epsilon, step_size=step_size, steps=steps, random_start=True, seed=seed,
                batch_size=len(x), clamp_start=config.adv_start != "unclamped")
    return x_adv.to(x.device)


def _layer_outputs(model: nn.Module, layers: tuple[str, ...]) -> tuple[dict[str, torch.Tensor], list]:
    """Forward hooks that store the outputs of probe `layers` during the next forward pass."""
    modules = {short: model.get_submodule(node) for node, short in model.probe_nodes.items()}
    outputs: dict[str, torch.Tensor] = {}
    handles = [modules[layer].register_forward_hook(
        lambda _module, _inputs, output, layer=layer: outputs.__setitem__(layer, output))
        for layer in layers]
    return outputs, handles


def batch_loss(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, config: TrainConfig, seed: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The training loss of one batch, with the logits and labels its accuracy is counted on.

    Standard training: CE(x). Adversarial training: CE(x_adv) on the perturbed twins. With
    `config.consistency` = lambda: CE(x) + CE(x_adv) + lambda * sum over `consistency_layers` of
    mean_j (f_l(x)_j - f_l(x_adv)_j)^2, the mean over units and inputs (lambda = 0 is adversarial
    training on clean and perturbed inputs together); accuracy is then counted on both.
    """
    if config.adversarial is None:
        logits = model(x)
        return F.cross_entropy(logits, y), logits, y
    x_adv = adversarial_inputs(model, x, y, config, seed)
    if config.consistency is None:
        logits = model(x_adv)
        return F.cross_entropy(logits, y), logits, y
    layers = config.consistency_layers or DEFAULT_CONSISTENCY_LAYERS
    outputs, handles = _layer_outputs(model, layers)
    try:
        logits = model(torch.cat([x, x_adv]))
    finally:
        for handle in handles:
            handle.remove()
    labels = torch.cat([y, y])
    n = len(x)
    penalty = sum(F.mse_loss(outputs[layer][:n], outputs[layer][n:]) for layer in layers)
    loss = 2 * F.cross_entropy(logits, labels) + config.consistency * penalty
    return loss, logits, labels


def robust_evaluation(model: nn.Module, config: TrainConfig) -> dict[str, float]:
    """Clean and PGD robust accuracy at `config.adv_epsilon` on the fixed held-out set of
    `ROBUST_EVALUATION` (the first 500 test images, PGD-40 with a random start; an input counts
    as robust only if no iterate fools the model, `attacks.robust_inputs`)."""
    n, steps, seed = ROBUST_EVALUATION["n_test"], ROBUST_EVALUATION["steps"], ROBUST_EVALUATION["seed"]
    x_test, y_test = load_split(config.dataset, train=False)
    x, y = x_test[:n], y_test[:n]
    robust = robust_inputs(model, x, y, config.adv_epsilon, steps=steps, seed=seed)
    return {"clean_accuracy": evaluate(model, x, y)["accuracy"], "robust_accuracy": float(robust.mean())}


def training_accuracy(model: nn.Module, config: TrainConfig, n_max: int = 10000) -> dict[str, float]:
    """Accuracy on the first `n_max` images the model was trained on, against the labels it was
    trained on (noisy when `config.label_noise` > 0) and against their true labels."""
    x, y_trained = training_data(config)
    _, y_true = training_data(replace(config, label_noise=0.0))
    predictions = predict_logits(model, x[:n_max]).argmax(1)
    return {"trained_labels": (predictions == y_trained[:n_max]).float().mean().item(),
            "true_labels": (predictions == y_true[:n_max]).float().mean().item()}


MAX_EVALUATIONS = 2
"""Training evaluates the whole test set after at most this many epochs, evenly spaced and always
after the last; a 40-epoch run on a few images would otherwise spend most of its time evaluating."""


def evaluated_epochs(epochs: int, max_evaluations: int = MAX_EVALUATIONS) -> list[int]:
    """The epochs after which training records test loss and accuracy (and the epoch's training ones).

    >>> evaluated_epochs(2), evaluated_epochs(3), evaluated_epochs(40)
    ([1, 2], [2, 3], [20, 40])
    """
    if epochs <= max_evaluations:
        return list(range(1, epochs + 1))
    return sorted({round(epochs * k / max_evaluations) for k in range(1, max_evaluations + 1)})


def _step_seed(seed: int, step: int) -> int:
    """A seed for training step `step` of a run seeded with `seed` (independent streams per step)."""
    return int(np.random.SeedSequence((seed, step)).generate_state(1)[0])


def _names(table: dict[str, Any]) -> str:
    return ", ".join(repr(name) for name in table)


def lr_scheduler(
    optimizer: torch.optim.Optimizer, schedule: str | None, total_steps: int
) -> torch.optim.lr_scheduler.LRScheduler:
    """The learning-rate schedule of `LR_SCHEDULES` (None: "cosine") over `total_steps` steps.

    "cyclic" sets step t (counted from 0) to lr times the piecewise-linear ramp through 0 at step
    0, 1 at `CYCLIC_PEAK` * total_steps and 0 at total_steps, evaluated at t + 1.
    """
    if schedule is None or schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    check_choice(schedule, "lr_schedule", LR_SCHEDULES)
    corners = [0.0, CYCLIC_PEAK * total_steps, float(total_steps)]
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: float(np.interp(step + 1, corners, [0.0, 1.0, 0.0])))


def train(
    config: TrainConfig, device: torch.device | None = None, progress: bool = True
) -> tuple[nn.Module, dict[str, Any]]:
    """Train a model from scratch: Adam with the `lr_scheduler` of `config.lr_schedule`, seeded.

    The history records test (and training) loss and accuracy after the `evaluated_epochs`.
    With `config.adversarial` every batch is replaced by its perturbed twins (`adversarial_inputs`),
    or joined by them with `config.consistency` (`batch_loss`), before the weight update; the
    history's training loss and accuracy are those of `batch_loss`, and the record adds
    `clean_accuracy` and `robust_accuracy` (`robust_evaluation`).
    """
    device = device or default_device()
    if device.type == "cpu":
        with one_thread():  # weights independent of the machine's thread count
            return _train(config, device, progress)
    return _train(config, device, progress)


def _train(config: TrainConfig, device: torch.device, progress: bool) -> tuple[nn.Module, dict[str, Any]]:
    """`train` on `device`."""
    seed_everything(config.seed)
    model = build_model(config.arch).to(device)
    x, y = training_data(config)
    x_test, y_test = load_split(config.dataset, train=False)
    generator = torch.Generator().manual_seed(config.seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    steps_per_epoch = -(-len(x) // config.batch_size)
    scheduler = lr_scheduler(optimizer, config.lr_schedule, max(1, config.epochs * steps_per_epoch))
    history: dict[str, list] = {"epoch": [], "train_loss": [], "train_accuracy": [],
                                "test_loss": [], "test_accuracy": [], "step": [], "step_loss": []}
    test: dict[str, float] = {}
    start = time.perf_counter()
    for epoch in range(1, config.epochs + 1):
        model.train()
        order = torch.randperm(len(x), generator=generator)
        loss_sum, correct = 0.0, 0
        desc = f"epoch {epoch}/{config.epochs}"
        if config.adversarial is not None:
            desc += f" ({config.adversarial}, eps={config.adv_epsilon:g})"
        bar = track(range(steps_per_epoch), desc=desc, enabled=progress, leave=False)
        for step in bar:
            index = order[step * config.batch_size:(step + 1) * config.batch_size]
            xb, yb = x[index].to(device), y[index].to(device)
            global_step = (epoch - 1) * steps_per_epoch + step
            loss, logits, counted = batch_loss(model, xb, yb, config, _step_seed(config.seed, global_step))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            loss_sum += loss.item() * len(index)
            correct += (logits.argmax(1) == counted).sum().item() * len(index) / len(counted)
            if step % 20 == 0:
                history["step"].append(global_step)
                history["step_loss"].append(loss.item())
                bar.set_postfix(loss=f"{loss.item():.3f}")
        if epoch not in evaluated_epochs(config.epochs):
            continue
        test = _scores(model, x_test, y_test)
        history["epoch"].append(epoch)
        history["train_loss"].append(loss_sum / len(x))
        history["train_accuracy"].append(correct / len(x))
        history["test_loss"].append(test["loss"])
        history["test_accuracy"].append(test["accuracy"])
    model.eval()
    final = test if config.epochs > 0 else _scores(model, x_test, y_test)
    record = {
        "config": config.as_dict(),
        "history": history,
        "test_accuracy": final["accuracy"],
        "test_loss": final["loss"],
        "test_correct": {"n": len(final["correct"]), "bits": np.packbits(final["correct"]).tobytes().hex()},
        "train_seconds": time.perf_counter() - start,
        "steps_per_epoch": steps_per_epoch,
    }
    if config.adversarial is not None:
        record.update(robust_evaluation(model, config))
        record["robust_evaluation"] = {**ROBUST_EVALUATION, "epsilon": config.adv_epsilon}
    return model, record


def load_or_train(
    config: TrainConfig,
    cache_dir: Path = CHECKPOINT_DIR,
    device: torch.device | None = None,
    progress: bool = True,
) -> tuple[nn.Module, dict[str, Any]]:
    """The model for `config`, in eval mode: cached when available, else trained and cached."""
    device = device or default_device()
    path = config.checkpoint_path(cache_dir)
    if path.exists():
        try:
            return _load_checkpoint(path, config, device)
        except CorruptCheckpointError as error:
            aside = path.with_name(path.name + ".corrupt")
            os.replace(path, aside)
            notice(f"{error} Moved it to {aside} and training again.")
    what = "untrained initialization" if config.epochs == 0 else f"{config.epochs} epoch(s)"
    print(f"No cached checkpoint for {config.as_dict()}: training now ({what}).")
    model, record = train(config, device=device, progress=progress)
    checkpoint = {"config": config.as_dict(), "state_dict": model.state_dict(), "record": record}
    atomic_write(path, lambda tmp: torch.save(checkpoint, tmp))
    return model, record


def _load_checkpoint(
    path: Path, config: TrainConfig, device: torch.device
) -> tuple[nn.Module, dict[str, Any]]:
    """The model and record cached at `path`; `CorruptCheckpointError` if the file cannot give them."""
    try:
        checkpoint = torch.load(path, map_location=device, weights_only=True)
    except Exception as error:  # a damaged file raises EOFError, RuntimeError, OSError, UnpicklingError...
        first_line = str(error).strip().split("\n")[0]
        reason = type(error).__name__ + (f": {first_line}" if first_line else "")
        raise CorruptCheckpointError(f"Cached checkpoint {path} cannot be read ({reason}).") from error
    if not isinstance(checkpoint, dict) or not {"config", "state_dict", "record"} <= checkpoint.keys():
        raise CorruptCheckpointError(f"Cached checkpoint {path} is not a checkpoint of this series.")
    if checkpoint["config"] != config.as_dict():
        raise CheckpointMismatchError(
            f"Checkpoint {path} was written for {checkpoint['config']}, not for "
            f"{config.as_dict()}. Delete the file and run again to retrain."
        )
    model = build_model(config.arch).to(device)
    try:
        model.load_state_dict(checkpoint["state_dict"])
    except RuntimeError as error:  # weights of another version of the architecture
        raise CorruptCheckpointError(
            f"Cached checkpoint {path} does not fit the current {config.arch!r} architecture."
        ) from error
    return model.eval(), checkpoint["record"]
