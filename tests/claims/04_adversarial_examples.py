"""Lesson 04's findings: what its text states about its results, checked by tests/test_claims.py and by the
runner after a full run."""

from __future__ import annotations

from typing import Any

from helpers.claims import Claims

CONSTANTS = [("0.05", "a budget of the parameter epsilons"), ("0.1", "a budget of the parameter epsilons"),
             ("0.2", "a budget of the parameter epsilons"), ("0.3", "the largest budget (epsilons)"),
             ("0.15", "the budget of section 5's table and exercise 3"),
             ("2.5", "PGD's step size factor (helpers.attacks)"),
             ("0.5", "what PGD's steps travel beyond the 2 epsilon across the budget (2.5 - 2)"),
             ("10%", "the bound the noise claim checks")]
"""Numbers the prose prints that are not results: (text, reason)."""


def success(name: str, eps: float) -> str:
    """The pointer to the attack success of `name` at the budget `eps`."""
    return f"/attacks/{name}/{eps:g}/success_rate"


def findings(results: dict[str, Any]) -> Claims:
    """The claims, quotes and constants of lesson 04's text, on `results` (its results.json)."""
    epsilons = results["parameters"]["epsilons"]
    eps_max = max(epsilons)
    positive = [eps for eps in epsilons if eps > 0]
    attacks = list(results["attacks"])                      # fgsm, pgd, noise

    def largest(name: str, measure: str) -> str:
        """The pointer to a perturbation measure of `name` at the largest budget."""
        return f"/attacks/{name}/{eps_max:g}/{measure}"

    claims = Claims(results)
    compare = claims.compare
    # the introduction and section 2: the model, FGSM by hand
    claims.quote("/model/test_accuracy", "{:.0%}")
    compare("the by-hand FGSM equals attacks.fgsm", "/fgsm_by_hand_max_difference", "<", 1e-6)
    # 3. Attack success over the budget
    for eps in positive:
        compare(f"noise stays below 10% (ε = {eps:g})", success("noise", eps), "<", 0.10, margin=0.03)
    for a, b in zip(positive, positive[1:]):
        compare(f"FGSM succeeds more as ε grows ({a:g} -> {b:g})", success("fgsm", b), ">",
                success("fgsm", a), margin=0.01)
        compare(f"PGD succeeds at least as often as ε grows ({a:g} -> {b:g})", success("pgd", b), ">=",
                success("pgd", a))
    for eps in [eps for eps in positive if eps <= 0.05]:
        for name in ("fgsm", "pgd"):
            compare(f"at ε = {eps:g} {name} fools only a few digits in a hundred", success(name, eps), "<",
                    0.10, margin=0.03)
    for eps in [eps for eps in positive if 0.1 <= eps < eps_max]:
        compare(f"PGD fools clearly more than FGSM (ε = {eps:g})", success("pgd", eps), ">",
                success("fgsm", eps), margin=0.05)
    compare("PGD at least as strong as FGSM at the largest budget", success("pgd", eps_max), ">=",
            success("fgsm", eps_max))
    for eps in [eps for eps in positive if eps >= 0.2]:
        compare(f"PGD fools nearly every digit (at least 90%) from ε = 0.2 on (ε = {eps:g})",
                success("pgd", eps), ">=", 0.90, margin=0.03)
    # 4. What the perturbations look like: their sizes at the largest budget
    compare("the noise fools far fewer digits than PGD at the largest budget", success("noise", eps_max), "<",
            success("pgd", eps_max), margin=0.5)
    for name in attacks:
        compare(f"{name} reaches the budget: mean L-inf size = ε", largest(name, "perturbation_linf_mean"),
                "~=", eps_max, margin=1e-6)
    for name in ("fgsm", "noise"):
        compare(f"PGD's change is smaller in L2 than {name}'s", largest("pgd", "perturbation_l2_mean"), "<",
                largest(name, "perturbation_l2_mean"), margin=0.2)
    for name in ("fgsm", "noise"):
        compare(f"clipping leaves a good part of the pixels unchanged ({name}: at most 80% change)",
                largest(name, "share_of_pixels_changed"), "<", 0.80, margin=0.05)
        compare(f"{name} is all-or-nothing: a pixel that changes, changes by the full ε",
                largest(name, "share_changed_by_full_epsilon"), "~=",
                largest(name, "share_of_pixels_changed"), margin=0.1)
        compare(f"PGD changes more pixels than {name}", largest("pgd", "share_of_pixels_changed"), ">",
                largest(name, "share_of_pixels_changed"), margin=0.03)
    compare("PGD changes only a minority of the pixels by the full ε",
            largest("pgd", "share_changed_by_full_epsilon"), "<", 0.5, margin=0.05)
    compare("PGD's fooled digits are named with high confidence (mean probability above 0.8)",
            largest("pgd", "confidence_when_fooled"), ">", 0.8, margin=0.05)
    # 5. PGD: more steps, shorter steps (the table the student's PGD makes), and exercise 3 (the random start)
    eps_steps = results["pgd_steps_study"]["epsilon"]
    study = "/pgd_steps_study/steps_{}"
    compare("one PGD step from the clean image is FGSM", study.format("1_no_start"), "~=",
            success("fgsm", eps_steps), margin=1e-9)
    compare("five steps from the clean image fool many more digits than one", study.format("5_no_start"), ">",
            study.format("1_no_start"), margin=0.1)
    compare("the sweep's PGD steps fool more than five from the clean image", success("pgd", eps_steps), ">",
            study.format("5_no_start"), margin=0.04)
    compare("one PGD step from the random start is about as strong as FGSM", study.format("1_random_start"),
            "~=", success("fgsm", eps_steps), margin=0.06)
    compare("five steps fool many more digits than one (random start)", study.format("5_random_start"), ">",
            study.format("1_random_start"), margin=0.1)
    compare("the sweep's PGD steps fool more than five (random start)", success("pgd", eps_steps), ">",
            study.format("5_random_start"), margin=0.04)
    compare("the random start changes little (five steps)", study.format("5_random_start"), "~=",
            study.format("5_no_start"), margin=0.03)
    for text, reason in CONSTANTS:
        claims.constant(text, reason)
    # values compared without statistical support, and why
    claims.without_support(r"/perturbation_linf_mean$",
                           "equal to the budget by construction")
    claims.without_support(r"^/fgsm_by_hand_max_difference$",
                           "a numerical difference between two implementations")
    return claims
