"""Soft-voting ensembles: several models' mean P(positive), with the members chosen on dev.

Models that make different mistakes (a fine-tuned MiniLM reads sub-words in context, a GloVe
LSTM reads whole words in order) cancel part of each other's errors when their probabilities are
averaged. Which models to combine is chosen on dev, like any hyperparameter; test is scored once.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import numpy as np

MOST_CANDIDATES = 12  # every subset is tried: 2^12 mean-and-compare passes stay instant


def ensemble_accuracy(probabilities: Sequence[np.ndarray], labels: np.ndarray) -> float:
    """Accuracy (a fraction) of the mean of ``probabilities`` (each (N,) P(positive)) against
    ``labels`` (N,)."""
    mean = np.mean(np.stack(probabilities), axis=0)  # (M, N) -> (N,)
    return float(((mean >= 0.5) == (labels == 1)).mean())


def choose_members(
    dev_probabilities: Mapping[str, np.ndarray], dev_labels: np.ndarray
) -> tuple[tuple[str, ...], float]:
    """The subset of two or more candidates (name → (N,) dev P(positive)) whose mean has the best
    dev accuracy, and that accuracy. Ties go to the smaller ensemble, then the earlier names."""
    names = list(dev_probabilities)
    if not 2 <= len(names) <= MOST_CANDIDATES:
        raise ValueError(f"an ensemble needs 2 to {MOST_CANDIDATES} candidates, got {len(names)}")
    best: tuple[tuple[str, ...], float] = ((), -1.0)
    for size in range(2, len(names) + 1):
        for members in itertools.combinations(names, size):
            accuracy = ensemble_accuracy([dev_probabilities[m] for m in members], dev_labels)
            if accuracy > best[1]:
                best = (members, accuracy)
    return best
