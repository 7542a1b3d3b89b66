"""Predicting with trained checkpoints: one output line per input line, in the same order.

Given several checkpoints, ``predict_file`` is a soft-voting ensemble: each model scores every
sentence and the label comes from their mean P(positive). Models that err on different
sentences (a fine-tuned MiniLM and GloVe LSTMs, say) cancel part of each other's mistakes.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from dlclassics.errors import DlcError
from dlclassics.io import atomic_write_text
from dlclassics.runtime import default_device
from dlclassics.sentiment.batches import make_loader
from dlclassics.sentiment.classifier import load_classifier, set_cpu_threads
from dlclassics.sentiment.text import SentenceFile, looks_labelled, read_sentences
from dlclassics.sentiment.train import predict_logits

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class Predictions:
    """What ``predict_file`` produced.

    Attributes:
        lines: the output lines, one per input line (empty for a skipped bad line).
        labelled: whether the input carried labels.
        accuracy: accuracy (%) on the kept lines of a labelled input, else ``None``.
        skipped: bad input lines skipped.
        member_accuracies: with several checkpoints and a labelled input, each checkpoint's own
            accuracy (%), in the order given; else empty.
    """

    lines: list[str]
    labelled: bool
    accuracy: float | None
    skipped: int
    member_accuracies: tuple[float, ...] = ()


def checkpoint_probabilities(checkpoint: PathLike, sentences: SentenceFile) -> torch.Tensor:
    """P(positive) (N,) of every kept sentence of ``sentences`` under the model in ``checkpoint``.

    Sets the CPU threads for that model (``set_cpu_threads``: 1 for the word models).
    """
    classifier = load_classifier(checkpoint)
    set_cpu_threads(classifier.config.name)
    device = default_device()
    classifier.model.to(device)
    loader = make_loader(classifier.dataset(sentences.sentences), classifier.collate, 256, False)
    logits, _ = predict_logits(classifier.model, loader, device)  # (N,)
    return logits.sigmoid()


def predict_file(
    checkpoints: PathLike | Sequence[PathLike],
    input_path: PathLike,
    out_path: PathLike | None = None,
    proba: bool = False,
    skip_bad_lines: bool = False,
) -> Predictions:
    """Classify every sentence of ``input_path`` with one model, or a mean of several.

    Args:
        checkpoints: a ``best.pt`` written by ``dlc sentiment train``, or several: their
            P(positive) are averaged (the models may differ in kind and vocabulary).
        input_path: one sentence a line; if every line starts with a ``0``/``1`` label the file is
            read as labelled and the accuracy is computed.
        out_path: where to write the lines (atomically); ``None`` writes nothing.
        proba: write P(positive) with 4 decimals instead of the 0/1 label.
        skip_bad_lines: skip bad lines (their output line is left empty) instead of failing.
    """
    paths = [checkpoints] if isinstance(checkpoints, str | os.PathLike) else list(checkpoints)
    if not paths:
        raise DlcError("no checkpoint given")
    labelled = looks_labelled(input_path)
    sentences = read_sentences(input_path, labelled=labelled, skip_bad_lines=skip_bad_lines)
    member_probabilities = torch.stack(
        [checkpoint_probabilities(path, sentences) for path in paths]
    )  # (M, N)
    probabilities = member_probabilities.mean(dim=0)  # (N,)
    predicted = (probabilities >= 0.5).long()  # (N,)
    values = (
        [f"{p:.4f}" for p in probabilities.tolist()]
        if proba
        else [str(label) for label in predicted.tolist()]
    )
    lines = [""] * sentences.total_lines
    for number, value in zip(sentences.line_numbers, values, strict=True):
        lines[number - 1] = value
    accuracy, member_accuracies = None, ()
    if labelled:
        labels = torch.tensor(sentences.labels)  # (N,)
        accuracy = 100 * float((predicted == labels).float().mean())
        if len(paths) > 1:
            member_accuracies = tuple(
                100 * float(((member >= 0.5).long() == labels).float().mean())
                for member in member_probabilities
            )
    if out_path is not None:
        atomic_write_text(Path(out_path), "".join(line + "\n" for line in lines))
    return Predictions(lines, labelled, accuracy, sentences.skipped, member_accuracies)
