"""The examples in the docstrings of `helpers` are tests: every one must run and give its output."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import helpers

MODULES = sorted(f"helpers.{info.name}" for info in pkgutil.iter_modules(helpers.__path__))


def run_examples(module_name: str) -> doctest.TestResults:
    module = importlib.import_module(module_name)
    return doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)


@pytest.mark.parametrize("module_name", MODULES)
def test_docstring_examples_pass(module_name):
    result = run_examples(module_name)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {module_name} failed"


def test_the_examples_are_found():
    assert "helpers.metrics" in MODULES and "helpers.perturbation" in MODULES
    # homogeneity_index, homogeneity_chance, node_sharing and wilson_interval carry examples.
    assert run_examples("helpers.metrics").attempted >= 12
