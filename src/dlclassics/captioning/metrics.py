"""Caption quality: corpus BLEU-1…4 and CIDEr-D (the COCO caption evaluation code), plus the
reference assignment's unigram BLEU and an exact-match rate.

- ``corpus_scores``: ``pycocoevalcap``'s pure-Python scorers (no Java): BLEU-n is corpus BLEU
  with clipped n-gram counts against all references of an image and the brevity penalty from the
  closest reference length (Papineni et al. 2002); CIDEr is CIDEr-D (Vedantam et al. 2015):
  TF-IDF n-gram vectors (n = 1…4, document frequencies from the evaluated references), clipped
  hypothesis counts, a Gaussian length penalty (sigma 6), averaged over n, × 10. Captions are
  already lower-case word lists here, so the Java PTB tokenizer is not needed.
- ``unigram_bleu``: what the CS231n assignment reported, NLTK's ``sentence_bleu(weights=[1])``
  of one generated caption against one ground-truth caption: clipped unigram precision times the
  brevity penalty ``exp(1 - r/c)`` when the hypothesis is shorter (c < r). ``<UNK>`` is dropped
  from both, as there.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

from dlclassics.captioning.vocab import UNK


def corpus_scores(
    references: Sequence[Sequence[str]], hypotheses: Sequence[str]
) -> dict[str, float]:
    """BLEU-1…4 and CIDEr of generated captions.

    Inputs:
    - references: I lists of reference captions (space-separated words), one list per image
    - hypotheses: I generated captions

    Returns {"BLEU-1": ..., "BLEU-4": ..., "CIDEr": ...}.
    """
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider

    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} reference lists for {len(hypotheses)} hypotheses")
    gts = {i: list(refs) for i, refs in enumerate(references)}
    res = {i: [hyp] for i, hyp in enumerate(hypotheses)}
    bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
    cider, _ = Cider().compute_score(gts, res)
    scores = {f"BLEU-{n}": float(b) for n, b in enumerate(bleu, start=1)}
    scores["CIDEr"] = float(cider)
    return scores


def unigram_bleu(reference: str, hypothesis: str) -> float:
    """Sentence BLEU with unigrams only, one reference (the CS231n ``BLEU_score``)."""
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
