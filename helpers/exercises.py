"""Checks for the lessons' coding exercises: tell a student whether their function is right.

An exercise is a code cell tagged ``exercise`` holding a stub the student fills in, ending with a call to
`check`; its solution is a hidden code cell tagged ``solution`` that defines the same function and runs
the same check. A stub that is not filled in yet (it raises ``NotImplementedError`` or returns ``None``)
is reported, never raised, so that papermill runs every lesson top to bottom.

>>> def mean_by_hand(values):
...     raise NotImplementedError("your code here")
>>> check("mean", mean_by_hand, [(([1.0, 2.0, 6.0],), 3.0)])
mean: not filled in yet (the function raises NotImplementedError).
>>> check("mean", lambda values: sum(values) / len(values), [(([1.0, 2.0, 6.0],), 3.0)])
mean: correct on 1 case(s).
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = ["CORRECT", "check", "feed"]

CORRECT = "correct on"


def check(
    exercise: str,
    answer: Callable[..., Any],
    cases: Sequence[tuple[tuple[Any, ...], Any]],
    atol: float = 1e-6,
) -> bool | None:
    """Run `answer(*args)` for each `(args, expected)` case and print one line saying how it went.

    Returns True when every case matches (numbers and arrays within `atol`), False when one does not
    or the answer raises, and None while the stub is not filled in yet.
    """
    if not cases:
        raise ValueError(f"cases must hold at least one (args, expected) pair, got {cases!r}.")
    for number, (args, expected) in enumerate(cases, start=1):
        try:
            got = answer(*args)
        except NotImplementedError:
            print(f"{exercise}: not filled in yet (the function raises NotImplementedError).")
            return None
        except Exception as error:  # a student's bug is reported, not raised
            print(f"{exercise}: case {number} raised {type(error).__name__}: {error}")
            return False
        if got is None:
            print(f"{exercise}: not filled in yet (the function returns None).")
            return None
        if not _same(got, expected, atol):
            print(f"{exercise}: not right yet. Case {number}: {_difference(got, expected)}.")
            return False
    print(f"{exercise}: {CORRECT} {len(cases)} case(s).")
    return True


def feed(exercise: str, answer: Callable[..., Any], reference: Callable[..., Any],
         checked: bool | None) -> Callable[..., Any]:
    """The function the lesson's next cells use: the student's `answer` once `check` passed it, else
    `reference`, saying which, so that the lesson runs top to bottom with the stub still unfilled.

    `checked` is what `check` returned for `answer` (True, False or None).

    >>> double = feed("double", lambda x: 2 * x, lambda x: x + x, checked=True)
    The cells below use your double.
    >>> double = feed("double", lambda x: None, lambda x: x + x, checked=None)
    The cells below use the reference double until yours is filled in and passes its check.
    """
    if checked is True:
        print(f"The cells below use your {exercise}.")
        return answer
    state = "is filled in and passes its check" if checked is None else "passes its check"
    print(f"The cells below use the reference {exercise} until yours {state}.")
    return reference


def _as_array(value: Any) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def _same(got: Any, expected: Any, atol: float) -> bool:
    got, expected = _as_array(got), _as_array(expected)
    if got.shape != expected.shape:
        return False
    if np.issubdtype(expected.dtype, np.number) and np.issubdtype(got.dtype, np.number):
        return bool(np.allclose(got, expected, atol=atol, rtol=0, equal_nan=True))
    return bool(np.array_equal(got, expected))


def _difference(got: Any, expected: Any) -> str:
    """How an answer differs from the expected one, in one short line."""
    got, expected = _as_array(got), _as_array(expected)
    if expected.ndim == 0 and got.ndim == 0:
        return f"expected {expected.item()!r}, got {got.item()!r}"
    if got.shape != expected.shape:
        return f"expected shape {expected.shape}, got shape {got.shape}"
    numeric = np.issubdtype(expected.dtype, np.number) and np.issubdtype(got.dtype, np.number)
    if numeric:
        gap = np.abs(got.astype(float) - expected.astype(float))
        worst = np.unravel_index(np.nanargmax(np.where(np.isnan(gap), np.inf, gap)), gap.shape)
        n_wrong = int((~np.isclose(got, expected, equal_nan=True)).sum())
        return (f"{n_wrong} of {expected.size} values differ; "
                f"largest gap at index {tuple(int(i) for i in worst)}: expected {expected[worst].item()!r}, "
                f"got {got[worst].item()!r}")
    wrong = np.flatnonzero(got.ravel() != expected.ravel())
    return f"{len(wrong)} of {expected.size} values differ, first at flat index {int(wrong[0])}"
