"""Labelling sentences with trained checkpoints: one output line per input line, in order.

Given several checkpoints, the label comes from their mean P(positive), a soft-voting ensemble:
models that err on different sentences (a fine-tuned MiniLM and GloVe LSTMs, say) cancel part of
each other's mistakes.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from dlclassics.runtime import resolve_device
from dlclassics.sentiment.classifier import Classifier, load_classifier, probabilities
from dlclassics.sentiment.text import SentenceFile, read_sentences

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class Predictions:
    """What one input gave.

    Attributes:
        lines: the output lines, one per input line (empty for a skipped bad line).
        labelled: whether the input carried labels.
        accuracy: accuracy (a fraction) on the kept lines of a labelled input, else ``None``.
        skipped: bad input lines skipped.
        member_accuracies: with several checkpoints and a labelled input, each checkpoint's own
            accuracy (a fraction), in the order given; else empty.
    """

    lines: list[str]
    labelled: bool
    accuracy: float | None
    skipped: int
    member_accuracies: tuple[float, ...] = ()


def predict_sentences(
    classifiers: Sequence[Classifier],
    sentences: SentenceFile,
    proba: bool = False,
    device: str = "cpu",
) -> Predictions:
    """Classify ``sentences`` with one model, or with the mean P(positive) of several (they may
    differ in kind and vocabulary); ``proba`` writes P(positive) to 4 decimals, not 0/1."""
    members = torch.stack([probabilities(c, sentences, device) for c in classifiers])  # (M, N)
    mean = members.mean(dim=0)  # (N,)
    predicted = (mean >= 0.5).long()  # (N,)
    values = [f"{p:.4f}" for p in mean.tolist()] if proba else [str(y) for y in predicted.tolist()]
    lines = [""] * sentences.total_lines
    for number, value in zip(sentences.line_numbers, values, strict=True):
        lines[number - 1] = value
    if sentences.labels is None:
        return Predictions(lines, False, None, sentences.skipped)
    labels = torch.tensor(sentences.labels)  # (N,)
    accuracy = float((predicted == labels).float().mean())
    member_accuracies = ()
    if len(classifiers) > 1:
        member_accuracies = tuple(
            float(((member >= 0.5).long() == labels).float().mean()) for member in members
        )
    return Predictions(lines, True, accuracy, sentences.skipped, member_accuracies)


def predict_file(
    checkpoints: Sequence[PathLike],
    path: PathLike,
    labelled: bool | None = None,
    proba: bool = False,
    skip_bad_lines: bool = False,
    device: str | None = None,
) -> Predictions:
    """``predict_sentences`` for the ``best.pt`` files ``checkpoints`` on the file ``path``
    (``labelled=None``: decided by ``text.looks_labelled``)."""
    classifiers = [load_classifier(checkpoint) for checkpoint in checkpoints]
    sentences = read_sentences(path, labelled, skip_bad_lines)
    return predict_sentences(classifiers, sentences, proba, resolve_device(device))
