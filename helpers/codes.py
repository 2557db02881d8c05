"""From a model and images to per-layer SOM codes: the pipeline that lessons 02 onward share.

`fit_codebook` extracts every layer's activations for the clean SOM-fit images, standardizes them,
fits one PCA-initialized SOM per layer and labels each node by the majority class it wins. The
returned `LayerCodebook` then encodes any other images (test, adversarial, noisy) with the same
reduction, standardization and SOMs, and measures the codes. `codebook_for` does it all for a
training configuration: the model (cached or trained), the seeded SOM-fit subset, the codebook.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from minisom import MiniSom
from torch import nn

from helpers import metrics
from helpers.activations import Standardizer, extract_activations
from helpers.checks import check_choice
from helpers.data import dataset_info, load_split, random_subset
from helpers.som import fit_layer_soms, grid_coordinates, layer_codes
from helpers.training import CHECKPOINT_DIR, TrainConfig, load_or_train


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
        return self.encode_activations(self.activations(model, x, progress))

    def encode_activations(self, activations: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Codes of precomputed standardized activations (from `activations`), for the layers given."""
        for layer in activations:
            check_choice(layer, "layer", self.soms)
        return layer_codes({layer: self.soms[layer] for layer in activations}, activations)

    def class_counts(self, layer: str) -> np.ndarray:
        """(n_nodes, n_classes): how many SOM-fit inputs of each class each node of `layer` wins."""
        check_choice(layer, "layer", self.soms)
        return metrics.node_class_counts(self.fit_codes[layer], self.fit_labels, self.n_nodes, self.n_classes)

    def readout(self, layer: str, codes: np.ndarray) -> np.ndarray:
        """The class each code of `layer` is read as: its node's label (-1 for a node no fit input won)."""
        check_choice(layer, "layer", self.soms)
        return metrics.readout(self.node_labels[layer], codes)

    def sharing(self, layer: str) -> np.ndarray:
        """Per node of `layer`: class entropy of its fit inputs / log(n_classes); NaN for empty nodes."""
        return metrics.node_sharing(self.class_counts(layer))

    def measures(
        self, codes: dict[str, np.ndarray], labels: np.ndarray, predictions: np.ndarray | None = None,
        chance: bool = True,
    ) -> dict[str, dict[str, Any]]:
        """`metrics.layer_measures` of `codes` for every layer, node labels from the fit set (without
        the chance level when `chance` is False)."""
        return {
            layer: metrics.layer_measures(self.fit_codes[layer], self.fit_labels, codes[layer],
                                          labels, self.n_nodes, self.n_classes, predictions, chance)
            for layer in self.layers
        }

    def distance_map(self, layer: str) -> np.ndarray:
        """U-matrix of `layer`'s SOM, (rows, cols): each node's mean distance to its grid neighbours' weights,
        divided by the largest (MiniSom's ``distance_map(scaling="mean")``, so edge nodes are not lighter)."""
        check_choice(layer, "layer", self.soms)
        return self.soms[layer].distance_map(scaling="mean")

    def quality(self, activations: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
        """Quantization and topographic error of every layer's SOM on standardized activations."""
        return {layer: metrics.som_quality(self.soms[layer], activations[layer]) for layer in self.layers}

    def quantization_errors(
        self, activations: Mapping[str, np.ndarray], codes: Mapping[str, np.ndarray]
    ) -> dict[str, np.ndarray]:
        """Per layer of `activations` and per input: the distance of its standardized activations to the
        weights of its code's node (`quality`'s quantization error is their mean over the inputs)."""
        errors = {}
        for layer, a in activations.items():
            prototypes = self.soms[layer].get_weights().reshape(self.n_nodes, -1)
            errors[layer] = np.linalg.norm(a - prototypes[codes[layer]], axis=1)
        return errors


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
    return fit_codebook_on_activations(raw, y_fit, n_classes=n_classes, som_size=som_size,
                                       num_iteration=num_iteration, pool_size=pool_size, seed=seed,
                                       progress=progress)


def fit_codebook_on_activations(
    activations: Mapping[str, np.ndarray],
    labels: torch.Tensor | np.ndarray,
    n_classes: int = 10,
    som_size: int = 15,
    num_iteration: int = 30,
    pool_size: int | None = None,
    seed: int = 0,
    progress: bool = True,
) -> LayerCodebook:
    """Standardize reduced activations given per layer (n_inputs, n_features) and fit one SOM each.

    For features no model extracts, such as average-pooled pixels (a control): encode other inputs
    with ``encode_activations(codebook.standardizer.transform(raw))``. ``pool_size`` only records
    how the activations were reduced.
    """
    standardizer = Standardizer.fit(activations)
    fit = standardizer.transform(activations)
    soms = fit_layer_soms(fit, layer_progress=progress, size=som_size, num_iteration=num_iteration, seed=seed)
    return LayerCodebook(soms, standardizer, pool_size, layer_codes(soms, fit),
                         np.asarray(labels), n_classes)


def codebook_for(
    config: TrainConfig,
    n_som_fit: int = 5000,
    som_size: int = 15,
    som_iterations: int = 30,
    pool_size: int | None = 4,
    seed: int | None = None,
    device: torch.device | None = None,
    progress: bool = True,
    cache_dir: Path = CHECKPOINT_DIR,
) -> tuple[nn.Module, dict[str, Any], LayerCodebook]:
    """The model of `config` (`load_or_train`), its training record, and a codebook fit on it.

    The SOMs are fit on a seeded random subset of `n_som_fit` training images,
    `random_subset(x_train, y_train, n_som_fit, seed)`, and seeded with the same `seed`
    (default: the training seed, `config.seed`), as lessons 02 onward do.
    """
    seed = config.seed if seed is None else seed
    model, record = load_or_train(config, cache_dir=cache_dir, device=device, progress=progress)
    x_train, y_train = load_split(config.dataset, train=True)
    x_fit, y_fit = random_subset(x_train, y_train, n_som_fit, seed=seed)
    codebook = fit_codebook(model, x_fit, y_fit, n_classes=dataset_info(config.dataset).n_classes,
                            som_size=som_size, num_iteration=som_iterations, pool_size=pool_size,
                            seed=seed, progress=progress)
    return model, record, codebook
