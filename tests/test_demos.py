"""The lessons' interactive demos: a static figure at the default, a slider that redraws, their figures."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from minisom import MiniSom  # noqa: E402

from helpers import demos  # noqa: E402
from helpers.attacks import AttackSweep  # noqa: E402
from helpers.codes import LayerCodebook  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _recording_draw(calls: list):
    def draw(value):
        calls.append(value)
        fig, ax = plt.subplots()
        ax.set_title(f"value {value:g}")
        return fig
    return draw


def test_slider_demo_saves_the_default_figure_and_the_slider_redraws_other_values(tmp_path) -> None:
    calls: list = []
    demo = demos.slider_demo(_recording_draw(calls), [0.5, 1.0, 2.0], 1.0, "sigma", tmp_path, "width")
    assert calls == [1.0] and (tmp_path / "width.png").stat().st_size > 0
    assert demo.slider.options == (("0.5", 0.5), ("1", 1.0), ("2", 2.0)) and demo.slider.value == 1.0
    assert demo.slider.description == "sigma"
    demo.slider.value = 2.0
    assert calls == [1.0, 2.0]
    assert plt.get_fignums() == []  # every drawn figure is closed


def test_the_demo_shows_as_a_widget_whose_text_form_says_it_is_live_only(tmp_path) -> None:
    demo = demos.slider_demo(_recording_draw([]), [0.1, 0.2], 0.1, "ε", tmp_path, "budget")
    bundle = demo._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == demo.widget.model_id
    text = bundle["text/plain"]
    assert text.startswith("Live demo: in a running Jupyter kernel") and "ε" in text


def test_a_default_outside_the_values_is_a_clear_error(tmp_path) -> None:
    expected = r"^default must be one of the slider's values \[0.1, 0.2\], got 0.3.$"
    with pytest.raises(ValueError, match=expected):
        demos.slider_demo(_recording_draw([]), [0.1, 0.2], 0.3, "ε", tmp_path, "budget")


def test_width_demo_draws_the_chosen_grid_and_marks_it_on_both_error_curves() -> None:
    quality = pd.DataFrame({"quantization error": [0.06, 0.09, 0.15], "topographic error": [0.8, 0.1, 0.0]},
                           index=[0.3, 2.0, 4.0])
    weights = {sigma: np.full((2, 2, 2), sigma) for sigma in quality.index}
    drawn = []
    def draw_grid(ax, w, title):
        drawn.append((w[0, 0, 0], title))
    fig = demos.draw_width_demo(draw_grid, weights, quality, 4.0, 2.0)
    assert drawn == [(4.0, "start width sigma = 4")]
    for ax, measure in zip(fig.axes[1:], ["quantization error", "topographic error"]):
        curve, default_line, marked = ax.lines
        assert list(curve.get_ydata()) == list(quality[measure])
        assert list(default_line.get_xdata()) == [2.0, 2.0]
        assert (marked.get_xdata()[0], marked.get_ydata()[0]) == (4.0, quality.loc[4.0, measure])
        assert [t.get_text() for t in ax.get_xticklabels()] == ["0.3", "2", "4"]
    expected = r"^sigma must be one of the trained widths \[0.3, 2.0, 4.0\], got 1.0.$"
    with pytest.raises(ValueError, match=expected):
        demos.draw_width_demo(lambda *args: None, weights, quality, 1.0, 2.0)


def test_pick_input_takes_an_input_of_the_middle_budget() -> None:
    budgets = np.array([np.inf, 0.1, 0.2, 0.1, 0.3, 0.2])
    picks = {demos.pick_input(budgets, seed) for seed in range(20)}
    assert picks == {2, 5}
    assert demos.pick_input(budgets, 3) == demos.pick_input(budgets, 3)
    assert demos.pick_input(np.array([0.2, 0.1, np.inf]), 0) == 1  # of two budgets, the smaller
    with pytest.raises(ValueError, match="^budgets must fool at least one input"):
        demos.pick_input(np.array([np.inf, np.inf]), 0)


@pytest.fixture
def toy_codes():
    """A 3 x 3 map per layer; the fit inputs label node 0 as class 1, node 8 as class 2; node 4 stays empty.

    Input 0 sits on node 0 at both layers. Its PGD twin stays there at epsilon 0.1 and jumps to node 8 at
    0.3 at layer "b" only, where the network then says 2. Input 1 is never moved.
    """
    soms = {layer: MiniSom(3, 3, 2, random_seed=0) for layer in ("a", "b")}
    fit_codes = {layer: np.array([0, 0, 8, 8, 1]) for layer in soms}
    codebook = LayerCodebook(soms=soms, standardizer=None, pool_size=None, fit_codes=fit_codes,
                             fit_labels=np.array([1, 1, 2, 2, 0]), n_classes=3)
    labels = torch.tensor([1, 0])
    images = {("pgd", eps): torch.full((2, 1, 4, 4), eps) for eps in (0.0, 0.1, 0.3)}
    predictions = {("pgd", 0.0): labels, ("pgd", 0.1): labels, ("pgd", 0.3): torch.tensor([2, 0])}
    sweep = AttackSweep(attacks=("pgd",), epsilons=(0.0, 0.1, 0.3), labels=labels, images=images,
                        predictions=predictions, success={key: 0.0 for key in images})
    clean = {"a": np.array([0, 4]), "b": np.array([0, 4])}
    perturbed = {("pgd", 0.0): clean, ("pgd", 0.1): clean,
                 ("pgd", 0.3): {"a": np.array([0, 4]), "b": np.array([8, 4])}}
    return codebook, sweep, clean, perturbed


def test_budget_path_gives_the_grid_steps_and_readout_of_one_twin_per_budget(toy_codes) -> None:
    path = demos.budget_path(*toy_codes, index=0)
    assert list(path.index) == [0.0, 0.1, 0.3]
    assert list(path["network says"]) == [1, 1, 2]
    assert list(path["b", "grid steps"]) == pytest.approx([0.0, 0.0, np.sqrt(8)])
    assert list(path["b", "read as"]) == [1, 1, 2] and list(path["a", "read as"]) == [1, 1, 1]
    unmoved = demos.path_table(demos.budget_path(*toy_codes, index=1))
    assert list(unmoved.columns) == ["ε = 0", "ε = 0.1", "ε = 0.3"]
    assert unmoved.loc[("a", "read as")].tolist() == ["empty"] * 3
    assert demos.path_table(path).loc[("b", "grid steps")].tolist() == ["0.0", "0.0", "2.8"]


def test_budget_demo_draws_the_digit_its_twin_and_both_codes_on_every_map(toy_codes) -> None:
    codebook, sweep, clean, perturbed = toy_codes
    x = torch.zeros(2, 1, 4, 4)
    fig = demos.draw_budget_demo(codebook, sweep, x, clean, perturbed, 0, 0.3)
    axes = fig.axes
    assert axes[0].get_title() == "clean\nnetwork says 1"
    assert axes[1].get_title() == "PGD twin\nnetwork says 2"
    assert [ax.get_title() for ax in axes[2:4]] == ["a", "b"]
    assert [ax.get_xlabel() for ax in axes[2:4]] == ["read as 1 | 1", "read as 1 | 2"]
    cross = axes[3].lines[1]
    assert (cross.get_xdata()[0], cross.get_ydata()[0]) == (2, 2)  # node 8 of a 3 x 3 map
    assert "ε = 0.3" in fig._suptitle.get_text()
    expected = r"^epsilon must be a budget of the sweep \[0.0, 0.1, 0.3\], got 0.2.$"
    with pytest.raises(ValueError, match=expected):
        demos.draw_budget_demo(codebook, sweep, x, clean, perturbed, 0, 0.2)
