"""Lesson 08's findings: what its text states about its results, checked by tests/test_claims.py and by the
runner after a full run."""

from __future__ import annotations

from typing import Any

from helpers.claims import Claims


def cons(model: str, twin: str, layer: str, key: str) -> str:
    """The pointer to a consistency measure of `model` (a pointer) at `layer`, real input against `twin`."""
    return f"{model}/consistency/{twin}/{layer}/{key}"


def homog(model: str, layer: str, key: str = "homogeneity_index") -> str:
    """The pointer to the homogeneity index (or its chance level) of `model`'s codes at `layer`."""
    return f"{model}/homogeneity/{layer}/{key}"


def findings(results: dict[str, Any]) -> Claims:
    """The findings and quotes of lesson 08's text, on its full run's `results`."""
    claims = Claims(results)
    compare = claims.compare
    layers = results["layers"]
    names = list(results["models"])
    STANDARD, ADVERSARIAL, REGULARIZED = (f"/models/{name}" for name in results["roles"].values())
    TEN = f"/models/λ = {max(results['parameters']['lambdas']):g}"      # the sweep's largest λ

    # section 2: the table
    compare("PGD fools nearly every image of the standard model", f"{STANDARD}/pgd_fooled", ">", 0.95)
    compare("the standard model is not robust", f"{STANDARD}/robust_accuracy", "<", 0.05)
    compare("adversarial training keeps far more of fc's top units",
            cons(ADVERSARIAL, "PGD", "fc", "topk_overlap"), ">", cons(STANDARD, "PGD", "fc", "topk_overlap"),
            margin=0.1)
    compare("the attack fools about a quarter of the adversarially trained model's images",
            f"{ADVERSARIAL}/pgd_fooled", "~=", 0.25, margin=0.06)
    # section 3: layer by layer
    for key in ("topk_overlap", "code_retention"):
        for inner, outer in zip(layers, layers[1:]):
            compare(f"standard: PGD {key} falls from {inner} to {outer}",
                    cons(STANDARD, "PGD", outer, key), "<", cons(STANDARD, "PGD", inner, key))
    for inner, outer in zip(layers[1:], layers[2:]):
        compare(f"standard: PGD cosine falls from {inner} to {outer}",
                cons(STANDARD, "PGD", outer, "cosine_similarity"), "<",
                cons(STANDARD, "PGD", inner, "cosine_similarity"))
    compare("standard: the equal-bit share rises with depth", cons(STANDARD, "PGD", "fc", "equal_bit_share"),
            ">", cons(STANDARD, "PGD", "conv1", "equal_bit_share"), margin=0.1)
    for key in ("cosine_similarity", "topk_overlap"):
        compare(f"standard: noise {key} rises from conv1 to fc", cons(STANDARD, "noise", "fc", key), ">",
                cons(STANDARD, "noise", "conv1", key), margin=0.03)
        compare(f"standard fc: PGD twin far below the noise twin ({key})", cons(STANDARD, "PGD", "fc", key),
                "<", cons(STANDARD, "noise", "fc", key), margin=0.1)
        for layer in layers:
            compare(f"adversarial training more consistent at {layer} ({key})",
                    cons(ADVERSARIAL, "PGD", layer, key), ">", cons(STANDARD, "PGD", layer, key), margin=0.01)
            compare(f"regularized about as consistent as adversarial at {layer} ({key})",
                    cons(REGULARIZED, "PGD", layer, key), "~=", cons(ADVERSARIAL, "PGD", layer, key),
                    margin=0.03)
    compare("standard fc: almost no PGD twin keeps its SOM code",
            cons(STANDARD, "PGD", "fc", "code_retention"), "<", 0.05)
    for model in (STANDARD, ADVERSARIAL):
        compare("even noise moves many fc codes", cons(model, "noise", "fc", "code_retention"), "<", 0.6)
    # section 4: units
    compare("standard: class agreement of PGD twins far below that of noise twins",
            f"{STANDARD}/unit_class_agreement/PGD", "<", f"{STANDARD}/unit_class_agreement/noise", margin=0.1)
    for model in (STANDARD, ADVERSARIAL, REGULARIZED):
        compare("class agreement far above its chance level", f"{model}/unit_class_agreement/PGD", ">",
                f"{model}/unit_class_agreement_chance", margin=0.1)
    for model in (STANDARD, ADVERSARIAL, REGULARIZED):
        compare("class agreement above the chance level of shuffled twins",
                f"{model}/unit_class_agreement/PGD", ">", f"{model}/unit_class_agreement_shuffled_chance",
                margin=0.05)
        compare("shuffled twins give about the same chance level for every model",
                f"{model}/unit_class_agreement_shuffled_chance", "~=",
                f"{STANDARD}/unit_class_agreement_shuffled_chance", margin=0.02)
    compare("shuffled twins give more than the share of a unit's class on paper",
            f"{STANDARD}/unit_class_agreement_shuffled_chance", ">",
            f"{STANDARD}/unit_class_agreement_chance", margin=0.03)
    compare("adversarial training lifts the class agreement", f"{ADVERSARIAL}/unit_class_agreement/PGD", ">",
            f"{STANDARD}/unit_class_agreement/PGD", margin=0.1)
    compare("the consistency term does not lift it further", f"{REGULARIZED}/unit_class_agreement/PGD", "~=",
            f"{ADVERSARIAL}/unit_class_agreement/PGD", margin=0.02)
    # section 6: homogeneity
    for model in (STANDARD, ADVERSARIAL, REGULARIZED):
        compare("the profile falls from conv1 to fc", homog(model, "fc"), "<", homog(model, "conv1"),
                margin=0.2)
        compare("fc far below chance", homog(model, "fc"), "<",
                homog(model, "fc", "homogeneity_index_chance"), margin=0.5)
        compare("chance levels about 0.89", homog(model, "fc", "homogeneity_index_chance"), "~=", 0.89,
                margin=0.03)
    for layer in ("conv1", "conv2", "conv3", "fc"):
        compare(f"adversarial training moves the profile by less than 0.05 at {layer}",
                homog(ADVERSARIAL, layer), "~=", homog(STANDARD, layer), margin=0.05)
        compare(f"the consistency term leaves the profile at {layer}", homog(REGULARIZED, layer), "~=",
                homog(ADVERSARIAL, layer), margin=0.03)
    compare("fc: the adversarially trained model's index a little higher", homog(ADVERSARIAL, "fc"), ">",
            homog(STANDARD, "fc"))
    # section 7: the sweep
    for name in names[1:]:
        compare(f"clean accuracy within a point of λ = 0 ({name})", f"/models/{name}/clean_accuracy",
                "~=", f"{ADVERSARIAL}/clean_accuracy", margin=0.01)
    for name in (n for n in names[1:] if ", seed" not in n):
        compare(f"PGD-20: λ = 0's 72% at every λ, within three points ({name})",
                f"/models/{name}/robust_accuracy", "~=", f"{ADVERSARIAL}/robust_accuracy", margin=0.03)
    for name in names[1:]:
        compare(f"FGSM above PGD ({name})", f"/models/{name}/fgsm_accuracy", ">",
                f"/models/{name}/robust_accuracy", margin=0.05)
        compare(f"FGSM far below clean accuracy ({name})", f"/models/{name}/fgsm_accuracy", "<",
                f"/models/{name}/clean_accuracy", margin=0.05)
    record = results["robustness_record"]
    for name in record:
        compare(f"PGD at ε = 0.5 falls to 0 ({name})", f"/robustness_record/{name}/epsilon_sweep/0.5", "<",
                0.005)
    compare("the penalized gap falls eighteenfold", "/sweep_fc/gap_shrinks_by", "~=", 18, margin=1)
    compare("relative to the scale the gap only halves", "/sweep_fc/relative_gap_shrinks_by", "~=", 2,
            margin=0.15)
    compare("PGD fools about as many of the shared images", "/sweep_shared_images/pgd_fooled/λ = 0", "~=",
            f"/sweep_shared_images/pgd_fooled/{TEN[len('/models/'):]}", margin=0.02)
    compare("conv2 shrinks too", "/sweep_rms_shrinks_by/conv2", ">", 1.5)
    compare("the logits shrink as a whole", "/sweep_logits/rms_shrinks_by", ">", 1.3)
    compare("the logit weights grow less than fc shrinks", "/sweep_logits/weight_grows_by", "<",
            "/sweep_rms_shrinks_by/fc", margin=1)
    for name in (n for n in names[1:] if ", seed" not in n and n != ADVERSARIAL[len("/models/"):]):
        for layer in layers:
            compare(f"cosine within two hundredths of λ = 0's at {layer} ({name})",
                    cons(f"/models/{name}", "PGD", layer, "cosine_similarity"), "~=",
                    cons(ADVERSARIAL, "PGD", layer, "cosine_similarity"), margin=0.02)
    for layer in ("conv3", "fc"):
        compare(f"adversarial training raised the cosine by more than five hundredths at {layer}",
                cons(ADVERSARIAL, "PGD", layer, "cosine_similarity"), ">",
                cons(STANDARD, "PGD", layer, "cosine_similarity"), margin=0.05)
    for key in ("cosine_similarity", "topk_overlap"):
        compare(f"fc {key} hardly moves across the sweep, within five hundredths",
                cons(TEN, "PGD", "fc", key), "~=", cons(ADVERSARIAL, "PGD", "fc", key), margin=0.05)

    # the numbers the text quotes (sections 2, 4, 6 and 7)
    claims.quote(f"{STANDARD}/pgd_fooled", "{:.0%}")
    claims.quote(f"{ADVERSARIAL}/pgd_fooled", "{:.0%}")
    claims.quote(cons(STANDARD, "PGD", "fc", "topk_overlap"), "{:.2f}")
    claims.quote(cons(STANDARD, "noise", "fc", "topk_overlap"), "{:.2f}")
    claims.quote(cons(ADVERSARIAL, "PGD", "fc", "topk_overlap"), "{:.2f}")
    claims.quote(f"{STANDARD}/unit_class_agreement/PGD", "{:.2f}")
    claims.quote(f"{STANDARD}/unit_class_agreement/noise", "{:.2f}")
    claims.quote(f"{STANDARD}/unit_class_agreement_chance", "{:.2f}")
    claims.quote(f"{STANDARD}/unit_class_agreement_shuffled_chance", "{:.2f}")
    claims.quote(f"{ADVERSARIAL}/unit_class_agreement/PGD", "{:.2f}")
    claims.quote(homog(ADVERSARIAL, "fc"), "{:.3f}")
    claims.quote(homog(STANDARD, "fc"), "{:.3f}")
    claims.quote(f"{ADVERSARIAL}/robust_accuracy", "{:.0%}")
    claims.quote(cons(ADVERSARIAL, "PGD", "fc", "mean_squared_gap"), "{:.2f}")
    claims.quote(cons(TEN, "PGD", "fc", "mean_squared_gap"), "{:.2f}")
    claims.quote("/sweep_shared_images/n", "{:d}")
    claims.quote("/sweep_fc/scale_shrinks_by", "{:.1f}")
    claims.quote("/sweep_shared_images/pgd_fooled/λ = 0", "{:.0%}")
    claims.quote(f"/sweep_shared_images/pgd_fooled/{TEN[len('/models/'):]}", "{:.0%}")
    for layer in ("fc", "conv3", "conv2"):
        claims.quote(f"/sweep_rms_shrinks_by/{layer}", "{:.2f}")
    claims.quote("/sweep_logits/weight_grows_by", "{:.2f}")
    claims.quote("/sweep_logits/rms_shrinks_by", "{:.2f}")
    fgsm = {name: results["models"][name]["fgsm_accuracy"] for name in names[1:]}
    claims.quote(f"/models/{min(fgsm, key=fgsm.get)}/fgsm_accuracy", "{:.0%}")   # the range the text gives
    claims.quote(f"/models/{max(fgsm, key=fgsm.get)}/fgsm_accuracy", "{:.0%}")
    compare("over three seeds the term's PGD-20 gain lies above zero", "/pgd_gain/mean over seeds", ">", 0)
    claims.quote("/pgd_gain/mean over seeds", "{:.0%}")
    claims.quote("/gain_intervals/pgd_mean/low", "{:.1%}")
    claims.quote("/gain_intervals/pgd_mean/high", "{:.1%}")
    autoattack_claims(claims, results, ADVERSARIAL, REGULARIZED)

    # numbers the text prints that are not results
    claims.constant("0.1", "a consistency weight λ of the sweep (a parameter)")
    claims.constant("0.2", "the budget ε of training and attacks (a parameter)")
    claims.constant("95%", "the confidence level of the intervals")
    claims.constant("0.5", "the largest budget of the record's PGD sweep (a setting)")
    claims.constant("1.25", "the step of Wong et al.'s recipe, in units of ε")
    claims.constant("0.05", "the bound the text puts on the profile's shifts (the claims check it)")
    claims.constant("0.89", "the chance level of the homogeneity index "
                            "(the claims 'chance levels about 0.89' check it)")
    # values compared without statistical support, and why
    claims.without_support(r"_chance$",
                           "a chance level: a mean over ten shuffles (of the labels; of the twins for the "
                           "class agreement's shuffled chance) or the share of a class")
    claims.without_support(r"/logits_weight_norm$",
                           "a property of the weights")
    claims.without_support(r"/unit_class_agreement/",
                           "a mean over the fc units and their top inputs, not over a sample of images")
    claims.without_support(r"^/gain_intervals/", "the ends of a 95% interval")
    claims.without_support(r"^/sweep_logits/",
                           "a ratio of two models' weight norms and of their logits' means")
    claims.without_support(r"^/sweep_shared_images/",
                           "a description of the images the sweep's ratios are measured on")
    claims.without_support(r"^/robustness_record/.*/(epsilon_sweep|pgd_restarts|pgd_steps)/",
                           "a PGD accuracy of the committed record, stored as a mean over its images")
    return claims


def autoattack_claims(claims: Claims, results: dict[str, Any], adversarial: str, regularized: str) -> None:
    """Section 7's robustness: the committed record's AutoAttack and PGD numbers and the gain of the term."""
    plain, regular = (pointer[len("/models/"):] for pointer in (adversarial, regularized))
    record = "/robustness_record"
    claims.quote(f"{record}/{plain}/autoattack", "{:.0%}")
    claims.quote(f"{record}/{regular}/autoattack", "{:.0%}")
    for restarts in ("1", "10"):
        claims.quote(f"{record}/{plain}/pgd_restarts/{restarts}", "{:.1%}")
    claims.quote(f"{record}/{plain}/epsilon_sweep/0.5", "{:.0%}")
    claims.compare("AutoAttack below PGD-40 with ten starts", f"{record}/{plain}/autoattack", "<",
                   f"{record}/{plain}/pgd_restarts/10")
    claims.compare("ten starts below one", f"{record}/{plain}/pgd_restarts/10", "<",
                   f"{record}/{plain}/pgd_restarts/1")
    claims.compare("AutoAttack: no gain of the term at the first seed, within two points",
                   "/autoattack_gain/seed 0", "~=", 0, margin=0.02)
    mean = "/gain_intervals/autoattack_mean over seeds"
    claims.compare("AutoAttack: the term's mean gain over the seeds is not confirmed (interval from below 0)",
                   f"{mean}/low", "<", 0)
    claims.compare("... to a gain of at most about a point", f"{mean}/high", "<", 0.015)
    claims.quote(f"{mean}/low", "{:+.1%}")
    claims.quote(f"{mean}/high", "{:+.1%}")
    strongest = f"{record}/λ = 10"
    claims.quote(f"{strongest}/autoattack", "{:.0%}")
    claims.compare("AutoAttack: λ = 10 keeps fewer than λ = 0", f"{strongest}/autoattack", "<",
                   f"{record}/{plain}/autoattack")
    claims.quote(f"{strongest}/pgd_restarts/10", "{:.1%}")
    claims.compare("PGD-40, ten starts: λ = 10 keeps as many as λ = 0, within a point",
                   f"{strongest}/pgd_restarts/10", "~=", f"{record}/{plain}/pgd_restarts/10", margin=0.01)
