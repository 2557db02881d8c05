from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from helpers.io import REPO_ROOT, repo_relative, save_json


def strict_load(path):
    """json.loads that refuses the non-standard NaN / Infinity tokens."""
    def refuse(token: str) -> float:
        raise ValueError(f"not strict JSON: {token}")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=refuse)


def test_non_finite_numbers_are_written_as_null(tmp_path):
    data = {
        "nan": math.nan, "inf": math.inf, "minus_inf": -math.inf, "numpy_nan": np.float64("nan"),
        "numpy_float32_inf": np.float32("inf"), "in_a_list": [1.0, math.nan, 2],
        "array": np.array([0.5, np.nan, np.inf]), "nested": {"deep": (math.nan, 3)},
        "tensor": torch.tensor([1.5, float("nan")]),
    }  # fmt: skip
    path = save_json(data, tmp_path / "out.json")
    assert "NaN" not in path.read_text() and "Infinity" not in path.read_text()
    assert strict_load(path) == {
        "nan": None, "inf": None, "minus_inf": None, "numpy_nan": None, "numpy_float32_inf": None,
        "in_a_list": [1.0, None, 2], "array": [0.5, None, None], "nested": {"deep": [None, 3]},
        "tensor": [1.5, None],
    }  # fmt: skip


def test_finite_values_and_numpy_types_round_trip(tmp_path):
    data = {"int": np.int64(3), "float": np.float32(0.25), "bool": np.bool_(True), "none": None,
            "text": "ε = 0.1", "ints": np.arange(3), 4: "int key", np.int64(5): "numpy key"}
    loaded = strict_load(save_json(data, tmp_path / "out.json"))
    assert loaded == {"int": 3, "float": 0.25, "bool": True, "none": None, "text": "ε = 0.1",
                      "ints": [0, 1, 2], "4": "int key", "5": "numpy key"}
    assert type(loaded["int"]) is int and type(loaded["bool"]) is bool


def test_unserializable_values_raise_and_leave_the_old_file(tmp_path):
    path = save_json({"kept": 1}, tmp_path / "out.json")
    with pytest.raises(TypeError, match="data must hold only dicts, .* got object."):
        save_json({"bad": object()}, path)
    assert strict_load(path) == {"kept": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]  # no temporary file left behind


def test_save_json_writes_atomically_via_a_temporary_file(tmp_path, monkeypatch):
    # The text is written to a temporary file first; a failure while writing leaves no file at path.
    def failing_write(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(Path, "write_text", failing_write)
    with pytest.raises(OSError, match="disk full"):
        save_json({"a": math.nan}, tmp_path / "out.json")
    assert list(tmp_path.iterdir()) == []


def test_repo_relative_gives_posix_paths_from_the_repository_root(monkeypatch, tmp_path) -> None:
    figure = REPO_ROOT / "figures" / "00_overview" / "results.json"
    assert repo_relative(figure) == "figures/00_overview/results.json"
    assert repo_relative(str(figure)) == "figures/00_overview/results.json"
    monkeypatch.chdir(REPO_ROOT / "notebooks")  # where a lesson runs
    assert repo_relative(Path("..") / "figures" / "x.png") == "figures/x.png"
    with pytest.raises(ValueError, match=r"path must be inside the repository .*, got '/'\."):
        repo_relative("/")


def test_saved_json_keeps_lists_of_values_on_one_line(tmp_path) -> None:
    data = {"support": {"/a/b": [0.5, None, 2]}, 3: [{"x": "y, ]"}, []], "empty": {}}
    path = save_json(data, tmp_path / "r.json")
    assert json.loads(path.read_text()) == json.loads(json.dumps(data))
    assert '    "/a/b": [0.5, null, 2]\n' in path.read_text()
