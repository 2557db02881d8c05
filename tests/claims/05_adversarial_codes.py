"""Lesson 05's findings: what its text states about its results, checked by tests/test_claims.py and by the
runner after a full run."""

from __future__ import annotations

from typing import Any

from helpers.claims import Claims

ATTACKS = ("fgsm", "pgd")                    # the two attacks, without their control, the noise
DISTANCE = "mean_grid_distance"
RQE = "relative_quantization_error"
HOM = "homogeneity_perturbed"
AFTER = "readout_adversarial_fooled"           # share of the fooled inputs read as their adversarial class
BEFORE = "readout_adversarial_fooled_clean"     # its baseline: the same inputs' clean codes
RHO = "/single_input_test/spearman_sharing_vs_budget"
# results["layers"] runs from the input to the output: layers[:2] (pixels, conv1) are the shallow layers,
# layers[3:] (conv3 on) the deep ones; results["attacks"] holds the two attacks and the noise.


def at(name: str, eps: float, layer: str | None = None, key: str = "success_rate") -> str:
    """JSON pointer to a result of one perturbed set (at one layer when `layer` is given)."""
    return f"/attacks/{name}/{eps:g}" + (f"/layers/{layer}/{key}" if layer else f"/{key}")


def clean_at(layer: str, key: str) -> str:
    """JSON pointer to a result of the clean codes at one layer."""
    return f"/clean/{layer}/{key}"


def findings(results: dict[str, Any]) -> Claims:
    """The findings and quotes of lesson 05's text, on its results."""
    claims = Claims(results)
    for section in (clean_codes, distances_and_fit, readout_and_takeover, single_inputs, homogeneity,
                    sharing_vs_budget, named_budgets, budget_demo, quotes_and_constants):
        section(claims, results)
    # values compared without statistical support, and why
    claims.without_support(r"_chance$",
                           "a chance level: the mean over ten label shuffles")
    claims.without_support(r"_fooled_(low|high)$",
                           "an end of a Wilson interval, itself the support of a share")
    claims.without_support(r"/n_fooled$",
                           "a count")
    claims.without_support(r"^/budget_demo/",
                           "one digit's path, described as one digit")
    claims.without_support(r"/unrelated_mean_grid_distance$",
                           "the reference distance between random pairs of inputs")
    return claims


def largest_budget(results: dict[str, Any]) -> float:
    """The largest epsilon of the sweep, the budget most findings are read at."""
    return max(results["parameters"]["epsilons"])


def clean_codes(claims: Claims, results: dict[str, Any]) -> None:
    """The opening (the noise and PGD at the largest budget), and the clean codes' index against chance."""
    compare, top, layers = claims.compare, largest_budget(results), results["layers"]
    compare("the network shrugs off the noise", at("noise", top), "<", 0.1)
    compare("PGD fools nearly every digit at the largest budget", at("pgd", top), ">", 0.95)
    for layer in layers:
        compare(f"chance level well below 1 at {layer}", clean_at(layer, "homogeneity_index_chance"), "<",
                0.8)
        compare(f"clean codes far below chance at {layer}", clean_at(layer, "homogeneity_index"), "<",
                clean_at(layer, "homogeneity_index_chance"), margin=0.3)
        if layer not in layers[:2]:
            for upper in layers[:2]:
                compare(f"clean codes at {upper} more homogeneous than at {layer}",
                        clean_at(upper, "homogeneity_index"), ">", clean_at(layer, "homogeneity_index"),
                        margin=0.02)
    for layer in ("fc", "logits"):
        compare(f"clean index about zero at {layer}", clean_at(layer, "homogeneity_index"), "<", 0.03)


def distances_and_fit(claims: Claims, results: dict[str, Any]) -> None:
    """Section 2 and Going further A: how far codes move, and how well the clean maps fit perturbed inputs."""
    compare, top, layers = claims.compare, largest_budget(results), results["layers"]
    for name in results["attacks"]:
        for layer in layers[:2]:
            compare(f"{name} moves {layer} codes about three steps at most", at(name, top, layer, DISTANCE),
                    "<", 3.6)
            compare(f"{name} moves {layer} codes under half the unrelated distance",
                    at(name, top, layer, DISTANCE), "<",
                    0.5 * results["clean"][layer]["unrelated_mean_grid_distance"], margin=0.3)
            compare(f"{name}: relative quantization error near 1 at {layer}", at(name, top, layer, RQE), ">",
                    0.8)
        for layer in layers[2:]:
            compare(f"{name}: relative quantization error well below 1 at {layer}", at(name, top, layer, RQE),
                    "<", 0.85)
        for layer in layers[4:]:
            compare(f"{name}: no outlier at {layer}", at(name, top, layer, RQE), "~=", clean_at(layer, RQE),
                    margin=0.15)
        for eps in (eps for eps in results["parameters"]["epsilons"] if 0 < eps <= 0.1):
            for layer in layers:
                compare(f"{name}, ε={eps:g}: fits the {layer} map nearly as well as clean inputs",
                        at(name, eps, layer, RQE), "~=", clean_at(layer, RQE), margin=0.08)
    for name in ATTACKS:
        compare(f"{name} moves pixel codes clearly further than the noise", at(name, top, "pixels", DISTANCE),
                ">", at("noise", top, "pixels", DISTANCE), margin=0.4)
        compare(f"at conv1 {name} and the noise move codes a similar distance, within a grid step",
                at(name, top, "conv1", DISTANCE), "~=", at("noise", top, "conv1", DISTANCE), margin=1.0)
        for layer in layers[2:]:
            compare(f"{name} moves {layer} codes further than the noise", at(name, top, layer, DISTANCE), ">",
                    at("noise", top, layer, DISTANCE), margin=0.8)
    for layer in layers[2:]:
        compare(f"noise moves {layer} codes at most a quarter step further than conv1 codes",
                at("noise", top, layer, DISTANCE), "<", at("noise", top, "conv1", DISTANCE), margin=-0.25)
    compare("PGD's distance grows from conv2 to the logits", at("pgd", top, "logits", DISTANCE), ">",
            at("pgd", top, "conv2", DISTANCE), margin=2.0)
    compare("PGD's logit codes move nearly as far as unrelated inputs", at("pgd", top, "logits", DISTANCE),
            "~=", clean_at("logits", "unrelated_mean_grid_distance"), margin=1.2)


def readout_and_takeover(claims: Claims, results: dict[str, Any]) -> None:
    """Sections 3 and 4: which class the perturbed codes are read as, and the takeover layer against its
    baseline (the fooled inputs' clean codes read as their adversarial class)."""
    compare, top, layers = claims.compare, largest_budget(results), results["layers"]
    compare("PGD's true-class readout falls to nearly nothing by fc", at("pgd", top, "fc", "readout_true"),
            "<", 0.05)
    for layer in layers[2:]:
        for name in ATTACKS:
            compare(f"from conv2 on the noise leaves far more codes with the true class than {name} "
                    f"({layer})",
                    at("noise", top, layer, "readout_true"), ">", at(name, top, layer, "readout_true"),
                    margin=0.25)
    for eps in (eps for eps in results["parameters"]["epsilons"] if 0 < eps < top):
        compare(f"noise fools too few inputs to read a takeover at ε={eps:g}",
                at("noise", eps, key="takeover_layer"), "==", None)
    for name in ATTACKS:
        for eps in results["parameters"]["epsilons"]:
            compare(f"{name}, ε={eps:g}: no takeover in the pixels or at conv1",
                    at(name, eps, key="takeover_layer"), "in", [None, "none", "undecided", *layers[2:]])
            if results["attacks"][name][f"{eps:g}"]["takeover_layer"] is None:
                continue
            for layer in layers[:2]:
                compare(f"{name}, ε={eps:g}: at most about a third of the fooled read as adversarial at "
                        f"{layer}",
                        at(name, eps, layer, AFTER), "<", 0.4)
                compare(f"{name}, ε={eps:g}: its interval well below one half at {layer}",
                        at(name, eps, layer, f"{AFTER}_high"), "<", 0.45)
                compare(f"{name}, ε={eps:g}: at {layer} some fooled inputs' clean codes already read as "
                        "their adversarial class", at(name, eps, layer, BEFORE), ">", 0.05)
                compare(f"{name}, ε={eps:g}: over that baseline the attack adds at most about a fifth at "
                        f"{layer}",
                        at(name, eps, layer, AFTER), "<", at(name, eps, layer, BEFORE), margin=-0.22)
            compare(f"{name}, ε={eps:g}: at fc the clean codes are almost never read as the adversarial "
                    "class",
                    at(name, eps, "fc", BEFORE), "<", 0.1)
            compare(f"{name}, ε={eps:g}: at fc the attack adds about two fifths or more",
                    at(name, eps, "fc", AFTER), ">", at(name, eps, "fc", BEFORE), margin=0.35)
    for layer in layers[:2]:
        claims.quote(clean_at(layer, "readout_accuracy"), "{:.0%}")
    compare("FGSM's codes land on nodes of neither class more often than PGD's",
            at("fgsm", top, "logits", "readout_neither"), ">", at("pgd", top, "logits", "readout_neither"),
            margin=0.15)
    compare("noise fools only a few dozen inputs", at("noise", top, key="n_fooled"), "<", 80)
    compare("noisy fc codes are mostly read as the true class", at("noise", top, "fc", "readout_true"), ">",
            0.7)


def single_inputs(claims: Claims, results: dict[str, Any]) -> None:
    """Going further C: the three single inputs, read through the averages over all inputs."""
    compare, top = claims.compare, largest_budget(results)
    for name in ("pgd", "noise"):
        compare(f"{name} twins stay near the clean code in the pixels", at(name, top, "pixels", DISTANCE),
                "<", 2.5)
    compare("at the logits nearly all PGD twins are read as the network's class",
            at("pgd", top, "logits", "readout_adversarial"), ">", 0.9)
    compare("at the logits noise twins are typically read as the true class",
            at("noise", top, "logits", "readout_true"), ">", 0.7)
    compare("noise twins stay near the clean code at the logits", at("noise", top, "logits", DISTANCE), "<",
            0.4 * results["clean"]["logits"]["unrelated_mean_grid_distance"])


def homogeneity(claims: Claims, results: dict[str, Any]) -> None:
    """Going further B: the homogeneity index of perturbed codes against its chance level."""
    compare, top, layers = claims.compare, largest_budget(results), results["layers"]
    for layer in layers:
        compare(f"the noise changes the index at {layer} by at most about a tenth",
                at("noise", top, layer, HOM), "~=", clean_at(layer, "homogeneity_index"), margin=0.15)
        for name in ATTACKS:
            compare(f"{name} raises the index at {layer}", at(name, top, layer, HOM), ">",
                    clean_at(layer, "homogeneity_index"), margin=0.05)
        for name in results["attacks"]:
            compare(f"{name} codes stay below their chance level at {layer}", at(name, top, layer, HOM), "<",
                    at(name, top, layer, f"{HOM}_chance"), margin=0.1)
    for layer in ("fc", "logits"):
        compare(f"PGD's {layer} codes nearly class-specific against the prediction (near zero)",
                at("pgd", top, layer, f"{HOM}_vs_prediction"), "<", 0.06)
        compare(f"FGSM's {layer} codes stay mixed against its predictions",
                at("fgsm", top, layer, f"{HOM}_vs_prediction"), ">", clean_at(layer, "homogeneity_index"),
                margin=0.2)
    compare("the noise keeps the pixel index", at("noise", top, "pixels", HOM), "~=",
            clean_at("pixels", "homogeneity_index"), margin=0.04)
    for layer in layers[:2]:
        for name in ATTACKS:
            compare(f"{name} adds about a tenth over the noise at {layer}", at(name, top, layer, HOM), "~=",
                    at("noise", top, layer, HOM), margin=0.18)
    for layer in layers[3:]:
        compare(f"PGD adds several tenths over the noise at {layer}", at("pgd", top, layer, HOM), ">",
                at("noise", top, layer, HOM), margin=0.25)
    compare("PGD's fc codes crowd onto fewer nodes: higher chance level",
            at("pgd", top, "fc", f"{HOM}_chance"), ">", clean_at("fc", "homogeneity_index_chance"),
            margin=0.03)


def sharing_vs_budget(claims: Claims, results: dict[str, Any]) -> None:
    """Going further D: the sharing of the clean code against the PGD fooling budget, beside the logit
    margin."""
    compare = claims.compare
    compare("the margin predicts the budget far better than any sharing",
            "/single_input_test/spearman_margin_vs_budget", ">", 0.7)
    for layer in results["layers"]:
        compare(f"sharing at {layer} correlates negatively with the budget", f"{RHO}/{layer}", "<", -0.1)
        compare(f"sharing at {layer} predicts the budget only weakly", f"{RHO}/{layer}", ">", -0.5)
        if layer != "conv1":
            compare(f"the association is weakest at conv1 (vs {layer})", f"{RHO}/conv1", ">",
                    f"{RHO}/{layer}", margin=0.05)
    compare("the pixels correlate less strongly than the logits", f"{RHO}/pixels", ">", f"{RHO}/logits")


def named_budgets(claims: Claims, results: dict[str, Any]) -> None:
    """The budgets the text names besides the largest (a smoke run sweeps fewer): sections 2 to 4 and Going
    further A, B and D."""
    compare, top, layers = claims.compare, largest_budget(results), results["layers"]
    if not {0.1, 0.15, 0.2} <= set(results["parameters"]["epsilons"]):
        return
    compare("PGD fools nearly every digit at 0.2", at("pgd", 0.2), ">", 0.95)
    compare("at 0.2 PGD's pixel codes fit about as well as clean ones", at("pgd", 0.2, "pixels", RQE), "~=",
            clean_at("pixels", RQE), margin=0.05)
    compare("at 0.2 PGD's pixel codes are read mostly as the true class",
            at("pgd", 0.2, "pixels", "readout_true"), ">", 0.5, margin=0.05)
    compare("at 0.2 PGD's pixel codes are read far more as true than as adversarial class",
            at("pgd", 0.2, "pixels", "readout_true"), ">", at("pgd", 0.2, "pixels", "readout_adversarial"),
            margin=0.2)
    for eps in (0.1, 0.15, 0.2):
        compare(f"PGD takes over at fc at {eps:g}", at("pgd", eps, key="takeover_layer"), "==", "fc")
        compare(f"PGD at {eps:g}: hundreds of fooled inputs", at("pgd", eps, key="n_fooled"), ">=", 200)
    compare("PGD at the largest budget: the takeover is undecided", at("pgd", top, key="takeover_layer"),
            "==", "undecided")
    compare("noise at the largest budget: just over min_fooled", at("noise", top, key="n_fooled"), ">=",
            results["parameters"]["min_fooled"])
    compare("noise at the largest budget: undecided", at("noise", top, key="takeover_layer"), "==",
            "undecided")
    compare("noise at the largest budget: from conv2 on, no layer clearly a majority",
            at("noise", top, key="takeover_span"), "==", ["conv2", None])
    compare("PGD at the largest budget: undecided between conv2 and conv3",
            at("pgd", top, key="takeover_span"), "==", ["conv2", "conv3"])
    compare("PGD at the largest budget: conv3 reads most fooled inputs as adversarial",
            at("pgd", top, "conv3", "readout_adversarial_fooled"), ">", 0.5)
    compare("PGD at the largest budget: conv2's interval holds one half",
            at("pgd", top, "conv2", "readout_adversarial_fooled_low"), "<", 0.5)
    compare("PGD at the largest budget: conv2's interval holds one half (upper end)",
            at("pgd", top, "conv2", "readout_adversarial_fooled_high"), ">=", 0.5)
    for eps in (0.2, top):
        compare(f"FGSM takes over at fc at {eps:g}", at("fgsm", eps, key="takeover_layer"), "==", "fc")
        for layer in ("fc", "logits"):
            compare(f"FGSM at {eps:g}: about three fifths read as adversarial at {layer}",
                    at("fgsm", eps, layer, "readout_adversarial_fooled"), "~=", 0.6, margin=0.1)
    for eps, between in ((0.1, ["conv3", "logits"]), (0.15, ["fc", "logits"])):
        compare(f"FGSM at {eps:g}: the takeover is undecided", at("fgsm", eps, key="takeover_layer"), "==",
                "undecided")
        compare(f"FGSM at {eps:g}: between {' and '.join(between)}", at("fgsm", eps, key="takeover_span"),
                "==", between)
    for layer in layers:
        compare(f"inputs fooled from 0.1 sit on more mixed {layer} nodes than those fooled from 0.2",
                f"/single_input_test/mean_sharing_by_budget/0.1/{layer}", ">",
                f"/single_input_test/mean_sharing_by_budget/0.2/{layer}", margin=0.02)
        if layer in ("conv3", "fc"):
            compare(f"at 0.2 PGD's {layer} index has risen far", at("pgd", 0.2, layer, HOM), ">",
                    at("pgd", 0.2, layer, "homogeneity_clean"), margin=0.25)
        if layer in layers[:2]:
            compare(f"at 0.2 PGD's {layer} index has risen far less", at("pgd", 0.2, layer, HOM), "~=",
                    at("pgd", 0.2, layer, "homogeneity_clean"), margin=0.15)


def budget_demo(claims: Claims, results: dict[str, Any]) -> None:
    """Going further C: one digit over the budgets (the demo)."""
    compare, demo = claims.compare, results["budget_demo"]
    demo_at = f"/budget_demo/path/{demo['fooling_budget']:g}"
    for eps in results["parameters"]["epsilons"]:
        compare(f"demo digit: the pixel code barely moves (ε = {eps:g})",
                f"/budget_demo/path/{eps:g}/pixels/grid_steps", "<", 2)
    for layer in ("fc", "logits"):
        compare(f"demo digit: at its budget the {layer} code leaves the clean node, "
                "further than the pixel code", f"{demo_at}/{layer}/grid_steps", ">",
                f"{demo_at}/pixels/grid_steps", margin=0.5)
    compare("demo digit: at its budget the logit code is no longer read as its true class",
            f"{demo_at}/logits/read_as", "in", [k for k in range(-1, 10) if k != demo["true_class"]])
    compare("demo digit: at its budget the network's class is new", f"{demo_at}/network_says", "in",
            [k for k in range(10) if k != demo["true_class"]])


def quotes_and_constants(claims: Claims, results: dict[str, Any]) -> None:
    """The numbers the prose quotes (the fit of the shallow maps, Going further A; the clean readout, section
    3), and the constants it prints."""
    top, shallow = largest_budget(results), results["layers"][:2]
    shallow_qe = {(name, layer): results["attacks"][name][f"{top:g}"]["layers"][layer][RQE]
                  for name in results["attacks"] for layer in shallow}
    for name, layer in (min(shallow_qe, key=shallow_qe.get), max(shallow_qe, key=shallow_qe.get)):
        claims.quote(at(name, top, layer, RQE), "{:.2f}")
    for layer in shallow:
        claims.quote(clean_at(layer, RQE), "{:.2f}")
    for text in ("0.05", "0.1", "0.15", "0.2"):
        claims.constant(text, "a budget epsilon of the sweep (parameter)")
    for text in ("36%", "70%"):
        claims.constant(text, "the 95% Wilson interval of 16 of 30 (textbook arithmetic)")
    for text in ("95%", "55%", "60%"):
        claims.constant(text, "the confidence level, and the shares of the exercise on the Wilson interval")
