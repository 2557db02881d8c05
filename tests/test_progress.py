"""Progress: tqdm bars by default, one summary line per outer loop under the runner."""

from __future__ import annotations

import re

import pytest

from helpers.progress import PROGRESS_ENV, plural, progress_mode, track


def test_bars_by_default_show_tqdm_and_keep_the_items(monkeypatch, capsys) -> None:
    monkeypatch.delenv(PROGRESS_ENV, raising=False)
    assert progress_mode() == "bars"
    bar = track(range(3), desc="demo", unit="layer")
    assert list(bar) == [0, 1, 2]
    assert "demo: 100%" in capsys.readouterr().err


def test_lines_print_one_summary_line_with_postfix(monkeypatch, capsys) -> None:
    monkeypatch.setenv(PROGRESS_ENV, "lines")
    items = []
    loop = track(range(469), desc="epoch 1/2")
    for step in loop:
        items.append(step)
        loop.set_postfix(loss="0.070")
    assert items == list(range(469))
    out, err = capsys.readouterr()
    assert err == ""
    assert re.fullmatch(r"epoch 1/2: 469 steps in \d+\.\d s, loss 0\.070\n", out)


def test_lines_inner_loops_stay_quiet_and_singular_unit(monkeypatch, capsys) -> None:
    monkeypatch.setenv(PROGRESS_ENV, "lines")
    for _ in track(["conv1"], desc="SOM per layer", unit="layer"):
        for _ in track(range(5), desc="batch SOM", unit="iteration"):
            pass
    out = capsys.readouterr().out
    assert re.fullmatch(r"SOM per layer: 1 layer in \d+\.\d s\n", out)


def test_lines_name_the_unit_in_its_plural(monkeypatch, capsys) -> None:
    monkeypatch.setenv(PROGRESS_ENV, "lines")
    for _ in track(range(3), desc="activations", unit="batch"):
        pass
    assert re.fullmatch(r"activations: 3 batches in \d+\.\d s\n", capsys.readouterr().out)
    assert [plural(unit) for unit in ("step", "layer", "model", "pass", "box")] == [
        "steps", "layers", "models", "passes", "boxes"]


def test_lines_print_nothing_when_disabled_or_interrupted(monkeypatch, capsys) -> None:
    monkeypatch.setenv(PROGRESS_ENV, "lines")
    assert list(track(range(2), desc="quiet", enabled=False)) == [0, 1]
    for step in track(range(10), desc="stopped early"):
        if step == 3:
            break
    with pytest.raises(KeyError):
        for _ in track(range(3), desc="failed"):
            raise KeyError("boom")
    assert capsys.readouterr().out == ""
    for _ in track(range(2), desc="after a failure"):  # the failed loop is no longer open
        pass
    assert capsys.readouterr().out.startswith("after a failure: 2 steps")


def test_unknown_mode_names_the_variable_and_value(monkeypatch) -> None:
    monkeypatch.setenv(PROGRESS_ENV, "loud")
    expected = r"SOM_CODES_PROGRESS must be one of \('bars', 'lines'\), got 'loud'\."
    with pytest.raises(ValueError, match=expected):
        track(range(1), desc="x")
