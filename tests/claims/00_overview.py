"""Lesson 00's findings: what its text states about its results, checked by tests/test_claims.py and by the
runner after a full run."""

from __future__ import annotations

import math
from typing import Any

from helpers.claims import Claims


def findings(results: dict[str, Any]) -> Claims:
    """The claims, quotes and constants of lesson 00's text, on `results` (its results.json)."""
    claims = Claims(results)
    # 2. Setup check
    claims.compare("every setup check passed", "/all_checks_passed", "==", True)
    # 3. Meet the data
    claims.compare("the classes are nearly balanced: entropy within 0.5% of log(10)",
                   "/class_entropy_nats", ">", 0.995 * math.log(10))
    claims.compare("the pixel mean is the model's normalization mean", "/pixel_mean", "~=", "/normalize_mean",
                   margin=5e-4)
    claims.compare("the pixel std is the model's normalization std", "/pixel_std", "~=", "/normalize_std",
                   margin=5e-4)
    # 4. The mean digit of each class: the closest class means
    claims.compare("the closest class means: 4 and 9, then 7 and 9, then 5 and 8, then 3 and 5",
                   "/closest_mean_pairs", "==", [[4, 9], [7, 9], [5, 8], [3, 5], [3, 8]])
    # More exercises, 2: what the nearest class mean gets wrong
    claims.compare("exercise 2: the nearest mean misreads 5 most often", "/nearest_mean/most_misread_class",
                   "==", 5)
    claims.compare("exercise 2: the nearest mean misreads 1 least often", "/nearest_mean/least_misread_class",
                   "==", 1)
    claims.compare("exercise 2: its two largest confusions are 5 read as 3 and 4 read as 9",
                   "/nearest_mean/largest_confusions", "==", [[5, 3], [4, 9]])
    claims.compare("exercise 2: 3 and 5 are among the five closest pairs of means", [3, 5], "in",
                   "/closest_mean_pairs")
    claims.compare("exercise 2: 4 and 9 are among the five closest pairs of means", [4, 9], "in",
                   "/closest_mean_pairs")
    # 5. The chance level: the best rule blind to the image always answers 1, a little more than one in ten
    claims.compare("the best blind guess is 1, the most common training digit", "/guessing/class", "==", 1)
    claims.compare("the best blind guess scores more than one in ten", "/guessing/test_accuracy", ">", 0.1)
    claims.compare("the best blind guess scores a little more than one in ten", "/guessing/test_accuracy",
                   "~=", 0.1, margin=0.03)
    # 5. The nearest class mean as a classifier: weak, but far above the chance level
    claims.compare("nearest class mean: far above the chance level", "/nearest_mean_test_accuracy", ">",
                   "/guessing/test_accuracy", margin=0.3)
    claims.compare("nearest class mean: far from the network of lesson 01 (above 0.985)",
                   "/nearest_mean_test_accuracy", "<", 0.985, margin=0.1)
    # Numbers the prose quotes
    claims.quote("/class_entropy_nats", "{:.4f}")
    claims.quote("/pixel_mean", "{:.4f}")
    claims.quote("/pixel_std", "{:.4f}")
    claims.quote("/nearest_mean_test_accuracy", "{:.1%}")
    claims.quote("/guessing/test_accuracy", "{:.1%}")
    claims.constant("2.3026", "log(10), the entropy of ten equally common classes")
    # values compared without statistical support, and why
    claims.without_support(r"^/(class_entropy_nats|pixel_(mean|std)|normalize_(mean|std))$",
                           "a statistic of the whole MNIST set, or the model's normalization: no sample")
    return claims
