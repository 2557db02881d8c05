from __future__ import annotations

import numpy as np
import pytest
import torch
from matplotlib import pyplot as plt

from helpers import metrics, plots
from helpers.codes import fit_codebook
from helpers.data import load_split, random_subset
from helpers.models import build_model
from helpers.som import bmu_indices


@pytest.fixture(scope="module")
def setup():
    torch.manual_seed(0)
    model = build_model("mnist_cnn").eval()
    x, y = load_split("mnist", train=False)
    x, y = random_subset(x, y, 400, seed=0)
    book = fit_codebook(model, x[:300], y[:300], som_size=5, num_iteration=5, pool_size=2, progress=False)
    return model, book, x, y.numpy()


def test_codebook_layers_and_grid(setup) -> None:
    _, book, _, _ = setup
    assert book.layers == ["pixels", "conv1", "conv2", "conv3", "fc", "logits"]
    assert book.grid_shape == (5, 5) and book.n_nodes == 25
    assert book.coordinates.shape == (25, 2)
    assert all(codes.shape == (300,) for codes in book.fit_codes.values())


def test_encoding_the_fit_images_reproduces_the_fit_codes(setup) -> None:
    model, book, x, _ = setup
    again = book.encode(model, x[:300])
    for layer in book.layers:
        np.testing.assert_array_equal(again[layer], book.fit_codes[layer])


def test_new_images_use_the_fit_standardization(setup) -> None:
    model, book, x, _ = setup
    acts = book.activations(model, x[300:])
    assert acts["conv2"].shape == (100, 32 * 2 * 2)
    codes = book.encode(model, x[300:])
    np.testing.assert_array_equal(codes["fc"], bmu_indices(book.soms["fc"], acts["fc"]))


def test_node_labels_are_fit_majorities_and_measures_cover_every_layer(setup) -> None:
    model, book, x, y = setup
    np.testing.assert_array_equal(
        book.node_labels["conv1"],
        metrics.node_majority_labels(book.fit_codes["conv1"], y[:300], 25, 10))
    measures = book.measures(book.encode(model, x[300:]), y[300:])
    assert set(measures) == set(book.layers)
    assert all(0 <= m["homogeneity_index"] <= 1 for m in measures.values())
    quality = book.quality(book.activations(model, x[300:]))
    assert all(q["quantization_error"] > 0 for q in quality.values())


def test_node_class_counts_on_a_hand_example() -> None:
    counts = metrics.node_class_counts([0, 0, 2, 2, 2], [1, 1, 0, 1, 1], n_nodes=3, n_classes=2)
    np.testing.assert_array_equal(counts, [[0, 2], [0, 0], [1, 2]])


def test_class_map_colors_pure_nodes_fully_and_empty_nodes_white() -> None:
    counts = np.array([[5, 0], [0, 0], [1, 1], [0, 3]])
    fig, ax = plt.subplots()
    plots.class_map(ax, counts, (2, 2))
    rgb = ax.images[0].get_array()
    palette = np.array(plots.sns.color_palette(plots.CLASS_PALETTE, 2))
    np.testing.assert_allclose(rgb[0, 0], palette[0])          # pure class 0
    np.testing.assert_allclose(rgb[0, 1], [1, 1, 1])            # empty node
    np.testing.assert_allclose(rgb[1, 0], 0.5 * palette[0] + 0.5)  # half pure, faded halfway
    np.testing.assert_allclose(rgb[1, 1], palette[1])
    plt.close(fig)
