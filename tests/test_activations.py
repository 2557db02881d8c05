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
    with pytest.raises(ValueError, match=r"Unknown layer\(s\) \['conv9'\].*conv1"):
        extract_activations(model, x, layers=["conv9"], progress=False)


def test_standardizer_fit_on_one_set_applied_to_another() -> None:
    rng = np.random.default_rng(0)
    fit = {"a": rng.normal(3, 2, (500, 4)).astype(np.float32), "b": np.zeros((500, 2), np.float32)}
    z = Standardizer.fit(fit).transform(fit)
    np.testing.assert_allclose(z["a"].mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(z["a"].std(0), 1, atol=1e-4)
    np.testing.assert_array_equal(z["b"], 0)  # constant features stay finite
    other = Standardizer.fit(fit).transform({"a": np.full((1, 4), 3.0, np.float32)})
    assert np.abs(other["a"]).max() < 0.2
    with pytest.raises(ValueError, match="No standardization fit for layer"):
        Standardizer.fit(fit).transform({"c": fit["a"]})
