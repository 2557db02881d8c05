"""From a model and images to per-layer SOM codes: the pipeline that lessons 02 onward share.

`fit_codebook` extracts every layer's activations for the clean SOM-fit images, standardizes them,
fits one PCA-initialized SOM per layer and labels each node by the majority class it wins. The
returned `LayerCodebook` then encodes any other images (test, adversarial, noisy) with the same
reduction, standardization and SOMs, and measures the codes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from minisom import MiniSom
from torch import nn

from helpers import metrics
from helpers.activations import Standardizer, extract_activations
from helpers.som import fit_layer_soms, grid_coordinates, layer_codes


@dataclass
class LayerCodebook:
    """One SOM per layer, fit on standardized clean activations, with its node labels."""

    soms: dict[str, MiniSom]
    standardizer: Standardizer
    pool_size: int | None
    fit_codes: dict[str, np.ndarray]
    fit_labels: np.ndarray
    n_classes: int
    node_labels: dict[str, np.ndarray] = field(init=False)

    def __post_init__(self) -> None:
        self.node_labels = {
            layer: metrics.node_majority_labels(codes, self.fit_labels, self.n_nodes, self.n_classes)
            for layer, codes in self.fit_codes.items()
        }

    @property
    def layers(self) -> list[str]:
        return list(self.soms)

    @property
    def grid_shape(self) -> tuple[int, int]:
        return next(iter(self.soms.values())).get_weights().shape[:2]

    @property
    def n_nodes(self) -> int:
        rows, cols = self.grid_shape
        return rows * cols

    @property
    def coordinates(self) -> np.ndarray:
        """(n_nodes, 2) grid position of each node, for distances between codes."""
        return grid_coordinates(next(iter(self.soms.values())))

    def activations(self, model: nn.Module, x: torch.Tensor, progress: bool = False) -> dict[str, np.ndarray]:
        """Reduced, standardized activations of every codebook layer for `x`."""
        raw = extract_activations(model, x, layers=self.layers, pool_size=self.pool_size,
                                  progress=progress)
        return self.standardizer.transform(raw)

    def encode(self, model: nn.Module, x: torch.Tensor, progress: bool = False) -> dict[str, np.ndarray]:
        """Codes (winning node per input) at every layer."""
        return layer_codes(self.soms, self.activations(model, x, progress))

    def measures(
        self, codes: dict[str, np.ndarray], labels: np.ndarray, predictions: np.ndarray | None = None
    ) -> dict[str, dict[str, Any]]:
        """`metrics.layer_measures` of `codes` for every layer, node labels from the fit set."""
        return {
            layer: metrics.layer_measures(self.fit_codes[layer], self.fit_labels, codes[layer],
                                          labels, self.n_nodes, self.n_classes, predictions)
            for layer in self.layers
        }

    def quality(self, activations: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
        """Quantization and topographic error of every layer's SOM on standardized activations."""
        return {layer: metrics.som_quality(self.soms[layer], activations[layer]) for layer in self.layers}


def fit_codebook(
    model: nn.Module,
    x_fit: torch.Tensor,
    y_fit: torch.Tensor | np.ndarray,
    n_classes: int = 10,
    som_size: int = 15,
    num_iteration: int = 30,
    pool_size: int | None = 4,
    seed: int = 0,
    layers: Sequence[str] | None = None,
    progress: bool = True,
) -> LayerCodebook:
    """Fit one SOM per layer on the clean images `x_fit` (labels `y_fit`)."""
    raw = extract_activations(model, x_fit, layers=layers, pool_size=pool_size, progress=progress)
    standardizer = Standardizer.fit(raw)
    fit = standardizer.transform(raw)
    soms = fit_layer_soms(fit, size=som_size, num_iteration=num_iteration, seed=seed)
    return LayerCodebook(soms, standardizer, pool_size, layer_codes(soms, fit),
                         np.asarray(y_fit), n_classes)
