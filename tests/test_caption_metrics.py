"""Caption metrics: corpus BLEU/CIDEr-D (checked against pycocoevalcap, a dev-only dependency)
and the assignment's unigram BLEU."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pycocoevalcap.bleu.bleu import Bleu
from pycocoevalcap.cider.cider import Cider

from dlclassics.captioning.metrics import (
    BOOTSTRAPPED,
    bootstrap_intervals,
    cider_d_per_image,
    corpus_bleu,
    corpus_scores,
    exact_match_rate,
    image_statistics,
    mean_unigram_bleu,
    scores_from_sums,
    unigram_bleu,
)
from dlclassics.captioning.shapes import caption_candidates, sample_scene, scene_captions


def coco_scores(references: list[list[str]], hypotheses: list[str]) -> dict[str, float]:
    """pycocoevalcap's Bleu(4) and Cider() on the same captions, called as it is in COCO's eval."""
    gts = {i: list(refs) for i, refs in enumerate(references)}
    res = {i: [hyp] for i, hyp in enumerate(hypotheses)}
    bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
    cider, _ = Cider().compute_score(gts, res)
    return {**{f"BLEU-{n}": float(b) for n, b in enumerate(bleu, start=1)}, "CIDEr": float(cider)}


def assert_same_scores(references: list[list[str]], hypotheses: list[str]) -> None:
    ours, theirs = corpus_scores(references, hypotheses), coco_scores(references, hypotheses)
    assert ours.keys() == theirs.keys()
    for name, value in theirs.items():
        assert ours[name] == pytest.approx(value, rel=1e-6, abs=1e-6), name


def test_corpus_scores_match_pycocoevalcap_on_shapes_captions() -> None:
    """Shapes benchmark scenes: five reference captions each, and hypotheses that are a reference,
    another true caption of the scene, a caption of another scene, a cut-off or a single word."""
    rng = np.random.default_rng(13)
    scenes = [sample_scene(rng, 128, include_unseen=bool(i % 3 == 0)) for i in range(60)]
    references = [scene_captions(scene, 128, rng) for scene in scenes]
    hypotheses = []
    for i, (scene, refs) in enumerate(zip(scenes, references, strict=True)):
        others = [c for c in caption_candidates(scene, 128) if c not in refs]
        words = refs[0].split()
        hypotheses.append(
            [
                refs[1],
                others[0] if others else refs[2],
                references[(i + 1) % len(references)][0],
                " ".join(words[: max(1, len(words) // 2)]),
                words[-1],
            ][i % 5]
        )
    assert_same_scores(references, hypotheses)
    assert_same_scores(references[:7], hypotheses[:7])  # a small corpus: other idf values


@pytest.mark.parametrize("seed", range(40))
def test_corpus_scores_match_pycocoevalcap_on_random_captions(seed: int) -> None:
    """Random captions over a small vocabulary (many shared 3- and 4-grams, length ties, empty
    and one-word hypotheses, one to six references of different lengths)."""
    rng = np.random.default_rng(seed)
    vocab = [f"w{i}" for i in range(int(rng.integers(3, 12)))]

    def sentence(low: int) -> str:
        return " ".join(rng.choice(vocab, size=int(rng.integers(low, 14))))

    images = int(rng.integers(1, 25))
    references = [[sentence(1) for _ in range(int(rng.integers(1, 7)))] for _ in range(images)]
    hypotheses = [refs[0] if rng.random() < 0.15 else sentence(0) for refs in references]
    assert_same_scores(references, hypotheses)


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


def test_corpus_scores_reject_malformed_input() -> None:
    with pytest.raises(ValueError, match="2 reference lists for 1 hypotheses"):
        corpus_scores([["a dog"], ["a cat"]], ["a dog"])
    with pytest.raises(ValueError, match="no captions"):
        corpus_scores([], [])
    with pytest.raises(ValueError, match="at least one reference"):
        corpus_scores([[]], ["a dog"])


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


def shapes_corpus(images: int, seed: int = 13) -> tuple[list[list[str]], list[str]]:
    """Shapes scenes with their five references; hypotheses a reference, another scene's
    caption or a cut-off, by turns."""
    rng = np.random.default_rng(seed)
    references = [
        scene_captions(sample_scene(rng, 128, include_unseen=False), 128, rng)
        for _ in range(images)
    ]
    hypotheses = [
        [refs[1], references[(i + 1) % images][0], " ".join(refs[2].split()[:3])][i % 3]
        for i, refs in enumerate(references)
    ]
    return references, hypotheses


def test_per_image_sums_give_the_corpus_scores() -> None:
    references, hypotheses = shapes_corpus(30)
    statistics = image_statistics(references, hypotheses)
    assert statistics.shape == (30, 13)
    scores = dict(zip(BOOTSTRAPPED, scores_from_sums(statistics.sum(axis=0), 30), strict=True))
    expected = corpus_scores(references, hypotheses)
    expected["unigram BLEU (assignment)"] = mean_unigram_bleu(references, hypotheses)
    for name, value in expected.items():
        assert scores[name] == pytest.approx(value, rel=1e-12, abs=1e-15), name


def test_bootstrap_intervals_match_a_slow_resampling_and_contain_the_scores() -> None:
    """The fast bootstrap (per-image sums) against recomputing every score on each resample's
    captions with the same seeded draws; each interval contains the corpus figure."""
    references, hypotheses = shapes_corpus(12)
    resamples, count = 200, len(hypotheses)
    fast = bootstrap_intervals(references, hypotheses, resamples=resamples, seed=3)
    cider = np.array(cider_d_per_image(references, hypotheses))  # idf of all the images
    slow = []
    for items in np.random.default_rng(3).integers(0, count, size=(resamples, count)):
        refs, hyps = [references[i] for i in items], [hypotheses[i] for i in items]
        bleu = corpus_bleu(refs, hyps)
        slow.append([*bleu, cider[items].mean(), mean_unigram_bleu(refs, hyps)])
    expected = np.quantile(np.array(slow), [0.025, 0.975], axis=0)
    scores = corpus_scores(references, hypotheses)
    scores["unigram BLEU (assignment)"] = mean_unigram_bleu(references, hypotheses)
    for column, name in enumerate(BOOTSTRAPPED):
        assert fast[name] == pytest.approx(list(expected[:, column]), rel=1e-9), name
        assert fast[name][0] < scores[name] < fast[name][1], name
    assert bootstrap_intervals(references, hypotheses, resamples=resamples, seed=3) == fast
