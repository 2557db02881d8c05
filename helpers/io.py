"""Where the series keeps things on disk, and how it writes them safely."""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = REPO_ROOT / "data"
ARTIFACTS_DIR = REPO_ROOT / "artifacts"
FIGURES_DIR = REPO_ROOT / "figures"
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
PROFILES = ("full", "smoke")
OUTPUT_ENV = "SOM_CODES_OUTPUT_DIR"


def output_dir(notebook: str, profile: str) -> Path:
    """Folder for a notebook's figures and results: `figures/` only for the full profile.

    When the environment variable `SOM_CODES_OUTPUT_DIR` is set, `$SOM_CODES_OUTPUT_DIR/<notebook>`
    whatever the profile: `python -m helpers.run` sets it for a run with parameters of its own (`-p`).
    """
    if profile not in PROFILES:
        raise ValueError(f"Unknown profile {profile!r}; choose one of {PROFILES}.")
    default = FIGURES_DIR if profile == "full" else ARTIFACTS_DIR / profile / "figures"
    base = Path(os.environ.get(OUTPUT_ENV) or default)
    path = base / notebook
    path.mkdir(parents=True, exist_ok=True)
    return path


def repo_relative(path: Path | str) -> str:
    """`path` relative to the repository root, in POSIX form (`figures/00_overview/x.png`).

    Results files store paths this way, so they do not depend on where the series was run.
    A relative `path` is taken from the current directory, as `open` would.
    """
    resolved = Path(path).resolve()
    if not resolved.is_relative_to(REPO_ROOT):
        raise ValueError(f"path must be inside the repository {REPO_ROOT}, got {str(path)!r}.")
    return resolved.relative_to(REPO_ROOT).as_posix()


def atomic_write(path: Path, write: Callable[[Path], None]) -> Path:
    """Call `write(tmp)` on a temporary file beside `path`, then rename it into place.

    An interrupted run therefore never leaves a half-written file at `path`.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def save_json(data: Any, path: Path) -> Path:
    """Write `data` as indented, strict JSON, atomically; a list of plain values stays on one line.

    numpy and torch numbers and arrays become plain numbers and lists; NaN and +/-inf (an
    undefined or unbounded measure) become `null`, since JSON has no such numbers.
    """
    text = _indented(_to_json(data)) + "\n"
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _indented(value: Any, level: int = 0) -> str:
    """`value` as JSON indented by two spaces per level, with lists of plain values on one line (a
    lesson's bootstrap replicates are hundreds of numbers each)."""
    pad, end = "  " * (level + 1), "  " * level
    if isinstance(value, dict) and value:
        items = [f"{pad}{json.dumps(k if isinstance(k, str) else json.dumps(k))}: {_indented(v, level + 1)}"
                 for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{end}}}"
    if isinstance(value, list) and any(isinstance(item, (dict, list)) for item in value):
        return "[\n" + ",\n".join(pad + _indented(item, level + 1) for item in value) + f"\n{end}]"
    return json.dumps(value, allow_nan=False)


def save_results(results: dict[str, Any], out_dir: Path) -> Path:
    """Write a notebook's key numbers to `<out_dir>/results.json`."""
    return save_json(results, Path(out_dir) / "results.json")


def _to_json(value: Any) -> Any:
    """`value` with containers, numpy and torch values made JSON-ready and non-finite floats None."""
    if isinstance(value, dict):
        return {key.item() if hasattr(key, "item") else key: _to_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_json(item) for item in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    if hasattr(value, "tolist"):  # numpy and torch scalars and arrays
        return _to_json(value.tolist())
    raise TypeError(
        f"data must hold only dicts, lists, strings, numbers, booleans, None and numpy or torch "
        f"values, got {type(value).__name__}."
    )
