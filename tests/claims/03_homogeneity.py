"""Lesson 03's findings: what its text states about its results, checked by tests/test_claims.py and by the
runner after a full run."""

from __future__ import annotations

import json
from typing import Any

from helpers.claims import Claims, resolve
from helpers.io import FIGURES_DIR

LESSON_01 = FIGURES_DIR / "01_training" / "results.json"
"""Lesson 01's results: the accuracy of the same networks on all 10,000 test images, which the text sets
beside the accuracy on this lesson's 5,000."""

DEEP = ["conv1", "conv2", "conv3", "fc"]
"""The network's layers after the pixels and before the logits, in order."""


def _or_missing(results: dict[str, Any], pointer: str) -> str | None:
    """`pointer` where `results` hold it, else None: a claim on a key that a full run has not produced yet
    fails on its own (a missing value makes a comparison false) instead of stopping every other claim."""
    try:
        resolve(results, pointer)
    except KeyError:
        return None
    return pointer


def findings(results: dict[str, Any]) -> Claims:
    """The findings and quotes of lesson 03's text, on its full run's `results` (and lesson 01's accuracy,
    under ``/lesson_01``)."""
    lesson_01 = json.loads(LESSON_01.read_text())
    claims = Claims({**results, "lesson_01": {"test_accuracy_mean": lesson_01["test_accuracy_mean"]}})
    compare = claims.compare
    layers, pooled = results["layers"], results["control_layer"]
    order = [layers[0], pooled, *layers[1:]]        # the pooled-pixels control right after the pixels
    parameters = results["parameters"]
    som_size, pool_size = parameters["som_size"], parameters["pool_size"]
    T, U, S0 = "/trained/mean", "/untrained/mean", f"/trained/per_seed/{parameters['seeds'][0]}"

    # Section 2: the chance level
    claims.constant("0.6", "the chance level of the worked case, (8 + 12/3) / 20, worked out in the text")
    claims.quote(f"{S0}/conv1/homogeneity_index_chance", "{:.2f}")
    claims.quote(f"{S0}/conv1/homogeneity_index", "{:.2f}")
    nodes = list(results["random_codes"]["index_by_nodes"])
    compare("random codes on few nodes score close to 1", f"/random_codes/index_by_nodes/{nodes[0]}", ">",
            0.95)
    compare("random codes on many nodes score far less than on few",
            f"/random_codes/index_by_nodes/{nodes[-1]}", "<", f"/random_codes/index_by_nodes/{nodes[0]}",
            margin=0.15)
    compare("random codes on as many nodes as the SOM land at about conv1's chance level",
            f"/random_codes/index_by_nodes/{som_size**2}", "~=", f"{S0}/conv1/homogeneity_index_chance",
            margin=0.02)
    # Section 3: the networks' accuracy on the first 5,000 test images, against lesson 01's on all 10,000
    claims.quote("/trained/network_accuracy_mean", "{:.1%}")
    claims.quote("/lesson_01/test_accuracy_mean", "{:.1%}")
    compare("the same networks score lower on the first 5,000 test images than on all 10,000 (lesson 01)",
            "/trained/network_accuracy_mean", "<", "/lesson_01/test_accuracy_mean")
    # Section 3: the headline
    for condition in ("trained", "untrained"):
        for layer in order:
            compare(f"{condition} {layer}: the index lies far below its chance level",
                    f"/{condition}/mean/{layer}/homogeneity_index", "<",
                    f"/{condition}/mean/{layer}/homogeneity_index_chance", margin=0.2)
    compare("the chance level is about the same at every layer", "/chance_range/max", "~=",
            "/chance_range/min", margin=0.02)
    claims.quote("/chance_range/min", "{:.2f}")
    for upper, lower in zip(DEEP, DEEP[1:]):
        compare(f"trained: the index falls from {upper} to {lower}", f"{T}/{upper}/homogeneity_index", ">",
                f"{T}/{lower}/homogeneity_index", margin=0.05)
    for layer in ("fc", "logits"):
        compare(f"trained {layer}: the index is near zero", f"{T}/{layer}/homogeneity_index", "<", 0.1)
    for layer in order:
        compare(f"trained {layer}: the seeds agree closely", f"/trained/std/{layer}/homogeneity_index", "<",
                0.03)
    for layer in ("conv2", "conv3", "fc"):
        compare(f"untrained {layer}: the index stays near its conv1 level", f"{U}/{layer}/homogeneity_index",
                "~=", f"{U}/conv1/homogeneity_index", margin=0.08)
    compare("untrained: the index rises at the logits", f"{U}/logits/homogeneity_index", ">",
            f"{U}/fc/homogeneity_index", margin=0.1)
    compare("trained and untrained conv1 are equal, within two hundredths", f"{T}/conv1/homogeneity_index",
            "~=", f"{U}/conv1/homogeneity_index", margin=0.02)
    claims.quote(f"{T}/conv1/homogeneity_index", "{:.2f}")
    claims.quote(f"{U}/conv1/homogeneity_index", "{:.2f}")
    compare("unpooled pixels score lower than conv1", f"{T}/pixels/homogeneity_index", "<",
            f"{T}/conv1/homogeneity_index", margin=0.05)
    compare("the pixels pooled like conv1 score at least as high as conv1", f"{T}/{pooled}/homogeneity_index",
            ">=", f"{T}/conv1/homogeneity_index")
    # Going further B: the other measures
    compare("trained: NMI rises from conv1 to fc", f"{T}/fc/nmi", ">", f"{T}/conv1/nmi", margin=0.1)
    compare("trained: each class spreads over fewer nodes at fc than at conv1",
            f"{T}/fc/mean_nodes_per_class", "<", f"{T}/conv1/mean_nodes_per_class", margin=20)
    compare("trained: fewer nodes hold two or more classes at fc than at conv1",
            f"{T}/fc/multi_class_node_fraction", "<", f"{T}/conv1/multi_class_node_fraction", margin=0.3)
    compare("untrained: NMI does not rise from conv1 to fc", f"{U}/fc/nmi", "~=", f"{U}/conv1/nmi",
            margin=0.05)
    compare("untrained: most nodes at fc hold two or more classes", f"{U}/fc/multi_class_node_fraction",
            ">", 0.8)
    for layer in ("conv3", "fc", "logits"):
        for shallow in ("pixels", "conv1"):
            compare(f"trained: {layer} uses fewer effective codes than {shallow}",
                    f"{T}/{layer}/effective_codes", "<", f"{T}/{shallow}/effective_codes")
    for condition in ("trained", "untrained"):       # exercise 2: test images spread over nearly all nodes
        for layer in layers:
            compare(f"{condition} {layer}: most nodes are used",
                    f"/{condition}/mean/{layer}/fraction_nodes_used", ">", 0.9)
    # Going further B: the chance levels of the measures that use labels (new keys of the results)
    for condition in ("trained", "untrained"):
        for layer in layers:
            C = f"/{condition}/mean/{layer}"
            nmi, readout, nodes, multi = (_or_missing(results, f"{C}/{key}_chance") for key in
                                          ("nmi", "readout_accuracy", "mean_nodes_per_class",
                                           "multi_class_node_fraction"))
            compare(f"{condition} {layer}: by chance NMI would lie a little above 0", nmi, "<", 0.1)
            compare(f"{condition} {layer}: ... but above 0", nmi, ">", 0.02)
            compare(f"{condition} {layer}: by chance the readout would be right for about one image in ten",
                    readout, "~=", 0.1, margin=0.02)
            compare(f"{condition} {layer}: by chance every class would spread over more nodes than it does",
                    f"{C}/mean_nodes_per_class", "<", nodes, margin=20)
            compare(f"{condition} {layer}: by chance nearly every node would hold two classes or more",
                    multi, ">", 0.9)
    # Going further C: readout
    for layer in ("pixels", "conv1"):
        compare(f"trained {layer}: the readout is right for most test images",
                f"{T}/{layer}/readout_accuracy", ">", 0.5)
        compare(f"trained {layer}: ... far above chance", f"{T}/{layer}/readout_accuracy", ">",
                _or_missing(results, f"{T}/{layer}/readout_accuracy_chance"), margin=0.3)
    compare("pooling the pixels loses some readout accuracy", f"{T}/{pooled}/readout_accuracy", "<",
            f"{T}/pixels/readout_accuracy", margin=0.02)
    for upper, lower in zip(DEEP, DEEP[1:]):
        compare(f"trained: the readout improves from {upper} to {lower}", f"{T}/{lower}/readout_accuracy",
                ">", f"{T}/{upper}/readout_accuracy", margin=0.03)
    for layer in ("fc", "logits"):
        compare(f"trained {layer}: the readout comes within a few points of the network",
                f"{T}/{layer}/readout_accuracy", "~=", "/trained/network_accuracy_mean", margin=0.05)
        compare(f"trained {layer}: the readout agrees with the network at least as often as with the truth",
                f"{T}/{layer}/readout_agreement", ">=", f"{T}/{layer}/readout_accuracy")
    # Going further C: the readout on the test images the network gets wrong (mean over the seeds)
    M = "/mistakes/layers"
    compare("on its mistakes, the fc code names the network's wrong answer more often than the truth",
            f"{M}/fc/as_network", ">", f"{M}/fc/as_true", margin=0.1)
    compare("... for about three in five", f"{M}/fc/as_network", "~=", 0.6, margin=0.15)
    compare("... and the true class for about one in four", f"{M}/fc/as_true", "~=", 0.25, margin=0.13)
    compare("the pixel code, too, names the wrong answer more often than the truth", f"{M}/pixels/as_network",
            ">", f"{M}/pixels/as_true")
    compare("... for nearly half of them", f"{M}/pixels/as_network", "~=", 0.45, margin=0.15)
    # Going further A: controls, on the first seed: the main setting, then the other SOM and pooling sizes
    settings = {f"SOM {som_size}x{som_size}, pool {pool_size} (main)": S0}
    settings |= {name: f"/controls/{name}" for name in results["controls"]}
    for setting, pointer in settings.items():
        for upper, lower in zip(DEEP, DEEP[1:]):
            compare(f"{setting}: the index falls from {upper} to {lower}",
                    f"{pointer}/{upper}/homogeneity_index", ">", f"{pointer}/{lower}/homogeneity_index",
                    margin=0.03)
        for layer in order:
            compare(f"{setting} {layer}: the index lies below its chance level",
                    f"{pointer}/{layer}/homogeneity_index", "<",
                    f"{pointer}/{layer}/homogeneity_index_chance", margin=0.15)
    som_sizes = sorted(parameters["som_sizes"])
    size_pointer = {k: S0 if k == som_size else f"/controls/SOM {k}x{k}, pool {pool_size}" for k in som_sizes}
    for small, big in zip(som_sizes, som_sizes[1:]):
        for layer in ("pixels", "conv1", "conv2"):
            for column in ("homogeneity_index_chance", "homogeneity_index"):
                compare(f"a {big}x{big} map gives a lower {column} at {layer} than a {small}x{small} map",
                        f"{size_pointer[big]}/{layer}/{column}", "<",
                        f"{size_pointer[small]}/{layer}/{column}", margin=0.01)
    for pool in (p for p in parameters["pool_sizes"] if p < pool_size):
        coarse = f"/controls/SOM {som_size}x{som_size}, pool {pool}"
        compare(f"pool {pool}: conv1's codes become much more shared", f"{coarse}/conv1/homogeneity_index",
                ">", f"{S0}/conv1/homogeneity_index", margin=0.15)
        compare(f"pool {pool}: the pooled pixels are as shared as conv1",
                f"{coarse}/{pooled}/homogeneity_index", "~=", f"{coarse}/conv1/homogeneity_index",
                margin=0.03)
        compare(f"pool {pool}: still about a tenth more at conv2", f"{coarse}/conv2/homogeneity_index", ">",
                f"{S0}/conv2/homogeneity_index", margin=0.05)
        for layer in ("fc", "logits"):
            compare(f"pool {pool}: no effect at {layer}", f"{coarse}/{layer}/homogeneity_index", "~=",
                    f"{S0}/{layer}/homogeneity_index", margin=0.01)
    compare("topographic errors are a few percent at most", "/max_topographic_error/main", "<", 0.05)
    compare("topographic errors of the control maps are below a tenth", "/max_topographic_error/controls",
            "<", 0.1)
    # Exercises
    compare("conv1's index is lower on the SOM-fit images than on the test images",
            "/conv1_on_fit_images/homogeneity_index", "<", f"{S0}/conv1/homogeneity_index")
    compare("... by a few hundredths", "/conv1_on_fit_images/homogeneity_index", "~=",
            f"{S0}/conv1/homogeneity_index", margin=0.06)
    compare("7 x 7 pooled pixels: above the unpooled pixels", "/exercise_pooled_pixels_7x7/homogeneity_index",
            ">", f"{S0}/pixels/homogeneity_index", margin=0.005)
    compare("7 x 7 pooled pixels: well below the 4 x 4 pooled ones",
            "/exercise_pooled_pixels_7x7/homogeneity_index", "<", f"{S0}/{pooled}/homogeneity_index",
            margin=0.05)
    # values compared without statistical support, and why
    claims.without_support(r"_chance$",
                           "a chance level: the mean over ten label shuffles")
    claims.without_support(r"^/chance_range/",
                           "the range of the chance levels")
    claims.without_support(r"^/trained/std/",
                           "the spread over the seeds itself")
    claims.without_support(r"^/random_codes/",
                           "a simulation of random codes, the illustration of the chance level")
    claims.without_support(r"^/lesson_01/",
                           "lesson 01's accuracy on all 10,000 test images, the mean over its seeds (its own "
                           "lesson holds it to its support)")
    return claims
