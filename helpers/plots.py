"""One visual style for the series, and figure saving."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

from helpers.io import atomic_write

CLASS_PALETTE = "tab10"


def use_style() -> None:
    """The series' plotting style (call once in a notebook's setup cell)."""
    sns.set_theme(context="notebook", style="whitegrid", palette="deep")
    plt.rcParams.update({"figure.dpi": 100, "savefig.dpi": 130, "savefig.bbox": "tight",
                         "axes.titleweight": "bold", "image.cmap": "viridis"})


def save_figure(fig: plt.Figure, out_dir: Path, name: str) -> Path:
    """Save `fig` as `<out_dir>/<name>.png`, atomically, and return the path."""
    path = Path(out_dir) / f"{name}.png"
    return atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"))


def class_map(
    ax: plt.Axes, class_counts: np.ndarray, grid_shape: tuple[int, int], title: str | None = None
) -> plt.Axes:
    """Color each SOM node by the majority class it wins, faded by its purity; empty nodes white.

    `class_counts` is (n_nodes, n_classes), e.g. from `metrics.node_class_counts`.
    """
    colors = np.array(sns.color_palette(CLASS_PALETTE, class_counts.shape[1]))
    totals = class_counts.sum(axis=1)
    purity = np.divide(class_counts.max(axis=1), totals, out=np.zeros(len(totals)), where=totals > 0)
    rgb = colors[class_counts.argmax(axis=1)] * purity[:, None] + (1 - purity[:, None])
    ax.imshow(rgb.reshape(*grid_shape, 3), origin="lower", interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    if title:
        ax.set_title(title)
    return ax


def class_legend(fig: plt.Figure, class_names: list[str], **kwargs) -> None:
    """A legend of the class colors used by `class_map`."""
    colors = sns.color_palette(CLASS_PALETTE, len(class_names))
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in colors]
    fig.legend(handles, class_names, **{"loc": "center right", "title": "class", **kwargs})
