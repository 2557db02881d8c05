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
    compare("adversarial training: robust accuracy above half", f"{ADVERSARIAL}/robust_accuracy", ">", 0.5)
    compare("the attack fools fewer than half of the adversarially trained model's images",
            f"{ADVERSARIAL}/pgd_fooled", "<", 0.5)
    # section 3: layer by layer
    for key in ("cosine_similarity", "topk_overlap"):
        compare(f"standard: PGD {key} falls from conv1 to fc", cons(STANDARD, "PGD", "fc", key), "<",
                cons(STANDARD, "PGD", "conv1", key), margin=0.03)
        compare(f"standard: noise {key} rises from conv1 to fc", cons(STANDARD, "noise", "fc", key), ">",
                cons(STANDARD, "noise", "conv1", key), margin=0.03)
        compare(f"standard fc: PGD twin far below the noise twin ({key})", cons(STANDARD, "PGD", "fc", key),
                "<", cons(STANDARD, "noise", "fc", key), margin=0.1)
        for layer in layers:
            compare(f"adversarial training more consistent at {layer} ({key})",
                    cons(ADVERSARIAL, "PGD", layer, key), ">", cons(STANDARD, "PGD", layer, key), margin=0.02)
        for layer in layers[:3]:
            compare(f"regularized about as consistent as adversarial at {layer} ({key})",
                    cons(REGULARIZED, "PGD", layer, key), "~=", cons(ADVERSARIAL, "PGD", layer, key),
                    margin=0.02)
        compare(f"regularized slightly less consistent than adversarial at fc ({key})",
                cons(REGULARIZED, "PGD", "fc", key), "<", cons(ADVERSARIAL, "PGD", "fc", key))
    compare("standard fc: almost no PGD twin keeps its SOM code",
            cons(STANDARD, "PGD", "fc", "code_retention"), "<", 0.05)
    for model in (STANDARD, ADVERSARIAL):
        compare("even noise moves many fc codes", cons(model, "noise", "fc", "code_retention"), "<", 0.6)
    compare("conv3 codes: the regularized model keeps more",
            cons(REGULARIZED, "PGD", "conv3", "code_retention"), ">",
            cons(ADVERSARIAL, "PGD", "conv3", "code_retention"), margin=0.05)
    # section 4: units
    compare("standard: class agreement of PGD twins far below that of noise twins",
            f"{STANDARD}/unit_class_agreement/PGD", "<", f"{STANDARD}/unit_class_agreement/noise", margin=0.1)
    compare("adversarial training lifts the class agreement a little",
            f"{ADVERSARIAL}/unit_class_agreement/PGD", ">", f"{STANDARD}/unit_class_agreement/PGD",
            margin=0.02)
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
    for layer in ("conv2", "conv3", "fc"):
        compare(f"adversarial training: less pure codes at {layer}", homog(ADVERSARIAL, layer), ">",
                homog(STANDARD, layer), margin=0.03)
        compare(f"the consistency term leaves the profile at {layer}", homog(REGULARIZED, layer), "~=",
                homog(ADVERSARIAL, layer), margin=0.03)
    # section 7: the sweep
    for name in names[1:]:
        compare(f"clean accuracy within half a point of λ = 0 ({name})", f"/models/{name}/clean_accuracy",
                "~=", f"{ADVERSARIAL}/clean_accuracy", margin=0.005)
    compare("robust accuracy climbs from λ = 0 to the largest λ (the paired interval lies above zero)",
            f"{TEN}/robust_accuracy", ">", f"{ADVERSARIAL}/robust_accuracy")
    compare("the penalized gap falls more than tenfold", "/sweep_fc/gap_shrinks_by", ">", 10)
    compare("the fc scale falls with it, more than fivefold", "/sweep_fc/scale_shrinks_by", ">", 5)
    compare("relative to the scale the gap falls by only about a quarter (a factor of about 4/3)",
            "/sweep_fc/relative_gap_shrinks_by", "~=", 4 / 3, margin=0.12)
    compare("the logits layer's weights grow", f"{TEN}/logits_weight_norm", ">",
            f"{ADVERSARIAL}/logits_weight_norm", margin=0.3)
    for key in ("cosine_similarity", "topk_overlap"):
        compare(f"fc {key} flat across the sweep, within three hundredths", cons(TEN, "PGD", "fc", key), "~=",
                cons(ADVERSARIAL, "PGD", "fc", key), margin=0.03)

    # the numbers the text quotes (sections 2, 4 and 7)
    claims.quote(f"{STANDARD}/pgd_fooled", "{:.0%}")
    claims.quote(f"{ADVERSARIAL}/robust_accuracy", "{:.0%}")
    claims.quote(f"{REGULARIZED}/robust_accuracy", "{:.0%}")
    claims.quote(f"{TEN}/robust_accuracy", "{:.0%}")
    claims.quote(cons(ADVERSARIAL, "PGD", "fc", "mean_squared_gap"), "{:.2f}")
    claims.quote(cons(TEN, "PGD", "fc", "mean_squared_gap"), "{:.2f}")
    claims.quote(cons(ADVERSARIAL, "PGD", "fc", "mean_squared_activation"), "{:.1f}")
    claims.quote(cons(TEN, "PGD", "fc", "mean_squared_activation"), "{:.2f}")
    claims.quote(cons(STANDARD, "PGD", "fc", "topk_overlap"), "{:.2f}")
    claims.quote(cons(STANDARD, "noise", "fc", "topk_overlap"), "{:.2f}")
    claims.quote(f"{STANDARD}/unit_class_agreement/PGD", "{:.2f}")
    claims.quote(f"{STANDARD}/unit_class_agreement/noise", "{:.2f}")

    # numbers the text prints that are not results
    claims.constant("0.1", "a consistency weight λ of the sweep (a parameter)")
    claims.constant("0.2", "the budget ε of training and attacks (a parameter)")
    claims.constant("95%", "the confidence level of the intervals")
    claims.constant("0.89", "the chance level of the homogeneity index "
                            "(the claims 'chance levels about 0.89' check it)")
    # values compared without statistical support, and why
    claims.without_support(r"_chance$",
                           "a chance level: the mean over ten label shuffles")
    claims.without_support(r"/logits_weight_norm$",
                           "a property of the weights")
    claims.without_support(r"/unit_class_agreement/",
                           "a mean over the fc units and their top inputs, not over a sample of images")
    claims.without_support(r"^/sweep_fc/",
                           "a ratio of two models' means, each with its support")
    return claims
