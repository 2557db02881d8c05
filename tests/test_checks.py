from __future__ import annotations

import ast
import json

import numpy as np
import pytest

from helpers.checks import (
    PARAMETER_RULES,
    check_choice,
    check_finite,
    check_int,
    check_number,
    check_parameters,
    check_sequence,
)
from helpers.io import NOTEBOOKS_DIR
from helpers.run import PROFILE_PARAMETERS


def test_check_int_returns_plain_ints_within_bounds() -> None:
    assert check_int(np.int64(5), "n", minimum=1, maximum=5) == 5
    assert type(check_int(np.int64(5), "n")) is int
    assert check_int(None, "n_train", allow_none=True) is None


@pytest.mark.parametrize("kwargs, value, message", [
    (dict(minimum=2), -3, "som_size must be an integer >= 2, got -3."),
    (dict(minimum=1, maximum=10), 11, "som_size must be an integer in [1, 10], got 11."),
    (dict(maximum=10), 11, "som_size must be an integer <= 10, got 11."),
    (dict(), 4.0, "som_size must be an integer, got 4.0."),
    (dict(), True, "som_size must be an integer, got True."),
    (dict(), "4", "som_size must be an integer, got '4'."),
    (dict(minimum=1, allow_none=True), 0, "som_size must be None or an integer >= 1, got 0."),
    (dict(), None, "som_size must be an integer, got None."),
])
def test_check_int_messages(kwargs, value, message) -> None:
    with pytest.raises(ValueError) as caught:
        check_int(value, "som_size", **kwargs)
    assert str(caught.value) == message


def test_check_number_bounds() -> None:
    assert check_number(1, "lr", minimum=0, strict_minimum=True) == 1.0
    assert check_number(0.0, "eps", minimum=0, maximum=1) == 0.0
    assert check_number(None, "eps", allow_none=True) is None
    assert check_number(np.float32(0.5), "eps", minimum=0, maximum=1) == 0.5


@pytest.mark.parametrize("kwargs, value, message", [
    (dict(minimum=0, strict_minimum=True), 0.0, "lr must be a number > 0, got 0.0."),
    (dict(minimum=0, maximum=1, strict_minimum=True), 1.5, "lr must be a number in (0, 1], got 1.5."),
    (dict(minimum=0, maximum=1), -0.1, "lr must be a number in [0, 1], got -0.1."),
    (dict(), float("nan"), "lr must be a number, got nan."),
    (dict(maximum=1), float("-inf"), "lr must be a number <= 1, got -inf."),
    (dict(), False, "lr must be a number, got False."),
    (dict(), "0.1", "lr must be a number, got '0.1'."),
])
def test_check_number_messages(kwargs, value, message) -> None:
    with pytest.raises(ValueError) as caught:
        check_number(value, "lr", **kwargs)
    assert str(caught.value) == message


def test_check_choice() -> None:
    assert check_choice("smoke", "profile", ("full", "smoke")) == "smoke"
    with pytest.raises(ValueError) as caught:
        check_choice("fast", "profile", ("full", "smoke"))
    assert str(caught.value) == "profile must be one of 'full', 'smoke', got 'fast'."


def test_check_sequence_checks_each_item_and_names_its_position() -> None:
    def item(value, name):
        return check_int(value, name, minimum=2)

    assert check_sequence((2, np.int64(3)), "som_sizes", item) == [2, 3]
    with pytest.raises(ValueError) as caught:
        check_sequence([4, 1], "som_sizes", item)
    assert str(caught.value) == "som_sizes[1] must be an integer >= 2, got 1."
    for bad in ([], 4, "44"):
        with pytest.raises(ValueError, match=r"^som_sizes must be a list of at least 1 item, got"):
            check_sequence(bad, "som_sizes", item)
    assert check_sequence([], "layers", item, min_length=0) == []


def test_check_finite_counts_what_is_wrong() -> None:
    good = np.ones((3, 2))
    assert check_finite(good, "data") is not None
    bad = np.array([[np.nan, 1.0], [np.inf, -np.inf]])
    with pytest.raises(ValueError) as caught:
        check_finite(bad, "data")
    assert str(caught.value) == "data must be finite (no NaN or infinity), got 1 NaN and 2 infinite value(s)."
    check_finite(np.arange(4), "codes")  # integers are always finite


def _parameters_cell(path) -> dict:
    """The values a notebook's parameters cell assigns, evaluated without running the notebook."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    cells = [c for c in notebook["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(cells) == 1, f"{path.name} must have exactly one cell tagged 'parameters'"
    namespace: dict = {}
    exec(compile(ast.parse("".join(cells[0]["source"])), path.name, "exec"), namespace)
    return {k: v for k, v in namespace.items() if not k.startswith("__")}


NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_lesson_default_and_smoke_parameter_has_a_rule_and_passes(path) -> None:
    defaults = _parameters_cell(path)
    check_parameters(**defaults)
    for profile in PROFILE_PARAMETERS.values():
        check_parameters(**{k: v for k, v in profile.items() if k in defaults})


def test_smoke_profile_parameters_all_have_rules() -> None:
    assert set(PROFILE_PARAMETERS["smoke"]) <= set(PARAMETER_RULES)
    check_parameters(**PROFILE_PARAMETERS["smoke"])


def test_check_parameters_names_one_problem_plainly() -> None:
    with pytest.raises(ValueError) as caught:
        check_parameters(profile="full", som_size=-3, seed=0)
    assert str(caught.value) == "som_size must be an integer >= 2, got -3."


def test_check_parameters_lists_every_problem_at_once() -> None:
    with pytest.raises(ValueError) as caught:
        check_parameters(profile="fast", seeds=[0, -1], n_train=70000, pool_size=0, epsilons=[0.1, 2],
                         pgd_steps=20, som_iterations=0, new_knob=3)
    lines = str(caught.value).splitlines()
    assert lines[0] == "7 invalid parameters:"
    assert lines[1:7] == [
        "  - profile must be one of 'full', 'smoke', got 'fast'.",
        "  - seeds[1] must be an integer in [0, 4294967295], got -1.",
        "  - n_train must be None or an integer in [1, 60000], got 70000.",
        "  - pool_size must be None or an integer >= 1, got 0.",
        "  - epsilons[1] must be a number in [0, 1], got 2.",
        "  - som_iterations must be an integer >= 1, got 0.",
    ]
    assert lines[7].startswith("  - new_knob has no rule in helpers.checks.PARAMETER_RULES; add one")


@pytest.mark.parametrize("name, value", [
    ("n_som_fit", 1), ("n_test", 10001), ("n_attack", 0), ("som_sizes", [10, 1]), ("pool_sizes", []),
    ("toy_iterations", 0), ("epochs", -1), ("batch_size", 0), ("lr", 0), ("label_noise", 1.1),
    ("seed", 2**32), ("som_size", 15.0), ("adv_epsilon", 0.0), ("adv_step_size", 0.0), ("adv_steps", 0),
])
def test_each_rule_refuses_a_bad_value(name, value) -> None:
    with pytest.raises(ValueError, match=rf"^{name}(\[\d+\])? must be "):
        check_parameters(**{name: value})


def test_check_parameters_accepts_the_edges() -> None:
    check_parameters(n_train=None, pool_size=None, pool_sizes=[None, 2], epochs=0, epsilons=[0.0, 1.0],
                     n_som_fit=60000, n_test=10000, som_size=2, seed=2**32 - 1)
