"""One visual style for the series: figure saving, digit images, layer axes, one palette, legends.

One colour per thing, in every figure of every lesson: `PALETTE` names the colour of each input kind
(clean and its perturbations), each model and each condition, and lessons take colours only from it
(`color`), from `CLASS_COLORS` for the ten classes, or from `ordered_colors` for ordered values (a sweep
of budgets, layers by depth). Black is the reference of each kind (the clean input, the standard
model); a chance level is drawn in its condition's colour with `CHANCE_LINE`; `NEUTRAL` gray is for
guides such as a zero line. Perturbations take Okabe-Ito colours, distinct for colour-blind readers,
and no model takes one of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.legend import Legend

from helpers.io import atomic_write

CLASS_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                "#8c564b", "#e377c2", "#000080", "#bcbd22", "#17becf")
"""The ten classes: matplotlib's tab10 with navy for class 7 instead of gray (a faded node reads gray)."""

INPUT_COLORS = {"clean": "#000000", "fgsm": "#0072B2", "pgd": "#D55E00", "noise": "#CC79A7",
                "transplanted": "#E69F00"}
"""Inputs: the clean image (black) and its perturbations (Okabe-Ito blue, vermillion, reddish purple,
orange); "transplanted" is another image's PGD perturbation (lesson 07). An attack's accuracy takes its
colour too."""

MODEL_COLORS = {
    "standard": "#000000", "untrained": "#999999",
    "500 images": "#DDCC77", "1,000 images": "#999933", "5,000 images": "#117733",
    "5,000 images, 1 epoch": "#44AA99", "40% noise, 4 epochs": "#AA4499", "40% noise, memorized": "#661100",
    "FGSM-RS, ε = 0.1": "#56B4E9", "FGSM-RS, ε = 0.3": "#009E73", "plain FGSM, ε = 0.3": "#882255",
    "λ = 0": "#88CCEE", "λ = 0.1": "#6699CC", "λ = 1": "#332288", "λ = 10": "#B8860B",
}
"""Models: the standard model of lesson 01 (black), the untrained control (gray), lesson 06's family and
lesson 08's consistency sweep (λ = 0 is adversarial training alone; λ = 1 is the regularized model)."""

PALETTE = {**INPUT_COLORS, **MODEL_COLORS}
"""Every named thing's colour: `INPUT_COLORS` and `MODEL_COLORS` together."""

NEUTRAL = "0.6"
"""Gray for guides (a zero line, a reference budget), never for a thing of `PALETTE`."""

INK = "#333333"
"""Dark gray for the one series of a plot that compares no things (a measure over a parameter)."""

CHANCE_LINE = {"ls": "--", "lw": 1.2, "alpha": 0.8}
"""How a chance level is drawn: dashed, in the colour of the condition it belongs to."""

ATTACK_NAMES = {"fgsm": "FGSM", "pgd": "PGD", "noise": "noise (control)"}
ATTACK_COLORS = {name: INPUT_COLORS[name] for name in ATTACK_NAMES}
"""The three perturbations of lessons 04 and 05, by key; their colours are those of `INPUT_COLORS`."""


def color(name: str) -> str:
    """The series' colour for input kind, model or condition `name` (a key of `PALETTE`).

    >>> color("pgd"), color("standard")
    ('#D55E00', '#000000')
    """
    try:
        return PALETTE[name]
    except KeyError:
        raise KeyError(f"{name!r} has no colour in the series' palette; add it to helpers.plots "
                       f"(known: {', '.join(PALETTE)}).") from None


def use_style() -> None:
    """The series' plotting style (call once in a notebook's setup cell)."""
    sns.set_theme(context="notebook", style="whitegrid", palette="deep")
    plt.rcParams.update({"figure.dpi": 100, "savefig.dpi": 130, "savefig.bbox": "tight",
                         "axes.titleweight": "bold", "image.cmap": "viridis"})


def save_figure(fig: Figure, out_dir: Path, name: str) -> Path:
    """Save `fig` as `<out_dir>/<name>.png`, atomically, and return the path."""
    path = Path(out_dir) / f"{name}.png"
    return atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"))


def save_and_show(fig: Figure, out_dir: Path, name: str) -> None:
    """`save_figure`, then show the figure and close it (so it is neither shown twice nor kept).

    Returns nothing, so that a lesson cell ending with it prints no path.
    """
    save_figure(fig, out_dir, name)
    plt.show()
    plt.close(fig)


def hide_ticks(ax: Axes) -> Axes:
    """No ticks, no tick labels and no grid: for images and maps."""
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    return ax


def show_digit(
    ax: Axes, image: torch.Tensor | np.ndarray, title: str | None = None, **title_kwargs: Any
) -> Axes:
    """Draw an image in [0, 1] (H x W, 1 x H x W, or 3 x H x W): black ink on white for gray images.

    `title_kwargs` go to `ax.set_title` (fontsize 9 unless given).
    """
    pixels = image.detach().cpu().numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
    if pixels.ndim == 3 and pixels.shape[0] == 1:
        pixels = pixels[0]
    if pixels.ndim == 3 and pixels.shape[0] == 3:
        ax.imshow(pixels.transpose(1, 2, 0).clip(0, 1))
    elif pixels.ndim == 2:
        ax.imshow(pixels, cmap="gray_r", vmin=0, vmax=1)
    else:
        raise ValueError(f"image must have shape (H, W), (1, H, W) or (3, H, W), got {pixels.shape}.")
    if title is not None:
        ax.set_title(title, **{"fontsize": 9, **title_kwargs})
    return hide_ticks(ax)


def layer_axis(ax: Axes, layers: Sequence[str], label: str = "layer", rotation: float = 30) -> np.ndarray:
    """Put `layers` as x tick labels at 0 .. n-1 (input to output); return those positions to plot at."""
    depth = np.arange(len(layers))
    ax.set_xticks(depth, list(layers), rotation=rotation, ha="right" if rotation else "center",
                  rotation_mode="anchor")
    ax.set_xlabel(label)
    return depth


def ordered_colors(n: int, cmap: str = "viridis") -> np.ndarray:
    """`n` colours along a sequential colormap, for ordered values such as a sweep of epsilons."""
    return plt.get_cmap(cmap)(np.linspace(0, 0.9, n))


def _labelled_handles(axes: Sequence[Axes]) -> tuple[list[Any], list[str]]:
    """The labelled artists of `axes`, each label once, in order of first appearance."""
    handles, labels = [], []
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            if label not in labels:
                handles.append(handle)
                labels.append(label)
    return handles, labels


def legend_outside(
    target: Figure | Axes,
    handles: Sequence[Any] | None = None,
    labels: Sequence[str] | None = None,
    **kwargs: Any,
) -> Legend:
    """A legend to the right of an axes, or of all a figure's axes, so that it never covers data.

    Without `handles`, it collects the labelled artists of the axes (of every axes of a figure),
    each label once. `kwargs` go to matplotlib's `legend` (title, fontsize, loc ...). A figure
    with ``layout="constrained"`` makes room for the legend; save with ``bbox_inches="tight"``
    (the series' style) otherwise.
    """
    axes = [target] if isinstance(target, Axes) else target.axes
    if handles is None:
        handles, labels = _labelled_handles(axes)
    if isinstance(target, Axes):
        options = {"loc": "upper left", "bbox_to_anchor": (1.02, 1.0), "borderaxespad": 0.0}
    elif isinstance(target.get_layout_engine(), ConstrainedLayoutEngine):
        options = {"loc": "outside right center"}
    else:
        options = {"loc": "center left", "bbox_to_anchor": (1.0, 0.5)}
    return target.legend(handles, labels, **{**options, **kwargs})


def class_map(
    ax: Axes, class_counts: np.ndarray, grid_shape: tuple[int, int], title: str | None = None
) -> Axes:
    """Color each SOM node by the majority class it wins, faded by its purity; empty nodes white.

    `class_counts` is (n_nodes, n_classes), e.g. from `metrics.node_class_counts`.
    """
    colors = np.array(sns.color_palette(CLASS_COLORS, class_counts.shape[1]))
    totals = class_counts.sum(axis=1)
    purity = np.divide(class_counts.max(axis=1), totals, out=np.zeros(len(totals)), where=totals > 0)
    rgb = colors[class_counts.argmax(axis=1)] * purity[:, None] + (1 - purity[:, None])
    ax.imshow(rgb.reshape(*grid_shape, 3), origin="lower", interpolation="nearest")
    hide_ticks(ax)
    if title:
        ax.set_title(title)
    return ax


def class_legend(fig: Figure, class_names: list[str], **kwargs: Any) -> Legend:
    """A legend of the class colors used by `class_map`, outside the figure's axes."""
    colors = sns.color_palette(CLASS_COLORS, len(class_names))
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in colors]
    return legend_outside(fig, handles, class_names, **{"title": "class", **kwargs})
