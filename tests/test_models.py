from __future__ import annotations

import re

import pytest
import torch
from torchvision.models.feature_extraction import create_feature_extractor

from helpers.models import ARCHITECTURES, build_model, predict_logits


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_logits_and_probe_layers(arch: str) -> None:
    model = build_model(arch)
    x = torch.rand(4, *model.input_shape)
    assert model(x).shape == (4, 10)
    assert model.probe_layers == ["conv1", "conv2", "conv3", "fc", "logits"]


def test_normalization_is_inside_the_model() -> None:
    model = build_model("mnist_cnn")
    x = torch.full((1, 1, 28, 28), 0.1307)
    assert torch.allclose(model.normalize(x), torch.zeros_like(x), atol=1e-6)


def test_same_seed_same_initialization() -> None:
    torch.manual_seed(3)
    a = build_model("mnist_cnn")
    torch.manual_seed(3)
    b = build_model("mnist_cnn")
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


def test_unknown_architecture_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="arch must be one of 'mnist_cnn', 'cifar_cnn', got 'resnet'."):
        build_model("resnet")


def test_predict_logits_batches_and_restores_the_mode() -> None:
    torch.manual_seed(0)
    model = build_model("mnist_cnn").train()
    x = torch.rand(7, 1, 28, 28)
    logits = predict_logits(model, x, batch_size=3)
    assert model.training  # the train/eval mode the model came with
    with torch.no_grad():
        expected = model.eval()(x)
    assert logits.shape == (7, 10) and logits.device.type == "cpu" and not logits.requires_grad
    torch.testing.assert_close(logits, expected)


@pytest.mark.parametrize("shape", [(4, 3, 28, 28), (4, 784), (1, 28, 28)])
def test_a_wrong_input_shape_is_a_clear_error(shape: tuple[int, ...]) -> None:
    model = build_model("mnist_cnn")
    given = re.escape(str(shape))
    expected = rf"x must be a batch of images of shape \(n, 1, 28, 28\), got shape {given}\."
    with pytest.raises(ValueError, match=expected):
        model(torch.rand(shape))
    with pytest.raises(ValueError, match=expected):
        predict_logits(model, torch.rand(shape))


def test_feature_extraction_still_traces_the_model() -> None:
    model = build_model("cifar_cnn").eval()
    extractor = create_feature_extractor(model, return_nodes={"fc_relu": "fc", "logits": "logits"})
    x = torch.rand(2, 3, 32, 32)
    out = extractor(x)
    torch.testing.assert_close(out["logits"], model(x))
    with pytest.raises(ValueError, match=r"x must be a batch of images of shape \(n, 3, 32, 32\)"):
        extractor(torch.rand(2, 1, 28, 28))
