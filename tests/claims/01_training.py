"""Lesson 01's findings: what its text states about its results, checked by tests/test_claims.py and by the
runner after a full run."""

from __future__ import annotations

import math
from typing import Any

from helpers.claims import Claims


def findings(results: dict[str, Any]) -> Claims:
    """The claims and constants of lesson 01's text, on `results` (its results.json); it quotes no result."""
    claims = Claims(results)
    # 4. The learning curves: every seed is good, and they agree
    claims.compare("every seed reaches at least 98.5% test accuracy", "/test_accuracy_min", ">=", 0.985,
                   margin=0.001)
    claims.compare("the seeds lie within half a percentage point of each other after each epoch",
                   "/test_accuracy_spread_per_epoch_max", "<=", 0.005, margin=0.001)
    # 4. The untrained control: its accuracy near one in ten, its loss at the chance level of the blind bet
    claims.compare("the untrained networks are near chance (0.1): the lowest",
                   "/untrained_accuracy_min", "~=", 0.1, margin=0.05)
    claims.compare("the untrained networks are near chance (0.1): the highest",
                   "/untrained_accuracy_max", "~=", 0.1, margin=0.05)
    claims.compare("the blind bet's cross-entropy is close to log 10 (the classes are nearly balanced)",
                   "/blind_bet/test_loss", "~=", math.log(10), margin=0.01)
    claims.compare("the untrained networks' cross-entropy sits at the chance level: the lowest",
                   "/untrained_loss_min", "~=", "/blind_bet/test_loss", margin=0.02)
    claims.compare("the untrained networks' cross-entropy sits at the chance level: the highest",
                   "/untrained_loss_max", "~=", "/blind_bet/test_loss", margin=0.02)
    # 4. The learning curves: the loss starts at the chance level, and most is learned early
    claims.compare("the first mini-batch loss is at the chance level", "/mini_batch_loss/first", "~=",
                   "/blind_bet/test_loss", margin=0.05)
    claims.compare("the mini-batch loss falls more than tenfold within the first 200 steps",
                   "/mini_batch_loss_ratio_steps_100_to_200", "<", 0.1, margin=0.01)
    # 5. Which digits are confused?
    claims.compare("some errors are made with high confidence (at least 5 with probability 0.9 or more)",
                   "/errors_seed0/confident_0.9", ">=", 5)
    claims.compare("the five most confused pairs collect more than a quarter of the errors",
                   "/most_confused_pairs/share_of_all_errors", ">", 0.25, margin=0.03)
    claims.compare("4 and 9 are among the five most confused pairs", [4, 9], "in",
                   "/most_confused_pairs/classes")
    claims.constant("98.5%", "the accuracy the lesson's training recipe is meant to reach")
    # values compared without statistical support, and why
    claims.without_support(r"^/errors_seed0/",
                           "a count of one model's errors on the whole test set")
    claims.without_support(r"^/mini_batch_loss",
                           "the training loss curves of the runs, not a sample of images")
    claims.without_support(r"^/test_accuracy_spread_per_epoch_max$",
                           "the spread over the seeds itself")
    return claims
