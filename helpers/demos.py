"""Interactive demos of a parameter that matters: a static figure at its default, a slider in Jupyter.

`slider_demo` draws the figure at the default value as an ordinary output (saved as a PNG, so an
executed notebook, the website and a reader without a kernel all see it) and returns a `LiveDemo`:
a slider that, in a live Jupyter kernel, redraws the figure for the chosen value under it. Without
a kernel the slider does nothing, and its text form says so. The values are a few precomputed ones,
so that a redraw only draws.

The lessons' demos: `draw_width_demo` (lesson 02: the SOM neighbourhood width on the 2-D toy) and
`draw_budget_demo` with `budget_path` (lesson 05: one digit's attacked twin and its codes through
the layers at one attack budget).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator

from helpers import plots
from helpers.attacks import AttackSweep
from helpers.codes import LayerCodebook

__all__ = ["LiveDemo", "budget_path", "draw_budget_demo", "draw_width_demo", "path_table", "pick_input",
           "slider_demo"]


class LiveDemo:
    """A slider over `values` and the output area it redraws `draw(value)` into, shown as one widget."""

    def __init__(
        self, draw: Callable[[Any], Figure], values: Sequence[Any], value: Any, description: str
    ) -> None:
        self.draw = draw
        self.slider = widgets.SelectionSlider(options=[(f"{v:g}", v) for v in values], value=value,
                                              description=description, continuous_update=False)
        self.output = widgets.Output()
        self.widget = widgets.VBox([self.slider, self.output])
        self.slider.observe(lambda change: self.redraw(change["new"]), names="value")

    def redraw(self, value: Any) -> None:
        """Draw the figure for `value` into the output area, replacing the one before."""
        with self.output:
            self.output.clear_output(wait=True)
            fig = self.draw(value)
            plt.show()
            plt.close(fig)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = self.widget._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = (f"Live demo: in a running Jupyter kernel, move the slider to redraw the "
                                f"figure for another {self.slider.description} (the figure above is the "
                                "default).")
        return bundle


def slider_demo(
    draw: Callable[[Any], Figure],
    values: Sequence[Any],
    default: Any,
    description: str,
    out_dir: Path,
    name: str,
) -> LiveDemo:
    """Show and save `draw(default)` as `<out_dir>/<name>.png`, and return the slider over `values`.

    A lesson cell ends with this call, so that Jupyter shows the slider under the static figure.
    """
    if default not in values:
        raise ValueError(f"default must be one of the slider's values {list(values)!r}, got {default!r}.")
    plots.save_and_show(draw(default), out_dir, name)
    return LiveDemo(draw, values, default, description)


def draw_width_demo(
    draw_grid: Callable[[Axes, np.ndarray, str], None],
    weights: Mapping[float, np.ndarray],
    quality: pd.DataFrame,
    sigma: float,
    default: float,
) -> Figure:
    """The toy SOM trained with start width `sigma`, and its fit against the width.

    Left: the grid of `weights[sigma]`, drawn by the lesson's `draw_grid(ax, weights, title)`.
    Middle and right: the quantization and topographic error of every run in `quality` (one row
    per width, columns as the lesson's `toy_quality`), with `sigma` marked and `default` dashed.
    """
    if sigma not in weights or sigma not in quality.index:
        raise ValueError(f"sigma must be one of the trained widths {sorted(weights)!r}, got {sigma!r}.")
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.7), layout="constrained",
                             gridspec_kw={"width_ratios": [1.1, 1, 1]})
    draw_grid(axes[0], weights[sigma], f"start width sigma = {sigma:g}")
    for ax, measure, unit in ((axes[1], "quantization error", "mean distance to the BMU"),
                              (axes[2], "topographic error", "share of points")):
        ax.plot(quality.index, quality[measure], "o-", color=plots.INK)
        ax.axvline(default, color=plots.NEUTRAL, ls="--", lw=1.2, label=f"the lesson's default ({default:g})")
        ax.plot(sigma, quality.loc[sigma, measure], "o", ms=13, mfc="none", mec=plots.INK, mew=2,
                label="the run on the left")
        ax.set(xscale="log", xlabel="start width sigma (grid steps, log scale)", ylabel=unit, title=measure,
               ylim=(0, None))
        ax.set_xticks(list(quality.index), [f"{width:g}" for width in quality.index], fontsize=9)
        ax.xaxis.set_minor_locator(NullLocator())
    plots.legend_outside(axes[2], fontsize=9)
    fig.suptitle("The neighbourhood width: how wide a node's pull reaches on the grid")
    return fig


def pick_input(budgets: np.ndarray, seed: int) -> int:
    """An input that the attack fools from the middle one of the budgets that fool any input.

    `budgets` is a sweep's `fooling_budget` (np.inf: never fooled); the choice among the inputs
    of that budget is random with `seed`.
    """
    finite = np.unique(budgets[np.isfinite(budgets)])
    if not len(finite):
        raise ValueError(f"budgets must fool at least one input (a finite value), got {budgets!r}.")
    middle = finite[(len(finite) - 1) // 2]
    return int(np.random.default_rng(seed).choice(np.flatnonzero(budgets == middle)))


def budget_path(
    codebook: LayerCodebook,
    sweep: AttackSweep,
    clean_codes: Mapping[str, np.ndarray],
    perturbed_codes: Mapping[tuple[str, float], Mapping[str, np.ndarray]],
    index: int,
    attack: str = "pgd",
) -> pd.DataFrame:
    """One input's twin at every budget of the sweep: the network's answer, and per layer how far
    (in grid steps) its code lies from the clean code and the class its node is read as (-1: empty).

    One row per epsilon; columns ``network says`` and ``(layer, "grid steps")``, ``(layer, "read as")``.
    """
    coordinates = codebook.coordinates
    rows = {}
    for eps in sweep.epsilons:
        row: dict[tuple[str, str], Any] = {("network says", ""): int(sweep.predictions[attack, eps][index])}
        for layer in codebook.layers:
            clean, twin = int(clean_codes[layer][index]), int(perturbed_codes[attack, eps][layer][index])
            row[layer, "grid steps"] = float(np.linalg.norm(coordinates[clean] - coordinates[twin]))
            row[layer, "read as"] = int(codebook.node_labels[layer][twin])
        rows[eps] = row
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("epsilon")


def path_table(path: pd.DataFrame) -> pd.DataFrame:
    """`budget_path` for reading: one column per budget, grid steps to one decimal, classes as digits
    and "empty" for a node that no fit input won."""
    def text(column: tuple[str, str], value: float) -> str:
        if column[1] == "grid steps":
            return f"{value:.1f}"
        return "empty" if value < 0 else str(int(value))
    return pd.DataFrame({column: [text(column, v) for v in path[column]] for column in path.columns},
                        index=[f"ε = {eps:g}" for eps in path.index]).T


def draw_budget_demo(
    codebook: LayerCodebook,
    sweep: AttackSweep,
    x: torch.Tensor,
    clean_codes: Mapping[str, np.ndarray],
    perturbed_codes: Mapping[tuple[str, float], Mapping[str, np.ndarray]],
    index: int,
    epsilon: float,
    attack: str = "pgd",
) -> Figure:
    """Input `index` of the attacked set `x`, its twin at budget `epsilon`, and both codes on every
    layer's class map (white circle ringed in black: clean; cross in the attack's colour: twin; an arrow
    where they differ), each map labelled with the class the two nodes are read as."""
    if (attack, epsilon) not in sweep.images:
        raise ValueError(f"epsilon must be a budget of the sweep {list(sweep.epsilons)!r}, got {epsilon!r}.")
    layers, (n_rows, n_cols) = codebook.layers, codebook.grid_shape
    true_class, said = int(sweep.labels[index]), int(sweep.predictions[attack, epsilon][index])
    name = plots.ATTACK_NAMES.get(attack, attack)
    fig, axes = plt.subplots(1, len(layers) + 2, figsize=(2.2 * (len(layers) + 2) + 1.6, 3.2),
                             layout="constrained")
    plots.show_digit(axes[0], x[index], f"clean\nnetwork says {true_class}")
    plots.show_digit(axes[1], sweep.images[attack, epsilon][index], f"{name} twin\nnetwork says {said}",
                     color=plots.color("clean") if said == true_class else plots.color(attack))

    def xy(node: int) -> tuple[int, int]:
        return node % n_cols, node // n_cols   # where `plots.class_map` draws node k

    def read_as(layer: str, node: int) -> str:
        label = int(codebook.node_labels[layer][node])
        return "empty" if label < 0 else str(label)

    for ax, layer in zip(axes[2:], layers):
        plots.class_map(ax, codebook.class_counts(layer), codebook.grid_shape, title=layer)
        clean, twin = int(clean_codes[layer][index]), int(perturbed_codes[attack, epsilon][layer][index])
        if clean != twin:
            ax.annotate("", xy=xy(twin), xytext=xy(clean),
                        arrowprops={"arrowstyle": "->", "color": plots.color(attack), "lw": 1.5})
        # the clean code's ring is wider than the twin's cross, so neither hides the other on one node
        ax.plot(*xy(clean), "o", ms=14, mfc="white", mec=plots.color("clean"), mew=1.5, label="clean")
        ax.plot(*xy(twin), "X", ms=10, mfc=plots.color(attack), mec="white", label=f"{name} twin")
        ax.set(xlim=(-1.2, n_cols + 0.2), ylim=(-1.2, n_rows + 0.2))
        ax.set_xlabel(f"read as {read_as(layer, clean)} | {read_as(layer, twin)}", fontsize=9)
    plots.class_legend(fig, [str(c) for c in range(codebook.n_classes)], loc="outside right upper", ncols=2)
    fig.legend(*axes[2].get_legend_handles_labels(), loc="outside right lower", title="code of")
    fig.suptitle(f"A digit {true_class} and its {name} twin at ε = {epsilon:g} on each layer's class map "
                 "(under each map: the class its node is read as, clean | twin)")
    return fig
