from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from helpers.activations import Standardizer, extract_activations, layer_names
from helpers.models import build_model


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return build_model("mnist_cnn").eval()


@pytest.fixture(scope="module")
def x():
    return torch.rand(37, 1, 28, 28, generator=torch.Generator().manual_seed(1))


def test_shapes_of_every_layer(model, x) -> None:
    acts = extract_activations(model, x, pool_size=4, batch_size=10, progress=False)
    assert list(acts) == layer_names(model) == ["pixels", "conv1", "conv2", "conv3", "fc", "logits"]
    shapes = {k: v.shape for k, v in acts.items()}
    assert shapes == {"pixels": (37, 784), "conv1": (37, 256), "conv2": (37, 512),
                      "conv3": (37, 1024), "fc": (37, 128), "logits": (37, 10)}
    assert all(v.dtype == np.float32 for v in acts.values())
    assert all((acts[k] >= 0).all() for k in ("conv1", "conv2", "conv3", "fc"))  # ReLU outputs


def test_values_match_a_manual_forward_pass(model, x) -> None:
    acts = extract_activations(model, x, pool_size=2, batch_size=8, progress=False)
    with torch.no_grad():
        conv1 = model.block1.relu(model.block1.conv(model.normalize(x)))
        logits = model(x)
    expected = F.adaptive_avg_pool2d(conv1, 2).flatten(1).numpy()
    np.testing.assert_allclose(acts["conv1"], expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(acts["logits"], logits.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(acts["pixels"], x.flatten(1).numpy())


def test_batching_does_not_change_results(model, x) -> None:
    a = extract_activations(model, x, layers=["conv2"], batch_size=5, progress=False)
    b = extract_activations(model, x, layers=["conv2"], batch_size=100, progress=False)
    np.testing.assert_allclose(a["conv2"], b["conv2"], rtol=1e-5, atol=1e-6)


def test_no_pooling_keeps_full_maps(model, x) -> None:
    acts = extract_activations(model, x, layers=["conv3"], pool_size=None, progress=False)
    assert acts["conv3"].shape == (37, 64 * 7 * 7)


def test_unknown_layer_is_a_clear_error(model, x) -> None:
    with pytest.raises(ValueError, match=r"layers\[0\] must be one of 'pixels', 'conv1'.*, got 'conv9'\."):
        extract_activations(model, x, layers=["conv9"], progress=False)


def test_standardizer_centers_features_and_scales_each_layer_once() -> None:
    rng = np.random.default_rng(0)
    a = np.column_stack([rng.normal(3, 2, 2000), rng.normal(-1, 1, 2000), np.full(2000, 5.0)])
    fit = {"a": a.astype(np.float32), "b": np.zeros((2000, 2), np.float32)}
    z = Standardizer.fit(fit).transform(fit)
    np.testing.assert_allclose(z["a"].mean(0), 0, atol=1e-4)
    np.testing.assert_allclose(z["a"].var(0).mean(), 1, rtol=1e-4)       # unit variance on average
    np.testing.assert_allclose(z["a"].std(0)[0] / z["a"].std(0)[1], 2, rtol=0.05)  # geometry kept
    np.testing.assert_array_equal(z["a"][:, 2], 0)
    np.testing.assert_array_equal(z["b"], 0)  # a constant layer stays finite


def test_a_change_in_a_quiet_feature_is_not_blown_up() -> None:
    rng = np.random.default_rng(1)
    quiet = np.column_stack([rng.normal(0, 1, (1000, 9)), rng.normal(0, 1e-4, 1000)]).astype(np.float32)
    standardizer = Standardizer.fit({"layer": quiet})
    nudged = quiet[:1].copy()
    nudged[0, 9] += 0.3
    before = standardizer.transform({"layer": quiet[:1]})["layer"]
    change = standardizer.transform({"layer": nudged})["layer"] - before
    assert np.abs(change).max() < 1.0  # per-feature z-scoring would make this about 3000


def test_standardizer_applies_the_fit_set_statistics_to_other_sets() -> None:
    fit = {"a": np.array([[0.0, 0.0], [2.0, 4.0]], np.float32)}
    standardizer = Standardizer.fit(fit)
    other = standardizer.transform({"a": np.array([[1.0, 2.0]], np.float32)})
    np.testing.assert_allclose(other["a"], 0, atol=1e-7)  # the fit set's mean maps to zero
    with pytest.raises(ValueError, match="layer must be one of 'a', got 'c'."):
        standardizer.transform({"c": fit["a"]})
