"""Caption metrics: corpus BLEU/CIDEr wiring and the assignment's unigram BLEU."""

from __future__ import annotations

import math

import pytest
from pycocoevalcap.bleu.bleu import Bleu

from dlclassics.captioning.metrics import (
    corpus_scores,
    exact_match_rate,
    mean_unigram_bleu,
    unigram_bleu,
)


def test_perfect_captions_score_one_and_wrong_ones_score_low() -> None:
    refs = [
        ["a red circle on a dark background", "one red circle"],
        ["a blue square above a green star"],
    ]
    perfect = corpus_scores(
        refs, ["a red circle on a dark background", "a blue square above a green star"]
    )
    assert all(perfect[f"BLEU-{n}"] == pytest.approx(1.0, abs=1e-6) for n in range(1, 5))
    wrong = corpus_scores(refs, ["a green triangle", "three shapes on a light background"])
    assert wrong["BLEU-4"] < 0.01 and wrong["CIDEr"] < perfect["CIDEr"]


def test_unigram_bleu_by_hand_and_against_coco_bleu1() -> None:
    # 3 of 3 words match, hypothesis shorter (3 < 7): brevity penalty exp(1 - 7/3)
    assert unigram_bleu("a red circle on a dark background", "a red circle") == pytest.approx(
        math.exp(1 - 7 / 3)
    )
    # clipped counts: "a" appears once in the reference, twice in the hypothesis
    assert unigram_bleu("a dog", "a a dog") == pytest.approx(2 / 3)
    assert unigram_bleu("a <UNK> dog", "a dog <UNK>") == pytest.approx(1.0)
    assert unigram_bleu("a dog", "") == 0.0
    pairs = [
        ("a man riding a horse", "a man on a horse"),
        ("two dogs play", "dogs play in the park"),
    ]
    for ref, hyp in pairs:
        _, per_sentence = Bleu(1).compute_score({0: [ref]}, {0: [hyp]}, verbose=0)
        assert unigram_bleu(ref, hyp) == pytest.approx(per_sentence[0][0], abs=1e-6)


def test_averages_and_exact_match() -> None:
    refs = [["a dog", "a cat"], ["a bird"]]
    assert mean_unigram_bleu(refs, ["a dog", "a bird"]) == pytest.approx((1 + 0.5 + 1) / 3)
    assert exact_match_rate(refs, ["a cat", "a dog"]) == 0.5
