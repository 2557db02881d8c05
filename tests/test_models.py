from __future__ import annotations

import pytest
import torch

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
