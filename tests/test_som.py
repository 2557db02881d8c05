"""Tests of helpers.som against MiniSom itself, and of the `som` benchmark's command line."""

from __future__ import annotations

import copy
import re
import warnings

import numpy as np
import pytest
from minisom import MiniSom

from helpers.bench import main as bench_main
from helpers.som import (
    bmu_indices,
    fit_layer_soms,
    fit_som,
    grid_coordinates,
    layer_codes,
    train_batch,
)

N_FEATURES = 5


@pytest.fixture(scope="module")
def data() -> np.ndarray:
    """Two well-separated blobs plus noise, 200 x 5."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, N_FEATURES))
    x[:100] += 3.0
    return x


def make_som(rows: int = 5, cols: int = 5, **kwargs) -> MiniSom:
    """A MiniSom on N_FEATURES inputs, silencing its advice about sigma for bubble/triangle."""
    kwargs.setdefault("random_seed", 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return MiniSom(rows, cols, N_FEATURES, **kwargs)


def assert_matches_minisom(
    som: MiniSom, data: np.ndarray, num_iteration: int = 10, pca: bool = True
) -> None:
    """Train copies of ``som`` both ways from the same weights; the weights must agree."""
    if pca:
        som.pca_weights_init(data)
    reference, ours = som, copy.deepcopy(som)
    assert np.array_equal(reference.get_weights(), ours.get_weights())
    reference.train_batch_offline(data, num_iteration)
    assert train_batch(ours, data, num_iteration) is ours
    np.testing.assert_allclose(ours.get_weights(), reference.get_weights(), rtol=0, atol=1e-6)


@pytest.mark.parametrize("topology", ["rectangular", "hexagonal"])
@pytest.mark.parametrize("neighborhood", ["gaussian", "mexican_hat", "bubble", "triangle"])
@pytest.mark.parametrize("shape", [(5, 5), (4, 7), (7, 3)])
def test_train_batch_matches_minisom_maps(data, shape, neighborhood, topology):
    som = make_som(*shape, sigma=2.0, neighborhood_function=neighborhood, topology=topology)
    assert_matches_minisom(som, data)


@pytest.mark.parametrize("sigma", [0.3, 1.0, 1.7, 4.0])
@pytest.mark.parametrize("neighborhood", ["gaussian", "bubble"])
def test_train_batch_matches_minisom_sigmas(data, sigma, neighborhood):
    # sigma 0.3: far gaussian weights underflow to 0, so nodes without nearby hits keep theirs
    som = make_som(6, 4, sigma=sigma, neighborhood_function=neighborhood)
    assert_matches_minisom(som, data)


@pytest.mark.parametrize(
    "sigma_decay", ["asymptotic_decay", "inverse_decay_to_one", "linear_decay_to_one"]
)
@pytest.mark.parametrize(
    "decay", ["asymptotic_decay", "inverse_decay_to_zero", "linear_decay_to_zero"]
)
def test_train_batch_matches_minisom_decays(data, decay, sigma_decay):
    som = make_som(5, 6, sigma=2.5, decay_function=decay, sigma_decay_function=sigma_decay)
    assert_matches_minisom(som, data, num_iteration=12)


def test_train_batch_matches_minisom_callable_decay_random_init(data):
    som = make_som(5, 5, sigma=1.5, learning_rate=0.9, decay_function=lambda lr, t, T: lr * 0.8**t)
    assert_matches_minisom(som, data.astype(np.float32), pca=False)


def test_train_batch_one_iteration_and_continued_training(data):
    som = make_som(4, 4, sigma=1.5)
    assert_matches_minisom(som, data, num_iteration=1)
    ours = copy.deepcopy(som)
    som.train_batch_offline(data, 3)
    train_batch(ours, data, 3)
    np.testing.assert_allclose(ours.get_weights(), som.get_weights(), rtol=0, atol=1e-6)


@pytest.mark.parametrize("distance", ["cosine", "manhattan", "chebyshev"])
def test_unsupported_activation_distance(data, distance):
    som = make_som(activation_distance=distance)
    with pytest.raises(ValueError, match="euclidean"):
        train_batch(som, data, 2)
    with pytest.raises(ValueError, match="euclidean"):
        bmu_indices(som, data)


@pytest.mark.parametrize(
    ("bad", "num_iteration", "message"),
    [
        (np.zeros((10, N_FEATURES + 1)), 2, "features"),
        (np.zeros(N_FEATURES), 2, "2-D"),
        (np.zeros((2, 3, N_FEATURES)), 2, "2-D"),
        (np.zeros((0, N_FEATURES)), 2, "no samples"),
        (np.full((3, N_FEATURES), np.nan), 2, "NaN"),
        (np.zeros((10, N_FEATURES)), 0, "num_iteration"),
        (np.zeros((10, N_FEATURES)), 2.5, "num_iteration"),
    ],
)
def test_train_batch_rejects_bad_input(bad, num_iteration, message):
    som = make_som()
    before = som.get_weights().copy()
    with pytest.raises(ValueError, match=message):
        train_batch(som, bad, num_iteration)
    assert np.array_equal(som.get_weights(), before)


def winners(som: MiniSom, data: np.ndarray) -> np.ndarray:
    shape = som.get_weights().shape[:2]
    return np.array([np.ravel_multi_index(som.winner(x), shape) for x in data])


@pytest.mark.parametrize("topology", ["rectangular", "hexagonal"])
def test_bmu_indices_equals_winner(data, topology):
    som = make_som(6, 4, sigma=1.5, topology=topology)
    som.pca_weights_init(data)
    train_batch(som, data, 5)
    codes = bmu_indices(som, data, batch_size=37)
    assert codes.dtype == np.int64
    assert codes.shape == (len(data),)
    np.testing.assert_array_equal(codes, winners(som, data))


def test_bmu_indices_resolves_ties_like_minisom():
    # Duplicate nodes and midpoints between nodes: distances equal in exact arithmetic, so the
    # winner depends on rounding and first-index tie-breaking, which must be MiniSom's.
    rng = np.random.default_rng(3)
    som = make_som(6, 5)
    weights = som.get_weights().reshape(30, N_FEATURES)
    weights[10:20] = weights[:10]
    a, b = rng.integers(0, 30, (2, 300))
    data = np.vstack([(weights[a] + weights[b]) / 2, weights, rng.standard_normal((50, 5))])
    np.testing.assert_array_equal(bmu_indices(som, data), winners(som, data))
    assert_matches_minisom(som, data, num_iteration=3, pca=False)


def test_bmu_indices_rejects_bad_input(data):
    som = make_som()
    with pytest.raises(ValueError, match="features"):
        bmu_indices(som, data[:, :3])
    with pytest.raises(ValueError, match="batch_size"):
        bmu_indices(som, data, batch_size=0)


def test_minisom_methods_work_after_train_batch(data):
    som = make_som(6, 6, sigma=1.5)
    som.pca_weights_init(data)
    error_before = som.quantization_error(data)
    train_batch(som, data, 10)
    assert som.quantization_error(data) < error_before
    assert 0.0 <= som.topographic_error(data) <= 1.0
    distances = som.distance_map()
    assert distances.shape == (6, 6)
    assert np.all((distances >= 0) & (distances <= 1)) and distances.max() == 1.0
    labels = np.repeat([0, 1], 100)
    counts = som.labels_map(data, labels)
    assert sum(sum(c.values()) for c in counts.values()) == len(data)
    np.testing.assert_array_equal(
        som.activation_response(data).ravel(), np.bincount(bmu_indices(som, data), minlength=36)
    )


def test_grid_coordinates_rectangular():
    som = make_som(3, 4)
    coords = grid_coordinates(som)
    assert coords.shape == (12, 2) and coords.dtype == np.float64
    rows, cols = np.unravel_index(np.arange(12), (3, 4))
    np.testing.assert_array_equal(coords, np.column_stack([rows, cols]))


def test_grid_coordinates_hexagonal_neighbours_are_one_apart():
    som = make_som(5, 6, topology="hexagonal")
    coords = grid_coordinates(som)
    xx, yy = som.get_euclidean_coordinates()
    for flat in range(30):
        np.testing.assert_array_equal(coords[flat], [xx.ravel()[flat], yy.ravel()[flat]])
    distances = np.linalg.norm(coords[:, None] - coords[None], axis=-1)
    np.fill_diagonal(distances, np.inf)
    # every node's nearest neighbours are at distance 1, interior nodes have six of them
    np.testing.assert_allclose(distances.min(axis=1), 1.0)
    assert np.isclose(distances, 1.0).sum(axis=1).max() == 6


def test_fit_som(data):
    som = fit_som(data, size=6, num_iteration=8)
    assert som.get_weights().shape == (6, 6, N_FEATURES)
    assert som._sigma == 1.5
    reference = MiniSom(6, 6, N_FEATURES, sigma=1.5, learning_rate=0.5, random_seed=0)
    reference.pca_weights_init(data)
    reference.train_batch_offline(data, 8)
    np.testing.assert_allclose(som.get_weights(), reference.get_weights(), rtol=0, atol=1e-6)
    assert fit_som(data, size=4, topology="hexagonal", num_iteration=2).topology == "hexagonal"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"size": 1}, "size"),
        ({"size": 4.0}, "size"),
        ({"sigma": 0.0}, "sigma"),
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"learning_rate": 1.5}, "learning_rate"),
        ({"num_iteration": 0}, "num_iteration"),
        ({"topology": "toroidal"}, "toroidal"),
    ],
)
def test_fit_som_rejects_bad_arguments(data, kwargs, message):
    with pytest.raises(ValueError, match=message):
        fit_som(data, **kwargs)


@pytest.mark.parametrize("shape", [(200,), (1, N_FEATURES), (200, 1)])
def test_fit_som_rejects_bad_data(shape):
    with pytest.raises(ValueError, match="2-D"):
        fit_som(np.zeros(shape))


def test_fit_som_rejects_nan_before_minisom_pca(data, monkeypatch):
    monkeypatch.setattr(MiniSom, "pca_weights_init", lambda *a: pytest.fail("reached MiniSom's PCA"))
    bad = np.array(data, dtype=np.float64)
    bad[3, 1] = np.nan
    bad[5, 0] = np.inf
    with pytest.raises(ValueError, match=r"^data must be finite \(no NaN or infinity\), got 1 NaN and 1 inf"):
        fit_som(bad, size=4)


@pytest.fixture(scope="module")
def layers() -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    rng = np.random.default_rng(1)
    fit = {"conv1": rng.standard_normal((120, 6)), "fc": rng.standard_normal((120, 3))}
    other = {"conv1": rng.standard_normal((40, 6)), "fc": rng.standard_normal((40, 3))}
    return (
        {k: v.astype(np.float32) for k, v in fit.items()},
        {k: v.astype(np.float32) for k, v in other.items()},
    )


def test_fit_layer_soms_and_layer_codes(layers):
    fit, other = layers
    soms = fit_layer_soms(fit, size=4, num_iteration=5)
    assert list(soms) == ["conv1", "fc"]
    assert soms["conv1"].get_weights().shape == (4, 4, 6)
    assert soms["fc"].get_weights().shape == (4, 4, 3)
    codes = layer_codes(soms, other)
    assert list(codes) == ["conv1", "fc"]
    for name, layer_code in codes.items():
        assert layer_code.shape == (40,) and layer_code.dtype == np.int64
        assert layer_code.min() >= 0 and layer_code.max() < 16
        np.testing.assert_array_equal(layer_code, winners(soms[name], other[name]))


def test_fit_layer_soms_errors(layers):
    fit, _ = layers
    with pytest.raises(ValueError, match="no layers"):
        fit_layer_soms({})
    with pytest.raises(ValueError, match="'fc'.*2-D"):
        fit_layer_soms({"fc": fit["fc"][0]}, size=3, num_iteration=2)
    with pytest.raises(ValueError, match="num_iteration"):
        fit_layer_soms(fit, size=3, num_iteration=0)


def test_layer_codes_errors(layers):
    fit, other = layers
    soms = fit_layer_soms(fit, size=3, num_iteration=2)
    with pytest.raises(ValueError, match="without a SOM \\['pool'\\]"):
        layer_codes(soms, {**other, "pool": other["fc"]})
    with pytest.raises(ValueError, match="missing from data \\['fc'\\]"):
        layer_codes(soms, {"conv1": other["conv1"]})
    with pytest.raises(ValueError, match="'fc'.*features"):
        layer_codes(soms, {"conv1": other["conv1"], "fc": other["conv1"]})


def test_bench_som_command_line(capsys):
    bench_main("som --n-samples 150 --n-features 8 --size 4 --iterations 3 --repeats 1".split())
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and "train_batch=" in lines[0]
    match = re.fullmatch(r"som_speedup=(\d+\.\d) max_abs_weight_diff=(\S+)", lines[-1])
    assert match and float(match.group(2)) <= 1e-6
    with pytest.raises(SystemExit):
        bench_main(["som", "--size", "0"])
