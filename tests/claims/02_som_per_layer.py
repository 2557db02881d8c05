"""Lesson 02's findings: what its text states about its results, checked by tests/test_claims.py and by the
runner after a full run."""

from __future__ import annotations

from typing import Any

from helpers.claims import Claims

TOY_SIZE = 8
"""The toy SOM is TOY_SIZE x TOY_SIZE nodes; its default neighbourhood width is TOY_SIZE / 4."""

DEEP = ["conv1", "conv2", "conv3", "fc"]
"""The layers over which the text says the codes grow more class-specific."""

FLAT_U_MATRIX = ["pixels", "conv1", "conv2", "conv3"]
RIDGED_U_MATRIX = ["fc", "logits"]
"""The layers whose U-matrix the text calls nearly flat, and those where it shows basins parted by ridges."""


def findings(results: dict[str, Any]) -> Claims:
    """The claims of lesson 02's text, on `results` (its results.json); it quotes no number."""
    layers = list(results["layers"])
    widths = sorted(float(sigma) for sigma in results["toy"]["widths"])
    claims = Claims(results)
    compare = claims.compare
    # 1. What a SOM does, on a 2-D toy: the runs of 0, 1, ... iterations
    toy = "/toy"
    compare("toy: the start has a high topographic error, the last run a small fraction of it",
            f"{toy}/final/topographic_error", "<", f"{toy}/start/topographic_error", margin=0.3)
    compare("toy: one wide-neighbourhood iteration contracts the net (prototype spread shrinks)",
            f"{toy}/one_iteration/prototype_spread", "<", f"{toy}/start/prototype_spread", margin=0.1)
    compare("toy: after the last run the topographic error is small", f"{toy}/final/topographic_error", "<",
            0.2)
    compare("toy: one iteration begins to order the net (topographic error falls)",
            f"{toy}/one_iteration/topographic_error", "<", f"{toy}/start/topographic_error", margin=0.1)
    compare("toy: over a longer run the net spreads out again",
            f"{toy}/final/prototype_spread", ">", f"{toy}/one_iteration/prototype_spread", margin=0.1)
    compare("toy: one iteration raises the quantization error",
            f"{toy}/one_iteration/quantization_error", ">", f"{toy}/start/quantization_error", margin=0.1)
    compare("toy: after the last run the quantization error is back near its start",
            f"{toy}/final/quantization_error", "~=", f"{toy}/start/quantization_error", margin=0.02)
    # Going further A. The neighbourhood width: order against fit (a narrow one makes the SOM k-means)
    narrow, default_width, wide = (f"{toy}/widths/{sigma:g}"
                                   for sigma in (min(widths), TOY_SIZE / 4, max(widths)))
    compare("width demo: below one grid step most points' two best nodes are not grid neighbours",
            f"{narrow}/topographic_error", ">", 0.5)
    for sigma in widths[1:]:
        compare(f"width demo: the narrowest width fits tightest (vs sigma {sigma:g})",
                f"{narrow}/quantization_error", "<", f"{toy}/widths/{sigma:g}/quantization_error")
    for smaller, larger in ((narrow, default_width), (default_width, wide)):
        compare(f"width demo: the topographic error falls from {smaller} to {larger}",
                f"{larger}/topographic_error", "<", f"{smaller}/topographic_error", margin=0.03)
        compare(f"width demo: the quantization error rises from {smaller} to {larger}",
                f"{larger}/quantization_error", ">", f"{smaller}/quantization_error", margin=0.01)
    compare("width demo: at the widest the topographic error is near zero", f"{wide}/topographic_error", "<",
            0.03)
    # Going further B. One batch iteration by hand: the helper against MiniSom
    compare("one iteration of the helper equals MiniSom's train_batch_offline",
            "/helper_vs_minisom_max_difference", "<", 1e-9)
    # 2. The pipeline by hand on one layer gives the helper's codes
    compare("the five steps by hand and codes.codebook_for give every SOM-fit image the same code",
            "/by_hand_vs_helper_code_agreement", "==", 1.0)
    # 3. The maps of every layer, and the answer on the U-matrix
    compare("the pixels keep all 784 features", "/layers/pixels/features", "==", 784)
    for layer in ["pixels", "conv1"]:
        compare(f"{layer}: codes shared by several classes (pale nodes)", f"/layers/{layer}/classes_per_code",
                ">", 2)
    for layer in RIDGED_U_MATRIX:
        compare(f"{layer}: a node on a class border lies about half as far again from its neighbours "
                "as an inner one", f"/layers/{layer}/u_matrix_border_ratio", "~=", 1.5, margin=0.2)
        compare(f"{layer}: the U-matrix has light basins and dark ridges (it varies over the map)",
                f"/layers/{layer}/u_matrix_variation", ">", 0.25)
    for layer in FLAT_U_MATRIX:
        compare(f"{layer}: border nodes lie barely farther from their neighbours than inner ones",
                f"/layers/{layer}/u_matrix_border_ratio", "<", 1.25)
        compare(f"{layer}: the U-matrix is nearly flat", f"/layers/{layer}/u_matrix_variation", "<", 0.2)
    # 3. to 5. every layer: features, nodes used, code-mates against chance, SOM quality
    for layer in layers:
        pointer = f"/layers/{layer}"
        compare(f"{layer}: no more than about a thousand features", f"{pointer}/features", "<=", 1024)
        compare(f"{layer}: the SOM spreads the test images over nearly all of its nodes",
                f"{pointer}/nodes_used_share", ">=", 0.95)
        compare(f"{layer}: chance same-class share of code-mates is about one in ten",
                f"{pointer}/same_class_mate_share_chance", "~=", 0.1, margin=0.02)
        compare(f"{layer}: same-class share of code-mates several times its chance level",
                f"{pointer}/same_class_mate_share_over_chance", ">", 3, margin=0.2)
        compare(f"{layer}: far fewer classes per code than chance",
                f"{pointer}/classes_per_code", "<", f"{pointer}/classes_per_code_chance", margin=2)
        compare(f"{layer}: relative quantization error below 1",
                f"{pointer}/relative_quantization_error", "<", 1, margin=0.05)
        compare(f"{layer}: topographic error a few hundredths", f"{pointer}/topographic_error", "<", 0.05)
    # 4. Which digits share a code? The trend over depth
    for shallower, deeper in zip(DEEP, DEEP[1:]):
        compare(f"same-class share of code-mates climbs from {shallower} to {deeper}",
                f"/layers/{deeper}/same_class_mate_share", ">", f"/layers/{shallower}/same_class_mate_share",
                margin=0.02)
        compare(f"classes per code fall from {shallower} to {deeper}",
                f"/layers/{deeper}/classes_per_code", "<", f"/layers/{shallower}/classes_per_code",
                margin=0.1)
    compare("logits about level with fc in same-class share", "/layers/logits/same_class_mate_share", "~=",
            "/layers/fc/same_class_mate_share", margin=0.03)
    for layer in ["fc", "logits"]:
        compare(f"{layer}: nine in ten code-mates or more share the image's class",
                f"/layers/{layer}/same_class_mate_share", ">=", 0.9)
    compare("conv1 shares its codes more widely than the pixels", "/layers/conv1/same_class_mate_share", "<",
            "/layers/pixels/same_class_mate_share", margin=0.02)
    # 5. SOM quality per layer: the shallow maps are the looser fit
    for shallow in ["pixels", "conv1", "conv2", "conv3"]:
        for deep_layer in ["fc", "logits"]:
            compare(f"relative quantization error higher at {shallow} than at {deep_layer}",
                    f"/layers/{shallow}/relative_quantization_error", ">",
                    f"/layers/{deep_layer}/relative_quantization_error", margin=0.1)
    # values compared without statistical support, and why
    claims.without_support(r"/features$",
                           "a layer's size (a count)")
    claims.without_support(r"_chance$",
                           "a chance level: the mean over ten label shuffles")
    claims.without_support(r"^/toy/",
                           "the 2-D toy SOM on fixed points: no sample")
    claims.without_support(r"^/helper_vs_minisom_max_difference$",
                           "a numerical difference between two implementations")
    claims.without_support(r"/u_matrix_",
                           "a property of one fitted map (its prototypes and the fit set's node labels)")
    return claims
