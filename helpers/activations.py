"""Per-layer activations: extraction with torchvision's feature extractor, reduction, standardization.

A conv activation (C x H x W) is average-pooled to C x s x s and flattened; dense activations are
kept. The input pixels are layer 0 (`"pixels"`), flattened without pooling. A `Standardizer` fit on the clean
SOM-fit set is then applied unchanged to every other set (test, adversarial, noisy).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.feature_extraction import create_feature_extractor

from helpers.checks import check_choice, check_int, check_sequence
from helpers.models import PIXELS
from helpers.progress import track


def layer_names(model: nn.Module, include_pixels: bool = True) -> list[str]:
    """The analysis layers of a model, input to output."""
    return ([PIXELS] if include_pixels else []) + list(model.probe_nodes.values())


def reduce_activation(activation: torch.Tensor, pool_size: int | None) -> torch.Tensor:
    """Average-pool a (N, C, H, W) map to (N, C, s, s) and flatten; (N, D) passes through."""
    check_int(pool_size, "pool_size", minimum=1, allow_none=True)
    if activation.dim() == 4 and pool_size is not None:
        activation = F.adaptive_avg_pool2d(activation, pool_size)
    return activation.flatten(1)


@torch.no_grad()
def extract_activations(
    model: nn.Module,
    x: torch.Tensor,
    layers: Sequence[str] | None = None,
    pool_size: int | None = 4,
    batch_size: int = 500,
    progress: bool = True,
) -> dict[str, np.ndarray]:
    """Reduced float32 activations of `layers` (default: pixels and every probe layer) for `x`.

    Runs in batches on the model's device, so memory holds only the reduced arrays.
    `pool_size=None` keeps conv maps at full resolution (flattened).
    """
    available = layer_names(model)
    check_int(batch_size, "batch_size", minimum=1)
    layers = available if layers is None else check_sequence(
        layers, "layers", partial(check_choice, choices=available))
    nodes = {node: name for node, name in model.probe_nodes.items() if name in layers}
    extractor = create_feature_extractor(model, return_nodes=nodes).eval()
    device = next(model.parameters()).device
    chunks: dict[str, list[np.ndarray]] = {name: [] for name in layers}
    starts = range(0, len(x), batch_size)
    for start in track(starts, desc="activations", unit="batch", enabled=progress, leave=False):
        batch = x[start:start + batch_size].to(device)
        outputs = extractor(batch)
        if PIXELS in chunks:
            outputs[PIXELS] = batch.flatten(1)
        for name in layers:
            chunks[name].append(reduce_activation(outputs[name], pool_size).float().cpu().numpy())
    return {name: np.concatenate(chunks[name]) for name in layers}


@dataclass
class Standardizer:
    """Per-layer standardization fit on one set of activations, applied unchanged to others.

    Each feature is centered on its mean; each layer is divided by one scale, the root mean square of
    its features' standard deviations, so that features have unit variance on average. One scale per
    layer (rather than per feature) keeps the layer's own geometry: near-constant features, such as
    border pixels or rarely active ReLUs, are not blown up, so a small change there (noise, or an
    attack) does not dominate the distances to the SOM's prototypes.
    """

    mean: dict[str, np.ndarray]
    scale: dict[str, float]

    @classmethod
    def fit(cls, activations: Mapping[str, np.ndarray]) -> Standardizer:
        mean = {k: a.mean(axis=0) for k, a in activations.items()}
        rms = {k: float(np.sqrt(a.var(axis=0).mean())) for k, a in activations.items()}
        return cls(mean, {k: s if s > 1e-8 else 1.0 for k, s in rms.items()})

    def transform(self, activations: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        for layer in activations:
            check_choice(layer, "layer", self.mean)
        return {k: ((a - self.mean[k]) / self.scale[k]).astype(np.float32) for k, a in activations.items()}
