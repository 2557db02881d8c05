"""The README headline's findings: what it states about the lessons' results, checked by tests/test_claims.py
on `helpers.claims.series_results` (every lesson's results under its name, with their support)."""

from __future__ import annotations

from typing import Any

from helpers.claims import Claims

HOMOGENEITY = "/03_homogeneity"
CODES = "/05_adversarial_codes"
FAMILY = "/06_generalization_vs_vulnerability/models"
BITS = "/07_relu_bitvectors"
CONSISTENCY = "/08_consistency/models"
RECIPE, PLAIN = "FGSM-RS, ε = 0.3", "plain FGSM, ε = 0.3"


def findings(results: dict[str, Any]) -> Claims:
    """The findings and quotes of the README's headline, on every lesson's results."""
    claims = Claims(results)
    for section in (homogeneity, adversarial_codes, family, bit_vectors, consistency):
        section(claims, results)
    claims.without_support(r"_chance$|/chance_range/", "a chance level: the mean over ten label shuffles")
    claims.without_support(r"/relations/|/test_and_robust/",
                           "a rank correlation over the models, an end of its interval, or its p-value")
    claims.without_support(r"/sweep_fc/", "a ratio of two models' means, each with its support")
    return claims


def homogeneity(claims: Claims, results: dict[str, Any]) -> None:
    """Lesson 03: the fall of the index with depth, learned; the shallow end, not."""
    compare = claims.compare
    trained, untrained = f"{HOMOGENEITY}/trained/mean", f"{HOMOGENEITY}/untrained/mean"
    claims.quote(f"{trained}/conv1/homogeneity_index", "{:.1f}")
    claims.quote(f"{trained}/fc/homogeneity_index", "{:.2f}")
    claims.quote(f"{HOMOGENEITY}/chance_range/min", "{:.1f}")
    for layer in ("fc", "logits"):
        compare(f"about 0.03 at {layer}", f"{trained}/{layer}/homogeneity_index", "<", 0.05)
    compare("the index falls from conv1 to fc", f"{trained}/fc/homogeneity_index", "<",
            f"{trained}/conv1/homogeneity_index", margin=0.3)
    compare("the untrained network shows no such fall", f"{untrained}/fc/homogeneity_index", "~=",
            f"{untrained}/conv1/homogeneity_index", margin=0.08)
    compare("trained and untrained conv1 score the same, within two hundredths",
            f"{trained}/conv1/homogeneity_index", "~=", f"{untrained}/conv1/homogeneity_index", margin=0.02)
    compare("the pixels pooled like a conv layer score at least as high as conv1",
            f"{trained}/pooled_pixels/homogeneity_index", ">=", f"{trained}/conv1/homogeneity_index")


def adversarial_codes(claims: Claims, results: dict[str, Any]) -> None:
    """Lesson 05: where the adversarial class takes over the codes, by the interval rule."""
    compare = claims.compare

    def takeover(attack: str, eps: float) -> str:
        return f"{CODES}/attacks/{attack}/{eps:g}/takeover_layer"

    compare("PGD at 0.3 fools every attacked digit", f"{CODES}/attacks/pgd/0.3/success_rate", ">", 0.99)
    for eps in (0.1, 0.15, 0.2):
        compare(f"PGD takes over at fc at {eps:g}", takeover("pgd", eps), "==", "fc")
    for eps in (0.2, 0.3):
        compare(f"FGSM takes over at fc at {eps:g}", takeover("fgsm", eps), "==", "fc")
    compare("at the largest budget PGD's takeover is undecided", takeover("pgd", 0.3), "==", "undecided")
    compare("... between conv2 and conv3", f"{CODES}/attacks/pgd/0.3/takeover_span", "==", ["conv2", "conv3"])
    for attack in ("fgsm", "pgd"):
        for eps in (0.1, 0.15, 0.2, 0.3):
            compare(f"never in the pixels or at conv1 ({attack}, {eps:g})", takeover(attack, eps), "in",
                    ["undecided", "conv2", "conv3", "fc", "logits", "none"])
            for layer in ("pixels", "conv1"):
                shares = f"{CODES}/attacks/{attack}/{eps:g}/layers/{layer}/readout_adversarial_fooled"
                compare(f"{layer}: at most about a fifth over the clean codes' baseline ({attack}, {eps:g})",
                        shares, "<", f"{shares}_clean", margin=-0.22)
    compare("the margin predicts the budget far better than any sharing",
            f"{CODES}/single_input_test/spearman_margin_vs_budget", ">", 0.7)
    for text in ("0.1", "0.2", "0.3"):
        claims.constant(text, "a budget epsilon (parameter)")


def family(claims: Claims, results: dict[str, Any]) -> None:
    """Lesson 06: the family's spans, conv1 and fc homogeneity, and the two models of equal accuracy."""
    compare, models = claims.compare, results["06_generalization_vs_vulnerability"]["models"]
    test = {name: f"{FAMILY}/{name}/accuracy/test" for name in models}
    robust = {name: f"{FAMILY}/{name}/robust_accuracy/0.1" for name in models}
    conv1 = {name: models[name]["layers"]["conv1"]["homogeneity_index"] for name in models}
    spans = ((test, {name: m["accuracy"]["test"] for name, m in models.items()}),
             (robust, {name: m["robust_accuracy"]["0.1"] for name, m in models.items()}))
    for pointers, values in spans:                     # the family's lowest and highest
        for name in (min(values, key=values.get), max(values, key=values.get)):
            claims.quote(pointers[name], "{:.0%}")
    claims.quote(f"{FAMILY}/{min(conv1, key=conv1.get)}/layers/conv1/homogeneity_index", "{:.2f}")
    claims.quote(f"{FAMILY}/{max(conv1, key=conv1.get)}/layers/conv1/homogeneity_index", "{:.2f}")
    claims.quote(f"{FAMILY}/standard/layers/conv1/homogeneity_index_chance", "{:.2f}")
    relations = "/06_generalization_vs_vulnerability/relations"
    for outcome in ("test accuracy", "robust accuracy, ε = 0.1"):
        for key in ("rho", "low", "high"):
            claims.quote(f"{relations}/homogeneity at fc/{outcome}/{key}", "{:.2f}")
        compare(f"fc homogeneity goes with {outcome}: the interval lies below zero",
                f"{relations}/homogeneity at fc/{outcome}/high", "<", 0.0)
        compare(f"conv1 homogeneity relates to neither ({outcome})",
                f"{relations}/homogeneity at conv1/{outcome}/low", "<", 0.0)
        compare(f"conv1 homogeneity relates to neither ({outcome}) ",
                f"{relations}/homogeneity at conv1/{outcome}/high", ">", 0.0)
    for eps in ("0.2", "0.3"):
        compare(f"fc homogeneity and robust accuracy at {eps}: the interval contains zero",
                f"{relations}/homogeneity at fc/robust accuracy, ε = {eps}/high", ">", 0.0)
    compare("given test accuracy little is left",
            f"{relations}/homogeneity at fc/robust accuracy, ε = 0.1/partial", "~=", 0.0, margin=0.3)
    compare("fc and test accuracy: exact permutation p < 0.001",
            f"{relations}/homogeneity at fc/test accuracy/p", "<", 0.001)
    compare("among the clean-trained, test and robust accuracy rank alike",
            "/06_generalization_vs_vulnerability/test_and_robust/0.1/clean-trained/rho", ">", 0.9)
    compare("lesson 01's model and the recipe have the same test accuracy, within half a point",
            test["standard"], "~=", test[RECIPE], margin=0.005)
    claims.quote(test["standard"], "{:.1%}")
    compare("equally class-pure fc codes", f"{FAMILY}/{RECIPE}/layers/fc/homogeneity_index", "~=",
            f"{FAMILY}/standard/layers/fc/homogeneity_index", margin=0.02)
    compare("under PGD at 0.3 lesson 01's model keeps none", f"{FAMILY}/standard/robust_accuracy/0.3", "<",
            0.01)
    suite = f"/06_generalization_vs_vulnerability/autoattack/{RECIPE}"
    claims.quote(f"{suite}/autoattack/0.3/accuracy_after/Square", "{:.0%}")
    claims.quote(f"{suite}/autoattack/0.3/low", "{:.0%}")
    claims.quote(f"{suite}/autoattack/0.3/high", "{:.0%}")
    claims.quote(f"{suite}/pgd_steps/40", "{:.0%}")
    claims.quote(f"{FAMILY}/{PLAIN}/fgsm_accuracy/0.3", "{:.0%}")
    compare("plain FGSM: FGSM accuracy above its clean accuracy", f"{FAMILY}/{PLAIN}/fgsm_accuracy/0.3", ">",
            f"{FAMILY}/{PLAIN}/attacked_accuracy")
    claims.quote(f"{FAMILY}/{PLAIN}/robust_accuracy/0.3", "{:.0%}")
    claims.constant("1,000", "the test images of lesson 06's robustness record")
    claims.constant("0.001", "the p-value lesson 06's relation is compared with")
    claims.constant("0.89", "the chance level of lesson 06's indices (quoted from the standard model)")


def bit_vectors(claims: Claims, results: dict[str, Any]) -> None:
    """Lesson 07: the Fiedler split at fc and below it, and what the detectors detect."""
    compare, fiedler = claims.compare, f"{BITS}/fiedler"
    compare("fc splits the 45 pairs with a mean above 95%", f"{fiedler}/trained/fc/mean", ">", 0.95)
    compare("fc: the worst pair above 90%", f"{fiedler}/trained/fc/min", ">", 0.9)
    claims.quote(f"{fiedler}/trained/fc/mean", "{:.2f}")
    claims.quote(f"{fiedler}/trained/fc/min", "{:.2f}")
    for layer in ("conv1", "conv2", "conv3"):
        compare(f"below fc the worst pair is near chance ({layer})", f"{fiedler}/trained/{layer}/min", "<",
                0.6)
    for layer in ("conv1", "conv2"):
        compare(f"{layer} within five points of binarized pixels", f"{fiedler}/trained/{layer}/mean", "~=",
                f"{fiedler}/pixels/mean", margin=0.05)
    detected = f"{BITS}/detection/held_out/bits"
    for layer in ("conv1", "conv2", "conv3"):
        compare(f"conv bits detect clean vs PGD over 95% ({layer})",
                f"{detected}/clean_vs_PGD/{layer}", ">", 0.95)
    compare("so does a detector on the raw pixels",
            f"{BITS}/detection/baselines/pixels/clean_vs_PGD", ">", 0.95)
    for layer in ("conv1", "conv2"):
        compare(f"{layer} bits tell transplanted PGD from noise as well as PGD",
                f"{detected}/transplanted_PGD_vs_noise/{layer}", "~=", f"{detected}/PGD_vs_noise/{layer}",
                margin=0.03)
    for layer in ("conv1", "conv2", "conv3", "fc"):
        compare(f"{layer} bits tell PGD from transplanted PGD worse than the perturbation's statistics",
                f"{detected}/PGD_vs_transplanted_PGD/{layer}", "<",
                f"{BITS}/detection/baselines/perturbation_statistics/PGD_vs_transplanted_PGD")
    claims.constant("95%", "the study's reported figure")


def consistency(claims: Claims, results: dict[str, Any]) -> None:
    """Lesson 08: the standard model's twins, and what the consistency term does."""
    compare = claims.compare
    standard, plain, strongest = (f"{CONSISTENCY}/{name}" for name in ("standard", "λ = 0", "λ = 10"))
    claims.quote(f"{standard}/pgd_fooled", "{:.0%}")
    claims.quote(f"{standard}/consistency/PGD/fc/topk_overlap", "{:.2f}")
    claims.quote(f"{standard}/consistency/noise/fc/topk_overlap", "{:.2f}")
    compare("the PGD twin far from the real image at fc, the noise twin close",
            f"{standard}/consistency/PGD/fc/topk_overlap", "<",
            f"{standard}/consistency/noise/fc/topk_overlap", margin=0.1)
    compare("the term shrinks the gap more than tenfold", "/08_consistency/sweep_fc/gap_shrinks_by", ">", 10)
    compare("... and the layer more than fivefold", "/08_consistency/sweep_fc/scale_shrinks_by", ">", 5)
    claims.quote("/08_consistency/robustness_record/λ = 0/autoattack", "{:.0%}")
    claims.quote("/08_consistency/robustness_record/λ = 1/autoattack", "{:.0%}")
    claims.quote("/08_consistency/pgd_gain/mean over seeds", "{:.0%}")
    claims.quote("/08_consistency/gain_intervals/pgd_mean/low", "{:.1%}")
    claims.quote("/08_consistency/gain_intervals/pgd_mean/high", "{:.1%}")
    compare("over three seeds the term's PGD gain above zero", "/08_consistency/pgd_gain/mean over seeds",
            ">", 0)
    compare("AutoAttack: no gain, within two points", "/08_consistency/autoattack_gain/seed 0", "~=", 0,
            margin=0.02)
    claims.constant("0.2", "the budget epsilon of lesson 08 (parameter)")
