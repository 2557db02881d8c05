from __future__ import annotations

import numpy as np
import pytest
import torch
from matplotlib import pyplot as plt
from minisom import MiniSom

from helpers import metrics, plots
from helpers.activations import Standardizer, extract_activations, reduce_activation
from helpers.codes import LayerCodebook, codebook_for, fit_codebook, fit_codebook_on_activations
from helpers.data import load_split, random_subset
from helpers.models import build_model
from helpers.som import bmu_indices
from helpers.training import TrainConfig, load_or_train


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


def test_quantization_errors_per_input_average_to_minisoms_quantization_error(setup) -> None:
    model, book, x, _ = setup
    acts = book.activations(model, x[300:])
    errors = book.quantization_errors(acts, book.encode_activations(acts))
    quality = book.quality(acts)
    for layer in book.layers:
        assert errors[layer].shape == (100,) and (errors[layer] >= 0).all()
        assert errors[layer].mean() == pytest.approx(quality[layer]["quantization_error"], rel=1e-9)


def test_encode_activations_matches_encode_and_takes_a_subset_of_layers(setup) -> None:
    model, book, x, _ = setup
    activations = book.activations(model, x[300:])
    from_activations = book.encode_activations(activations)
    direct = book.encode(model, x[300:])
    assert list(from_activations) == book.layers
    for layer in book.layers:
        np.testing.assert_array_equal(from_activations[layer], direct[layer])
    only_fc = book.encode_activations({"fc": activations["fc"]})
    assert list(only_fc) == ["fc"]
    np.testing.assert_array_equal(only_fc["fc"], direct["fc"])
    with pytest.raises(ValueError, match="^layer must be one of 'pixels', .*, got 'fc2'.$"):
        book.encode_activations({"fc2": activations["fc"]})


@pytest.fixture
def hand_book() -> LayerCodebook:
    """A 2 x 2 map whose fit codes and labels are set by hand (nodes 0..3, classes 0..2)."""
    som = MiniSom(2, 2, 3, random_seed=0)
    standardizer = Standardizer({"a": np.zeros(3)}, {"a": 1.0})
    return LayerCodebook({"a": som}, standardizer, None, {"a": np.array([0, 0, 1, 3, 3, 3])},
                         np.array([1, 1, 0, 2, 2, 0]), n_classes=3)


def test_class_counts_readout_and_sharing_on_a_hand_example(hand_book) -> None:
    np.testing.assert_array_equal(hand_book.class_counts("a"), [[0, 2, 0], [1, 0, 0], [0, 0, 0], [1, 0, 2]])
    np.testing.assert_array_equal(hand_book.node_labels["a"], [1, 0, -1, 2])
    np.testing.assert_array_equal(hand_book.readout("a", np.array([3, 2, 0, 1])), [2, -1, 1, 0])
    p = np.array([1 / 3, 2 / 3])
    np.testing.assert_allclose(hand_book.sharing("a"), [0, 0, np.nan, -(p * np.log(p)).sum() / np.log(3)])
    for method, args in [(hand_book.class_counts, ()), (hand_book.readout, (np.array([0]),)),
                         (hand_book.sharing, ())]:
        with pytest.raises(ValueError, match="^layer must be one of 'a', got 'b'.$"):
            method("b", *args)


def test_distance_map_is_the_mean_distance_to_grid_neighbours_scaled_to_one(hand_book) -> None:
    hand_book.soms["a"]._weights[...] = 0.0
    hand_book.soms["a"]._weights[1, 1, 0] = 3.0  # one node 3 away from the three others, all neighbours
    np.testing.assert_allclose(hand_book.distance_map("a"), [[1 / 3, 1 / 3], [1 / 3, 1.0]])
    with pytest.raises(ValueError, match="^layer must be one of 'a', got 'b'.$"):
        hand_book.distance_map("b")


def test_codebook_for_fits_on_the_seeded_subset_of_the_training_images(tmp_path) -> None:
    config = TrainConfig(seed=3, epochs=0)
    settings = dict(n_som_fit=200, som_size=4, som_iterations=3, pool_size=2, cache_dir=tmp_path,
                    progress=False)
    model, record, book = codebook_for(config, **settings)
    cached, cached_record = load_or_train(config, cache_dir=tmp_path, progress=False)
    assert record == cached_record
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), cached.parameters()))
    x_train, y_train = load_split("mnist", train=True)
    x_fit, y_fit = random_subset(x_train, y_train, 200, seed=3)
    np.testing.assert_array_equal(book.fit_labels, y_fit.numpy())
    by_hand = fit_codebook(model, x_fit, y_fit, som_size=4, num_iteration=3, pool_size=2, seed=3,
                           progress=False)
    assert book.grid_shape == (4, 4) and book.pool_size == 2
    for layer in book.layers:
        np.testing.assert_array_equal(book.fit_codes[layer], by_hand.fit_codes[layer])
    _, _, other = codebook_for(config, seed=4, **settings)
    np.testing.assert_array_equal(other.fit_labels, random_subset(x_train, y_train, 200, seed=4)[1].numpy())


def test_codebook_on_given_activations_fits_pooled_pixels_as_fit_codebook_fits_a_layer(setup) -> None:
    model, book, x, y = setup
    pooled = reduce_activation(x, 2).numpy()                         # pixels average-pooled to 2 x 2
    assert pooled.shape == (400, 4)
    name = "pooled pixels"
    pooled_book = fit_codebook_on_activations({name: pooled[:300]}, y[:300], som_size=5, num_iteration=5,
                                              pool_size=2)
    assert pooled_book.layers == [name] and pooled_book.soms[name].get_weights().shape == (5, 5, 4)
    np.testing.assert_allclose(pooled_book.standardizer.mean[name], pooled[:300].mean(0), rtol=1e-5)
    again = pooled_book.encode_activations(pooled_book.standardizer.transform({name: pooled[:300]}))
    np.testing.assert_array_equal(again[name], pooled_book.fit_codes[name])
    pixels = extract_activations(model, x[:300], layers=["pixels"], progress=False)
    same = fit_codebook_on_activations(pixels, y[:300], som_size=5, num_iteration=5)
    np.testing.assert_array_equal(same.fit_codes["pixels"], book.fit_codes["pixels"])


def test_node_class_counts_on_a_hand_example() -> None:
    counts = metrics.node_class_counts([0, 0, 2, 2, 2], [1, 1, 0, 1, 1], n_nodes=3, n_classes=2)
    np.testing.assert_array_equal(counts, [[0, 2], [0, 0], [1, 2]])


def test_class_map_colors_pure_nodes_fully_and_empty_nodes_white() -> None:
    counts = np.array([[5, 0], [0, 0], [1, 1], [0, 3]])
    fig, ax = plt.subplots()
    plots.class_map(ax, counts, (2, 2))
    rgb = ax.images[0].get_array()
    palette = np.array(plots.sns.color_palette(plots.CLASS_COLORS, 2))
    np.testing.assert_allclose(rgb[0, 0], palette[0])          # pure class 0
    np.testing.assert_allclose(rgb[0, 1], [1, 1, 1])            # empty node
    np.testing.assert_allclose(rgb[1, 0], 0.5 * palette[0] + 0.5)  # half pure, faded halfway
    np.testing.assert_allclose(rgb[1, 1], palette[1])
    plt.close(fig)
