"""Progress of long loops (tqdm bars, or one summary line under the runner) and notices.

Every helper wraps its long loops in `track(...)` instead of calling tqdm. The mode comes from
the environment variable `SOM_CODES_PROGRESS`, read at each call:

- `bars` (the default): the usual tqdm bars in a terminal and in Jupyter (widgets when
  ipywidgets is installed, else text bars, without tqdm.auto's warning about it).
- `lines` (set by `python -m helpers.run` for the notebooks it executes): no bar; when a loop ends,
  one line such as `epoch 1/2: 469 steps in 11.2 s, loss 0.070`. A loop running inside another
  one prints nothing, so a long step gives at most one line.

A notice is a message the user must not miss, such as a damaged cache that was repaired.
`notice(message)` prints it; under the runner, which names a file in the environment
variable `SOM_CODES_NOTICES`, it also appends it there, and the runner shows it on its terminal.
"""

from __future__ import annotations

import importlib.util
import os
import time
from collections.abc import Iterable, Iterator
from typing import Any, Generic, TypeVar

from tqdm import tqdm

PROGRESS_ENV = "SOM_CODES_PROGRESS"
MODES = ("bars", "lines")
NOTICES_ENV = "SOM_CODES_NOTICES"

T = TypeVar("T")


def progress_mode() -> str:
    """The mode `SOM_CODES_PROGRESS` asks for: `bars` when unset."""
    mode = os.environ.get(PROGRESS_ENV, "bars")
    if mode not in MODES:
        raise ValueError(f"{PROGRESS_ENV} must be one of {MODES}, got {mode!r}.")
    return mode


def notice(message: str) -> None:
    """Print `message` in full, and append it to the file `SOM_CODES_NOTICES` names, if set."""
    print(message, flush=True)
    path = os.environ.get(NOTICES_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as file:
            file.write(message + "\n")


def track(
    iterable: Iterable[T],
    desc: str,
    *,
    unit: str = "step",
    total: int | None = None,
    leave: bool = True,
    enabled: bool = True,
) -> Iterable[T]:
    """`iterable` with progress shown as the mode says; both kinds accept `set_postfix(**values)`.

    `enabled=False` shows nothing at all; `leave=False` removes the bar when done (bars only).
    """
    if progress_mode() == "lines":
        return _SummaryLine(iterable, desc, unit, enabled)
    bar = tqdm
    if importlib.util.find_spec("ipywidgets") is not None:  # else tqdm.auto would only warn
        from tqdm.auto import tqdm as bar
    return bar(iterable, desc=desc, unit=unit, total=total, leave=leave, disable=not enabled)


def plural(unit: str) -> str:
    """The English plural of a unit name: `batch` -> `batches`, `step` -> `steps`."""
    return unit + ("es" if unit.endswith(("s", "x", "z", "ch", "sh")) else "s")


class _SummaryLine(Generic[T]):
    """Iterates silently and prints one line when the loop has run to its end."""

    _open_loops = 0  # loops of this kind running now; an inner one stays quiet

    def __init__(self, iterable: Iterable[T], desc: str, unit: str, enabled: bool) -> None:
        self.iterable, self.desc, self.unit, self.enabled = iterable, desc, unit, enabled
        self.postfix: dict[str, Any] = {}

    def set_postfix(self, **values: Any) -> None:
        """Values to append to the summary line, e.g. `loss="0.070"`."""
        self.postfix = values

    def __iter__(self) -> Iterator[T]:
        outermost = _SummaryLine._open_loops == 0
        _SummaryLine._open_loops += 1
        start, count = time.perf_counter(), 0
        try:
            for item in self.iterable:
                yield item
                count += 1
        finally:
            _SummaryLine._open_loops -= 1
        if self.enabled and outermost:
            print(self._line(count, time.perf_counter() - start), flush=True)

    def _line(self, count: int, seconds: float) -> str:
        unit = self.unit if count == 1 else plural(self.unit)
        extra = "".join(f", {name} {value}" for name, value in self.postfix.items())
        return f"{self.desc}: {count} {unit} in {seconds:.1f} s{extra}"
