"""The networks of the series, each with named probe layers.

Inputs stay in pixel space [0, 1]; normalization is the model's first module, so attacks and
the pixel "layer 0" work on the images themselves. Probe layers are every ReLU output plus the
logits; `probe_nodes` maps the torch.fx node names that feature extraction needs to the short
names the lessons use. A network checks the shape of its input before its first layer.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from helpers.checks import check_choice

PIXELS = "pixels"


class Normalize(nn.Module):
    """Per-channel standardization inside the model."""

    def __init__(self, mean: tuple[float, ...], std: tuple[float, ...]) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


def check_input_shape(x: torch.Tensor, input_shape: tuple[int, ...], name: str = "x") -> torch.Tensor:
    """`x` itself, once it is a batch of images of `input_shape` (a clear error instead of a conv's)."""
    if x.dim() != 1 + len(input_shape) or tuple(x.shape[1:]) != tuple(input_shape):
        expected = ", ".join(map(str, input_shape))
        raise ValueError(
            f"{name} must be a batch of images of shape (n, {expected}), got shape {tuple(x.shape)}."
        )
    return x


torch.fx.wrap("check_input_shape")  # a call in the traced graph (feature extraction), run at each forward


def _conv_block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(OrderedDict(
        conv=nn.Conv2d(c_in, c_out, kernel_size=3, padding=1),
        relu=nn.ReLU(),
        pool=nn.MaxPool2d(2),
    ))


class ProbedCNN(nn.Module):
    """Three conv blocks (conv, ReLU, 2x2 max-pool), one hidden dense layer, logits."""

    def __init__(
        self,
        input_shape: tuple[int, int, int],
        channels: tuple[int, int, int],
        hidden: int,
        n_classes: int,
        mean: tuple[float, ...],
        std: tuple[float, ...],
    ) -> None:
        super().__init__()
        c_in, height, _ = input_shape
        self.input_shape, self.n_classes = input_shape, n_classes
        self.normalize = Normalize(mean, std)
        self.block1 = _conv_block(c_in, channels[0])
        self.block2 = _conv_block(channels[0], channels[1])
        self.block3 = _conv_block(channels[1], channels[2])
        self.flatten = nn.Flatten()
        side = height // 8
        self.fc = nn.Linear(channels[2] * side * side, hidden)
        self.fc_relu = nn.ReLU()
        self.logits = nn.Linear(hidden, n_classes)

    probe_nodes = {
        "block1.relu": "conv1",
        "block2.relu": "conv2",
        "block3.relu": "conv3",
        "fc_relu": "fc",
        "logits": "logits",
    }

    @property
    def probe_layers(self) -> list[str]:
        """Short names of the probe layers, input to output (pixels not included)."""
        return list(self.probe_nodes.values())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = check_input_shape(x, self.input_shape)
        x = self.block3(self.block2(self.block1(self.normalize(x))))
        return self.logits(self.fc_relu(self.fc(self.flatten(x))))


ARCHITECTURES = {
    "mnist_cnn": dict(
        input_shape=(1, 28, 28), channels=(16, 32, 64), hidden=128, n_classes=10,
        mean=(0.1307,), std=(0.3081,),
    ),
    "cifar_cnn": dict(
        input_shape=(3, 32, 32), channels=(32, 64, 128), hidden=256, n_classes=10,
        mean=(0.4914, 0.4822, 0.4465), std=(0.2470, 0.2435, 0.2616),
    ),
}


def build_model(arch: str) -> ProbedCNN:
    """A freshly initialized network of a known architecture (seed torch first for repeatability)."""
    check_choice(arch, "arch", ARCHITECTURES)
    return ProbedCNN(**ARCHITECTURES[arch])


@torch.no_grad()
def predict_logits(
    model: nn.Module, x: torch.Tensor, batch_size: int = 1000, device: torch.device | None = None
) -> torch.Tensor:
    """Logits for many inputs, batched, on CPU; the model's train/eval mode is restored."""
    device = device or next(model.parameters()).device
    was_training = model.training
    model.eval()
    out = [model(x[i:i + batch_size].to(device)).cpu() for i in range(0, len(x), batch_size)]
    model.train(was_training)
    return torch.cat(out)
