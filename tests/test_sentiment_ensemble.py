"""Soft-voting ensembles: the mean of the members' probabilities, members chosen on dev."""

from __future__ import annotations

import numpy as np
import pytest

from dlclassics.sentiment.compare import choose_members, ensemble_accuracy

LABELS = np.array([1, 1, 0, 0])
# each member is wrong on a different sentence, and less sure there than where it is right
FIRST = np.array([0.9, 0.4, 0.1, 0.2])
SECOND = np.array([0.3, 0.8, 0.2, 0.1])
ALWAYS_WRONG = np.array([0.1, 0.1, 0.9, 0.9])


def test_the_mean_of_two_members_corrects_both() -> None:
    assert ensemble_accuracy([FIRST], LABELS) == 0.75
    assert ensemble_accuracy([SECOND], LABELS) == 0.75
    assert ensemble_accuracy([FIRST, SECOND], LABELS) == 1.0  # means 0.6 0.6 0.15 0.15


def test_a_probability_of_one_half_counts_as_positive() -> None:
    assert ensemble_accuracy([np.array([0.5, 0.5])], np.array([1, 0])) == 0.5


def test_choose_members_takes_the_dev_best_subset() -> None:
    candidates = {"wrong": ALWAYS_WRONG, "first": FIRST, "second": SECOND}
    assert choose_members(candidates, LABELS) == (("first", "second"), 1.0)


def test_choose_members_prefers_fewer_members_on_a_tie() -> None:
    candidates = {"first": FIRST, "second": SECOND, "copy": SECOND.copy()}
    # first+second+copy also scores 100 %, but the pair came first and is smaller
    assert choose_members(candidates, LABELS) == (("first", "second"), 1.0)


def test_choose_members_needs_two_candidates() -> None:
    with pytest.raises(ValueError, match="2 to 12 candidates, got 1"):
        choose_members({"only": FIRST}, LABELS)
