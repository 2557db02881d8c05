"""One way to validate values across the series, and the up-front check of a lesson's parameters.

Every check raises ``ValueError("<name> must be <rule>, got <value!r>.")`` and returns the value
(integers as ``int``, numbers as ``float``). `check_parameters` is what a lesson calls right after
its ``parameters`` cell, before it writes anything: it checks each parameter against the rule
the series keeps for that name in `PARAMETER_RULES` and reports every violation at once.

>>> check_int(3, "som_size", minimum=2)
3
>>> check_int(-3, "som_size", minimum=2)
Traceback (most recent call last):
...
ValueError: som_size must be an integer >= 2, got -3.
>>> check_parameters(som_size=-3, epsilons=[0.1, 1.5])
Traceback (most recent call last):
...
ValueError: 2 invalid parameters:
  - som_size must be an integer >= 2, got -3.
  - epsilons[1] must be a number in [0, 1], got 1.5.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Sequence
from functools import partial
from numbers import Integral, Real
from typing import Any

import numpy as np

from helpers.io import PROFILES

__all__ = [
    "PARAMETER_RULES",
    "check_choice",
    "check_finite",
    "check_int",
    "check_number",
    "check_parameters",
    "check_sequence",
]

Check = Callable[[Any, str], Any]


def _fail(name: str, rule: str, value: Any) -> None:
    raise ValueError(f"{name} must be {rule}, got {value!r}.")


def _range(kind: str, minimum: Any, maximum: Any, strict_minimum: bool = False) -> str:
    """Rule text such as 'an integer >= 2', 'a number in [0, 1]' or 'a number > 0'."""
    if minimum is not None and maximum is not None:
        return f"{kind} in {'(' if strict_minimum else '['}{minimum}, {maximum}]"
    if minimum is not None:
        return f"{kind} {'>' if strict_minimum else '>='} {minimum}"
    if maximum is not None:
        return f"{kind} <= {maximum}"
    return kind


def check_int(
    value: Any,
    name: str,
    minimum: int | None = None,
    maximum: int | None = None,
    allow_none: bool = False,
) -> int | None:
    """``value`` as an ``int`` within ``[minimum, maximum]`` (a bound left at None is open)."""
    rule = _range("an integer", minimum, maximum)
    if allow_none:
        if value is None:
            return None
        rule = f"None or {rule}"
    if (isinstance(value, bool) or not isinstance(value, Integral)
            or (minimum is not None and value < minimum) or (maximum is not None and value > maximum)):
        _fail(name, rule, value)
    return int(value)


def check_number(
    value: Any,
    name: str,
    minimum: float | None = None,
    maximum: float | None = None,
    strict_minimum: bool = False,
    allow_none: bool = False,
) -> float | None:
    """``value`` as a finite ``float`` within the bounds; ``strict_minimum`` excludes ``minimum``."""
    rule = _range("a number", minimum, maximum, strict_minimum)
    if allow_none:
        if value is None:
            return None
        rule = f"None or {rule}"
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        _fail(name, rule, value)
    below = minimum is not None and (value <= minimum if strict_minimum else value < minimum)
    if below or (maximum is not None and value > maximum):
        _fail(name, rule, value)
    return float(value)


def check_choice(value: Any, name: str, choices: Collection[Any]) -> Any:
    """``value`` if it is one of ``choices``."""
    if value not in choices:
        _fail(name, "one of " + ", ".join(repr(c) for c in choices), value)
    return value


def check_sequence(value: Any, name: str, check_item: Check, min_length: int = 1) -> list[Any]:
    """``value`` as a list of at least ``min_length`` items, each passed through ``check_item``.

    An item's error names its position, e.g. "epsilons[1] must be a number in [0, 1], got 1.5.".
    """
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) < min_length:
        _fail(name, f"a list of at least {min_length} item{'s' if min_length != 1 else ''}", value)
    return [check_item(item, f"{name}[{i}]") for i, item in enumerate(value)]


def check_finite(values: Any, name: str) -> np.ndarray:
    """``values`` as an array with no NaN or infinite entry."""
    array = np.asarray(values)
    if np.issubdtype(array.dtype, np.number) and not np.isfinite(array).all():
        n_nan = int(np.isnan(array).sum())
        n_inf = int(np.isinf(array).sum())
        raise ValueError(
            f"{name} must be finite (no NaN or infinity), got {n_nan} NaN and {n_inf} infinite value(s)."
        )
    return array


def _items(check_item: Check) -> Check:
    return partial(check_sequence, check_item=check_item)


_SEED = partial(check_int, minimum=0, maximum=2**32 - 1)  # numpy's seeds are 32-bit
_SOM_SIZE = partial(check_int, minimum=2)
_POOL_SIZE = partial(check_int, minimum=1, allow_none=True)

# The rule for each parameter name of the series, called as `rule(value, name)`. Subset sizes are
# bounded by the splits they are drawn from (MNIST: 60,000 training and 10,000 test images).
# A lesson that introduces a parameter adds its rule here.
PARAMETER_RULES: dict[str, Check] = {
    "profile": partial(check_choice, choices=PROFILES),
    "seed": _SEED,
    "seeds": _items(_SEED),
    "epochs": partial(check_int, minimum=0),
    "batch_size": partial(check_int, minimum=1),
    "lr": partial(check_number, minimum=0, strict_minimum=True),
    "n_train": partial(check_int, minimum=1, maximum=60000, allow_none=True),
    "label_noise": partial(check_number, minimum=0, maximum=1),
    "n_som_fit": partial(check_int, minimum=2, maximum=60000),
    "n_test": partial(check_int, minimum=1, maximum=10000),
    "som_size": _SOM_SIZE,
    "som_sizes": _items(_SOM_SIZE),
    "som_iterations": partial(check_int, minimum=1),
    "toy_iterations": partial(check_int, minimum=1),
    "pool_size": _POOL_SIZE,
    "pool_sizes": _items(_POOL_SIZE),
    "n_attack": partial(check_int, minimum=1, maximum=10000),
    "epsilons": _items(partial(check_number, minimum=0, maximum=1)),
    "pgd_steps": partial(check_int, minimum=1),
    "min_fooled": partial(check_int, minimum=1),
    "adv_epsilon": partial(check_number, minimum=0, maximum=1, strict_minimum=True, allow_none=True),
    "adv_step_size": partial(check_number, minimum=0, strict_minimum=True, allow_none=True),
    "adv_steps": partial(check_int, minimum=1, allow_none=True),
    "consistency": partial(check_number, minimum=0, allow_none=True),
    "family_name": partial(check_choice, choices=("full", "smoke")),
    "epsilon": partial(check_number, minimum=0, maximum=1, strict_minimum=True),
    "restarts": partial(check_int, minimum=1),
    "restart_steps": partial(check_int, minimum=1),
    "train_workers": partial(check_int, minimum=1),
    "n_resamples": partial(check_int, minimum=100),
    "n_per_digit": partial(check_int, minimum=2, maximum=800),
    "transfer_epsilon": partial(check_number, minimum=0, maximum=1, strict_minimum=True),
    "n_folds": partial(check_int, minimum=2, maximum=20),
    "adv_n_train": partial(check_int, minimum=1, maximum=60000),
    "adv_epochs": partial(check_int, minimum=1),
    "lambdas": _items(partial(check_number, minimum=0)),
    "regularized_lambda": partial(check_number, minimum=0),
    "top_k": partial(check_int, minimum=1),
    "n_top": partial(check_int, minimum=1),
}


def check_parameters(**parameters: Any) -> None:
    """Check parameters by name against `PARAMETER_RULES`; one ValueError lists every problem.

    A lesson calls it right after its parameters cell, before it writes anything; an unknown name
    is a problem too, so a lesson that adds a parameter must add its rule.
    """
    problems = []
    for name, value in parameters.items():
        rule = PARAMETER_RULES.get(name)
        if rule is None:
            problems.append(f"{name} has no rule in helpers.checks.PARAMETER_RULES; add one "
                            f"(known parameters: {', '.join(PARAMETER_RULES)}).")
            continue
        try:
            rule(value, name)
        except ValueError as error:
            problems.append(str(error))
    if len(problems) == 1:
        raise ValueError(problems[0])
    if problems:
        listing = "\n".join(f"  - {problem}" for problem in problems)
        raise ValueError(f"{len(problems)} invalid parameters:\n{listing}")
