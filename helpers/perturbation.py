"""How the codes of perturbed inputs differ from those of their clean twins, layer by layer.

Every function takes a codebook (a `helpers.codes.LayerCodebook`, or anything with its `layers`,
`node_labels[layer]` and `coordinates`) and codes as dicts from layer to an integer array with one
code per input, the clean and the perturbed arrays in the same input order. The SOMs are fit on
clean data only, so the clean maps are the fixed frame in which perturbed inputs are located.
The *readout* of a code is the class its node is labelled with (the majority class of the clean
fit inputs it wins); an input is *fooled* when the network's prediction for its perturbed twin
is not its true class.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch

from helpers import metrics
from helpers.attacks import AttackSweep
from helpers.checks import check_int

__all__ = [
    "MEASURES",
    "perturbation_measures",
    "perturbation_table",
    "takeover_layer",
    "takeover_layers",
    "takeover_span",
    "takeover_spans",
    "unrelated_grid_distance",
]

MEASURES = (
    "code_retention",
    "mean_grid_distance",
    "readout_true",
    "readout_adversarial",
    "n_fooled",
    "readout_true_fooled",
    "readout_adversarial_fooled",
    "readout_adversarial_fooled_low",
    "readout_adversarial_fooled_high",
    "readout_adversarial_fooled_clean",
    "homogeneity_clean",
    "homogeneity_clean_chance",
    "homogeneity_perturbed",
    "homogeneity_perturbed_chance",
    "homogeneity_perturbed_vs_prediction",
    "homogeneity_perturbed_vs_prediction_chance",
)
"""The keys of `perturbation_measures` per layer, in order."""

_FOOLED_ONLY = (
    "readout_true_fooled",
    "readout_adversarial_fooled",
    "readout_adversarial_fooled_low",
    "readout_adversarial_fooled_high",
    "readout_adversarial_fooled_clean",
)


def perturbation_measures(
    codebook: Any,
    clean_codes: Mapping[str, Any],
    perturbed_codes: Mapping[str, Any],
    labels: Any,
    perturbed_predictions: Any,
    min_fooled: int = 50,
    chance: bool = True,
) -> dict[str, dict[str, float | int | None]]:
    """Per codebook layer: how the perturbation changed the codes, as a dict of `MEASURES`.

    - ``code_retention``: share of inputs whose code is unchanged; ``mean_grid_distance``: mean
      distance on the SOM grid between clean and perturbed code.
    - ``readout_true`` / ``readout_adversarial``: share of perturbed codes read as the true class /
      as the class the network predicts for the perturbed input, over all inputs.
    - ``n_fooled`` and the same two shares over the fooled inputs only (``..._fooled``), with the
      95% Wilson interval of the adversarial one (``..._low``, ``..._high``). On an input that was
      not fooled the two classes coincide, so only the fooled inputs tell them apart.
      ``readout_adversarial_fooled_clean``: the baseline of that share, the share of the same fooled
      inputs whose *clean* code is already read as their adversarial class. These five are None
      when fewer than ``min_fooled`` inputs were fooled.
    - ``homogeneity_clean`` / ``homogeneity_perturbed``: homogeneity index of the clean / perturbed
      codes with the true classes, each with its ``..._chance`` level (shuffled labels), and
      ``homogeneity_perturbed_vs_prediction``: of the perturbed codes with the predicted classes
      (with its chance level too). With ``chance=False`` the chance levels are left out (they shuffle
      the classes ten times each: most of the time, when the measures are taken on many resamples).
    """
    min_fooled = check_int(min_fooled, "min_fooled", minimum=1)
    clean_codes = _codes_by_layer(codebook, clean_codes, "clean_codes")
    perturbed_codes = _codes_by_layer(codebook, perturbed_codes, "perturbed_codes")
    labels = _as_array(labels)
    predictions = _as_array(perturbed_predictions)
    n_inputs = len(next(iter(clean_codes.values())))
    for name, values in [("perturbed_codes", next(iter(perturbed_codes.values()))),
                         ("labels", labels), ("perturbed_predictions", predictions)]:
        if values.ndim != 1 or len(values) != n_inputs:
            raise ValueError(
                f"{name} must have one entry per input of clean_codes ({n_inputs}), got shape {values.shape}."
            )
    fooled = predictions != labels
    n_fooled = int(fooled.sum())
    enough = n_fooled >= min_fooled
    out = {}
    for layer in codebook.layers:
        clean, perturbed = clean_codes[layer], perturbed_codes[layer]
        read = metrics.readout(codebook.node_labels[layer], perturbed)
        read_clean = metrics.readout(codebook.node_labels[layer], clean)
        adversarial_hits = int(np.sum(read[fooled] == predictions[fooled]))
        low, high = metrics.wilson_interval(adversarial_hits, n_fooled) if enough else (None, None)
        out[layer] = {
            "code_retention": metrics.code_retention(clean, perturbed),
            "mean_grid_distance": metrics.mean_grid_distance(clean, perturbed, codebook.coordinates),
            "readout_true": float(np.mean(read == labels)),
            "readout_adversarial": float(np.mean(read == predictions)),
            "n_fooled": n_fooled,
            "readout_true_fooled": float(np.mean(read[fooled] == labels[fooled])) if enough else None,
            "readout_adversarial_fooled": adversarial_hits / n_fooled if enough else None,
            "readout_adversarial_fooled_low": low,
            "readout_adversarial_fooled_high": high,
            "readout_adversarial_fooled_clean": (float(np.mean(read_clean[fooled] == predictions[fooled]))
                                                 if enough else None),
            "homogeneity_clean": metrics.homogeneity_index(clean, labels),
            "homogeneity_perturbed": metrics.homogeneity_index(perturbed, labels),
            "homogeneity_perturbed_vs_prediction": metrics.homogeneity_index(perturbed, predictions),
        }
        if chance:
            sets = (("homogeneity_clean", clean, labels), ("homogeneity_perturbed", perturbed, labels),
                    ("homogeneity_perturbed_vs_prediction", perturbed, predictions))
            out[layer] |= {f"{key}_chance": metrics.homogeneity_chance(codes, classes)
                           for key, codes, classes in sets}
        out[layer] = {key: out[layer][key] for key in MEASURES if key in out[layer]}
    return out


def takeover_span(
    measures_by_layer: Mapping[str, Mapping[str, Any]], layers: Sequence[str], min_fooled: int = 50
) -> tuple[str | None, str | None] | None:
    """Where the adversarial class may and where it surely has taken over the codes of the fooled
    inputs: (the first layer whose 95% Wilson interval of ``readout_adversarial_fooled`` reaches one
    half, the first layer whose interval lies above one half), None for a layer there is none of;
    None if fewer than ``min_fooled`` inputs were fooled.

    The first layer that reads a majority of the fooled inputs as their adversarial class lies
    between the two, both included. ``measures_by_layer`` maps each layer to its measures, as
    `perturbation_measures` returns them (NaN, as in a table, counts as missing like None).
    """
    min_fooled = check_int(min_fooled, "min_fooled", minimum=1)
    layers = list(layers)
    missing = [layer for layer in layers if layer not in measures_by_layer]
    if not layers or missing:
        raise ValueError(
            f"layers must be non-empty and each in measures_by_layer {list(measures_by_layer)}, "
            f"got {layers!r}."
        )
    if int(measures_by_layer[layers[0]]["n_fooled"]) < min_fooled:
        return None
    ends = {}
    for layer in layers:
        low, high = (measures_by_layer[layer][f"readout_adversarial_fooled_{end}"] for end in ("low", "high"))
        if _is_missing(low) or _is_missing(high):
            raise ValueError(
                f"measures_by_layer must hold readout_adversarial_fooled_low and _high (computed with "
                f"min_fooled <= {min_fooled}), got {low!r} and {high!r} at layer {layer!r}."
            )
        ends[layer] = low, high
    possible = next((layer for layer in layers if ends[layer][1] >= 0.5), None)
    certain = next((layer for layer in layers if ends[layer][0] > 0.5), None)
    return possible, certain


def takeover_layer(
    measures_by_layer: Mapping[str, Mapping[str, Any]], layers: Sequence[str], min_fooled: int = 50
) -> str | None:
    """The first layer, from input to output, whose codes read the fooled inputs as their
    adversarial class by a clear majority, when the counts decide it; None if too few were fooled.

    A clear majority: the lower end of the 95% Wilson interval of ``readout_adversarial_fooled``
    is above 0.5, and at least ``min_fooled`` inputs were fooled. The layers before it must each
    be clearly short of a majority (the upper end below 0.5): a layer whose interval holds one half
    may or may not be the first, so the answer is then "undecided" (`takeover_span` gives the
    layers it lies between). "none": every layer is clearly short. A bare majority is not enough:
    with ~30 fooled inputs, a share just above one half is within noise of it, and a rerun on a
    second machine moved such a takeover from conv3 to the logits; a lower end just above one half
    is not either, as reruns moved FGSM's takeover between fc, the logits and none.
    """
    span = takeover_span(measures_by_layer, layers, min_fooled)
    if span is None:
        return None
    possible, certain = span
    if possible is None:
        return "none"
    return possible if possible == certain else "undecided"


def perturbation_table(
    codebook: Any,
    clean_codes: Mapping[str, Any],
    perturbed_codes: Mapping[tuple[str, float], Mapping[str, Any]],
    sweep: AttackSweep,
    min_fooled: int = 50,
) -> pd.DataFrame:
    """`perturbation_measures` for every perturbed set of an attack sweep, as one table.

    ``perturbed_codes[attack, epsilon]`` are the codes of ``sweep.images[attack, epsilon]``, for
    instance ``{key: codebook.encode(model, x) for key, x in sweep.images.items()}``: encoding needs
    the model and is the slow step, and the notebook needs the codes again (single inputs through
    the layers), so it is done once, outside. One row per (attack, epsilon, layer) with the sweep's
    ``success_rate`` and every measure of `MEASURES`; ``layer`` is an ordered Categorical in the
    codebook's order, and the fooled-only columns are NaN where too few inputs were fooled.
    """
    missing = [key for key in sweep.images if key not in perturbed_codes]
    if missing:
        raise ValueError(
            "perturbed_codes must hold the codes of every (attack, epsilon) of the sweep, "
            f"got none for {missing!r}."
        )
    rows = []
    for attack in sweep.attacks:
        for epsilon in sweep.epsilons:
            key = (attack, epsilon)
            measures = perturbation_measures(codebook, clean_codes, perturbed_codes[key], sweep.labels,
                                             sweep.predictions[key], min_fooled)
            rows += [{"attack": attack, "epsilon": epsilon, "layer": layer,
                      "success_rate": sweep.success[key], **values} for layer, values in measures.items()]
    table = pd.DataFrame(rows)
    table["layer"] = pd.Categorical(table["layer"], categories=list(codebook.layers), ordered=True)
    for column in _FOOLED_ONLY:
        table[column] = table[column].astype(float)
    return table


def takeover_layers(table: pd.DataFrame, min_fooled: int = 50) -> dict[tuple[str, float], str | None]:
    """`takeover_layer` of every (attack, epsilon) of a `perturbation_table`, in the table's order."""
    return _per_set(takeover_layer, table, min_fooled)


def takeover_spans(
    table: pd.DataFrame, min_fooled: int = 50
) -> dict[tuple[str, float], tuple[str | None, str | None] | None]:
    """`takeover_span` of every (attack, epsilon) of a `perturbation_table`, in the table's order."""
    return _per_set(takeover_span, table, min_fooled)


def _per_set(rule: Any, table: pd.DataFrame, min_fooled: int) -> dict[tuple[str, float], Any]:
    layers = list(table["layer"].cat.categories)
    return {
        (attack, epsilon): rule(group.set_index("layer").to_dict("index"), layers, min_fooled)
        for (attack, epsilon), group in table.groupby(["attack", "epsilon"], sort=False, observed=True)
    }


def unrelated_grid_distance(codebook: Any, codes: Mapping[str, Any], seed: int = 0) -> dict[str, float]:
    """Per layer: the mean grid distance between the code of each input and that of a random other
    input (drawn with ``numpy.random.default_rng(seed)``), the reference for "moved far"."""
    codes = _codes_by_layer(codebook, codes, "codes")
    n_inputs = len(next(iter(codes.values())))
    if n_inputs < 2:
        raise ValueError(f"codes must hold at least 2 inputs per layer, got {n_inputs}.")
    rng = np.random.default_rng(seed)
    other = (np.arange(n_inputs) + rng.integers(1, n_inputs, size=n_inputs)) % n_inputs
    return {
        layer: metrics.mean_grid_distance(codes[layer], codes[layer][other], codebook.coordinates)
        for layer in codebook.layers
    }


def _codes_by_layer(codebook: Any, codes: Mapping[str, Any], name: str) -> dict[str, np.ndarray]:
    """The codes of every codebook layer as arrays of equal length."""
    missing = [layer for layer in codebook.layers if layer not in codes]
    if missing:
        raise ValueError(f"{name} must hold codes for every codebook layer, got none for {missing!r}.")
    arrays = {layer: _as_array(codes[layer]) for layer in codebook.layers}
    lengths = {len(values) for values in arrays.values()}
    if len(lengths) > 1:
        raise ValueError(f"{name} must hold as many codes at every layer, got lengths {sorted(lengths)}.")
    return arrays


def _as_array(values: Any) -> np.ndarray:
    if torch.is_tensor(values):
        return values.detach().cpu().numpy()
    return np.asarray(values)


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))
