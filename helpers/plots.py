"""One visual style for the series, and figure saving."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import seaborn as sns

from helpers.io import atomic_write

LAYER_PALETTE = "viridis"
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
