"""Training, evaluation and the checkpoint cache that lets every notebook run on its own.

`load_or_train(config)` returns the model for a training configuration: from the cache when a
checkpoint for exactly that configuration exists, otherwise trained on the spot (with a message).
The cache key is a hash of every configuration field that is set; fields left at `None` are not
part of the key, so options added later with a `None` default keep existing keys valid.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from helpers.data import dataset_info, load_split, random_subset, with_label_noise
from helpers.io import ARTIFACTS_DIR, atomic_write
from helpers.models import ARCHITECTURES, build_model

CHECKPOINT_DIR = ARTIFACTS_DIR / "checkpoints"


class CheckpointMismatchError(RuntimeError):
    """A cached checkpoint does not belong to the configuration it was looked up for."""


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

    def __post_init__(self) -> None:
        dataset_info(self.dataset)
        if self.arch not in ARCHITECTURES:
            raise ValueError(f"Unknown architecture {self.arch!r}; known: {', '.join(ARCHITECTURES)}.")
        if self.epochs < 0 or self.batch_size < 1 or self.lr <= 0:
            raise ValueError("epochs must be >= 0, batch_size >= 1 and lr > 0.")
        if self.n_train is not None and self.n_train < 1:
            raise ValueError(f"n_train must be a positive number of images or None, got {self.n_train}.")
        if not 0.0 <= self.label_noise <= 1.0:
            raise ValueError(f"label_noise must be in [0, 1], got {self.label_noise}.")

    def as_dict(self) -> dict[str, Any]:
        """The fields that are set (not None), i.e. what the cache key covers."""
        return {k: v for k, v in asdict(self).items() if v is not None}

    @property
    def key(self) -> str:
        blob = json.dumps(self.as_dict(), sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def checkpoint_path(self, cache_dir: Path = CHECKPOINT_DIR) -> Path:
        return Path(cache_dir) / f"{self.dataset}_{self.arch}_{self.key}.pt"


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def default_device() -> torch.device:
    """CUDA when available, else CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@torch.no_grad()
def predict_logits(
    model: nn.Module, x: torch.Tensor, batch_size: int = 1000, device: torch.device | None = None
) -> torch.Tensor:
    """Logits for many inputs, batched, on CPU; the model's train/eval mode is restored."""
    device = device or next(model.parameters()).device
    was_training = model.training
    model.eval()
    out = [model(x[i:i + batch_size].to(device)).cpu() for i in range(0, len(x), batch_size)]
    model.train(was_training)
    return torch.cat(out)


def evaluate(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1000
) -> dict[str, float]:
    """Mean cross-entropy loss and accuracy."""
    logits = predict_logits(model, x, batch_size)
    return {
        "loss": F.cross_entropy(logits, y).item(),
        "accuracy": (logits.argmax(1) == y).float().mean().item(),
    }


def training_data(config: TrainConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """The training images and (possibly noisy) labels a configuration trains on."""
    x, y = load_split(config.dataset, train=True)
    if config.n_train is not None:
        x, y = random_subset(x, y, config.n_train, seed=config.seed)
    if config.label_noise > 0:
        y = with_label_noise(y, config.label_noise, dataset_info(config.dataset).n_classes, config.seed)
    return x, y


def train(
    config: TrainConfig, device: torch.device | None = None, progress: bool = True
) -> tuple[nn.Module, dict[str, Any]]:
    """Train a model from scratch: Adam with a cosine learning-rate decay, seeded."""
    device = device or default_device()
    seed_everything(config.seed)
    model = build_model(config.arch).to(device)
    x, y = training_data(config)
    x_test, y_test = load_split(config.dataset, train=False)
    generator = torch.Generator().manual_seed(config.seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    steps_per_epoch = -(-len(x) // config.batch_size)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=max(1, config.epochs * steps_per_epoch)
    )
    history: dict[str, list] = {"epoch": [], "train_loss": [], "train_accuracy": [],
                                "test_loss": [], "test_accuracy": [], "step": [], "step_loss": []}
    test: dict[str, float] = {}
    start = time.perf_counter()
    for epoch in range(1, config.epochs + 1):
        model.train()
        order = torch.randperm(len(x), generator=generator)
        loss_sum, correct = 0.0, 0
        bar = tqdm(range(steps_per_epoch), desc=f"epoch {epoch}/{config.epochs}",
                   disable=not progress, leave=False)
        for step in bar:
            index = order[step * config.batch_size:(step + 1) * config.batch_size]
            xb, yb = x[index].to(device), y[index].to(device)
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            loss_sum += loss.item() * len(index)
            correct += (logits.argmax(1) == yb).sum().item()
            if step % 20 == 0:
                history["step"].append((epoch - 1) * steps_per_epoch + step)
                history["step_loss"].append(loss.item())
                bar.set_postfix(loss=f"{loss.item():.3f}")
        test = evaluate(model, x_test, y_test)
        history["epoch"].append(epoch)
        history["train_loss"].append(loss_sum / len(x))
        history["train_accuracy"].append(correct / len(x))
        history["test_loss"].append(test["loss"])
        history["test_accuracy"].append(test["accuracy"])
    model.eval()
    final = test if config.epochs > 0 else evaluate(model, x_test, y_test)
    record = {
        "config": config.as_dict(),
        "history": history,
        "test_accuracy": final["accuracy"],
        "test_loss": final["loss"],
        "train_seconds": time.perf_counter() - start,
        "steps_per_epoch": steps_per_epoch,
    }
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
        checkpoint = torch.load(path, map_location=device, weights_only=True)
        if checkpoint.get("config") != config.as_dict():
            raise CheckpointMismatchError(
                f"Checkpoint {path} was written for {checkpoint.get('config')}, not for "
                f"{config.as_dict()}. Delete the file and run again to retrain."
            )
        model = build_model(config.arch).to(device)
        model.load_state_dict(checkpoint["state_dict"])
        return model.eval(), checkpoint["record"]
    what = "untrained initialization" if config.epochs == 0 else f"{config.epochs} epoch(s)"
    print(f"No cached checkpoint for {config.as_dict()}: training now ({what}).")
    model, record = train(config, device=device, progress=progress)
    checkpoint = {"config": config.as_dict(), "state_dict": model.state_dict(), "record": record}
    atomic_write(path, lambda tmp: torch.save(checkpoint, tmp))
    return model, record
