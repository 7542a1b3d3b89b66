"""Predicting with a trained checkpoint: one output line per input line, in the same order."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from dlclassics.io import atomic_write_text
from dlclassics.runtime import default_device
from dlclassics.sentiment.batches import make_loader
from dlclassics.sentiment.classifier import load_classifier, set_cpu_threads
from dlclassics.sentiment.text import looks_labelled, read_sentences
from dlclassics.sentiment.train import predict_logits


@dataclass(frozen=True)
class Predictions:
    """What ``predict_file`` produced.

    Attributes:
        lines: the output lines, one per input line (empty for a skipped bad line).
        labelled: whether the input carried labels.
        accuracy: accuracy (%) on the kept lines of a labelled input, else ``None``.
        skipped: bad input lines skipped.
    """

    lines: list[str]
    labelled: bool
    accuracy: float | None
    skipped: int


def predict_file(
    checkpoint: str | os.PathLike[str],
    input_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str] | None = None,
    proba: bool = False,
    skip_bad_lines: bool = False,
) -> Predictions:
    """Classify every sentence of ``input_path`` with the model in ``checkpoint``.

    Args:
        checkpoint: a ``best.pt`` written by ``dlc sentiment train``.
        input_path: one sentence a line; if every line starts with a ``0``/``1`` label the file is
            read as labelled and the accuracy is computed.
        out_path: where to write the lines (atomically); ``None`` writes nothing.
        proba: write P(positive) with 4 decimals instead of the 0/1 label.
        skip_bad_lines: skip bad lines (their output line is left empty) instead of failing.

    Sets one CPU thread for the word models (``set_cpu_threads``).
    """
    labelled = looks_labelled(input_path)
    sentences = read_sentences(input_path, labelled=labelled, skip_bad_lines=skip_bad_lines)
    classifier = load_classifier(checkpoint)
    set_cpu_threads(classifier.config.name)
    device = default_device()
    classifier.model.to(device)
    loader = make_loader(
        classifier.dataset(sentences.sentences, sentences.labels), classifier.collate, 256, False
    )
    logits, labels = predict_logits(classifier.model, loader, device)  # (N,), (N,)
    predicted = (logits >= 0).long()  # (N,)
    values = (
        [f"{p:.4f}" for p in logits.sigmoid().tolist()]
        if proba
        else [str(label) for label in predicted.tolist()]
    )
    lines = [""] * sentences.total_lines
    for number, value in zip(sentences.line_numbers, values, strict=True):
        lines[number - 1] = value
    accuracy = None
    if labelled:
        accuracy = 100 * float((predicted == labels.long()).float().mean())
    if out_path is not None:
        atomic_write_text(Path(out_path), "".join(line + "\n" for line in lines))
    return Predictions(lines, labelled, accuracy, sentences.skipped)
