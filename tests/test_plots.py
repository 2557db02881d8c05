from __future__ import annotations

import itertools

import matplotlib.colors as mcolors
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from helpers import plots
from helpers.attacks import ATTACKS

# Colour-vision deficiency simulation in linear RGB, severity 1.0: Machado, Oliveira & Fernandes
# (2009), "A physiologically-based model for simulation of color vision deficiency".
DEFICIENCIES = {
    "protanopia": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                   [-0.003882, -0.048116, 1.051998]],
    "deuteranopia": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                     [-0.011820, 0.042940, 0.968881]],
    "tritanopia": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602],
                   [0.004733, 0.691367, 0.303900]],
}
SRGB_TO_XYZ = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
WHITE = np.array([0.95047, 1.0, 1.08883])


def _lab(color: str, deficiency: str | None = None) -> np.ndarray:
    """CIELAB (D65) of a colour, as seen with normal vision or the given deficiency."""
    srgb = np.asarray(mcolors.to_rgb(color))
    linear = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    if deficiency is not None:
        linear = np.clip(np.asarray(DEFICIENCIES[deficiency]) @ linear, 0, 1)
    xyz = SRGB_TO_XYZ @ linear / WHITE
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def _smallest_difference(colors: list[str]) -> float:
    """Smallest CIE76 colour difference between any two colours, over normal vision and each deficiency."""
    return min(np.linalg.norm(_lab(a, d) - _lab(b, d))
               for d in [None, *DEFICIENCIES] for a, b in itertools.combinations(colors, 2))


def test_attack_names_and_colours_cover_the_attacks() -> None:
    assert set(plots.ATTACK_NAMES) == set(plots.ATTACK_COLORS) == set(ATTACKS)
    assert plots.ATTACK_NAMES == {"fgsm": "FGSM", "pgd": "PGD", "noise": "noise (control)"}


def test_attack_colours_are_distinct_for_colour_blind_readers_and_not_gray() -> None:
    colors = list(plots.ATTACK_COLORS.values())
    assert _smallest_difference(colors) > 20
    assert _smallest_difference(["tab:red", "tab:green", "tab:blue"]) < 10  # the check can fail
    for color in colors:
        _, a, b = _lab(color)
        assert np.hypot(a, b) > 30, f"{color} is too close to gray"


@pytest.fixture(autouse=True)
def agg_backend():
    """Draw off-screen, and close every figure a test leaves open."""
    previous = plt.get_backend()
    plt.switch_backend("Agg")
    yield
    plt.close("all")
    plt.switch_backend(previous)


@pytest.mark.parametrize("image", [np.full((28, 28), 0.2), torch.full((1, 28, 28), 0.2)])
def test_show_digit_draws_black_ink_on_white_without_ticks(image) -> None:
    fig, ax = plt.subplots()
    ax.grid(True)
    plots.show_digit(ax, image, "seven", color="red")
    shown = ax.images[0]
    assert shown.get_cmap().name == "gray_r" and shown.get_clim() == (0, 1)
    assert shown.get_array().shape == (28, 28)
    assert list(ax.get_xticks()) == [] and list(ax.get_yticks()) == []
    assert not any(line.get_visible() for line in ax.get_xgridlines() + ax.get_ygridlines())
    assert ax.get_title() == "seven" and ax.title.get_color() == "red" and ax.title.get_fontsize() == 9


def test_show_digit_colour_images_and_bad_shapes() -> None:
    fig, ax = plt.subplots()
    plots.show_digit(ax, torch.rand(3, 32, 32))
    assert ax.images[0].get_array().shape == (32, 32, 3) and ax.get_title() == ""
    with pytest.raises(ValueError, match=r"^image must have shape .*, got \(2, 5, 5\)\.$"):
        plots.show_digit(ax, np.zeros((2, 5, 5)))


def test_layer_axis_labels_each_layer_at_its_depth() -> None:
    fig, ax = plt.subplots()
    layers = ["pixels", "conv1", "fc", "logits"]
    depth = plots.layer_axis(ax, layers)
    np.testing.assert_array_equal(depth, [0, 1, 2, 3])
    np.testing.assert_array_equal(ax.get_xticks(), depth)
    labels = ax.get_xticklabels()
    assert [label.get_text() for label in labels] == layers
    assert all(label.get_rotation() == 30 for label in labels)
    assert ax.get_xlabel() == "layer"
    plots.layer_axis(ax, layers, label="depth", rotation=0)
    assert ax.get_xlabel() == "depth" and ax.get_xticklabels()[0].get_rotation() == 0


def test_save_and_show_writes_the_png_and_closes_the_figure(tmp_path) -> None:
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    assert plots.save_and_show(fig, tmp_path / "lesson", "curve") is None
    path = tmp_path / "lesson" / "curve.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not plt.fignum_exists(fig.number)
    assert [p.name for p in path.parent.iterdir()] == ["curve.png"]  # no temporary file left


def _overlaps(legend, ax) -> bool:
    a, b = legend.get_window_extent(), ax.get_window_extent()
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def test_legend_outside_an_axes_keeps_clear_of_its_data() -> None:
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1], label="clean")
    ax.plot([0, 1], [1, 0], label="PGD")
    legend = plots.legend_outside(ax, title="codes")
    fig.canvas.draw()
    assert [t.get_text() for t in legend.get_texts()] == ["clean", "PGD"]
    assert legend.get_title().get_text() == "codes"
    assert not _overlaps(legend, ax)


@pytest.mark.parametrize("layout", ["constrained", None])
def test_legend_outside_a_figure_collects_each_label_once(layout) -> None:
    fig, axes = plt.subplots(1, 3, layout=layout)
    for ax in axes:
        ax.plot([0, 1], [0, 1], label="clean")
        ax.plot([0, 1], [1, 0], label=f"attack {ax is axes[0]}")
    legend = plots.legend_outside(fig)
    fig.canvas.draw()
    assert [t.get_text() for t in legend.get_texts()] == ["clean", "attack True", "attack False"]
    assert not any(_overlaps(legend, ax) for ax in axes)


def test_class_legend_lists_the_class_colours_outside_the_maps() -> None:
    fig, axes = plt.subplots(1, 2, layout="constrained")
    for ax in axes:
        plots.class_map(ax, np.array([[3, 0], [0, 2], [0, 0], [1, 1]]), (2, 2))
    legend = plots.class_legend(fig, ["zero", "one"])
    fig.canvas.draw()
    assert legend.get_title().get_text() == "class"
    assert [t.get_text() for t in legend.get_texts()] == ["zero", "one"]
    palette = plots.sns.color_palette(plots.CLASS_COLORS, 2)
    for patch, color in zip(legend.get_patches(), palette):
        np.testing.assert_allclose(patch.get_facecolor()[:3], color)
    assert not any(_overlaps(legend, ax) for ax in axes)


def test_ordered_colors_run_along_the_colormap() -> None:
    colors = plots.ordered_colors(4)
    assert colors.shape == (4, 4)
    assert len({tuple(c) for c in colors}) == 4
    np.testing.assert_allclose(colors[0], plt.get_cmap("viridis")(0.0))


def test_palette_names_every_input_and_model_once_with_black_for_the_references() -> None:
    assert plots.PALETTE == {**plots.INPUT_COLORS, **plots.MODEL_COLORS}
    assert len(plots.PALETTE) == len(plots.INPUT_COLORS) + len(plots.MODEL_COLORS)
    black = [name for name, c in plots.PALETTE.items() if mcolors.to_hex(c) == "#000000"]
    assert black == ["clean", "standard"]
    others = [c for name, c in plots.PALETTE.items() if name not in black]
    assert len(set(map(mcolors.to_hex, others))) == len(others)  # no two things share a colour
    assert plots.NEUTRAL not in [*plots.PALETTE.values()] and plots.INK not in [*plots.PALETTE.values()]
    assert plots.color("pgd") == plots.ATTACK_COLORS["pgd"] == plots.INPUT_COLORS["pgd"]


def test_no_model_looks_like_a_perturbation() -> None:
    perturbations = [c for name, c in plots.INPUT_COLORS.items() if name != "clean"]
    for name, model in plots.MODEL_COLORS.items():
        difference = min(np.linalg.norm(_lab(model) - _lab(c)) for c in perturbations)
        assert difference > 15, name


@pytest.mark.parametrize("models", [
    ["standard", "FGSM-RS, ε = 0.1", "FGSM-RS, ε = 0.3", "plain FGSM, ε = 0.3"],  # lesson 06's robustness
    ["standard", "λ = 0", "λ = 0.1", "λ = 1", "λ = 10"],  # lesson 08
])
def test_models_drawn_together_are_distinct_for_colour_blind_readers(models) -> None:
    assert _smallest_difference([plots.color(name) for name in models]) > 15


def test_class_colours_are_ten_distinct_hues_none_gray() -> None:
    assert len(set(plots.CLASS_COLORS)) == 10
    pairs = itertools.combinations(plots.CLASS_COLORS, 2)
    assert min(np.linalg.norm(_lab(a) - _lab(b)) for a, b in pairs) > 20
    for color in plots.CLASS_COLORS:
        _, a, b = _lab(color)
        assert np.hypot(a, b) > 20, f"{color} reads as gray"


def test_an_unknown_name_has_no_colour_and_says_where_to_add_it() -> None:
    with pytest.raises(KeyError, match="'robust' has no colour in the series' palette; add it to helpers"):
        plots.color("robust")
