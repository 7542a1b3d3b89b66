"""Caption quality: corpus BLEU-1…4 and CIDEr-D as the COCO caption evaluation computes them,
the reference assignment's unigram BLEU, and an exact-match rate.

``corpus_scores`` gives the numbers of ``pycocoevalcap``'s ``Bleu(4)`` and ``Cider()`` scorers
(a test checks them to 1e-6) without that 100 MB package. Captions are already lower-case,
space-separated words here, so, as when calling those scorers directly, the Java PTB tokenizer
is not used: words are ``str.split()``.

``bootstrap_intervals`` brackets BLEU-1…4, CIDEr-D and the unigram BLEU with a seeded bootstrap
over the images; each image's n-gram counts are taken once (``image_statistics``), so a resample
is a sum of rows (``scores_from_sums``), not a re-tokenisation.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np

from dlclassics.captioning.vocab import UNK
from dlclassics.stats import BOOTSTRAP_RESAMPLES, bootstrap_samples, percentile_interval


def corpus_scores(
    references: Sequence[Sequence[str]], hypotheses: Sequence[str]
) -> dict[str, float]:
    """{"BLEU-1": …, "BLEU-4": …, "CIDEr": …} of I generated captions (``hypotheses``) against
    I lists of reference captions, one list per image."""
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} reference lists for {len(hypotheses)} hypotheses")
    if not hypotheses:
        raise ValueError("no captions to score")
    if any(len(refs) == 0 for refs in references):
        raise ValueError("every image needs at least one reference caption")
    scores = {f"BLEU-{n}": b for n, b in enumerate(corpus_bleu(references, hypotheses), start=1)}
    scores["CIDEr"] = cider_d(references, hypotheses)
    return scores


def _ngrams(sentence: str, n: int) -> Counter[tuple[str, ...]]:
    """Counts of the 1- to n-grams of a sentence (split on whitespace)."""
    words = sentence.split()
    return Counter(
        tuple(words[i : i + k]) for k in range(1, n + 1) for i in range(len(words) - k + 1)
    )


def _bleu_counts(refs: Sequence[str], hypothesis: str, n: int) -> list[int]:
    """One image's share of corpus BLEU's sums: its clipped 1…n-gram matches, its 1…n-gram
    counts, its hypothesis length and its effective reference length (the reference length
    closest to the hypothesis's; ties: the shorter)."""
    max_counts: Counter[tuple[str, ...]] = Counter()
    lengths = []
    for ref in refs:
        lengths.append(len(ref.split()))
        max_counts |= _ngrams(ref, n)  # element-wise max over the references
    length = len(hypothesis.split())
    correct = [0] * n
    for gram, count in _ngrams(hypothesis, n).items():
        correct[len(gram) - 1] += min(max_counts[gram], count)
    guess = [max(0, length - k) for k in range(n)]
    return [*correct, *guess, length, min((abs(r - length), r) for r in lengths)[1]]


def corpus_bleu(
    references: Sequence[Sequence[str]], hypotheses: Sequence[str], n: int = 4
) -> list[float]:
    """Corpus BLEU-1…n (Papineni et al. 2002): ``pycocoevalcap``'s
    ``BleuScorer.compute_score(option="closest")``.

    Clipped n-gram matches (against all references of an image) and n-gram counts are summed
    over the corpus; BLEU-k is the geometric mean of the first k precisions, each
    ``(matches + 1e-15) / (count + 1e-9)`` (so 0/0 is about 1e-6, not an error), times
    ``exp(1 - r/c)`` when the total hypothesis length c is below the total effective reference
    length r: per image, the reference length closest to its hypothesis's (ties: the shorter).
    """
    tiny, small = 1e-15, 1e-9
    correct, guess = [0] * n, [0] * n
    test_length = ref_length = 0
    for refs, hypothesis in zip(references, hypotheses, strict=True):
        counts = _bleu_counts(refs, hypothesis, n)
        correct = [a + b for a, b in zip(correct, counts[:n], strict=True)]
        guess = [a + b for a, b in zip(guess, counts[n : 2 * n], strict=True)]
        test_length += counts[2 * n]
        ref_length += counts[2 * n + 1]
    bleus = []
    product = 1.0
    for k in range(n):
        product *= float(correct[k] + tiny) / (guess[k] + small)
        bleus.append(product ** (1.0 / (k + 1)))
    ratio = (test_length + tiny) / (ref_length + small)
    if ratio < 1:
        bleus = [b * math.exp(1 - 1 / ratio) for b in bleus]
    return bleus


def cider_d(
    references: Sequence[Sequence[str]], hypotheses: Sequence[str], n: int = 4, sigma: float = 6.0
) -> float:
    """CIDEr-D (Vedantam et al. 2015): ``pycocoevalcap``'s ``CiderScorer(n=4, sigma=6.0)``.

    For each n-gram g, idf(g) = log(I) - log(max(1, df(g))), with df(g) the number of images
    whose references contain g and I the number of images. A sentence is a TF-IDF vector per n
    (term counts × idf). An image scores, averaged over n = 1…4 and its references, the clipped
    cosine ``Σ_g min(h_g, r_g) r_g / (|h| |r|)`` times ``exp(-δ² / 2σ²)``, × 10; the corpus score
    is the mean over images. δ is the difference of the hypothesis's and the reference's lengths,
    counted in bigrams as pycocoevalcap's code does (the same as in words, except for an empty
    sentence, which scores 0 anyway).
    """
    scores = cider_d_per_image(references, hypotheses, n, sigma)
    return float(sum(scores) / len(scores)) if scores else 0.0


def cider_d_per_image(
    references: Sequence[Sequence[str]], hypotheses: Sequence[str], n: int = 4, sigma: float = 6.0
) -> list[float]:
    """Each image's CIDEr-D (``cider_d`` is their mean), the idf taken over all the images."""
    cooked_refs = [[_ngrams(ref, n) for ref in refs] for refs in references]
    document_frequency: Counter[tuple[str, ...]] = Counter()
    for refs in cooked_refs:
        document_frequency.update({gram for ref in refs for gram in ref})
    log_images = math.log(float(len(cooked_refs)))

    def vectors(counts: Counter[tuple[str, ...]]):
        vec: list[dict[tuple[str, ...], float]] = [{} for _ in range(n)]
        norm = [0.0] * n
        for gram, term_freq in counts.items():
            weight = float(term_freq) * (log_images - math.log(max(1.0, document_frequency[gram])))
            vec[len(gram) - 1][gram] = weight
            norm[len(gram) - 1] += weight**2
        bigrams = sum(count for gram, count in counts.items() if len(gram) == 2)
        return vec, [math.sqrt(x) for x in norm], bigrams

    scores = []
    for refs, hypothesis in zip(cooked_refs, hypotheses, strict=True):
        vec_hyp, norm_hyp, length_hyp = vectors(_ngrams(hypothesis, n))
        total = [0.0] * n
        for ref in refs:
            vec_ref, norm_ref, length_ref = vectors(ref)
            penalty = math.exp(-(float(length_hyp - length_ref) ** 2) / (2 * sigma**2))
            for k in range(n):
                value = sum(
                    min(weight, vec_ref[k].get(gram, 0.0)) * vec_ref[k].get(gram, 0.0)
                    for gram, weight in vec_hyp[k].items()
                )
                if norm_hyp[k] != 0 and norm_ref[k] != 0:
                    value /= norm_hyp[k] * norm_ref[k]
                total[k] += value * penalty
        scores.append(sum(total) / n / len(refs) * 10.0)
    return scores


def unigram_bleu(reference: str, hypothesis: str) -> float:
    """The CS231n assignment's ``BLEU_score``: NLTK's ``sentence_bleu(weights=[1])`` of one caption
    against one reference, i.e. clipped unigram precision times the brevity penalty
    ``exp(1 - r/c)`` when the hypothesis is shorter (c < r); ``<UNK>`` is dropped from both."""
    ref = [w for w in reference.split() if w != UNK]
    hyp = [w for w in hypothesis.split() if w != UNK]
    if not hyp or not ref:
        return 0.0
    ref_counts = Counter(ref)
    matches = sum(min(count, ref_counts[w]) for w, count in Counter(hyp).items())
    precision = matches / len(hyp)
    brevity = 1.0 if len(hyp) > len(ref) else math.exp(1 - len(ref) / len(hyp))
    return brevity * precision


def mean_unigram_bleu(references: Sequence[Sequence[str]], hypotheses: Sequence[str]) -> float:
    """``unigram_bleu`` averaged over every (image, reference) pair: each reference caption is one
    sample, as in the assignment's minibatch evaluation."""
    pairs = [(ref, hyp) for refs, hyp in zip(references, hypotheses, strict=True) for ref in refs]
    return sum(unigram_bleu(r, h) for r, h in pairs) / max(1, len(pairs))


def exact_match_rate(candidates: Sequence[Sequence[str]], hypotheses: Sequence[str]) -> float:
    """Share of images whose generated caption is exactly one of its candidate captions."""
    hits = sum(hyp in set(cands) for cands, hyp in zip(candidates, hypotheses, strict=True))
    return hits / max(1, len(hypotheses))


# The scores ``bootstrap_intervals`` brackets, in the order of ``scores_from_sums``' columns.
BOOTSTRAPPED = ("BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "CIDEr", "unigram BLEU (assignment)")


def image_statistics(references: Sequence[Sequence[str]], hypotheses: Sequence[str]) -> np.ndarray:
    """(I, 13) per-image sums from which every score of ``BOOTSTRAPPED`` follows for any
    multiset of the images (``scores_from_sums`` of the rows summed): BLEU's clipped 1…4-gram
    matches, 1…4-gram counts, hypothesis and effective reference lengths; the image's CIDEr-D
    (idf over all the images); its summed unigram BLEU over its references, and their number."""
    cider = cider_d_per_image(references, hypotheses)
    rows = [
        [
            *_bleu_counts(refs, hypothesis, 4),
            score,
            sum(unigram_bleu(ref, hypothesis) for ref in refs),
            len(refs),
        ]
        for refs, hypothesis, score in zip(references, hypotheses, cider, strict=True)
    ]
    return np.asarray(rows, dtype=np.float64).reshape(len(rows), 13)


def scores_from_sums(sums: np.ndarray, images: int) -> np.ndarray:
    """``BOOTSTRAPPED`` from ``image_statistics`` rows summed over ``images`` images (any
    leading axes: one row per resample), as ``corpus_bleu``, ``cider_d`` and
    ``mean_unigram_bleu`` compute them."""
    correct, guess = sums[..., 0:4], sums[..., 4:8]
    bleus = np.cumprod((correct + 1e-15) / (guess + 1e-9), axis=-1) ** (1.0 / np.arange(1, 5))
    ratio = (sums[..., 8] + 1e-15) / (sums[..., 9] + 1e-9)
    bleus = bleus * np.where(ratio < 1, np.exp(1 - 1 / ratio), 1.0)[..., None]
    cider = sums[..., 10:11] / images
    unigram = sums[..., 11:12] / np.maximum(1.0, sums[..., 12:13])
    return np.concatenate([bleus, cider, unigram], axis=-1)


def bootstrap_intervals(
    references: Sequence[Sequence[str]],
    hypotheses: Sequence[str],
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
) -> dict[str, list[float]]:
    """{score: [low, high]}: the 95 % percentile bootstrap interval over the images of each
    score of ``BOOTSTRAPPED`` (``dlclassics.stats.bootstrap_samples``, seeded). Each resample's
    corpus BLEU is recomputed from its images' n-gram sums (precomputed per image, so a resample
    is a sum); CIDEr-D resamples the images' scores with the idf of all the images."""
    statistics = image_statistics(references, hypotheses)
    count = len(statistics)
    sums = bootstrap_samples(lambda items: statistics[items].sum(axis=0), count, resamples, seed)
    samples = scores_from_sums(sums.reshape(resamples, -1), count)
    intervals = {}
    for column, name in enumerate(BOOTSTRAPPED):
        estimate = percentile_interval(0.0, samples[:, column])
        intervals[name] = [estimate.low, estimate.high]
    return intervals
